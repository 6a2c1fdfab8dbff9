//! The dedup evaluation on the real corpus, smaller than `wirefeed eval dedup`, asserting the
//! quality targets. Skipped when the shared corpus is absent.

use std::path::PathBuf;

use wirefeed::config::StagesConfig;

fn corpus() -> Option<PathBuf> {
    let root = std::env::var("WIREFEED_SHARED_DATA")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data").to_owned());
    let path = PathBuf::from(root).join("reuters21578/train.jsonl.gz");
    path.exists().then_some(path)
}

#[test]
fn dedup_meets_precision_and_recall_targets() {
    let Some(path) = corpus() else {
        eprintln!("skipped: ../shared/data not found");
        return;
    };
    let report = wirefeed::eval::dedup::evaluate(&path, &StagesConfig::default(), 150)
        .expect("evaluation runs");
    println!("{}", report.render());
    assert_eq!(report.skipped, 0);
    assert!(
        report.overall.tp > 500,
        "too few positives: {:?}",
        report.overall
    );
    assert!(report.overall.precision() >= 0.95, "{}", report.render());
    assert!(report.overall.recall() >= 0.95, "{}", report.render());
    assert!(
        report.updates_found * 100 >= report.updates_total * 95,
        "{}",
        report.render()
    );
}
