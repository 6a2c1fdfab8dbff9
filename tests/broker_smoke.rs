//! The test broker itself: transactions work with single-node settings, and
//! the support helpers round-trip keys, payloads and headers intact.

mod support;

use std::time::Duration;

use support::{Isolation, Message, TxnOutcome};
use tokio::sync::RwLock;

const CONSUME_TIMEOUT: Duration = Duration::from_secs(120);

/// Tests of this file share the broker (read) except the restart test, which
/// needs it alone (write).
static BROKER: RwLock<()> = RwLock::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_sees_committed_transactions_only() {
    let brokers = support::require_brokers!();
    let _shared = BROKER.read().await;
    let topic = support::unique_name("smoke-txn");
    support::create_topics(&brokers, &[(&topic, 3)]).await;

    let committed: Vec<Message> = (0..100)
        .map(|i| Message::new(format!("committed {i}")).key(format!("c{i}")))
        .collect();
    let aborted: Vec<Message> = (0..10)
        .map(|i| Message::new(format!("aborted {i}")).key(format!("a{i}")))
        .collect();
    support::produce_transactional(&brokers, &topic, &committed, TxnOutcome::Commit).await;
    support::produce_transactional(&brokers, &topic, &aborted, TxnOutcome::Abort).await;

    let records = support::consume_all(
        &brokers,
        &topic,
        Isolation::ReadCommitted,
        100,
        CONSUME_TIMEOUT,
    )
    .await;
    let mut keys: Vec<String> = records.iter().map(|r| r.key_str()).collect();
    keys.sort();
    let mut expected: Vec<String> = (0..100).map(|i| format!("c{i}")).collect();
    expected.sort();
    assert_eq!(
        keys, expected,
        "read_committed must see exactly the committed records"
    );
    for r in &records {
        assert_eq!(r.payload_str(), format!("committed {}", &r.key_str()[1..]));
    }

    // The aborted records were written all the same: an uncommitted reader
    // sees them, and they (plus transaction markers) occupy offsets.
    let all = support::consume_all(
        &brokers,
        &topic,
        Isolation::ReadUncommitted,
        110,
        CONSUME_TIMEOUT,
    )
    .await;
    assert_eq!(all.len(), 110);
    assert_eq!(
        all.iter().filter(|r| r.key_str().starts_with('a')).count(),
        10
    );
    let written: i64 = support::high_watermarks(&brokers, &topic)
        .await
        .values()
        .sum();
    assert!(
        written > 110,
        "markers take offsets too, high watermarks sum to {written}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_round_trip_keeps_keys_payloads_and_headers() {
    let brokers = support::require_brokers!();
    let _shared = BROKER.read().await;
    let topic = support::unique_name("smoke-plain");
    support::create_topics(&brokers, &[(&topic, 2)]).await;

    let messages: Vec<Message> = (0..20)
        .map(|i| {
            Message::new(format!("story {i}"))
                .key(format!("k{i}"))
                .header("content-type", "application/json")
                .header("seq", i.to_string())
                .partition(i % 2)
        })
        .collect();
    let delivered = support::produce(&brokers, &topic, &messages).await;
    assert_eq!(delivered.len(), 20);

    let records = support::consume_all(
        &brokers,
        &topic,
        Isolation::ReadCommitted,
        20,
        CONSUME_TIMEOUT,
    )
    .await;
    assert_eq!(records.len(), 20);
    for r in &records {
        let seq: i32 = String::from_utf8_lossy(r.header("seq").unwrap_or_default())
            .parse()
            .unwrap_or(-1);
        assert_eq!(r.partition, seq % 2, "explicit partition kept");
        assert_eq!(r.key_str(), format!("k{seq}"));
        assert_eq!(r.payload_str(), format!("story {seq}"));
        assert_eq!(r.header("content-type"), Some(&b"application/json"[..]));
        assert!(r.timestamp.is_some());
        assert!(delivered.contains(&(r.partition, r.offset)));
    }
    let marks = support::high_watermarks(&brokers, &topic).await;
    assert_eq!(marks.values().sum::<i64>(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_records_and_group_offsets() {
    let brokers = support::require_brokers!();
    let _shared = BROKER.read().await;
    let topic = support::unique_name("smoke-large");
    support::create_topics(&brokers, &[(&topic, 1)]).await;

    // 5 MB: bigger than Kafka's 1 MB default, within the test broker's 8 MB.
    let big = vec![b'x'; 5 * 1024 * 1024];
    support::produce(&brokers, &topic, &[Message::new(big.clone()).key("big")]).await;
    let records = support::consume_all(
        &brokers,
        &topic,
        Isolation::ReadCommitted,
        1,
        CONSUME_TIMEOUT,
    )
    .await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].payload.as_deref(), Some(big.as_slice()));

    // A group that never committed has no offsets; one that did shows them.
    let group = support::unique_name("smoke-group");
    assert!(support::committed_offsets(&brokers, &group, &topic)
        .await
        .is_empty());
    commit_offset(&brokers, &group, &topic, 1).await;
    let committed = support::committed_offsets(&brokers, &group, &topic).await;
    assert_eq!(committed.get(&0), Some(&1));
}

/// Commits `offset` for partition 0 of `topic` as consumer group `group`.
async fn commit_offset(brokers: &str, group: &str, topic: &str, offset: i64) {
    use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
    use rdkafka::{Offset, TopicPartitionList};

    let consumer: BaseConsumer = support::consumer_config(brokers, group, Isolation::ReadCommitted)
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Offset(offset))
        .expect("partition offset");
    support::blocking(move || consumer.commit(&tpl, CommitMode::Sync))
        .await
        .expect("commit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_broker_restart() {
    let brokers = support::require_brokers!();
    if !support::local_broker_managed() {
        eprintln!("skipped: {brokers} is not the broker scripts/kafka.sh manages");
        return;
    }
    let _alone = BROKER.write().await;
    let topic = support::unique_name("smoke-restart");
    support::create_topics(&brokers, &[(&topic, 2)]).await;
    let before: Vec<Message> = (0..10)
        .map(|i| Message::new(format!("before {i}")))
        .collect();
    support::produce_transactional(&brokers, &topic, &before, TxnOutcome::Commit).await;

    support::blocking(|| support::kafka_script("restart"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    support::wait_for_broker(&brokers).await;

    let after: Vec<Message> = (0..5).map(|i| Message::new(format!("after {i}"))).collect();
    support::produce_transactional(&brokers, &topic, &after, TxnOutcome::Commit).await;
    let records = support::consume_all(
        &brokers,
        &topic,
        Isolation::ReadCommitted,
        15,
        CONSUME_TIMEOUT,
    )
    .await;
    let mut payloads: Vec<String> = records.iter().map(|r| r.payload_str()).collect();
    payloads.sort();
    let mut expected: Vec<String> = (0..10)
        .map(|i| format!("before {i}"))
        .chain((0..5).map(|i| format!("after {i}")))
        .collect();
    expected.sort();
    assert_eq!(payloads, expected);
}
