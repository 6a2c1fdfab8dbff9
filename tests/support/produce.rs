//! Writing test input records, plainly or inside a transaction.
#![allow(dead_code)]

use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;

use super::{blocking, DELIVERY_TIMEOUT, MAX_MESSAGE_BYTES};

/// A record to produce. Build with [`Message::new`] and the chained setters:
/// `Message::new("body").key("id-1").header("content-type", "text/plain")`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Message {
    pub(crate) key: Option<Vec<u8>>,
    pub(crate) payload: Option<Vec<u8>>,
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    /// Explicit partition; `None` lets the key (or sticky partitioner) decide.
    pub(crate) partition: Option<i32>,
    /// Create time in ms since the epoch; `None` means now.
    pub(crate) timestamp: Option<i64>,
}

impl Message {
    pub(crate) fn new(payload: impl Into<Vec<u8>>) -> Self {
        Message {
            payload: Some(payload.into()),
            ..Message::default()
        }
    }

    /// A record without payload (a tombstone on compacted topics).
    pub(crate) fn tombstone(key: impl Into<Vec<u8>>) -> Self {
        Message {
            key: Some(key.into()),
            ..Message::default()
        }
    }

    pub(crate) fn key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.key = Some(key.into());
        self
    }

    pub(crate) fn header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    pub(crate) fn partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }

    pub(crate) fn timestamp(mut self, millis: i64) -> Self {
        self.timestamp = Some(millis);
        self
    }
}

/// Whether [`produce_transactional`] commits or aborts its transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxnOutcome {
    Commit,
    Abort,
}

/// Base producer settings for tests: idempotent, `acks=all`, and a message
/// size limit that matches the test broker's 8 MB.
pub(crate) fn producer_config(brokers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .set(
            "message.timeout.ms",
            DELIVERY_TIMEOUT.as_millis().to_string(),
        )
        .set(
            "message.max.bytes",
            (MAX_MESSAGE_BYTES + 64 * 1024).to_string(),
        );
    config
}

/// Produces `messages` to `topic` in order and waits for every delivery
/// report. Returns `(partition, offset)` per message, in input order.
pub(crate) async fn produce(brokers: &str, topic: &str, messages: &[Message]) -> Vec<(i32, i64)> {
    let producer: FutureProducer = producer_config(brokers)
        .create()
        .unwrap_or_else(|e| panic!("cannot create producer for {brokers}: {e}"));
    let delivered = send_all(&producer, topic, messages).await;
    flush(&producer).await;
    delivered
}

/// Produces `messages` in one transaction under a fresh transactional id and
/// commits or aborts it. Returns `(partition, offset)` per message.
///
/// Aborted records still occupy offsets: `read_uncommitted` consumers see
/// them, `read_committed` consumers skip them.
pub(crate) async fn produce_transactional(
    brokers: &str,
    topic: &str,
    messages: &[Message],
    outcome: TxnOutcome,
) -> Vec<(i32, i64)> {
    let txn_id = super::unique_name("wirefeed-test-txn");
    let producer: FutureProducer = producer_config(brokers)
        .set("transactional.id", &txn_id)
        .set("transaction.timeout.ms", "60000")
        .create()
        .unwrap_or_else(|e| panic!("cannot create transactional producer for {brokers}: {e}"));

    let p = producer.clone();
    blocking(move || p.init_transactions(DELIVERY_TIMEOUT))
        .await
        .unwrap_or_else(|e| panic!("init_transactions({txn_id}) failed: {e}"));
    producer
        .begin_transaction()
        .unwrap_or_else(|e| panic!("begin_transaction({txn_id}) failed: {e}"));
    let delivered = send_all(&producer, topic, messages).await;
    let p = producer.clone();
    let result = match outcome {
        TxnOutcome::Commit => blocking(move || p.commit_transaction(DELIVERY_TIMEOUT)).await,
        TxnOutcome::Abort => blocking(move || p.abort_transaction(DELIVERY_TIMEOUT)).await,
    };
    result.unwrap_or_else(|e| panic!("{outcome:?} of transaction {txn_id} failed: {e}"));
    delivered
}

/// Enqueues all messages (waiting when librdkafka's queue is full), then
/// awaits their delivery reports.
async fn send_all(producer: &FutureProducer, topic: &str, messages: &[Message]) -> Vec<(i32, i64)> {
    let mut pending = Vec::with_capacity(messages.len());
    for (i, m) in messages.iter().enumerate() {
        loop {
            let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic);
            if let Some(key) = &m.key {
                record = record.key(key.as_slice());
            }
            if let Some(payload) = &m.payload {
                record = record.payload(payload.as_slice());
            }
            if let Some(p) = m.partition {
                record = record.partition(p);
            }
            if let Some(ts) = m.timestamp {
                record = record.timestamp(ts);
            }
            if !m.headers.is_empty() {
                let headers = m.headers.iter().fold(OwnedHeaders::new(), |h, (k, v)| {
                    h.insert(Header {
                        key: k,
                        value: Some(v.as_slice()),
                    })
                });
                record = record.headers(headers);
            }
            match producer.send_result(record) {
                Ok(future) => {
                    pending.push(future);
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
                Err((e, _)) => panic!("cannot enqueue message {i} for {topic}: {e}"),
            }
        }
    }
    let mut delivered = Vec::with_capacity(pending.len());
    for (i, future) in pending.into_iter().enumerate() {
        match future.await {
            Ok(Ok(d)) => delivered.push((d.partition, d.offset)),
            Ok(Err((e, _))) => panic!("message {i} to {topic} not delivered: {e}"),
            Err(_) => panic!("message {i} to {topic}: producer dropped the delivery report"),
        }
    }
    delivered
}

async fn flush(producer: &FutureProducer) {
    let p = producer.clone();
    blocking(move || p.flush(Timeout::After(DELIVERY_TIMEOUT)))
        .await
        .unwrap_or_else(|e| panic!("producer flush failed: {e}"));
}
