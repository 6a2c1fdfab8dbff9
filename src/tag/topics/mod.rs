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
//! are of anything, the ratio to the best topic decides how much a second topic counts. A
//! narrower concept scores its top-level topic's score times `1 − e^(−r/K')`.

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
/// Evidence at which confidence in a top-level topic reaches 1 − 1/e.
const CONFIDENCE_SCALE: f32 = 12.0;
/// The same for a narrower concept, relative to its top-level topic: a narrower concept is
/// named by fewer, more specific terms.
const NARROWER_SCALE: f32 = 5.0;
/// A narrower concept needs more than one passing mention.
const MIN_NARROWER_EVIDENCE: f32 = 2.5;

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

/// Per-thread buffers for [`TopicTagger::tag`], so a story allocates none of them.
#[derive(Default)]
struct Scratch {
    /// Position-weighted occurrences per sense; only the senses marked in `seen` are non-zero.
    tf: Vec<f32>,
    /// One bit per sense with occurrences: walked in sense order, the order in which evidence
    /// is summed (a sort of the occurrences would cost more than the walk).
    seen: Vec<u64>,
    /// One bit per word of `seen` that has a bit set: the walk visits only those (a story
    /// marks a few senses out of thousands).
    seen_words: Vec<u64>,
    /// Some bit of `seen` may be set (the walk over it is skipped when none is).
    marked: bool,
    hits: Vec<Hit>,
    /// Evidence per concept; only the `touched` entries are non-zero.
    evidence: Vec<f32>,
    touched: Vec<u16>,
    /// Topics kept, narrower concepts and the concepts they explain, while scoring.
    kept: Vec<(u16, f32)>,
    narrower: Vec<(u16, f32)>,
    explained: Vec<u16>,
}

/// Marks sense `k` in `seen` and its word in `seen_words`.
fn mark_sense(seen: &mut [u64], seen_words: &mut [u64], k: usize) {
    let w = k / 64;
    if let (Some(word), Some(summary)) = (seen.get_mut(w), seen_words.get_mut(w / 64)) {
        *word |= 1 << (k % 64);
        *summary |= 1 << (w % 64);
    }
}

/// Takes the senses marked in `seen` out in sense order, leaving `tf` zero and `seen` and
/// `seen_words` clear.
fn drain_senses(
    seen: &mut [u64],
    seen_words: &mut [u64],
    tf: &mut [f32],
    mut each: impl FnMut(usize, f32),
) {
    for (s, summary) in seen_words.iter_mut().enumerate() {
        while *summary != 0 {
            let w = s * 64 + summary.trailing_zeros() as usize;
            *summary &= *summary - 1;
            let Some(word) = seen.get_mut(w) else {
                continue;
            };
            while *word != 0 {
                let sense = w * 64 + word.trailing_zeros() as usize;
                *word &= *word - 1;
                if let Some(tf) = tf.get_mut(sense) {
                    each(sense, std::mem::take(tf));
                }
            }
        }
    }
}

/// Leaves the scratch buffers empty and the evidence all zero however tagging ends.
struct Cleared<'a>(&'a mut Scratch);

