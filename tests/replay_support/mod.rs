//! Helpers of the replay tests: timestamped input over several days, the window a replay
//! must cover (a model of the broker's offsets-for-times), replay output topics, and the
//! records written to them.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use crate::harness::{self, Setup};
use crate::support::{self, Isolation, Message, Record};

pub(crate) const DAY_MS: i64 = 24 * 3600 * 1000;

pub(crate) fn time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test time")
        .with_timezone(&Utc)
}

/// 2024-02-01T00:00:00Z.
pub(crate) fn base() -> i64 {
    time("2024-02-01T00:00:00Z").timestamp_millis()
}

/// Point `setup` at an input topic that keeps records forever: the test records carry
/// timestamps from 2024, which time-based retention would otherwise delete within minutes.
pub(crate) async fn keep_input_forever(setup: &mut Setup, partitions: i32) {
    let topic = format!("{}-kept", setup.input);
    support::create_topics_with_config(
        &setup.brokers,
        &[(&topic, partitions)],
        &[("retention.ms", "-1"), ("retention.bytes", "-1")],
    )
    .await;
    setup.input = topic;
}

/// One produced input: where it went and its timestamp.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Input {
    pub(crate) partition: i32,
    pub(crate) offset: i64,
    pub(crate) timestamp: i64,
}

/// `n` records spread evenly over six days from [`base`], round-robin over `partitions`;
/// every 11th record's timestamp goes back a day (timestamps are not monotonic within a
/// partition), every 97th is empty (a dead letter), and every 50th repeats an
/// earlier story's text under a new key (a candidate duplicate).
pub(crate) async fn produce_days(
    brokers: &str,
    topic: &str,
    n: usize,
    partitions: i32,
) -> Vec<Input> {
    let stories = harness::stories("rp", n);
    let step = 6 * DAY_MS / n as i64;
    let messages: Vec<Message> = stories
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut ts = base() + i as i64 * step;
            if i % 11 == 5 {
                ts -= DAY_MS;
            }
            let msg = if i % 97 == 13 {
                Message::new(Vec::new()).key(format!("empty-{i}"))
            } else if i % 50 == 49 {
                stories[i - 40].clone().key(format!("copy-{i}"))
            } else {
                m.clone()
            };
            msg.partition(i as i32 % partitions).timestamp(ts)
        })
        .collect();
    let delivered = support::produce(brokers, topic, &messages).await;
    delivered
        .into_iter()
        .zip(&messages)
        .map(|((partition, offset), m)| Input {
            partition,
            offset,
            timestamp: m.timestamp.unwrap_or_default(),
        })
        .collect()
}

/// The inputs a replay of `[from, to)` covers: per partition, from the first offset whose
/// timestamp is at or after `from` to the first at or after `to` (exclusive).
pub(crate) fn window(inputs: &[Input], from: i64, to: i64) -> BTreeSet<(i32, i64)> {
    let mut by_partition: BTreeMap<i32, Vec<Input>> = BTreeMap::new();
    for i in inputs {
        by_partition.entry(i.partition).or_default().push(*i);
    }
    let mut out = BTreeSet::new();
    for (p, mut recs) in by_partition {
        recs.sort_by_key(|r| r.offset);
        let high = recs.last().map_or(0, |r| r.offset + 1);
        let first_at = |t: i64| {
            recs.iter()
                .find(|r| r.timestamp >= t)
                .map_or(high, |r| r.offset)
        };
        let (start, end) = (first_at(from), first_at(to));
        out.extend(
            recs.iter()
                .filter(|r| r.offset >= start && r.offset < end)
                .map(|r| (p, r.offset)),
        );
    }
    out
}

/// Create `<topic>`, `<topic>.duplicates` and `<topic>.dlq`.
pub(crate) async fn create_outputs(brokers: &str, topic: &str) {
    support::create_topics(
        brokers,
        &[
            (topic, 3),
            (&format!("{topic}.duplicates"), 1),
            (&format!("{topic}.dlq"), 1),
        ],
    )
    .await;
}

pub(crate) fn output_topics(topic: &str) -> [String; 3] {
    [
        topic.to_string(),
        format!("{topic}.duplicates"),
        format!("{topic}.dlq"),
    ]
}

/// Every record of a replay's output topics, each sorted by partition then offset.
pub(crate) async fn read_outputs(brokers: &str, topic: &str, isolation: Isolation) -> Vec<Record> {
    let mut all = Vec::new();
    for t in output_topics(topic) {
        all.extend(support::consume_all(brokers, &t, isolation, 0, Duration::from_secs(30)).await);
    }
    all
}

/// What two replays must agree on: per output topic suffix and partition, the sequence of
/// keys, payloads and headers.
pub(crate) fn comparable(
    records: &[Record],
    topic: &str,
) -> Vec<(String, i32, String, String, String)> {
    records
        .iter()
        .map(|r| {
            let suffix = r.topic.strip_prefix(topic).unwrap_or(&r.topic).to_string();
            (
                suffix,
                r.partition,
                r.key_str(),
                r.payload_str(),
                format!("{:?}", r.headers),
            )
        })
        .collect()
}

/// Commit `offsets` for `group` on `topic`, as a live consumer group would have.
pub(crate) async fn commit_group(brokers: &str, group: &str, topic: &str, offsets: &[(i32, i64)]) {
    let (brokers, group, topic) = (brokers.to_string(), group.to_string(), topic.to_string());
    let offsets = offsets.to_vec();
    support::blocking(move || {
        let consumer: BaseConsumer =
            support::consumer_config(&brokers, &group, Isolation::ReadCommitted)
                .create()
                .expect("consumer");
        let mut tpl = TopicPartitionList::new();
        for (p, o) in offsets {
            tpl.add_partition_offset(&topic, p, Offset::Offset(o))
                .expect("tpl");
        }
        consumer.commit(&tpl, CommitMode::Sync).expect("commit");
    })
    .await;
}

/// The config of `setup` in the given delivery mode, loaded as `wirefeed` would.
pub(crate) fn load_config(setup: &Setup, delivery: &str) -> wirefeed::config::Config {
    wirefeed::config::Config::from_toml_str(&setup.config(delivery), "test", std::iter::empty())
        .expect("test config")
}
