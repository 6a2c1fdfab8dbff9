//! `wirefeed replay`: reprocess a time window of the input topics beside the live service.
//!
//! What keeps it apart from the live service:
//! - it reads with manual assignment (no subscription, never a member of the live group) and
//!   commits only to a group of its own, `<group_id>-replay-<name>`, which holds its
//!   checkpoint; the live group's offsets are never read nor written;
//! - it writes to its own topics: enriched stories to `--output-topic` (default
//!   `<output.topic>.replay`), duplicates to `<output-topic>.duplicates` (dropped when the
//!   live config drops them), dead letters to `<output-topic>.dlq`; routes are not applied.
//!   Only `--to-configured-topics` writes where the live service writes (topics and routes);
//! - its dedup index starts empty, or with `--dedup live` from the live service's dedup
//!   changelog (`[dedup_changelog]`): the entries whose story time is before `--from`, read
//!   in partition then offset order up to the watermarks at start. It only reads the
//!   changelog, never writes it, so the live service never sees the replay's admissions.
//!
//! The window is a range of offsets per partition ([`window`]): from offsets-for-times of
//! `--from` to offsets-for-times of `--to`, or to the high watermarks captured at start.
//! Input is read `read_committed`, as the live service reads it: a partition whose window
//! ends inside an open upstream transaction waits for that transaction to finish.
//!
//! Determinism: the same window and the same starting state give the same output. Records are
//! processed in a merge order that does not depend on arrival ([`merge`]), and the dedup
//! clock is the record timestamp, never the wall clock. With `--dedup live` the starting
//! state is the changelog's entries before `--from`: the live service keeps adding entries
//! with later story times, which a second run leaves out just the same, so two runs agree as
//! long as no story older than `--from` was admitted in between and the changelog's
//! retention (the dedup window, by admission time) has not dropped entries meanwhile.
//!
//! Checkpoints: in exactly-once mode (the config's `kafka.delivery`) every batch's outputs and
//! the next offsets of the replay's group go in one transaction (transactional id
//! `<group_id>-replay-<name>`); in at-least-once mode the offsets are committed after the
//! batch's deliveries are acknowledged. Each checkpoint offset carries its partition's
//! `[start, end)` as commit metadata, so a resumed replay covers the window it began with even
//! if the topic grew meanwhile. `--resume` continues from the checkpoint: it first
//! re-reads the window from its start up to the checkpoint without producing, only to rebuild
//! the dedup index, so the resumed output equals what an uninterrupted run would have written.

pub mod merge;
pub mod window;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, OwnedMessage};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde::Serialize;
use thiserror::Error;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, Delivery, OutputConfig};
use crate::dedup::DedupIndex;
use crate::kafka::client;
use crate::kafka::records::{dead_letter, story_records, OutRecord, Source, H_TRACEPARENT};
use crate::pipeline::{decide, Stages};
use merge::Merger;
use window::PartitionRange;

const TIMEOUT: Duration = Duration::from_secs(30);
/// Pause a partition's fetching above this many buffered records, resume below half of it:
/// bounds memory while another partition lags behind in the merge.
const MAX_BUFFERED: usize = 2_000;
/// A checkpoint at least this often, so that a slow (rate-limited) batch stays well within
/// the transaction timeout and an interruption loses little work.
const MAX_BATCH_AGE: Duration = Duration::from_secs(5);

/// Where the dedup index starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
pub enum DedupStart {
    /// An empty index: the window is deduplicated against itself only.
    #[default]
    Empty,
    /// The live service's index, from its changelog (`[dedup_changelog]`): the entries whose
    /// story time is before `--from`.
    Live,
}

/// Where outputs go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Enriched stories to this topic, duplicates and dead letters to `<topic>.duplicates`
    /// and `<topic>.dlq`; no routes.
    Topic(String),
    /// The configured topics and routes, as the live service writes.
    Configured,
}

/// What to replay and how.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub from: DateTime<Utc>,
    pub to: Option<DateTime<Utc>>,
    /// Empty: the configured input topics.
    pub topics: Vec<String>,
    pub destination: Destination,
    pub dry_run: bool,
    pub dedup: DedupStart,
    pub resume: bool,
    /// Identifies the checkpoint and the transactional id; derived from the window when `None`.
    pub name: Option<String>,
    /// Records per checkpoint (transaction).
    pub batch_size: usize,
    /// Stop (with a checkpoint) after this many records are processed.
    pub max_records: Option<u64>,
    /// At most this many records per second, to spare a cluster the live service runs on.
    pub max_rate: Option<u32>,
    /// Progress bar on a terminal, progress logs otherwise; off for library callers.
    pub progress: bool,
}

impl ReplayOptions {
    pub fn new(from: DateTime<Utc>) -> Self {
        ReplayOptions {
            from,
            to: None,
            topics: Vec::new(),
            destination: Destination::Configured,
            dry_run: false,
            dedup: DedupStart::Empty,
            resume: false,
            name: None,
            batch_size: 1_000,
            max_records: None,
            max_rate: None,
            progress: false,
        }
    }
}

