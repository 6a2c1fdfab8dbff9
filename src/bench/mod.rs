//! `wirefeed bench`: what this machine and broker allow, and what the pipeline gets of it.
//!
//! Against a real broker:
//! 1. N stories go into a fresh input topic as fast as the broker takes them;
//! 2. a pass-through copy (same clients, same offset handling, no stages) sets the ceiling;
//! 3. the service runs the full pipeline at-least-once, then exactly-once, each with its own
//!    group and output topics: stories/s from the first record consumed to the last one
//!    acknowledged (or committed), MB/s of input, CPU seconds per 1,000 stories (by thread
//!    group, and the local broker's), peak RSS;
//! 4. end-to-end latency at half the measured at-least-once rate, in a low-latency and a
//!    throughput client profile ([`LOW_LATENCY`], [`THROUGHPUT`]): from the moment a story
//!    was due to be sent to the moment the broker appended its enriched story (one clock);
//! 5. the stages alone on one thread.
//!
//! Each throughput mode (2, 3) runs in a fresh child process (`wirefeed bench --mode-spec`)
//! that builds the same `Service` `wirefeed run` builds and nothing else: its peak RSS and CPU
//! are the mode's own, not the corpus the benchmark holds or a heap an earlier mode left behind.
//! The latency runs share the benchmark's process with the paced producer and the probe.

pub mod broker;
pub mod changelog;
pub mod corpus;
pub mod passthrough;
pub mod stages;
pub mod system;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus::core::Collector;
use prometheus::IntCounterVec;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio_util::sync::CancellationToken;

use crate::admin::Health;
use crate::config::{Config, Delivery};
use crate::kafka::service::{RunOptions, RunSummary, Service, ServiceError};
use crate::metrics::Metrics;
use crate::model::DedupStatus;
use corpus::Corpus;

/// `wirefeed bench` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Bootstrap servers of a broker the benchmark may create and delete topics on.
    #[arg(long)]
    pub brokers: String,
    /// Stories in the throughput runs.
    #[arg(long, default_value_t = 200_000)]
    pub stories: usize,
    /// Where the JSON report goes.
    #[arg(long)]
    pub json: PathBuf,
    /// Partitions of the input topics.
    #[arg(long, default_value_t = 6)]
    pub partitions: i32,
    /// JSON Lines corpus (`.gz` allowed), one payload per line; synthetic stories when absent.
    #[arg(long, default_value = "../shared/data/reuters21578/train.jsonl.gz")]
    pub corpus: PathBuf,
    /// Length of each paced latency run.
    #[arg(long, default_value_t = 15)]
    pub latency_secs: u64,
    /// Offered loads of the latency runs, as fractions of the at-least-once maximum measured
    /// in the same client profile; repeat (or separate with commas) for a latency-versus-load
    /// curve.
    #[arg(long, value_delimiter = ',', default_value = "0.5")]
    pub latency_load: Vec<f64>,
    /// Offered loads of the latency runs in stories/s, instead of `--latency-load`; repeat
    /// (or separate with commas) for several.
    #[arg(long, value_delimiter = ',')]
    pub latency_rate: Vec<f64>,
    /// Paced runs at each offered load. The report shows the run with the median p99 (all of
    /// its figures, so they fit together) and lists every run's percentiles (`runs`): on this
    /// machine two runs of the same load can differ twofold in p99.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub latency_runs: u32,
    /// Stories in the single-thread stage run.
    #[arg(long, default_value_t = 50_000)]
    pub stage_stories: usize,
    /// Rounds of the throughput modes. Each round runs pass-through and the three pipeline
    /// modes back to back; a mode reports its median round, and its ratio is the median of
    /// its ratios to the same round's pass-through.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,
    /// Input records each mode may have consumed but not yet acknowledged (or committed).
    /// Far above the service's own 5,000 so that pass-through is not bound by it: with 20,000
    /// in flight it settled at about 85,000 stories/s, with 200,000 at 117,000–164,000. The
    /// pipeline modes, bound by CPU, never come near the limit (their peak RSS is unchanged).
    #[arg(long, default_value_t = 200_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_in_flight: u64,
    /// Stage threads of the service in every mode (`pipeline.stage_workers`); 0: one per
    /// available core, as the service's default.
    #[arg(long, default_value_t = 0)]
    pub stage_workers: usize,
    /// Process id of a broker on this machine, to report its CPU time per mode too; default:
    /// the one `scripts/kafka.sh` started (`target/kafka/kafka.pid`), when present.
    #[arg(long)]
    pub broker_pid: Option<u32>,
    /// Internal: run one measured mode described by this JSON file in this (fresh) process and
    /// print its report as JSON on standard output.
    #[arg(long, hide = true)]
    pub mode_spec: Option<PathBuf>,
}

impl BenchArgs {
    /// Arguments as the command line gives them, with a placeholder broker and report path.
    #[cfg(test)]
    fn try_parse_from_args(extra: &[&str]) -> BenchArgs {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            bench: BenchArgs,
        }
        let base = ["bench", "--brokers", "127.0.0.1:1", "--json", "x.json"];
        Cli::parse_from(base.iter().chain(extra)).bench
    }

    fn broker_pid(&self) -> Option<u32> {
        self.broker_pid.or_else(|| {
            std::fs::read_to_string("target/kafka/kafka.pid")
                .ok()?
                .trim()
                .parse()
                .ok()
        })
    }
}

