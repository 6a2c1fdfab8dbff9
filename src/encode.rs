//! EnrichedStory -> record key, payload and headers. No I/O, no Kafka types.

use serde::Serialize;

use crate::model::{DedupDecision, EnrichedStory, Format, Story, Tags, TopicTag};

/// A record ready for any sink.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// The story id: keeps every version of a story on one partition downstream.
    pub key: Vec<u8>,
    pub payload: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
}

/// One JSON object, no trailing newline.
pub fn encode(story: &EnrichedStory) -> Encoded {
    let payload = serde_json::to_vec(story).expect("an EnrichedStory always serialises");
    encoded_with(story, payload)
}

/// [`encode`] with a payload made earlier by [`pre_encode`] and [`PreEncoded::finish`].
pub fn encoded_with(story: &EnrichedStory, payload: Vec<u8>) -> Encoded {
    Encoded {
        key: story.id.as_bytes().to_vec(),
        payload,
        headers: vec![
            (
                "wirefeed-dedup-status".into(),
                story.dedup.status.as_str().as_bytes().to_vec(),
            ),
            (
                "wirefeed-format".into(),
                story.format.as_str().as_bytes().to_vec(),
            ),
        ],
    }
}

/// A story serialised up to its dedup decision. Serialising the text (escaping every
/// character of the body) is most of encoding; it can happen on any thread before the
/// decision, which only the service loop makes, in input order.
#[derive(Debug, Clone, PartialEq)]
pub struct PreEncoded {
    /// The JSON object without its closing brace.
    open: Vec<u8>,
}

/// The fields of an [`EnrichedStory`] other than `dedup`, borrowed, in the same order.
#[derive(Serialize)]
struct BeforeDedup<'a> {
    id: &'a str,
    version: Option<u64>,
    source: &'a Option<String>,
    headline: &'a Option<String>,
    body: &'a str,
    dateline: &'a Option<String>,
    published_at: &'a Option<chrono::DateTime<chrono::Utc>>,
    language: &'a Option<String>,
    url: &'a Option<String>,
    format: Format,
    countries: &'a [String],
    regions: &'a [String],
    topics: &'a [TopicTag],
    warnings: &'a [String],
}

/// Serialise everything the output will hold except the dedup decision. `id` is the final
/// story id (the agency's or the content hash).
pub fn pre_encode(id: &str, story: &Story, tags: &Tags) -> PreEncoded {
    let view = BeforeDedup {
        id,
        version: story.version,
        source: &story.source,
        headline: &story.headline,
        body: &story.body,
        dateline: &story.dateline,
        published_at: &story.published_at,
        language: &story.language,
        url: &story.url,
        format: story.format,
        countries: &tags.countries,
        regions: &tags.regions,
        topics: &tags.topics,
        warnings: &story.warnings,
    };
    let mut open = Vec::with_capacity(story.body.len() + 512);
    serde_json::to_writer(&mut open, &view).expect("a story always serialises");
    // The object always ends with its closing brace; the decision goes before it.
    debug_assert_eq!(open.last(), Some(&b'}'));
    open.pop();
    PreEncoded { open }
}

impl PreEncoded {
    /// The payload: the same JSON object [`encode`] makes, with `dedup` as its last member.
    pub fn finish(mut self, dedup: &DedupDecision) -> Vec<u8> {
        self.open.extend_from_slice(b",\"dedup\":");
        serde_json::to_writer(&mut self.open, dedup).expect("a decision always serialises");
        self.open.push(b'}');
        self.open
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DedupStatus, DuplicateKind};

    fn story() -> (Story, Tags) {
        let story = Story {
            id: Some("urn:x:1".into()),
            version: Some(3),
            source: Some("Reuters".into()),
            headline: Some("Quotes \"inside\" and \\ slashes".into()),
            body: "First para\twith tab.\n\nSecond — with a dash, ünïcode and \u{1}.".into(),
            dateline: Some("CAIRO".into()),
            published_at: chrono::DateTime::parse_from_rfc3339("2024-02-07T01:02:03Z")
                .ok()
                .map(|t| t.with_timezone(&chrono::Utc)),
            url: None,
            language: Some("en".into()),
            format: Format::NewsmlG2,
            warnings: vec!["assumed UTC".into()],
            ..Story::default()
        };
        let tags = Tags {
            countries: vec!["EG".into(), "IQ".into()],
            regions: vec!["Middle East".into()],
            topics: vec![TopicTag {
                qcode: "medtop:11000000".into(),
                label: "politics".into(),
                score: 0.8,
            }],
        };
        (story, tags)
    }

    fn enriched(story: &Story, tags: &Tags, dedup: DedupDecision) -> EnrichedStory {
        EnrichedStory {
            id: "urn:x:1".into(),
            version: story.version,
            source: story.source.clone(),
            headline: story.headline.clone(),
            body: story.body.clone(),
            dateline: story.dateline.clone(),
            published_at: story.published_at,
            language: story.language.clone(),
            url: story.url.clone(),
            format: story.format,
            countries: tags.countries.clone(),
            regions: tags.regions.clone(),
            topics: tags.topics.clone(),
            dedup,
            warnings: story.warnings.clone(),
        }
    }

    #[test]
    fn pre_encoding_then_finishing_gives_the_same_object_as_encoding() {
        let (story, tags) = story();
        let decisions = [
            DedupDecision::unique(),
            DedupDecision {
                status: DedupStatus::Duplicate,
                of: Some("urn:x:0".into()),
                similarity: 0.93,
                kind: Some(DuplicateKind::Near),
            },
        ];
        for dedup in decisions {
            let whole = encode(&enriched(&story, &tags, dedup.clone())).payload;
            let split = pre_encode("urn:x:1", &story, &tags).finish(&dedup);
            let a: serde_json::Value = serde_json::from_slice(&whole).unwrap();
            let b: serde_json::Value = serde_json::from_slice(&split).unwrap();
            assert_eq!(a, b);
            assert_eq!(
                whole.len(),
                split.len(),
                "same members, only their order differs"
            );
            let back: EnrichedStory = serde_json::from_slice(&split).unwrap();
            assert_eq!(back.dedup, dedup);
        }
    }
}