impl Drop for Cleared<'_> {
    fn drop(&mut self) {
        let s = &mut *self.0;
        for &i in &s.touched {
            if let Some(e) = s.evidence.get_mut(i as usize) {
                *e = 0.0;
            }
        }
        s.touched.clear();
        if s.marked {
            drain_senses(&mut s.seen, &mut s.seen_words, &mut s.tf, |_, _| {});
            s.marked = false;
        }
        s.hits.clear();
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Where the lead ends: at the first blank line, but no more than [`MAX_LEAD_BYTES`] in.
fn lead_end(body: &str) -> usize {
    // A blank line starting past the limit cannot end the lead earlier: look no further.
    let head = &body.as_bytes()[..body.len().min(MAX_LEAD_BYTES + 1)];
    let blank = memchr::memchr_iter(b'\n', head).find(|&i| head.get(i + 1) == Some(&b'\n'));
    blank.unwrap_or(body.len()).min(MAX_LEAD_BYTES)
}

pub struct TopicTagger {
    lexicon: Lexicon,
    min_score: f32,
    max_narrower: usize,
    /// Concept index of the fallback top-level topic.
    fallback: u16,
    /// `ln(1 + k/2)` for k < 64: occurrence counts are mostly small multiples of 0.5.
    ln_1p_halves: [f32; 64],
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
        // Computed at run time, by the same `ln` as any other count (not folded at build time).
        let ln_1p_halves =
            std::array::from_fn(|k| (1.0 + std::hint::black_box(k as f32) / 2.0).ln());
        Ok(TopicTagger {
            ln_1p_halves,
            lexicon,
            min_score: config.min_score,
            max_narrower: config.max_narrower,
            fallback,
        })
    }

    /// Topics, highest score first: always at least one top-level topic, then other
    /// top-level topics and narrower concepts that score at least `min_score`.
    pub fn tag(&self, story: &Story) -> Vec<TopicTag> {
        SCRATCH.with_borrow_mut(|scratch| {
            let scratch = Cleared(scratch);
            self.evidence(story, scratch.0);
            self.scored(story, scratch.0)
        })
    }

    fn scored(&self, story: &Story, scratch: &mut Scratch) -> Vec<TopicTag> {
        let Scratch {
            evidence,
            touched,
            kept: out,
            narrower,
            explained,
            ..
        } = scratch;
        out.clear();
        narrower.clear();
        explained.clear();
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
            if raw == 0.0 {
                // What the formula gives for no evidence, without the exp (most top-level
                // topics of a story have none).
                return 0.0;
            }
            let r = norm(raw);
            let s = (1.0 - (-r / CONFIDENCE_SCALE).exp()) * (r / r_best).min(1.0).sqrt();
            s.clamp(0.0, 1.0)
        };

        out.push((best, score(evidence[best as usize])));
        for &t in &lex.tops {
            let s = score(evidence[t as usize]);
            if t != best && s >= self.min_score {
                out.push((t, s));
            }
        }
        // Narrower concepts under a kept top-level topic, as sure as their top-level topic
        // times how much evidence they have of their own. A concept is left out when one of
        // its narrower concepts is kept: the narrower one says more.
        for &i in touched.iter() {
            let c = &lex.concepts[i as usize];
            let r = norm(evidence[i as usize]);
            if c.parent.is_none() || r < MIN_NARROWER_EVIDENCE {
                continue;
            }
            let Some(&(_, top_score)) = out.iter().find(|(t, _)| *t == c.top) else {
                continue;
            };
            let s = top_score * (1.0 - (-r / NARROWER_SCALE).exp());
            if s >= self.min_score {
                narrower.push((i, s));
            }
        }
        explained.extend(
            narrower
                .iter()
                .filter_map(|&(i, _)| lex.concepts[i as usize].parent),
        );
        narrower.retain(|(i, _)| !explained.contains(i));
        narrower.sort_by(|a, b| b.1.total_cmp(&a.1));
        narrower.truncate(self.max_narrower);
        out.extend_from_slice(narrower);
        out.sort_by(|a, b| b.1.total_cmp(&a.1));
        out.iter().map(|&(c, s)| self.tag_for(c, s)).collect()
    }

    /// Evidence per concept (index into the concept table), rolled up to every ancestor,
    /// and the concepts that got any, into `scratch` (which comes cleared).
    fn evidence(&self, story: &Story, scratch: &mut Scratch) {
        let lex = &self.lexicon;
        if scratch.evidence.len() < lex.concepts.len() {
            scratch.evidence.resize(lex.concepts.len(), 0.0);
        }
        if scratch.tf.len() < lex.senses.len() {
            scratch.tf.resize(lex.senses.len(), 0.0);
            scratch.seen.resize(lex.senses.len().div_ceil(64), 0);
            scratch
                .seen_words
                .resize(scratch.seen.len().div_ceil(64), 0);
        }
        if let Some(headline) = story.headline.as_deref() {
            lex.find(headline, &mut scratch.hits);
            self.count(headline, |_| HEADLINE_WEIGHT, scratch);
        }
        let body = story.body.as_str();
        let lead_end = lead_end(body);
        lex.find(body, &mut scratch.hits);
        self.count(
            body,
            |start| {
                if start < lead_end {
                    LEAD_WEIGHT
                } else {
                    BODY_WEIGHT
                }
            },
            scratch,
        );

        let Scratch {
            tf,
            seen,
            seen_words,
            marked,
            evidence,
            touched,
            ..
        } = scratch;
        *marked = false;
        // Senses in index order, as the evidence has always been summed (float sums depend on
        // the order).
        drain_senses(seen, seen_words, tf, |sense, tf| {
            let Some(s) = lex.senses.get(sense) else {
                return;
            };
            let add = s.weight * self.ln_1p(tf);
            let mut c = Some(s.concept);
            while let Some(ci) = c {
                if evidence[ci as usize] == 0.0 {
                    touched.push(ci);
                }
                evidence[ci as usize] += add;
                c = lex.concepts[ci as usize].parent;
            }
        });
    }

    /// Add up each sense of each hit in `scratch.hits` whose case rule holds, with its
    /// position weight. (Weights are multiples of 0.5: their sums are exact in any order.)
    fn count(&self, text: &str, position: impl Fn(usize) -> f32, scratch: &mut Scratch) {
        let lex = &self.lexicon;
        for h in &scratch.hits {
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
                if let (true, Some(tf)) = (ok, scratch.tf.get_mut(k as usize)) {
                    *tf += weight;
                    mark_sense(&mut scratch.seen, &mut scratch.seen_words, k as usize);
                    scratch.marked = true;
                }
            }
        }
    }

    /// `ln(1 + tf)`, from the table when `tf` is a small multiple of 0.5 (the same value:
    /// the table holds `ln` of the very same `1 + tf`).
    fn ln_1p(&self, tf: f32) -> f32 {
        let halves = tf * 2.0;
        let k = halves as usize;
        match self.ln_1p_halves.get(k) {
            Some(&ln) if k as f32 == halves => ln,
            _ => (1.0 + tf).ln(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tagger() -> TopicTagger {
        TopicTagger::new(&TopicsConfig::default()).unwrap()
    }

    fn story(headline: &str, body: &str) -> Story {
        Story {
            headline: Some(headline.into()),
            body: body.into(),
            ..Story::default()
        }
    }

    fn best(tags: &[TopicTag]) -> &str {
        tags.iter()
            .find(|t| t.qcode.ends_with("000000"))
            .map(|t| t.qcode.as_str())
            .unwrap_or("")
    }

    fn check_shape(tags: &[TopicTag]) {
        assert!(!tags.is_empty());
        assert!(tags.iter().any(|t| t.qcode.ends_with("000000")));
        for w in tags.windows(2) {
            assert!(w[0].score >= w[1].score, "{tags:?}");
        }
        for t in tags {
            assert!((0.0..=1.0).contains(&t.score), "{t:?}");
            assert!(t.qcode.starts_with("medtop:"));
            assert!(!t.label.is_empty());
        }
    }

    #[test]
    fn sport_story_gets_sport_and_soccer() {
        let tags = tagger().tag(&story(
            "Late equaliser rescues a point for the visitors",
            "The striker headed in a corner in stoppage time to earn a draw in the Premier \
             League on Saturday.\n\nThe goalkeeper had saved a penalty before half-time, and \
             the coach said his squad deserved the result after a difficult season.",
        ));
        check_shape(&tags);
        assert_eq!(tags[0].qcode, "medtop:15000000", "{tags:?}");
        assert!(
            tags.iter().any(|t| t.qcode == "medtop:20001065"),
            "{tags:?}"
        );
    }

    #[test]
    fn earnings_story_is_economy() {
        let tags = tagger().tag(&story(
            "Retailer lifts full-year profit forecast",
            "Shares in the supermarket chain rose 4% after it said pre-tax profit for the \
             quarter climbed to £310m on higher sales, beating analysts' expectations. The \
             chief executive said consumer spending remained strong despite higher interest \
             rates.",
        ));
        check_shape(&tags);
        assert_eq!(best(&tags), "medtop:04000000", "{tags:?}");
        assert_eq!(tags[0].label, "economy, business and finance");
        assert!(
            tags.iter().any(|t| t.qcode == "medtop:20000178"),
            "{tags:?}"
        );
    }

    #[test]
    fn narrower_concepts_never_outscore_their_top_level_topic() {
        let t = tagger();
        let tags = t.tag(&story(
            "Federer beats Roddick in Wimbledon final",
            "The top seed won in straight sets on Centre Court, serving 20 aces, to take his \
             third Wimbledon title; the tennis world number one said the grand slam was his \
             favourite tournament.",
        ));
        check_shape(&tags);
        assert_eq!(tags[0].qcode, "medtop:15000000", "{tags:?}");
        let tennis = tags.iter().find(|t| t.qcode == "medtop:20001085");
        let tennis = tennis.unwrap_or_else(|| panic!("no tennis in {tags:?}"));
        assert!(tennis.score <= tags[0].score);
        // Its container ("competition discipline") is not repeated next to it.
        assert!(
            !tags.iter().any(|t| t.qcode == "medtop:20000822"),
            "{tags:?}"
        );
    }

    #[test]
    fn wire_style_capitals_and_abbreviations_are_read() {
        let tags = tagger().tag(&story(
            "ACME CORP 4TH QTR NET",
            "Shr 42 cts vs 35 cts\n    Net 12.4 mln dlrs vs 10.1 mln dlrs\n    Revs 310 mln vs 280 mln",
        ));
        assert_eq!(best(&tags), "medtop:04000000", "{tags:?}");
    }

    #[test]
    fn election_story_is_politics() {
        let tags = tagger().tag(&story(
            "Party leaders clash on final day of election campaign",
            "The prime minister told voters in marginal seats that the opposition's manifesto \
             would raise taxes, as MPs from all parties toured the country before polling day. \
             Labour and the Conservatives are level in the latest opinion poll.",
        ));
        check_shape(&tags);
        assert_eq!(best(&tags), "medtop:11000000", "{tags:?}");
        assert!(
            tags.iter().any(|t| t.qcode == "medtop:20000574"),
            "{tags:?}"
        );
    }

    #[test]
    fn film_and_technology_and_weather_stories() {
        let t = tagger();
        let film = t.tag(&story(
            "Animated comedy tops the box office",
            "The film, voiced by a cast of Hollywood actors, took $40m in its opening weekend, \
             and its director is already tipped for an Oscar.",
        ));
        assert_eq!(best(&film), "medtop:01000000", "{film:?}");
        let tech = t.tag(&story(
            "New handset brings broadband to the pocket",
            "The mobile phone runs a new operating system and lets users download software \
             and browse the web over wi-fi, the manufacturer said at the gadget show.",
        ));
        assert_eq!(best(&tech), "medtop:13000000", "{tech:?}");
        let weather = t.tag(&story(
            "Snow and gales to sweep the north",
            "Forecasters at the Met Office warned of heavy snow, icy roads and temperatures \
             well below freezing, with showers turning to sleet by the weekend.",
        ));
        assert_eq!(best(&weather), "medtop:17000000", "{weather:?}");
    }

    #[test]
    fn disaster_and_conflict_and_health_stories() {
        let t = tagger();
        let quake = t.tag(&story(
            "Earthquake kills dozens",
            "Rescue workers searched collapsed buildings for survivors after the earthquake, \
             and aid agencies said the death toll was likely to rise.",
        ));
        assert_eq!(best(&quake), "medtop:03000000", "{quake:?}");
        let war = t.tag(&story(
            "Troops advance as ceasefire collapses",
            "Soldiers and rebels fought for control of the town after air strikes, and the \
             army said insurgents had attacked a military convoy.",
        ));
        assert_eq!(best(&war), "medtop:16000000", "{war:?}");
        let health = t.tag(&story(
            "Hospital waiting lists fall",
            "Patients are waiting less for surgery, doctors and nurses said, although cancer \
             treatment targets were missed in some clinics.",
        ));
        assert_eq!(best(&health), "medtop:07000000", "{health:?}");
    }

    #[test]
    fn case_decides_the_party_from_the_work() {
        let t = tagger();
        let party = t.tag(&story("Labour's new leader", "Labour chose a new leader."));
        assert_eq!(best(&party), "medtop:11000000", "{party:?}");
        let work = t.tag(&story(
            "",
            "Factories face shortages of skilled labour as wages rise and unions threaten \
             a strike.",
        ));
        assert_eq!(best(&work), "medtop:09000000", "{work:?}");
    }

    #[test]
    fn a_second_strong_topic_is_kept() {
        let tags = tagger().tag(&story(
            "Striker jailed for assault",
            "The football club's striker was sentenced to six months in prison by a crown \
             court judge after a jury found him guilty of assault. His team-mates and the \
             coach were in court; the league said he would miss the rest of the season.",
        ));
        check_shape(&tags);
        let tops: Vec<&str> = tags
            .iter()
            .filter(|t| t.qcode.ends_with("000000"))
            .map(|t| t.qcode.as_str())
            .collect();
        assert!(tops.contains(&"medtop:02000000"), "{tags:?}");
        assert!(tops.contains(&"medtop:15000000"), "{tags:?}");
    }

    #[test]
    fn a_story_without_evidence_gets_the_fallback_with_score_zero() {
        let t = tagger();
        for s in [story("", ""), story("Xyzzy", "Qwerty uiop.")] {
            let tags = t.tag(&s);
            assert_eq!(tags.len(), 1);
            assert_eq!(tags[0].qcode, "medtop:14000000");
            assert_eq!(tags[0].score, 0.0);
        }
    }

    #[test]
    fn weak_evidence_gives_a_low_score() {
        let t = tagger();
        let weak = t.tag(&story("", "The company said."));
        let strong = t.tag(&story(
            "Shares slump as profit warning hits bank",
            "Shares in the bank fell 12% after it warned that annual profit would fall, \
             blaming bad loans and lower interest rates; analysts cut their forecasts.",
        ));
        check_shape(&weak);
        assert!(weak[0].score < 0.3, "{weak:?}");
        assert!(strong[0].score > weak[0].score + 0.3, "{strong:?}");
    }

    #[test]
    fn hostile_text_does_not_panic() {
        let t = tagger();
        let odd = "\u{2019}s \u{0}\u{feff} é£ 'S — 3G5G...\n\n\n\nLabour\u{2019}s ".repeat(50);
        check_shape(&t.tag(&story(&odd, &odd)));
    }

    #[test]
    fn config_is_checked() {
        let bad = TopicsConfig {
            min_score: 2.0,
            ..TopicsConfig::default()
        };
        assert!(TopicTagger::new(&bad).is_err());
        let bad = TopicsConfig {
            fallback: "medtop:20001065".into(),
            ..TopicsConfig::default()
        };
        assert!(TopicTagger::new(&bad).is_err());
        let missing = TopicsConfig {
            lexicon_path: Some("no/such/lexicon.tsv".into()),
            ..TopicsConfig::default()
        };
        assert!(matches!(
            TopicTagger::new(&missing),
            Err(TableError::Io { .. })
        ));
    }

    #[test]
    fn ln_table_is_the_same_ln() {
        let t = tagger();
        for k in 0..200 {
            let tf = k as f32 / 2.0;
            assert_eq!(t.ln_1p(tf).to_bits(), (1.0 + tf).ln().to_bits(), "{tf}");
        }
        assert_eq!(t.ln_1p(0.3).to_bits(), (1.3f32).ln().to_bits());
    }

    #[test]
    fn lead_ends_at_the_first_blank_line_or_the_limit() {
        assert_eq!(lead_end(""), 0);
        assert_eq!(lead_end("a\nb\n\nc"), 3);
        assert_eq!(lead_end("a\n\n\nb"), 1);
        let long = "x".repeat(700);
        assert_eq!(lead_end(&long), MAX_LEAD_BYTES);
        for at in [598, 599, 600, 601] {
            let text = format!("{}\n\n{}", "y".repeat(at), "z".repeat(50));
            assert_eq!(
                lead_end(&text),
                text.find("\n\n").unwrap().min(MAX_LEAD_BYTES)
            );
        }
    }

    #[test]
    fn label_lookup() {
        assert_eq!(tagger().label_of("medtop:15000000"), Some("sport"));
        assert_eq!(tagger().label_of("medtop:0"), None);
    }
}
