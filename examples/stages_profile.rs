//! The stage chain over the first N Reuters stories, as the service runs it
//! (`Stages::prepare`, `pre_encode`, `decide`, `PreEncoded::finish`), with the time each
//! stage took. For profiling:
//!
//! ```sh
//! cargo build --release --example stages_profile
//! valgrind --tool=callgrind --toggle-collect='wirefeed::pipeline::Stages::prepare' \
//!     --toggle-collect='wirefeed::pipeline::decide' \
//!     --toggle-collect='wirefeed::encode::pre_encode' \
//!     --toggle-collect='wirefeed::encode::PreEncoded::finish' \
//!     target/release/examples/stages_profile 3000
//! ```

use std::path::PathBuf;
use std::time::Instant;

use chrono::Utc;

use wirefeed::bench::corpus::Corpus;
use wirefeed::bench::system::thread_cpu_seconds;
use wirefeed::config::Config;
use wirefeed::dedup::DedupIndex;
use wirefeed::encode::pre_encode;
use wirefeed::pipeline::{decide, StageTimings, Stages};

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3_000);
    let data = std::env::var("WIREFEED_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("../shared/data"));
    let corpus = Corpus::load_or_synthetic(&data.join("reuters21578/train.jsonl.gz"));
    if corpus.synthetic {
        eprintln!("stages_profile: {}", corpus.origin);
    }
    let payloads: Vec<Vec<u8>> = (0..count).map(|i| corpus.story(i).1).collect();
    let config = Config::default().stages();
    let stages = Stages::new(config.clone()).expect("stage tables load");
    let mut index = DedupIndex::new(&config.dedup);
    let now = Utc::now();
    let mut total = StageTimings::default();
    let mut encode = 0.0;
    let cpu = thread_cpu_seconds();
    let started = Instant::now();
    for p in &payloads {
        if let Ok(prepared) = stages.prepare(p) {
            let encoding = Instant::now();
            let pre = pre_encode(&prepared.id, &prepared.story, &prepared.tags);
            encode += encoding.elapsed().as_secs_f64();
            let (story, _, t) = decide(&mut index, prepared, now);
            let encoding = Instant::now();
            std::hint::black_box(pre.finish(&story.dedup));
            encode += encoding.elapsed().as_secs_f64();
            total.decode += t.decode;
            total.normalise += t.normalise;
            total.tag += t.tag;
            total.dedup += t.dedup;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu = match (cpu, thread_cpu_seconds()) {
        (Some(a), Some(b)) => b - a,
        _ => f64::NAN,
    };
    let per = |s: f64| s * 1e6 / count as f64;
    println!(
        "{count} stories: {:.0} stories/s, {:.1} us/story ({:.1} us CPU): decode {:.1}, \
         normalise {:.1}, tag {:.1}, dedup {:.1}, encode {:.1}",
        count as f64 / secs,
        per(secs),
        per(cpu),
        per(total.decode),
        per(total.normalise),
        per(total.tag),
        per(total.dedup),
        per(encode),
    );
}
