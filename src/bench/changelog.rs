//! `wirefeed bench changelog`: how long a replica takes to restore its dedup index from the
//! changelog topic, and how much memory that takes, for an index of N entries (default a
//! million) through a real broker.
//!
//! The benchmark fills a fresh changelog topic with N synthetic entries (ids of 34 bytes like
//! agency ids, random sketches, story times spread over the window so that every entry is
//! live), then runs the restore `--runs` times, each in a child process of its own
//! (`wirefeed bench changelog --restore-only TOPIC`), so that its peak RSS (`VmHWM`) is the
//! restore's alone: the index, librdkafka's buffers and the binary, nothing of the fill.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::{system, BenchError};
use crate::config::Config;
use crate::dedup::{wire, DedupIndex, Entry, BINS};
use crate::kafka::changelog::Changelog;

/// `wirefeed bench changelog` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct ChangelogBenchArgs {
    /// Bootstrap servers of a broker the benchmark may create and delete a topic on.
    #[arg(long)]
    pub brokers: String,
    /// Entries in the changelog (and in the restored index).
    #[arg(long, default_value_t = 1_000_000)]
    pub entries: usize,
    /// Partitions of the changelog topic.
    #[arg(long, default_value_t = 6)]
    pub partitions: i32,
    /// Restores to run, each in a fresh process.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Where the JSON report goes.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Keep the topic afterwards (its name is printed).
    #[arg(long)]
    pub keep_topic: bool,
    /// Restore from this existing topic in this process and print the figures as JSON (what
    /// each run's child process does).
    #[arg(long, hide = true)]
    pub restore_only: Option<String>,
    /// With --restore-only: read partition after partition, as a replay does.
    #[arg(long, hide = true)]
    pub in_partition_order: bool,
    /// Build an index of this many synthetic entries in memory, without the broker, and print
    /// its figures as JSON: what the index alone costs.
    #[arg(long)]
    pub without_broker: Option<usize>,
}

/// One restore, as measured by its own process.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RestoreRun {
    /// "service" (all partitions at once) or "replay" (partition after partition).
    pub kind: String,
    pub entries: usize,
    pub records: u64,
    pub mb_read: f64,
    pub seconds: f64,
    pub entries_per_sec: f64,
    /// CPU seconds of the restoring process (all threads) during the restore: on a shared
    /// machine a steadier figure than the wall clock.
    pub cpu_seconds: Option<f64>,
    /// Resident memory of the process before the restore (binary, allocator, no index).
    pub rss_before_mb: Option<f64>,
    /// Peak resident memory of the restoring process.
    pub peak_rss_mb: Option<f64>,
    /// Resident memory after the restore (index and consumer).
    pub rss_mb: Option<f64>,
    /// Mean time of a dedup check against the restored index.
    pub check_micros: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChangelogReport {
    pub brokers: String,
    pub topic: String,
    pub entries: usize,
    pub partitions: i32,
    pub record_bytes: f64,
    pub fill_seconds: f64,
    pub fill_records_per_sec: f64,
    pub runs: Vec<RestoreRun>,
    pub target_seconds: f64,
    pub target_rss_mb: f64,
    pub load_average_before: Option<f64>,
    pub load_average_after: Option<f64>,
}

const TARGET_SECONDS: f64 = 10.0;
const TARGET_RSS_MB: f64 = 200.0;

/// Run the benchmark (or, with `--restore-only`, one restore).
pub fn main(args: ChangelogBenchArgs) -> Result<(), BenchError> {
    if let Some(n) = args.without_broker {
        println!("{}", serde_json::to_string(&index_only(n)?)?);
        return Ok(());
    }
    if let Some(topic) = &args.restore_only {
        let run = restore_once(&args.brokers, topic, args.in_partition_order)?;
        println!("{}", serde_json::to_string(&run)?);
        return Ok(());
    }
    if args.entries == 0 || args.partitions < 1 || args.runs == 0 {
        return Err(BenchError::Setup(
            "--entries, --partitions and --runs must be at least 1".into(),
        ));
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let load_before = system::load_average();
    let topic = format!(
        "wirefeed-bench-changelog-{}",
        super::broker::now_micros() / 1000
    );
    let config = bench_config(&args.brokers, &topic);
    let changelog = Changelog::new(&config);
    runtime.block_on(create_topic(&args, &changelog))?;
    let result = measure(&args, &topic, &config);
    if !args.keep_topic {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &args.brokers)
            .create()?;
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        if let Err(e) = runtime.block_on(admin.delete_topics(&[topic.as_str()], &opts)) {
            eprintln!("Could not delete {topic}: {e}");
        }
    } else {
        eprintln!("Kept topic {topic}.");
    }
    let mut report = result?;
    report.load_average_before = load_before;
    report.load_average_after = system::load_average();
    print_table(&report, &mut std::io::stdout())?;
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")?;
        eprintln!("Report written to {}", path.display());
    }
    Ok(())
}

