//! Topic administration and offset queries.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

use super::{blocking, ADMIN_TIMEOUT};

/// Pause between retries of an operation the broker refused transiently.
const RETRY_PAUSE: Duration = Duration::from_millis(250);

fn admin_client(brokers: &str) -> AdminClient<DefaultClientContext> {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("socket.timeout.ms", "30000")
        .create()
        .unwrap_or_else(|e| panic!("cannot create admin client for {brokers}: {e}"))
}

/// A consumer that only answers metadata and offset queries; it never joins
/// a group, so using a live group's id is harmless.
fn query_consumer(brokers: &str, group: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("socket.timeout.ms", "30000")
        .create()
        .unwrap_or_else(|e| panic!("cannot create consumer for {brokers}: {e}"))
}

/// Waits until the broker answers a metadata request (e.g. after
/// `scripts/kafka.sh restart`). Panics after [`ADMIN_TIMEOUT`].
pub(crate) async fn wait_for_broker(brokers: &str) {
    let brokers = brokers.to_owned();
    blocking(move || {
        let consumer = query_consumer(&brokers, "wirefeed-test-metadata");
        let deadline = Instant::now() + ADMIN_TIMEOUT;
        loop {
            match consumer.fetch_metadata(None, Duration::from_secs(5)) {
                Ok(md) if !md.brokers().is_empty() => return,
                Ok(_) => {}
                Err(e) if Instant::now() >= deadline => {
                    panic!("broker {brokers} not answering after {ADMIN_TIMEOUT:?}: {e}")
                }
                Err(_) => {}
            }
            if Instant::now() >= deadline {
                panic!("broker {brokers} lists no brokers after {ADMIN_TIMEOUT:?}");
            }
            std::thread::sleep(RETRY_PAUSE);
        }
    })
    .await
}

/// Creates topics with the given partition counts (replication factor 1) and
/// waits until metadata shows every partition with a leader.
pub(crate) async fn create_topics(brokers: &str, topics: &[(&str, i32)]) {
    create_topics_with_config(brokers, topics, &[]).await
}

/// Like [`create_topics`], with topic-level configs such as
/// `("max.message.bytes", "8388608")` or `("cleanup.policy", "compact")`.
///
/// Retries while the broker is starting; a topic that already exists counts
/// as created (a retried request may have succeeded the first time).
pub(crate) async fn create_topics_with_config(
    brokers: &str,
    topics: &[(&str, i32)],
    config: &[(&str, &str)],
) {
    let admin = admin_client(brokers);
    let opts = AdminOptions::new()
        .request_timeout(Some(Duration::from_secs(30)))
        .operation_timeout(Some(Duration::from_secs(30)));
    let deadline = Instant::now() + ADMIN_TIMEOUT;
    let mut pending: Vec<(&str, i32)> = topics.to_vec();
    while !pending.is_empty() {
        let new_topics: Vec<NewTopic<'_>> = pending
            .iter()
            .map(|&(name, partitions)| {
                config.iter().fold(
                    NewTopic::new(name, partitions, TopicReplication::Fixed(1)),
                    |t, &(k, v)| t.set(k, v),
                )
            })
            .collect();
        let mut failure = String::new();
        match admin.create_topics(&new_topics, &opts).await {
            Ok(results) => {
                for result in results {
                    match result {
                        Ok(name) => pending.retain(|(n, _)| *n != name),
                        Err((name, RDKafkaErrorCode::TopicAlreadyExists)) => {
                            pending.retain(|(n, _)| *n != name)
                        }
                        Err((name, code)) if is_transient(code) => {
                            failure = format!("{name}: {code}");
                        }
                        Err((name, code)) => panic!("cannot create topic {name}: {code}"),
                    }
                }
            }
            Err(e) => failure = e.to_string(),
        }
        if pending.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            panic!("cannot create topics {pending:?} on {brokers}: {failure}");
        }
        tokio::time::sleep(RETRY_PAUSE).await;
    }
    for &(name, partitions) in topics {
        wait_for_leaders(brokers, name, partitions).await;
    }
}

fn is_transient(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::RequestTimedOut
            | RDKafkaErrorCode::OperationTimedOut
            | RDKafkaErrorCode::BrokerTransportFailure
            | RDKafkaErrorCode::AllBrokersDown
            | RDKafkaErrorCode::NotController
            | RDKafkaErrorCode::LeaderNotAvailable
            | RDKafkaErrorCode::BrokerNotAvailable
            | RDKafkaErrorCode::NetworkException
            | RDKafkaErrorCode::CoordinatorNotAvailable
    )
}

