//! The dedup changelog: the dedup index backed by a Kafka topic, as Kafka Streams backs its
//! state stores, so that every replica sees every fingerprint and a restarted replica starts
//! with what it knew.
//!
//! - **Publishing.** Every entry a replica admits (unique stories and updates) becomes one
//!   record, keyed by story id, value in the binary layout of [`crate::dedup::wire`] (98
//!   bytes plus the id). The record is one more output of the input that admitted it: in
//!   at-least-once mode the input offset is stored only after the broker acknowledged it too;
//!   in exactly-once mode it goes in the input's transaction, so an aborted transaction both
//!   undoes the admission locally and hides the record from `read_committed` readers.
//! - **Restoring.** At start, before the service reports ready and before it consumes input,
//!   a consumer outside the live group (manual assignment, `read_committed`, never commits)
//!   reads every partition from the beginning up to the high watermarks captured at start
//!   (for `read_committed` the last stable offsets: an open transaction does not hold the
//!   restore up). Entries whose story time is out of the window of the newest entry read so
//!   far are skipped, entries of an admission already restored too. The service reads all
//!   partitions at once; a replay (`--dedup live`, [`Changelog::load_before`]) reads them one
//!   after the other, so that the same changelog always gives the same index.
//! - **Following.** The same consumer then keeps reading from those watermarks on its own
//!   thread and applies other replicas' entries ([`DedupIndex::apply`]) in batches under one
//!   lock of the index; records of this instance (the `origin` in the value, a random id per
//!   process) are skipped. A restarted replica has a new origin, so its previous life's
//!   entries come back through the restore like any other replica's.
//! - **Re-delivered inputs.** In at-least-once mode an input whose changelog record was
//!   acknowledged but whose offset was not committed (a crash, a revoked partition) is
//!   consumed again, by this replica or another, whose index already holds its entry. The
//!   entry carries a tag of its input record ([`crate::dedup::input_tag`]), so the story is
//!   decided as the first time instead of as a duplicate of itself.
//! - **Expiry.** The topic is `cleanup.policy=compact,delete` with `retention.ms` equal to
//!   `[dedup] window_secs` (and `segment.ms` a quarter of it, at most a day, so old segments
//!   become deletable in time). Compaction keeps the newest record per story id (an update
//!   replaces its original, a re-published entry its first copy); deletion drops whole
//!   segments whose records are all older than the window by admission time. No replica has
//!   to publish tombstones for what it evicts: evictions differ from replica to replica and
//!   would need coordinating. A record can outlive the window by up to a segment; restores
//!   skip it by story time. [`Changelog::start`] creates a missing topic with these settings
//!   (`create_topic`), and warns when an existing topic's settings differ.
//! - **Races.** Two replicas that admit near duplicates within the propagation delay both
//!   publish them as unique. When the follower applies a foreign unique entry that matches a
//!   unique entry admitted (here or elsewhere) within `race_window_secs`, both replicas apply
//!   the same tie-break ([`crate::dedup::race`]: earliest story time, then id); the one that
//!   admitted the later story publishes a re-label to the duplicates topic (the story's id,
//!   `dedup.status = duplicate`, `of` the original, header `wirefeed-relabel: unique`), and
//!   every replica drops the later entry from its index. Re-labels are sent on their own
//!   idempotent producer, outside transactions: they correct records that may already be
//!   committed.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, ClientContext, Message, Offset, TopicPartitionList};
use thiserror::Error;
use tokio_util::sync::CancellationToken;

use crate::admin::Health;
use crate::config::{Config, DedupChangelogConfig, KafkaConfig};
use crate::dedup::{wire, DedupIndex, Entry, Race};
use crate::kafka::records::OutRecord;
use crate::metrics::Metrics;
use crate::model::{DedupStatus, DuplicateKind};

const TIMEOUT: Duration = Duration::from_secs(30);
/// Header of a re-label record; its value is the status the story was first published with.
pub const H_RELABEL: &str = "wirefeed-relabel";
/// Records the follower applies under one lock of the index.
const FOLLOW_BATCH: usize = 512;
const LAG_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug, Error)]
pub enum ChangelogError {
    #[error("cannot create the changelog {role}: {source}")]
    Client {
        role: &'static str,
        #[source]
        source: KafkaError,
    },
    #[error("the changelog topic {topic} does not exist; create it with cleanup.policy=compact,delete and retention.ms={retention_ms}, or set [dedup_changelog] create_topic = true")]
    Missing { topic: String, retention_ms: u64 },
    #[error("cannot create the changelog topic {topic}: {reason}")]
    Create { topic: String, reason: String },
    #[error("cannot {what} of the changelog topic {topic}: {source}")]
    Kafka {
        what: &'static str,
        topic: String,
        #[source]
        source: KafkaError,
    },
}

