//! The service: one consumer group in, the stages in the middle, topics out. Both delivery
//! modes share what is here and differ in how outputs and offsets become durable:
//!
//! - [`at_least_once`](super::at_least_once): an input offset is stored (and then
//!   auto-committed) only after the broker acknowledged every record that input caused, in
//!   partition order ([`OffsetTracker`]); a crash replays what was not stored.
//! - [`exactly_once`](super::exactly_once): outputs and input offsets go in one Kafka
//!   transaction; on an abortable error the transaction is aborted, the consumer rewound to the
//!   committed offsets and the dedup admissions of the batch undone; on a fatal one the
//!   producer is recreated.
//!
//! Per input record the work is split in three, so the stateless stages use every core while
//! decisions stay in input order:
//! 1. [`Service::stage`] (consumer task): copy the record out of the consumer's buffer and hand
//!    decode, normalise and tag to the [`StagePool`];
//! 2. the pool threads run [`Stages::prepare`];
//! 3. [`Service::decide`] (consumer task, in consumption order, so in partition order): the
//!    dedup decision against the shared index, encoding, and the records to send.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Header, Headers};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde::Serialize;
use thiserror::Error;
use tokio_util::sync::CancellationToken;

use crate::admin::Health;
use crate::config::{Config, Delivery};
use crate::dedup::{DedupIndex, Entry};
use crate::encode::{pre_encode, PreEncoded};
use crate::error::Rejection;
use crate::kafka::changelog::{Changelog, ChangelogError};
use crate::kafka::client;
use crate::kafka::context::WirefeedContext;
use crate::kafka::offsets::{OffsetTracker, Tp};
use crate::kafka::records::{dead_letter, story_records_with, OutRecord, Source, H_TRACEPARENT};
use crate::metrics::Metrics;
use crate::model::{DedupStatus, DuplicateKind};
use crate::pipeline::{decide_input, Prepared, Stages};
use crate::workers::{Panicked, StagePool};

pub(super) type Consumer_ = StreamConsumer<WirefeedContext>;
pub(crate) type Producer_ = FutureProducer<WirefeedContext>;

/// Why the service stopped without draining cleanly.
#[derive(Debug, Error)]
pub enum ServiceError {
    #[error("cannot create the Kafka {role}: {source}")]
    Client {
        role: &'static str,
        #[source]
        source: KafkaError,
    },
    #[error("cannot subscribe to {topics:?}: {source}")]
    Subscribe {
        topics: Vec<String>,
        #[source]
        source: KafkaError,
    },
    #[error("the dead-letter topic refused the record from {origin}: {error}; its offset is not committed")]
    DeadLetterRefused { origin: String, error: KafkaError },
    #[error("transactions failed: {0}")]
    Transaction(KafkaError),
    #[error("cannot load the stage tables: {0}")]
    Tables(#[from] crate::error::TableError),
    #[error("cannot start the stage threads: {0}")]
    Workers(#[source] std::io::Error),
    #[error("a stage thread stopped without answering for {origin}; its offset is not committed")]
    StageLost { origin: String },
    #[error("dedup changelog: {0}")]
    Changelog(#[from] ChangelogError),
}

/// How long start-up waits, in all, for the output topics' metadata before it goes on
/// without (well inside the liveness check's patience).
const WARM_UP_TIMEOUT: Duration = Duration::from_secs(10);

/// Tuning of the loops that is not part of the config file.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Stop once no record arrived for this long and nothing is in flight.
    pub exit_when_idle: Option<Duration>,
    /// At most this many input records consumed but not yet acknowledged (or committed).
    pub max_in_flight: usize,
    /// At most this many input records waiting for, or in, the stage threads. Small enough
    /// that a record does not queue long before its stages run (latency), large enough to
    /// keep every thread busy while the loop sends and settles.
    pub max_staged: usize,
    /// Exactly-once: a transaction commits after this long or `max_batch` records.
    pub commit_interval: Duration,
    pub max_batch: usize,
}

impl RunOptions {
    /// The options of the exactly-once loop: room for a whole batch in the stage threads.
    /// While a transaction commits (the wait for its last deliveries is the producer's
    /// `linger.ms`), the loop sends nothing; with only `max_staged` records to prepare, the
    /// stage threads would idle for most of that wait.
    pub(super) fn for_transactions(&self) -> RunOptions {
        RunOptions {
            max_staged: self.max_staged.max(self.max_batch),
            ..self.clone()
        }
    }

    /// How many more records may be taken now, with `staged` in the stage threads and
    /// `in_flight` past them but not yet acknowledged (or committed).
    pub(super) fn room(&self, staged: usize, in_flight: usize) -> usize {
        self.max_staged
            .saturating_sub(staged)
            .min(self.max_in_flight.saturating_sub(staged + in_flight))
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            exit_when_idle: None,
            max_in_flight: 5_000,
            max_staged: 256,
            commit_interval: Duration::from_millis(100),
            max_batch: 2_000,
        }
    }
}

/// What a run did, counted per input record.
#[derive(Debug, Default, Clone, Serialize, serde::Deserialize)]
pub struct RunSummary {
    pub consumed: u64,
    pub by_status: BTreeMap<String, u64>,
    pub dead_letters: BTreeMap<String, u64>,
    pub records_published: u64,
    pub transactions_committed: u64,
    pub transactions_aborted: u64,
}

/// Everything the loops share.
pub struct Service {
    pub(super) config: Config,
    stages: Arc<Stages>,
    pool: StagePool,
    pub(super) index: Arc<Mutex<DedupIndex>>,
    /// Shares the index with other replicas and restarts, when enabled.
    changelog: Option<Changelog>,
    pub(super) metrics: Arc<Metrics>,
    pub(super) health: Arc<Health>,
    /// Exactly-once: inputs whose output the broker refused for good, dead-lettered when the
    /// rewound consumer reads them again.
    pub(super) refused: Mutex<HashMap<(Tp, i64), String>>,
}

/// An input record copied out of the consumer's buffer, so the consumer can go on.
pub(super) struct Input {
    tp: Tp,
    source: Source,
    payload: Vec<u8>,
    key: Option<Vec<u8>>,
    received_at: DateTime<Utc>,
    span: tracing::Span,
}

impl Input {
    pub(super) fn offset(&self) -> i64 {
        self.source.offset
    }

