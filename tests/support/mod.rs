//! Shared helpers for integration tests that talk to a real Kafka broker.
//!
//! Use from a test file with `mod support;`. The broker address comes from
//! `KAFKA_BROKERS`, which `scripts/test.sh` always sets (it starts the local
//! broker from `scripts/kafka.sh` when needed). A test that needs the broker
//! begins with `let brokers = support::require_brokers!();`, which prints a
//! "skipped" line and returns when the variable is absent, so a plain
//! `cargo test` without a broker still passes.
//!
//! Every helper is async (the service runs on tokio and tests usually drive it
//! in the same runtime); blocking librdkafka calls run on tokio's blocking pool
//! so they never stall other tasks, even on a current-thread runtime.
//! Setup helpers panic with a descriptive message on failure: inside a test,
//! that is the most useful report.
//!
//! Each test should use fresh topic, group and transactional ids from
//! [`unique_name`], so tests can run in parallel against one broker and leave
//! no state that another test could observe.
#![allow(dead_code, unused_imports)]

mod admin;
mod broker;
mod consume;
mod produce;

pub(crate) use admin::{
    committed_offsets, create_topics, create_topics_with_config, delete_topics, high_watermarks,
    partition_count, wait_for_broker,
};
pub(crate) use broker::{brokers, kafka_script, local_broker_managed, unique_name, SKIP_MESSAGE};
pub(crate) use consume::{consume_all, consumer_config, Isolation, Record};
pub(crate) use produce::{produce, produce_transactional, producer_config, Message, TxnOutcome};

use std::time::Duration;

/// Bound for admin and metadata operations. Generous: CI is a 2-core machine
/// that is also compiling, and a broker that just started may still be
/// electing partition leaders.
pub(crate) const ADMIN_TIMEOUT: Duration = Duration::from_secs(60);

/// Bound for a produced record's delivery report or a transaction call.
pub(crate) const DELIVERY_TIMEOUT: Duration = Duration::from_secs(60);

/// Largest record the test broker accepts (`message.max.bytes` in
/// `scripts/kafka/server.properties`); clients are configured to match.
pub(crate) const MAX_MESSAGE_BYTES: usize = 8 * 1024 * 1024;

/// Runs blocking librdkafka work on tokio's blocking pool, so it never
/// stalls async tasks (such as the service under test) on the same runtime.
pub(crate) async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

/// Broker address from `KAFKA_BROKERS`, or an early return from the calling
/// test with a "skipped" line when it is not set.
///
/// `require_brokers!()` fits tests returning `()`, `require_brokers!(Ok(()))`
/// tests returning a `Result`.
macro_rules! require_brokers {
    () => {
        $crate::support::require_brokers!(())
    };
    ($ret:expr) => {
        match $crate::support::brokers() {
            Some(brokers) => brokers,
            None => {
                eprintln!("{}", $crate::support::SKIP_MESSAGE);
                return $ret;
            }
        }
    };
}
pub(crate) use require_brokers;
