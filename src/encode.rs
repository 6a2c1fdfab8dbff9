//! EnrichedStory -> record key, payload and headers. No I/O, no Kafka types.
//!
//! The payload is the JSON `serde_json` would make of the story, written directly ([`json`]):
//! escaping the body is most of the cost, and `serde_json` escapes a byte at a time.

mod json;

use json::Out;

use crate::model::{DedupDecision, DuplicateKind, EnrichedStory, Story, Tags, TopicTag};

/// A record ready for any sink.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// The story id: keeps every version of a story on one partition downstream.
    pub key: Vec<u8>,
    pub payload: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
}

/// [`BeforeDedup`] borrowed from `$story` (a [`Story`] or an [`EnrichedStory`]: same field
/// names, different types) and the tags of `$tags`.
macro_rules! before_dedup {
    ($id:expr, $story:expr, $tags:expr) => {
        BeforeDedup {
            id: $id,
            version: $story.version,
            source: $story.source.as_deref(),
            headline: $story.headline.as_deref(),
            body: &$story.body,
            dateline: $story.dateline.as_deref(),
            published_at: $story.published_at.as_ref(),
            language: $story.language.as_deref(),
            url: $story.url.as_deref(),
            format: $story.format.as_str(),
            countries: &$tags.countries,
            regions: &$tags.regions,
            topics: &$tags.topics,
        }
    };
}

/// One JSON object, no trailing newline.
pub fn encode(story: &EnrichedStory) -> Encoded {
    let fields = before_dedup!(&story.id, story, story);
    let mut out = fields.open_object(&story.warnings);
    out.raw(b",\"dedup\":");
    dedup_object(&mut out, &story.dedup);
    out.raw(b",\"warnings\":");
    out.strings(&story.warnings);
    out.raw(b"}");
    encoded_with(story, out.into_vec())
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

/// Room for the dedup member when the id it names is short; a longer one makes more.
const DEDUP_ROOM: usize = 160;

/// The members of an [`EnrichedStory`] that come before `dedup`, borrowed, in their order.
struct BeforeDedup<'a> {
    id: &'a str,
    version: Option<u64>,
    source: Option<&'a str>,
    headline: Option<&'a str>,
    body: &'a str,
    dateline: Option<&'a str>,
    published_at: Option<&'a chrono::DateTime<chrono::Utc>>,
    language: Option<&'a str>,
    url: Option<&'a str>,
    /// The format's serialised name, which needs no escape.
    format: &'a str,
    countries: &'a [String],
    regions: &'a [String],
    topics: &'a [TopicTag],
}

impl BeforeDedup<'_> {
    /// Room for the whole object, dedup and warnings included, so that it is never moved:
    /// the names and punctuation, every string with room for some escapes, the numbers.
    fn capacity(&self, warnings: &[String]) -> usize {
        let texts = [
            self.id,
            self.source.unwrap_or_default(),
            self.headline.unwrap_or_default(),
            self.body,
            self.dateline.unwrap_or_default(),
            self.language.unwrap_or_default(),
            self.url.unwrap_or_default(),
        ];
        let lists = [self.countries, self.regions, warnings];
        let text: usize = texts.iter().map(|t| t.len()).sum::<usize>()
            + lists
                .iter()
                .flat_map(|l| l.iter())
                .map(|t| t.len() + 3)
                .sum::<usize>()
            + self
                .topics
                .iter()
                .map(|t| t.qcode.len() + t.label.len() + 64)
                .sum::<usize>();
        text + text / 8 + 512
    }

    /// The object from its opening brace to the last of these members.
    fn open_object(&self, warnings: &[String]) -> Out {
        let mut out = Out::with_room(self.capacity(warnings));
        out.raw(b"{\"id\":");
        out.string(self.id);
        out.raw(b",\"version\":");
        out.optional_u64(self.version);
        out.raw(b",\"source\":");
        out.optional_string(self.source);
        out.raw(b",\"headline\":");
        out.optional_string(self.headline);
        out.raw(b",\"body\":");
        out.string(self.body);
        out.raw(b",\"dateline\":");
        out.optional_string(self.dateline);
        out.raw(b",\"published_at\":");
        out.optional_timestamp(self.published_at);
        out.raw(b",\"language\":");
        out.optional_string(self.language);
        out.raw(b",\"url\":");
        out.optional_string(self.url);
        out.raw(b",\"format\":");
        out.plain_string(self.format);
        out.raw(b",\"countries\":");
        out.strings(self.countries);
        out.raw(b",\"regions\":");
        out.strings(self.regions);
        out.raw(b",\"topics\":[");
        for (i, topic) in self.topics.iter().enumerate() {
            if i > 0 {
                out.raw(b",");
            }
            out.raw(b"{\"qcode\":");
            out.string(&topic.qcode);
            out.raw(b",\"label\":");
            out.string(&topic.label);
            out.raw(b",\"score\":");
            out.fraction(topic.score);
            out.raw(b"}");
        }
        out.raw(b"]");
        out
    }
}

