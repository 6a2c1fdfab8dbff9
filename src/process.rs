//! `wirefeed process`: the whole chain over files, without Kafka. The same stage code the
//! Kafka service runs.

use std::collections::BTreeMap;
use std::io;

use chrono::Utc;
use serde::Serialize;

use crate::config::StagesConfig;
use crate::dedup::DedupIndex;
use crate::encode::encode;
use crate::pipeline::{decide, Stages};
use crate::sink::file::LineSink;
use crate::source::file::{read_messages, InputFormat};

/// What one `process` run did.
#[derive(Debug, Default, Serialize)]
pub struct ProcessSummary {
    pub read: u64,
    pub published: u64,
    pub rejected: u64,
    pub by_status: BTreeMap<String, u64>,
    pub rejected_by_kind: BTreeMap<String, u64>,
}

/// Run the chain over `input`, writing stories to `output` and one line per rejected input to
/// `rejects` (standard error when `None`).
pub fn run_process(
    config: StagesConfig,
    input: &str,
    format: InputFormat,
    output: &str,
    rejects: Option<&str>,
) -> anyhow::Result<ProcessSummary> {
    let stages = Stages::new(config.clone())?;
    let mut index = DedupIndex::new(&config.dedup);
    let mut out = LineSink::open(output)?;
    let mut rejects = match rejects {
        Some(path) => LineSink::open(path)?,
        None => LineSink::stderr(),
    };
    let mut summary = ProcessSummary::default();
    for message in read_messages(input, format)? {
        let message = message?;
        summary.read += 1;
        match stages.prepare(&message.payload) {
            Ok(prepared) => {
                let (story, _admitted, _timings) = decide(&mut index, prepared, Utc::now());
                *summary
                    .by_status
                    .entry(story.dedup.status.as_str().to_string())
                    .or_default() += 1;
                out.write_line(&encode(&story).payload)?;
                summary.published += 1;
            }
            Err(rejection) => {
                summary.rejected += 1;
                *summary
                    .rejected_by_kind
                    .entry(rejection.kind.to_string())
                    .or_default() += 1;
                let line = serde_json::json!({
                    "origin": message.origin.to_string(),
                    "kind": rejection.kind,
                    "reason": rejection.reason,
                });
                rejects.write_line(line.to_string().as_bytes())?;
            }
        }
    }
    out.flush()?;
    rejects.flush()?;
    Ok(summary)
}

impl ProcessSummary {
    pub fn print(&self, mut w: impl io::Write) -> io::Result<()> {
        writeln!(
            w,
            "read {} messages: {} stories published, {} rejected",
            self.read, self.published, self.rejected
        )?;
        for (status, n) in &self.by_status {
            writeln!(w, "  {status:<10} {n}")?;
        }
        for (kind, n) in &self.rejected_by_kind {
            writeln!(w, "  rejected {kind:<18} {n}")?;
        }
        Ok(())
    }
}
