//! The service loops. Both read from one consumer group and run the same stages; they differ
//! in how outputs and offsets become durable:
//!
//! - at-least-once: an input offset is stored (and then auto-committed) only after the broker
//!   acknowledged every record that input caused, in partition order ([`OffsetTracker`]);
//!   a crash replays what was not stored.
//! - exactly-once: outputs and input offsets go in one Kafka transaction; on an abortable error
//!   the transaction is aborted, the consumer rewound to the committed offsets and the dedup
//!   admissions of the batch undone; on a fatal one the producer is recreated.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
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
use crate::kafka::client;
use crate::kafka::context::WirefeedContext;
use crate::kafka::offsets::{OffsetTracker, Tp};
use crate::kafka::records::{dead_letter, story_records, OutRecord, Source, H_TRACEPARENT};
use crate::metrics::Metrics;
use crate::model::DedupStatus;
use crate::pipeline::{decide, Stages};

type Consumer_ = StreamConsumer<WirefeedContext>;
type Producer_ = FutureProducer<WirefeedContext>;

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
}

/// Tuning of the loops that is not part of the config file.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Stop once no record arrived for this long and nothing is in flight.
    pub exit_when_idle: Option<Duration>,
    /// At most this many input records consumed but not yet acknowledged.
    pub max_in_flight: usize,
    /// Exactly-once: a transaction commits after this long or `max_batch` records.
    pub commit_interval: Duration,
    pub max_batch: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            exit_when_idle: None,
            max_in_flight: 5_000,
            commit_interval: Duration::from_millis(100),
            max_batch: 2_000,
        }
    }
}

/// What a run did, counted per input record.
#[derive(Debug, Default, Clone, Serialize)]
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
    config: Config,
    stages: Stages,
    index: Arc<Mutex<DedupIndex>>,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    /// Exactly-once: inputs whose output the broker refused for good, dead-lettered when the
    /// rewound consumer reads them again.
    refused: Mutex<std::collections::HashMap<(Tp, i64), String>>,
}