/// A [`DedupDecision`] as its derived `Serialize` writes it: `kind` only when set.
fn dedup_object(out: &mut Out, dedup: &DedupDecision) {
    out.raw(b"{\"status\":");
    out.plain_string(dedup.status.as_str());
    out.raw(b",\"of\":");
    out.optional_string(dedup.of.as_deref());
    out.raw(b",\"similarity\":");
    out.fraction(dedup.similarity);
    if let Some(kind) = dedup.kind {
        out.raw(b",\"kind\":");
        out.plain_string(match kind {
            DuplicateKind::Exact => "exact",
            DuplicateKind::Near => "near",
        });
    }
    out.raw(b"}");
}

/// Serialise everything the output will hold except the dedup decision. `id` is the final
/// story id (the agency's or the content hash).
pub fn pre_encode(id: &str, story: &Story, tags: &Tags) -> PreEncoded {
    let mut open = before_dedup!(id, story, tags).open_object(&story.warnings);
    open.raw(b",\"warnings\":");
    open.strings(&story.warnings);
    PreEncoded {
        open: open.into_vec(),
    }
}

impl PreEncoded {
    /// The payload: the same JSON object [`encode`] makes, with `dedup` as its last member.
    pub fn finish(self, dedup: &DedupDecision) -> Vec<u8> {
        let mut out = Out::after(self.open, DEDUP_ROOM);
        out.raw(b",\"dedup\":");
        dedup_object(&mut out, dedup);
        out.raw(b"}");
        out.into_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DedupStatus, Format};
    use proptest::prelude::*;
    use serde::Serialize;

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