/// Waits until `topic` has `partitions` partitions, each with a leader.
async fn wait_for_leaders(brokers: &str, topic: &str, partitions: i32) {
    let (brokers, topic) = (brokers.to_owned(), topic.to_owned());
    blocking(move || {
        let consumer = query_consumer(&brokers, "wirefeed-test-metadata");
        let deadline = Instant::now() + ADMIN_TIMEOUT;
        loop {
            let ready = consumer
                .fetch_metadata(Some(&topic), Duration::from_secs(5))
                .ok()
                .and_then(|md| {
                    md.topics().iter().find(|t| t.name() == topic).map(|t| {
                        t.error().is_none()
                            && t.partitions().len() == partitions as usize
                            && t.partitions()
                                .iter()
                                .all(|p| p.error().is_none() && p.leader() >= 0)
                    })
                })
                .unwrap_or(false);
            if ready {
                return;
            }
            if Instant::now() >= deadline {
                panic!("topic {topic} has no leaders for its {partitions} partitions after {ADMIN_TIMEOUT:?}");
            }
            std::thread::sleep(RETRY_PAUSE);
        }
    })
    .await
}

/// Deletes topics; unknown topics are ignored.
pub(crate) async fn delete_topics(brokers: &str, topics: &[&str]) {
    let admin = admin_client(brokers);
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    match admin.delete_topics(topics, &opts).await {
        Ok(results) => {
            for result in results {
                if let Err((name, code)) = result {
                    if code != RDKafkaErrorCode::UnknownTopicOrPartition {
                        panic!("cannot delete topic {name}: {code}");
                    }
                }
            }
        }
        Err(e) => panic!("cannot delete topics {topics:?}: {e}"),
    }
}

/// Number of partitions of `topic` according to the broker's metadata.
pub(crate) async fn partition_count(brokers: &str, topic: &str) -> i32 {
    let (brokers, topic) = (brokers.to_owned(), topic.to_owned());
    blocking(move || {
        let consumer = query_consumer(&brokers, "wirefeed-test-metadata");
        partitions_of(&consumer, &topic).len() as i32
    })
    .await
}

/// Partition ids of `topic`, retried until metadata lists it.
pub(super) fn partitions_of(consumer: &BaseConsumer, topic: &str) -> Vec<i32> {
    let deadline = Instant::now() + ADMIN_TIMEOUT;
    loop {
        let found = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(5))
            .ok()
            .and_then(|md| {
                md.topics()
                    .iter()
                    .find(|t| t.name() == topic && t.error().is_none())
                    .map(|t| t.partitions().iter().map(|p| p.id()).collect::<Vec<_>>())
            })
            .filter(|ids| !ids.is_empty());
        if let Some(mut ids) = found {
            ids.sort_unstable();
            return ids;
        }
        if Instant::now() >= deadline {
            panic!("topic {topic} not found in metadata after {ADMIN_TIMEOUT:?}");
        }
        std::thread::sleep(RETRY_PAUSE);
    }
}

/// High watermark (offset after the last written record, committed or not)
/// of every partition of `topic`.
pub(crate) async fn high_watermarks(brokers: &str, topic: &str) -> BTreeMap<i32, i64> {
    let (brokers, topic) = (brokers.to_owned(), topic.to_owned());
    blocking(move || {
        let consumer = query_consumer(&brokers, "wirefeed-test-metadata");
        partitions_of(&consumer, &topic)
            .into_iter()
            .map(|p| {
                let (_, high) =
                    retry(|| consumer.fetch_watermarks(&topic, p, Duration::from_secs(10)))
                        .unwrap_or_else(|e| panic!("cannot read watermarks of {topic}/{p}: {e}"));
                (p, high)
            })
            .collect()
    })
    .await
}

/// Offsets committed by consumer group `group` on `topic`, by partition.
/// Partitions without a committed offset are left out, so an empty map means
/// the group has committed nothing there.
pub(crate) async fn committed_offsets(
    brokers: &str,
    group: &str,
    topic: &str,
) -> BTreeMap<i32, i64> {
    let (brokers, group, topic) = (brokers.to_owned(), group.to_owned(), topic.to_owned());
    blocking(move || {
        let consumer = query_consumer(&brokers, &group);
        let mut tpl = TopicPartitionList::new();
        for p in partitions_of(&consumer, &topic) {
            tpl.add_partition(&topic, p);
        }
        let committed = retry(|| consumer.committed_offsets(tpl.clone(), Duration::from_secs(10)))
            .unwrap_or_else(|e| panic!("cannot read offsets of group {group} on {topic}: {e}"));
        committed
            .elements_for_topic(&topic)
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(o) => Some((e.partition(), o)),
                _ => None,
            })
            .collect()
    })
    .await
}

/// Retries a blocking query until it succeeds or [`ADMIN_TIMEOUT`] passes.
fn retry<T>(mut query: impl FnMut() -> Result<T, KafkaError>) -> Result<T, KafkaError> {
    let deadline = Instant::now() + ADMIN_TIMEOUT;
    loop {
        match query() {
            Ok(v) => return Ok(v),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => std::thread::sleep(RETRY_PAUSE),
        }
    }
}