/// Why a replay failed. Whatever was checkpointed stays valid: rerun with `--resume`.
#[derive(Debug, Error)]
pub enum ReplayError {
    #[error("{0}")]
    Invalid(String),
    #[error("--dedup live reads the live service's dedup changelog, which this configuration does not enable: set [dedup_changelog] enabled = true and its topic as the live service has them, or use --dedup empty")]
    LiveDedupUnavailable,
    #[error("cannot load the live dedup index: {0}")]
    Changelog(#[from] crate::kafka::changelog::ChangelogError),
    #[error("replay {name} already has a checkpoint (group {group}); pass --resume to continue it, or --name to start another replay")]
    CheckpointExists { name: String, group: String },
    #[error("output topics missing: {}; create them first (a replay never creates topics)", .0.join(", "))]
    MissingTopics(Vec<String>),
    #[error(transparent)]
    Window(#[from] window::WindowError),
    #[error("cannot {what}: {source}")]
    Kafka {
        what: String,
        #[source]
        source: KafkaError,
    },
    #[error("the broker refused output for {origin}: {source}; the batch was not checkpointed")]
    Delivery {
        origin: String,
        #[source]
        source: KafkaError,
    },
    #[error("cannot load the stage tables: {0}")]
    Tables(#[from] crate::error::TableError),
}

fn kafka(what: impl Into<String>) -> impl FnOnce(KafkaError) -> ReplayError {
    let what = what.into();
    move |source| ReplayError::Kafka { what, source }
}

/// What a replay did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReplaySummary {
    pub name: String,
    pub checkpoint_group: String,
    pub from: String,
    pub to: Option<String>,
    pub topics: Vec<String>,
    pub output_topics: Vec<String>,
    pub dry_run: bool,
    pub resumed: bool,
    /// Every partition range the window covers.
    pub partitions: Vec<PartitionRange>,
    /// Offsets in the window (control records of transactions included).
    pub window_offsets: i64,
    /// Records processed and published (or counted, in a dry run) by this run.
    pub consumed: u64,
    /// Records re-read before the checkpoint only to rebuild the dedup index.
    pub rebuilt: u64,
    pub by_status: BTreeMap<String, u64>,
    pub dead_letters: BTreeMap<String, u64>,
    pub records_published: u64,
    pub checkpoints_committed: u64,
    /// Entries in the dedup index at the end (rebuilt ones included).
    pub dedup_index_entries: usize,
    /// Where the dedup index started: "empty" or "live".
    pub dedup_start: String,
    /// Entries loaded from the live changelog (`--dedup live`).
    pub dedup_live_entries: usize,
    /// False when stopped early (`--max-records`, a signal): continue with `--resume`.
    pub completed: bool,
    pub duration_secs: f64,
    pub stories_per_sec: f64,
}

impl ReplaySummary {
    /// A human-readable table.
    pub fn print_table(&self, mut w: impl std::io::Write) -> std::io::Result<()> {
        let to = self.to.as_deref().unwrap_or("(high watermarks at start)");
        writeln!(w, "replay {}", self.name)?;
        writeln!(w, "  window          {} .. {}", self.from, to)?;
        writeln!(w, "  topics          {}", self.topics.join(", "))?;
        if self.dry_run {
            writeln!(w, "  output          (dry run: nothing produced)")?;
        } else {
            writeln!(w, "  output          {}", self.output_topics.join(", "))?;
        }
        writeln!(w, "  checkpoint      group {}", self.checkpoint_group)?;
        if self.dedup_start == "live" {
            writeln!(
                w,
                "  dedup           live changelog, {} entries before the window",
                self.dedup_live_entries
            )?;
        }
        writeln!(
            w,
            "  status          {}{}",
            if self.completed {
                "completed"
            } else {
                "stopped early (continue with --resume)"
            },
            if self.resumed { ", resumed" } else { "" }
        )?;
        writeln!(w, "  {:<15} {:>10}", "window offsets", self.window_offsets)?;
        if self.rebuilt > 0 {
            writeln!(w, "  {:<15} {:>10}", "rebuilt", self.rebuilt)?;
        }
        writeln!(w, "  {:<15} {:>10}", "processed", self.consumed)?;
        for (status, n) in &self.by_status {
            writeln!(w, "    {status:<13} {n:>10}")?;
        }
        for (kind, n) in &self.dead_letters {
            writeln!(w, "    {:<13} {n:>10}", format!("dlq:{kind}"))?;
        }
        writeln!(w, "  {:<15} {:>10}", "published", self.records_published)?;
        writeln!(
            w,
            "  {:<15} {:>10}",
            "checkpoints", self.checkpoints_committed
        )?;
        writeln!(w, "  {:<15} {:>10.1}", "duration (s)", self.duration_secs)?;
        writeln!(w, "  {:<15} {:>10.0}", "stories/s", self.stories_per_sec)?;
        Ok(())
    }
}

/// The default name of a replay: topics, window and output, so that two replays of the same
/// window into different topics keep separate checkpoints.
pub fn default_name(
    topics: &[String],
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
    destination: &Destination,
) -> String {
    let stamp = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let out = match destination {
        Destination::Topic(t) => t.as_str(),
        Destination::Configured => "configured",
    };
    let raw = format!(
        "{}.{}-{}.{}",
        topics.join("+"),
        stamp(from),
        to.map_or_else(|| "end".to_string(), stamp),
        out
    );
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The outputs of a replay: see the module documentation.
pub fn output_config(live: &OutputConfig, destination: &Destination) -> OutputConfig {
    match destination {
        Destination::Configured => live.clone(),
        Destination::Topic(topic) => OutputConfig {
            topic: topic.clone(),
            duplicates_topic: if live.duplicates_topic.is_empty() {
                String::new()
            } else {
                format!("{topic}.duplicates")
            },
            dead_letter_topic: format!("{topic}.dlq"),
            routes: Vec::new(),
        },
    }
}

/// Run a replay to its end (or until `shutdown`, which checkpoints and stops).
pub async fn run(
    config: Config,
    options: ReplayOptions,
    shutdown: CancellationToken,
) -> Result<ReplaySummary, ReplayError> {
    tokio::task::spawn_blocking(move || Replay::start(config, options)?.run(&shutdown))
        .await
        .map_err(|e| ReplayError::Invalid(format!("the replay task failed: {e}")))?
}

/// A replay in progress.
struct Replay {
    options: ReplayOptions,
    stages: Stages,
    index: DedupIndex,
    output: OutputConfig,
    consumer: BaseConsumer,
    producer: Option<FutureProducer>,
    transactional: bool,
    ranges: Vec<PartitionRange>,
    /// Next offset per lane already processed by an earlier run (resume).
    checkpoint: Vec<i64>,
    summary: ReplaySummary,
}

impl Replay {
    fn start(config: Config, mut options: ReplayOptions) -> Result<Self, ReplayError> {
        if options.dedup == DedupStart::Live && !config.dedup_changelog.enabled {
            return Err(ReplayError::LiveDedupUnavailable);
        }
        if let Some(to) = options.to {
            if to <= options.from {
                return Err(ReplayError::Invalid(format!(
                    "--to ({to}) must be after --from ({})",
                    options.from
                )));
            }
        }
        if config.kafka.brokers.is_empty() {
            return Err(ReplayError::Invalid(
                "kafka.brokers is empty: a replay reads a real broker".into(),
            ));
        }
        if options.topics.is_empty() {
            options.topics = config.kafka.input_topics.clone();
        }
        options.batch_size = options.batch_size.max(1);
        let output = output_config(&config.output, &options.destination);
        let live_outputs = config.output.topics();
        if let Destination::Topic(t) = &options.destination {
            if live_outputs.contains(t) || config.kafka.input_topics.contains(t) {
                return Err(ReplayError::Invalid(format!(
                    "--output-topic {t} is a topic of the live service; pass --to-configured-topics to write there on purpose"
                )));
            }
        }
        let name = options.name.clone().unwrap_or_else(|| {
            default_name(
                &options.topics,
                options.from,
                options.to,
                &options.destination,
            )
        });
        let group = format!("{}-replay-{name}", config.kafka.group_id);

        let consumer: BaseConsumer = client::consumer(&config.kafka)
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true")
            .set("auto.offset.reset", "earliest")
            .create()
            .map_err(kafka("create the consumer"))?;
        let mut ranges = window::plan(&consumer, &options.topics, options.from, options.to)?;

        let transactional = config.kafka.delivery == Delivery::ExactlyOnce;
        let producer = if options.dry_run {
            None
        } else {
            let missing: Vec<String> = output
                .topics()
                .into_iter()
                .filter(|t| window::partitions(&consumer, t).is_err())
                .collect();
            if !missing.is_empty() {
                return Err(ReplayError::MissingTopics(missing));
            }
            let txn_id = transactional.then_some(group.as_str());
            let producer: FutureProducer = client::producer(&config.kafka, txn_id)
                .create()
                .map_err(kafka("create the producer"))?;
            if transactional {
                // Fences an earlier run of the same replay and aborts its open transaction,
                // before its checkpoint is read.
                producer
                    .init_transactions(TIMEOUT)
                    .map_err(kafka(format!("init transactions as {group}")))?;
            }
            Some(producer)
        };

        let committed = if options.dry_run && !options.resume {
            vec![None; ranges.len()]
        } else {
            committed_offsets(&consumer, &ranges)?
        };
        if !options.resume && !options.dry_run && committed.iter().any(Option::is_some) {
            return Err(ReplayError::CheckpointExists { name, group });
        }
        if options.resume {
            for (r, c) in ranges.iter_mut().zip(&committed) {
                if let Some((start, end)) = c.and_then(|c| c.range) {
                    r.start = start;
                    r.end = end;
                }
            }
        }
        let checkpoint = ranges
            .iter()
            .zip(&committed)
            .map(|(r, c)| c.map_or(r.start, |c| c.next).clamp(r.start, r.end))
            .collect();

        let mut summary = ReplaySummary {
            name,
            checkpoint_group: group,
            from: options.from.to_rfc3339(),
            to: options.to.map(|t| t.to_rfc3339()),
            topics: options.topics.clone(),
            output_topics: output.topics(),
            dry_run: options.dry_run,
            resumed: options.resume && committed.iter().any(Option::is_some),
            window_offsets: ranges.iter().map(PartitionRange::len).sum(),
            partitions: ranges.clone(),
            dedup_start: match options.dedup {
                DedupStart::Empty => "empty".into(),
                DedupStart::Live => "live".into(),
            },
            ..ReplaySummary::default()
        };
        let mut index = DedupIndex::new(&config.dedup);
        if options.dedup == DedupStart::Live {
            let changelog = crate::kafka::changelog::Changelog::new(&config);
            let stats = changelog.load_before(
                &mut index,
                options.from.timestamp(),
                &CancellationToken::new(),
            )?;
            tracing::info!(
                topic = changelog.topic(),
                entries = stats.entries,
                records = stats.records,
                secs = stats.seconds,
                "Dedup index loaded from the live changelog (story times before --from)."
            );
            summary.dedup_live_entries = stats.entries;
        }
        Ok(Replay {
            stages: Stages::new(config.stages())?,
            index,
            options,
            output,
            consumer,
            producer,
            transactional,
            ranges,
            checkpoint,
            summary,
        })
    }

    fn run(mut self, shutdown: &CancellationToken) -> Result<ReplaySummary, ReplayError> {
        let started = Instant::now();
        let result = self.replay(shutdown, started);
        if result.is_err() {
            if let (Some(p), true) = (&self.producer, self.transactional) {
                let _ = p.abort_transaction(TIMEOUT);
            }
        }
        result?;
        self.summary.dedup_index_entries = self.index.len();
        let secs = started.elapsed().as_secs_f64();
        self.summary.duration_secs = secs;
        self.summary.stories_per_sec = if secs > 0.0 {
            self.summary.consumed as f64 / secs
        } else {
            0.0
        };
        Ok(self.summary)
    }

    fn replay(
        &mut self,
        shutdown: &CancellationToken,
        started: Instant,
    ) -> Result<(), ReplayError> {
        let already_done = self
            .ranges
            .iter()
            .zip(&self.checkpoint)
            .all(|(r, c)| *c >= r.end);
        if already_done {
            tracing::info!(name = %self.summary.name, "Nothing left to replay in the window.");
            self.summary.completed = true;
            return Ok(());
        }
        let mut assignment = TopicPartitionList::new();
        for r in self.ranges.iter().filter(|r| !r.is_empty()) {
            assignment
                .add_partition_offset(&r.topic, r.partition, Offset::Offset(r.start))
                .map_err(kafka("build the assignment"))?;
        }
        self.consumer
            .assign(&assignment)
            .map_err(kafka("assign the window's partitions"))?;
        let mut merger: Merger<OwnedMessage> =
            Merger::new(self.ranges.iter().map(|r| (r.start, r.end)));
        let mut paused = vec![false; self.ranges.len()];
        let mut batch = Batch::fresh(self.ranges.len());
        let remaining: i64 = self
            .ranges
            .iter()
            .zip(&self.checkpoint)
            .map(|(r, c)| (r.end - c).max(0))
            .sum();
        let to_rebuild: i64 = self
            .ranges
            .iter()
            .zip(&self.checkpoint)
            .map(|(r, c)| (c - r.start).max(0))
            .sum();
        if to_rebuild > 0 {
            tracing::info!(
                name = %self.summary.name,
                records = to_rebuild,
                "Resuming: re-reading the window up to the checkpoint to rebuild the dedup index."
            );
        }
        let mut progress = Progress::new(self.options.progress, remaining as u64);
        let rate_started = Instant::now();
        let mut stopped_early = false;

        'replay: loop {
            while let Some((lane, offset, msg)) = merger.pop() {
                if offset < self.checkpoint[lane] {
                    self.rebuild(&msg);
                    continue;
                }
                self.process(lane, &msg, &mut batch)?;
                progress.tick(self.summary.consumed);
                if batch.inputs >= self.options.batch_size
                    || batch.started.is_some_and(|t| t.elapsed() >= MAX_BATCH_AGE)
                {
                    self.checkpoint_batch(&mut batch, &merger)?;
                }
                if self
                    .options
                    .max_records
                    .is_some_and(|max| self.summary.consumed >= max)
                {
                    stopped_early = true;
                    break 'replay;
                }
                if shutdown.is_cancelled() {
                    break;
                }
                if let Some(rate) = self.options.max_rate.filter(|r| *r > 0) {
                    let due = Duration::from_secs_f64(self.summary.consumed as f64 / rate as f64);
                    if let Some(wait) = due.checked_sub(rate_started.elapsed()) {
                        std::thread::sleep(wait);
                    }
                }
            }
            if merger.is_done() {
                break;
            }
            if shutdown.is_cancelled() {
                tracing::info!("Interrupted; checkpointing what was processed.");
                stopped_early = true;
                break;
            }
            self.flow_control(&merger, &mut paused);
            match self.consumer.poll(Duration::from_millis(100)) {
                None => {}
                Some(Ok(m)) => {
                    if let Some(lane) = self.lane_of(m.topic(), m.partition()) {
                        let ts = m.timestamp().to_millis().unwrap_or(-1);
                        let offset = m.offset();
                        merger.push(lane, ts, offset, m.detach());
                    }
                }
                Some(Err(KafkaError::PartitionEOF(_))) => self.finish_reached(&mut merger)?,
                Some(Err(e)) => tracing::warn!(error = %e, "Consumer error."),
            }
        }
        self.checkpoint_batch(&mut batch, &merger)?;
        progress.finish(self.summary.consumed);
        // Events still queued (end-of-partition of the last fetches) would otherwise be
        // reported as global errors when the consumer closes.
        let _ = self.consumer.unassign();
        for _ in 0..10_000 {
            if self.consumer.poll(Duration::ZERO).is_none() {
                break;
            }
        }
        self.summary.completed = !stopped_early;
        tracing::info!(
            name = %self.summary.name,
            processed = self.summary.consumed,
            secs = started.elapsed().as_secs_f64(),
            completed = self.summary.completed,
            "Replay finished."
        );
        Ok(())
    }

    fn lane_of(&self, topic: &str, partition: i32) -> Option<usize> {
        self.ranges
            .iter()
            .position(|r| r.partition == partition && r.topic == topic)
    }

    /// Pause partitions far ahead in the merge (and finished ones), resume drained ones.
    fn flow_control(&self, merger: &Merger<OwnedMessage>, paused: &mut [bool]) {
        for (lane, r) in self.ranges.iter().enumerate() {
            if r.is_empty() {
                continue;
            }
            let buffered = merger.buffered(lane);
            let should_pause = merger.is_lane_finished(lane) || buffered >= MAX_BUFFERED;
            let should_resume = !merger.is_lane_finished(lane) && buffered < MAX_BUFFERED / 2;
            if (should_pause && !paused[lane]) || (should_resume && paused[lane]) {
                let mut tpl = TopicPartitionList::new();
                tpl.add_partition(&r.topic, r.partition);
                let done = if should_pause {
                    self.consumer.pause(&tpl)
                } else {
                    self.consumer.resume(&tpl)
                };
                if done.is_ok() {
                    paused[lane] = should_pause;
                }
            }
        }
    }

    /// At a partition's end of log: finish every lane whose position reached its end offset
    /// (the last offsets may be transaction markers, which are never delivered).
    fn finish_reached(&self, merger: &mut Merger<OwnedMessage>) -> Result<(), ReplayError> {
        let positions = self
            .consumer
            .position()
            .map_err(kafka("read the consumer positions"))?;
        for (lane, r) in self.ranges.iter().enumerate() {
            if merger.is_lane_finished(lane) {
                continue;
            }
            let pos = positions
                .find_partition(&r.topic, r.partition)
                .and_then(|e| match e.offset() {
                    Offset::Offset(o) => Some(o),
                    _ => None,
                });
            if pos.is_some_and(|p| p >= r.end) {
                merger.finish(lane);
            }
        }
        Ok(())
    }

    fn source(msg: &OwnedMessage) -> Source {
        let traceparent = msg.headers().and_then(|hs| {
            hs.iter()
                .find(|h| h.key == H_TRACEPARENT)
                .and_then(|h| h.value.map(<[u8]>::to_vec))
        });
        Source {
            topic: msg.topic().to_string(),
            partition: msg.partition(),
            offset: msg.offset(),
            timestamp_ms: msg.timestamp().to_millis(),
            traceparent,
        }
    }

    /// The dedup clock of a record: its timestamp (the epoch when it has none), never now.
    fn received_at(timestamp_ms: Option<i64>) -> DateTime<Utc> {
        timestamp_ms
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
            .unwrap_or(DateTime::UNIX_EPOCH)
    }

    /// Replay a record processed by an earlier run into the dedup index only.
    fn rebuild(&mut self, msg: &OwnedMessage) {
        self.summary.rebuilt += 1;
        if let Ok(prepared) = self.stages.prepare(msg.payload().unwrap_or_default()) {
            let at = Self::received_at(msg.timestamp().to_millis());
            decide(&mut self.index, prepared, at);
        }
    }

    fn process(
        &mut self,
        lane: usize,
        msg: &OwnedMessage,
        batch: &mut Batch,
    ) -> Result<(), ReplayError> {
        let source = Self::source(msg);
        let payload = msg.payload().unwrap_or_default();
        let _span = crate::telemetry::story_span(&source).entered();
        let records = match self.stages.prepare(payload) {
            Ok(prepared) => {
                let at = Self::received_at(source.timestamp_ms);
                let (story, _, _) = decide(&mut self.index, prepared, at);
                crate::telemetry::record_story(&story);
                *self
                    .summary
                    .by_status
                    .entry(story.dedup.status.as_str().into())
                    .or_default() += 1;
                story_records(&story, &self.output, &source)
            }
            Err(rejection) => {
                crate::telemetry::record_rejection(&rejection);
                *self
                    .summary
                    .dead_letters
                    .entry(rejection.kind.into())
                    .or_default() += 1;
                vec![dead_letter(
                    payload,
                    msg.key(),
                    &rejection,
                    &self.output,
                    &source,
                )]
            }
        };
        self.summary.consumed += 1;
        batch.inputs += 1;
        batch.started.get_or_insert_with(Instant::now);
        batch.next_offsets[lane] = Some(source.offset + 1);
        if let Some(producer) = &self.producer {
            if self.transactional && !batch.open {
                producer
                    .begin_transaction()
                    .map_err(kafka("begin a transaction"))?;
                batch.open = true;
            }
            for record in records {
                let delivery =
                    enqueue(producer, &record).map_err(|source_err| ReplayError::Delivery {
                        origin: source.origin(),
                        source: source_err,
                    })?;
                batch.deliveries.push((source.origin(), delivery));
            }
        }
        Ok(())
    }

    /// Make the batch durable: wait for its deliveries, then commit the next offsets of the
    /// replay's group (inside the transaction in exactly-once mode).
    fn checkpoint_batch(
        &mut self,
        batch: &mut Batch,
        merger: &Merger<OwnedMessage>,
    ) -> Result<(), ReplayError> {
        // Finished lanes checkpoint at their end, so transaction markers and skipped records
        // at the end of a range count as done.
        for (lane, r) in self.ranges.iter().enumerate() {
            if merger.is_lane_finished(lane) && merger.buffered(lane) == 0 && !r.is_empty() {
                let next = batch.next_offsets[lane].unwrap_or(self.checkpoint[lane]);
                if next < r.end {
                    batch.next_offsets[lane] = Some(r.end);
                }
            }
        }
        let Some(producer) = &self.producer else {
            *batch = Batch::fresh(self.ranges.len());
            return Ok(());
        };
        if batch.next_offsets.iter().all(Option::is_none) {
            return Ok(());
        }
        // Every partition of the window, each with its range: the checkpoint alone defines
        // what a resumed run covers.
        let mut tpl = TopicPartitionList::new();
        for (lane, r) in self.ranges.iter().enumerate() {
            let next = batch.next_offsets[lane].unwrap_or(self.checkpoint[lane]);
            let mut e = tpl.add_partition(&r.topic, r.partition);
            e.set_offset(Offset::Offset(next))
                .map_err(kafka("build the checkpoint"))?;
            e.set_metadata(r.to_metadata());
        }
        for (origin, delivery) in batch.deliveries.drain(..) {
            let result = futures::executor::block_on(delivery);
            match result {
                Ok(Ok(_)) => self.summary.records_published += 1,
                Ok(Err((source, _))) => return Err(ReplayError::Delivery { origin, source }),
                Err(_) => {
                    return Err(ReplayError::Delivery {
                        origin,
                        source: KafkaError::Canceled,
                    })
                }
            }
        }
        if self.transactional {
            if !batch.open {
                producer
                    .begin_transaction()
                    .map_err(kafka("begin a transaction"))?;
            }
            let metadata = self
                .consumer
                .group_metadata()
                .ok_or_else(|| ReplayError::Invalid("the consumer has no group metadata".into()))?;
            producer
                .send_offsets_to_transaction(&tpl, &metadata, TIMEOUT)
                .map_err(kafka("add the checkpoint to the transaction"))?;
            producer
                .commit_transaction(Duration::from_secs(60))
                .map_err(kafka("commit the transaction"))?;
        } else {
            self.consumer
                .commit(&tpl, CommitMode::Sync)
                .map_err(kafka("commit the checkpoint"))?;
        }
        for (c, next) in self.checkpoint.iter_mut().zip(&batch.next_offsets) {
            if let Some(n) = next {
                *c = (*c).max(*n);
            }
        }
        self.summary.checkpoints_committed += 1;
        *batch = Batch::fresh(self.ranges.len());
        Ok(())
    }
}

/// Records processed since the last checkpoint.
#[derive(Default)]
struct Batch {
    inputs: usize,
    started: Option<Instant>,
    open: bool,
    /// Next offset per lane, for lanes that advanced.
    next_offsets: Vec<Option<i64>>,
    deliveries: Vec<(String, DeliveryFuture)>,
}

impl Batch {
    fn fresh(lanes: usize) -> Self {
        Batch {
            next_offsets: vec![None; lanes],
            ..Batch::default()
        }
    }
}

/// Enqueue a record, waiting while the producer queue is full.
fn enqueue(producer: &FutureProducer, record: &OutRecord) -> Result<DeliveryFuture, KafkaError> {
    loop {
        let fr = FutureRecord::to(&record.topic)
            .key(&record.key)
            .payload(&record.payload)
            .headers(record.kafka_headers());
        match producer.send_result(fr) {
            Ok(f) => return Ok(f),
            Err((
                KafkaError::MessageProduction(rdkafka::types::RDKafkaErrorCode::QueueFull),
                _,
            )) => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err((e, _)) => return Err(e),
        }
    }
}

/// The replay group's committed offsets for each range; `None` where nothing is committed.
fn committed_offsets(
    consumer: &BaseConsumer,
    ranges: &[PartitionRange],
) -> Result<Vec<Option<Committed>>, ReplayError> {
    let mut tpl = TopicPartitionList::new();
    for r in ranges {
        tpl.add_partition(&r.topic, r.partition);
    }
    let committed = consumer
        .committed_offsets(tpl, TIMEOUT)
        .map_err(kafka("read the replay's checkpoint"))?;
    Ok(ranges
        .iter()
        .map(|r| {
            committed
                .find_partition(&r.topic, r.partition)
                .and_then(|e| match e.offset() {
                    Offset::Offset(next) => Some(Committed {
                        next,
                        range: PartitionRange::parse_metadata(e.metadata()),
                    }),
                    _ => None,
                })
        })
        .collect())
}

/// One partition's checkpoint.
#[derive(Debug, Clone, Copy)]
struct Committed {
    next: i64,
    /// The `(start, end)` the replay began with.
    range: Option<(i64, i64)>,
}

/// Progress: a bar with rate and ETA on a terminal, a log line every few seconds otherwise.
enum Progress {
    Off,
    Bar(indicatif::ProgressBar),
    Log {
        total: u64,
        started: Instant,
        last: Instant,
    },
}

impl Progress {
    const LOG_EVERY: Duration = Duration::from_secs(5);

    fn new(enabled: bool, total: u64) -> Self {
        if !enabled {
            return Progress::Off;
        }
        if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} records  {per_sec}  eta {eta}",
            ) {
                bar.set_style(style);
            }
            Progress::Bar(bar)
        } else {
            let now = Instant::now();
            Progress::Log {
                total,
                started: now,
                last: now,
            }
        }
    }

    fn tick(&mut self, done: u64) {
        match self {
            Progress::Off => {}
            Progress::Bar(bar) => bar.set_position(done),
            Progress::Log {
                total,
                started,
                last,
            } => {
                if last.elapsed() >= Self::LOG_EVERY {
                    *last = Instant::now();
                    let secs = started.elapsed().as_secs_f64().max(1e-3);
                    let rate = done as f64 / secs;
                    let eta = if rate > 0.0 {
                        total.saturating_sub(done) as f64 / rate
                    } else {
                        0.0
                    };
                    tracing::info!(
                        processed = done,
                        total = *total,
                        per_sec = rate.round(),
                        eta_secs = eta.round(),
                        "Replay progress."
                    );
                }
            }
        }
    }

    fn finish(&mut self, done: u64) {
        if let Progress::Bar(bar) = self {
            bar.set_position(done);
            bar.finish_and_clear();
        }
    }
}

