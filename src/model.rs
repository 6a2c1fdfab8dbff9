//! The story as it moves through the stages. Types only: behaviour lives in the stages.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Which decoder recognised a payload. Kept on the story for metrics and debugging.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Our own JSON schema and agency JSON with the documented field aliases.
    #[default]
    Json,
    Ninjs,
    ApMedia,
    NewsmlG2,
    #[serde(rename = "newsml-1")]
    Newsml1,
    Nitf,
    Anpa,
    #[serde(rename = "iptc-7901")]
    Iptc7901,
    Text,
}

impl Format {
    /// A short, bounded label for metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Ninjs => "ninjs",
            Format::ApMedia => "ap-media",
            Format::NewsmlG2 => "newsml-g2",
            Format::Newsml1 => "newsml-1",
            Format::Nitf => "nitf",
            Format::Anpa => "anpa",
            Format::Iptc7901 => "iptc-7901",
            Format::Text => "text",
        }
    }
}

/// What the sender says this item is, when the format carries it (NewsML `pubStatus`,
/// ninjs `pubstatus`, ANPA/7901 keywords, "CORRECTED-", "UPDATE 2-", "writethru", "kill").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EditSignal {
    Update,
    Correction,
    Kill,
}

/// A story as decoded and then normalised. Decoders fill what their format carries and leave
/// the rest empty; the normaliser cleans text and derives dateline, credit, time and language.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Story {
    /// Agency id (`guid`, NewsML `guid`, NITF `doc-id`, ...), if the payload has one.
    pub id: Option<String>,
    /// Agency version number, if the payload has one.
    pub version: Option<u64>,
    /// Agency or publisher credit ("Reuters", "AP", ...).
    pub source: Option<String>,
    pub headline: Option<String>,
    /// Body text: paragraphs separated by a blank line (`\n\n`), no markup.
    pub body: String,
    /// Dateline as found ("CAIRO", "SALVADOR, Feb 26"), place first.
    pub dateline: Option<String>,
    /// Publication time exactly as the payload wrote it; the normaliser parses it.
    pub published_raw: Option<String>,
    /// Publication time parsed by the normaliser, in UTC.
    pub published_at: Option<DateTime<Utc>>,
    pub url: Option<String>,
    /// BCP 47 language tag: from the payload when given, else detected by the normaliser.
    pub language: Option<String>,
    /// Update / correction / kill, when the payload says so.
    pub edit_signal: Option<EditSignal>,
    /// Which decoder produced this story.
    pub format: Format,
    /// Things the stages noticed but could not settle (an unparseable timestamp, a guessed
    /// charset). Emitted with the story so nothing is guessed silently.
    pub warnings: Vec<String>,
}

/// What the dedup stage decided about a story.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DedupStatus {
    Unique,
    Duplicate,
    Update,
}

impl DedupStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DedupStatus::Unique => "unique",
            DedupStatus::Duplicate => "duplicate",
            DedupStatus::Update => "update",
        }
    }
}

/// Exact duplicates share the normalised text; near duplicates share most of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DuplicateKind {
    Exact,
    Near,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DedupDecision {
    pub status: DedupStatus,
    /// The id of the story this one duplicates or updates.
    pub of: Option<String>,
    /// Similarity to `of` in 0..=1 (1 for exact duplicates); 0 for unique stories.
    pub similarity: f32,
    /// Set for duplicates only.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub kind: Option<DuplicateKind>,
}

impl DedupDecision {
    pub fn unique() -> Self {
        DedupDecision {
            status: DedupStatus::Unique,
            of: None,
            similarity: 0.0,
            kind: None,
        }
    }
}

/// An IPTC Media Topic with the tagger's confidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicTag {
    /// e.g. `medtop:04000000`.
    pub qcode: String,
    pub label: String,
    /// Confidence in 0..=1.
    pub score: f32,
}

/// Everything the tagger adds.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Tags {
    /// ISO 3166-1 alpha-2, most salient first.
    pub countries: Vec<String>,
    /// Editorial regions, in the order of the countries that produced them.
    pub regions: Vec<String>,
    /// Top-level topics always, narrower ones when confident; highest score first.
    pub topics: Vec<TopicTag>,
}

/// The output contract: one enriched story. `schema/enriched-story.schema.json` documents it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrichedStory {
    pub id: String,
    pub version: Option<u64>,
    pub source: Option<String>,
    pub headline: Option<String>,
    pub body: String,
    pub dateline: Option<String>,
    /// RFC 3339 in UTC, or null.
    pub published_at: Option<DateTime<Utc>>,
    pub language: Option<String>,
    pub url: Option<String>,
    pub format: Format,
    pub countries: Vec<String>,
    pub regions: Vec<String>,
    pub topics: Vec<TopicTag>,
    pub dedup: DedupDecision,
    pub warnings: Vec<String>,
}
