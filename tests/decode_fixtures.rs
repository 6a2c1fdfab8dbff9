//! Decode every real wire sample in the shared corpora: no panics, text items yield text,
//! and golden checks on known items. Prints a tally of decoded vs rejected files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use wirefeed::decode::{decode, DecodeConfig};
use wirefeed::model::{EditSignal, Format, Story};

fn shared() -> PathBuf {
    std::env::var("WIREFEED_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data")))
        .join("wire-formats")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if !p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with(".md"))
        {
            out.push(p);
        }
    }
}

fn load(rel: &str) -> Option<Story> {
    let path = shared().join(rel);
    let bytes = std::fs::read(&path).ok()?;
    Some(decode(&bytes, &DecodeConfig::default()).unwrap_or_else(|e| panic!("{rel}: {e}")))
}

/// Files that carry no text story: pictures, video, planning/concept items, feeds of other
/// systems, mocks.
fn expected_rejection(name: &str) -> bool {
    const NAMES: &[&str] = &[
        "picture",
        "video",
        "image",
        "audio",
        "Photo",
        "Planning",
        "Concept",
        "Catalog",
        "Knowledge",
        "Event",
        "Package",
        "Group_Set",
        "mock",
        "wordpress",
        "wenn",
        "ritzau",
        "GM1EA7M13RP01",
        "snep",
        "SportsML",
        "Receiver View",
        "facet",
        "Hop_History",
        "Company_Financial",
        "extension-schema",
        "SIPA",
        "imageLinkedRights",
        "imageEncodedRights",
        "no_content",
        "collection",
        "ap_media_feed",
        "ap_media_picture",
        "ap_media_item.json",
        "Video",
        "photo",
        "ap_metadata",
        "LISTING_25",
        "LISTING_28",
        "KBN0FL0NM_",
        "LYNXMPEA",
        "aap-finance-lite",
    ];
    NAMES.iter().any(|n| name.contains(n))
}

#[test]
fn every_sample_decodes_or_is_refused_for_a_reason() {
    let root = shared();
    if !root.is_dir() {
        println!("skipped: ../shared/data not found");
        return;
    }
    let mut all = Vec::new();
    files(&root, &mut all);
    all.sort();
    let mut by_format: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_reason: BTreeMap<&str, usize> = BTreeMap::new();
    let mut unexpected = Vec::new();
    for path in &all {
        let rel = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .display()
            .to_string();
        let bytes = std::fs::read(path).expect("readable fixture");
        match decode(&bytes, &DecodeConfig::default()) {
            Ok(story) => {
                *by_format.entry(story.format.as_str()).or_default() += 1;
                assert!(
                    !story.body.trim().is_empty() || story.headline.is_some(),
                    "{rel}: decoded without text"
                );
                println!(
                    "ok   {rel}: {} {:?} | {} chars",
                    story.format.as_str(),
                    story
                        .headline
                        .as_deref()
                        .unwrap_or("-")
                        .chars()
                        .take(60)
                        .collect::<String>(),
                    story.body.len()
                );
            }
            Err(e) => {
                *by_reason.entry(e.kind()).or_default() += 1;
                println!("rej  {rel}: {}: {e}", e.kind());
                if !expected_rejection(&rel) {
                    unexpected.push(format!("{rel}: {e}"));
                }
            }
        }
    }
    let decoded: usize = by_format.values().sum();
    let rejected: usize = by_reason.values().sum();
    println!(
        "\n{} files: {decoded} decoded, {rejected} rejected",
        all.len()
    );
    println!("decoded by format: {by_format:?}");
    println!("rejected by reason: {by_reason:?}");
    for u in &unexpected {
        println!("unexpected rejection: {u}");
    }
    assert!(
        unexpected.is_empty(),
        "{} unexpected rejections",
        unexpected.len()
    );
}

#[test]
fn golden_reuters_newsml_g2() {
    let Some(s) = load("superdesk-fixtures/tag_reuters.com_2014_newsml_KBN0FL0NN_version_5") else {
        println!("skipped: ../shared/data not found");
        return;
    };
    assert_eq!(s.format, Format::NewsmlG2);
    assert_eq!(
        s.id.as_deref(),
        Some("tag_reuters.com_2014_newsml_KBN0FL0NN")
    );
    assert_eq!(s.version, Some(5));
    assert_eq!(
        s.headline.as_deref(),
        Some("Confident Assad launches new term in stronger position")
    );
    assert!(s.body.len() > 1000, "{}", s.body);
    assert!(s.body.contains("\n\n"));
    assert!(!s.body.contains('<'));
}

#[test]
fn golden_reuters_versions_share_a_guid() {
    let (Some(a), Some(b)) = (
        load("superdesk-fixtures/tag_reuters.com_2016_newsml_L1N14N0FF_version_978556838"),
        load("superdesk-fixtures/tag_reuters.com_2016_newsml_L1N14N0FF_version_1542761538"),
    ) else {
        println!("skipped: ../shared/data not found");
        return;
    };
    assert_eq!(a.id, b.id);
    assert_ne!(a.version, b.version);
    assert_eq!(a.language.as_deref(), Some("en"));
}

