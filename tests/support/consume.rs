//! Reading a topic back from the beginning, the way a downstream consumer
//! of the service would.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message as _};
use rdkafka::{Offset, TopicPartitionList};

use super::{blocking, MAX_MESSAGE_BYTES};

/// Which records a consumer sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isolation {
    /// Only records of committed transactions (and non-transactional ones).
    ReadCommitted,
    /// Everything written, including open and aborted transactions.
    ReadUncommitted,
}

impl Isolation {
    fn as_config(self) -> &'static str {
        match self {
            Isolation::ReadCommitted => "read_committed",
            Isolation::ReadUncommitted => "read_uncommitted",
        }
    }
}

/// A consumed record, detached from the consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) topic: String,
    pub(crate) partition: i32,
    pub(crate) offset: i64,
    /// Milliseconds since the epoch, when the record has a timestamp.
    pub(crate) timestamp: Option<i64>,
    pub(crate) key: Option<Vec<u8>>,
    pub(crate) payload: Option<Vec<u8>>,
    /// In record order; a header may repeat and may have no value.
    pub(crate) headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Record {
    /// The key as UTF-8 (lossy), or "" without a key.
    pub(crate) fn key_str(&self) -> String {
        self.key
            .as_deref()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .unwrap_or_default()
    }

    /// The payload as UTF-8 (lossy), or "" without a payload.
    pub(crate) fn payload_str(&self) -> String {
        self.payload
            .as_deref()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .unwrap_or_default()
    }

    /// Value of the first header called `name`.
    pub(crate) fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_deref())
    }
}

/// Base consumer settings for tests: no auto commit, start at the beginning,
/// fetch sizes big enough for the broker's 8 MB records.
pub(crate) fn consumer_config(brokers: &str, group: &str, isolation: Isolation) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("isolation.level", isolation.as_config())
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set(
            "max.partition.fetch.bytes",
            (2 * MAX_MESSAGE_BYTES).to_string(),
        )
        .set("fetch.max.bytes", (4 * MAX_MESSAGE_BYTES).to_string())
        .set(
            "receive.message.max.bytes",
            (4 * MAX_MESSAGE_BYTES + 1024 * 1024).to_string(),
        );
    config
}

/// Reads `topic` from the beginning of every partition, with a throwaway
/// consumer that joins no group and commits nothing.
///
/// Returns once at least `expect` records were read *and* every partition's
/// end was reached (so extra, unexpected records are returned too and a
/// count assertion catches them); `expect = 0` reads whatever is there now.
/// On `timeout` it returns what it has and says so on stderr; the caller's
/// assertions then report the shortfall.
///
/// Records come sorted by partition, then offset.
pub(crate) async fn consume_all(
    brokers: &str,
    topic: &str,
    isolation: Isolation,
    expect: usize,
    timeout: Duration,
) -> Vec<Record> {
    let (brokers, topic) = (brokers.to_owned(), topic.to_owned());
    blocking(move || consume_blocking(&brokers, &topic, isolation, expect, timeout)).await
}

fn consume_blocking(
    brokers: &str,
    topic: &str,
    isolation: Isolation,
    expect: usize,
    timeout: Duration,
) -> Vec<Record> {
    let group = super::unique_name("wirefeed-test-reader");
    let consumer: BaseConsumer = consumer_config(brokers, &group, isolation)
        .set("enable.partition.eof", "true")
        .create()
        .unwrap_or_else(|e| panic!("cannot create consumer for {brokers}: {e}"));

    let partitions = super::admin::partitions_of(&consumer, topic);
    let mut assignment = TopicPartitionList::new();
    for &p in &partitions {
        assignment
            .add_partition_offset(topic, p, Offset::Beginning)
            .unwrap_or_else(|e| panic!("cannot assign {topic}/{p}: {e}"));
    }
    consumer
        .assign(&assignment)
        .unwrap_or_else(|e| panic!("cannot assign {topic}: {e}"));

    // Partitions whose end was reached since their last record.
    let mut at_end: BTreeSet<i32> = BTreeSet::new();
    let mut records = Vec::with_capacity(expect);
    let deadline = Instant::now() + timeout;
    loop {
        if records.len() >= expect && at_end.len() == partitions.len() {
            break;
        }
        if Instant::now() >= deadline {
            eprintln!(
                "consume_all({topic}): timed out after {timeout:?} with {}/{expect} records, \
                 {}/{} partitions at their end",
                records.len(),
                at_end.len(),
                partitions.len()
            );
            break;
        }
        match consumer.poll(Duration::from_millis(200)) {
            None => {}
            Some(Ok(m)) => {
                at_end.remove(&m.partition());
                records.push(Record {
                    topic: m.topic().to_owned(),
                    partition: m.partition(),
                    offset: m.offset(),
                    timestamp: m.timestamp().to_millis(),
                    key: m.key().map(<[u8]>::to_vec),
                    payload: m.payload().map(<[u8]>::to_vec),
                    headers: m
                        .headers()
                        .map(|hs| {
                            hs.iter()
                                .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                                .collect()
                        })
                        .unwrap_or_default(),
                });
            }
            Some(Err(KafkaError::PartitionEOF(p))) => {
                at_end.insert(p);
            }
            // Transient errors (broker restarting, leader moving) are
            // retried by librdkafka; keep polling until the deadline.
            Some(Err(e)) => eprintln!("consume_all({topic}): {e}"),
        }
    }
    records.sort_by_key(|r| (r.partition, r.offset));
    records
}