/// One input record after the stages: what to send and what to count.
struct Handled {
    tp: Tp,
    source: Source,
    records: Vec<OutRecord>,
    admitted: Option<Entry>,
    outcome: Outcome,
    /// Kept to dead-letter the input if the broker refuses one of its outputs.
    payload: Vec<u8>,
    key: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
enum Outcome {
    Story(DedupStatus),
    DeadLetter(&'static str),
}

/// The acknowledgement of one input record's outputs.
struct Acked {
    handled: Handled,
    /// Topic and status label of every record the broker acknowledged.
    delivered: Vec<(String, &'static str)>,
    failures: Vec<(OutRecord, KafkaError)>,
}

impl Service {
    pub fn new(
        config: Config,
        metrics: Arc<Metrics>,
        health: Arc<Health>,
    ) -> Result<Self, ServiceError> {
        let stages = Stages::new(config.stages())?;
        let index = Arc::new(Mutex::new(DedupIndex::new(&config.dedup)));
        Ok(Service {
            config,
            stages,
            index,
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

    fn producer(&self, transactional_id: Option<&str>) -> Result<Producer_, ServiceError> {
        let ctx = WirefeedContext::new("producer", self.metrics.clone(), self.health.clone());
        client::producer(&self.config.kafka, transactional_id)
            .create_with_context(ctx)
            .map_err(|source| ServiceError::Client {
                role: "producer",
                source,
            })
    }

    /// Run the stages on one record and build its outputs.
    fn handle(&self, msg: &BorrowedMessage<'_>) -> Handled {
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
        let payload = msg.payload().unwrap_or_default();
        let key = msg.key().map(<[u8]>::to_vec);
        self.metrics.story_consumed(&tp.0);
        let _span = crate::telemetry::story_span(&source).entered();
        let refused = self
            .refused
            .lock()
            .expect("refused lock")
            .remove(&(tp.clone(), source.offset));
        if let Some(error) = refused {
            let rejection = crate::error::Rejection {
                kind: "output-refused",
                reason: format!("the broker refused an output record: {error}"),
            };
            return self.rejected(rejection, payload, key, tp, source);
        }
        let received_at = timestamp_ms
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
            .unwrap_or_else(Utc::now);
        match self.stages.prepare(payload) {
            Ok(prepared) => {
                let (story, admitted, timings) = {
                    let mut index = self.index.lock().expect("dedup index lock");
                    let out = decide(&mut index, prepared, received_at);
                    self.metrics.dedup_index_entries.set(index.len() as i64);
                    out
                };
                self.metrics.stages_timed(&timings);
                match story.dedup.status {
                    DedupStatus::Duplicate => {
                        let kind = match story.dedup.kind {
                            Some(crate::model::DuplicateKind::Near) => "near",
                            _ => "exact",
                        };
                        self.metrics.duplicate_found(kind);
                        if self.config.output.duplicates_topic.is_empty() {
                            self.metrics.duplicate_dropped();
                        }
                    }
                    DedupStatus::Update => self.metrics.updates.inc(),
                    DedupStatus::Unique => {}
                }
                crate::telemetry::record_story(&story);
                tracing::debug!(id = %story.id, status = story.dedup.status.as_str(), "Story processed.");
                let records = story_records(&story, &self.config.output, &source);
                Handled {
                    tp,
                    source,
                    records,
                    admitted,
                    outcome: Outcome::Story(story.dedup.status),
                    payload: Vec::new(),
                    key,
                }
            }
            Err(rejection) => self.rejected(rejection, payload, key, tp, source),
        }
    }

    fn rejected(
        &self,
        rejection: crate::error::Rejection,
        payload: &[u8],
        key: Option<Vec<u8>>,
        tp: Tp,
        source: Source,
    ) -> Handled {
        crate::telemetry::record_rejection(&rejection);
        self.metrics
            .story_dead_lettered(rejection.kind, &rejection.reason, &source.origin());
        let record = dead_letter(
            payload,
            key.as_deref(),
            &rejection,
            &self.config.output,
            &source,
        );
        Handled {
            tp,
            source,
            records: vec![record],
            admitted: None,
            outcome: Outcome::DeadLetter(rejection.kind),
            payload: Vec::new(),
            key,
        }
    }

    fn count(&self, summary: &mut RunSummary, handled: &Handled) {
        summary.consumed += 1;
        summary.records_published += handled.records.len() as u64;
        match &handled.outcome {
            Outcome::Story(s) => *summary.by_status.entry(s.as_str().into()).or_default() += 1,
            Outcome::DeadLetter(k) => *summary.dead_letters.entry((*k).into()).or_default() += 1,
        }
    }

    fn observe_latency(&self, handled: &Handled, delivery: &str) {
        if let Some(ts) = handled.source.timestamp_ms {
            let secs = (Utc::now().timestamp_millis() - ts).max(0) as f64 / 1000.0;
            self.metrics
                .end_to_end_latency
                .with_label_values(&[delivery])
                .observe(secs);
        }
    }

    // ---- at-least-once -------------------------------------------------------------------

    async fn at_least_once(
        &self,
        consumer: &Arc<Consumer_>,
        shutdown: &CancellationToken,
        options: &RunOptions,
    ) -> Result<RunSummary, ServiceError> {
        let producer = self.producer(None)?;
        let mut summary = RunSummary::default();
        let mut tracker = OffsetTracker::default();
        let mut in_flight = FuturesUnordered::new();
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        let mut last_record = Instant::now();
        let mut fatal = None;
        let assignment = consumer.context().assignment.clone();
        let mut seen_generation = 0;

        loop {
            self.health.beat();
            if forget_revoked(&assignment, &mut seen_generation, &mut tracker) {
                last_record = Instant::now();
            }
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                Some(acked) = in_flight.next(), if !in_flight.is_empty() => {
                    if let Err(e) = self.on_acked(acked, &producer, &mut in_flight, &mut tracker) {
                        fatal = Some(e);
                        break;
                    }
                }
                msg = consumer.recv(), if in_flight.len() < options.max_in_flight => {
                    let msg = match msg {
                        Ok(m) => m,
                        Err(e) => {
                            tracing::warn!(error = %e, "Consumer error.");
                            continue;
                        }
                    };
                    last_record = Instant::now();
                    let mut handled = self.handle(&msg);
                    handled.payload = msg.payload().unwrap_or_default().to_vec();
                    drop(msg);
                    self.count(&mut summary, &handled);
                    tracker.begin(&handled.tp, handled.source.offset);
                    self.metrics.in_flight.set(tracker.pending() as i64);
                    let records = std::mem::take(&mut handled.records);
                    in_flight.push(send_all(producer.clone(), records, handled, Duration::ZERO));
                }
                _ = tick.tick() => {
                    store_offsets(consumer, &mut tracker);
                    if let Some(idle) = options.exit_when_idle {
                        if in_flight.is_empty()
                            && self.health.is_ready()
                            && last_record.elapsed() >= idle
                        {
                            tracing::info!("Idle; stopping.");
                            break;
                        }
                    }
                }
            }
        }

        // Drain: finish what is in flight within the grace period; what does not finish is
        // not committed and will be consumed again.
        let grace = Duration::from_secs(self.config.shutdown.grace_period_secs);
        let deadline = tokio::time::Instant::now() + grace;
        while !in_flight.is_empty() && fatal.is_none() {
            match tokio::time::timeout_at(deadline, in_flight.next()).await {
                Ok(Some(acked)) => {
                    if let Err(e) = self.on_acked(acked, &producer, &mut in_flight, &mut tracker) {
                        fatal = Some(e);
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    tracing::warn!(
                        pending = tracker.pending(),
                        "Grace period over; uncommitted stories will be consumed again."
                    );
                    break;
                }
            }
        }
        store_offsets(consumer, &mut tracker);
        let c = consumer.clone();
        let committed =
            tokio::task::spawn_blocking(move || c.commit_consumer_state(CommitMode::Sync))
                .await
                .ok();
        match committed {
            Some(Ok(())) => tracing::info!("Offsets committed."),
            // NoOffset: nothing stored since the last commit.
            Some(Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset))) => {}
            Some(Err(e)) => tracing::warn!(error = %e, "Final commit failed."),
            None => {}
        }
        self.metrics.in_flight.set(0);
        match fatal {
            Some(e) => Err(e),
            None => Ok(summary),
        }
    }

    /// Settle one input's acknowledgement: done, retry, dead-letter, or fatal.
    fn on_acked(
        &self,
        acked: Acked,
        producer: &Producer_,
        in_flight: &mut FuturesUnordered<futures::future::BoxFuture<'static, Acked>>,
        tracker: &mut OffsetTracker,
    ) -> Result<(), ServiceError> {
        let Acked {
            mut handled,
            delivered,
            failures,
        } = acked;
        for (topic, status) in &delivered {
            self.metrics.record_delivered(topic, status);
        }
        if failures.is_empty() {
            tracker.finish(&handled.tp, handled.source.offset);
            self.metrics.in_flight.set(tracker.pending() as i64);
            self.observe_latency(&handled, "at-least-once");
            if let Outcome::Story(s) = &handled.outcome {
                self.metrics
                    .stories_published
                    .with_label_values(&[s.as_str()])
                    .inc();
            }
            return Ok(());
        }
        let origin = handled.source.origin();
        let mut retry = Vec::new();
        let mut refused: Option<KafkaError> = None;
        for (record, error) in failures {
            self.metrics
                .delivery_failed(&error_label(&error), &record.topic, &origin);
            if is_permanent(&error) {
                if record.topic == self.config.output.dead_letter_topic {
                    return Err(ServiceError::DeadLetterRefused { origin, error });
                }
                refused = Some(error);
            } else {
                retry.push(record);
            }
        }
        if let Some(error) = refused {
            // The broker will never take this story's output: dead-letter the input instead,
            // so it is neither lost nor silently acknowledged.
            let rejection = crate::error::Rejection {
                kind: "output-refused",
                reason: format!("the broker refused an output record: {error}"),
            };
            self.metrics
                .story_dead_lettered(rejection.kind, &rejection.reason, &origin);
            retry.push(dead_letter(
                &handled.payload,
                handled.key.as_deref(),
                &rejection,
                &self.config.output,
                &handled.source,
            ));
            handled.outcome = Outcome::DeadLetter(rejection.kind);
        }
        in_flight.push(send_all(
            producer.clone(),
            retry,
            handled,
            Duration::from_millis(500),
        ));
        Ok(())
    }

    // ---- exactly-once --------------------------------------------------------------------

    async fn exactly_once(
        &self,
        consumer: &Arc<Consumer_>,
        shutdown: &CancellationToken,
        options: &RunOptions,
    ) -> Result<RunSummary, ServiceError> {
        let txn_id = client::transactional_id(&self.config.kafka);
        let mut producer = self.transactional_producer(&txn_id).await?;
        let mut summary = RunSummary::default();
        let mut last_record = Instant::now();
        let assignment = consumer.context().assignment.clone();
        let mut seen_generation = 0;

        'service: loop {
            self.health.beat();
            if assignment_changed(&assignment, &mut seen_generation) {
                last_record = Instant::now();
            }
            let mut batch = Batch::default();
            let mut deadline = None;
            loop {
                let sleep = async {
                    match deadline {
                        Some(d) => tokio::time::sleep_until(d).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    biased;
                    _ = shutdown.cancelled() => break,
                    _ = sleep => break,
                    msg = consumer.recv() => {
                        let msg = match msg {
                            Ok(m) => m,
                            Err(e) => {
                                tracing::warn!(error = %e, "Consumer error.");
                                continue;
                            }
                        };
                        last_record = Instant::now();
                        if batch.is_empty() {
                            if let Err(e) = producer.begin_transaction() {
                                drop(msg);
                                producer = self.recover(e, producer, consumer, &batch, &txn_id).await?;
                                continue 'service;
                            }
                            deadline = Some(tokio::time::Instant::now() + options.commit_interval);
                        }
                        let mut handled = self.handle(&msg);
                        drop(msg);
                        let records = std::mem::take(&mut handled.records);
                        for record in records.iter() {
                            match enqueue(&producer, record).await {
                                Ok(f) => {
                                    batch.written.push((record.topic.clone(), record.status));
                                    batch.deliveries.push((handled.tp.clone(), handled.source.offset, record.topic.clone(), f));
                                }
                                Err(e) => batch.failures.push((handled.tp.clone(), handled.source.offset, record.topic.clone(), e)),
                            }
                        }
                        batch.add(handled);
                        if batch.inputs.len() >= options.max_batch {
                            break;
                        }
                    }
                    _ = tokio::time::sleep(Duration::from_millis(500)), if batch.is_empty() => {
                        self.health.beat();
                        if let Some(idle) = options.exit_when_idle {
                            if self.health.is_ready() && last_record.elapsed() >= idle {
                                tracing::info!("Idle; stopping.");
                                break 'service;
                            }
                        }
                    }
                }
            }
            if !batch.is_empty() {
                let outcome = match self.settle_deliveries(&mut batch).await? {
                    Ok(()) => self.commit_batch(&producer, consumer, &batch).await,
                    Err(e) => Err(e),
                };
                match outcome {
                    Ok(()) => {
                        self.metrics.transaction_finished(true, batch.inputs.len());
                        for (topic, status) in &batch.written {
                            self.metrics.record_delivered(topic, status);
                        }
                        summary.transactions_committed += 1;
                        summary.records_published += batch.written.len() as u64;
                        for handled in &batch.inputs {
                            self.count(&mut summary, handled);
                            self.observe_latency(handled, "exactly-once");
                            if let Outcome::Story(s) = &handled.outcome {
                                self.metrics
                                    .stories_published
                                    .with_label_values(&[s.as_str()])
                                    .inc();
                            }
                        }
                    }
                    Err(e) => {
                        summary.transactions_aborted += 1;
                        producer = self.recover(e, producer, consumer, &batch, &txn_id).await?;
                    }
                }
            }
            if shutdown.is_cancelled() {
                break;
            }
        }
        Ok(summary)
    }

    /// Wait for the batch's deliveries. A record the broker refuses for good marks its input
    /// so that, after the abort and rewind, the input is dead-lettered instead of looping.
    async fn settle_deliveries(
        &self,
        batch: &mut Batch,
    ) -> Result<Result<(), KafkaError>, ServiceError> {
        let mut first_error = None;
        let mut failures = std::mem::take(&mut batch.failures);
        for (tp, offset, topic, f) in batch.deliveries.drain(..) {
            match f.await {
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => failures.push((tp, offset, topic, e)),
                Err(_) => failures.push((tp, offset, topic, KafkaError::Canceled)),
            }
        }
        for (tp, offset, topic, e) in failures {
            let origin = format!("{}/{}@{}", tp.0, tp.1, offset);
            self.metrics
                .delivery_failed(&error_label(&e), &topic, &origin);
            if is_permanent(&e) {
                if topic == self.config.output.dead_letter_topic {
                    return Err(ServiceError::DeadLetterRefused { origin, error: e });
                }
                self.refused
                    .lock()
                    .expect("refused lock")
                    .insert((tp, offset), e.to_string());
            }
            first_error.get_or_insert(e);
        }
        Ok(match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        })
    }

