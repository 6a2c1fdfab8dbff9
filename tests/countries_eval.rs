//! The country evaluation on the Reuters-21578 training split (skipped when the shared data is
//! absent): micro-F1 must stay at or above 0.88.

use std::path::PathBuf;

fn shared_data() -> PathBuf {
    std::env::var("WIREFEED_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data")))
}

#[test]
fn reuters_train_micro_f1() {
    let input = shared_data().join("reuters21578/train.jsonl.gz");
    if !input.exists() {
        eprintln!("skipped: ../shared/data not found ({})", input.display());
        return;
    }
    let config = wirefeed::config::Config::default().stages();
    let figures = wirefeed::eval::countries::evaluate(&input, &config).unwrap();
    eprint!("{}", wirefeed::eval::countries::report(&input, &figures));
    assert!(figures.stories > 14_000, "{} stories", figures.stories);
    assert!(figures.f1() >= 0.88, "micro-F1 {:.4} < 0.88", figures.f1());
}
