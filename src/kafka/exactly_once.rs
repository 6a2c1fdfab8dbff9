//! Exactly-once: consume-transform-produce in Kafka transactions. The outputs of a batch of
//! inputs and the inputs' next offsets (with the consumer group metadata, KIP-447) commit
//! together; `read_committed` readers see each input's outputs once.
//!
//! While a transaction commits, the loop keeps consuming and the stage threads keep
//! preparing the next records; only the dedup decisions and sends wait for the commit, so an
//! abort can still undo exactly the admissions of the aborted batch. An abortable error
//! aborts, undoes those admissions, drops what was staged and rewinds every owned partition to
//! its committed offset; a fatal one recreates the producer.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::FuturesOrdered;
use futures::StreamExt;
use rdkafka::consumer::Consumer;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::Producer;
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use super::client;
use super::offsets::Tp;
use super::service::{
    assignment_changed, enqueue, error_label, is_permanent, owned_partitions, rewind, Consumer_,
    Handled, Producer_, RunOptions, RunSummary, Service, ServiceError, Staged, StagedFuture,
};
use crate::config::Delivery;
use crate::dedup::Entry;

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

/// A commit under way: its batch comes back with the outcome.
type Commit<'a> = Pin<
    Box<dyn Future<Output = (Batch, Result<Result<(), KafkaError>, ServiceError>)> + Send + 'a>,
>;

