//! Country tagging: which countries a story is about, most salient first.
//!
//! Every gazetteer name found in the story (see [`gazetteer`]) is evidence for a country,
//! weighted by where it stands (dateline > headline > lead paragraph > rest of the body) and by
//! what it is (a country name counts more than a demonym, a city or an institution). A country
//! is tagged when its evidence passes `threshold`: the dateline alone is enough, and so is a
//! country name in the headline; a single name in the lead counts when nothing else does; one
//! passing mention deep in a long body is not. `config/gazetteer/README.md` lists the weights.
//!
//! Ambiguous names are settled with general rules, not story-specific ones:
//!
//! - case: names must be capitalised in mixed-case text ("turkey", "us", "chad" are words);
//!   "US", "UK", "Fed" must be written exactly so; in all-capital headlines and datelines the
//!   case says nothing, so "US" is taken for the country unless a verb or preposition that
//!   takes a pronoun stands before it ("LET US", "FOR US");
//! - longest match: "New Mexico", "New South Wales", "Papua New Guinea", "Guinea-Bissau" and
//!   "Dominican Republic" win over the shorter names inside them; token boundaries keep
//!   "Niger" out of "Nigeria";
//! - people: names flagged `person` ("Jordan", "Chad", "Georgia", "Israel") are dropped after a
//!   capitalised given name or title ("Michael Jordan", "Mr Jordan") and before a capitalised
//!   surname ("Chad Johnson");
//! - food: "Turkey" before "meat", "dinner"... or after "Thanksgiving" is the bird, and so is
//!   "Turkey" before "sales" or "prices" in a story that talks about poultry;
//! - context: names with two readings (`GE|US` for "Georgia", `CG|CD` for "Congo") take the
//!   reading the rest of the story supports, else the first;
//! - "City, Region": a city followed by a state or country takes that country
//!   ("London, Ontario" is Canada, "Paris, Texas" the United States);
//! - "Korea" alone means South Korea (the usual reading in business copy); North Korea needs
//!   "North Korea", "North Korean" or "Pyongyang".

pub(crate) mod gazetteer;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::TableError;
use crate::model::Story;

use crate::text::packed::{load8, HIGH_BITS, ONES};

use gazetteer::{fold_key_into, Code, Entry, Gazetteer, Kind};

/// `[tag.countries]` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CountriesConfig {
    /// A directory with `extra.tsv`, `countries.tsv` and/or `cities.tsv` replacing the
    /// embedded tables of the same name (see `config/gazetteer/`).
    pub gazetteer_dir: Option<PathBuf>,
    /// Evidence a country needs to be tagged; a country name scores 3 in the dateline, 1 in
    /// the headline, 0.6 in the lead paragraph and 0.3 further down.
    pub threshold: f32,
}

impl Default for CountriesConfig {
    fn default() -> Self {
        CountriesConfig {
            gazetteer_dir: None,
            threshold: DEFAULT_THRESHOLD,
        }
    }
}

/// The weights below and this threshold were tuned together for micro-F1 on the
/// Reuters-21578 training split (see `wirefeed eval countries`) and checked on its unused
/// split; they are a handful of global numbers, not per-story rules.
pub const DEFAULT_THRESHOLD: f32 = 1.0;

/// A country below this share of the top country's score is a side mention, not a subject.
const RELATIVE: f32 = 0.2;

/// When no country passes the threshold, the top one is still tagged if it has at least this
/// much evidence (a country named once in the lead of a story with no dateline).
const FLOOR: f32 = 0.5;

/// Weight of a mention by where it stands. Reuters' indexers tag what a story is about, so
/// one mention in the lead is not enough on its own (see `FLOOR`) but two are.
const W_DATELINE: f32 = 3.0;
const W_HEADLINE: f32 = 1.0;
const W_LEAD: f32 = 0.6;
const W_SECOND: f32 = 0.3;
const W_REST: f32 = 0.3;

/// Weight of a mention by what it is.
fn kind_weight(kind: Kind) -> f32 {
    match kind {
        Kind::Name => 1.0,
        Kind::Dateline => 1.0,
        Kind::City => 0.5,
        Kind::State => 0.6,
        Kind::Demonym => 0.7,
        Kind::Indicator => 0.45,
        Kind::Ignore => 0.0,
    }
}

/// One accepted mention, as [`CountryTagger::explain`] reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mention {
    pub country: String,
    /// The other reading of an ambiguous name ("Georgia": GE or US).
    pub alternative: Option<String>,
    /// "dateline", "headline" or "paragraph N".
    pub place: String,
    /// name, demonym, city, dateline, state or indicator.
    pub kind: String,
    /// The gazetteer name that matched.
    pub name: String,
    pub weight: f32,
}

pub struct CountryTagger {
    gazetteer: Gazetteer,
    threshold: f32,
}

/// Where a piece of the scanned text comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Place {
    Dateline,
    Headline,
    /// Body paragraph, counted from 0.
    Para(usize),
}

impl Place {
    fn weight(self) -> f32 {
        match self {
            Place::Dateline => W_DATELINE,
            Place::Headline => W_HEADLINE,
            Place::Para(0) => W_LEAD,
            Place::Para(1) => W_SECOND,
            Place::Para(_) => W_REST,
        }
    }
}

/// The string a segment lies in: the story's own where the piece is one line (a normalised
/// story's every paragraph), else the copy made of the lines joined.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Source {
    Dateline,
    Headline,
    Body,
    Copy,
}

/// A stretch of text with one place and one case style, read as its words with one space
/// between each two (wire copy breaks lines inside names): it starts and ends with a word,
/// and every rule that looks at whitespace takes a run of ASCII whitespace for one space
/// (the gazetteer walk, the words before and after a name, "City, Region", the exact-case
/// rule, the signs of a story about poultry), so a line needs no copy to read so.
#[derive(Debug, Clone, Copy)]
struct Segment {
    source: Source,
    /// Byte range in the source string.
    start: usize,
    end: usize,
    place: Place,
    /// No lower-case letters: case says nothing here.
    caps: bool,
    /// Scanned for names: all but a dateline place that was looked up whole.
    scanned: bool,
}

/// The strings segments lie in.
#[derive(Clone, Copy)]
struct Sources<'a> {
    dateline: &'a str,
    headline: &'a str,
    body: &'a str,
    copy: &'a str,
}

impl<'a> Sources<'a> {
    fn text(&self, seg: &Segment) -> &'a str {
        let source = match seg.source {
            Source::Dateline => self.dateline,
            Source::Headline => self.headline,
            Source::Body => self.body,
            Source::Copy => self.copy,
        };
        source.get(seg.start..seg.end).unwrap_or("")
    }
}

/// An accepted mention.
#[derive(Debug, Clone, Copy)]
struct Hit {
    /// Index of its segment; `start` and `end` are byte offsets in that segment's text.
    segment: usize,
    start: usize,
    end: usize,
    place: Place,
    /// Index of its gazetteer entry.
    entry: usize,
    /// Set when a following region ("London, Ontario") overrides the entry's country, or when
    /// the story settles an ambiguous name.
    code: Option<Code>,
}

impl Hit {
    fn weight(&self, entry: &Entry) -> f32 {
        self.place.weight() * kind_weight(entry.kind)
    }
}