    /// What `pre_encode` + `finish` must write: the story's members as `serde_json` writes
    /// them, with `dedup` moved to the end.
    #[derive(Serialize)]
    struct DedupLast<'a> {
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
        dedup: &'a DedupDecision,
    }

    /// Both ways of encoding give exactly the bytes `serde_json` gives.
    fn assert_written_as_serde_json_writes(story: &EnrichedStory) {
        assert_eq!(
            String::from_utf8(encode(story).payload).unwrap(),
            serde_json::to_string(story).unwrap()
        );
        let plain = Story {
            version: story.version,
            source: story.source.clone(),
            headline: story.headline.clone(),
            body: story.body.clone(),
            dateline: story.dateline.clone(),
            published_at: story.published_at,
            language: story.language.clone(),
            url: story.url.clone(),
            format: story.format,
            warnings: story.warnings.clone(),
            ..Story::default()
        };
        let tags = Tags {
            countries: story.countries.clone(),
            regions: story.regions.clone(),
            topics: story.topics.clone(),
        };
        let expected = DedupLast {
            id: &story.id,
            version: story.version,
            source: &story.source,
            headline: &story.headline,
            body: &story.body,
            dateline: &story.dateline,
            published_at: &story.published_at,
            language: &story.language,
            url: &story.url,
            format: story.format,
            countries: &story.countries,
            regions: &story.regions,
            topics: &story.topics,
            warnings: &story.warnings,
            dedup: &story.dedup,
        };
        assert_eq!(
            String::from_utf8(pre_encode(&story.id, &plain, &tags).finish(&story.dedup)).unwrap(),
            serde_json::to_string(&expected).unwrap()
        );
    }

    const FORMATS: [Format; 9] = [
        Format::Json,
        Format::Ninjs,
        Format::ApMedia,
        Format::NewsmlG2,
        Format::Newsml1,
        Format::Nitf,
        Format::Anpa,
        Format::Iptc7901,
        Format::Text,
    ];

    #[test]
    fn every_format_status_and_kind_is_named_as_serde_names_it() {
        let (story, tags) = story();
        let statuses = [
            DedupStatus::Unique,
            DedupStatus::Duplicate,
            DedupStatus::Update,
        ];
        let kinds = [None, Some(DuplicateKind::Exact), Some(DuplicateKind::Near)];
        for (i, format) in FORMATS.into_iter().enumerate() {
            let dedup = DedupDecision {
                status: statuses[i % 3],
                of: (i % 2 == 0).then(|| "urn:x:0".into()),
                similarity: i as f32 / 7.0,
                kind: kinds[i / 3],
            };
            let mut whole = enriched(&story, &tags, dedup);
            whole.format = format;
            assert_written_as_serde_json_writes(&whole);
        }
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![any::<String>(), "[ -~\n\t\u{0}\u{1f}\u{7f}é—]{0,40}",]
    }

    fn optional_text() -> impl Strategy<Value = Option<String>> {
        prop::option::of(text())
    }

    fn score() -> impl Strategy<Value = f32> {
        prop_oneof![
            0.0f32..=1.0,
            any::<f32>(),
            Just(f32::NAN),
            Just(f32::INFINITY),
            Just(-0.0),
        ]
    }

    fn enriched_story() -> impl Strategy<Value = EnrichedStory> {
        let head = (
            text(),
            any::<Option<u64>>(),
            optional_text(),
            optional_text(),
            text(),
            optional_text(),
            prop::option::of((-70_000_000_000i64..300_000_000_000, 0u32..1_000_000_000)),
            optional_text(),
            optional_text(),
            0..FORMATS.len(),
        );
        let topic = (text(), text(), score()).prop_map(|(qcode, label, score)| TopicTag {
            qcode,
            label,
            score,
        });
        let dedup = (
            0..3usize,
            optional_text(),
            score(),
            prop::option::of(any::<bool>()),
        )
            .prop_map(|(status, of, similarity, kind)| DedupDecision {
                status: [
                    DedupStatus::Unique,
                    DedupStatus::Duplicate,
                    DedupStatus::Update,
                ][status],
                of,
                similarity,
                kind: kind.map(|near| {
                    if near {
                        DuplicateKind::Near
                    } else {
                        DuplicateKind::Exact
                    }
                }),
            });
        let tail = (
            prop::collection::vec(text(), 0..3),
            prop::collection::vec(text(), 0..3),
            prop::collection::vec(topic, 0..3),
            dedup,
            prop::collection::vec(text(), 0..3),
        );
        (head, tail).prop_map(
            |(
                (id, version, source, headline, body, dateline, time, language, url, format),
                (countries, regions, topics, dedup, warnings),
            )| EnrichedStory {
                id,
                version,
                source,
                headline,
                body,
                dateline,
                published_at: time
                    .and_then(|(secs, nanos)| chrono::DateTime::from_timestamp(secs, nanos)),
                language,
                url,
                format: FORMATS[format],
                countries,
                regions,
                topics,
                dedup,
                warnings,
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn any_story_is_written_as_serde_json_writes_it(story in enriched_story()) {
            assert_written_as_serde_json_writes(&story);
        }
    }
}
