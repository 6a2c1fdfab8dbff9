//! IPTC Media Topics for a story, from a weighted lexicon.
//!
//! Why a lexicon and not a trained model: the labelled news corpora at hand may not be shipped
//! or used to train what ships, so the evidence is a curated list of weighted words and
//! phrases per topic (`config/topics/keywords.txt`) plus terms mined from the IPTC labels and
//! definitions (`scripts/build_topics.py`). Each term points at a concept; evidence for a
//! narrower concept also counts for every broader one up to its top-level topic.
//!
//! Scoring: a term found `n` times (headline ×3, lead paragraph ×1.5) adds
//! `weight · ln(1 + n)`, so repetition saturates. Evidence is damped for long texts, then
//! squashed to 0..1 as `(1 − e^(−r/K)) · √(r / r_best)`: absolute evidence decides how sure we
//! are of anything, the ratio to the best topic decides how much a second topic counts.

mod lexicon;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::TableError;
use crate::model::{Story, TopicTag};

use lexicon::{CaseMode, Hit, Lexicon};

const EMBEDDED_CONCEPTS: &str = include_str!("../../../config/topics/concepts.tsv");
const EMBEDDED_LEXICON: &str = include_str!("../../../config/topics/lexicon.tsv");

/// Position weights: a term in the headline says more than one deep in the body.
const HEADLINE_WEIGHT: f32 = 3.0;
const LEAD_WEIGHT: f32 = 1.5;
const BODY_WEIGHT: f32 = 1.0;
/// The lead is the first paragraph, but no more than this many bytes.
const MAX_LEAD_BYTES: usize = 600;
/// Evidence at which confidence reaches 1 − 1/e.
const CONFIDENCE_SCALE: f32 = 12.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TopicsConfig {
    /// A `concepts.tsv` to use instead of the embedded one (qcode, broader, label).
    pub concepts_path: Option<PathBuf>,
    /// A `lexicon.tsv` to use instead of the embedded one (term, case mode, qcode, weight).
    pub lexicon_path: Option<PathBuf>,
    /// Topics other than the best top-level one are kept from this score up (0..=1).
    pub min_score: f32,
    /// At most this many narrower concepts per story.
    pub max_narrower: usize,
    /// The top-level topic given, with score 0, to a story with no evidence at all.
    pub fallback: String,
}

impl Default for TopicsConfig {
    fn default() -> Self {
        TopicsConfig {
            concepts_path: None,
            lexicon_path: None,
            min_score: 0.35,
            max_narrower: 5,
            fallback: "medtop:14000000".into(),
        }
    }
}

pub struct TopicTagger {
    lexicon: Lexicon,
    min_score: f32,
    max_narrower: usize,
    /// Concept index of the fallback top-level topic.
    fallback: u16,
}

fn read_table(path: &Option<PathBuf>, embedded: &str) -> Result<(String, String), TableError> {
    match path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|source| TableError::Io {
                path: p.display().to_string(),
                source,
            })?;
            Ok((text, p.display().to_string()))
        }
        None => Ok((embedded.to_string(), "embedded topics table".to_string())),
    }
}

fn config_error(key: &str, message: String) -> TableError {
    TableError::Parse {
        path: format!("tag.topics.{key}"),
        line: 0,
        message,
    }
}

impl TopicTagger {
    pub fn new(config: &TopicsConfig) -> Result<Self, TableError> {
        if !(0.0..=1.0).contains(&config.min_score) {
            return Err(config_error(
                "min_score",
                format!("{} is not in 0..=1", config.min_score),
            ));
        }
        let (concepts, concepts_name) = read_table(&config.concepts_path, EMBEDDED_CONCEPTS)?;
        let (terms, terms_name) = read_table(&config.lexicon_path, EMBEDDED_LEXICON)?;
        let lexicon = Lexicon::parse(&concepts, &concepts_name, &terms, &terms_name)?;
        let fallback = lexicon
            .tops
            .iter()
            .copied()
            .find(|&t| lexicon.concepts[t as usize].qcode == config.fallback)
            .ok_or_else(|| {
                config_error(
                    "fallback",
                    format!("{:?} is not a top-level Media Topic", config.fallback),
                )
            })?;
        Ok(TopicTagger {
            lexicon,
            min_score: config.min_score,
            max_narrower: config.max_narrower,
            fallback,
        })
    }