/// Per-thread buffers for tagging, so that a story allocates none of them.
#[derive(Default)]
struct Scratch {
    /// Whitespace-collapsed copies of the pieces that are not single-spaced already.
    copy: String,
    segments: Vec<Segment>,
    hits: Vec<Hit>,
    /// A folded dateline key.
    key: String,
    /// Per country: score and index of its first hit.
    scores: Vec<(Code, f32, usize)>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

impl CountryTagger {
    pub fn new(config: &CountriesConfig) -> Result<Self, TableError> {
        let gazetteer = match &config.gazetteer_dir {
            Some(dir) => Gazetteer::from_dir(dir)?,
            None => Gazetteer::embedded()?,
        };
        Ok(CountryTagger {
            gazetteer,
            threshold: config.threshold,
        })
    }

    /// ISO 3166-1 alpha-2 codes, most salient first.
    // Out of line, so that profiles show it as a stage of its own.
    #[inline(never)]
    pub fn tag(&self, story: &Story) -> Vec<String> {
        self.with_scores(story, |scored| {
            let top = scored.first().map_or(0.0, |(_, s, _)| *s);
            let mut out: Vec<String> = scored
                .iter()
                .filter(|(_, score, _)| *score >= self.threshold && *score >= RELATIVE * top)
                .map(|(code, _, _)| code.as_str().to_string())
                .collect();
            if out.is_empty() && top >= FLOOR {
                out.extend(
                    scored
                        .iter()
                        .take_while(|(_, s, _)| *s >= top)
                        .map(|(code, _, _)| code.as_str().to_string()),
                );
            }
            out
        })
    }

    /// Every country with any evidence and its score, highest first (ties: first mentioned).
    pub fn scores(&self, story: &Story) -> Vec<(String, f32)> {
        self.with_scores(story, |scored| {
            scored
                .iter()
                .map(|(c, s, _)| (c.as_str().to_string(), *s))
                .collect()
        })
    }

    /// Each accepted mention: (country, where, what, weight). For debugging and tuning.
    pub fn explain(&self, story: &Story) -> Vec<Mention> {
        SCRATCH.with_borrow_mut(|scratch| {
            self.find_hits(story, scratch);
            scratch
                .hits
                .iter()
                .filter_map(|h| {
                    let entry = self.gazetteer.entry(h.entry);
                    let code = h.code.or(entry.code)?;
                    Some(Mention {
                        country: code.as_str().to_string(),
                        alternative: entry.alt.map(|a| a.as_str().to_string()),
                        place: match h.place {
                            Place::Dateline => "dateline".to_string(),
                            Place::Headline => "headline".to_string(),
                            Place::Para(n) => format!("paragraph {n}"),
                        },
                        kind: format!("{:?}", entry.kind).to_lowercase(),
                        name: entry.name.clone(),
                        weight: h.weight(entry),
                    })
                })
                .collect()
        })
    }

    /// Calls `f` with every country with any evidence, its score and the index of its first
    /// hit, highest score first (ties: first mentioned).
    fn with_scores<R>(&self, story: &Story, f: impl FnOnce(&[(Code, f32, usize)]) -> R) -> R {
        SCRATCH.with_borrow_mut(|scratch| {
            self.find_hits(story, scratch);
            let Scratch { hits, scores, .. } = scratch;
            scores.clear();
            for (i, h) in hits.iter().enumerate() {
                let entry = self.gazetteer.entry(h.entry);
                if let Some(code) = h.code.or(entry.code) {
                    add_score(scores, code, h.weight(entry), i);
                }
            }
            // No two countries share a first hit: the order is total, so an unstable sort
            // gives the one answer.
            scores.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
            f(scores)
        })
    }

    /// The accepted mentions of the story, in text order, into `scratch.hits`.
    fn find_hits(&self, story: &Story, scratch: &mut Scratch) {
        let Scratch {
            copy,
            segments,
            hits,
            key,
            ..
        } = scratch;
        copy.clear();
        segments.clear();
        hits.clear();
        let dateline = story.dateline.as_deref().unwrap_or("");
        let headline = story.headline.as_deref().unwrap_or("");
        self.dateline_hits(dateline, segments, hits, key);
        push_piece(segments, headline, Source::Headline, 0, Place::Headline);
        push_body(copy, segments, &story.body);

        let sources = Sources {
            dateline,
            headline,
            body: &story.body,
            copy,
        };
        // Names found to be people anywhere in the story are people everywhere in it
        // ("Michael Jordan ... Jordan said").
        let mut people: Vec<&str> = Vec::new();
        for (i, seg) in segments.iter().enumerate() {
            if seg.scanned {
                self.scan(&sources, segments, i, hits, &mut people);
            }
        }
        let g = &self.gazetteer;
        if !people.is_empty() {
            hits.retain(|h| {
                let entry = g.entry(h.entry);
                !entry.flags.person || !people.contains(&entry.name.as_str())
            });
        }
        apply_region_overrides(g, &sources, segments, hits);
        resolve_ambiguous(g, hits);
    }

    /// The dateline place ("SALVADOR, Feb 26 -" -> "SALVADOR") looked up whole, with a region
    /// after it taking precedence ("PORTLAND, Maine"); an unknown place is scanned like text.
    fn dateline_hits(
        &self,
        dateline: &str,
        segments: &mut Vec<Segment>,
        hits: &mut Vec<Hit>,
        key: &mut String,
    ) {
        let lead = dateline.len() - dateline.trim_start().len();
        let cleaned = dateline[lead..]
            .trim_end()
            .trim_end_matches(['-', '\u{2013}', '\u{2014}']);
        // The parts between commas: a byte search, as a dateline is a few bytes.
        let comma = |s: &str| s.bytes().position(|b| b == b',');
        let (first, rest) = match comma(cleaned) {
            Some(i) => (&cleaned[..i], Some(&cleaned[i + 1..])),
            None => (cleaned, None),
        };
        let place = first.trim();
        if place.is_empty() {
            return;
        }
        let place_start = lead + (first.len() - first.trim_start().len());
        let g = &self.gazetteer;
        let region = rest
            .map(|r| comma(r).map_or(r, |i| &r[..i]))
            .and_then(|r| {
                fold_key_into(r.trim().trim_end_matches('.'), key);
                g.lookup(key).or_else(|| self.abbreviation(key))
            })
            .filter(|&r| {
                let e = g.entry(r);
                matches!(e.kind, Kind::State | Kind::Name | Kind::Dateline) && e.code.is_some()
            });
        fold_key_into(place, key);
        let found = g.lookup(key);
        let (entry, code) = match (found, region) {
            (Some(e), region) if g.entry(e).kind != Kind::Ignore => {
                (e, region.and_then(|r| g.entry(r).code))
            }
            (_, Some(r)) => (r, None),
            _ => {
                push_piece(
                    segments,
                    place,
                    Source::Dateline,
                    place_start,
                    Place::Dateline,
                );
                return;
            }
        };
        // The place as written, not scanned: a segment only for the story-wide checks.
        hits.push(Hit {
            segment: segments.len(),
            start: 0,
            end: place.len(),
            place: Place::Dateline,
            entry,
            code,
        });
        segments.push(Segment {
            source: Source::Dateline,
            start: place_start,
            end: place_start + place.len(),
            place: Place::Dateline,
            caps: false,
            scanned: false,
        });
    }

    /// "Ga" for "Ga." and such: state abbreviations are stored with their dot. Appends the
    /// dot to `key`.
    fn abbreviation(&self, key: &mut String) -> Option<usize> {
        if key.is_empty() || key.len() > 6 {
            return None;
        }
        key.push('.');
        self.gazetteer.lookup(key)
    }

