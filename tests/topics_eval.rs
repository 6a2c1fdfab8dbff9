//! The topic evaluation on the BBC News corpus (held out: nothing shipped is derived from it).

use std::path::PathBuf;

use wirefeed::config::StagesConfig;
use wirefeed::eval::topics::evaluate;

fn shared_data() -> PathBuf {
    std::env::var("WIREFEED_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data")))
}

#[test]
fn bbc_news_top_level_accuracy() {
    let path = shared_data().join("bbc-news/bbc-news.jsonl.gz");
    if !path.exists() {
        eprintln!("skipped: ../shared/data not found ({})", path.display());
        return;
    }
    let report = evaluate(&path, &StagesConfig::default()).unwrap();
    assert_eq!(report.labelled, 2225);
    let accuracy = report.accuracy();
    eprintln!("BBC News top-level accuracy: {accuracy:.4}");
    assert!(accuracy >= 0.90, "accuracy {accuracy:.4} is below 0.90");
    for (class, figures) in &report.classes {
        assert!(
            figures.recall() >= 0.75,
            "{class}: recall {:.3}",
            figures.recall()
        );
    }
}

#[test]
fn reuters_stories_are_mostly_economy() {
    let path = shared_data().join("reuters21578/train.jsonl.gz");
    if !path.exists() {
        eprintln!("skipped: ../shared/data not found ({})", path.display());
        return;
    }
    let report = evaluate(&path, &StagesConfig::default()).unwrap();
    eprintln!("Reuters economy share: {:.4}", report.economy_share());
    assert!(report.with_codes > 7000);
    assert!(report.economy_share() >= 0.85);
}
