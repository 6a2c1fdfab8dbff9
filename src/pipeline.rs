//! The only module that knows every stage. It composes them into the synchronous chain that
//! both `wirefeed process` and the Kafka runtime run:
//! decode -> normalise -> tag -> dedup -> enriched story.
//!
//! Tagging is pure and may run on any thread; dedup is the one stateful step, so callers that
//! process partitions concurrently share one [`DedupIndex`] behind a lock and keep decisions
//! deterministic for a given input order.

use std::time::Instant;

use chrono::{DateTime, Utc};
use xxhash_rust::xxh3::xxh3_128;

use crate::config::StagesConfig;
use crate::decode::decode;
use crate::dedup::{fingerprint_story, DedupIndex, Entry, Fingerprint, Fingerprinter};
use crate::error::{Rejection, TableError};
use crate::model::{DedupDecision, EnrichedStory, Story, Tags};
use crate::normalise::normalise;
use crate::tag::Tagger;

/// How long each stage took for one story, for the stage-duration histograms.
#[derive(Debug, Clone, Copy, Default)]
pub struct StageTimings {
    pub decode: f64,
    pub normalise: f64,
    pub tag: f64,
    pub dedup: f64,
}

/// A story that went through decode, normalise and tag and now waits for its dedup decision.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub id: String,
    pub story: Story,
    pub tags: Tags,
    /// The dedup fingerprint, computed here so only the lookup waits for input order.
    pub fingerprint: Fingerprint,
    pub timings: StageTimings,
}

thread_local! {
    /// Scratch buffers for fingerprinting, one set per thread that prepares stories.
    static FINGERPRINTER: std::cell::RefCell<Fingerprinter> = std::cell::RefCell::new(Fingerprinter::new());
}

/// The stateless stages, built once from config.
pub struct Stages {
    config: StagesConfig,
    tagger: Tagger,
}

impl Stages {
    pub fn new(config: StagesConfig) -> Result<Self, TableError> {
        let tagger = Tagger::new(&config.tag)?;
        Ok(Stages { config, tagger })
    }

    pub fn config(&self) -> &StagesConfig {
        &self.config
    }

    /// Decode, normalise and tag one payload.
    pub fn prepare(&self, payload: &[u8]) -> Result<Prepared, Rejection> {
        let mut timings = StageTimings::default();
        let started = Instant::now();
        let decoded = decode(payload, &self.config.decode)?;
        timings.decode = started.elapsed().as_secs_f64();

        let started = Instant::now();
        let story = normalise(decoded, &self.config.normalise);
        timings.normalise = started.elapsed().as_secs_f64();
        if story.body.trim().is_empty() && story.headline.as_deref().unwrap_or("").trim().is_empty()
        {
            return Err(Rejection {
                kind: "no-text",
                reason: "no headline and no body text after normalisation".into(),
            });
        }

        let started = Instant::now();
        let tags = self.tagger.tag(&story);
        timings.tag = started.elapsed().as_secs_f64();

        let started = Instant::now();
        let fingerprint =
            FINGERPRINTER.with_borrow_mut(|f| fingerprint_story(&self.config.dedup, f, &story));
        timings.dedup = started.elapsed().as_secs_f64();

        let id = story.id.clone().unwrap_or_else(|| content_id(&story));
        Ok(Prepared {
            id,
            story,
            tags,
            fingerprint,
            timings,
        })
    }
}

/// A stable id for stories that carry none: a hash of the normalised headline and body, so a
/// re-sent copy gets the same id on every replica and in every replay.
pub fn content_id(story: &Story) -> String {
    let mut text = String::with_capacity(story.body.len() + 128);
    text.push_str(story.headline.as_deref().unwrap_or(""));
    text.push('\n');
    text.push_str(&story.body);
    format!("wf-{:032x}", xxh3_128(text.as_bytes()))
}

/// Run the dedup decision for a prepared story and build the enriched output.
/// `received_at` stands in for the story time when the story has none.
pub fn decide(
    index: &mut DedupIndex,
    prepared: Prepared,
    received_at: DateTime<Utc>,
) -> (EnrichedStory, Option<Entry>, StageTimings) {
    decide_input(index, prepared, received_at, 0)
}

/// [`decide`] for a story from the input record tagged `input` ([`crate::dedup::input_tag`]),
/// so that a record consumed again gets the decision it got the first time.
pub fn decide_input(
    index: &mut DedupIndex,
    mut prepared: Prepared,
    received_at: DateTime<Utc>,
    input: u16,
) -> (EnrichedStory, Option<Entry>, StageTimings) {
    let started = Instant::now();
    let at = prepared.story.published_at.unwrap_or(received_at);
    let fingerprint = std::mem::replace(&mut prepared.fingerprint, Fingerprint::EMPTY);
    let (decision, admitted) =
        index.check_fingerprinted(&prepared.story, &prepared.id, at, input, fingerprint);
    prepared.timings.dedup += started.elapsed().as_secs_f64();
    let timings = prepared.timings;
    (enrich(prepared, decision), admitted, timings)
}

fn enrich(prepared: Prepared, dedup: DedupDecision) -> EnrichedStory {
    let Prepared {
        id, story, tags, ..
    } = prepared;
    EnrichedStory {
        id,
        version: story.version,
        source: story.source,
        headline: story.headline,
        body: story.body,
        dateline: story.dateline,
        published_at: story.published_at,
        language: story.language,
        url: story.url,
        format: story.format,
        countries: tags.countries,
        regions: tags.regions,
        topics: tags.topics,
        dedup,
        warnings: story.warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_are_shared_between_worker_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Stages>();
    }
}