/// The changelog consumer's callbacks. rdkafka reports every end of a partition (which the
/// restore asks for, to know where the log ends) to the client's error callback as well;
/// that is not an error here.
pub struct ReaderContext;

impl ClientContext for ReaderContext {
    fn error(&self, error: KafkaError, reason: &str) {
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::PartitionEOF) {
            return;
        }
        tracing::warn!(%error, reason, "Changelog consumer error.");
    }
}

impl ConsumerContext for ReaderContext {}

type ReaderConsumer = BaseConsumer<ReaderContext>;

/// What a restore read.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RestoreStats {
    pub partitions: usize,
    /// Records read up to the captured watermarks.
    pub records: u64,
    pub bytes: u64,
    /// Entries now in the index.
    pub entries: usize,
    /// Records left out: out of the window, not kept by the filter, already known, or not
    /// decodable (tombstones included).
    pub expired: u64,
    pub filtered: u64,
    pub known: u64,
    pub undecodable: u64,
    pub seconds: f64,
    /// False when a shutdown stopped the restore early.
    pub complete: bool,
}

/// The changelog of one replica (or of a replay reading the live one).
pub struct Changelog {
    config: DedupChangelogConfig,
    kafka: KafkaConfig,
    window_secs: u64,
    origin: u64,
}

impl Changelog {
    /// The changelog of `config`, or `None` when `[dedup_changelog]` is not enabled.
    pub fn from_config(config: &Config) -> Option<Changelog> {
        config
            .dedup_changelog
            .enabled
            .then(|| Changelog::new(config))
    }

    /// The changelog of `config` whether enabled or not (tools that read it).
    pub fn new(config: &Config) -> Changelog {
        Changelog {
            config: config.dedup_changelog.clone(),
            kafka: config.kafka.clone(),
            window_secs: config.dedup.window_secs,
            origin: new_origin(),
        }
    }

    pub fn topic(&self) -> &str {
        &self.config.topic
    }

    /// This instance's id in the records it publishes.
    pub fn origin(&self) -> u64 {
        self.origin
    }

    /// The record that publishes an admitted entry: one more output of its input.
    pub fn record(&self, entry: &Entry, status: DedupStatus) -> OutRecord {
        OutRecord {
            topic: self.config.topic.clone(),
            key: entry.id.as_bytes().to_vec(),
            payload: wire::encode(entry, self.origin, status == DedupStatus::Unique),
            headers: Vec::new(),
            status: "changelog",
        }
    }

    /// Retention of the topic: the dedup window.
    pub fn retention_ms(&self) -> u64 {
        self.window_secs.saturating_mul(1000)
    }

    /// Segment roll time: a quarter of the window, between 10 minutes and a day, so that
    /// segments close (and can be compacted and deleted) well within the window.
    pub fn segment_ms(&self) -> u64 {
        (self.retention_ms() / 4).clamp(600_000, 86_400_000)
    }