    async fn transactional_producer(&self, txn_id: &str) -> Result<Producer_, ServiceError> {
        let producer = self.producer(Some(txn_id))?;
        let p = producer.clone();
        tokio::task::spawn_blocking(move || p.init_transactions(Duration::from_secs(30)))
            .await
            .expect("init_transactions task")
            .map_err(ServiceError::Transaction)?;
        tracing::info!(transactional_id = txn_id, "Transactional producer ready.");
        Ok(producer)
    }

    async fn commit_batch(
        &self,
        producer: &Producer_,
        consumer: &Arc<Consumer_>,
        batch: &Batch,
    ) -> Result<(), KafkaError> {
        let mut tpl = TopicPartitionList::new();
        for ((topic, partition), next) in &batch.next_offsets {
            tpl.add_partition_offset(topic, *partition, Offset::Offset(*next))?;
        }
        let metadata = consumer
            .group_metadata()
            .ok_or(KafkaError::ConsumerCommit(RDKafkaErrorCode::State))?;
        let p = producer.clone();
        tokio::task::spawn_blocking(move || {
            p.send_offsets_to_transaction(&tpl, &metadata, Duration::from_secs(30))?;
            p.commit_transaction(Duration::from_secs(60))
        })
        .await
        .expect("commit task")
    }