    /// Topics, highest score first: always at least one top-level topic, then other
    /// top-level topics and narrower concepts that score at least `min_score`.
    pub fn tag(&self, story: &Story) -> Vec<TopicTag> {
        let evidence = self.evidence(story);
        let lex = &self.lexicon;
        let length = story.headline.as_deref().map_or(0, str::len) + story.body.len();
        // Longer texts collect more terms by sheer size; damp them gently.
        let damp = 1.0 + 0.35 * (1.0 + length as f32 / 1000.0).ln();
        let norm = |raw: f32| raw / damp;

        let best = lex
            .tops
            .iter()
            .copied()
            .max_by(|a, b| evidence[*a as usize].total_cmp(&evidence[*b as usize]));
        let Some(best) = best.filter(|&b| evidence[b as usize] > 0.0) else {
            return vec![self.tag_for(self.fallback, 0.0)];
        };
        let r_best = norm(evidence[best as usize]);
        let score = |raw: f32| {
            let r = norm(raw);
            let s = (1.0 - (-r / CONFIDENCE_SCALE).exp()) * (r / r_best).min(1.0).sqrt();
            s.clamp(0.0, 1.0)
        };

        let mut out: Vec<(u16, f32)> = Vec::new();
        out.push((best, score(evidence[best as usize])));
        for &t in &lex.tops {
            let s = score(evidence[t as usize]);
            if t != best && s >= self.min_score {
                out.push((t, s));
            }
        }
        // Narrower concepts under a kept top-level topic. A concept is left out when one of
        // its narrower concepts carries nearly all its evidence: the narrower one says more.
        let mut narrower: Vec<(u16, f32)> = Vec::new();
        for (i, c) in lex.concepts.iter().enumerate() {
            let raw = evidence[i];
            if c.parent.is_none() || raw <= 0.0 || !out.iter().any(|(t, _)| *t == c.top) {
                continue;
            }
            let s = score(raw);
            if s >= self.min_score {
                narrower.push((i as u16, s));
            }
        }
        let explained: Vec<u16> = narrower
            .iter()
            .filter_map(|&(i, _)| {
                let parent = lex.concepts[i as usize].parent?;
                (evidence[i as usize] >= 0.8 * evidence[parent as usize]).then_some(parent)
            })
            .collect();
        narrower.retain(|(i, _)| !explained.contains(i));
        narrower.sort_by(|a, b| b.1.total_cmp(&a.1));
        narrower.truncate(self.max_narrower);
        out.extend(narrower);
        out.sort_by(|a, b| b.1.total_cmp(&a.1));
        out.into_iter().map(|(c, s)| self.tag_for(c, s)).collect()
    }

    /// Evidence per concept (index into the concept table), rolled up to every ancestor.
    fn evidence(&self, story: &Story) -> Vec<f32> {
        let lex = &self.lexicon;
        let mut counts: Vec<(u32, f32)> = Vec::new();
        let mut hits: Vec<Hit> = Vec::new();
        if let Some(headline) = story.headline.as_deref() {
            lex.find(headline, &mut hits);
            self.count(headline, &hits, |_| HEADLINE_WEIGHT, &mut counts);
        }
        let body = story.body.as_str();
        let lead_end = body
            .find("\n\n")
            .unwrap_or(body.len())
            .min(MAX_LEAD_BYTES);
        lex.find(body, &mut hits);
        self.count(
            body,
            &hits,
            |start| {
                if start < lead_end {
                    LEAD_WEIGHT
                } else {
                    BODY_WEIGHT
                }
            },
            &mut counts,
        );

        counts.sort_unstable_by_key(|c| c.0);
        let mut evidence = vec![0.0f32; lex.concepts.len()];
        let mut i = 0;
        while i < counts.len() {
            let sense = counts[i].0;
            let mut tf = 0.0;
            while i < counts.len() && counts[i].0 == sense {
                tf += counts[i].1;
                i += 1;
            }
            let Some(s) = lex.senses.get(sense as usize) else {
                continue;
            };
            let add = s.weight * (1.0 + tf).ln();
            let mut c = Some(s.concept);
            while let Some(ci) = c {
                evidence[ci as usize] += add;
                c = lex.concepts[ci as usize].parent;
            }
        }
        evidence
    }

    /// Record each sense of each hit whose case rule holds, with its position weight.
    fn count(
        &self,
        text: &str,
        hits: &[Hit],
        position: impl Fn(usize) -> f32,
        counts: &mut Vec<(u32, f32)>,
    ) {
        let lex = &self.lexicon;
        for h in hits {
            let Some(found) = text.get(h.start..h.end) else {
                continue;
            };
            let weight = position(h.start);
            for k in lex.sense_range(h.key) {
                let Some(s) = lex.senses.get(k as usize) else {
                    continue;
                };
                let ok = match &s.mode {
                    CaseMode::Any => true,
                    CaseMode::Exact(term) => found == &**term,
                    CaseMode::Lower => !found.bytes().any(|b| b.is_ascii_uppercase()),
                };
                if ok {
                    counts.push((k, weight));
                }
            }
        }
    }

    fn tag_for(&self, concept: u16, score: f32) -> TopicTag {
        let c = &self.lexicon.concepts[concept as usize];
        TopicTag {
            qcode: c.qcode.clone(),
            label: c.label.clone(),
            score,
        }
    }
}

impl TopicTagger {
    /// The English label of a Media Topic qcode known to the tagger.
    pub fn label_of(&self, qcode: &str) -> Option<&str> {
        self.lexicon
            .concepts
            .iter()
            .find(|c| c.qcode == qcode)
            .map(|c| c.label.as_str())
    }
}