    /// The topic settings this module expects (and creates the topic with).
    pub fn topic_settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("cleanup.policy", "compact,delete".into()),
            ("retention.ms", self.retention_ms().to_string()),
            ("segment.ms", self.segment_ms().to_string()),
        ]
    }

    /// For the service: check (or create) the topic, restore `index` from it, then follow it.
    /// Readiness says "restoring" meanwhile. A shutdown during the restore ends it early.
    pub async fn start(
        &self,
        index: Arc<Mutex<DedupIndex>>,
        metrics: Arc<Metrics>,
        health: Arc<Health>,
        duplicates_topic: &str,
        shutdown: &CancellationToken,
    ) -> Result<Follower, ChangelogError> {
        health.set_restoring(true);
        let result = self
            .start_inner(index, metrics, &health, duplicates_topic, shutdown)
            .await;
        health.set_restoring(false);
        result
    }

    async fn start_inner(
        &self,
        index: Arc<Mutex<DedupIndex>>,
        metrics: Arc<Metrics>,
        health: &Health,
        duplicates_topic: &str,
        shutdown: &CancellationToken,
    ) -> Result<Follower, ChangelogError> {
        self.ensure_topic().await?;
        let reader = self.reader();
        let stop = shutdown.clone();
        let restoring = index.clone();
        let mut task = tokio::task::spawn_blocking(move || {
            let mut index = restoring.lock().expect("dedup index lock");
            reader.restore(&mut index, |_| true, &stop, Order::Any)
        });
        // The service loop has not started: keep liveness beating while the restore runs.
        let mut beat = tokio::time::interval(Duration::from_secs(1));
        let (restored, stats) = loop {
            tokio::select! {
                done = &mut task => break done.expect("restore task")?,
                _ = beat.tick() => health.beat(),
            }
        };
        metrics.dedup_restored(stats.entries, stats.records, stats.seconds);
        metrics.dedup_index_entries.set(stats.entries as i64);
        if !stats.complete {
            tracing::info!("Restore interrupted by shutdown.");
        }
        let race_window = Duration::from_secs(self.config.race_window_secs);
        if !race_window.is_zero() {
            index
                .lock()
                .expect("dedup index lock")
                .track_races(self.origin);
        }
        let producer: FutureProducer =
            self.producer_config()
                .create()
                .map_err(|source| ChangelogError::Client {
                    role: "re-label producer",
                    source,
                })?;
        let follow = Follow {
            consumer: restored.consumer,
            topic: self.config.topic.clone(),
            ends: restored.ends,
            origin: self.origin,
            index,
            metrics,
            producer,
            duplicates_topic: duplicates_topic.to_string(),
            race_window,
        };
        Ok(Follower::spawn(follow))
    }

    fn reader(&self) -> Reader {
        Reader {
            topic: self.config.topic.clone(),
            consumer_config: self.consumer_config(),
            retention_ms: self.retention_ms(),
        }
    }

    /// Check the topic's partitions and settings, creating it when missing and allowed.
    async fn ensure_topic(&self) -> Result<(), ChangelogError> {
        let topic = self.config.topic.clone();
        let consumer_config = self.consumer_config();
        let t = topic.clone();
        let exists = tokio::task::spawn_blocking(move || {
            let consumer: ReaderConsumer = consumer_config
                .create_with_context(ReaderContext)
                .map_err(|source| ChangelogError::Client {
                    role: "consumer",
                    source,
                })?;
            Ok::<_, ChangelogError>(partitions(&consumer, &t)?.is_some())
        })
        .await
        .expect("metadata task")?;
        let admin: AdminClient<DefaultClientContext> =
            self.admin_config()
                .create()
                .map_err(|source| ChangelogError::Client {
                    role: "admin client",
                    source,
                })?;
        let opts = AdminOptions::new().operation_timeout(Some(TIMEOUT));
        if !exists {
            if !self.config.create_topic {
                return Err(ChangelogError::Missing {
                    topic,
                    retention_ms: self.retention_ms(),
                });
            }
            let settings = self.topic_settings();
            let mut new = NewTopic::new(
                &topic,
                self.config.partitions,
                TopicReplication::Fixed(self.config.replication_factor),
            );
            for (k, v) in &settings {
                new = new.set(k, v);
            }
            let results =
                admin
                    .create_topics([&new], &opts)
                    .await
                    .map_err(|e| ChangelogError::Create {
                        topic: topic.clone(),
                        reason: e.to_string(),
                    })?;
            for r in results {
                match r {
                    Ok(_) => tracing::info!(
                        topic = %topic,
                        partitions = self.config.partitions,
                        "Changelog topic created."
                    ),
                    // Another replica created it first.
                    Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                    Err((_, code)) => {
                        return Err(ChangelogError::Create {
                            topic: topic.clone(),
                            reason: code.to_string(),
                        })
                    }
                }
            }
            self.wait_for_leaders().await?;
            return Ok(());
        }
        match admin
            .describe_configs([&ResourceSpecifier::Topic(&topic)], &opts)
            .await
        {
            Ok(results) => {
                for r in results.into_iter().flatten() {
                    let get = |k: &str| r.get(k).and_then(|e| e.value.clone());
                    for warning in self.settings_problems(
                        get("cleanup.policy").as_deref(),
                        get("retention.ms").and_then(|v| v.parse().ok()),
                    ) {
                        tracing::warn!(topic = %topic, "{warning}");
                    }
                }
            }
            Err(e) => {
                tracing::warn!(topic = %topic, error = %e, "Cannot describe the changelog topic's settings.")
            }
        }
        Ok(())
    }

    /// What is wrong with a topic's cleanup policy and retention, as sentences.
    pub fn settings_problems(
        &self,
        policy: Option<&str>,
        retention_ms: Option<i64>,
    ) -> Vec<String> {
        let mut out = Vec::new();
        let policy = policy.unwrap_or("delete");
        let has = |p: &str| policy.split(',').any(|x| x.trim() == p);
        if !has("compact") {
            out.push(format!("Changelog cleanup.policy is {policy:?} without compact: re-published entries are never compacted away; use compact,delete."));
        }
        match retention_ms {
            _ if !has("delete") => out.push(format!(
                "Changelog cleanup.policy is {policy:?} without delete: entries never expire from the topic and restores read every entry ever admitted; use compact,delete with retention.ms={}.",
                self.retention_ms()
            )),
            Some(r) if r >= 0 && (r as u64) < self.retention_ms() => out.push(format!(
                "Changelog retention.ms={r} is shorter than the dedup window ({} ms): a restarted replica forgets stories the others still remember.",
                self.retention_ms()
            )),
            _ => {}
        }
        out
    }

    async fn wait_for_leaders(&self) -> Result<(), ChangelogError> {
        let consumer_config = self.consumer_config();
        let topic = self.config.topic.clone();
        let want = self.config.partitions as usize;
        tokio::task::spawn_blocking(move || {
            let consumer: ReaderConsumer = consumer_config
                .create_with_context(ReaderContext)
                .map_err(|source| ChangelogError::Client {
                    role: "consumer",
                    source,
                })?;
            let deadline = Instant::now() + TIMEOUT;
            loop {
                let ready = consumer
                    .fetch_metadata(Some(&topic), Duration::from_secs(5))
                    .ok()
                    .and_then(|md| {
                        md.topics().iter().find(|t| t.name() == topic).map(|t| {
                            t.error().is_none()
                                && t.partitions().len() >= want
                                && t.partitions().iter().all(|p| p.leader() >= 0)
                        })
                    })
                    .unwrap_or(false);
                if ready || Instant::now() >= deadline {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
        .await
        .expect("metadata task")
    }

    fn client_config(&self, role: &std::collections::BTreeMap<String, String>) -> ClientConfig {
        let mut c = ClientConfig::new();
        for (k, v) in self.kafka.properties.iter().chain(role) {
            c.set(k, v);
        }
        c.set("bootstrap.servers", &self.kafka.brokers);
        c
    }

    /// A consumer outside the live group: manual assignment, committed transactions only,
    /// explicit start offsets, never commits. librdkafka wants a group id even so; nothing is
    /// ever committed under it.
    fn consumer_config(&self) -> ClientConfig {
        let mut c = self.client_config(&self.kafka.consumer_properties);
        c.set(
            "group.id",
            format!("{}-changelog-reader", self.kafka.group_id),
        )
        .set("isolation.level", "read_committed")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "true")
        .set("auto.offset.reset", "earliest");
        // A small prefetch queue keeps the restore's memory down (librdkafka's default of
        // 64 MB costs 40 MB more for a million entries); refilling it at once instead of after
        // the default backoff of a second keeps the restore as fast.
        for (k, v) in [
            ("queued.max.messages.kbytes", "1024"),
            ("fetch.queue.backoff.ms", "5"),
        ] {
            if c.get(k).is_none() {
                c.set(k, v);
            }
        }
        c
    }

    fn producer_config(&self) -> ClientConfig {
        let mut c = self.client_config(&self.kafka.producer_properties);
        c.set("enable.idempotence", "true").set("acks", "all");
        c
    }

    fn admin_config(&self) -> ClientConfig {
        self.client_config(&Default::default())
    }

    /// The service's restore (all partitions at once, what [`Changelog::start`] does) into
    /// `index`, without following afterwards: for tools and benchmarks.
    pub fn restore(
        &self,
        index: &mut DedupIndex,
        stop: &CancellationToken,
    ) -> Result<RestoreStats, ChangelogError> {
        let reader = self.reader();
        let (_, stats) = reader.restore(index, |_| true, stop, Order::Any)?;
        Ok(stats)
    }

    /// For a replay: the entries of the live changelog whose story time is before `before`
    /// (Unix seconds), read in partition then offset order, into a fresh index. A replay never
    /// creates topics: a missing changelog is an error.
    pub fn load_before(
        &self,
        index: &mut DedupIndex,
        before: i64,
        stop: &CancellationToken,
    ) -> Result<RestoreStats, ChangelogError> {
        let reader = self.reader();
        let (_, stats) = reader.restore(index, |e| e.at < before, stop, Order::Partitions)?;
        Ok(stats)
    }
}

/// A random id per process: records of this instance are recognised by it.
fn new_origin() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let host = std::env::var("HOSTNAME").unwrap_or_default();
    let seed = format!("{}/{nanos}/{host}/{:p}", std::process::id(), &nanos);
    xxhash_rust::xxh3::xxh3_64(seed.as_bytes()).max(1)
}

/// The partitions of `topic`, or `None` when it does not exist.
fn partitions(consumer: &ReaderConsumer, topic: &str) -> Result<Option<Vec<i32>>, ChangelogError> {
    let md = consumer
        .fetch_metadata(Some(topic), TIMEOUT)
        .map_err(|source| ChangelogError::Kafka {
            what: "read the metadata",
            topic: topic.to_string(),
            source,
        })?;
    let Some(t) = md.topics().iter().find(|t| t.name() == topic) else {
        return Ok(None);
    };
    if t.error().is_some() || t.partitions().is_empty() {
        return Ok(None);
    }
    let mut ps: Vec<i32> = t.partitions().iter().map(|p| p.id()).collect();
    ps.sort_unstable();
    Ok(Some(ps))
}

/// Reads the changelog into an index.
struct Reader {
    topic: String,
    consumer_config: ClientConfig,
    /// For the error that names the settings of a missing topic.
    retention_ms: u64,
}

/// The order a restore applies records in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// Partition after partition, each in offset order: the same index every time (replays).
    Partitions,
    /// All partitions fetched at once, in arrival order: fewer round trips (the service, whose
    /// index also takes other replicas' entries in arrival order afterwards).
    Any,
}

