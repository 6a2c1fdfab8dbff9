//! Topic tagging through the public API, with the embedded tables and with tables from files.

use std::path::PathBuf;

use wirefeed::config::StagesConfig;
use wirefeed::eval::topics::evaluate;
use wirefeed::model::Story;
use wirefeed::tag::topics::{TopicTagger, TopicsConfig};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/topics")
        .join(name)
}

#[test]
fn tables_can_be_replaced_from_files() {
    let config = TopicsConfig {
        concepts_path: Some(fixture("concepts.tsv")),
        lexicon_path: Some(fixture("lexicon.tsv")),
        ..TopicsConfig::default()
    };
    // The default fallback (society) is not in the small tree.
    assert!(TopicTagger::new(&config).is_err());
    let config = TopicsConfig {
        fallback: "medtop:17000000".into(),
        ..config
    };
    let tagger = TopicTagger::new(&config).unwrap();
    let tags = tagger.tag(&Story {
        headline: Some("Tennis star's serve".into()),
        body: "A second serve in the rain.".into(),
        ..Story::default()
    });
    let qcodes: Vec<&str> = tags.iter().map(|t| t.qcode.as_str()).collect();
    assert_eq!(qcodes.first(), Some(&"medtop:15000000"), "{tags:?}");
    assert!(qcodes.contains(&"medtop:20001085"), "{tags:?}");
    let empty = tagger.tag(&Story::default());
    assert_eq!(empty[0].qcode, "medtop:17000000");
}

#[test]
fn evaluation_counts_a_labelled_file() {
    let report = evaluate(&fixture("stories.jsonl"), &StagesConfig::default()).unwrap();
    assert_eq!(report.labelled, 6);
    // t-6 is labelled sport but is a weather story: the tagger must not follow the label.
    assert_eq!(report.correct, 5, "{:?}", report.misclassified);
    assert_eq!(report.misclassified.len(), 1);
    assert_eq!(report.misclassified[0].0, "t-6");
    assert_eq!(report.misclassified[0].2, "medtop:17000000");
    let sport = &report.classes["sport"];
    assert_eq!((sport.gold, sport.correct, sport.predicted), (2, 1, 1));
    assert!((report.accuracy() - 5.0 / 6.0).abs() < 1e-9);
}

#[test]
fn evaluation_counts_reuters_codes() {
    let report = evaluate(&fixture("reuters-like.jsonl"), &StagesConfig::default()).unwrap();
    assert_eq!(report.with_codes, 2);
    assert_eq!(report.economy_first, 2);
    assert_eq!(report.labelled, 0);
}

#[test]
fn evaluation_rejects_unknown_categories() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.jsonl");
    std::fs::write(
        &path,
        "{\"id\":\"x\",\"category\":\"cooking\",\"title\":\"a\",\"body\":\"b\"}\n",
    )
    .unwrap();
    assert!(evaluate(&path, &StagesConfig::default()).is_err());
}
