//! The `wirefeed` command line: parses arguments and hands over to the library.

use std::path::PathBuf;
use std::process::ExitCode;

use std::time::Duration;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use wirefeed::config::Config;
use wirefeed::kafka::service::RunOptions;
use wirefeed::process::run_process;
use wirefeed::source::file::InputFormat;

/// Stories are allocated on the stage threads and freed on the service task; glibc's malloc
/// spent a tenth of the service's CPU on that pattern (arena locks, chunk consolidation).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "wirefeed",
    version,
    about = "Clean, deduplicate and tag wire stories"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the Kafka service; with no broker configured, an embedded demo broker with the
    /// bundled sample stories.
    Run {
        /// Configuration file (TOML); `WIREFEED__SECTION__KEY` variables override it.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Stop once the input has been idle for `--idle-secs` and everything is committed.
        #[arg(long)]
        exit_when_idle: bool,
        #[arg(long, default_value_t = 3)]
        idle_secs: u64,
    },
    /// Validate a configuration file as `run` would, and print it resolved (secrets redacted).
    CheckConfig {
        #[arg(long)]
        config: PathBuf,
    },
    /// Run the whole chain over files, without Kafka.
    Process {
        /// JSON Lines file (`.gz` allowed), a directory (one message per file), or `-`.
        #[arg(long, default_value = "-")]
        input: String,
        /// Where enriched stories go, one JSON object per line; `-` is standard output.
        #[arg(long, default_value = "-")]
        output: String,
        /// How to cut a file into messages.
        #[arg(long, value_enum, default_value = "jsonl")]
        format: InputFormat,
        /// One JSON line per rejected input; standard error by default.
        #[arg(long)]
        rejects: Option<String>,
        /// Configuration file (stage settings are read from it).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Reprocess a time window of the input topics into separate topics, beside the live
    /// service and without touching its offsets.
    Replay(wirefeed::replay::ReplayArgs),
    /// Measure tagging and dedup quality against a labelled corpus.
    Eval {
        #[command(subcommand)]
        what: EvalWhat,
        /// Configuration file (stage settings are read from it).
        #[arg(long, global = true)]
        config: Option<PathBuf>,
    },
    /// Measure throughput, end-to-end latency and cost against a real broker.
    Bench(BenchCommand),
}

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct BenchCommand {
    #[command(subcommand)]
    what: Option<BenchWhat>,
    #[command(flatten)]
    args: Option<wirefeed::bench::BenchArgs>,
}

#[derive(Subcommand)]
enum BenchWhat {
    /// Restore time and peak memory of the dedup index from the changelog topic.
    Changelog(wirefeed::bench::changelog::ChangelogBenchArgs),
}

#[derive(Subcommand)]
enum EvalWhat {
    /// Country tags against Reuters-21578 `places` (precision, recall, micro-F1).
    Countries {
        #[arg(long, default_value = "../shared/data/reuters21578/train.jsonl.gz")]
        input: PathBuf,
    },
    /// Highest-scored top-level topic against the BBC News classes (accuracy).
    Topics {
        #[arg(long, default_value = "../shared/data/bbc-news/bbc-news.jsonl.gz")]
        input: PathBuf,
    },
    /// Near-duplicate precision and recall on pairs built from Reuters stories.
    Dedup {
        #[arg(long, default_value = "../shared/data/reuters21578/train.jsonl.gz")]
        input: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `run` and `replay` set up logging once their config is loaded: it may export traces.
    if !matches!(cli.command, Command::Run { .. } | Command::Replay(_)) {
        wirefeed::telemetry::init_logs();
    }
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run {
            config,
            exit_when_idle,
            idle_secs,
        } => {
            let config = Config::load(config.as_deref(), std::env::vars())?;
            // Declared before the runtime, so spans are flushed after it has stopped.
            let _telemetry = wirefeed::telemetry::init(&config.telemetry)?;
            let options = RunOptions {
                exit_when_idle: exit_when_idle.then(|| Duration::from_secs(idle_secs)),
                ..RunOptions::default()
            };
            let runtime = tokio::runtime::Runtime::new()?;
            let summary = runtime.block_on(async {
                let shutdown = CancellationToken::new();
                wirefeed::shutdown::cancel_on_signal(shutdown.clone());
                wirefeed::run::run(config, options, shutdown).await
            })?;
            eprintln!("{}", serde_json::to_string(&summary)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig { config } => {
            let loaded = Config::load(Some(&config), std::env::vars())?;
            wirefeed::pipeline::Stages::new(loaded.stages())?;
            println!("{}", loaded.redacted_toml()?);
            eprintln!("{}: configuration is valid", config.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Process {
            input,
            output,
            format,
            rejects,
            config,
        } => {
            let config = Config::load(config.as_deref(), std::env::vars())?;
            let summary =
                run_process(config.stages(), &input, format, &output, rejects.as_deref())?;
            summary.print(std::io::stderr())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay(args) => {
            wirefeed::replay::cli(args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval { what, config } => {
            let stages = Config::load(config.as_deref(), std::env::vars())?.stages();
            match what {
                EvalWhat::Countries { input } => wirefeed::eval::countries::run(&input, &stages)?,
                EvalWhat::Topics { input } => wirefeed::eval::topics::run(&input, &stages)?,
                EvalWhat::Dedup { input } => wirefeed::eval::dedup::run(&input, &stages)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(bench) => {
            match (bench.what, bench.args) {
                (Some(BenchWhat::Changelog(args)), _) => wirefeed::bench::changelog::main(args)?,
                (None, Some(args)) => {
                    wirefeed::bench::main(args)?;
                }
                (None, None) => {
                    anyhow::bail!("wirefeed bench needs --brokers and --json (see --help)")
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