/// Where a restore stopped: the consumer, and per partition the offset the follower starts at.
struct Restored {
    consumer: ReaderConsumer,
    ends: Vec<(i32, i64)>,
}

impl Reader {
    /// Read every partition up to its watermark at start, partition after partition, applying
    /// what `keep` accepts and the window allows.
    fn restore(
        &self,
        index: &mut DedupIndex,
        keep: impl Fn(&Entry) -> bool,
        stop: &CancellationToken,
        order: Order,
    ) -> Result<(Restored, RestoreStats), ChangelogError> {
        let started = Instant::now();
        let kafka = |what: &'static str| {
            let topic = self.topic.clone();
            move |source| ChangelogError::Kafka {
                what,
                topic,
                source,
            }
        };
        let consumer: ReaderConsumer = self
            .consumer_config
            .create_with_context(ReaderContext)
            .map_err(|source| ChangelogError::Client {
                role: "consumer",
                source,
            })?;
        let parts = partitions(&consumer, &self.topic)?.ok_or_else(|| ChangelogError::Missing {
            topic: self.topic.clone(),
            retention_ms: self.retention_ms,
        })?;
        let mut ends = Vec::with_capacity(parts.len());
        let mut ranges = Vec::with_capacity(parts.len());
        for &p in &parts {
            // read_committed: the high end is the last stable offset, so an open transaction
            // does not hold the restore up (its records reach the follower once committed).
            let (low, high) = consumer
                .fetch_watermarks(&self.topic, p, TIMEOUT)
                .map_err(kafka("read the watermarks"))?;
            ends.push((p, high));
            ranges.push((p, low, high));
        }
        let mut stats = RestoreStats {
            partitions: parts.len(),
            complete: true,
            ..RestoreStats::default()
        };
        let total: i64 = ranges
            .iter()
            .map(|(_, low, high)| (high - low).max(0))
            .sum();
        index.reserve(usize::try_from(total).unwrap_or(0));
        match order {
            Order::Partitions => {
                for &(p, low, high) in &ranges {
                    if !self.read(&consumer, &[(p, low, high)], index, &keep, stop, &mut stats)? {
                        break;
                    }
                }
            }
            Order::Any => {
                self.read(&consumer, &ranges, index, &keep, stop, &mut stats)?;
            }
        }
        consumer
            .unassign()
            .map_err(kafka("end the restore assignment"))?;
        // End-of-partition events still queued would be reported as global errors later.
        for _ in 0..10_000 {
            if consumer.poll(Duration::ZERO).is_none() {
                break;
            }
        }
        stats.entries = index.len();
        stats.seconds = started.elapsed().as_secs_f64();
        Ok((Restored { consumer, ends }, stats))
    }

    /// Read `ranges` (`(partition, low, high)`) to their high ends. False when stopped.
    fn read(
        &self,
        consumer: &ReaderConsumer,
        ranges: &[(i32, i64, i64)],
        index: &mut DedupIndex,
        keep: &impl Fn(&Entry) -> bool,
        stop: &CancellationToken,
        stats: &mut RestoreStats,
    ) -> Result<bool, ChangelogError> {
        let kafka = |what: &'static str| {
            let topic = self.topic.clone();
            move |source| ChangelogError::Kafka {
                what,
                topic,
                source,
            }
        };
        let mut open: Vec<(i32, i64)> = ranges
            .iter()
            .filter(|(_, low, high)| high > low)
            .map(|&(p, _, high)| (p, high))
            .collect();
        if open.is_empty() {
            return Ok(true);
        }
        let mut tpl = TopicPartitionList::new();
        for &(p, low, high) in ranges {
            if high > low {
                tpl.add_partition_offset(&self.topic, p, Offset::Offset(low))
                    .map_err(kafka("build the assignment"))?;
            }
        }
        consumer.assign(&tpl).map_err(kafka("assign partitions"))?;
        while !open.is_empty() {
            if stop.is_cancelled() {
                stats.complete = false;
                return Ok(false);
            }
            let done = match consumer.poll(Duration::from_millis(100)) {
                None => None,
                Some(Ok(m)) => {
                    let p = m.partition();
                    match open.iter().find(|(q, _)| *q == p) {
                        // Beyond the captured end: the follower reads it.
                        Some(&(_, high)) if m.offset() >= high => Some(p),
                        Some(&(_, high)) => {
                            stats.records += 1;
                            stats.bytes +=
                                (m.payload_len() + m.key().map_or(0, <[u8]>::len)) as u64;
                            apply_restored(index, m.key(), m.payload(), keep, stats);
                            (m.offset() + 1 >= high).then_some(p)
                        }
                        None => None,
                    }
                }
                // The end of the log (the last offsets may be transaction markers).
                Some(Err(KafkaError::PartitionEOF(p))) => Some(p),
                // Logged by the context; librdkafka retries.
                Some(Err(_)) => None,
            };
            if let Some(p) = done {
                open.retain(|(q, _)| *q != p);
            }
        }
        Ok(true)
    }
}