/// `wirefeed replay` arguments.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Configuration file of the live service (brokers, group, stages, output topics).
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,
    /// Start of the window (RFC 3339): the first record at or after it, per partition.
    #[arg(long, value_parser = parse_time)]
    pub from: DateTime<Utc>,
    /// End of the window (RFC 3339, exclusive): each partition stops at the first record at or
    /// after it. Default: the end of each partition when the replay starts.
    #[arg(long, value_parser = parse_time)]
    pub to: Option<DateTime<Utc>>,
    /// Input topics (repeat or comma-separate); default: the configured input topics.
    #[arg(long, value_delimiter = ',')]
    pub topics: Vec<String>,
    /// Enriched stories go here, dead letters to `<topic>.dlq`, duplicates to
    /// `<topic>.duplicates`. Default: `<output.topic>.replay`.
    #[arg(long, conflicts_with = "to_configured_topics")]
    pub output_topic: Option<String>,
    /// Write to the live service's configured topics and routes instead.
    #[arg(long)]
    pub to_configured_topics: bool,
    /// Process and summarise without producing or checkpointing.
    #[arg(long)]
    pub dry_run: bool,
    /// Starting dedup state: empty, or the live changelog's entries with story times before
    /// --from (needs `[dedup_changelog]` enabled in the config).
    #[arg(long, value_enum, default_value = "empty")]
    pub dedup: DedupStart,
    /// Continue an interrupted replay of the same name from its checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Names the checkpoint group and transactional id; default derived from the window.
    #[arg(long)]
    pub name: Option<String>,
    /// Records per checkpoint (one transaction in exactly-once mode).
    #[arg(long, default_value_t = 1_000)]
    pub batch_size: usize,
    /// Stop with a checkpoint after this many records (sample a window; continue with --resume).
    #[arg(long)]
    pub max_records: Option<u64>,
    /// At most this many records per second, to spare the cluster the live service uses.
    #[arg(long)]
    pub max_rate: Option<u32>,
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{s:?} is not an RFC 3339 time such as 2024-02-01T00:00:00Z: {e}"))
}

