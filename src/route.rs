//! Which topics an enriched story goes to: the main output (or the duplicates topic) plus an
//! extra copy for every route whose condition its tags meet. Pure, no Kafka.

use crate::config::{OutputConfig, Route};
use crate::model::{DedupStatus, EnrichedStory};

/// The output topics for `story`, without repeats, main topic first. Empty when the story is a
/// duplicate and duplicates are dropped.
pub fn destinations<'a>(story: &EnrichedStory, output: &'a OutputConfig) -> Vec<&'a str> {
    if story.dedup.status == DedupStatus::Duplicate {
        return if output.duplicates_topic.is_empty() {
            Vec::new()
        } else {
            vec![output.duplicates_topic.as_str()]
        };
    }
    let mut topics = vec![output.topic.as_str()];
    for route in &output.routes {
        if matches(route, story) && !topics.contains(&route.topic.as_str()) {
            topics.push(route.topic.as_str());
        }
    }
    topics
}

/// All conditions given in `route.when` must hold.
pub fn matches(route: &Route, story: &EnrichedStory) -> bool {
    let w = &route.when;
    let region_ok = w
        .region
        .as_ref()
        .is_none_or(|r| story.regions.iter().any(|s| s.eq_ignore_ascii_case(r)));
    let country_ok = w
        .country
        .as_ref()
        .is_none_or(|c| story.countries.iter().any(|s| s.eq_ignore_ascii_case(c)));
    let topic_ok = w.topic.as_ref().is_none_or(|t| {
        story
            .topics
            .iter()
            .any(|s| s.qcode.eq_ignore_ascii_case(t) || s.label.eq_ignore_ascii_case(t))
    });
    region_ok && country_ok && topic_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RouteCondition;
    use crate::model::{DedupDecision, DuplicateKind, Format, TopicTag};

    fn story() -> EnrichedStory {
        EnrichedStory {
            id: "a".into(),
            version: None,
            source: None,
            headline: None,
            body: "text".into(),
            dateline: None,
            published_at: None,
            language: None,
            url: None,
            format: Format::Text,
            countries: vec!["IQ".into(), "US".into()],
            regions: vec!["Middle East".into(), "North America".into()],
            topics: vec![TopicTag {
                qcode: "medtop:11000000".into(),
                label: "politics".into(),
                score: 0.9,
            }],
            dedup: DedupDecision::unique(),
            warnings: vec![],
        }
    }

    fn route(region: Option<&str>, country: Option<&str>, topic: Option<&str>, to: &str) -> Route {
        Route {
            when: RouteCondition {
                region: region.map(Into::into),
                country: country.map(Into::into),
                topic: topic.map(Into::into),
            },
            topic: to.into(),
        }
    }

    #[test]
    fn several_routes_may_match_and_repeats_are_dropped() {
        let mut out = OutputConfig::default();
        out.routes = vec![
            route(Some("Middle East"), None, None, "me"),
            route(None, Some("US"), None, "us"),
            route(None, None, Some("politics"), "pol"),
            route(None, None, Some("medtop:11000000"), "pol"),
            route(Some("Europe"), None, None, "eu"),
            route(Some("Middle East"), Some("FR"), None, "never"),
        ];
        assert_eq!(
            destinations(&story(), &out),
            vec!["wire.enriched", "me", "us", "pol"]
        );
    }

    #[test]
    fn duplicates_go_to_their_topic_or_nowhere() {
        let mut s = story();
        s.dedup.status = DedupStatus::Duplicate;
        s.dedup.kind = Some(DuplicateKind::Exact);
        let mut out = OutputConfig::default();
        out.routes = vec![route(Some("Middle East"), None, None, "me")];
        assert_eq!(destinations(&s, &out), vec!["wire.duplicates"]);
        out.duplicates_topic.clear();
        assert!(destinations(&s, &out).is_empty());
    }
}