#[derive(Debug, Error)]
pub enum BenchError {
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("service: {0}")]
    Service(#[from] ServiceError),
    #[error("stage tables: {0}")]
    Tables(#[from] crate::error::TableError),
    #[error("{0}")]
    Setup(String),
    #[error("cannot write the report: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot encode the report: {0}")]
    Json(#[from] serde_json::Error),
}

/// librdkafka settings of one client profile, applied on top of the service's own
/// (`kafka.producer_properties` / `kafka.consumer_properties`, exactly as a config file would).
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    pub name: &'static str,
    pub producer: &'static [(&'static str, &'static str)],
    pub consumer: &'static [(&'static str, &'static str)],
}

/// Big batches: a producer waits up to 20 ms to fill 1 MB; a fetch waits for 64 KB or 100 ms.
pub const THROUGHPUT: Profile = Profile {
    name: "throughput",
    producer: &[
        ("linger.ms", "20"),
        ("batch.size", "1000000"),
        ("batch.num.messages", "10000"),
    ],
    consumer: &[("fetch.min.bytes", "65536"), ("fetch.wait.max.ms", "100")],
};

/// Send within a millisecond, answer a fetch once 64 KB or 5 ms have gathered, no Nagle delay
/// on sockets. `linger.ms=1` rather than 0: with 0 every acknowledgement-bound send becomes
/// its own request, and at a few thousand stories/s the broker's request rate, not the
/// pipeline, becomes the bottleneck and queues build up. `fetch.min.bytes=65536` rather than
/// 1 for the same reason on the consuming side: with 1, each fetch came back with a few
/// stories, and the wake-ups it cost the broker, librdkafka, the service loop and the stage
/// threads kept 81–86 % of this machine busy at 10,000 stories/s (61–63 % with 64 KB).
pub const LOW_LATENCY: Profile = Profile {
    name: "low-latency",
    producer: &[("linger.ms", "1"), ("socket.nagle.disable", "true")],
    consumer: &[
        ("fetch.min.bytes", "65536"),
        ("fetch.wait.max.ms", "5"),
        ("fetch.error.backoff.ms", "5"),
        ("socket.nagle.disable", "true"),
    ],
};

/// The paced load's producer: the loader's (the throughput profile's). It stands for the
/// agencies upstream, which run on other machines; here it shares two vCPUs with the broker
/// and the service, so it batches to cost them little. Its batching is not in the measured
/// latency, which starts when the broker appends the story to the input topic.
const LOAD_PRODUCER: &[(&str, &str)] = THROUGHPUT.producer;

/// The at-least-once run in the low-latency profile.
const LOW_LATENCY_MODE: &str = "at-least-once-low-latency";

/// Records whose input was created within this long of the start of a latency run are left
/// out: the first fetches of a fresh topic are not steady state.
const LATENCY_WARMUP: Duration = Duration::from_secs(1);

/// Stories sent and waited for before a latency run's clock starts (see [`broker::paced`]).
const LATENCY_WARMUP_STORIES: usize = 50;

/// The whole report, as written to `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub brokers: String,
    pub stories: u64,
    pub partitions: i32,
    pub corpus: String,
    pub synthetic_corpus: bool,
    pub corpus_lines: usize,
    pub input_bytes: u64,
    pub mean_story_bytes: f64,
    pub load: Throughput,
    pub modes: Vec<ModeReport>,
    pub latency: Vec<LatencyReport>,
    pub stages: stages::StageReport,
    pub run_options: RunOptionsReport,
    pub throughput_profile: ProfileReport,
    pub rss_method: String,
    /// 1-minute load average before and after: other work on the machine skews every figure.
    pub load_average_before: Option<f64>,
    pub load_average_after: Option<f64>,
    pub cores: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    pub seconds: f64,
    pub stories_per_sec: f64,
    pub mb_per_sec: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModeReport {
    /// `passthrough`, `at-least-once`, `exactly-once` or `at-least-once-low-latency`.
    pub mode: String,
    /// The client profile it ran with.
    pub profile: String,
    pub stories: u64,
    /// False when the run stopped (idle) before every story was acknowledged.
    pub complete: bool,
    pub seconds: f64,
    pub stories_per_sec: f64,
    pub mb_per_sec: f64,
    pub ratio_to_passthrough: f64,
    pub cpu_seconds: Option<f64>,
    pub cpu_seconds_per_1k: Option<f64>,
    pub peak_rss_mb: Option<f64>,
    pub rss_before_mb: Option<f64>,
    /// Peak minus the RSS before the mode: what the mode itself added.
    pub peak_rss_delta_mb: Option<f64>,
    /// CPU seconds by thread group (`service`, `stages`, `librdkafka`, `other`): where the
    /// process's time went.
    pub cpu_seconds_by_thread: BTreeMap<String, f64>,
    /// CPU seconds of the local broker process during the mode, when its pid is known.
    pub broker_cpu_seconds: Option<f64>,
    pub summary: Option<RunSummary>,
    /// Every round of the mode, in the order run; the figures above are the median round's,
    /// except `ratio_to_passthrough` (the median of the rounds' ratios), `peak_rss_mb` (the
    /// highest) and `complete` (all rounds).
    #[serde(default)]
    pub rounds: Vec<RoundFigures>,
}

/// One round of one throughput mode.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RoundFigures {
    pub seconds: f64,
    pub stories_per_sec: f64,
    /// Against the pass-through of the same round.
    pub ratio_to_passthrough: f64,
    pub cpu_seconds_per_1k: Option<f64>,
    pub peak_rss_mb: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LatencyReport {
    pub profile: String,
    pub rate_per_sec: f64,
    /// Where the rate came from.
    pub rate_basis: String,
    pub seconds: f64,
    pub offered: u64,
    pub received: u64,
    pub samples: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub p999_ms: Option<f64>,
    pub max_ms: Option<f64>,
    /// How long after their slots the load generator sent stories (p99 and max): the offered
    /// load is only as even as this; latency is timed from the moment each was sent.
    pub load_late_p99_ms: Option<f64>,
    pub load_late_max_ms: Option<f64>,
    /// CPU seconds per 1,000 offered stories while the load was paced, of this whole process:
    /// the service, the load producer and the probe (`cpu_seconds_by_thread` splits it).
    pub cpu_seconds_per_1k: Option<f64>,
    pub cpu_seconds_by_thread: BTreeMap<String, f64>,
    /// The local broker's CPU seconds per 1,000 offered stories, when its pid is known.
    pub broker_cpu_seconds_per_1k: Option<f64>,
    /// The share of all this machine's cores that this process and the broker kept busy
    /// while paced. Near 1.0, stories wait for a core and the tail grows.
    pub machine_busy: Option<f64>,
    /// Context switches per offered story of this process's threads (those that ran
    /// throughout, and the load thread) and of the broker's.
    pub context_switches_per_story: Option<f64>,
    pub broker_context_switches_per_story: Option<f64>,
    pub settings: ProfileReport,
    /// Every run at this load, in the order they ran; the figures above are the median one's.
    pub runs: Vec<LatencyRunFigures>,
}

/// The percentiles of one paced run.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyRunFigures {
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub p999_ms: Option<f64>,
    pub machine_busy: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProfileReport {
    pub producer: BTreeMap<String, String>,
    pub consumer: BTreeMap<String, String>,
}

fn settings_map(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl From<&Profile> for ProfileReport {
    fn from(p: &Profile) -> Self {
        ProfileReport {
            producer: settings_map(p.producer),
            consumer: settings_map(p.consumer),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RunOptionsReport {
    pub max_in_flight: usize,
    /// Stage threads of the service (`--stage-workers`, 0 resolved to the cores).
    pub stage_workers: usize,
    pub commit_interval_ms: u128,
    pub max_batch: usize,
    /// The paced load's producer settings in the latency runs (both profiles).
    pub latency_load_producer: BTreeMap<String, String>,
}

/// Run the benchmark, print the tables, write the JSON report.
pub fn main(args: BenchArgs) -> Result<Option<Report>, BenchError> {
    let runtime = tokio::runtime::Runtime::new()?;
    if let Some(spec) = &args.mode_spec {
        let spec: ModeSpec = serde_json::from_slice(&std::fs::read(spec)?)?;
        let report = runtime.block_on(spec.run())?;
        println!("{}", serde_json::to_string(&report)?);
        return Ok(None);
    }
    let report = runtime.block_on(run(&args))?;
    print_tables(&report, &mut std::io::stdout())?;
    std::fs::write(&args.json, serde_json::to_string_pretty(&report)? + "\n")?;
    eprintln!("Report written to {}", args.json.display());
    Ok(Some(report))
}

/// Fresh names for one benchmark run's topics and groups.
struct Names {
    prefix: String,
    created: Vec<String>,
    latency_runs: usize,
}

impl Names {
    fn new() -> Names {
        Names {
            prefix: format!("wirefeed-bench-{}", broker::now_micros() / 1000),
            created: Vec::new(),
            latency_runs: 0,
        }
    }

    /// A name of its own for each latency run: a run must not read another's records, nor
    /// join its consumer group.
    fn latency_run(&mut self, profile: &str) -> String {
        self.latency_runs += 1;
        format!("latency-{profile}-{}", self.latency_runs)
    }

    fn topic(&self, what: &str) -> String {
        format!("{}.{what}", self.prefix)
    }
}

/// Output topics of one run.
struct Outputs {
    enriched: String,
    duplicates: String,
    dlq: String,
}

impl Outputs {
    fn topics(&self, partitions: i32) -> Vec<(String, i32)> {
        vec![
            (self.enriched.clone(), partitions),
            (self.duplicates.clone(), partitions),
            (self.dlq.clone(), 1),
        ]
    }
}

/// Create the output topics of `run`, with `settings` (such as [`broker::LOG_APPEND_TIME`]).
async fn outputs(
    args: &BenchArgs,
    names: &mut Names,
    run: &str,
    settings: &[(&str, &str)],
) -> Result<Outputs, BenchError> {
    let o = Outputs {
        enriched: names.topic(&format!("{run}.enriched")),
        duplicates: names.topic(&format!("{run}.duplicates")),
        dlq: names.topic(&format!("{run}.dlq")),
    };
    let topics = o.topics(args.partitions);
    broker::create_topics_with(&args.brokers, &topics, settings).await?;
    names.created.extend(topics.into_iter().map(|(t, _)| t));
    Ok(o)
}

async fn run(args: &BenchArgs) -> Result<Report, BenchError> {
    if args.stories == 0 || args.partitions < 1 {
        return Err(BenchError::Setup(
            "--stories and --partitions must be at least 1".into(),
        ));
    }
    let corpus = Arc::new(Corpus::load_or_synthetic(&args.corpus));
    if corpus.synthetic {
        eprintln!(
            "Corpus {} not available: using {}.",
            args.corpus.display(),
            corpus.origin
        );
    }
    let mut names = Names::new();
    let result = measure(args, corpus, &mut names).await;
    if let Err(e) = broker::delete_topics(&args.brokers, &names.created).await {
        eprintln!("Could not delete the benchmark topics: {e}");
    }
    result
}

async fn measure(
    args: &BenchArgs,
    corpus: Arc<Corpus>,
    names: &mut Names,
) -> Result<Report, BenchError> {
    let n = args.stories;
    let load_average_before = system::load_average();
    let input = names.topic("raw");
    broker::create_topics(&args.brokers, &[(input.clone(), args.partitions)]).await?;
    names.created.push(input.clone());

    eprintln!("Producing {n} stories into {input} ...");
    let mut load_config = broker::input_producer_config(&args.brokers, THROUGHPUT.producer);
    // A short queue keeps the loader's buffers (which the allocator keeps after it is done)
    // out of the peak RSS of the modes that follow.
    load_config.set("queue.buffering.max.messages", "20000");
    let (c, t) = (corpus.clone(), input.clone());
    let loaded = tokio::task::spawn_blocking(move || broker::load(&load_config, &t, &c, 0, n))
        .await
        .map_err(|e| BenchError::Setup(e.to_string()))??;
    let input_bytes = loaded.bytes;
    let load = Throughput {
        seconds: loaded.seconds,
        stories_per_sec: loaded.stories as f64 / loaded.seconds,
        mb_per_sec: input_bytes as f64 / 1e6 / loaded.seconds,
    };

    let options = run_options(args.max_in_flight as usize);

    // Pass-through first: it is the ceiling the pipeline modes are compared to. The last run
    // is the at-least-once pipeline again in the low-latency profile: what that profile
    // costs, and the maximum its latency run is paced against.
    let runs = [
        (
            ModeKind::Passthrough,
            Delivery::AtLeastOnce,
            "passthrough",
            &THROUGHPUT,
        ),
        (
            ModeKind::Service,
            Delivery::AtLeastOnce,
            delivery_label(Delivery::AtLeastOnce),
            &THROUGHPUT,
        ),
        (
            ModeKind::Service,
            Delivery::ExactlyOnce,
            delivery_label(Delivery::ExactlyOnce),
            &THROUGHPUT,
        ),
        (
            ModeKind::Service,
            Delivery::AtLeastOnce,
            LOW_LATENCY_MODE,
            &LOW_LATENCY,
        ),
    ];
    // Rounds rather than one long run: this machine's speed drifts by tens of percent from
    // minute to minute, and a ratio is only fair between runs made close together.
    let broker_pid = args.broker_pid();
    let mut rounds = Vec::new();
    for round in 1..=args.rounds {
        let mut reports = Vec::new();
        for &(kind, delivery, label, profile) in &runs {
            let what = match kind {
                ModeKind::Passthrough => "Pass-through".to_string(),
                ModeKind::Service => format!("Full pipeline, {label}"),
            };
            eprintln!("Round {round}/{}: {what} ...", args.rounds);
            let run = format!("{label}-{round}");
            let out = outputs(args, names, &run, &[]).await?;
            let config = service_config(args, &names.topic(&run), &input, &out, delivery, profile);
            let spec = ModeSpec {
                kind,
                label: label.into(),
                profile: profile.name.into(),
                config,
                output: out.enriched.clone(),
                expected: n as u64,
                input_bytes,
                broker_pid,
                max_in_flight: options.max_in_flight,
            };
            reports.push(spec.run_in_child(args).await?);
        }
        rounds.push(reports);
    }
    let modes = combine_rounds(rounds);

    // By default half load: half the at-least-once maximum measured in the same profile.
    let mut latency = Vec::new();
    for (profile, mode) in [(LOW_LATENCY, 3), (THROUGHPUT, 1)] {
        for (rate, basis) in latency_loads(args, &modes[mode]) {
            eprintln!(
                "Latency, {} profile, {rate:.0} stories/s ({basis}), {} runs of {} s ...",
                profile.name, args.latency_runs, args.latency_secs
            );
            let mut runs = Vec::new();
            for _ in 0..args.latency_runs {
                let load = (rate, basis.clone());
                runs.push(latency_run(args, names, &corpus, &profile, load, &options).await?);
            }
            latency.push(median_latency_run(runs));
        }
    }

    eprintln!("Stages on one thread ...");
    let stage_count = args.stage_stories.max(1);
    let c = corpus.clone();
    let stages = tokio::task::spawn_blocking(move || {
        stages::run(&Config::default().stages(), &c, stage_count)
    })
    .await
    .map_err(|e| BenchError::Setup(e.to_string()))??;

    Ok(Report {
        brokers: args.brokers.clone(),
        stories: n as u64,
        partitions: args.partitions,
        corpus: corpus.origin.clone(),
        synthetic_corpus: corpus.synthetic,
        corpus_lines: corpus.len(),
        input_bytes,
        mean_story_bytes: input_bytes as f64 / n as f64,
        load,
        modes,
        latency,
        stages,
        run_options: RunOptionsReport {
            max_in_flight: options.max_in_flight,
            stage_workers: crate::workers::StagePool::workers_for(args.stage_workers).get(),
            commit_interval_ms: options.commit_interval.as_millis(),
            max_batch: options.max_batch,
            latency_load_producer: settings_map(LOAD_PRODUCER),
        },
        throughput_profile: ProfileReport::from(&THROUGHPUT),
        rss_method: "VmHWM of a fresh process that runs only that mode (a `wirefeed bench` \
                     child: the service's clients and stages, no corpus); rss_before_mb is its \
                     RSS once started, before the mode"
            .into(),
        load_average_before,
        load_average_after: system::load_average(),
        cores: system::cores(),
    })
}

/// One report per mode from `rounds` (each round's modes in the same order, pass-through
/// first): the mode's median round by stories/s, with the median of its per-round ratios to
/// pass-through, its highest peak RSS and every round's figures.
fn combine_rounds(rounds: Vec<Vec<ModeReport>>) -> Vec<ModeReport> {
    let mut by_mode: Vec<Vec<ModeReport>> = Vec::new();
    for round in rounds {
        let ceiling = round.first().map_or(0.0, |p| p.stories_per_sec);
        for (i, mut m) in round.into_iter().enumerate() {
            m.ratio_to_passthrough = if ceiling > 0.0 {
                m.stories_per_sec / ceiling
            } else {
                0.0
            };
            if by_mode.len() <= i {
                by_mode.push(Vec::new());
            }
            by_mode[i].push(m);
        }
    }
    by_mode
        .into_iter()
        .map(|runs| {
            let figures: Vec<RoundFigures> = runs
                .iter()
                .map(|m| RoundFigures {
                    seconds: m.seconds,
                    stories_per_sec: m.stories_per_sec,
                    ratio_to_passthrough: m.ratio_to_passthrough,
                    cpu_seconds_per_1k: m.cpu_seconds_per_1k,
                    peak_rss_mb: m.peak_rss_mb,
                })
                .collect();
            let ratio = median(figures.iter().map(|f| f.ratio_to_passthrough).collect());
            let complete = runs.iter().all(|m| m.complete);
            let highest =
                |f: fn(&ModeReport) -> Option<f64>| runs.iter().filter_map(f).reduce(f64::max);
            let (peak, peak_delta) = (highest(|m| m.peak_rss_mb), highest(|m| m.peak_rss_delta_mb));
            let mut by_speed = runs;
            by_speed.sort_by(|a, b| a.stories_per_sec.total_cmp(&b.stories_per_sec));
            let mut m = by_speed.swap_remove((by_speed.len() - 1) / 2);
            m.ratio_to_passthrough = ratio;
            m.complete = complete;
            m.peak_rss_mb = peak;
            m.peak_rss_delta_mb = peak_delta;
            m.rounds = figures;
            m
        })
        .collect()
}

/// The median of `v` (the mean of the middle two when even); 0 when empty.
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The service's loop options with the benchmark's in-flight limit, for every mode alike.
fn run_options(max_in_flight: usize) -> RunOptions {
    RunOptions {
        max_in_flight,
        ..RunOptions::default()
    }
}

fn delivery_label(d: Delivery) -> &'static str {
    match d {
        Delivery::AtLeastOnce => "at-least-once",
        Delivery::ExactlyOnce => "exactly-once",
    }
}

/// The service's configuration for one run: fresh group and transactional id, the run's own
/// output topics, the profile's client settings, no metrics server.
fn service_config(
    args: &BenchArgs,
    group: &str,
    input: &str,
    out: &Outputs,
    delivery: Delivery,
    profile: &Profile,
) -> Config {
    let mut c = Config::default();
    c.kafka.brokers = args.brokers.clone();
    c.kafka.group_id = group.to_string();
    c.kafka.input_topics = vec![input.to_string()];
    c.kafka.delivery = delivery;
    c.kafka.transactional_id = Some(format!("{group}-txn"));
    for (k, v) in profile.producer {
        c.kafka
            .producer_properties
            .insert(k.to_string(), v.to_string());
    }
    for (k, v) in profile.consumer {
        c.kafka
            .consumer_properties
            .insert(k.to_string(), v.to_string());
    }
    c.output.topic = out.enriched.clone();
    c.output.duplicates_topic = out.duplicates.clone();
    c.output.dead_letter_topic = out.dlq.clone();
    c.metrics.listen = String::new();
    c.pipeline.stage_workers = args.stage_workers;
    c
}

/// CPU time of this process (by thread group) and of the local broker over a stretch of
/// the run, with both sides' context switches.
struct CpuSpan {
    started: Instant,
    cpu: Option<f64>,
    threads: BTreeMap<&'static str, f64>,
    switches: Option<u64>,
    broker: Option<BrokerCost>,
}

/// The broker's CPU seconds and context switches.
#[derive(Clone, Copy)]
struct BrokerCost {
    pid: u32,
    cpu: f64,
    switches: Option<u64>,
}

impl BrokerCost {
    fn now(pid: u32) -> Option<BrokerCost> {
        Some(BrokerCost {
            pid,
            cpu: system::pid_cpu_seconds(pid)?,
            switches: system::pid_context_switches(pid),
        })
    }
}

/// What a [`CpuSpan`] measured.
struct CpuUse {
    wall_seconds: f64,
    process_seconds: Option<f64>,
    by_thread: BTreeMap<String, f64>,
    /// Of the threads alive at both ends, and of those claimed with [`CpuUse::claim_exited`].
    process_switches: Option<u64>,
    broker_seconds: Option<f64>,
    broker_switches: Option<u64>,
}

impl CpuSpan {
    fn start(broker_pid: Option<u32>) -> CpuSpan {
        CpuSpan {
            started: Instant::now(),
            cpu: system::process_cpu_seconds(),
            threads: system::thread_cpu_seconds_by_group(),
            switches: system::pid_context_switches(std::process::id()),
            broker: broker_pid.and_then(BrokerCost::now),
        }
    }

    fn finish(self) -> CpuUse {
        let process_seconds = match (self.cpu, system::process_cpu_seconds()) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        };
        let mut by_thread: BTreeMap<String, f64> = system::thread_cpu_seconds_by_group()
            .into_iter()
            .map(|(group, now)| {
                let before = self.threads.get(group).copied().unwrap_or(0.0);
                (group.to_string(), (now - before).max(0.0))
            })
            .collect();
        // Threads that ended meanwhile (Kafka clients' librdkafka threads, mostly) are only
        // in the process total.
        if let Some(cpu) = process_seconds {
            let live: f64 = by_thread.values().sum();
            by_thread.insert("exited".into(), (cpu - live).max(0.0));
        }
        let since = |before: Option<u64>, now: Option<u64>| Some(now?.saturating_sub(before?));
        let broker = self
            .broker
            .and_then(|before| Some((before, BrokerCost::now(before.pid)?)));
        CpuUse {
            wall_seconds: self.started.elapsed().as_secs_f64(),
            process_seconds,
            by_thread,
            process_switches: since(
                self.switches,
                system::pid_context_switches(std::process::id()),
            ),
            broker_seconds: broker.map(|(before, now)| now.cpu - before.cpu),
            broker_switches: broker.and_then(|(before, now)| since(before.switches, now.switches)),
        }
    }
}

impl CpuUse {
    /// Report `seconds` and `switches` of a thread that has exited under its own `group`
    /// rather than in "exited".
    fn claim_exited(&mut self, group: &str, seconds: f64, switches: Option<u64>) {
        if let Some(exited) = self.by_thread.get_mut("exited") {
            *exited = (*exited - seconds).max(0.0);
        }
        self.by_thread.insert(group.into(), seconds);
        if let (Some(total), Some(own)) = (self.process_switches.as_mut(), switches) {
            *total += own;
        }
    }

    /// The share of all `cores` that this process and the broker kept busy.
    fn machine_busy(&self, cores: usize) -> Option<f64> {
        let cpu = self.process_seconds? + self.broker_seconds?;
        Some(cpu / (self.wall_seconds.max(1e-9) * cores.max(1) as f64))
    }
}

/// CPU and memory around one mode.
struct Probe {
    cpu: CpuSpan,
    rss_before: Option<u64>,
}

impl Probe {
    fn start(broker_pid: Option<u32>) -> Probe {
        if !system::reset_peak_rss() {
            tracing::warn!("Cannot reset the peak RSS; it covers the whole process lifetime.");
        }
        Probe {
            cpu: CpuSpan::start(broker_pid),
            rss_before: system::rss_bytes(),
        }
    }

    fn finish(
        self,
        mode: &str,
        stories: u64,
        complete: bool,
        wall: Duration,
        input_bytes: u64,
        summary: Option<RunSummary>,
    ) -> ModeReport {
        let used = self.cpu.finish();
        let cpu = used.process_seconds;
        let seconds = wall.as_secs_f64().max(1e-9);
        let peak = system::peak_rss_bytes();
        let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
        ModeReport {
            mode: mode.to_string(),
            profile: String::new(),
            stories,
            complete,
            seconds,
            stories_per_sec: stories as f64 / seconds,
            mb_per_sec: input_bytes as f64 / 1e6 / seconds,
            ratio_to_passthrough: 1.0,
            cpu_seconds: cpu,
            cpu_seconds_per_1k: cpu.map(|c| c * 1000.0 / stories.max(1) as f64),
            peak_rss_mb: peak.map(mb),
            rss_before_mb: self.rss_before.map(mb),
            peak_rss_delta_mb: match (peak, self.rss_before) {
                (Some(p), Some(b)) => Some(mb(p.saturating_sub(b))),
                _ => None,
            },
            cpu_seconds_by_thread: used.by_thread,
            broker_cpu_seconds: used.broker_seconds,
            summary,
            rounds: Vec::new(),
        }
    }
}

/// Sum of a counter over all its label values.
fn total(counter: &IntCounterVec) -> u64 {
    counter
        .collect()
        .iter()
        .flat_map(|family| family.get_metric())
        .map(|m| m.get_counter().get_value() as u64)
        .sum()
}

/// Inputs fully handled: published (acknowledged, or committed in exactly-once mode) or
/// dead-lettered. The published counters are resolved once: the watcher reads them every
/// millisecond inside the mode it measures.
struct Settled {
    published: Vec<prometheus::IntCounter>,
    dead_letters: IntCounterVec,
}

impl Settled {
    fn new(metrics: &Metrics) -> Settled {
        let published = [
            DedupStatus::Unique,
            DedupStatus::Duplicate,
            DedupStatus::Update,
        ]
        .iter()
        .map(|s| metrics.stories_published.with_label_values(&[s.as_str()]))
        .collect();
        Settled {
            published,
            dead_letters: metrics.dead_letters.clone(),
        }
    }

    fn count(&self) -> u64 {
        self.published.iter().map(|c| c.get()).sum::<u64>() + total(&self.dead_letters)
    }
}

/// Watches the service's metrics every millisecond: when the first story was consumed, when
/// the last one settled; stops the service once all `expected` stories settled.
async fn watch(
    metrics: Arc<Metrics>,
    input: String,
    expected: u64,
    shutdown: CancellationToken,
) -> (Option<Instant>, Option<Instant>, Instant) {
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let consumed = metrics.stories_consumed.with_label_values(&[&input]);
    let settled = Settled::new(&metrics);
    let (mut first, mut done) = (None, None);
    let (mut last, mut last_change) = (0, Instant::now());
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        let now = Instant::now();
        if first.is_none() && consumed.get() > 0 {
            first = Some(now);
        }
        let s = settled.count();
        if s != last {
            (last, last_change) = (s, now);
        }
        if s >= expected {
            done = Some(now);
            shutdown.cancel();
            break;
        }
    }
    (first, done, last_change)
}

/// Which loop a measured mode runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum ModeKind {
    Passthrough,
    Service,
}

/// One throughput mode, as handed to the child process that measures it: each mode runs in a
/// fresh process so that its peak RSS and CPU are its own, not the benchmark's corpus or the
/// heap an earlier mode left behind.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ModeSpec {
    kind: ModeKind,
    label: String,
    profile: String,
    config: Config,
    /// Pass-through: the topic it copies to.
    output: String,
    expected: u64,
    input_bytes: u64,
    broker_pid: Option<u32>,
    max_in_flight: usize,
}

