//! The stages alone, in this thread: `Stages::prepare`, `pre_encode`, `decide` and
//! `PreEncoded::finish` over the corpus, the cost the Kafka loops pay per story before any I/O.

use std::time::Instant;

use chrono::Utc;
use serde::Serialize;

use super::corpus::Corpus;
use super::system::thread_cpu_seconds;
use crate::config::StagesConfig;
use crate::dedup::DedupIndex;
use crate::encode::pre_encode;
use crate::error::TableError;
use crate::pipeline::{decide, Stages};

#[derive(Debug, Clone, Serialize)]
pub struct StageReport {
    pub stories: u64,
    pub rejected: u64,
    pub seconds: f64,
    /// Stories per second of wall time on one thread.
    pub stories_per_sec: f64,
    /// Stories per CPU second of that thread (equal to the above on an idle machine).
    pub stories_per_cpu_sec: Option<f64>,
    pub mean_micros: f64,
}

/// Run `count` stories (built before the clock starts) through the whole chain.
pub fn run(
    config: &StagesConfig,
    corpus: &Corpus,
    count: usize,
) -> Result<StageReport, TableError> {
    let stages = Stages::new(config.clone())?;
    let mut index = DedupIndex::new(&config.dedup);
    let payloads: Vec<Vec<u8>> = (0..count).map(|i| corpus.story(i).1).collect();
    let now = Utc::now();
    let cpu = thread_cpu_seconds();
    let started = Instant::now();
    let mut rejected = 0;
    for payload in &payloads {
        match stages.prepare(payload) {
            Ok(prepared) => {
                let pre = pre_encode(&prepared.id, &prepared.story, &prepared.tags);
                let (story, _, _) = decide(&mut index, prepared, now);
                std::hint::black_box(pre.finish(&story.dedup));
            }
            Err(_) => rejected += 1,
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = match (cpu, thread_cpu_seconds()) {
        (Some(a), Some(b)) if b > a => Some(b - a),
        _ => None,
    };
    let n = count as f64;
    Ok(StageReport {
        stories: count as u64,
        rejected,
        seconds,
        stories_per_sec: n / seconds.max(1e-9),
        stories_per_cpu_sec: cpu_seconds.map(|c| n / c),
        mean_micros: seconds * 1e6 / n.max(1.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_story_is_counted() {
        let corpus = Corpus::synthetic("test");
        let report = run(&StagesConfig::default(), &corpus, 50).expect("tables load");
        assert_eq!(report.stories, 50);
        assert_eq!(report.rejected, 0);
        assert!(report.stories_per_sec > 0.0);
    }
}
