//! Golden tests on scraped pages: the shared Arab News sample (when the shared data is there)
//! and a page written for this test.

use std::path::PathBuf;

use wirefeed::model::{Format, Story};
use wirefeed::normalise::{normalise, NormaliseConfig};

fn shared_data() -> PathBuf {
    std::env::var("WIREFEED_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data")))
}

fn fixture(name: &str) -> String {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/normalise"
    ))
    .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn text_story(body: String) -> Story {
    Story {
        body,
        format: Format::Text,
        ..Story::default()
    }
}

fn assert_no_furniture(body: &str, furniture: &[&str]) {
    let lower = body.to_lowercase();
    for f in furniture {
        assert!(
            !lower.contains(&f.to_lowercase()),
            "furniture {f:?} left in body:\n{body}"
        );
    }
}

#[test]
fn arabnews_sample() {
    let path = shared_data().join("samples/arabnews-iraq-us-coalition.txt");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipped: ../shared/data not found ({})", path.display());
        return;
    };
    let story = normalise(text_story(text), &NormaliseConfig::default());
    println!("{story:#?}");
    assert_eq!(
        story.headline.as_deref(),
        Some("Iraq and US need to return to dialogue over future of coalition force, says Iraq foreign minister")
    );
    assert_eq!(story.dateline.as_deref(), Some("CAIRO"));
    assert_eq!(story.source.as_deref(), Some("Reuters"));
    assert!(
        story
            .body
            .starts_with("Iraqi Foreign Minister Fuad Hussein, in a phone call"),
        "{}",
        story.body
    );
    let last = story.body.rsplit("\n\n").next().unwrap_or_default();
    assert!(
        last.starts_with("In July, Washington barred 14 Iraqi banks"),
        "{last}"
    );
    assert!(last.ends_with("illicit use of dollars."), "{last}");
    assert_no_furniture(
        &story.body,
        &[
            "facebook",
            "twitter",
            "Since 1975",
            "Short Url",
            "GMT9",
            "AFP file photo",
            "topics",
            "Most Popular",
            "Recommended",
            "return to top",
            "•",
            "\nReuters",
        ],
    );
    assert_eq!(story.language.as_deref(), Some("en"));
    // The header timestamp is used, with a warning about its unknown zone.
    assert_eq!(
        story.published_raw.as_deref(),
        Some("07 Feb 2024 01:02:02 GMT9")
    );
    assert_eq!(
        story.published_at.map(|t| t.to_rfc3339()),
        Some("2024-02-07T01:02:02+00:00".to_owned())
    );
    assert!(
        story.warnings.iter().any(|w| w.contains("GMT9")),
        "{:?}",
        story.warnings
    );
    assert_eq!(normalise(story.clone(), &NormaliseConfig::default()), story);
}

#[test]
fn own_scraped_page() {
    let text = fixture("scraped-harbour-page.txt");
    let story = normalise(text_story(text), &NormaliseConfig::default());
    println!("{story:#?}");
    assert_eq!(
        story.headline.as_deref(),
        Some("Harbour authority approves night shipping on the northern channel")
    );
    assert_eq!(story.dateline.as_deref(), Some("PORTVALE, Ruritania"));
    assert_eq!(story.source.as_deref(), Some("AP"));
    assert!(
        story
            .body
            .starts_with("The harbour authority voted on Monday"),
        "{}",
        story.body
    );
    assert!(
        story.body.ends_with("before the winter storms arrive.\""),
        "{}",
        story.body
    );
    // A real short paragraph inside the story stays.
    assert!(
        story.body.contains("\n\nNo one objected.\n\n"),
        "{}",
        story.body
    );
    assert_no_furniture(
        &story.body,
        &[
            "Skip to content",
            "Share on Facebook",
            "WhatsApp",
            "Copy link",
            "Advertisement",
            "Photo:",
            "Updated",
            "Read more",
            "Back to top",
            "Trending",
            "Related",
            "©",
            "Reporting by",
            "Harbour authority approves night shipping",
            "▪",
            "Sections",
        ],
    );
    assert_eq!(story.paragraph_count(), 6, "{}", story.body);
    assert_eq!(
        story.published_at.map(|t| t.to_rfc3339()),
        Some("2025-03-10T14:05:00+00:00".to_owned())
    );
    assert!(story.warnings.is_empty(), "{:?}", story.warnings);
    assert_eq!(normalise(story.clone(), &NormaliseConfig::default()), story);
}

trait Paragraphs {
    fn paragraph_count(&self) -> usize;
}

impl Paragraphs for Story {
    fn paragraph_count(&self) -> usize {
        self.body.split("\n\n").count()
    }
}