impl ModeSpec {
    /// Run this mode in a child `wirefeed bench` process and read back its report.
    async fn run_in_child(&self, args: &BenchArgs) -> Result<ModeReport, BenchError> {
        let path = std::env::temp_dir().join(format!(
            "wirefeed-bench-{}-{}.json",
            std::process::id(),
            self.label
        ));
        std::fs::write(&path, serde_json::to_vec(self)?)?;
        let exe = std::env::current_exe()?;
        let child = tokio::process::Command::new(exe)
            .args(["bench", "--brokers", &args.brokers, "--json"])
            .arg(std::env::temp_dir().join("wirefeed-bench-child.json"))
            .arg("--mode-spec")
            .arg(&path)
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .output()
            .await;
        let _ = std::fs::remove_file(&path);
        let out = child?;
        if !out.status.success() {
            return Err(BenchError::Setup(format!(
                "the {} run exited with {}",
                self.label, out.status
            )));
        }
        Ok(serde_json::from_slice(&out.stdout)?)
    }

    /// Measure the mode in this process.
    async fn run(self) -> Result<ModeReport, BenchError> {
        let profile = self.profile.clone();
        let mut report = self.measure().await?;
        report.profile = profile;
        Ok(report)
    }

    async fn measure(self) -> Result<ModeReport, BenchError> {
        let options = run_options(self.max_in_flight);
        match self.kind {
            ModeKind::Passthrough => {
                let probe = Probe::start(self.broker_pid);
                let copied = passthrough::run(
                    &self.config.kafka,
                    &self.output,
                    self.expected,
                    options.max_in_flight,
                )
                .await?;
                Ok(probe.finish(
                    &self.label,
                    copied.consumed,
                    true,
                    copied.last_ack.duration_since(copied.first),
                    self.input_bytes,
                    None,
                ))
            }
            ModeKind::Service => {
                service_mode(
                    self.config,
                    &self.label,
                    self.expected,
                    self.input_bytes,
                    &options,
                    self.broker_pid,
                )
                .await
            }
        }
    }
}