/// The defaults, with `WIREFEED__*` overrides (e.g. consumer properties to try).
fn bench_config(brokers: &str, topic: &str) -> Config {
    let mut config = Config::from_toml_str("", "bench", std::env::vars()).unwrap_or_default();
    config.kafka.brokers = brokers.to_string();
    config.dedup_changelog.enabled = true;
    config.dedup_changelog.topic = topic.to_string();
    config
}

async fn create_topic(args: &ChangelogBenchArgs, changelog: &Changelog) -> Result<(), BenchError> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &args.brokers)
        .create()?;
    let settings = changelog.topic_settings();
    let mut new = NewTopic::new(
        changelog.topic(),
        args.partitions,
        TopicReplication::Fixed(1),
    );
    for (k, v) in &settings {
        new = new.set(k, v);
    }
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for r in admin.create_topics([&new], &opts).await? {
        if let Err((name, code)) = r {
            return Err(BenchError::Setup(format!(
                "cannot create topic {name}: {code}"
            )));
        }
    }
    // Already created with its settings: this only waits for the partition leaders.
    super::broker::create_topics(
        &args.brokers,
        &[(changelog.topic().to_string(), args.partitions)],
    )
    .await
}

fn measure(
    args: &ChangelogBenchArgs,
    topic: &str,
    config: &Config,
) -> Result<ChangelogReport, BenchError> {
    eprintln!("Filling {topic} with {} entries...", args.entries);
    let (fill_seconds, bytes) = fill(&args.brokers, topic, args.entries, config)?;
    eprintln!(
        "Filled in {fill_seconds:.1} s; restoring {} time(s)...",
        args.runs
    );
    let exe = std::env::current_exe()?;
    let mut runs = Vec::with_capacity(args.runs + 1);
    for i in 1..=args.runs + 1 {
        let replay = i > args.runs;
        let mut cmd = Command::new(&exe);
        cmd.args(["bench", "changelog", "--brokers", &args.brokers])
            .args(["--restore-only", topic]);
        if replay {
            cmd.arg("--in-partition-order");
        }
        let out = cmd
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()?;
        if !out.status.success() {
            return Err(BenchError::Setup(format!(
                "restore run {i} exited with {}",
                out.status
            )));
        }
        let run: RestoreRun = serde_json::from_slice(&out.stdout)?;
        eprintln!(
            "run {i} ({}): {} entries in {:.2} s, peak RSS {:.0} MB",
            run.kind,
            run.entries,
            run.seconds,
            run.peak_rss_mb.unwrap_or(f64::NAN)
        );
        runs.push(run);
    }
    Ok(ChangelogReport {
        brokers: args.brokers.clone(),
        topic: topic.to_string(),
        entries: args.entries,
        partitions: args.partitions,
        record_bytes: bytes as f64 / args.entries as f64,
        fill_seconds,
        fill_records_per_sec: args.entries as f64 / fill_seconds.max(1e-9),
        runs,
        target_seconds: TARGET_SECONDS,
        target_rss_mb: TARGET_RSS_MB,
        load_average_before: None,
        load_average_after: None,
    })
}

/// Entry `i` of the synthetic changelog: every field varies, story times spread over the
/// window so that all entries stay live.
pub fn synthetic_entry(i: u64, window_secs: u64, entries: u64, now: i64) -> Entry {
    let mut state = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xd1b5_4a32_d192_ed03;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut sketch = [0u16; BINS];
    for s in sketch.iter_mut() {
        *s = next() as u16;
    }
    let span = window_secs.saturating_sub(60).max(1);
    let age = (entries.saturating_sub(i + 1)).saturating_mul(span) / entries.max(1);
    Entry {
        id: format!("tag:bench.wirefeed,2024:{i:010}"),
        version: (i % 10 == 0).then_some(i % 7 + 1),
        at: now - age as i64,
        exact: next() | 1,
        shingles: 60 + (next() % 400) as u16,
        filled: u32::MAX,
        sketch,
        input: (next() % 65_535 + 1) as u16,
    }
}

fn fill(
    brokers: &str,
    topic: &str,
    entries: usize,
    config: &Config,
) -> Result<(f64, u64), BenchError> {
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "20")
        .set("batch.size", "1000000")
        .set("batch.num.messages", "10000")
        .create()?;
    let now = chrono::Utc::now().timestamp();
    let origin = 0x5eed;
    let started = Instant::now();
    let mut bytes = 0u64;
    for i in 0..entries as u64 {
        let e = synthetic_entry(i, config.dedup.window_secs, entries as u64, now);
        let value = wire::encode(&e, origin, true);
        bytes += (value.len() + e.id.len()) as u64;
        loop {
            let record = BaseRecord::<[u8], [u8]>::to(topic)
                .key(e.id.as_bytes())
                .payload(&value);
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err((e, _)) => return Err(e.into()),
            }
        }
    }
    producer.flush(Duration::from_secs(300))?;
    Ok((started.elapsed().as_secs_f64(), bytes))
}