    /// Find the gazetteer names in segment `index` and keep those the rules accept.
    fn scan<'g>(
        &'g self,
        sources: &Sources<'_>,
        segments: &[Segment],
        index: usize,
        hits: &mut Vec<Hit>,
        people: &mut Vec<&'g str>,
    ) {
        // Names start at word starts only, and with a capital letter (every word qualifies in
        // a segment in capitals): one anchored search per such word, never inside "focus" or
        // "Nigeria", never on lower-case words. The byte scan jumps from capital to capital.
        let seg = &segments[index];
        let text = sources.text(seg);
        let bytes = text.as_bytes();
        let end = bytes.len();
        let mut capitals = CapitalCursor::new(bytes);
        let mut pos = 0;
        while pos < end {
            let Some(next) = capitals.next_from(pos) else {
                break;
            };
            pos = next;
            let starts_word = pos == 0 || !ends_word_char(text, pos);
            let upper = bytes[pos].is_ascii_uppercase()
                || text[pos..].chars().next().is_some_and(char::is_uppercase);
            let mut word_len = 0;
            if starts_word && upper {
                let (may, len) = self.gazetteer.may_start(&bytes[pos..]);
                word_len = len;
                if let Some((e, entry)) = may.then(|| self.match_at(text, pos)).flatten() {
                    let s = pos;
                    pos = e;
                    let poultry = || about_poultry(sources, segments);
                    let name = &self.gazetteer.entry(entry).name;
                    match accept(text, s, e, self.gazetteer.entry(entry), seg.caps, poultry) {
                        Verdict::Place => hits.push(Hit {
                            segment: index,
                            start: s,
                            end: e,
                            place: seg.place,
                            entry,
                            code: None,
                        }),
                        Verdict::Person => people.push(name),
                        Verdict::Word => {}
                    }
                    continue;
                }
            }
            // Skip the rest of this word (its ASCII start is known when it was looked up).
            pos += match word_len {
                0 => text[pos..].chars().next().map_or(1, char::len_utf8),
                len => len,
            };
            while pos < end && (bytes[pos].is_ascii_alphanumeric() || bytes[pos] >= 0x80) {
                pos += 1;
            }
        }
    }

    /// The longest gazetteer name starting at `pos` and ending at a word end, with the index
    /// of its entry; ignored phrases are returned too (`accept` turns them down so the caller
    /// just skips them). Callers ask [`Gazetteer::may_start`] first.
    #[inline]
    fn match_at(&self, text: &str, pos: usize) -> Option<(usize, usize)> {
        let g = &self.gazetteer;
        let (len, entry) = g.longest_at(text.as_bytes().get(pos..)?)?;
        let e = word_end(text, pos + len, g.entry(entry).kind)?;
        Some((e, entry))
    }
}

/// The first byte in `bytes[from..]` that is an ASCII capital or starts a non-ASCII letter
/// (0xC0 and up), looked for sixteen bytes at a time.
#[inline]
fn next_capital(bytes: &[u8], from: usize) -> Option<usize> {
    let hay = bytes.get(from..)?;
    let mut pairs = hay.chunks_exact(16);
    let mut base = from;
    for pair in &mut pairs {
        let (x, y) = (load8(pair, 0), load8(pair, 8));
        // Mostly ASCII: then the capitals alone need looking for.
        let (cx, cy) = if (x | y) & HIGH_BITS == 0 {
            (ascii_capitals(x), ascii_capitals(y))
        } else {
            (capitals(x), capitals(y))
        };
        if cx | cy != 0 {
            let at = if cx != 0 {
                cx.trailing_zeros() / 8
            } else {
                8 + cy.trailing_zeros() / 8
            };
            return Some(base + at as usize);
        }
        base += 16;
    }
    let rest = pairs.remainder();
    let mut chunks = rest.chunks_exact(8);
    for chunk in &mut chunks {
        let c = capitals(load8(chunk, 0));
        if c != 0 {
            return Some(base + (c.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b.is_ascii_uppercase() || b >= 0xC0)
        .map(|p| base + p)
}

/// The capitals of a text (as [`next_capital`] finds them) in order, from a cursor that keeps
/// the bits of the eight bytes at its last capital: the next capital there costs no search
/// (a headline in capitals has one every few bytes).
struct CapitalCursor<'a> {
    bytes: &'a [u8],
    base: usize,
    /// [`capitals`] of the eight bytes at `base`, less those already passed.
    bits: u64,
}

impl<'a> CapitalCursor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        CapitalCursor {
            bytes,
            base: 0,
            bits: capitals(load8(bytes, 0)),
        }
    }

    /// The first capital at or after `pos`, which is at or after every `pos` before.
    #[inline(always)]
    fn next_from(&mut self, pos: usize) -> Option<usize> {
        let offset = pos.wrapping_sub(self.base);
        let from = if offset < 8 {
            let bits = self.bits & (u64::MAX << (8 * offset));
            if bits != 0 {
                self.bits = bits;
                return Some(self.base + (bits.trailing_zeros() / 8) as usize);
            }
            self.base + 8
        } else {
            pos
        };
        let found = next_capital(self.bytes, from)?;
        self.base = found;
        self.bits = capitals(load8(self.bytes, found));
        Some(found)
    }
}

/// The top bit of each byte of `x` that is an ASCII capital, for `x` of ASCII bytes only:
/// adding 0x3F sets it from 'A' on and adding 0x25 from '[' on, and no byte carries into the
/// next.
#[inline(always)]
fn ascii_capitals(x: u64) -> u64 {
    x.wrapping_add(ONES * 0x3f) & !x.wrapping_add(ONES * 0x25) & HIGH_BITS
}

/// The top bit of each byte of `x` that is an ASCII capital or 0xC0 and up. Both tests are
/// exact per byte, so the lowest bit set is the first such byte.
#[inline(always)]
fn capitals(x: u64) -> u64 {
    // Bytes 0xC0 and up have their two top bits set.
    let high = x & (x << 1) & HIGH_BITS;
    // With the top bits cleared, no byte carries; bytes that had it are no capitals.
    high | (ascii_capitals(x & !HIGH_BITS) & !x)
}

/// The character just before byte `i` is a letter or digit.
fn ends_word_char(text: &str, i: usize) -> bool {
    match text.as_bytes().get(i.wrapping_sub(1)) {
        Some(b) if b.is_ascii() => b.is_ascii_alphanumeric(),
        Some(_) => text[..i]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric),
        None => false,
    }
}

/// Where a match ending at `e` ends as a word, if it does: the next character must not
/// continue the word, except a plural "s" after a demonym ("Iraqis", "South Koreans").
fn word_end(text: &str, e: usize, kind: Kind) -> Option<usize> {
    let continues = |i: usize| text[i..].chars().next().is_some_and(char::is_alphanumeric);
    if !continues(e) {
        return Some(e);
    }
    if kind == Kind::Demonym && text[e..].starts_with('s') && !continues(e + 1) {
        return Some(e + 1);
    }
    None
}

/// The segment of `raw` (which lies at `offset` in its source), unless it has no words.
fn push_piece(segments: &mut Vec<Segment>, raw: &str, source: Source, offset: usize, place: Place) {
    let words = raw.trim_start_matches(is_gap);
    let start = offset + (raw.len() - words.len());
    let words = words.trim_end_matches(is_gap);
    if !words.is_empty() {
        push_segment(segments, words, source, start, place);
    }
}

/// Record the non-empty `text`, which lies at `offset` in `source`, as a scanned segment.
fn push_segment(
    segments: &mut Vec<Segment>,
    text: &str,
    source: Source,
    offset: usize,
    place: Place,
) {
    let caps = !text.bytes().any(|b| b.is_ascii_lowercase())
        && text.bytes().any(|b| b.is_ascii_uppercase());
    segments.push(Segment {
        source,
        start: offset,
        end: offset + text.len(),
        place,
        caps,
        scanned: true,
    });
}

