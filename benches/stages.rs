//! Cost of the stages per story on Reuters-21578 stories (or generated ones when the shared
//! data is absent): the whole chain as the service's stage threads and loop run it
//! (`Stages::prepare`, `pre_encode`, `decide`, `PreEncoded::finish`), then each stage alone. `cargo bench --bench stages`; throughput is in stories per second.
//!
//! Each iteration decides its stories against an empty dedup index whose hash table is already
//! in memory, as it is in a service that has run for a while: a fresh index would make every
//! iteration pay for faulting in its tens of megabytes, a one-off cost of starting the service.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use wirefeed::bench::corpus::Corpus;
use wirefeed::config::Config;
use wirefeed::decode::decode;
use wirefeed::dedup::{DedupConfig, DedupIndex, Entry, BINS};
use wirefeed::encode::pre_encode;
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

/// Entries that touch (nearly) every page of the index's hash table: each admission touches
/// one bucket per key kind, at random.
const WARM_ENTRIES: usize = 20_000;

/// An index with its hash table in memory but no live entry that any story can match: the
/// warm-up entries are dated long before the stories and evicted by a marker dated at the
/// earliest story (whose random fingerprint matches nothing).
fn warm_index(config: &DedupConfig, earliest: DateTime<Utc>) -> DedupIndex {
    let mut index = DedupIndex::new(config);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        // splitmix64
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut entry = |id: String, at: i64| Entry {
        id,
        version: None,
        at,
        exact: next(),
        shingles: 64,
        filled: u32::MAX,
        sketch: std::array::from_fn::<u16, BINS, _>(|_| next() as u16),
        input: 0,
    };
    for i in 0..WARM_ENTRIES {
        index.insert(entry(format!("warm-up-{i}"), 0));
    }
    index.insert(entry("warm-up-end".into(), earliest.timestamp()));
    index
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
    let earliest = normalised
        .iter()
        .map(|s| s.published_at.unwrap_or(now))
        .min()
        .unwrap_or(now);

    // The warm index must decide exactly as a fresh one.
    let decisions = |mut index: DedupIndex| -> Vec<_> {
        payloads
            .iter()
            .filter_map(|p| stages.prepare(p).ok())
            .map(|prepared| decide(&mut index, prepared, now).0.dedup)
            .collect()
    };
    assert_eq!(
        decisions(DedupIndex::new(&config.dedup)),
        decisions(warm_index(&config.dedup, earliest)),
        "a warm index decides differently"
    );

    let mut group = c.benchmark_group("chain");
    group.throughput(Throughput::Elements(payloads.len() as u64));
    group.bench_function("prepare+decide+encode", |b| {
        b.iter_batched(
            || warm_index(&config.dedup, earliest),
            |mut index| {
                for p in &payloads {
                    if let Ok(prepared) = stages.prepare(p) {
                        let pre = pre_encode(&prepared.id, &prepared.story, &prepared.tags);
                        let (story, _, _) = decide(&mut index, prepared, now);
                        black_box(pre.finish(&story.dedup));
                    }
                }
                index
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();

    let prepared: Vec<_> = payloads
        .iter()
        .filter_map(|p| stages.prepare(p).ok())
        .collect();
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(prepared.len() as u64));
    group.bench_function("prepared", |b| {
        b.iter(|| {
            for p in &prepared {
                black_box(pre_encode(&p.id, &p.story, &p.tags));
            }
        })
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
            || warm_index(&config.dedup, earliest),
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