/// The index of `n` synthetic entries built in memory: the index's own share of a restore.
fn index_only(n: usize) -> Result<RestoreRun, BenchError> {
    let config = Config::default();
    let rss_before_mb = system::rss_bytes().map(|b| b as f64 / 1e6);
    let cpu_before = system::process_cpu_seconds();
    let started = Instant::now();
    let mut index = DedupIndex::new(&config.dedup);
    index.reserve(n);
    let now = chrono::Utc::now().timestamp();
    for i in 0..n as u64 {
        let e = synthetic_entry(i, config.dedup.window_secs, n as u64, now);
        index.apply(e, 7, true);
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(RestoreRun {
        kind: "index only".into(),
        entries: index.len(),
        records: n as u64,
        mb_read: 0.0,
        seconds,
        entries_per_sec: n as f64 / seconds.max(1e-9),
        cpu_seconds: system::process_cpu_seconds()
            .zip(cpu_before)
            .map(|(a, b)| a - b),
        rss_before_mb,
        peak_rss_mb: system::peak_rss_bytes().map(|b| b as f64 / 1e6),
        rss_mb: system::rss_bytes().map(|b| b as f64 / 1e6),
        check_micros: 0.0,
    })
}

/// One restore into a fresh index, measured from inside this process.
fn restore_once(brokers: &str, topic: &str, replay: bool) -> Result<RestoreRun, BenchError> {
    let config = bench_config(brokers, topic);
    let changelog = Changelog::new(&config);
    let rss_before_mb = system::rss_bytes().map(|b| b as f64 / 1e6);
    let mut index = DedupIndex::new(&config.dedup);
    let cpu_before = system::process_cpu_seconds();
    let stop = CancellationToken::new();
    let stats = if replay {
        changelog.load_before(&mut index, i64::MAX, &stop)
    } else {
        changelog.restore(&mut index, &stop)
    }
    .map_err(|e| BenchError::Setup(e.to_string()))?;
    let cpu_seconds = system::process_cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let rss_mb = system::rss_bytes().map(|b| b as f64 / 1e6);
    let peak_rss_mb = system::peak_rss_bytes().map(|b| b as f64 / 1e6);
    // A few checks against the full index: restored means usable.
    let now = chrono::Utc::now();
    let started = Instant::now();
    let n = 2_000;
    for i in 0..n {
        let story = crate::model::Story {
            headline: Some(format!("Probe {i}")),
            body: format!(
                "Officials said on Tuesday that probe number {i} of the benchmark found the \
                 restored index answering, and that the figures would be published later."
            ),
            ..crate::model::Story::default()
        };
        index.check(&story, &format!("probe-{i}"), now);
    }
    let check_micros = started.elapsed().as_secs_f64() * 1e6 / n as f64;
    Ok(RestoreRun {
        kind: if replay { "replay" } else { "service" }.into(),
        entries: stats.entries,
        records: stats.records,
        mb_read: stats.bytes as f64 / 1e6,
        seconds: stats.seconds,
        entries_per_sec: stats.entries as f64 / stats.seconds.max(1e-9),
        cpu_seconds,
        rss_before_mb,
        peak_rss_mb,
        rss_mb,
        check_micros,
    })
}

pub fn print_table(r: &ChangelogReport, w: &mut impl std::io::Write) -> std::io::Result<()> {
    writeln!(
        w,
        "changelog restore: {} entries, {} partitions, {:.0} bytes per record (key + value)",
        r.entries, r.partitions, r.record_bytes
    )?;
    writeln!(
        w,
        "fill: {:.1} s ({:.0} records/s)",
        r.fill_seconds, r.fill_records_per_sec
    )?;
    writeln!(
        w,
        "| run | order | entries | seconds | CPU s | entries/s | MB read | RSS before MB | peak RSS MB | RSS after MB | check µs |"
    )?;
    writeln!(
        w,
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    )?;
    for (i, run) in r.runs.iter().enumerate() {
        writeln!(
            w,
            "| {} | {} | {} | {:.2} | {:.2} | {:.0} | {:.1} | {:.0} | {:.0} | {:.0} | {:.1} |",
            i + 1,
            run.kind,
            run.entries,
            run.seconds,
            run.cpu_seconds.unwrap_or(f64::NAN),
            run.entries_per_sec,
            run.mb_read,
            run.rss_before_mb.unwrap_or(f64::NAN),
            run.peak_rss_mb.unwrap_or(f64::NAN),
            run.rss_mb.unwrap_or(f64::NAN),
            run.check_micros
        )?;
    }
    writeln!(
        w,
        "targets: restore < {:.0} s, peak RSS < {:.0} MB",
        r.target_seconds, r.target_rss_mb
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_entries_are_live_and_distinct() {
        let now = 1_714_564_800;
        let window = 72 * 3600;
        let a = synthetic_entry(0, window, 1000, now);
        let b = synthetic_entry(999, window, 1000, now);
        assert_ne!(a.exact, b.exact);
        assert_ne!(a.sketch, b.sketch);
        assert_eq!(a.id.len(), 34);
        assert!(a.at < b.at && b.at == now);
        assert!(now - a.at < window as i64);
    }
}