impl Service {
    pub(super) async fn exactly_once(
        &self,
        consumer: &Arc<Consumer_>,
        shutdown: &CancellationToken,
        options: &RunOptions,
    ) -> Result<RunSummary, ServiceError> {
        let options = &options.for_transactions();
        let txn_id = client::transactional_id(&self.config.kafka);
        let mut producer = self.transactional_producer(&txn_id).await?;
        let mut summary = RunSummary::default();
        let mut last_record = Instant::now();
        let assignment = consumer.context().assignment.clone();
        let mut seen_generation = 0;
        let mut staged: FuturesOrdered<StagedFuture> = FuturesOrdered::new();
        let mut batch = Batch::default();
        let mut commit_by: Option<tokio::time::Instant> = None;
        let mut committing: Option<Commit<'_>> = None;
        let mut idle_tick = tokio::time::interval(Duration::from_millis(500));

        loop {
            self.health.beat();
            if assignment_changed(&assignment, &mut seen_generation) {
                last_record = Instant::now();
            }
            let stopping = shutdown.is_cancelled();
            // Start the commit once the batch is full, due, or the service is stopping.
            if committing.is_none()
                && !batch.is_empty()
                && (stopping
                    || batch.inputs.len() >= options.max_batch
                    || commit_by.is_some_and(|d| d <= tokio::time::Instant::now()))
            {
                let taken = std::mem::take(&mut batch);
                commit_by = None;
                committing = Some(Box::pin(self.settle_and_commit(
                    producer.clone(),
                    consumer.clone(),
                    taken,
                )));
            }
            if stopping && committing.is_none() {
                // What was staged but not sent is not committed: consumed again later.
                break;
            }
            let room = staged.len() < options.max_staged
                && staged.len() + batch.inputs.len() < options.max_in_flight;
            let due = async {
                match commit_by {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                (done, outcome) = async { committing.as_mut().expect("guarded").await }, if committing.is_some() => {
                    committing = None;
                    let outcome = outcome?;
                    match outcome {
                        Ok(()) => self.committed(&done, &mut summary),
                        Err(e) => {
                            summary.transactions_aborted += 1;
                            // Everything consumed after the last commit is in `done` or staged:
                            // drop the staged part and re-read it from the committed offsets.
                            staged = FuturesOrdered::new();
                            producer = self.recover(e, producer, consumer, &done, &txn_id).await?;
                        }
                    }
                }
                _ = shutdown.cancelled(), if !stopping => {}
                _ = due, if committing.is_none() && commit_by.is_some() => {}
                Some(result) = staged.next(), if committing.is_none() && !staged.is_empty() => {
                    let staged_input = result?;
                    if batch.is_empty() {
                        if let Err(e) = producer.begin_transaction() {
                            // Nothing of this input was sent: it is re-read after the rewind.
                            staged = FuturesOrdered::new();
                            producer = self.recover(e, producer, consumer, &batch, &txn_id).await?;
                            continue;
                        }
                        commit_by = Some(tokio::time::Instant::now() + options.commit_interval);
                    }
                    self.send_in_transaction(staged_input, &producer, &mut batch).await;
                }
                msg = consumer.recv(), if room && !stopping => {
                    let msg = match msg {
                        Ok(m) => m,
                        Err(e) => {
                            tracing::warn!(error = %e, "Consumer error.");
                            continue;
                        }
                    };
                    last_record = Instant::now();
                    let mut inputs = vec![self.take(&msg)];
                    drop(msg);
                    let room = options.room(staged.len(), batch.inputs.len());
                    self.take_ready(consumer, &mut inputs, room);
                    staged.extend(self.stage_all(inputs));
                    self.metrics
                        .in_flight
                        .set((staged.len() + batch.inputs.len()) as i64);
                }
                _ = idle_tick.tick() => {
                    if let Some(idle) = options.exit_when_idle {
                        if batch.is_empty()
                            && staged.is_empty()
                            && committing.is_none()
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
        self.metrics.in_flight.set(0);
        Ok(summary)
    }

    /// Decide about one input and send its records in the open transaction.
    async fn send_in_transaction(&self, staged: Staged, producer: &Producer_, batch: &mut Batch) {
        let mut handled = self.decide(staged);
        let records = std::mem::take(&mut handled.records);
        for record in &records {
            match enqueue(producer, record).await {
                Ok(f) => {
                    batch.written.push((record.topic.clone(), record.status));
                    batch.deliveries.push((
                        handled.tp.clone(),
                        handled.source.offset,
                        record.topic.clone(),
                        f,
                    ));
                }
                Err(e) => batch.failures.push((
                    handled.tp.clone(),
                    handled.source.offset,
                    record.topic.clone(),
                    e,
                )),
            }
        }
        batch.add(handled);
    }

    /// A batch is durable: count it.
    fn committed(&self, batch: &Batch, summary: &mut RunSummary) {
        self.metrics.transaction_finished(true, batch.inputs.len());
        for (topic, status) in &batch.written {
            self.metrics.record_delivered(topic, status);
        }
        summary.transactions_committed += 1;
        summary.records_published += batch.written.len() as u64;
        for handled in &batch.inputs {
            self.count(summary, handled);
            self.published(handled, Delivery::ExactlyOnce);
        }
    }

    /// Wait for the batch's deliveries, then commit its offsets and the transaction.
    async fn settle_and_commit(
        &self,
        producer: Producer_,
        consumer: Arc<Consumer_>,
        mut batch: Batch,
    ) -> (Batch, Result<Result<(), KafkaError>, ServiceError>) {
        let outcome = match self.settle_deliveries(&mut batch).await {
            Ok(Ok(())) => Ok(commit_batch(&producer, &consumer, &batch).await),
            other => other,
        };
        (batch, outcome)
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
        self.warm_up(&producer).await;
        tracing::info!(transactional_id = txn_id, "Transactional producer ready.");
        Ok(producer)
    }

    /// After a failed transaction: abort it (or recreate the producer when the error is
    /// fatal), undo the batch's dedup admissions and rewind every owned partition to its
    /// committed offset.
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
        // Staged inputs of partitions outside the batch were dropped too: rewind them all.
        let mut tps: BTreeSet<Tp> = owned_partitions(consumer);
        tps.extend(batch.next_offsets.keys().cloned());
        rewind(consumer, tps).await;
        Ok(producer)
    }
}

async fn commit_batch(
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
