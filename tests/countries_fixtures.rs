//! Hand-written stories in `tests/fixtures/countries/stories.jsonl`, tagged end to end.

use serde::Deserialize;
use wirefeed::model::Story;
use wirefeed::tag::countries::{CountriesConfig, CountryTagger};
use wirefeed::tag::regions::{RegionTable, RegionsConfig};

#[derive(Deserialize)]
struct Fixture {
    id: String,
    dateline: Option<String>,
    headline: String,
    body: String,
    expected: Vec<String>,
    regions: Vec<String>,
}

fn fixtures() -> Vec<Fixture> {
    let text = include_str!("fixtures/countries/stories.jsonl");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("fixture line is JSON"))
        .collect()
}

#[test]
fn fixture_stories_get_their_countries_and_regions() {
    let tagger = CountryTagger::new(&CountriesConfig::default()).unwrap();
    let regions = RegionTable::new(&RegionsConfig::default()).unwrap();
    let all = fixtures();
    assert!(all.len() >= 10);
    for f in all {
        let story = Story {
            id: Some(f.id.clone()),
            headline: Some(f.headline),
            dateline: f.dateline,
            body: f.body,
            ..Story::default()
        };
        let countries = tagger.tag(&story);
        assert_eq!(
            countries,
            f.expected,
            "{}: {:?}",
            f.id,
            tagger.explain(&story)
        );
        assert_eq!(regions.regions_for(&countries), f.regions, "{}", f.id);
    }
}

#[test]
fn gazetteer_dir_overrides_the_curated_table() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("extra.tsv"), "FR\tcity\tGotham\n").unwrap();
    let config = CountriesConfig {
        gazetteer_dir: Some(dir.path().to_path_buf()),
        ..CountriesConfig::default()
    };
    let tagger = CountryTagger::new(&config).unwrap();
    let story = Story {
        dateline: Some("GOTHAM".into()),
        headline: Some("Talks".into()),
        ..Story::default()
    };
    assert_eq!(tagger.tag(&story), ["FR"]);
    // Countries still come from the embedded generated table.
    let story = Story {
        headline: Some("Brazil coffee exports".into()),
        ..Story::default()
    };
    assert_eq!(tagger.tag(&story), ["BR"]);
}

#[test]
fn a_broken_override_is_reported_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("extra.tsv"), "# ok\nFRANCE\tname\tFrance\n").unwrap();
    let config = CountriesConfig {
        gazetteer_dir: Some(dir.path().to_path_buf()),
        ..CountriesConfig::default()
    };
    let err = CountryTagger::new(&config)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("extra.tsv") && err.contains("line 2"), "{err}");
}

#[test]
fn config_keys_parse() {
    let config = wirefeed::config::Config::from_toml_str(
        "[tag.countries]\ngazetteer_dir = \"gaz\"\nthreshold = 1.5\n[tag.regions]\npath = \"r.toml\"\n",
        "t",
        Vec::new(),
    )
    .unwrap();
    assert_eq!(config.tag.countries.threshold, 1.5);
    assert_eq!(
        config.tag.regions.path.as_deref(),
        Some(std::path::Path::new("r.toml"))
    );
}