    pub(super) fn tp(&self) -> &Tp {
        &self.tp
    }
}

/// An input after the stateless stages ran on a pool thread, its text already serialised.
pub(super) struct Staged {
    input: Input,
    prepared: Result<(Prepared, PreEncoded), Rejection>,
}

/// The answer of the stage threads for one input, in consumption order.
pub(super) type StagedFuture = futures::future::BoxFuture<'static, Result<Staged, ServiceError>>;

/// One input record after the stages: what to send and what to count.
pub(super) struct Handled {
    pub(super) tp: Tp,
    pub(super) source: Source,
    pub(super) records: Vec<OutRecord>,
    pub(super) admitted: Option<Entry>,
    pub(super) outcome: Outcome,
    /// Kept to dead-letter the input if the broker refuses one of its outputs.
    pub(super) payload: Vec<u8>,
    pub(super) key: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub(super) enum Outcome {
    Story(DedupStatus),
    DeadLetter(&'static str),
}

impl Service {
    pub fn new(
        config: Config,
        metrics: Arc<Metrics>,
        health: Arc<Health>,
    ) -> Result<Self, ServiceError> {
        let stages = Arc::new(Stages::new(config.stages())?);
        let workers = StagePool::workers_for(config.pipeline.stage_workers);
        let pool = StagePool::new(workers, "wirefeed-stages").map_err(ServiceError::Workers)?;
        let index = Arc::new(Mutex::new(DedupIndex::new(&config.dedup)));
        let changelog = Changelog::from_config(&config);
        Ok(Service {
            config,
            stages,
            pool,
            index,
            changelog,
            metrics,
            health,
            refused: Mutex::default(),
        })
    }

    /// Run until `shutdown` is cancelled (or idle, see [`RunOptions`]), then drain in-flight
    /// work within the grace period, commit, and leave the group.
    pub async fn run(
        &self,
        shutdown: CancellationToken,
        options: RunOptions,
    ) -> Result<RunSummary, ServiceError> {
        // Changelog hook: the index is restored before any input is consumed (and before
        // ready), then followed until the service stops.
        let follower = match &self.changelog {
            Some(c) => {
                let index = self.index.clone();
                let (m, h) = (self.metrics.clone(), self.health.clone());
                let duplicates = &self.config.output.duplicates_topic;
                Some(c.start(index, m, h, duplicates, &shutdown).await?)
            }
            None => None,
        };
        let consumer = self.consumer()?;
        let topics: Vec<&str> = self
            .config
            .kafka
            .input_topics
            .iter()
            .map(String::as_str)
            .collect();
        consumer
            .subscribe(&topics)
            .map_err(|source| ServiceError::Subscribe {
                topics: self.config.kafka.input_topics.clone(),
                source,
            })?;
        tracing::info!(
            stage_workers = self.pool.workers(),
            delivery = ?self.config.kafka.delivery,
            "Service started."
        );
        let lag = spawn_lag_refresher(consumer.clone(), self.metrics.clone(), shutdown.clone());
        let health = self.health.clone();
        let draining = shutdown.clone();
        let drain_watch = tokio::spawn(async move {
            draining.cancelled().await;
            health.set_draining();
        });
        let result = match self.config.kafka.delivery {
            Delivery::AtLeastOnce => self.at_least_once(&consumer, &shutdown, &options).await,
            Delivery::ExactlyOnce => self.exactly_once(&consumer, &shutdown, &options).await,
        };
        self.health.set_draining();
        drain_watch.abort();
        lag.abort();
        // Leaving the group now hands our partitions over at once instead of after the
        // session timeout.
        consumer.unsubscribe();
        tokio::task::spawn_blocking(move || drop(consumer))
            .await
            .ok();
        if let Some(f) = follower {
            f.stop().await;
        }
        result
    }

    fn consumer(&self) -> Result<Arc<Consumer_>, ServiceError> {
        let ctx = WirefeedContext::new("consumer", self.metrics.clone(), self.health.clone());
        client::consumer(&self.config.kafka)
            .create_with_context(ctx)
            .map(Arc::new)
            .map_err(|source| ServiceError::Client {
                role: "consumer",
                source,
            })
    }

    pub(super) fn producer(
        &self,
        transactional_id: Option<&str>,
    ) -> Result<Producer_, ServiceError> {
        let ctx = WirefeedContext::new("producer", self.metrics.clone(), self.health.clone());
        client::producer(&self.config.kafka, transactional_id)
            .create_with_context(ctx)
            .map_err(|source| ServiceError::Client {
                role: "producer",
                source,
            })
    }

    /// [`warm_up`] with the service's output topics.
    pub(super) async fn warm_up(&self, producer: &Producer_) {
        warm_up(producer, self.config.output.topics()).await;
    }

    /// Copy `msg` out of the consumer's buffer, so the consumer can go on.
    pub(super) fn take(&self, msg: &BorrowedMessage<'_>) -> Input {
        let tp: Tp = (msg.topic().to_string(), msg.partition());
        let traceparent = msg.headers().and_then(|hs| {
            hs.iter()
                .find(|h: &Header<'_, &[u8]>| h.key == H_TRACEPARENT)
                .and_then(|h| h.value.map(<[u8]>::to_vec))
        });
        let timestamp_ms = msg.timestamp().to_millis();
        let source = Source {
            topic: tp.0.clone(),
            partition: tp.1,
            offset: msg.offset(),
            timestamp_ms,
            traceparent,
        };
        self.metrics.story_consumed(&tp.0);
        let span = crate::telemetry::story_span(&source);
        let received_at = timestamp_ms
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
            .unwrap_or_else(Utc::now);
        Input {
            tp,
            source,
            payload: msg.payload().unwrap_or_default().to_vec(),
            key: msg.key().map(<[u8]>::to_vec),
            received_at,
            span,
        }
    }

    /// Add to `inputs` the records the consumer already holds, up to `room` in all, without
    /// waiting: staged together they cost the stage threads and this task one wake-up per
    /// chunk instead of one per record.
    pub(super) fn take_ready(&self, consumer: &Consumer_, inputs: &mut Vec<Input>, room: usize) {
        use futures::{FutureExt, StreamExt};
        let mut ready = consumer.stream();
        while inputs.len() < room {
            match ready.next().now_or_never() {
                Some(Some(Ok(msg))) => inputs.push(self.take(&msg)),
                Some(Some(Err(e))) => {
                    tracing::warn!(error = %e, "Consumer error.");
                    break;
                }
                Some(None) | None => break,
            }
        }
    }

    /// Hand the stateless stages of `inputs` to the pool, as one batch. Keep the returned
    /// futures in consumption order and pass each result to [`Service::decide`].
    pub(super) fn stage_all(&self, inputs: Vec<Input>) -> Vec<StagedFuture> {
        let (origins, jobs): (Vec<(Tp, i64)>, Vec<_>) = inputs
            .into_iter()
            .map(|input| {
                let origin = (input.tp.clone(), input.offset());
                let stages = self.stages.clone();
                let job = move || {
                    let prepared = {
                        let _entered = input.span.enter();
                        catch_unwind(AssertUnwindSafe(|| {
                            let prepared = stages.prepare(&input.payload)?;
                            let pre = pre_encode(&prepared.id, &prepared.story, &prepared.tags);
                            Ok((prepared, pre))
                        }))
                        .unwrap_or_else(|panic| {
                            Err(Rejection {
                                kind: "stage-panic",
                                reason: format!(
                                    "a stage panicked on this input: {}",
                                    crate::workers::panic_text(&*panic)
                                ),
                            })
                        })
                    };
                    Staged { input, prepared }
                };
                (origin, job)
            })
            .unzip();
        self.pool
            .run_all(jobs)
            .into_iter()
            .zip(origins)
            .map(|(answer, (tp, offset))| -> StagedFuture {
                Box::pin(async move {
                    match answer.await {
                        Ok(Ok(staged)) => Ok(staged),
                        Ok(Err(Panicked(_))) | Err(_) => Err(ServiceError::StageLost {
                            origin: format!("{}/{}@{offset}", tp.0, tp.1),
                        }),
                    }
                })
            })
            .collect()
    }

    /// The dedup decision (in consumption order) and the records to send.
    pub(super) fn decide(&self, staged: Staged) -> Handled {
        let Staged { input, prepared } = staged;
        let span = input.span.clone();
        let _entered = span.enter();
        let refused = {
            let mut refused = self.refused.lock().expect("refused lock");
            // Almost always empty: skip building the key.
            if refused.is_empty() {
                None
            } else {
                refused.remove(&(input.tp.clone(), input.source.offset))
            }
        };
        if let Some(error) = refused {
            let rejection = Rejection {
                kind: "output-refused",
                reason: format!("the broker refused an output record: {error}"),
            };
            return self.rejected(rejection, input);
        }
        let (prepared, pre) = match prepared {
            Ok(p) => p,
            Err(rejection) => return self.rejected(rejection, input),
        };
        let (story, admitted, timings) = {
            let mut index = self.index.lock().expect("dedup index lock");
            let source = &input.source;
            let tag = crate::dedup::input_tag(&source.topic, source.partition, source.offset);
            let out = decide_input(&mut index, prepared, input.received_at, tag);
            self.metrics.dedup_index_entries.set(index.len() as i64);
            out
        };
        self.metrics.stages_timed(&timings);
        match story.dedup.status {
            DedupStatus::Duplicate => {
                let near = matches!(story.dedup.kind, Some(DuplicateKind::Near));
                self.metrics.duplicate_found(near);
                if self.config.output.duplicates_topic.is_empty() {
                    self.metrics.duplicate_dropped();
                }
            }
            DedupStatus::Update => self.metrics.updates.inc(),
            DedupStatus::Unique => {}
        }
        crate::telemetry::record_story(&story);
        tracing::debug!(id = %story.id, status = story.dedup.status.as_str(), "Story processed.");
        let mut records = story_records_with(
            &story,
            || pre.finish(&story.dedup),
            &self.config.output,
            &input.source,
        );
        // Changelog hook: the admitted entry is one more output of this input.
        if let (Some(c), Some(e)) = (&self.changelog, &admitted) {
            records.push(c.record(e, story.dedup.status));
        }
        Handled {
            tp: input.tp,
            source: input.source,
            records,
            admitted,
            outcome: Outcome::Story(story.dedup.status),
            payload: input.payload,
            key: input.key,
        }
    }

    fn rejected(&self, rejection: Rejection, input: Input) -> Handled {
        crate::telemetry::record_rejection(&rejection);
        self.metrics
            .story_dead_lettered(rejection.kind, &rejection.reason, &input.source.origin());
        let record = dead_letter(
            &input.payload,
            input.key.as_deref(),
            &rejection,
            &self.config.output,
            &input.source,
        );
        Handled {
            tp: input.tp,
            source: input.source,
            records: vec![record],
            admitted: None,
            outcome: Outcome::DeadLetter(rejection.kind),
            payload: input.payload,
            key: input.key,
        }
    }

    pub(super) fn count(&self, summary: &mut RunSummary, handled: &Handled) {
        summary.consumed += 1;
        summary.records_published += handled.records.len() as u64;
        let (map, key) = match &handled.outcome {
            Outcome::Story(s) => (&mut summary.by_status, s.as_str()),
            Outcome::DeadLetter(k) => (&mut summary.dead_letters, *k),
        };
        match map.get_mut(key) {
            Some(n) => *n += 1,
            None => {
                map.insert(key.to_string(), 1);
            }
        }
    }

    /// An input whose outputs are durable: latency and the published count.
    pub(super) fn published(&self, handled: &Handled, delivery: Delivery) {
        let exactly_once = delivery == Delivery::ExactlyOnce;
        let latency = handled
            .source
            .timestamp_ms
            .map(|ts| (Utc::now().timestamp_millis() - ts).max(0) as f64 / 1000.0);
        match &handled.outcome {
            Outcome::Story(s) => self.metrics.story_published(*s, exactly_once, latency),
            Outcome::DeadLetter(_) => self.metrics.dead_letter_published(exactly_once, latency),
        }
    }
}

/// Look up every output topic with `producer` before the first input is consumed. The
/// answer connects to the topics' leaders and lets an idempotent producer get its producer
/// id at once; without it librdkafka asks for the id on a 500 ms start-up timer and finds
/// each topic's partitions on first send, and the first stories after every start wait
/// for both. A topic that cannot be looked up is only logged: sending to it reports the
/// real error per record.
pub(crate) async fn warm_up(producer: &Producer_, topics: Vec<String>) {
    let p = producer.clone();
    let failed = tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + WARM_UP_TIMEOUT;
        let mut failed = Vec::new();
        for topic in topics {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match p.client().fetch_metadata(Some(&topic), left) {
                Ok(md) => failed.extend(
                    md.topics()
                        .iter()
                        .find_map(|t| t.error().map(|e| (topic.clone(), format!("{e:?}")))),
                ),
                // No answer in time: the broker is not reachable now, and the loop must
                // start beating; sending reports what is wrong.
                Err(e) => {
                    failed.push((topic, e.to_string()));
                    break;
                }
            }
        }
        failed
    })
    .await
    .unwrap_or_default();
    for (topic, error) in failed {
        tracing::warn!(topic, error, "Output topic not found at start-up.");
    }
}

/// Seek every partition of `tps` we still own back to its committed offset.
pub(super) async fn rewind(consumer: &Arc<Consumer_>, tps: BTreeSet<Tp>) {
    if tps.is_empty() {
        return;
    }
    let c = consumer.clone();
    let result = tokio::task::spawn_blocking(move || {
        let owned = c
            .context()
            .assignment
            .lock()
            .expect("assignment lock")
            .owned
            .clone();
        let mut tpl = TopicPartitionList::new();
        for (t, p) in tps.iter().filter(|tp| owned.contains(*tp)) {
            tpl.add_partition(t, *p);
        }
        if tpl.count() == 0 {
            return Ok(());
        }
        let committed = c.committed_offsets(tpl, Duration::from_secs(30))?;
        let mut seek = TopicPartitionList::new();
        for e in committed.elements() {
            let offset = match e.offset() {
                Offset::Offset(o) => Offset::Offset(o),
                _ => Offset::Beginning,
            };
            seek.add_partition_offset(e.topic(), e.partition(), offset)?;
        }
        c.seek_partitions(seek, Duration::from_secs(30)).map(|_| ())
    })
    .await
    .expect("rewind task");
    if let Err(e) = result {
        tracing::warn!(error = %e, "Rewind failed; the consumer will resume from its position.");
    }
}

/// The input partitions this instance owns now.
pub(super) fn owned_partitions(consumer: &Consumer_) -> BTreeSet<Tp> {
    consumer
        .context()
        .assignment
        .lock()
        .expect("assignment lock")
        .owned
        .clone()
}

pub(super) fn assignment_changed(
    assignment: &crate::kafka::context::SharedAssignment,
    seen_generation: &mut u64,
) -> bool {
    let Ok(mut a) = assignment.try_lock() else {
        return false;
    };
    a.revoked.clear();
    let changed = a.generation != *seen_generation;
    *seen_generation = a.generation;
    changed
}

/// Drop the bookkeeping of revoked partitions; true when the assignment changed.
pub(super) fn forget_revoked(
    assignment: &crate::kafka::context::SharedAssignment,
    seen_generation: &mut u64,
    tracker: &mut OffsetTracker,
) -> bool {
    let Ok(mut a) = assignment.try_lock() else {
        return false;
    };
    if a.generation == *seen_generation {
        return false;
    }
    *seen_generation = a.generation;
    for tp in a.revoked.drain(..) {
        tracker.forget(&tp);
    }
    true
}

/// Enqueue `record`, waiting while the producer queue is full (backpressure, not failure).
pub(super) async fn enqueue(
    producer: &Producer_,
    record: &OutRecord,
) -> Result<rdkafka::producer::DeliveryFuture, KafkaError> {
    loop {
        let fr = FutureRecord::to(&record.topic)
            .key(&record.key)
            .payload(&record.payload)
            .headers(record.kafka_headers());
        match producer.send_result(fr) {
            Ok(f) => return Ok(f),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err((e, _)) => return Err(e),
        }
    }
}

/// Errors no retry will fix: the record or the topic is wrong for this broker.
pub(super) fn is_permanent(error: &KafkaError) -> bool {
    use RDKafkaErrorCode as C;
    match error.rdkafka_error_code() {
        Some(code) => matches!(
            code,
            C::MessageSizeTooLarge
                | C::InvalidMessageSize
                | C::InvalidMessage
                | C::InvalidRecord
                | C::TopicAuthorizationFailed
                | C::ClusterAuthorizationFailed
                | C::InvalidTopic
                | C::MessageBatchTooLarge
                | C::PolicyViolation
                | C::InvalidRequiredAcks
                | C::UnsupportedForMessageFormat
        ),
        None => false,
    }
}

pub(super) fn error_label(error: &KafkaError) -> String {
    match error.rdkafka_error_code() {
        Some(code) => format!("{code:?}"),
        None => "other".into(),
    }
}

/// Refresh the lag gauges every few seconds, also when no record flows: lag is the high
/// watermark minus the consumer's position (or the committed offset, or the low watermark
/// when nothing was consumed yet), never negative.
fn spawn_lag_refresher(
    consumer: Arc<Consumer_>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            let c = consumer.clone();
            let m = metrics.clone();
            let _ = tokio::task::spawn_blocking(move || refresh_lag(&c, &m)).await;
        }
    })
}