#[test]
fn golden_ap_nitf() {
    let Some(s) = load("superdesk-fixtures/ap-nitf.xml") else {
        println!("skipped: ../shared/data not found");
        return;
    };
    assert_eq!(s.format, Format::Nitf);
    let h = s.headline.unwrap_or_default();
    assert!(!h.is_empty());
    assert!(!s.body.is_empty());
    println!("ap-nitf headline: {h}");
}

#[test]
fn golden_anpa() {
    let Some(s) = load("superdesk-fixtures/anpa-1.tst") else {
        println!("skipped: ../shared/data not found");
        return;
    };
    assert_eq!(s.format, Format::Anpa);
    assert_eq!(
        s.headline.as_deref(),
        Some("For Argentine chemo patients, mirrors can hurt")
    );
    assert!(
        s.body
            .contains("BUENOS AIRES, Argentina (AP) _ For cancer patients"),
        "{}",
        &s.body[..s.body.len().min(400)]
    );
    let writethru = load("superdesk-fixtures/anpa-2.tst").expect("anpa-2");
    assert_eq!(writethru.edit_signal, Some(EditSignal::Update));
}

#[test]
fn golden_iptc7901() {
    let Some(s) = load("superdesk-fixtures/IPTC7901.txt") else {
        println!("skipped: ../shared/data not found");
        return;
    };
    assert_eq!(s.format, Format::Iptc7901);
    assert_eq!(
        s.headline.as_deref(),
        Some("Germany Social Democrats: Coalition talks with Merkel could fail")
    );
    assert!(
        s.body.starts_with("Berlin (dpa) - Negotiations between"),
        "{}",
        s.body
    );
    let odd = load("superdesk-fixtures/IPTC7901_odd_charset.txt").expect("odd charset");
    assert!(odd.body.contains("Thomas Müller"));
    assert!(odd.warnings.iter().any(|w| w.contains("windows-1252")));
}

#[test]
fn golden_ninjs() {
    let Some(s) = load("superdesk-fixtures/ninjsExSimpleText1.json") else {
        println!("skipped: ../shared/data not found");
        return;
    };
    assert_eq!(s.format, Format::Ninjs);
    assert!(s.headline.is_some());
    let dpa = load("iptc-ninjs-examples/examples/2.1/dpa_text.json").expect("dpa ninjs");
    assert_eq!(
        dpa.id.as_deref(),
        Some("urn:newsml:dpa.com:20090101:190510-99-167362")
    );
    assert_eq!(dpa.version, Some(2));
    assert!(!dpa.body.is_empty() && !dpa.body.contains("<p>"));
}

#[test]
fn golden_ap_media() {
    let Some(s) = load("superdesk-fixtures/ap_media_text_item.json") else {
        println!("skipped: ../shared/data not found");
        return;
    };
    assert_eq!(s.format, Format::ApMedia);
    assert!(s.headline.is_some());
    let feed = load("superdesk-fixtures/ap_media_text_feed.json").expect("feed");
    assert_eq!(feed.format, Format::ApMedia);
    let picture = std::fs::read(shared().join("superdesk-fixtures/ap_media_picture.json")).unwrap();
    let err = decode(&picture, &DecodeConfig::default()).unwrap_err();
    assert_eq!(err.kind(), "not-text");
}

#[test]
fn golden_dpa_digitalwires() {
    let Some(s) = load("dpa-digitalwires/input/dw-1.json") else {
        println!("skipped: ../shared/data not found");
        return;
    };
    assert_eq!(
        s.id.as_deref(),
        Some("urn:newsml:dpa.com:20090101:240923-930-240378")
    );
    assert_eq!(s.version, Some(2));
    assert_eq!(s.edit_signal, Some(EditSignal::Correction));
    assert_eq!(s.language.as_deref(), Some("de"));
    assert!(s.body.starts_with("Die meisten Kun"), "{}", s.body);
    assert!(s.headline.unwrap().contains("Mythos"));
}

#[test]
fn golden_newsml1_afp() {
    let Some(s) = load("superdesk-fixtures/afp.xml") else {
        println!("skipped: ../shared/data not found");
        return;
    };
    assert_eq!(s.format, Format::Newsml1);
    assert!(s.headline.is_some());
    assert!(s.body.contains("\n\n"));
    assert_eq!(s.source.as_deref(), Some("AFP"));
}

#[test]
fn golden_nitf_in_newsml_g2() {
    let Some(s) = load("superdesk-fixtures/scoop.xml") else {
        println!("skipped: ../shared/data not found");
        return;
    };
    assert_eq!(s.format, Format::NewsmlG2);
    assert!(!s.body.is_empty());
    let latin = load("superdesk-fixtures/nitf-ntb.xml").expect("ntb");
    assert_eq!(latin.format, Format::Nitf);
    assert!(latin.warnings.is_empty());
}
