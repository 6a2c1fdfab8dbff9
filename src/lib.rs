//! wirefeed turns wire stories in mixed formats into clean, deduplicated, tagged stories.
//!
//! Data flows one way:
//!
//! ```text
//! source (kafka | file) -> decode -> normalise -> dedup -> tag -> encode -> sink (kafka | file)
//! ```
//!
//! - [`source`], [`sink`]: where messages come from and go to.
//! - [`decode`], [`normalise`], [`dedup`], [`tag`], [`encode`]: the stages; plain, synchronous,
//!   no I/O, no Kafka.
//! - [`pipeline`]: the one place that composes the stages.
//! - [`process`]: the chain over files (`wirefeed process`).
//! - [`replay`]: reprocessing a time window of the input beside the live service.
//! - [`config`], [`error`], [`model`]: shared by all.
//! - [`eval`]: quality measurements against labelled corpora.
//! - [`kafka`]: the runtime: consumer group, offsets, transactions, producer, embedded demo.
//! - [`route`]: which output topics a story goes to.
//! - [`workers`]: the thread pool the service runs the stateless stages on.
//! - [`metrics`], [`admin`], [`telemetry`], [`shutdown`]: operations.
//! - [`bench`]: throughput, latency and cost against a real broker (`wirefeed bench`).

pub mod admin;
pub mod bench;
pub mod config;
pub mod decode;
pub mod dedup;
pub mod encode;
pub mod error;
pub mod eval;
pub mod kafka;
pub mod metrics;
pub mod model;
pub mod normalise;
pub mod pipeline;
pub mod process;
pub mod replay;
pub mod route;
pub mod run;
pub mod shutdown;
pub mod sink;
pub mod source;
pub mod tag;
pub mod telemetry;
pub(crate) mod text;
pub mod workers;