fn refresh_lag(consumer: &Consumer_, metrics: &Metrics) {
    let owned: Vec<Tp> = owned_partitions(consumer).into_iter().collect();
    if owned.is_empty() {
        return;
    }
    let positions = consumer.position().ok();
    let mut tpl = TopicPartitionList::new();
    for (t, p) in &owned {
        tpl.add_partition(t, *p);
    }
    let committed = consumer.committed_offsets(tpl, Duration::from_secs(5)).ok();
    for (topic, partition) in owned {
        let Ok((low, high)) = consumer.fetch_watermarks(&topic, partition, Duration::from_secs(5))
        else {
            continue;
        };
        let find = |list: &Option<TopicPartitionList>| {
            list.as_ref()
                .and_then(|l| l.find_partition(&topic, partition))
                .and_then(|e| match e.offset() {
                    Offset::Offset(o) => Some(o),
                    _ => None,
                })
        };
        let position = find(&positions).or_else(|| find(&committed)).unwrap_or(low);
        let lag = (high - position.max(low)).max(0);
        metrics
            .consumer_lag
            .with_label_values(&[&topic, &partition.to_string()])
            .set(lag);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Service>();
        assert_send_sync::<Stages>();
    }

    #[test]
    fn transactions_stage_a_whole_batch_within_the_in_flight_limit() {
        let options = RunOptions {
            max_in_flight: 3_000,
            max_staged: 100,
            max_batch: 2_000,
            ..RunOptions::default()
        };
        assert_eq!(options.room(0, 0), 100);
        let txn = options.for_transactions();
        assert_eq!(txn.max_staged, 2_000);
        assert_eq!(txn.max_batch, 2_000);
        assert_eq!(txn.room(0, 0), 2_000);
        assert_eq!(txn.room(500, 0), 1_500);
        // A full batch waiting for its commit leaves room for what is in flight only.
        assert_eq!(txn.room(500, 2_000), 500);
        assert_eq!(txn.room(2_000, 2_000), 0);
    }
}
