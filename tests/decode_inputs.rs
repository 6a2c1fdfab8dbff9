//! Decoding of small hand-written fixtures: one per format and alias, and one per kind of
//! bad input with the refusal it must get.

use wirefeed::decode::{decode, DecodeConfig};
use wirefeed::error::DecodeError;
use wirefeed::model::{EditSignal, Format, Story};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/decode/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn ok(name: &str) -> Story {
    decode(&fixture(name), &DecodeConfig::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn kind(name: &str) -> &'static str {
    match decode(&fixture(name), &DecodeConfig::default()) {
        Ok(s) => panic!("{name} decoded: {s:?}"),
        Err(e) => e.kind(),
    }
}

#[test]
fn own_schema() {
    let s = ok("own_schema.json");
    assert_eq!(s.format, Format::Json);
    assert_eq!(s.id.as_deref(), Some("wf-1"));
    assert_eq!(s.version, Some(2));
    assert_eq!(s.source.as_deref(), Some("Example Wire"));
    assert_eq!(
        s.headline.as_deref(),
        Some("Port strike ends after three days")
    );
    assert_eq!(
        s.body,
        "Dockers returned to work on Friday.\n\nThe union said talks would continue."
    );
    assert_eq!(s.dateline.as_deref(), Some("ROTTERDAM"));
    assert_eq!(s.published_raw.as_deref(), Some("2024-03-01T09:30:00Z"));
    assert_eq!(s.url.as_deref(), Some("https://example.com/a/1"));
    assert_eq!(s.language.as_deref(), Some("en"));
    assert!(s.warnings.is_empty());
}

#[test]
fn alias_guid_title_text_date() {
    let s = ok("alias_title_text.json");
    assert_eq!(s.id.as_deref(), Some("g-7"));
    assert_eq!(s.headline.as_deref(), Some("Rain delays harvest"));
    assert_eq!(s.body, "Farmers waited.");
    assert_eq!(
        s.published_raw.as_deref(),
        Some("Fri, 01 Mar 2024 10:00:00 GMT")
    );
    assert_eq!(s.version, Some(4), "version given as a string");
}

#[test]
fn alias_uri_headline_content_array() {
    let s = ok("alias_headline_content.json");
    assert_eq!(s.id.as_deref(), Some("urn:x:9"));
    assert_eq!(s.headline.as_deref(), Some("Bridge reopens"));
    assert_eq!(s.body, "First paragraph.\n\nSecond paragraph.");
    assert_eq!(s.published_raw.as_deref(), Some("2024-03-01"));
}

#[test]
fn alias_numeric_id_body_text() {
    let s = ok("alias_body_text.json");
    assert_eq!(s.id.as_deref(), Some("12345"));
    assert_eq!(s.body, "Counting started at 8pm.");
    assert_eq!(s.published_raw.as_deref(), Some("2024-03-02T20:00:00Z"));
}

#[test]
fn ninjs_minimal() {
    let s = ok("ninjs_minimal.json");
    assert_eq!(s.format, Format::Ninjs);
    assert_eq!(s.headline.as_deref(), Some("Central bank holds rates"));
    assert_eq!(s.body, "The bank held rates at 4%.\n\nMarkets rose.");
    assert_eq!(s.version, Some(1));
}

#[test]
fn newsml_g2_minimal() {
    let s = ok("newsml_g2_minimal.xml");
    assert_eq!(s.format, Format::NewsmlG2);
    assert_eq!(s.id.as_deref(), Some("urn:example:story:1"));
    assert_eq!(s.version, Some(3));
    assert_eq!(s.headline.as_deref(), Some("Flood waters recede in valley"));
    assert_eq!(s.dateline.as_deref(), Some("LYON"));
    assert_eq!(s.source.as_deref(), Some("Example Wire"));
    assert_eq!(
        s.body,
        "Water levels fell overnight.\n\nRoads & rail lines reopened."
    );
    assert_eq!(s.edit_signal, Some(EditSignal::Correction));
    assert_eq!(s.published_raw.as_deref(), Some("2024-03-01T12:00:00Z"));
}

#[test]
fn nitf_minimal_latin1() {
    let s = ok("nitf_minimal.xml");
    assert_eq!(s.format, Format::Nitf);
    assert_eq!(s.id.as_deref(), Some("nitf-42"));
    assert_eq!(s.headline.as_deref(), Some("Zug fährt wieder"));
    assert_eq!(s.dateline.as_deref(), Some("MÜNCHEN"));
    assert_eq!(s.body, "Die Strecke ist frei.\n\nVerspätungen bleiben.");
    assert_eq!(s.language.as_deref(), Some("de-DE"));
    assert_eq!(s.published_raw.as_deref(), Some("20240301T080000+0100"));
}

#[test]
fn anpa_minimal() {
    let s = ok("anpa_minimal.tst");
    assert_eq!(s.format, Format::Anpa);
    assert_eq!(s.headline.as_deref(), Some("Ferry fire forces evacuation"));
    assert!(
        s.body
            .ends_with("ATHENS, Greece (AP) _ A fire broke out on a ferry on Friday.\n\nAll passengers were safe."),
        "{}",
        s.body
    );
    assert!(!s.body.contains('\u{2}') && !s.body.contains('^'));
}

#[test]
fn iptc7901_minimal() {
    let s = ok("iptc7901_minimal.txt");
    assert_eq!(s.format, Format::Iptc7901);
    assert_eq!(s.headline.as_deref(), Some("Rail strike called off"));
    assert_eq!(
        s.body,
        "Berlin (dpa) - The rail union called off its strike on Friday.\n\nTrains will run normally."
    );
    assert_eq!(s.source.as_deref(), Some("dpa"));
}

#[test]
fn plain_text_passes_through() {
    let s = ok("plain_text.txt");
    assert_eq!(s.format, Format::Text);
    assert!(s
        .body
        .starts_with("Home | News | Sport\n\nCity council approves new park"));
    assert!(s.headline.is_none());
}

#[test]
fn bad_empty() {
    assert_eq!(kind("bad_empty.bin"), "empty");
}

#[test]
fn bad_only_whitespace() {
    assert_eq!(kind("bad_whitespace.txt"), "empty");
}

#[test]
fn bad_truncated_json_names_the_position() {
    let err = decode(&fixture("bad_truncated.json"), &DecodeConfig::default()).unwrap_err();
    assert_eq!(err.kind(), "invalid-json");
    assert!(err.to_string().contains("line 1 column"), "{err}");
}

#[test]
fn bad_png_is_binary() {
    let err = decode(&fixture("bad_png.bin"), &DecodeConfig::default()).unwrap_err();
    assert_eq!(err.kind(), "binary");
    assert!(err.to_string().contains("PNG"), "{err}");
}

#[test]
fn bad_invalid_utf8() {
    assert_eq!(kind("bad_invalid_utf8.bin"), "encoding");
}

#[test]
fn bad_deep_json() {
    let err = decode(&fixture("bad_deep.json"), &DecodeConfig::default()).unwrap_err();
    assert_eq!(err, DecodeError::TooDeep { limit: 64 });
}

#[test]
fn bad_billion_laughs() {
    assert_eq!(kind("bad_billion_laughs.xml"), "xml-doctype");
}

#[test]
fn bad_xxe() {
    assert_eq!(kind("bad_xxe.xml"), "xml-doctype");
}

#[test]
fn bad_headline_type() {
    let err = decode(
        &fixture("bad_headline_object.json"),
        &DecodeConfig::default(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        DecodeError::FieldType {
            field: "headline".into(),
            expected: "a string"
        }
    );
}

#[test]
fn bad_body_type() {
    assert_eq!(kind("bad_body_number.json"), "field-type");
}

#[test]
fn bad_no_text_json() {
    assert_eq!(kind("bad_no_text.json"), "no-text");
}

#[test]
fn bad_no_text_xml() {
    assert_eq!(kind("bad_no_text.xml"), "no-text");
}

#[test]
fn bad_control_characters() {
    assert_eq!(kind("bad_controls.bin"), "binary");
}

#[test]
fn bad_unknown_xml_root() {
    let err = decode(&fixture("bad_unknown_root.xml"), &DecodeConfig::default()).unwrap_err();
    assert_eq!(err, DecodeError::UnknownXmlRoot("rss".into()));
}

#[test]
fn bad_picture_is_not_text() {
    assert_eq!(kind("bad_picture.xml"), "not-text");
}

#[test]
fn too_large_is_checked_first() {
    let config = DecodeConfig {
        max_payload_bytes: 16,
        ..DecodeConfig::default()
    };
    let err = decode(&fixture("own_schema.json"), &config).unwrap_err();
    assert_eq!(err.kind(), "too-large");
}

#[test]
fn windows_1252_fallback_warns() {
    let s = decode(
        b"Caf\xe9 owners protest \x93new rules\x94",
        &DecodeConfig::default(),
    )
    .unwrap();
    assert_eq!(s.body, "Café owners protest “new rules”");
    assert!(s.warnings.iter().any(|w| w.contains("windows-1252")));
}
