//! One registry, owned here, and one method per event: every metric and its log line are
//! defined once, so names and labels stay consistent. Counters end in `_total`, durations in
//! `_seconds`; labels take few values (no story ids, no country lists).

use prometheus::{
    Encoder, Gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec,
    IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::model::DedupStatus;

const NAMESPACE: &str = "wirefeed";

/// Every metric wirefeed exports. Cheap to clone handles live inside; share it with `Arc`.
pub struct Metrics {
    registry: Registry,
    pub stories_consumed: IntCounterVec,
    pub stories_published: IntCounterVec,
    pub records_published: IntCounterVec,
    pub duplicates: IntCounterVec,
    pub duplicates_dropped: IntCounter,
    pub updates: IntCounter,
    pub dead_letters: IntCounterVec,
    pub delivery_failures: IntCounterVec,
    pub stage_duration: HistogramVec,
    pub end_to_end_latency: HistogramVec,
    pub consumer_lag: IntGaugeVec,
    pub in_flight: IntGauge,
    pub dedup_index_entries: IntGauge,
    pub dedup_changelog_applied: IntCounter,
    pub dedup_changelog_skipped: IntCounterVec,
    pub dedup_changelog_lag: IntGauge,
    pub dedup_restore_seconds: Gauge,
    pub dedup_restored_entries: IntGauge,
    pub dedup_relabels: IntCounter,
    pub transactions: IntCounterVec,
    pub rebalances: IntCounterVec,
    pub assigned_partitions: IntGauge,
    pub broker_rtt: GaugeVec,
    pub client_bytes: IntGaugeVec,
    pub producer_queue_messages: IntGauge,
    pub build_info: GaugeVec,
    pub ready: Gauge,
    /// Children of the vectors above that every story touches, looked up once: a lookup by
    /// label values hashes the labels and takes a lock, several times per story.
    per_story: PerStory,
}

/// Metric children resolved at start for label values known in advance.
struct PerStory {
    /// decode, normalise, tag, dedup.
    stage_duration: [Histogram; 4],
    /// By [`DedupStatus`]: unique, duplicate, update.
    stories_published: [IntCounter; 3],
    exact_duplicates: IntCounter,
    near_duplicates: IntCounter,
    at_least_once_latency: Histogram,
    exactly_once_latency: Histogram,
}

const STAGES: [&str; 4] = ["decode", "normalise", "tag", "dedup"];

fn status_slot(status: DedupStatus) -> usize {
    match status {
        DedupStatus::Unique => 0,
        DedupStatus::Duplicate => 1,
        DedupStatus::Update => 2,
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help).namespace(NAMESPACE), labels)
                .expect("valid metric");
            registry
                .register(Box::new(c.clone()))
                .expect("unique metric");
            c
        };
        let stories_consumed = counter_vec(
            "stories_consumed_total",
            "Input records consumed, by input topic.",
            &["topic"],
        );
        let stories_published = counter_vec(
            "stories_published_total",
            "Input stories whose outputs the broker acknowledged, by dedup status.",
            &["status"],
        );
        let records_published = counter_vec(
            "records_published_total",
            "Output records acknowledged by the broker, by output topic and dedup status.",
            &["topic", "status"],
        );
        let duplicates = counter_vec(
            "duplicates_total",
            "Stories recognised as duplicates, by kind (exact, near).",
            &["kind"],
        );
        let dead_letters = counter_vec(
            "dead_letters_total",
            "Input records sent to the dead-letter topic, by reason.",
            &["reason"],
        );
        let delivery_failures = counter_vec(
            "delivery_failures_total",
            "Output records the broker refused or that timed out, by error.",
            &["error"],
        );
        let transactions = counter_vec(
            "transactions_total",
            "Kafka transactions in exactly-once mode, by outcome (committed, aborted).",
            &["outcome"],
        );
        let rebalances = counter_vec(
            "rebalances_total",
            "Consumer group rebalance events, by kind (assign, revoke, error).",
            &["kind"],
        );
        let dedup_changelog_skipped = counter_vec(
            "dedup_changelog_skipped_total",
            "Changelog records not applied to the dedup index, by reason (own, expired, known, undecodable, lost-race).",
            &["reason"],
        );
        let counter = |name: &str, help: &str| {
            let c = IntCounter::with_opts(Opts::new(name, help).namespace(NAMESPACE))
                .expect("valid metric");
            registry
                .register(Box::new(c.clone()))
                .expect("unique metric");
            c
        };
        let dedup_changelog_applied = counter(
            "dedup_changelog_applied_total",
            "Changelog entries of other replicas applied to the dedup index after the restore.",
        );
        let dedup_relabels = counter(
            "dedup_relabels_total",
            "Stories published as unique, then re-labelled as duplicates because another replica admitted an earlier copy at the same moment.",
        );
        let duplicates_dropped = IntCounter::with_opts(
            Opts::new(
                "duplicates_dropped_total",
                "Duplicates dropped because output.duplicates_topic is empty.",
            )
            .namespace(NAMESPACE),
        )
        .expect("valid metric");
        registry
            .register(Box::new(duplicates_dropped.clone()))
            .expect("unique metric");
        let updates = IntCounter::with_opts(
            Opts::new(
                "updates_total",
                "Stories recognised as updates of a known story.",
            )
            .namespace(NAMESPACE),
        )
        .expect("valid metric");
        registry
            .register(Box::new(updates.clone()))
            .expect("unique metric");
        let stage_duration = HistogramVec::new(
            HistogramOpts::new(
                "stage_duration_seconds",
                "Time spent in each stage per story.",
            )
            .namespace(NAMESPACE)
            .buckets(vec![
                1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 1e-2,
            ]),
            &["stage"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(stage_duration.clone()))
            .expect("unique metric");
        let end_to_end_latency = HistogramVec::new(
            HistogramOpts::new(
                "end_to_end_latency_seconds",
                "Broker acknowledgement of a story's outputs minus the input record's timestamp.",
            )
            .namespace(NAMESPACE)
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0,
            ]),
            &["delivery"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(end_to_end_latency.clone()))
            .expect("unique metric");
        let consumer_lag = IntGaugeVec::new(
            Opts::new(
                "consumer_lag_messages",
                "High watermark minus the next offset to process, per assigned input partition.",
            )
            .namespace(NAMESPACE),
            &["topic", "partition"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(consumer_lag.clone()))
            .expect("unique metric");
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::with_opts(Opts::new(name, help).namespace(NAMESPACE))
                .expect("valid metric");
            registry
                .register(Box::new(g.clone()))
                .expect("unique metric");
            g
        };
        let in_flight = gauge(
            "in_flight_stories",
            "Input records consumed whose outputs are not yet acknowledged.",
        );
        let dedup_index_entries = gauge(
            "dedup_index_entries",
            "Fingerprints held by the dedup index.",
        );
        let dedup_changelog_lag = gauge(
            "dedup_changelog_lag_messages",
            "Changelog records not yet read by this replica (high watermarks minus positions).",
        );
        let dedup_restored_entries = gauge(
            "dedup_restored_entries",
            "Entries the last restore from the changelog loaded into the dedup index.",
        );
        let dedup_restore_seconds = Gauge::with_opts(
            Opts::new(
                "dedup_restore_seconds",
                "Duration of the last restore of the dedup index from the changelog.",
            )
            .namespace(NAMESPACE),
        )
        .expect("valid metric");
        registry
            .register(Box::new(dedup_restore_seconds.clone()))
            .expect("unique metric");
        let assigned_partitions = gauge(
            "assigned_partitions",
            "Input partitions currently assigned to this instance.",
        );
        let producer_queue_messages = gauge(
            "producer_queue_messages",
            "Messages waiting in the producer's queue (librdkafka msg_cnt).",
        );
        let broker_rtt = GaugeVec::new(
            Opts::new(
                "broker_rtt_seconds",
                "Average broker round-trip time reported by librdkafka, by client and broker.",
            )
            .namespace(NAMESPACE),
            &["client", "broker"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(broker_rtt.clone()))
            .expect("unique metric");
        let client_bytes = IntGaugeVec::new(
            Opts::new(
                "client_bytes",
                "Bytes sent (tx) and received (rx) by the Kafka client since start.",
            )
            .namespace(NAMESPACE),
            &["client", "direction"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(client_bytes.clone()))
            .expect("unique metric");
        let build_info = GaugeVec::new(
            Opts::new("build_info", "Always 1; labels carry the build.").namespace(NAMESPACE),
            &["version"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(build_info.clone()))
            .expect("unique metric");
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1.0);
        let ready = Gauge::with_opts(
            Opts::new("ready", "1 while /readyz answers 200.").namespace(NAMESPACE),
        )
        .expect("valid metric");
        registry
            .register(Box::new(ready.clone()))
            .expect("unique metric");
        #[cfg(target_os = "linux")]
        {
            let _ = registry.register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ));
        }
        let per_story = PerStory {
            stage_duration: STAGES.map(|stage| stage_duration.with_label_values(&[stage])),
            stories_published: [
                DedupStatus::Unique,
                DedupStatus::Duplicate,
                DedupStatus::Update,
            ]
            .map(|s| stories_published.with_label_values(&[s.as_str()])),
            exact_duplicates: duplicates.with_label_values(&["exact"]),
            near_duplicates: duplicates.with_label_values(&["near"]),
            at_least_once_latency: end_to_end_latency.with_label_values(&["at-least-once"]),
            exactly_once_latency: end_to_end_latency.with_label_values(&["exactly-once"]),
        };
        Metrics {
            per_story,
            registry,
            stories_consumed,
            stories_published,
            records_published,
            duplicates,
            duplicates_dropped,
            updates,
            dead_letters,
            delivery_failures,
            stage_duration,
            end_to_end_latency,
            consumer_lag,
            in_flight,
            dedup_index_entries,
            dedup_changelog_applied,
            dedup_changelog_skipped,
            dedup_changelog_lag,
            dedup_restore_seconds,
            dedup_restored_entries,
            dedup_relabels,
            transactions,
            rebalances,
            assigned_partitions,
            broker_rtt,
            client_bytes,
            producer_queue_messages,
            build_info,
            ready,
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding cannot fail");
        String::from_utf8(buf).expect("prometheus text is UTF-8")
    }

    // Events: one method each, metric and log line together.

    pub fn story_consumed(&self, topic: &str) {
        self.stories_consumed.with_label_values(&[topic]).inc();
    }

    pub fn stages_timed(&self, t: &crate::pipeline::StageTimings) {
        let seconds = [t.decode, t.normalise, t.tag, t.dedup];
        for (histogram, secs) in self.per_story.stage_duration.iter().zip(seconds) {
            histogram.observe(secs);
        }
    }

    /// A story's outputs are durable: its status, and how long after its input's timestamp.
    pub fn story_published(
        &self,
        status: DedupStatus,
        exactly_once: bool,
        latency_secs: Option<f64>,
    ) {
        self.per_story.stories_published[status_slot(status)].inc();
        if let Some(secs) = latency_secs {
            let latency = match exactly_once {
                true => &self.per_story.exactly_once_latency,
                false => &self.per_story.at_least_once_latency,
            };
            latency.observe(secs);
        }
    }

    /// The input of a dead letter is durable (counted by [`Metrics::story_dead_lettered`]).
    pub fn dead_letter_published(&self, exactly_once: bool, latency_secs: Option<f64>) {
        if let Some(secs) = latency_secs {
            let latency = match exactly_once {
                true => &self.per_story.exactly_once_latency,
                false => &self.per_story.at_least_once_latency,
            };
            latency.observe(secs);
        }
    }

    pub fn story_dead_lettered(&self, kind: &str, reason: &str, origin: &str) {
        self.dead_letters.with_label_values(&[kind]).inc();
        tracing::warn!(%origin, kind, reason, "Story rejected; sent to the dead-letter topic.");
    }

    pub fn duplicate_found(&self, near: bool) {
        match near {
            true => self.per_story.near_duplicates.inc(),
            false => self.per_story.exact_duplicates.inc(),
        }
    }

    pub fn duplicate_dropped(&self) {
        self.duplicates_dropped.inc();
        tracing::debug!("Duplicate dropped: no duplicates topic configured.");
    }

    pub fn record_delivered(&self, topic: &str, status: &str) {
        self.records_published
            .with_label_values(&[topic, status])
            .inc();
    }

    pub fn delivery_failed(&self, error: &str, topic: &str, origin: &str) {
        self.delivery_failures.with_label_values(&[error]).inc();
        tracing::error!(%origin, topic, error, "Broker refused an output record.");
    }

    pub fn transaction_finished(&self, committed: bool, stories: usize) {
        let outcome = if committed { "committed" } else { "aborted" };
        self.transactions.with_label_values(&[outcome]).inc();
        if committed {
            tracing::debug!(stories, "Transaction committed.");
        } else {
            tracing::warn!(
                stories,
                "Transaction aborted; rewinding to committed offsets."
            );
        }
    }

    pub fn dedup_restored(&self, entries: usize, records: u64, secs: f64) {
        self.dedup_restored_entries.set(entries as i64);
        self.dedup_restore_seconds.set(secs);
        tracing::info!(
            entries,
            records,
            secs,
            "Dedup index restored from the changelog."
        );
    }

    pub fn changelog_skipped(&self, reason: &str) {
        self.dedup_changelog_skipped
            .with_label_values(&[reason])
            .inc();
    }

    pub fn story_relabelled(&self, id: &str, of: &str, similarity: f32) {
        self.dedup_relabels.inc();
        tracing::info!(
            id,
            of,
            similarity,
            "Story re-labelled as a duplicate: another replica admitted an earlier copy at the same moment."
        );
    }

    pub fn rebalanced(&self, kind: &str, partitions: usize) {
        self.rebalances.with_label_values(&[kind]).inc();
        tracing::info!(kind, partitions, "Consumer group rebalance.");
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
