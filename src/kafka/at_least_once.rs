//! At-least-once: an input offset is stored (and then auto-committed) only after the broker
//! acknowledged every record that input caused. Acknowledgements arrive out of order; the
//! [`OffsetTracker`] stores only below the lowest input still pending in each partition.
//!
//! One `select!` loop owns the consumer: it receives records and hands them to the stage
//! threads, takes their results back in consumption order for the dedup decision, sends the
//! records, and settles acknowledgements (done, retry, dead-letter, or stop).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{FuturesOrdered, FuturesUnordered};
use futures::StreamExt;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use super::offsets::OffsetTracker;
use super::records::{dead_letter, OutRecord};
use super::service::{
    enqueue, error_label, forget_revoked, is_permanent, Consumer_, Handled, Outcome, Producer_,
    RunOptions, RunSummary, Service, ServiceError, StagedFuture,
};
use crate::config::Delivery;
use crate::error::Rejection;

/// The acknowledgement of one input record's outputs.
struct Acked {
    handled: Handled,
    /// Topic and status label of every record the broker acknowledged.
    delivered: Vec<(String, &'static str)>,
    failures: Vec<(OutRecord, KafkaError)>,
}

type AckFuture = futures::future::BoxFuture<'static, Acked>;

impl Service {
    pub(super) async fn at_least_once(
        &self,
        consumer: &Arc<Consumer_>,
        shutdown: &CancellationToken,
        options: &RunOptions,
    ) -> Result<RunSummary, ServiceError> {
        let producer = self.producer(None)?;
        self.warm_up(&producer).await;
        let mut summary = RunSummary::default();
        let mut tracker = OffsetTracker::default();
        let mut staged: FuturesOrdered<StagedFuture> = FuturesOrdered::new();
        let mut in_flight: FuturesUnordered<AckFuture> = FuturesUnordered::new();
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
            let room = staged.len() < options.max_staged
                && staged.len() + in_flight.len() < options.max_in_flight;
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                Some(acked) = in_flight.next(), if !in_flight.is_empty() => {
                    if let Err(e) = self.on_acked(acked, &producer, &mut in_flight, &mut tracker) {
                        fatal = Some(e);
                        break;
                    }
                }
                Some(result) = staged.next(), if !staged.is_empty() => {
                    match result {
                        Ok(s) => self.send(s, &producer, &mut in_flight, &mut summary),
                        Err(e) => {
                            fatal = Some(e);
                            break;
                        }
                    }
                }
                msg = consumer.recv(), if room => {
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
                    let room = options.room(staged.len(), in_flight.len());
                    self.take_ready(consumer, &mut inputs, room);
                    for input in &inputs {
                        tracker.begin(input.tp(), input.offset());
                    }
                    self.metrics.in_flight.set(tracker.pending() as i64);
                    staged.extend(self.stage_all(inputs));
                }
                _ = tick.tick() => {
                    store_offsets(consumer, &mut tracker);
                    if let Some(idle) = options.exit_when_idle {
                        if in_flight.is_empty()
                            && staged.is_empty()
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

        // Drain: finish what is staged and in flight within the grace period; what does not
        // finish is not committed and will be consumed again.
        let grace = Duration::from_secs(self.config.shutdown.grace_period_secs);
        let deadline = tokio::time::Instant::now() + grace;
        while (!in_flight.is_empty() || !staged.is_empty()) && fatal.is_none() {
            let next = async {
                tokio::select! {
                    Some(acked) = in_flight.next(), if !in_flight.is_empty() => Some(Ok(acked)),
                    Some(result) = staged.next(), if !staged.is_empty() => Some(Err(result)),
                    else => None,
                }
            };
            match tokio::time::timeout_at(deadline, next).await {
                Ok(Some(Ok(acked))) => {
                    if let Err(e) = self.on_acked(acked, &producer, &mut in_flight, &mut tracker) {
                        fatal = Some(e);
                    }
                }
                Ok(Some(Err(Ok(s)))) => self.send(s, &producer, &mut in_flight, &mut summary),
                Ok(Some(Err(Err(e)))) => fatal = Some(e),
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

    /// Decide about a staged input and send its records.
    fn send(
        &self,
        staged: super::service::Staged,
        producer: &Producer_,
        in_flight: &mut FuturesUnordered<AckFuture>,
        summary: &mut RunSummary,
    ) {
        let mut handled = self.decide(staged);
        self.count(summary, &handled);
        let records = std::mem::take(&mut handled.records);
        in_flight.push(send_all(producer.clone(), records, handled, Duration::ZERO));
    }

    /// Settle one input's acknowledgement: done, retry, dead-letter, or fatal.
    fn on_acked(
        &self,
        acked: Acked,
        producer: &Producer_,
        in_flight: &mut FuturesUnordered<AckFuture>,
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
            self.published(&handled, Delivery::AtLeastOnce);
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
            let rejection = Rejection {
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

/// Send every record and wait for all acknowledgements.
fn send_all(
    producer: Producer_,
    records: Vec<OutRecord>,
    handled: Handled,
    backoff: Duration,
) -> AckFuture {
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