impl ReplayArgs {
    pub fn options(&self, config: &Config) -> ReplayOptions {
        let destination = if self.to_configured_topics {
            Destination::Configured
        } else {
            Destination::Topic(
                self.output_topic
                    .clone()
                    .unwrap_or_else(|| format!("{}.replay", config.output.topic)),
            )
        };
        ReplayOptions {
            from: self.from,
            to: self.to,
            topics: self.topics.clone(),
            destination,
            dry_run: self.dry_run,
            dedup: self.dedup,
            resume: self.resume,
            name: self.name.clone(),
            batch_size: self.batch_size,
            max_records: self.max_records,
            max_rate: self.max_rate,
            progress: true,
        }
    }
}

/// `wirefeed replay`: run, print the summary as a table (stderr) and as JSON (stdout).
pub fn cli(args: ReplayArgs) -> anyhow::Result<()> {
    let config = Config::load(args.config.as_deref(), std::env::vars())?;
    let _telemetry = crate::telemetry::init(&config.telemetry)?;
    let options = args.options(&config);
    let runtime = tokio::runtime::Runtime::new()?;
    let summary = runtime.block_on(async {
        let shutdown = CancellationToken::new();
        crate::shutdown::cancel_on_signal(shutdown.clone());
        run(config, options, shutdown).await
    })?;
    summary.print_table(std::io::stderr())?;
    println!("{}", serde_json::to_string(&summary)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        parse_time(s).expect("time")
    }

    #[test]
    fn default_names_are_stable_and_safe() {
        let n = default_name(
            &["wire.raw".into()],
            t("2024-02-01T00:00:00Z"),
            Some(t("2024-02-08T00:00:00Z")),
            &Destination::Topic("wire.enriched.replay".into()),
        );
        assert_eq!(
            n,
            "wire.raw.20240201T000000Z-20240208T000000Z.wire.enriched.replay"
        );
        let open = default_name(
            &["a/b".into()],
            t("2024-02-01T00:00:00+01:00"),
            None,
            &Destination::Configured,
        );
        assert_eq!(open, "a_b.20240131T230000Z-end.configured");
    }

    #[test]
    fn replay_outputs_are_separate_from_live_ones() {
        let live = OutputConfig::default();
        let out = output_config(&live, &Destination::Topic("x.replay".into()));
        assert_eq!(out.topic, "x.replay");
        assert_eq!(out.dead_letter_topic, "x.replay.dlq");
        assert_eq!(out.duplicates_topic, "x.replay.duplicates");
        assert!(out.routes.is_empty());
        let dropping = OutputConfig {
            duplicates_topic: String::new(),
            ..live.clone()
        };
        assert!(output_config(&dropping, &Destination::Topic("x".into()))
            .duplicates_topic
            .is_empty());
        assert_eq!(output_config(&live, &Destination::Configured), live);
    }

    #[test]
    fn the_dedup_clock_is_the_record_time() {
        assert_eq!(
            Replay::received_at(Some(1_706_745_600_000)),
            t("2024-02-01T00:00:00Z")
        );
        assert_eq!(Replay::received_at(None), DateTime::UNIX_EPOCH);
    }

    #[test]
    fn times_must_be_rfc3339() {
        assert!(parse_time("2024-02-01").is_err());
        assert!(parse_time("2024-02-01T00:00:00Z").is_ok());
    }

    #[tokio::test]
    async fn live_dedup_needs_the_changelog_enabled() {
        let mut options = ReplayOptions::new(t("2024-02-01T00:00:00Z"));
        options.dedup = DedupStart::Live;
        let err = run(Config::default(), options, CancellationToken::new())
            .await
            .expect_err("live dedup needs the changelog");
        assert!(err.to_string().contains("[dedup_changelog]"), "{err}");
    }
}