fn apply_restored(
    index: &mut DedupIndex,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    keep: &impl Fn(&Entry) -> bool,
    stats: &mut RestoreStats,
) {
    let Ok(record) = wire::decode(key.unwrap_or_default(), value.unwrap_or_default()) else {
        stats.undecodable += 1;
        return;
    };
    if !keep(&record.entry) {
        stats.filtered += 1;
        return;
    }
    if index.is_expired(record.entry.at) {
        stats.expired += 1;
        return;
    }
    if !index
        .apply(record.entry, record.origin, record.unique)
        .inserted
    {
        stats.known += 1;
    }
}

/// The follower thread's state.
struct Follow {
    consumer: ReaderConsumer,
    topic: String,
    ends: Vec<(i32, i64)>,
    origin: u64,
    index: Arc<Mutex<DedupIndex>>,
    metrics: Arc<Metrics>,
    producer: FutureProducer,
    duplicates_topic: String,
    race_window: Duration,
}

/// The running follower; stop it when the service stops.
pub struct Follower {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Follower {
    fn spawn(follow: Follow) -> Follower {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("changelog".into())
            .spawn(move || follow.run(&flag))
            .expect("spawn the changelog follower");
        Follower {
            stop,
            thread: Some(thread),
        }
    }

    /// Stop following and wait for the thread (it sends the re-labels it has found first).
    pub async fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl Follow {
    fn run(self, stop: &AtomicBool) {
        let mut tpl = TopicPartitionList::new();
        for (p, next) in &self.ends {
            if tpl
                .add_partition_offset(&self.topic, *p, Offset::Offset(*next))
                .is_err()
            {
                return;
            }
        }
        if let Err(e) = self.consumer.assign(&tpl) {
            tracing::error!(error = %e, "Cannot follow the changelog; other replicas' entries are not applied.");
            return;
        }
        // (when, next sequence number then): admissions before that number happened before then.
        let mut marks: VecDeque<(Instant, u64)> = VecDeque::new();
        // Decoded while polling, applied under one lock; `None`: not decodable.
        let mut batch: Vec<Option<wire::Record>> = Vec::with_capacity(FOLLOW_BATCH);
        let mut last_lag = Instant::now() - LAG_EVERY;
        while !stop.load(Ordering::SeqCst) {
            let mut wait = Duration::from_millis(100);
            while batch.len() < FOLLOW_BATCH {
                match self.consumer.poll(wait) {
                    None => break,
                    Some(Ok(m)) => {
                        let key = m.key().unwrap_or_default();
                        batch.push(wire::decode(key, m.payload().unwrap_or_default()).ok())
                    }
                    // Errors are logged by the context; librdkafka retries.
                    Some(Err(_)) => break,
                }
                wait = Duration::ZERO;
            }
            let lost = self.apply(&mut batch, &mut marks);
            if !lost.is_empty() {
                self.relabel(lost);
            }
            if last_lag.elapsed() >= LAG_EVERY {
                last_lag = Instant::now();
                self.refresh_lag();
            }
        }
    }

    /// Apply a batch under one lock; returns the races this replica lost.
    fn apply(
        &self,
        batch: &mut Vec<Option<wire::Record>>,
        marks: &mut VecDeque<(Instant, u64)>,
    ) -> Vec<Race> {
        let mut lost = Vec::new();
        let mut index = self.index.lock().expect("dedup index lock");
        for record in batch.drain(..) {
            let Some(record) = record else {
                self.metrics.changelog_skipped("undecodable");
                continue;
            };
            if record.origin == self.origin {
                self.metrics.changelog_skipped("own");
                continue;
            }
            if index.is_expired(record.entry.at) {
                self.metrics.changelog_skipped("expired");
                continue;
            }
            let applied = index.apply(record.entry, record.origin, record.unique);
            if applied.inserted {
                self.metrics.dedup_changelog_applied.inc();
            } else if applied.races.is_empty() {
                self.metrics.changelog_skipped("known");
            } else {
                self.metrics.changelog_skipped("lost-race");
            }
            lost.extend(
                applied
                    .races
                    .into_iter()
                    .filter(|r| r.loser_origin == self.origin),
            );
        }
        if !self.race_window.is_zero() {
            let now = Instant::now();
            if marks
                .back()
                .is_none_or(|(t, _)| now.duration_since(*t) >= Duration::from_millis(100))
            {
                marks.push_back((now, index.next_seq()));
            }
            let mut horizon = None;
            while marks
                .front()
                .is_some_and(|(t, _)| now.duration_since(*t) > self.race_window)
            {
                horizon = marks.pop_front().map(|(_, seq)| seq);
            }
            if let Some(seq) = horizon {
                index.forget_races_before(seq);
            }
        }
        self.metrics.dedup_index_entries.set(index.len() as i64);
        lost
    }

    /// Publish that stories this replica published as unique are duplicates: all sent at
    /// once, then each awaited; a failed one is retried a few times.
    fn relabel(&self, races: Vec<Race>) {
        let mut pending = Vec::with_capacity(races.len());
        for race in races {
            self.metrics
                .story_relabelled(&race.loser.id, &race.winner, race.similarity);
            if self.duplicates_topic.is_empty() {
                self.metrics.duplicate_dropped();
                continue;
            }
            let record = relabel_record(&race, &self.duplicates_topic);
            let sent = send(&self.producer, &record);
            pending.push((race, record, sent));
        }
        for (race, record, sent) in pending {
            let mut sent = sent;
            for attempt in 1..=4 {
                let error = match sent.map(futures::executor::block_on) {
                    Ok(Ok(Ok(_))) => {
                        self.metrics.record_delivered(&record.topic, record.status);
                        break;
                    }
                    Ok(Ok(Err((e, _)))) | Err(e) => e,
                    Ok(Err(_)) => KafkaError::Canceled,
                };
                let origin = format!("relabel {}", race.loser.id);
                self.metrics
                    .delivery_failed(&error_label(&error), &record.topic, &origin);
                if attempt == 4 {
                    tracing::error!(id = %race.loser.id, of = %race.winner, "Re-label not delivered; downstream keeps two originals for this pair.");
                    break;
                }
                std::thread::sleep(Duration::from_millis(200 * attempt));
                sent = send(&self.producer, &record);
            }
        }
    }

    fn refresh_lag(&self) {
        let Ok(positions) = self.consumer.position() else {
            return;
        };
        let mut lag = 0;
        for (p, _) in &self.ends {
            let Ok((_, high)) =
                self.consumer
                    .fetch_watermarks(&self.topic, *p, Duration::from_secs(5))
            else {
                return;
            };
            let pos = positions
                .find_partition(&self.topic, *p)
                .and_then(|e| match e.offset() {
                    Offset::Offset(o) => Some(o),
                    _ => None,
                });
            if let Some(pos) = pos {
                lag += (high - pos).max(0);
            }
        }
        self.metrics.dedup_changelog_lag.set(lag);
    }
}

fn error_label(error: &KafkaError) -> String {
    match error.rdkafka_error_code() {
        Some(code) => format!("{code:?}"),
        None => "other".into(),
    }
}

/// Enqueue a record, waiting while the producer queue is full.
fn send(producer: &FutureProducer, record: &OutRecord) -> Result<DeliveryFuture, KafkaError> {
    loop {
        let fr = FutureRecord::to(&record.topic)
            .key(&record.key)
            .payload(&record.payload)
            .headers(record.kafka_headers());
        match producer.send_result(fr) {
            Ok(f) => return Ok(f),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err((e, _)) => return Err(e),
        }
    }
}

/// The re-label of a race's loser, for the duplicates topic: keyed by the story id like the
/// story itself, with its new dedup decision.
pub fn relabel_record(race: &Race, duplicates_topic: &str) -> OutRecord {
    let kind = match race.kind {
        DuplicateKind::Exact => "exact",
        DuplicateKind::Near => "near",
    };
    let payload = serde_json::json!({
        "id": race.loser.id,
        "version": race.loser.version,
        "dedup": {
            "status": "duplicate",
            "of": race.winner,
            "similarity": race.similarity,
            "kind": kind,
        },
        "relabel": {
            "previous_status": "unique",
            "reason": "another replica admitted an earlier copy at the same moment",
        },
    });
    OutRecord {
        topic: duplicates_topic.to_string(),
        key: race.loser.id.as_bytes().to_vec(),
        payload: payload.to_string().into_bytes(),
        headers: vec![
            ("wirefeed-dedup-status".into(), b"duplicate".to_vec()),
            (H_RELABEL.into(), b"unique".to_vec()),
        ],
        status: "duplicate",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::BINS;

    fn changelog(window_secs: u64) -> Changelog {
        let mut config = Config::default();
        config.dedup_changelog.enabled = true;
        config.dedup.window_secs = window_secs;
        Changelog::from_config(&config).expect("enabled")
    }

    fn entry(id: &str) -> Entry {
        Entry {
            id: id.into(),
            version: Some(2),
            at: 1_714_564_800,
            exact: 7,
            shingles: 40,
            filled: u32::MAX,
            sketch: [3; BINS],
            input: 9,
        }
    }

    #[test]
    fn records_are_keyed_by_story_id_and_carry_the_origin() {
        let c = changelog(3600);
        let r = c.record(&entry("story-1"), DedupStatus::Update);
        assert_eq!(r.topic, "wire.dedup.changelog");
        assert_eq!(r.key, b"story-1");
        let decoded = wire::decode(&r.key, &r.payload).unwrap();
        assert_eq!(decoded.entry, entry("story-1"));
        assert_eq!(decoded.origin, c.origin());
        assert!(!decoded.unique);
        assert!(Changelog::from_config(&Config::default()).is_none());
    }

    #[test]
    fn the_topic_expires_with_the_window() {
        let c = changelog(72 * 3600);
        let settings = c.topic_settings();
        assert!(settings.contains(&("cleanup.policy", "compact,delete".into())));
        assert!(settings.contains(&("retention.ms", "259200000".into())));
        assert!(settings.contains(&("segment.ms", "64800000".into())));
        assert_eq!(changelog(60).segment_ms(), 600_000);
        assert!(c
            .settings_problems(Some("compact,delete"), Some(259_200_000))
            .is_empty());
        assert_eq!(c.settings_problems(Some("compact"), None).len(), 1);
        assert_eq!(
            c.settings_problems(Some("delete"), Some(3_600_000)).len(),
            2
        );
    }

    #[test]
    fn relabels_name_the_original() {
        let race = Race {
            winner: "reuters-1".into(),
            winner_origin: 1,
            loser: entry("ap-7"),
            loser_origin: 2,
            similarity: 0.9,
            kind: DuplicateKind::Near,
        };
        let r = relabel_record(&race, "wire.duplicates");
        assert_eq!(r.key, b"ap-7");
        let v: serde_json::Value = serde_json::from_slice(&r.payload).unwrap();
        assert_eq!(v["dedup"]["status"], "duplicate");
        assert_eq!(v["dedup"]["of"], "reuters-1");
        assert!(r.headers.contains(&(H_RELABEL.into(), b"unique".to_vec())));
    }
}
