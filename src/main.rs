//! The `wirefeed` command line: parses arguments and hands over to the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use wirefeed::config::Config;
use wirefeed::process::run_process;
use wirefeed::source::file::InputFormat;

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
    /// Measure tagging and dedup quality against a labelled corpus.
    Eval {
        #[command(subcommand)]
        what: EvalWhat,
        /// Configuration file (stage settings are read from it).
        #[arg(long, global = true)]
        config: Option<PathBuf>,
    },
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
        Command::Eval { what, config } => {
            let stages = Config::load(config.as_deref(), std::env::vars())?.stages();
            match what {
                EvalWhat::Countries { input } => wirefeed::eval::countries::run(&input, &stages)?,
                EvalWhat::Topics { input } => wirefeed::eval::topics::run(&input, &stages)?,
                EvalWhat::Dedup { input } => wirefeed::eval::dedup::run(&input, &stages)?,
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
