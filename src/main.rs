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
    }
}