/// A line that starts a paragraph: blank, or indented.
fn breaks(line: &str) -> bool {
    match line.as_bytes().first() {
        None | Some(b' ' | b'\t') => true,
        // The usual line starts with a letter: no need to trim it to see it is not blank.
        Some(&b) if b.is_ascii() => char::from(b).is_whitespace() && line.trim().is_empty(),
        Some(_) => line.trim().is_empty(),
    }
}

/// The body paragraph being gathered by [`push_body`].
#[derive(Clone, Copy)]
enum Gathered {
    Nothing,
    /// The words of one line, the body's bytes `start..end`: the segment as it stands.
    Line {
        start: usize,
        end: usize,
    },
    /// Lines joined, their words one space apart, in the copy from this offset on.
    Copied(usize),
}

/// Segment the body paragraph by paragraph. A paragraph ends at a blank line, or at a line
/// break followed by indentation (raw wire copy indents paragraphs instead). A paragraph of
/// one line is that line; the words of longer ones are copied, one space apart.
fn push_body(copy: &mut String, segments: &mut Vec<Segment>, body: &str) {
    let finish = |copy: &mut String, segments: &mut Vec<Segment>, para: usize, g: Gathered| match g
    {
        Gathered::Nothing => false,
        Gathered::Line { start, end } => {
            let line = body.get(start..end).unwrap_or("");
            push_segment(segments, line, Source::Body, start, Place::Para(para));
            true
        }
        Gathered::Copied(start) => {
            push_segment(
                segments,
                &copy[start..],
                Source::Copy,
                start,
                Place::Para(para),
            );
            true
        }
    };
    let append = |copy: &mut String, words: &str| {
        for word in words.split_ascii_whitespace() {
            copy.push(' ');
            copy.push_str(word);
        }
    };
    let bytes = body.as_bytes();
    let mut para = 0usize;
    let mut gathered = Gathered::Nothing;
    let mut at = 0;
    loop {
        // The lines between line breaks, as `text::split_lines` gives them; an empty one
        // (between paragraphs) needs no search.
        let end = match bytes.get(at) {
            Some(b'\n') => at,
            _ => memchr::memchr(b'\n', bytes.get(at..).unwrap_or(&[]))
                .map_or(bytes.len(), |i| at + i),
        };
        let line = body.get(at..end).unwrap_or("");
        if breaks(line) && finish(copy, segments, para, gathered) {
            para += 1;
            gathered = Gathered::Nothing;
        }
        let words = line.trim_start_matches(is_gap);
        let start = at + (line.len() - words.len());
        let words = words.trim_end_matches(is_gap);
        if !words.is_empty() {
            gathered = match gathered {
                Gathered::Nothing => Gathered::Line {
                    start,
                    end: start + words.len(),
                },
                Gathered::Line { start: s, end: e } => {
                    let from = copy.len();
                    let mut first = body.get(s..e).unwrap_or("").split_ascii_whitespace();
                    copy.push_str(first.next().unwrap_or(""));
                    for word in first {
                        copy.push(' ');
                        copy.push_str(word);
                    }
                    append(copy, words);
                    Gathered::Copied(from)
                }
                Gathered::Copied(from) => {
                    append(copy, words);
                    Gathered::Copied(from)
                }
            };
        }
        if end >= bytes.len() {
            break;
        }
        at = end + 1;
    }
    finish(copy, segments, para, gathered);
}

/// What a matched name turned out to be.
enum Verdict {
    Place,
    /// A person's name ("Michael Jordan").
    Person,
    /// A common word ("turkey", "us").
    Word,
}

/// The case, person and food rules for one match; `poultry` tells whether the story talks
/// about poultry.
fn accept(
    text: &str,
    s: usize,
    e: usize,
    entry: &Entry,
    caps: bool,
    poultry: impl Fn() -> bool,
) -> Verdict {
    if entry.kind == Kind::Ignore {
        return Verdict::Word;
    }
    let matched = &text[s..e];
    if caps {
        if entry.flags.pronoun {
            if let Some(prev) = prev_word(text, s) {
                if PRONOUN_BEFORE.iter().any(|w| w.eq_ignore_ascii_case(prev)) {
                    return Verdict::Word;
                }
            }
        }
    } else if entry.flags.exact {
        // Exact-case names are ASCII, so the table spelling is the only spelling.
        if matched != entry.name && !same_collapsed(matched, &entry.name) {
            return Verdict::Word;
        }
    } else if !matched.chars().next().is_some_and(|c| c.is_uppercase()) {
        return Verdict::Word;
    }
    if entry.flags.food && is_food(text, s, e, poultry) {
        return Verdict::Word;
    }
    if entry.flags.person && !caps && is_person(text, s, e) {
        return Verdict::Person;
    }
    Verdict::Place
}

/// Words before which "US" in capitals is the pronoun.
const PRONOUN_BEFORE: &[&str] = &[
    "LET", "LETS", "FOR", "WITH", "GIVE", "GIVES", "TELL", "TELLS", "TOLD", "HELP", "HELPS",
    "JOIN", "JOINS", "ABOUT", "OF", "BY", "BEHIND", "AMONG", "BETWEEN", "SEND", "SHOW", "SAVE",
];

/// "turkey meat", "Thanksgiving turkey", and "TURKEY PRICES" in a story about poultry.
fn is_food(text: &str, s: usize, e: usize, poultry: impl Fn() -> bool) -> bool {
    // Only ever the bird.
    const FOOD_NEXT: &[&str] = &[
        "meat",
        "breast",
        "breasts",
        "dinner",
        "dinners",
        "hatch",
        "poults",
        "slaughter",
        "sandwich",
        "sandwiches",
        "burger",
        "burgers",
        "eggs",
        "flock",
        "flocks",
        "leg",
        "legs",
        "roll",
        "rolls",
        "ham",
        "bacon",
        "hens",
        "toms",
        "feed",
        "processors",
        "processing",
        "farm",
        "farms",
        "raisers",
        "growers",
        "slaughterings",
        "carcass",
        "carcasses",
    ];
    // The bird only in a story about poultry ("Turkey sales" may be arms sales by Turkey).
    const TRADE_NEXT: &[&str] = &[
        "sales",
        "prices",
        "price",
        "production",
        "producers",
        "output",
        "supplies",
        "stocks",
        "consumption",
        "industry",
        "market",
        "markets",
        "exports",
        "imports",
        "farmers",
        "products",
    ];
    const FOOD_PREV: &[&str] = &[
        "thanksgiving",
        "roast",
        "roasted",
        "frozen",
        "whole",
        "wild",
        "fresh",
        "smoked",
        "chicken",
        "broiler",
    ];
    let next = next_word(text, e);
    if next.is_some_and(|w| FOOD_NEXT.iter().any(|n| n.eq_ignore_ascii_case(w))) {
        return true;
    }
    if prev_word(text, s).is_some_and(|w| FOOD_PREV.iter().any(|p| p.eq_ignore_ascii_case(w))) {
        return true;
    }
    next.is_some_and(|w| TRADE_NEXT.iter().any(|n| n.eq_ignore_ascii_case(w))) && poultry()
}

