use flate2::read::GzDecoder;
use std::io::{BufRead, BufReader};
use wirefeed::model::{Format, Story};
use wirefeed::normalise::{normalise, NormaliseConfig};
#[test]
fn scratch() {
    let f = std::fs::File::open(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/reuters21578/train.jsonl.gz"
    ))
    .unwrap();
    let mut stories = vec![];
    for l in BufReader::new(GzDecoder::new(f)).lines() {
        let v: serde_json::Value = serde_json::from_str(&l.unwrap()).unwrap();
        let get = |k: &str| v.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        stories.push(Story {
            body: get("body").unwrap_or_default(),
            headline: get("title"),
            dateline: get("dateline"),
            published_raw: get("date"),
            source: get("source"),
            format: Format::Json,
            ..Story::default()
        });
    }
    let detect = std::env::var("DETECT").is_ok();
    let cfg = NormaliseConfig {
        detect_language: detect,
        ..Default::default()
    };
    let mut n = 0;
    for s in stories {
        n += normalise(s, &cfg).body.len();
    }
    println!("{n}");
}