async fn service_mode(
    config: Config,
    label: &str,
    expected: u64,
    input_bytes: u64,
    options: &RunOptions,
    broker_pid: Option<u32>,
) -> Result<ModeReport, BenchError> {
    let input = config.kafka.input_topics[0].clone();
    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(Health::new(metrics.clone()));
    let service = Service::new(config, metrics.clone(), health)?;
    let shutdown = CancellationToken::new();
    let probe = Probe::start(broker_pid);
    let watcher = tokio::spawn(watch(metrics, input, expected, shutdown.clone()));
    let options = RunOptions {
        exit_when_idle: Some(Duration::from_secs(15)),
        ..options.clone()
    };
    let result = service.run(shutdown.clone(), options).await;
    shutdown.cancel();
    let (first, done, last_change) = watcher
        .await
        .map_err(|e| BenchError::Setup(e.to_string()))?;
    let summary = result?;
    let first = first.unwrap_or(last_change);
    let end = done.unwrap_or(last_change);
    Ok(probe.finish(
        label,
        summary.consumed.min(expected),
        done.is_some(),
        end.saturating_duration_since(first),
        input_bytes,
        Some(summary),
    ))
}

/// The offered loads of the latency runs of one profile, whose at-least-once maximum is
/// `maximum`, each with the words that say where it came from.
fn latency_loads(args: &BenchArgs, maximum: &ModeReport) -> Vec<(f64, String)> {
    let loads: Vec<(f64, String)> = if args.latency_rate.is_empty() {
        args.latency_load
            .iter()
            .map(|&f| {
                let basis = match f {
                    0.5 => format!("half the {} maximum", maximum.mode),
                    _ => format!("{f} x the {} maximum", maximum.mode),
                };
                (maximum.stories_per_sec * f, basis)
            })
            .collect()
    } else {
        args.latency_rate
            .iter()
            .map(|&r| (r, "--latency-rate".to_string()))
            .collect()
    };
    loads.into_iter().map(|(r, b)| (r.max(1.0), b)).collect()
}