/// The story talks about poultry: "turkeys", lower-case "turkey", "poultry", "Thanksgiving".
fn about_poultry(sources: &Sources<'_>, segments: &[Segment]) -> bool {
    const SIGNS: [&str; 6] = [
        "turkeys",
        "TURKEYS",
        "oultry",
        "OULTRY",
        "Thanksgiving",
        "THANKSGIVING",
    ];
    // No sign spans two segments: they are apart in the story, and none has whitespace.
    // " turkey" is "turkey" after a gap inside a segment; the dateline place looked up
    // whole is as written, not a segment of words.
    let turkey = |seg: &Segment| {
        let text = sources.text(seg);
        if !seg.scanned {
            return text.contains(" turkey");
        }
        text.match_indices("turkey")
            .any(|(i, _)| i > 0 && text.as_bytes()[i - 1].is_ascii_whitespace())
    };
    segments.iter().any(turkey)
        || SIGNS
            .iter()
            .any(|sign| segments.iter().any(|seg| sources.text(seg).contains(sign)))
}

/// A capitalised given name or title before, or a capitalised surname after.
fn is_person(text: &str, s: usize, e: usize) -> bool {
    if let Some(prev) = prev_word(text, s) {
        let prev_trim = prev.trim_end_matches('.');
        if TITLES.iter().any(|t| t.eq_ignore_ascii_case(prev_trim)) {
            return true;
        }
        if is_name_like(prev) && !NOT_NAMES.iter().any(|n| n.eq_ignore_ascii_case(prev)) {
            return true;
        }
        if is_initials(prev) {
            return true;
        }
    }
    if let Some(next) = next_word(text, e) {
        if is_name_like(next) && !NOT_NAMES.iter().any(|n| n.eq_ignore_ascii_case(next)) {
            return true;
        }
    }
    false
}

/// A capitalised word of letters only, not all capitals ("Michael", not "OPEC" or "the").
fn is_name_like(w: &str) -> bool {
    let mut chars = w.chars();
    chars.next().is_some_and(|c| c.is_uppercase())
        && w.len() >= 3
        && chars.all(|c| c.is_lowercase())
}

/// "J.", "E.C.": initials before a surname (not "U.S." or "U.K.").
fn is_initials(w: &str) -> bool {
    w.len() <= 4
        && w.ends_with('.')
        && w.bytes().all(|b| b.is_ascii_uppercase() || b == b'.')
        && !matches!(w, "U.S." | "U.K." | "N.Y." | "D.C.")
}

const TITLES: &[&str] = &[
    "Mr",
    "Mrs",
    "Ms",
    "Miss",
    "Dr",
    "Sen",
    "Senator",
    "Rep",
    "Gov",
    "Governor",
    "Judge",
    "Coach",
    "Professor",
    "Prof",
    "Sir",
    "Lady",
];

/// Capitalised words that sit next to a country name without making it a person.
const NOT_NAMES: &[&str] = &[
    // sentence openers and function words
    "The",
    "In",
    "To",
    "From",
    "Of",
    "And",
    "For",
    "With",
    "By",
    "At",
    "On",
    "As",
    "About",
    "Against",
    "Between",
    "Including",
    "Both",
    "Unlike",
    "Like",
    "But",
    "Meanwhile",
    "However",
    "Also",
    "While",
    "When",
    "Since",
    "After",
    "Before",
    "Then",
    "Now",
    "Under",
    "Only",
    "Neither",
    "Nor",
    "Yesterday",
    "Today",
    "Tomorrow",
    "Last",
    "Next",
    "This",
    "That",
    "Where",
    "Why",
    "How",
    "Said",
    "Says",
    "Told",
    "Added",
    "Both",
    "Neighbouring",
    "Neighboring",
    "Oil",
    "Southern",
    "Northern",
    "Eastern",
    "Western",
    "Central",
    "Sources",
    "Officials",
    "Although",
    "Because",
    "Despite",
    "During",
    "Into",
    "Over",
    "Until",
    "Within",
    "Without",
    "Whether",
    "Across",
    "Through",
    "Outside",
    "Inside",
    "Along",
    "Near",
    "Via",
    "Toward",
    "Towards",
    "Versus",
    "Than",
    "Its",
    "Their",
    "His",
    "Her",
    "Our",
    "Such",
    "Neighbour",
    "Neighbor",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
    // nouns that follow a country name in wire copy
    "Government",
    "Governments",
    "President",
    "Prime",
    "Minister",
    "Ministry",
    "Foreign",
    "Finance",
    "Trade",
    "Oil",
    "King",
    "Queen",
    "Army",
    "Air",
    "Airlines",
    "Airways",
    "Radio",
    "Television",
    "News",
    "Agency",
    "Valley",
    "River",
    "Lake",
    "Basin",
    "Bank",
    "Petroleum",
    "State",
    "National",
    "Power",
    "Pacific",
    "Railroad",
    "Railway",
    "University",
    "Company",
    "Corp",
    "Corporation",
    "Inc",
    "Ltd",
    "Group",
    "Holdings",
    "International",
    "Federal",
    "Embassy",
    "Ambassador",
    "Parliament",
    "Cabinet",
    "Supreme",
    "Court",
    "Port",
    "Navy",
    "Military",
    "Defence",
    "Defense",
    "Interior",
    "Energy",
    "Economy",
    "Central",
    "Development",
    "Investment",
    "Industries",
    "Telecom",
    "Telecommunications",
    "Mining",
    "Electric",
    "Steel",
    "Cement",
    "Phosphate",
    "Potash",
    "Sugar",
    "Cotton",
    "Stock",
    "Exchange",
    "Monetary",
    "Commerce",
    "Chamber",
    "Legislature",
    "Assembly",
    "Senate",
    "House",
    "Congress",
    "Democrats",
    "Republicans",
    "Officials",
    "Authority",
    "Commission",
    "Council",
    "Board",
    "Institute",
    "Times",
    "Post",
    "Herald",
    "Journal",
    "Gazette",
    "Tribune",
    "Daily",
];

/// The word just before `s` in the same segment, if any (punctuation other than a final dot
/// ends the search: "Jordan, Syria" does not make "Syria" follow a name). A run of
/// whitespace is one space (see [`Segment`]).
fn prev_word(text: &str, s: usize) -> Option<&str> {
    let head = &text[..s];
    let head = strip_gap_suffix(head)?;
    let start = head
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '.' || *c == '\''))
        .map(|(i, c)| i + c.len_utf8())
        .unwrap_or(0);
    let w = &head[start..];
    (!w.is_empty()).then_some(w)
}

/// The word just after `e` in the same segment, if any.
fn next_word(text: &str, e: usize) -> Option<&str> {
    let tail = strip_gap_prefix(&text[e..])?;
    let end = tail
        .char_indices()
        .find(|(_, c)| !c.is_alphanumeric())
        .map(|(i, _)| i)
        .unwrap_or(tail.len());
    let w = &tail[..end];
    (!w.is_empty()).then_some(w)
}

/// `text` without the run of ASCII whitespace (one space, collapsed) it starts with, if it
/// starts with one.
fn strip_gap_prefix(text: &str) -> Option<&str> {
    let rest = text.trim_start_matches(is_gap);
    (rest.len() < text.len()).then_some(rest)
}

/// `text` without the run of ASCII whitespace it ends with, if it ends with one.
fn strip_gap_suffix(text: &str) -> Option<&str> {
    let rest = text.trim_end_matches(is_gap);
    (rest.len() < text.len()).then_some(rest)
}

/// The ASCII whitespace that segments collapse to one space (`u8::is_ascii_whitespace`, as
/// `str::split_ascii_whitespace` splits on).
fn is_gap(c: char) -> bool {
    c.is_ascii() && (c as u8).is_ascii_whitespace()
}

/// `a` and `b` are the same words with the same single gaps between them, once each run
/// of whitespace is one space.
fn same_collapsed(a: &str, b: &str) -> bool {
    a.split_ascii_whitespace().eq(b.split_ascii_whitespace())
}

