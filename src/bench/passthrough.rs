//! The ceiling: the service's at-least-once loop with the stages taken out. Same client
//! settings ([`client::consumer`], [`client::producer`]), same in-flight bound, same offset
//! handling (store after the broker acknowledged, in partition order, auto-commit), same
//! source headers on the output; the payload is copied instead of processed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::FuturesUnordered;
use futures::StreamExt;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};

use super::BenchError;
use crate::admin::Health;
use crate::config::KafkaConfig;
use crate::kafka::client;
use crate::kafka::context::WirefeedContext;
use crate::kafka::offsets::{OffsetTracker, Tp};
use crate::kafka::records::{
    H_SOURCE_OFFSET, H_SOURCE_PARTITION, H_SOURCE_TIMESTAMP, H_SOURCE_TOPIC,
};
use crate::kafka::service::warm_up;
use crate::metrics::Metrics;

/// When the first record arrived and the last acknowledgement came back.
#[derive(Debug, Clone, Copy)]
pub struct Copied {
    pub consumed: u64,
    pub first: Instant,
    pub last_ack: Instant,
}

/// Copy `expected` records from the configured input topic to `output`, then commit and stop.
pub async fn run(
    kafka: &KafkaConfig,
    output: &str,
    expected: u64,
    max_in_flight: usize,
) -> Result<Copied, BenchError> {
    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(Health::new(metrics.clone()));
    let consumer: Arc<StreamConsumer<WirefeedContext>> = Arc::new(
        client::consumer(kafka).create_with_context(WirefeedContext::new(
            "consumer",
            metrics.clone(),
            health.clone(),
        ))?,
    );
    let producer: FutureProducer<WirefeedContext> = client::producer(kafka, None)
        .create_with_context(WirefeedContext::new("producer", metrics, health))?;
    // As the service starts: no copied record waits for the producer id or the output
    // topic's metadata.
    warm_up(&producer, vec![output.to_string()]).await;
    let topics: Vec<&str> = kafka.input_topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topics)?;

    let mut tracker = OffsetTracker::default();
    let mut in_flight = FuturesUnordered::new();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let (mut consumed, mut acked) = (0u64, 0u64);
    let mut first = None;
    let mut last_ack = Instant::now();
    while acked < expected {
        tokio::select! {
            biased;
            Some((tp, offset, result)) = in_flight.next(), if !in_flight.is_empty() => {
                let result: Result<(), KafkaError> = result;
                result?;
                tracker.finish(&tp, offset);
                acked += 1;
                last_ack = Instant::now();
            }
            msg = consumer.recv(), if in_flight.len() < max_in_flight && consumed < expected => {
                let msg = msg?;
                first.get_or_insert_with(Instant::now);
                consumed += 1;
                let tp: Tp = (msg.topic().to_string(), msg.partition());
                let offset = msg.offset();
                let mut headers = OwnedHeaders::new_with_capacity(4);
                if let Some(hs) = msg.headers() {
                    for h in hs.iter() {
                        headers = headers.insert(h);
                    }
                }
                let partition = msg.partition().to_string();
                let offset_text = offset.to_string();
                let ts = msg.timestamp().to_millis().map(|t| t.to_string());
                headers = headers
                    .insert(Header { key: H_SOURCE_TOPIC, value: Some(msg.topic()) })
                    .insert(Header { key: H_SOURCE_PARTITION, value: Some(&partition) })
                    .insert(Header { key: H_SOURCE_OFFSET, value: Some(&offset_text) });
                if let Some(ts) = &ts {
                    headers = headers.insert(Header { key: H_SOURCE_TIMESTAMP, value: Some(ts) });
                }
                let payload = msg.payload().unwrap_or_default();
                let key = msg.key().unwrap_or_default();
                let delivery = loop {
                    let record = FutureRecord::to(output)
                        .key(key)
                        .payload(payload)
                        .headers(headers.clone());
                    match producer.send_result(record) {
                        Ok(f) => break f,
                        Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                        Err((e, _)) => return Err(e.into()),
                    }
                };
                drop(msg);
                tracker.begin(&tp, offset);
                in_flight.push(async move {
                    let result = match delivery.await {
                        Ok(Ok(_)) => Ok(()),
                        Ok(Err((e, _))) => Err(e),
                        Err(_) => Err(KafkaError::Canceled),
                    };
                    (tp, offset, result)
                });
            }
            _ = tick.tick() => store_offsets(&consumer, &mut tracker),
        }
    }
    store_offsets(&consumer, &mut tracker);
    let c = consumer.clone();
    match tokio::task::spawn_blocking(move || c.commit_consumer_state(CommitMode::Sync)).await {
        Ok(Ok(())) | Ok(Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset))) => {}
        Ok(Err(e)) => return Err(e.into()),
        Err(e) => return Err(BenchError::Setup(e.to_string())),
    }
    consumer.unsubscribe();
    tokio::task::spawn_blocking(move || drop(consumer))
        .await
        .ok();
    Ok(Copied {
        consumed,
        first: first.unwrap_or(last_ack),
        last_ack,
    })
}

fn store_offsets(consumer: &StreamConsumer<WirefeedContext>, tracker: &mut OffsetTracker) {
    let offsets = tracker.committable();
    if offsets.is_empty() {
        return;
    }
    let mut tpl = TopicPartitionList::new();
    for ((topic, partition), next) in &offsets {
        let _ = tpl.add_partition_offset(topic, *partition, Offset::Offset(*next));
    }
    if let Err(e) = consumer.store_offsets(&tpl) {
        tracing::debug!(error = %e, "Some offsets not stored.");
    }
}