/// Paced input at `rate` (its basis goes into the report) into a fresh topic while the
/// service runs at-least-once and a probe reads its outputs.
async fn latency_run(
    args: &BenchArgs,
    names: &mut Names,
    corpus: &Arc<Corpus>,
    profile: &Profile,
    (rate, rate_basis): (f64, String),
    options: &RunOptions,
) -> Result<LatencyReport, BenchError> {
    let run = names.latency_run(profile.name);
    let input = names.topic(&format!("{run}.raw"));
    // Both ends on the broker's append time: the latency is the pipeline's, from the moment a
    // story is readable in its input topic to the moment its enriched record is readable.
    let stamped = [broker::LOG_APPEND_TIME];
    let topics = [(input.clone(), args.partitions)];
    broker::create_topics_with(&args.brokers, &topics, &stamped).await?;
    names.created.push(input.clone());
    let out = outputs(args, names, &run, &stamped).await?;
    let config = service_config(
        args,
        &names.topic(&run),
        &input,
        &out,
        Delivery::AtLeastOnce,
        profile,
    );
    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(Health::new(metrics.clone()));
    let service = Arc::new(Service::new(config, metrics, health.clone())?);
    let shutdown = CancellationToken::new();
    let running = {
        let (service, shutdown, options) = (service.clone(), shutdown.clone(), options.clone());
        tokio::spawn(async move { service.run(shutdown, options).await })
    };
    let ready_by = Instant::now() + Duration::from_secs(60);
    while !health.is_ready() {
        if Instant::now() > ready_by || running.is_finished() {
            shutdown.cancel();
            running
                .await
                .map_err(|e| BenchError::Setup(e.to_string()))??;
            return Err(BenchError::Setup(
                "the service did not join its group".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let probe = broker::LatencyProbe::start(&args.brokers, &out.topics(args.partitions))?;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let count = ((rate * args.latency_secs as f64).ceil() as usize).max(1);
    let warm_up = LATENCY_WARMUP_STORIES;
    let producer_config = broker::input_producer_config(&args.brokers, LOAD_PRODUCER);
    let (c, t) = (corpus.clone(), input.clone());
    // Ids past the throughput runs' so no story repeats an earlier id.
    let first_id = args.stories;
    let cpu = CpuSpan::start(args.broker_pid());
    let load = std::thread::Builder::new()
        .name(system::LOAD_THREAD.into())
        .spawn(move || {
            let produced = broker::paced(&producer_config, &t, &c, first_id, warm_up, count, rate);
            let own = (
                system::thread_cpu_seconds(),
                system::thread_context_switches(),
            );
            (produced, own)
        })
        .map_err(|e| BenchError::Setup(format!("cannot start the load thread: {e}")))?;
    let produced = tokio::task::spawn_blocking(move || load.join())
        .await
        .map_err(|e| BenchError::Setup(e.to_string()))?
        .map_err(|_| BenchError::Setup("the load thread panicked".into()))?;
    let (produced, (load_cpu, load_switches)) = produced;
    let mut cpu = cpu.finish();
    if let Some(load) = load_cpu {
        cpu.claim_exited("load", load, load_switches);
    }
    let expected = (warm_up + count) as u64;
    let drain_by = Instant::now() + Duration::from_secs(30);
    while probe.seen() < expected && Instant::now() < drain_by {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let received = probe.seen().saturating_sub(warm_up as u64);
    let samples = probe.finish();
    shutdown.cancel();
    running
        .await
        .map_err(|e| BenchError::Setup(e.to_string()))??;
    let produced = produced?;
    let samples = samples?;
    let started_us = produced.started_us;

    let warm_until = started_us + LATENCY_WARMUP.as_micros() as i64;
    let mut latencies: Vec<i64> = samples
        .iter()
        .filter(|s| s.created_us >= warm_until)
        .map(|s| s.latency_us)
        .collect();
    latencies.sort_unstable();
    let ms = |p: f64| percentile(&latencies, p).map(|us| us as f64 / 1000.0);
    let per_1k = |seconds: f64| seconds * 1000.0 / (warm_up + count) as f64;
    let per_story = |switches: u64| switches as f64 / (warm_up + count) as f64;
    let machine_busy = cpu.machine_busy(system::cores());
    Ok(LatencyReport {
        profile: profile.name.to_string(),
        rate_per_sec: rate,
        rate_basis,
        seconds: produced.seconds,
        offered: produced.stories,
        received,
        samples: latencies.len() as u64,
        p50_ms: ms(0.50),
        p99_ms: ms(0.99),
        p999_ms: ms(0.999),
        max_ms: latencies.last().map(|us| *us as f64 / 1000.0),
        load_late_p99_ms: percentile(&produced.lateness_us, 0.99).map(|us| us as f64 / 1000.0),
        load_late_max_ms: produced.lateness_us.last().map(|us| *us as f64 / 1000.0),
        cpu_seconds_per_1k: cpu.process_seconds.map(per_1k),
        cpu_seconds_by_thread: cpu.by_thread,
        broker_cpu_seconds_per_1k: cpu.broker_seconds.map(per_1k),
        machine_busy,
        context_switches_per_story: cpu.process_switches.map(per_story),
        broker_context_switches_per_story: cpu.broker_switches.map(per_story),
        settings: ProfileReport::from(profile),
        runs: Vec::new(),
    })
}

/// The run with the median p99 (the lower middle one of an even count), with every run's
/// figures attached. A run without samples sorts last.
fn median_latency_run(mut runs: Vec<LatencyReport>) -> LatencyReport {
    let figures: Vec<LatencyRunFigures> = runs
        .iter()
        .map(|r| LatencyRunFigures {
            p50_ms: r.p50_ms,
            p99_ms: r.p99_ms,
            p999_ms: r.p999_ms,
            machine_busy: r.machine_busy,
        })
        .collect();
    runs.sort_by(|a, b| {
        let p99 = |r: &LatencyReport| r.p99_ms.unwrap_or(f64::INFINITY);
        p99(a).total_cmp(&p99(b))
    });
    let mut median = runs.swap_remove((runs.len() - 1) / 2);
    median.runs = figures;
    median
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// Under `heading`, one line per label with its repeats' figures, when anything repeated.
fn write_repeats(
    w: &mut impl std::io::Write,
    heading: &str,
    rows: impl Iterator<Item = (String, Vec<String>)>,
) -> std::io::Result<()> {
    let rows: Vec<_> = rows.collect();
    if rows.iter().all(|(_, figures)| figures.len() <= 1) {
        return Ok(());
    }
    writeln!(w, "\n{heading}:")?;
    for (label, figures) in rows {
        writeln!(w, "{label:<26} {}", figures.join(", "))?;
    }
    Ok(())
}

/// A share as a whole percentage.
fn percent(share: Option<f64>) -> String {
    opt(share.map(|b| b * 100.0), 0)
}

fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map(|v| format!("{v:.decimals$}"))
        .unwrap_or_else(|| "-".into())
}

/// `group seconds{unit}` for each thread group, comma-separated.
fn thread_groups(by_thread: &BTreeMap<String, f64>, unit: &str) -> String {
    by_thread
        .iter()
        .map(|(g, s)| format!("{g} {s:.2}{unit}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The human-readable summary.
pub fn print_tables(r: &Report, w: &mut impl std::io::Write) -> std::io::Result<()> {
    writeln!(
        w,
        "{} stories ({:.0} bytes on average) from {}, {} partitions, broker {}",
        r.stories, r.mean_story_bytes, r.corpus, r.partitions, r.brokers
    )?;
    writeln!(
        w,
        "{} cores, load average {} before, {} after; {} stage threads, {} records in flight",
        r.cores,
        opt(r.load_average_before, 1),
        opt(r.load_average_after, 1),
        r.run_options.stage_workers,
        r.run_options.max_in_flight
    )?;
    writeln!(
        w,
        "input produced in {:.2} s ({:.0} stories/s, {:.1} MB/s)\n",
        r.load.seconds, r.load.stories_per_sec, r.load.mb_per_sec
    )?;
    writeln!(
        w,
        "{:<26} {:>9} {:>8} {:>11} {:>7} {:>7} {:>10} {:>12} {:>10}",
        "mode",
        "stories",
        "seconds",
        "stories/s",
        "MB/s",
        "ratio",
        "cpu s/1k",
        "peak RSS MB",
        "(+ in mode)"
    )?;
    for m in &r.modes {
        writeln!(
            w,
            "{:<26} {:>9} {:>8.2} {:>11.0} {:>7.1} {:>7.2} {:>10} {:>12} {:>10}{}",
            m.mode,
            m.stories,
            m.seconds,
            m.stories_per_sec,
            m.mb_per_sec,
            m.ratio_to_passthrough,
            opt(m.cpu_seconds_per_1k, 3),
            opt(m.peak_rss_mb, 0),
            opt(m.peak_rss_delta_mb, 0),
            if m.complete { "" } else { "  (incomplete)" }
        )?;
    }
    write_repeats(
        w,
        "rounds (stories/s and ratio to the same round's pass-through; the table shows the median)",
        r.modes.iter().map(|m| {
            let rounds = m
                .rounds
                .iter()
                .map(|f| format!("{:.0} ({:.2})", f.stories_per_sec, f.ratio_to_passthrough));
            (m.mode.clone(), rounds.collect())
        }),
    )?;
    writeln!(w, "\ncpu seconds by thread group (and the broker process):")?;
    for m in &r.modes {
        let groups = thread_groups(&m.cpu_seconds_by_thread, "");
        writeln!(
            w,
            "{:<26} {}; broker {}",
            m.mode,
            groups,
            opt(m.broker_cpu_seconds, 2)
        )?;
    }
    writeln!(
        w,
        "\n{:<12} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>13}  rate",
        "latency", "rate/s", "samples", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "load late ms"
    )?;
    for l in &r.latency {
        writeln!(
            w,
            "{:<12} {:>10.0} {:>9} {:>9} {:>9} {:>9} {:>9} {:>13}  {}",
            l.profile,
            l.rate_per_sec,
            l.samples,
            opt(l.p50_ms, 1),
            opt(l.p99_ms, 1),
            opt(l.p999_ms, 1),
            opt(l.max_ms, 1),
            format!(
                "{}/{}",
                opt(l.load_late_p99_ms, 1),
                opt(l.load_late_max_ms, 1)
            ),
            l.rate_basis
        )?;
    }
    write_repeats(
        w,
        "latency runs (p99 ms, machine busy %; the table shows the median run)",
        r.latency.iter().map(|l| {
            let runs = l
                .runs
                .iter()
                .map(|f| format!("{} ({} %)", opt(f.p99_ms, 1), percent(f.machine_busy)));
            let load = format!("{} {:.0}/s", l.profile, l.rate_per_sec);
            (load, runs.collect())
        }),
    )?;
    writeln!(
        w,
        "\ncpu s per 1k stories while paced (this process: service, load, probe; and the broker):"
    )?;
    for l in &r.latency {
        let groups = thread_groups(&l.cpu_seconds_by_thread, " s");
        writeln!(
            w,
            "{:<12} {} ({}); broker {}; machine busy {} %; context switches per story {} + broker {}",
            l.profile,
            opt(l.cpu_seconds_per_1k, 3),
            groups,
            opt(l.broker_cpu_seconds_per_1k, 3),
            percent(l.machine_busy),
            opt(l.context_switches_per_story, 2),
            opt(l.broker_context_switches_per_story, 2)
        )?;
    }
    let s = &r.stages;
    writeln!(
        w,
        "\nstages on one thread: {} stories, {:.0} stories/s ({} per CPU second), {:.1} us each, {} rejected",
        s.stories,
        s.stories_per_sec,
        opt(s.stories_per_cpu_sec, 0),
        s.mean_micros,
        s.rejected
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<i64> = (1..=1000).collect();
        assert_eq!(percentile(&v, 0.5), Some(500));
        assert_eq!(percentile(&v, 0.99), Some(990));
        assert_eq!(percentile(&v, 0.999), Some(999));
        assert_eq!(percentile(&[7], 0.999), Some(7));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn profiles_reach_the_clients_through_the_config() {
        let args = BenchArgs {
            brokers: "127.0.0.1:1".into(),
            stories: 1,
            json: "x.json".into(),
            partitions: 1,
            corpus: "c".into(),
            latency_secs: 1,
            latency_load: vec![0.5],
            latency_rate: vec![],
            latency_runs: 1,
            stage_stories: 1,
            rounds: 1,
            max_in_flight: 1,
            stage_workers: 1,
            broker_pid: None,
            mode_spec: None,
        };
        let out = Outputs {
            enriched: "e".into(),
            duplicates: "d".into(),
            dlq: "q".into(),
        };
        let c = service_config(&args, "g", "in", &out, Delivery::ExactlyOnce, &LOW_LATENCY);
        assert!(c.validate().is_empty(), "{:?}", c.validate());
        let producer = crate::kafka::client::producer(&c.kafka, Some("t"));
        assert_eq!(producer.get("linger.ms"), Some("1"));
        assert_eq!(producer.get("enable.idempotence"), Some("true"));
        let consumer = crate::kafka::client::consumer(&c.kafka);
        assert_eq!(consumer.get("fetch.wait.max.ms"), Some("5"));
        assert_eq!(consumer.get("fetch.min.bytes"), Some("65536"));
        assert_eq!(consumer.get("group.id"), Some("g"));
        assert_eq!(c.pipeline.stage_workers, 1);
    }

    fn mode(name: &str, stories_per_sec: f64, peak_rss_mb: f64, complete: bool) -> ModeReport {
        ModeReport {
            mode: name.into(),
            profile: "throughput".into(),
            stories: 100,
            complete,
            seconds: 100.0 / stories_per_sec,
            stories_per_sec,
            mb_per_sec: 1.0,
            ratio_to_passthrough: 1.0,
            cpu_seconds: None,
            cpu_seconds_per_1k: Some(stories_per_sec / 1000.0),
            peak_rss_mb: Some(peak_rss_mb),
            rss_before_mb: None,
            peak_rss_delta_mb: Some(peak_rss_mb / 2.0),
            cpu_seconds_by_thread: BTreeMap::new(),
            broker_cpu_seconds: None,
            summary: None,
            rounds: Vec::new(),
        }
    }

    #[test]
    fn rounds_combine_into_the_median_round_and_the_median_ratio() {
        let rounds = vec![
            vec![
                mode("passthrough", 100.0, 10.0, true),
                mode("al", 50.0, 30.0, true),
            ],
            vec![
                mode("passthrough", 200.0, 12.0, true),
                mode("al", 60.0, 20.0, false),
            ],
            vec![
                mode("passthrough", 80.0, 11.0, true),
                mode("al", 40.0, 25.0, true),
            ],
        ];
        let modes = combine_rounds(rounds);
        assert_eq!(modes.len(), 2);
        let (pass, al) = (&modes[0], &modes[1]);
        assert_eq!(pass.stories_per_sec, 100.0);
        assert_eq!(pass.ratio_to_passthrough, 1.0);
        assert_eq!(pass.peak_rss_mb, Some(12.0));
        assert!(pass.complete);
        // Ratios by round: 0.5, 0.3, 0.5; the median round by speed is the 50/s one.
        assert_eq!(al.ratio_to_passthrough, 0.5);
        assert_eq!(al.stories_per_sec, 50.0);
        assert_eq!(al.cpu_seconds_per_1k, Some(0.05));
        assert_eq!(al.peak_rss_mb, Some(30.0));
        assert_eq!(al.peak_rss_delta_mb, Some(15.0));
        assert!(!al.complete, "one round did not finish");
        let ratios: Vec<f64> = al.rounds.iter().map(|r| r.ratio_to_passthrough).collect();
        assert_eq!(ratios, [0.5, 0.3, 0.5]);
        let speeds: Vec<f64> = al.rounds.iter().map(|r| r.stories_per_sec).collect();
        assert_eq!(speeds, [50.0, 60.0, 40.0], "in the order run");
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(Vec::new()), 0.0);
        // The lower middle round represents an even count.
        let rounds = vec![
            vec![mode("passthrough", 100.0, 1.0, true)],
            vec![mode("passthrough", 300.0, 1.0, true)],
        ];
        assert_eq!(combine_rounds(rounds)[0].stories_per_sec, 100.0);
    }

    fn latency(p99_ms: Option<f64>, busy: f64) -> LatencyReport {
        LatencyReport {
            profile: "low-latency".into(),
            rate_per_sec: 1000.0,
            rate_basis: "--latency-rate".into(),
            seconds: 1.0,
            offered: 1000,
            received: 1000,
            samples: 1000,
            p50_ms: p99_ms.map(|p| p / 2.0),
            p99_ms,
            p999_ms: p99_ms.map(|p| p * 2.0),
            max_ms: p99_ms,
            load_late_p99_ms: None,
            load_late_max_ms: None,
            cpu_seconds_per_1k: None,
            cpu_seconds_by_thread: BTreeMap::new(),
            broker_cpu_seconds_per_1k: None,
            machine_busy: Some(busy),
            context_switches_per_story: None,
            broker_context_switches_per_story: None,
            settings: ProfileReport::from(&LOW_LATENCY),
            runs: Vec::new(),
        }
    }

    #[test]
    fn latency_reports_the_median_run_whole_and_lists_every_run() {
        let runs = vec![
            latency(Some(64.0), 0.9),
            latency(Some(26.0), 0.7),
            latency(None, 1.0),
            latency(Some(30.0), 0.8),
            latency(Some(35.0), 0.85),
        ];
        let median = median_latency_run(runs);
        assert_eq!(median.p99_ms, Some(35.0));
        // Every figure is that run's own.
        assert_eq!(
            (median.p50_ms, median.machine_busy),
            (Some(17.5), Some(0.85))
        );
        let p99s: Vec<_> = median.runs.iter().map(|f| f.p99_ms).collect();
        assert_eq!(p99s, [Some(64.0), Some(26.0), None, Some(30.0), Some(35.0)]);
        let two = median_latency_run(vec![latency(Some(40.0), 0.9), latency(Some(20.0), 0.5)]);
        assert_eq!(two.p99_ms, Some(20.0));
        assert_eq!(
            median_latency_run(vec![latency(Some(9.0), 0.1)]).runs.len(),
            1
        );
        assert_eq!(BenchArgs::try_parse_from_args(&[]).latency_runs, 3);
    }

    #[test]
    fn latency_loads_are_fractions_of_the_maximum_unless_rates_are_given() {
        let mut args = BenchArgs::try_parse_from_args(&["--latency-load", "0.25,0.5"]);
        let maximum: ModeReport = serde_json::from_value(serde_json::json!({
            "mode": "at-least-once", "profile": "throughput", "stories": 1, "complete": true,
            "seconds": 1.0, "stories_per_sec": 20000.0, "mb_per_sec": 1.0,
            "ratio_to_passthrough": 1.0, "cpu_seconds": null, "cpu_seconds_per_1k": null,
            "peak_rss_mb": null, "rss_before_mb": null, "peak_rss_delta_mb": null,
            "cpu_seconds_by_thread": {}, "broker_cpu_seconds": null, "summary": null
        }))
        .expect("a mode report");
        let loads = latency_loads(&args, &maximum);
        assert_eq!(
            loads[0],
            (5000.0, "0.25 x the at-least-once maximum".to_string())
        );
        assert_eq!(
            loads[1],
            (10000.0, "half the at-least-once maximum".to_string())
        );
        args.latency_rate = vec![800.0, 0.0];
        let loads = latency_loads(&args, &maximum);
        assert_eq!(
            loads,
            [
                (800.0, "--latency-rate".into()),
                (1.0, "--latency-rate".into())
            ]
        );
    }

    #[test]
    fn settled_counts_published_and_dead_lettered_stories() {
        let m = Metrics::new();
        m.stories_published.with_label_values(&["unique"]).inc_by(3);
        m.stories_published.with_label_values(&["duplicate"]).inc();
        m.dead_letters
            .with_label_values(&["invalid-json"])
            .inc_by(2);
        m.dead_letters.with_label_values(&["no-text"]).inc();
        let settled = Settled::new(&m);
        assert_eq!(settled.count(), 7);
        m.stories_published.with_label_values(&["update"]).inc();
        m.dead_letters.with_label_values(&["too-large"]).inc();
        assert_eq!(
            settled.count(),
            9,
            "counters created after the watcher started"
        );
    }
}