fn add_score(scores: &mut Vec<(Code, f32, usize)>, code: Code, w: f32, order: usize) {
    match scores.iter_mut().find(|(c, _, _)| *c == code) {
        Some(s) => s.1 += w,
        None => scores.push((code, w, order)),
    }
}

/// Names with two readings ("Georgia": GE or US) take the one the rest of the story's
/// unambiguous evidence supports more, else their first.
fn resolve_ambiguous(g: &Gazetteer, hits: &mut [Hit]) {
    if !hits
        .iter()
        .any(|h| g.entry(h.entry).alt.is_some() && h.code.is_none())
    {
        return;
    }
    let mut base: Vec<(Code, f32, usize)> = Vec::new();
    for (i, h) in hits.iter().enumerate() {
        let entry = g.entry(h.entry);
        if entry.alt.is_none() || h.code.is_some() {
            if let Some(code) = h.code.or(entry.code) {
                add_score(&mut base, code, h.weight(entry), i);
            }
        }
    }
    let support = |c: Code| {
        base.iter()
            .find(|(b, _, _)| *b == c)
            .map_or(0.0, |(_, s, _)| *s)
    };
    for h in hits.iter_mut() {
        let entry = g.entry(h.entry);
        if let (Some(alt), Some(code), None) = (entry.alt, entry.code, h.code) {
            h.code = Some(if support(alt) > support(code) {
                alt
            } else {
                code
            });
        }
    }
}

