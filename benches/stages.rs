//! Cost of the stages per story on Reuters-21578 stories (or generated ones when the shared
//! data is absent): the whole chain as the service runs it (`Stages::prepare` + `decide`),
//! then each stage alone. `cargo bench --bench stages`; throughput is in stories per second.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use wirefeed::bench::corpus::Corpus;
use wirefeed::config::Config;
use wirefeed::decode::decode;
use wirefeed::dedup::DedupIndex;
use wirefeed::model::Story;
use wirefeed::normalise::normalise;
use wirefeed::pipeline::{decide, Stages};
use wirefeed::tag::Tagger;

/// Stories per measured iteration: enough to cover many shapes, few enough to stay quick.
const STORIES: usize = 2_000;

fn corpus() -> Corpus {
    let data = std::env::var("WIREFEED_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data")));
    let corpus = Corpus::load_or_synthetic(&data.join("reuters21578/train.jsonl.gz"));
    if corpus.synthetic {
        eprintln!("stages bench: {}", corpus.origin);
    }
    corpus
}

fn stages(c: &mut Criterion) {
    let corpus = corpus();
    let payloads: Vec<Vec<u8>> = (0..STORIES).map(|i| corpus.story(i).1).collect();
    let config = Config::default().stages();
    let stages = Stages::new(config.clone()).expect("stage tables load");
    let tagger = Tagger::new(&config.tag).expect("tag tables load");
    let decoded: Vec<Story> = payloads
        .iter()
        .filter_map(|p| decode(p, &config.decode).ok())
        .collect();
    let normalised: Vec<Story> = decoded
        .iter()
        .map(|s| normalise(s.clone(), &config.normalise))
        .collect();
    let now = Utc::now();

    let mut group = c.benchmark_group("chain");
    group.throughput(Throughput::Elements(payloads.len() as u64));
    group.bench_function("prepare+decide", |b| {
        b.iter_batched(
            || DedupIndex::new(&config.dedup),
            |mut index| {
                for p in &payloads {
                    if let Ok(prepared) = stages.prepare(p) {
                        black_box(decide(&mut index, prepared, now));
                    }
                }
                index
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(payloads.len() as u64));
    group.bench_function("payloads", |b| {
        b.iter(|| {
            for p in &payloads {
                let _ = black_box(decode(p, &config.decode));
            }
        })
    });
    group.finish();

    let mut group = c.benchmark_group("normalise");
    group.throughput(Throughput::Elements(decoded.len() as u64));
    group.bench_function("decoded", |b| {
        b.iter_batched(
            || decoded.clone(),
            |stories| {
                for s in stories {
                    black_box(normalise(s, &config.normalise));
                }
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("tag");
    group.throughput(Throughput::Elements(normalised.len() as u64));
    group.bench_function("normalised", |b| {
        b.iter(|| {
            for s in &normalised {
                black_box(tagger.tag(s));
            }
        })
    });
    group.finish();

    let mut group = c.benchmark_group("dedup");
    group.throughput(Throughput::Elements(normalised.len() as u64));
    let ids: Vec<String> = normalised
        .iter()
        .enumerate()
        .map(|(i, s)| s.id.clone().unwrap_or_else(|| format!("bench-{i}")))
        .collect();
    group.bench_function("check", |b| {
        b.iter_batched(
            || DedupIndex::new(&config.dedup),
            |mut index| {
                for (s, id) in normalised.iter().zip(&ids) {
                    black_box(index.check(s, id, s.published_at.unwrap_or(now)));
                }
                index
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = stages
}
criterion_main!(benches);