    /// After a failed transaction: abort it (or recreate the producer when the error is
    /// fatal), undo the batch's dedup admissions and rewind to the committed offsets.
    async fn recover(
        &self,
        error: KafkaError,
        producer: Producer_,
        consumer: &Arc<Consumer_>,
        batch: &Batch,
        txn_id: &str,
    ) -> Result<Producer_, ServiceError> {
        self.metrics.transaction_finished(false, batch.inputs.len());
        let fatal = matches!(&error, KafkaError::Transaction(e) if e.is_fatal());
        let producer = if fatal {
            tracing::warn!(%error, "Fatal producer error; recreating the transactional producer.");
            tokio::task::spawn_blocking(move || drop(producer))
                .await
                .ok();
            self.transactional_producer(txn_id).await?
        } else {
            tracing::warn!(%error, "Transaction failed; aborting.");
            let p = producer.clone();
            let aborted =
                tokio::task::spawn_blocking(move || p.abort_transaction(Duration::from_secs(30)))
                    .await
                    .expect("abort task");
            if let Err(e) = aborted {
                tracing::warn!(error = %e, "Abort failed; recreating the transactional producer.");
                tokio::task::spawn_blocking(move || drop(producer))
                    .await
                    .ok();
                self.transactional_producer(txn_id).await?
            } else {
                producer
            }
        };
        {
            let mut index = self.index.lock().expect("dedup index lock");
            for entry in batch.admitted.iter().rev() {
                index.undo(entry);
            }
        }
        rewind(consumer, batch.next_offsets.keys().cloned().collect()).await;
        Ok(producer)
    }
}

/// The inputs of one transaction.
#[derive(Default)]
struct Batch {
    deliveries: Vec<(Tp, i64, String, rdkafka::producer::DeliveryFuture)>,
    /// Topic and status label of every record sent in the transaction.
    written: Vec<(String, &'static str)>,
    failures: Vec<(Tp, i64, String, KafkaError)>,
    inputs: Vec<Handled>,
    next_offsets: BTreeMap<Tp, i64>,
    admitted: Vec<Entry>,
}

impl Batch {
    fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    fn add(&mut self, mut handled: Handled) {
        self.next_offsets
            .insert(handled.tp.clone(), handled.source.offset + 1);
        if let Some(e) = handled.admitted.take() {
            self.admitted.push(e);
        }
        self.inputs.push(handled);
    }
}

/// Seek every partition of `tps` we still own back to its committed offset.
async fn rewind(consumer: &Arc<Consumer_>, tps: BTreeSet<Tp>) {
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

fn assignment_changed(
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
fn forget_revoked(
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

fn store_offsets(consumer: &Arc<Consumer_>, tracker: &mut OffsetTracker) {
    let offsets = tracker.committable();
    if offsets.is_empty() {
        return;
    }
    let mut tpl = TopicPartitionList::new();
    for ((topic, partition), next) in &offsets {
        if tpl
            .add_partition_offset(topic, *partition, Offset::Offset(*next))
            .is_err()
        {
            continue;
        }
    }
    // A partition revoked meanwhile fails to store; its new owner reprocesses from the last
    // commit, which is what at-least-once allows.
    if let Err(e) = consumer.store_offsets(&tpl) {
        tracing::debug!(error = %e, "Some offsets not stored (partitions revoked).");
    }
}

/// Enqueue `record`, waiting while the producer queue is full (backpressure, not failure).
async fn enqueue(
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

/// Send every record and wait for all acknowledgements.
fn send_all(
    producer: Producer_,
    records: Vec<OutRecord>,
    handled: Handled,
    backoff: Duration,
) -> futures::future::BoxFuture<'static, Acked> {
    Box::pin(async move {
        if !backoff.is_zero() {
            tokio::time::sleep(backoff).await;
        }
        let mut pending = Vec::with_capacity(records.len());
        let mut failures = Vec::new();
        let mut delivered = Vec::with_capacity(records.len());
        for record in records {
            match enqueue(&producer, &record).await {
                Ok(f) => pending.push((record, f)),
                Err(e) => failures.push((record, e)),
            }
        }
        for (record, f) in pending {
            match f.await {
                Ok(Ok(_)) => delivered.push((record.topic, record.status)),
                Ok(Err((e, _))) => failures.push((record, e)),
                Err(_) => failures.push((record, KafkaError::Canceled)),
            }
        }
        Acked {
            handled,
            delivered,
            failures,
        }
    })
}

/// Errors no retry will fix: the record or the topic is wrong for this broker.
fn is_permanent(error: &KafkaError) -> bool {
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

fn error_label(error: &KafkaError) -> String {
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
    let owned: Vec<Tp> = consumer
        .context()
        .assignment
        .lock()
        .expect("assignment lock")
        .owned
        .iter()
        .cloned()
        .collect();
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
