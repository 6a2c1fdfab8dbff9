//! Country tagging never panics, and its output is well-formed, whatever the input.

use proptest::prelude::*;
use wirefeed::model::Story;
use wirefeed::tag::countries::{CountriesConfig, CountryTagger};
use wirefeed::tag::regions::{RegionTable, RegionsConfig};

fn text() -> impl Strategy<Value = String> {
    // Mix gazetteer words, punctuation, wire whitespace and arbitrary Unicode.
    let pieces = prop_oneof![
        Just("New York".to_string()),
        Just("U.S.".to_string()),
        Just("US".to_string()),
        Just("Jordan".to_string()),
        Just("Georgia".to_string()),
        Just("Guinea-Bissau".to_string()),
        Just("Côte d'Ivoire".to_string()),
        Just("turkey".to_string()),
        Just("\n    ".to_string()),
        Just("\n\n".to_string()),
        Just(", ".to_string()),
        Just(" -".to_string()),
        "\\PC{0,12}",
        "[A-Z .,'-]{0,10}",
    ];
    prop::collection::vec(pieces, 0..24).prop_map(|v| v.join(" "))
}

fn taggers() -> &'static (CountryTagger, RegionTable) {
    static TAGGERS: std::sync::OnceLock<(CountryTagger, RegionTable)> = std::sync::OnceLock::new();
    TAGGERS.get_or_init(|| {
        (
            CountryTagger::new(&CountriesConfig::default()).unwrap(),
            RegionTable::new(&RegionsConfig::default()).unwrap(),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn tagging_is_total_and_well_formed(
        dateline in proptest::option::of(text()),
        headline in proptest::option::of(text()),
        body in text(),
    ) {
        let (tagger, regions) = taggers();
        let story = Story { dateline, headline, body, ..Story::default() };
        let countries = tagger.tag(&story);
        let mut seen = std::collections::HashSet::new();
        for c in &countries {
            prop_assert!(c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()), "{c}");
            prop_assert!(seen.insert(c.clone()), "repeated {c}");
        }
        let r = regions.regions_for(&countries);
        let unique: std::collections::HashSet<_> = r.iter().collect();
        prop_assert_eq!(unique.len(), r.len());
        // Tagging is a pure function of the story.
        prop_assert_eq!(tagger.tag(&story), countries);
    }
}