/// "London, Ontario", "Paris, Texas": a city right before ", <state or country>" belongs to
/// that state's or country's nation.
fn apply_region_overrides(
    g: &Gazetteer,
    sources: &Sources<'_>,
    segments: &[Segment],
    hits: &mut [Hit],
) {
    for i in 1..hits.len() {
        let (city, region) = (hits[i - 1], hits[i]);
        let (city_entry, region_entry) = (g.entry(city.entry), g.entry(region.entry));
        if !matches!(city_entry.kind, Kind::City | Kind::Dateline) || city.code.is_some() {
            continue;
        }
        if !matches!(region_entry.kind, Kind::State | Kind::Name) || region_entry.alt.is_some() {
            continue;
        }
        // Segments are apart in the story: only names in one segment can stand so.
        if city.segment != region.segment {
            continue;
        }
        let text = sources.text(&segments[city.segment]);
        let between = text.get(city.end..region.start).unwrap_or("");
        // ", " once whitespace is collapsed, or ",".
        let comma_gap = between
            .strip_prefix(',')
            .is_some_and(|gap| gap.bytes().all(|b| b.is_ascii_whitespace()));
        if comma_gap {
            hits[i - 1].code = region_entry.code;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tagger() -> CountryTagger {
        CountryTagger::new(&CountriesConfig::default()).unwrap()
    }

    fn story(dateline: Option<&str>, headline: &str, body: &str) -> Story {
        Story {
            headline: Some(headline.to_string()),
            body: body.to_string(),
            dateline: dateline.map(str::to_string),
            ..Story::default()
        }
    }

    fn tags(dateline: Option<&str>, headline: &str, body: &str) -> Vec<String> {
        tagger().tag(&story(dateline, headline, body))
    }

    #[test]
    fn dateline_alone_suffices() {
        assert_eq!(
            tags(Some("TOKYO"), "Shares end higher", "Shares rose."),
            ["JP"]
        );
        assert_eq!(
            tags(Some("PEKING, March 3 -"), "x", "The ministry said."),
            ["CN"]
        );
        assert_eq!(tags(Some("NEW YORK"), "x", "y"), ["US"]);
    }

    #[test]
    fn dateline_first_then_headline() {
        let t = tags(
            Some("BONN"),
            "Germany and France agree on farm prices",
            "Officials met in the capital.",
        );
        assert_eq!(t[0], "DE");
        assert!(t.contains(&"FR".to_string()));
    }

    #[test]
    fn passing_mention_deep_in_body_is_not_enough() {
        let body = "Company results were strong.\n\nSales grew.\n\nProfits grew.\n\nMargins grew.\n\nIt also sells in Peru.";
        assert!(tags(Some("CHICAGO"), "Results", body) == ["US"]);
    }

    #[test]
    fn jordan_person_vs_country() {
        assert!(tags(None, "Sports", "Michael Jordan scored 40 points on Sunday.").is_empty());
        assert!(tags(None, "Sports", "Coach Phil said that Mr Jordan was tired.").is_empty());
        assert!(tags(
            None,
            "Sports",
            "Team guard Anthony Jordan said he was tired."
        )
        .is_empty());
        assert_eq!(
            tags(
                None,
                "Talks",
                "King Hussein of Jordan met officials in Amman."
            ),
            ["JO"]
        );
        assert_eq!(tags(None, "Jordan raises bread prices", "x"), ["JO"]);
    }

    #[test]
    fn georgia_state_vs_country() {
        let us = tags(
            None,
            "Utility plans plant",
            "Georgia Power said it would build a plant near Atlanta, Ga., the Georgia governor said.",
        );
        assert_eq!(us, ["US"]);
        let ge = tags(
            None,
            "Georgia votes",
            "Voters in Georgia went to the polls in Tbilisi on Sunday.",
        );
        assert_eq!(ge, ["GE"]);
    }

    #[test]
    fn turkey_bird_vs_country() {
        assert!(tags(None, "Poultry", "Consumers bought more turkey this year.").is_empty());
        assert!(tags(None, "Poultry", "Turkey sales rose before the holiday.").is_empty());
        assert!(tags(
            None,
            "TURKEY PRICES FIRM AHEAD OF HOLIDAY",
            "Wholesale prices of frozen turkeys rose."
        )
        .is_empty());
        assert!(tags(None, "Turkey meat output rises", "x").is_empty());
        assert_eq!(
            tags(None, "Turkey exports rise", "Turkey's exports rose 10 pct."),
            ["TR"]
        );
        assert_eq!(
            tags(None, "Turkey raises rates", "Turkey raised rates."),
            ["TR"]
        );
    }

    #[test]
    fn poultry_signs_across_any_whitespace() {
        // " turkey" after a tab is still a story about turkeys.
        assert!(tags(None, "Turkey prices rise", "Sales of turkey rose.").is_empty());
        assert!(tags(None, "Turkey prices rise", "Sales of\tturkey rose.").is_empty());
        assert!(tags(None, "Turkey prices rise", "Sales of\nturkey rose.").is_empty());
        assert_eq!(
            tags(None, "Turkey prices rise", "Sales ofturkey rose."),
            ["TR"]
        );
    }

    #[test]
    fn longest_match_wins() {
        assert_eq!(tags(None, "Drought in New Mexico", "x"), ["US"]);
        assert_eq!(tags(None, "Floods in New South Wales", "x"), ["AU"]);
        assert_eq!(tags(None, "Papua New Guinea mine opens", "x"), ["PG"]);
        assert_eq!(tags(None, "Guinea-Bissau cashew crop", "x"), ["GW"]);
        assert_eq!(tags(None, "Equatorial Guinea oil", "x"), ["GQ"]);
        assert_eq!(tags(None, "Guinea bauxite output", "x"), ["GN"]);
        assert_eq!(tags(None, "Dominican Republic sugar", "x"), ["DO"]);
        assert_eq!(tags(None, "Dominica banana crop", "x"), ["DM"]);
    }

    #[test]
    fn niger_is_not_nigeria() {
        assert_eq!(tags(None, "Nigeria oil output", "x"), ["NG"]);
        assert_eq!(tags(None, "Niger uranium", "x"), ["NE"]);
        assert_eq!(tags(None, "Nigerian oil", "x"), ["NG"]);
    }

    #[test]
    fn us_vs_pronoun() {
        assert!(tags(None, "Interview", "He told us that it would rain.").is_empty());
        assert_eq!(tags(None, "Trade", "The US said it would act."), ["US"]);
        assert_eq!(tags(None, "Trade", "The U.S. said it would act."), ["US"]);
        assert_eq!(tags(None, "U.S. TO CUT TARIFFS", "x"), ["US"]);
        assert_eq!(tags(None, "US TO CUT TARIFFS", "x"), ["US"]);
        assert!(tags(None, "LET US PRAY, SAYS BISHOP", "x").is_empty());
    }

    #[test]
    fn chad_and_paris_as_names() {
        assert!(tags(None, "Music", "Singer Chad Kroeger said the tour was over.").is_empty());
        assert_eq!(
            tags(None, "Chad says Libya withdrew troops", "x"),
            ["TD", "LY"]
        );
        assert_eq!(
            tags(None, "Troops", "Chad said Libyan troops withdrew."),
            ["TD"]
        );
        assert!(tags(None, "Celebrity", "Paris Hilton arrived late.").is_empty());
    }

    #[test]
    fn china_inside_names_is_still_china() {
        assert_eq!(tags(None, "Bank of China loan", "x"), ["CN"]);
    }

    #[test]
    fn congo_and_korea() {
        assert_eq!(tags(None, "Congo oil", "Brazzaville said."), ["CG"]);
        assert_eq!(
            tags(
                None,
                "Congo mines",
                "Kinshasa said copper output in Congo rose."
            ),
            ["CD"]
        );
        assert_eq!(tags(None, "Korea exports rise", "x"), ["KR"]);
        assert_eq!(tags(None, "North Korea talks", "x"), ["KP"]);
    }

    #[test]
    fn city_region_pattern() {
        assert_eq!(tags(None, "Plant in London, Ontario closes", "x"), ["CA"]);
        assert_eq!(tags(None, "Plant in London closes", "x"), ["GB"]);
        assert_eq!(tags(Some("LONDON, Ontario, March 3 -"), "x", "y"), ["CA"]);
        assert_eq!(tags(Some("LONDON, March 3 -"), "x", "y"), ["GB"]);
    }

    #[test]
    fn washington_state_and_city_are_both_us() {
        assert_eq!(tags(Some("WASHINGTON, March 3 -"), "x", "y"), ["US"]);
        assert_eq!(tags(None, "Apple crop in Washington state", "x"), ["US"]);
        assert_eq!(tags(None, "Storm hits Paris, Texas", "x"), ["US"]);
        assert_eq!(tags(None, "Storm hits Paris", "x"), ["FR"]);
    }

    #[test]
    fn raw_and_normalised_datelines() {
        for d in [
            "SALVADOR, Feb 26 -",
            "SALVADOR, Feb 26",
            "SALVADOR",
            "Salvador -",
        ] {
            assert_eq!(
                tags(Some(d), "COCOA REVIEW", "Showers continued."),
                ["BR"],
                "{d}"
            );
        }
        assert_eq!(tags(Some("PORTLAND, Maine, April 1 -"), "x", "y"), ["US"]);
        assert_eq!(tags(Some("NATCHEZ, Miss., April 1 -"), "x", "y"), ["US"]);
        assert!(tags(Some("UNKNOWNVILLE, April 1 -"), "x", "y").is_empty());
    }

    #[test]
    fn historic_names() {
        for (name, code) in [
            ("West Germany", "DE"),
            ("East Germany", "DE"),
            ("Soviet Union", "RU"),
            ("USSR", "RU"),
            ("Burma", "MM"),
            ("Zaire", "CD"),
            ("Kampuchea", "KH"),
            ("Ceylon", "LK"),
            ("Rhodesia", "ZW"),
            ("Czechoslovakia", "CZ"),
            ("Yugoslavia", "RS"),
            ("Persia", "IR"),
            ("Siam", "TH"),
        ] {
            assert_eq!(tags(None, &format!("{name} news"), "x"), [code], "{name}");
        }
    }

    #[test]
    fn raw_wire_copy_with_wrapped_names() {
        let body = "    The central bank of the\nUnited States and officials in New\nZealand said.\n    More text.\n Reuter";
        let s = story(Some("WELLINGTON, March 3 -"), "RATES", body);
        assert_eq!(tagger().tag(&s), ["NZ"]);
        let mentions = tagger().explain(&s);
        let names: Vec<&str> = mentions.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["Wellington", "United States", "New Zealand"]);
        assert_eq!(mentions[0].place, "dateline");
        assert_eq!(mentions[1].place, "paragraph 0");
    }

    #[test]
    fn demonyms_count() {
        assert_eq!(
            tags(None, "Iraqi forces shell Iranian towns", "x"),
            ["IQ", "IR"]
        );
    }

    #[test]
    fn empty_story_has_no_countries() {
        assert!(tagger().tag(&Story::default()).is_empty());
    }

    #[test]
    fn capitals_are_found_in_every_position() {
        for b in 0..=255u8 {
            let wanted = b.is_ascii_uppercase() || b >= 0xC0;
            for len in [19, 29, 40] {
                for pos in 0..len {
                    let mut text = vec![b'x'; len];
                    text[pos] = b;
                    let found = next_capital(&text, 0);
                    assert_eq!(found, wanted.then_some(pos), "{b:#x} at {pos}");
                    assert_eq!(
                        next_capital(&text, pos.min(3)),
                        found.filter(|&p| p >= pos.min(3))
                    );
                    // Others after it, and a non-ASCII byte before it: the first is found.
                    let mut more = text.clone();
                    more[(pos + 1).min(len - 1)] = b'Q';
                    more[(pos + 9).min(len - 1)] = 0xC3;
                    if pos > 0 {
                        more[pos - 1] = 0x80;
                    }
                    let first = (0..len).find(|&p| more[p].is_ascii_uppercase() || more[p] >= 0xC0);
                    assert_eq!(next_capital(&more, 0), first, "{b:#x} at {pos}");
                }
            }
        }
    }

    /// The segments as they were made when every piece was copied into one text with its
    /// whitespace collapsed: (text, place, caps).
    fn copied_segments(headline: &str, body: &str) -> Vec<(String, Place, bool)> {
        let mut text = String::new();
        let mut out = Vec::new();
        let mut finish = |text: &mut String, start: usize, place: Place| {
            let slice = &text[start..];
            if !slice.is_empty() {
                let caps = !slice.bytes().any(|b| b.is_ascii_lowercase())
                    && slice.bytes().any(|b| b.is_ascii_uppercase());
                out.push((slice.to_string(), place, caps));
            }
            text.push('\n');
        };
        let start = text.len();
        for word in headline.split_ascii_whitespace() {
            if text.len() > start {
                text.push(' ');
            }
            text.push_str(word);
        }
        finish(&mut text, start, Place::Headline);
        let mut para = 0;
        let mut start = text.len();
        for line in body.split('\n') {
            let breaks = line.starts_with([' ', '\t']) || line.trim().is_empty();
            if breaks && text.len() > start {
                finish(&mut text, start, Place::Para(para));
                para += 1;
                start = text.len();
            }
            for word in line.split_ascii_whitespace() {
                if text.len() > start {
                    text.push(' ');
                }
                text.push_str(word);
            }
        }
        if text.len() > start {
            finish(&mut text, start, Place::Para(para));
        }
        out
    }

    fn segments_of(headline: &str, body: &str) -> Vec<(String, Place, bool)> {
        let mut copy = String::new();
        let mut segments = Vec::new();
        push_piece(
            &mut segments,
            headline,
            Source::Headline,
            0,
            Place::Headline,
        );
        push_body(&mut copy, &mut segments, body);
        let sources = Sources {
            dateline: "",
            headline,
            body,
            copy: &copy,
        };
        segments
            .iter()
            .map(|seg| {
                let text = sources.text(seg);
                assert_eq!(text, text.trim_matches(is_gap), "{text:?}");
                let words: Vec<&str> = text.split_ascii_whitespace().collect();
                (words.join(" "), seg.place, seg.caps)
            })
            .collect()
    }

    fn wire_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let piece = prop_oneof![
            Just("New York"),
            Just("US"),
            Just("word"),
            Just("CAPS"),
            Just(" "),
            Just("  "),
            Just("\t"),
            Just("\n"),
            Just("\n\n"),
            Just("\n    "),
            Just("\r"),
            Just("\x0b"),
            Just("\x0c"),
            Just("\u{e9}"),
            Just("\u{a0}"),
            Just("\u{2028}"),
            Just(","),
        ];
        proptest::collection::vec(piece, 0..16).prop_map(|v| v.concat())
    }

    proptest::proptest! {
        /// Segments that lie in the story's own strings have the words of the copies.
        #[test]
        fn segments_read_as_the_collapsed_copy(headline in wire_text(), body in wire_text()) {
            proptest::prop_assert_eq!(
                segments_of(&headline, &body),
                copied_segments(&headline, &body)
            );
        }

        /// The dateline place is found where it was: as written when looked up whole,
        /// collapsed when scanned.
        #[test]
        fn dateline_place_is_the_cleaned_first_part(dateline in wire_text(), place in 0..4usize) {
            let dateline = format!(
                "{dateline}{}",
                ["", " LONDON, March 3 -", "Tbilisi", "  NEW   YORK ,"][place]
            );
            let tagger = tagger();
            let mut scratch = Scratch::default();
            let story = Story { dateline: Some(dateline.clone()), ..Story::default() };
            tagger.find_hits(&story, &mut scratch);
            let cleaned = dateline.trim().trim_end_matches(['-', '\u{2013}', '\u{2014}']);
            let first = cleaned.split(',').next().unwrap_or("").trim();
            let sources = Sources {
                dateline: &dateline,
                headline: "",
                body: "",
                copy: &scratch.copy,
            };
            let found: Vec<(String, bool)> = scratch
                .segments
                .iter()
                .filter(|seg| seg.place == Place::Dateline)
                .map(|seg| {
                    let text = sources.text(seg);
                    let text = if seg.scanned {
                        text.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
                    } else {
                        text.to_string()
                    };
                    (text, seg.scanned)
                })
                .collect();
            let collapsed = first.split_ascii_whitespace().collect::<Vec<_>>().join(" ");
            match found.as_slice() {
                [] => proptest::prop_assert!(collapsed.is_empty()),
                [(text, true)] => proptest::prop_assert_eq!(text, &collapsed),
                [(text, false)] => proptest::prop_assert_eq!(text.as_str(), first),
                more => proptest::prop_assert!(false, "{more:?}"),
            }
        }
    }

    #[test]
    fn paragraph_breaks() {
        for line in [
            "", " a", "\ta", "a", "\u{a0}", "\u{a0}a", "\x0b", "\x0ba", "\r", "é",
        ] {
            let expected = line.starts_with([' ', '\t']) || line.trim().is_empty();
            assert_eq!(breaks(line), expected, "{line:?}");
        }
    }

    #[test]
    fn wrapped_and_indented_paragraphs_are_copied() {
        let body = "    The bank of the\nUnited States\n    said.\n\nOne line.";
        assert_eq!(segments_of("A  B", body), copied_segments("A  B", body));
        let mut copy = String::new();
        let mut segments = Vec::new();
        push_body(&mut copy, &mut segments, "One  line.\n\nTwo\nlines.\n");
        assert_eq!(segments[0].source, Source::Body);
        assert_eq!(segments[1].source, Source::Copy);
        assert_eq!(copy, "Two lines.");
    }

    /// The story with every piece written as the words of its segments, one space apart, a
    /// paragraph a line: what the tagger reads in the story, with nothing left to collapse.
    fn collapsed_story(story: &Story) -> Story {
        let copied = copied_segments(story.headline.as_deref().unwrap_or(""), &story.body);
        let body: Vec<&str> = copied
            .iter()
            .filter(|(_, place, _)| *place != Place::Headline)
            .map(|(text, _, _)| text.as_str())
            .collect();
        Story {
            headline: story
                .headline
                .as_ref()
                .map(|h| h.split_ascii_whitespace().collect::<Vec<_>>().join(" ")),
            body: body.join("\n\n"),
            dateline: story.dateline.clone(),
            ..Story::default()
        }
    }

    fn spaced_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let gap = prop_oneof![
            Just(" "),
            Just("  "),
            Just("\t"),
            Just("\n"),
            Just(" \n"),
            Just("\n\n"),
            Just("\n    "),
            Just("\r\n"),
            Just("\x0c"),
        ];
        let word = prop_oneof![
            Just("New"),
            Just("York"),
            Just("New York"),
            Just("US"),
            Just("U.S."),
            Just("Michael"),
            Just("Jordan"),
            Just("Mr"),
            Just("Turkey"),
            Just("turkey"),
            Just("prices"),
            Just("Turkey prices"),
            Just("meat"),
            Just("poultry"),
            Just("London,"),
            Just("Paris,"),
            Just("Ontario"),
            Just("Texas"),
            Just("Georgia"),
            Just("LET"),
            Just("Iraqis"),
            Just("Papua"),
            Just("Guinea"),
            Just("the"),
            Just("said"),
            Just("\u{e9}"),
            Just("\u{a0}"),
        ];
        proptest::collection::vec((gap, word), 0..14)
            .prop_map(|v| v.into_iter().map(|(g, w)| format!("{g}{w}")).collect())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]
        /// Lines read where they lie, whitespace runs as one space, give the mentions that
        /// the story rewritten with single spaces gives.
        #[test]
        fn whitespace_runs_read_as_one_space(
            headline in spaced_text(),
            body in spaced_text(),
            dateline in proptest::option::of(spaced_text()),
        ) {
            let tagger = tagger();
            let story = Story {
                headline: Some(headline),
                body,
                dateline,
                ..Story::default()
            };
            let collapsed = collapsed_story(&story);
            proptest::prop_assert_eq!(tagger.explain(&story), tagger.explain(&collapsed));
            proptest::prop_assert_eq!(tagger.tag(&story), tagger.tag(&collapsed));
        }
    }

    proptest::proptest! {
        /// The cursor finds what a search from each position finds.
        #[test]
        fn capital_cursor_agrees_with_the_search(
            text in proptest::collection::vec(
                proptest::sample::select(vec![b'a', b'A', b' ', b'Z', 0x80, 0xC3, b'0']),
                0..40,
            ),
            steps in proptest::collection::vec(0..12usize, 0..20),
        ) {
            let mut cursor = CapitalCursor::new(&text);
            let mut pos = 0;
            for step in steps {
                let found = cursor.next_from(pos);
                proptest::prop_assert_eq!(found, next_capital(&text, pos), "at {}", pos);
                // The scan moves on from a capital or anywhere past it.
                pos = found.map_or(pos + step, |f| f + 1 + step);
            }
        }
    }
}
