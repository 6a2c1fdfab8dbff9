//! The Kafka runtime: consumer group in, stages in the middle, producer out. The stages know
//! nothing about Kafka; this module owns offsets, ordering, transactions and delivery.
//!
//! - [`client`]: librdkafka settings for each role, from the config.
//! - [`context`]: rebalance and statistics callbacks, the assignment the lag gauges read.
//! - [`offsets`]: which input offset is safe to commit, given out-of-order acknowledgements.
//! - [`records`]: output and dead-letter records for one input record.
//! - [`service`]: what both delivery modes share: staging, the dedup decision, rewinds.
//! - [`at_least_once`], [`exactly_once`]: the two service loops.
//! - [`changelog`]: the dedup index shared between replicas and restarts through a topic.
//! - [`embedded`]: the in-process demo broker behind `wirefeed run` with no broker configured.

mod at_least_once;
pub mod changelog;
pub mod client;
pub mod context;
pub mod embedded;
mod exactly_once;
pub mod offsets;
pub mod records;
pub mod service;
