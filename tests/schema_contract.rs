//! The published JSON Schema and the serialised story agree: same fields, same enum values.

use std::collections::BTreeSet;

use wirefeed::model::{DedupDecision, DedupStatus, DuplicateKind, EnrichedStory, Format, TopicTag};

fn schema() -> serde_json::Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/enriched-story.schema.json"
    ))
    .expect("schema file");
    serde_json::from_str(&text).expect("schema is JSON")
}

fn story(format: Format) -> EnrichedStory {
    EnrichedStory {
        id: "wf-0".into(),
        version: Some(2),
        source: Some("Reuters".into()),
        headline: Some("h".into()),
        body: "b".into(),
        dateline: Some("CAIRO".into()),
        published_at: None,
        language: Some("en".into()),
        url: None,
        format,
        countries: vec!["IQ".into()],
        regions: vec!["Middle East".into()],
        topics: vec![TopicTag {
            qcode: "medtop:11000000".into(),
            label: "politics".into(),
            score: 0.8,
        }],
        dedup: DedupDecision {
            status: DedupStatus::Duplicate,
            of: Some("x".into()),
            similarity: 0.9,
            kind: Some(DuplicateKind::Near),
        },
        warnings: vec![],
    }
}

#[test]
fn serialised_fields_are_the_schema_fields() {
    let schema = schema();
    let value = serde_json::to_value(story(Format::Json)).unwrap();
    let keys: BTreeSet<_> = value.as_object().unwrap().keys().cloned().collect();
    let props: BTreeSet<_> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let required: BTreeSet<_> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys, props);
    assert_eq!(keys, required);
    let dedup_props: BTreeSet<_> = schema["properties"]["dedup"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let dedup_keys: BTreeSet<_> = value["dedup"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(dedup_keys, dedup_props);
}

#[test]
fn every_format_is_in_the_schema_enum() {
    let schema = schema();
    let allowed: BTreeSet<_> = schema["properties"]["format"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    for f in [
        Format::Json,
        Format::Ninjs,
        Format::ApMedia,
        Format::NewsmlG2,
        Format::Newsml1,
        Format::Nitf,
        Format::Anpa,
        Format::Iptc7901,
        Format::Text,
    ] {
        let v = serde_json::to_value(story(f)).unwrap();
        let name = v["format"].as_str().unwrap().to_string();
        assert!(allowed.contains(&name), "{name} missing from the schema");
        assert_eq!(name, f.as_str(), "metric label and payload spelling agree");
    }
}
