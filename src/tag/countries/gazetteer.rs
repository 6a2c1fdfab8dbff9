//! The gazetteer: place names, demonyms, cities and indicators, each pointing at a country.
//!
//! Three tab-separated tables make it up, read in this order (a name met again later is
//! ignored, so the hand-curated table wins):
//!
//! - `extra.tsv`: hand-written (historic names, indicators, ambiguity flags, stoplists);
//! - `countries.tsv`: generated from mledoze/countries (ODbL) by `scripts/build_gazetteer.py`;
//! - `cities.tsv`: generated from GeoNames cities15000 (CC BY 4.0) by the same script.
//!
//! Everything but the dateline-only cities goes into one Aho-Corasick DFA (ASCII case folded,
//! leftmost-longest so "New Mexico" beats "Mexico"); the case rules are applied to each match
//! afterwards, because case matters only for some names ("US" vs "us", "Turkey" vs "turkey").

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind, StartKind};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use crate::error::TableError;
use crate::text::packed::{alnum_run, load8, low_bytes, LOWER_BITS};

/// The embedded default tables (see `config/gazetteer/LICENSE-NOTICE.md` for their terms).
pub(crate) const EXTRA_TSV: &str = include_str!("../../../config/gazetteer/extra.tsv");
pub(crate) const COUNTRIES_TSV: &str = include_str!("../../../config/gazetteer/countries.tsv");
pub(crate) const CITIES_TSV: &str = include_str!("../../../config/gazetteer/cities.tsv");

/// An ISO 3166-1 alpha-2 code, stored inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Code(pub(crate) [u8; 2]);

impl Code {
    fn parse(s: &str) -> Option<Code> {
        let b = s.as_bytes();
        (b.len() == 2 && b.iter().all(u8::is_ascii_uppercase)).then(|| Code([b[0], b[1]]))
    }

    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

/// What sort of evidence a name is; the tagger weighs each kind differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Country name, official name, alternative or historic name.
    Name,
    Demonym,
    City,
    /// A city matched only as the whole dateline place.
    Dateline,
    /// A state, province or region inside a country.
    State,
    /// An institution or landmark standing for a country ("Bundesbank", "Wall Street").
    Indicator,
    /// A phrase consumed so the name inside it does not count ("Persian Gulf").
    Ignore,
}

/// Extra rules attached to a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Flags {
    /// The text must have exactly this case ("US", "Fed", "Ga.").
    pub(crate) exact: bool,
    /// Also a given name or surname ("Jordan", "Chad", "Georgia", "Israel").
    pub(crate) person: bool,
    /// Also a food ("turkey sales").
    pub(crate) food: bool,
    /// Also a pronoun when written in capitals ("LET US").
    pub(crate) pronoun: bool,
}

/// One gazetteer name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    /// The country this name means by default; `None` for ignored phrases.
    pub(crate) code: Option<Code>,
    /// The other country this name may mean when the rest of the story points there
    /// ("Georgia": GE by default, US in a US story).
    pub(crate) alt: Option<Code>,
    pub(crate) kind: Kind,
    pub(crate) flags: Flags,
    /// The name as written in the table, for the exact-case rule.
    pub(crate) name: String,
}

/// The loaded gazetteer, built once and then only read.
pub(crate) struct Gazetteer {
    /// Walked directly (see [`Gazetteer::longest_at`]): a search is a few steps from a word
    /// start, which the general search API would cost more to set up than to run.
    automaton: DFA,
    /// The automaton's anchored start state.
    start: StateID,
    /// Entry of each automaton pattern (index = pattern ID), then the entries reachable only
    /// through `by_key` (dateline-only cities).
    pub(crate) entries: Vec<Entry>,
    /// The automaton's patterns, to check the walk against the search API.
    #[cfg(test)]
    patterns: Vec<String>,
    /// Every name (including dateline-only cities), by folded key, for whole-dateline lookup:
    /// the index of its entry.
    by_key: HashMap<String, usize, BuildHasherDefault<KeyHasher>>,
    /// Bloom filter of the (lower-cased) first words of the patterns, a word being a run of
    /// ASCII letters and digits: most capitalised words are turned away here without
    /// running the automaton.
    first_words: Vec<u64>,
}

impl Gazetteer {
    /// The embedded tables.
    pub(crate) fn embedded() -> Result<Self, TableError> {
        Self::from_tables(&[
            ("extra.tsv", EXTRA_TSV),
            ("countries.tsv", COUNTRIES_TSV),
            ("cities.tsv", CITIES_TSV),
        ])
    }

    /// The tables of a directory holding `extra.tsv`, `countries.tsv` and `cities.tsv`; a file
    /// missing from the directory falls back to the embedded one, so a deployment can override
    /// just the curated table.
    pub(crate) fn from_dir(dir: &Path) -> Result<Self, TableError> {
        let read = |name: &str, fallback: &'static str| -> Result<String, TableError> {
            let path = dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok(text),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(fallback.to_string()),
                Err(source) => Err(TableError::Io {
                    path: path.display().to_string(),
                    source,
                }),
            }
        };
        let extra = read("extra.tsv", EXTRA_TSV)?;
        let countries = read("countries.tsv", COUNTRIES_TSV)?;
        let cities = read("cities.tsv", CITIES_TSV)?;
        Self::from_tables(&[
            ("extra.tsv", &extra),
            ("countries.tsv", &countries),
            ("cities.tsv", &cities),
        ])
    }

    /// Build from `(name, text)` tables, earlier tables winning over later ones.
    pub(crate) fn from_tables(tables: &[(&str, &str)]) -> Result<Self, TableError> {
        let mut by_key: HashMap<String, (Entry, Vec<String>)> = HashMap::new();
        let mut order: Vec<String> = Vec::new();
        let mut stopped: std::collections::HashSet<String> = std::collections::HashSet::new();
        for (table, text) in tables {
            for (i, line) in text.lines().enumerate() {
                let line = line.trim_end_matches('\r');
                if line.trim().is_empty() || line.starts_with('#') {
                    continue;
                }
                let parse_err = |message: String| TableError::Parse {
                    path: (*table).to_string(),
                    line: i + 1,
                    message,
                };
                let row = parse_row(table, line).map_err(parse_err)?;
                let Some((entry, stop)) = row else { continue };
                let k = fold_key(&entry.name);
                if k.is_empty() {
                    return Err(parse_err("empty name".into()));
                }
                if stop {
                    stopped.insert(k);
                    continue;
                }
                if stopped.contains(&k) || by_key.contains_key(&k) {
                    continue;
                }
                let mut spellings = vec![entry.name.clone()];
                let folded = fold(&entry.name);
                if folded != entry.name {
                    spellings.push(folded);
                }
                order.push(k.clone());
                by_key.insert(k, (entry, spellings));
            }
        }

        let mut patterns: Vec<String> = Vec::new();
        let mut entries: Vec<Entry> = Vec::new();
        let mut dateline_entries: Vec<(String, Entry)> = Vec::new();
        let mut index: HashMap<String, usize, BuildHasherDefault<KeyHasher>> = HashMap::default();
        for k in &order {
            let Some((entry, spellings)) = by_key.remove(k) else {
                continue;
            };
            if entry.kind == Kind::Dateline {
                dateline_entries.push((k.clone(), entry));
                continue;
            }
            index.insert(k.clone(), entries.len());
            for s in spellings {
                patterns.push(s);
                entries.push(entry.clone());
            }
        }
        for (k, entry) in dateline_entries {
            index.insert(k, entries.len());
            entries.push(entry);
        }
        let build_error = |message: String| TableError::Parse {
            path: "gazetteer".into(),
            line: 0,
            message,
        };
        let automaton = DFA::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .start_kind(StartKind::Anchored)
            .prefilter(false)
            .build(&patterns)
            .map_err(|e| build_error(e.to_string()))?;
        let start = automaton
            .start_state(Anchored::Yes)
            .map_err(|e| build_error(e.to_string()))?;
        let mut first_words = vec![0u64; FIRST_WORD_BITS / 64];
        for p in &patterns {
            let word = leading_word(p.as_bytes());
            if !word.is_empty() {
                for bit in word_bits(word_key_of(word)) {
                    first_words[bit / 64] |= 1 << (bit % 64);
                }
            }
        }
        Ok(Gazetteer {
            first_words,
            automaton,
            start,
            entries,
            #[cfg(test)]
            patterns,
            by_key: index,
        })
    }

    /// The longest name (leftmost-longest, ASCII case ignored) that `text` starts with, a
    /// run of ASCII whitespace read as one space: where it ends and the index of its entry.
    /// The same as an anchored search of the automaton over the text with its whitespace
    /// collapsed, without the search API's set-up. `text` must not end with whitespace.
    #[inline]
    pub(crate) fn longest_at(&self, text: &[u8]) -> Option<(usize, usize)> {
        let dfa = &self.automaton;
        let mut sid = self.start;
        let mut found = None;
        // Bytes read from `text`, and bytes fed to the automaton.
        let (mut at, mut fed) = (0, 0);
        while let Some(&b) = text.get(at) {
            at += 1;
            let b = if b.is_ascii_whitespace() {
                while text.get(at).is_some_and(u8::is_ascii_whitespace) {
                    at += 1;
                }
                b' '
            } else {
                b
            };
            fed += 1;
            sid = dfa.next_state(Anchored::Yes, sid, b);
            if dfa.is_special(sid) {
                if dfa.is_dead(sid) {
                    break;
                }
                if dfa.is_match(sid) {
                    let pattern = dfa.match_pattern(sid, 0);
                    // A match state may also carry a shorter name that would start later
                    // (reached through a failure transition): not a match at the start.
                    if dfa.pattern_len(pattern) == fed {
                        found = Some((at, pattern.as_usize()));
                    }
                }
            }
        }
        found
    }

    /// Whether any pattern can start at the beginning of `text`.
    ///
    /// A pattern matched there spells the text's leading word (run of ASCII letters and
    /// digits) as its own first word, up to ASCII case: the byte after the pattern's first
    /// word is not a letter or digit and is matched exactly. A one-word pattern may also be
    /// followed by more of the word, which only a plural "s" makes a match (see `word_end`),
    /// so the word without a final "s" is tried too. Text that does not start with an ASCII
    /// letter or digit is not filtered.
    /// Also returns the length of that leading word, which the caller skips when no pattern
    /// can start.
    #[inline(always)]
    pub(crate) fn may_start(&self, text: &[u8]) -> (bool, usize) {
        // The leading word's first 8 bytes and its length, found 8 bytes at a time: most
        // words fit in one chunk, and the rest are only counted.
        let x = load8(text, 0);
        let run = alnum_run(x);
        let mut len = run;
        if run == 8 {
            len += text[8..]
                .iter()
                .position(|b| !b.is_ascii_alphanumeric())
                .unwrap_or(text.len() - 8);
        }
        if len == 0 {
            return (!text.is_empty(), 0);
        }
        // Letters lower-case with one OR per byte; digits already have that bit.
        let head = low_bytes(x | LOWER_BITS, run);
        if self.has_first_word(word_key(head, len)) {
            return (true, len);
        }
        let plural = len > 1
            && text[len - 1] == b's'
            && self.has_first_word(word_key(low_bytes(head, len - 1), len - 1));
        (plural, len)
    }

    #[inline(always)]
    fn has_first_word(&self, hash: u64) -> bool {
        let [a, b] = word_bits(hash);
        self.first_words[a / 64] & (1 << (a % 64)) != 0
            && self.first_words[b / 64] & (1 << (b % 64)) != 0
    }

    /// The index of the entry whose folded name is exactly `key` (see [`fold_key`]).
    pub(crate) fn lookup(&self, key: &str) -> Option<usize> {
        self.by_key.get(key).copied()
    }

    /// The entry at `index`, as [`Gazetteer::lookup`] and [`Gazetteer::longest_at`] give it.
    pub(crate) fn entry(&self, index: usize) -> &Entry {
        &self.entries[index]
    }
}

/// The hasher of [`Gazetteer::by_key`]: its keys are short names looked up a few times per
/// story, for which SipHash costs more than the look-up; the keys come from our own tables,
/// so there is no flooding to guard against.
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.0 = mix(self.0, load8(chunk, 0));
        }
        let rest = chunks.remainder();
        // The length goes in with the last chunk, so that zero padding is not ambiguous.
        self.0 = mix(self.0, load8(rest, 0) ^ ((rest.len() as u64) << 59));
    }

    fn finish(&self) -> u64 {
        // hashbrown picks buckets with the low bits and tags with the top 7: fold them.
        self.0 ^ (self.0 >> 32)
    }
}

fn mix(h: u64, chunk: u64) -> u64 {
    (h ^ chunk)
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .rotate_left(23)
}

/// Size of the first-word filter: a few thousand first words set under 1% of false passes.
const FIRST_WORD_BITS: usize = 1 << 16;

/// The leading run of ASCII letters and digits.
fn leading_word(text: &[u8]) -> &[u8] {
    let len = text
        .iter()
        .position(|b| !b.is_ascii_alphanumeric())
        .unwrap_or(text.len());
    &text[..len]
}

/// The filter key of a run of ASCII letters and digits: its length and its first 8 bytes
/// lower-cased (`head`, packed little-endian). Longer words that share both share a key,
/// which only lets a few more words through to the automaton. Only its top 32 bits are
/// used (see [`word_bits`]), the best mixed of a product.
#[inline(always)]
fn word_key(head: u64, len: usize) -> u64 {
    (head ^ (len as u64).rotate_right(8)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// [`word_key`] of a whole word, as the table is built.
fn word_key_of(word: &[u8]) -> u64 {
    word_key(
        low_bytes(load8(word, 0) | LOWER_BITS, word.len()),
        word.len(),
    )
}

/// The two filter bits of a word hash: its top two 16-bit quarters, no further multiply.
#[inline(always)]
fn word_bits(h: u64) -> [usize; 2] {
    [
        (h >> 48) as usize % FIRST_WORD_BITS,
        (h >> 32) as usize % FIRST_WORD_BITS,
    ]
}

/// One table row; `Ok(None)` for rows with nothing to add, the bool is true for `stop` rows.
fn parse_row(table: &str, line: &str) -> Result<Option<(Entry, bool)>, String> {
    let cols: Vec<&str> = line.split('\t').collect();
    let (codes, kind, name, flags) = match table {
        "cities.tsv" => {
            // code, tier, population, name
            if cols.len() < 4 {
                return Err(format!("expected 4 columns, found {}", cols.len()));
            }
            let kind = match cols[1] {
                "city" => "city",
                "dateline" => "dateline",
                other => return Err(format!("unknown tier {other:?}")),
            };
            (cols[0], kind, cols[3], "")
        }
        "countries.tsv" => {
            // code, kind, name
            if cols.len() < 3 {
                return Err(format!("expected 3 columns, found {}", cols.len()));
            }
            let kind = match cols[1] {
                "demonym" => "demonym",
                _ => "name",
            };
            (cols[0], kind, cols[2], "")
        }
        _ => {
            if cols.len() < 3 {
                return Err(format!("expected 3 or 4 columns, found {}", cols.len()));
            }
            (
                cols[0],
                cols[1],
                cols[2],
                cols.get(3).copied().unwrap_or(""),
            )
        }
    };
    let name = name.trim();
    if name.is_empty() {
        return Err("empty name".into());
    }
    let kind = match kind {
        "name" | "historic" | "official" | "alt" => Kind::Name,
        "demonym" => Kind::Demonym,
        "city" => Kind::City,
        "dateline" => Kind::Dateline,
        "state" => Kind::State,
        "indicator" => Kind::Indicator,
        "ignore" => Kind::Ignore,
        "stop" => {
            let entry = Entry {
                code: None,
                alt: None,
                kind: Kind::Ignore,
                flags: Flags::default(),
                name: name.to_string(),
            };
            return Ok(Some((entry, true)));
        }
        other => return Err(format!("unknown kind {other:?}")),
    };
    let (code, alt) = if kind == Kind::Ignore {
        (None, None)
    } else {
        let mut parts = codes.split('|');
        let first = parts.next().unwrap_or("");
        let code =
            Code::parse(first).ok_or_else(|| format!("{first:?} is not an ISO 3166-1 code"))?;
        let alt = match parts.next() {
            Some(a) => {
                Some(Code::parse(a).ok_or_else(|| format!("{a:?} is not an ISO 3166-1 code"))?)
            }
            None => None,
        };
        (Some(code), alt)
    };
    let mut f = Flags::default();
    for flag in flags.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match flag {
            "exact" => f.exact = true,
            "person" => f.person = true,
            "food" => f.food = true,
            "pronoun" => f.pronoun = true,
            other => return Err(format!("unknown flag {other:?}")),
        }
    }
    Ok(Some((
        Entry {
            code,
            alt,
            kind,
            flags: f,
            name: name.to_string(),
        },
        false,
    )))
}

/// Strip diacritics ("Côte" -> "Cote"), keeping case.
pub(crate) fn fold(s: &str) -> String {
    s.nfkd().filter(|c| !is_combining_mark(*c)).collect()
}

/// The lookup key of a name: diacritics stripped, lowercased, whitespace collapsed.
pub(crate) fn fold_key(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_key_into(s, &mut out);
    out
}

/// [`fold_key`] into `out` (cleared first), whose buffer is reused.
pub(crate) fn fold_key_into(s: &str, out: &mut String) {
    out.clear();
    if is_tidy_ascii(s.as_bytes()) {
        // The usual dateline place: lowercasing is all there is to do.
        out.push_str(s);
        out.make_ascii_lowercase();
        return;
    }
    if s.is_ascii() {
        // Nothing to strip, and ASCII lowercasing is all the lowercasing there is. One pass
        // over the bytes; the ASCII whitespace of `char::is_whitespace` is 9..=13 and space.
        let mut gap = false;
        for b in s.bytes() {
            if matches!(b, b'\t'..=b'\r' | b' ') {
                gap = true;
                continue;
            }
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.push(char::from(b.to_ascii_lowercase()));
        }
        return;
    }
    for word in fold(s).split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
}

/// ASCII whose whitespace is single spaces between words (none of 9..=13, which
/// `char::is_whitespace` also counts), or empty.
fn is_tidy_ascii(bytes: &[u8]) -> bool {
    let bad =
        |a: u8, b: u8| !a.is_ascii() || (b'\t'..=b'\r').contains(&a) || (a == b' ' && b == b' ');
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return true;
    };
    // One fold with no early exit: a place name is a few bytes.
    let flaws = bytes
        .iter()
        .zip(&bytes[1..])
        .fold(0u8, |flaws, (&a, &b)| flaws | u8::from(bad(a, b)));
    flaws == 0 && first != b' ' && last != b' ' && !bad(last, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_tables_load() {
        let g = Gazetteer::embedded().unwrap();
        assert!(g.entries.len() > 2000, "{}", g.entries.len());
        let e = g.entry(g.lookup("new york").expect("New York"));
        assert_eq!(e.code, Some(Code(*b"US")));
        // Dateline-only cities come after the patterns.
        let i = g.lookup("baghlan").expect("Baghlan");
        assert!(i >= g.patterns.len());
        assert_eq!(g.entry(i).kind, Kind::Dateline);
    }

    #[test]
    fn first_word_filter_passes_every_pattern_start() {
        let g = Gazetteer::embedded().unwrap();
        for entry in &g.entries[..g.patterns.len()] {
            for text in [
                entry.name.clone(),
                entry.name.to_uppercase(),
                fold(&entry.name),
                format!("{}s", entry.name),
                format!("{} said", entry.name),
            ] {
                assert!(g.may_start(text.as_bytes()).0, "{text:?}");
            }
        }
        // Words that start no name are turned away, and their ASCII length comes back.
        assert_eq!(g.may_start(b"Qwxzy said"), (false, 5));
        assert_eq!(g.may_start(b""), (false, 0));
        assert_eq!(g.may_start("\u{c9}tats".as_bytes()), (true, 0));
    }

    /// The walk of the DFA finds what an anchored leftmost-longest search of the same
    /// patterns finds.
    #[test]
    fn walk_agrees_with_the_search_api() {
        use aho_corasick::{AhoCorasickBuilder, AhoCorasickKind, Input};
        let g = Gazetteer::embedded().unwrap();
        let search = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .start_kind(StartKind::Anchored)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&g.patterns)
            .unwrap();
        let check = |text: &str| {
            let input = Input::new(text).anchored(Anchored::Yes);
            let expected = search
                .find(input)
                .map(|m| (m.end(), m.pattern().as_usize()));
            assert_eq!(g.longest_at(text.as_bytes()), expected, "{text:?}");
            // With its gaps widened, the text has the same names, ending further on.
            if !text.ends_with(|c: char| c.is_ascii_whitespace()) {
                let wide = text.replace(' ', " \t\n ");
                let widened =
                    expected.map(|(end, p)| (end + 3 * text[..end].matches(' ').count(), p));
                assert_eq!(g.longest_at(wide.as_bytes()), widened, "{wide:?}");
            }
        };
        let mut texts: Vec<String> = Vec::new();
        for p in &g.patterns {
            let cut = p.char_indices().map(|(i, _)| i).nth(3).unwrap_or(p.len());
            texts.extend([
                p.clone(),
                p.to_uppercase(),
                format!("{p} said"),
                format!("{p}s"),
                format!("{}x", &p[..cut]),
                p[..cut].to_string(),
                format!("{p} {p}"),
            ]);
        }
        texts.extend(
            [
                "",
                " ",
                "New",
                "New ",
                "New York-based",
                "Papua New",
                "U.S.A.",
                "\u{e9}",
            ]
            .map(String::from),
        );
        for text in &texts {
            check(text);
        }
    }

    #[test]
    fn packed_word_runs_and_keys() {
        assert_eq!(alnum_run(load8(b"Abc1-x", 0)), 4);
        assert_eq!(alnum_run(load8(b"ZZzz09az", 0)), 8);
        assert_eq!(alnum_run(load8(b"@[`{/:", 0)), 0);
        assert_eq!(alnum_run(load8("S\u{e3}o".as_bytes(), 0)), 1);
        assert_eq!(alnum_run(load8(b"", 0)), 0);
        // The key of a word read from text agrees with the one the table is built from,
        // whatever follows the word and however long it is.
        let g = Gazetteer::from_tables(&[
            ("countries.tsv", "KG\tname\tKyrgyzstan\nOM\tname\tOman\n"),
            ("cities.tsv", "KG\tcity\t1\tBishkek\n"),
        ])
        .unwrap();
        for text in [
            "KYRGYZSTAN",
            "Kyrgyzstans",
            "Kyrgyzstan\u{e9}",
            "Oman",
            "omans said",
            "Oman,",
            "Bishkek-based",
        ] {
            let (may, len) = g.may_start(text.as_bytes());
            assert!(may, "{text:?}");
            assert_eq!(len, leading_word(text.as_bytes()).len(), "{text:?}");
        }
        assert_eq!(g.may_start(b"Kyrgyzstanian"), (false, 13));
        // Same length and first 8 letters: let through, for the automaton to turn down.
        assert_eq!(g.may_start(b"Kyrgyzstax"), (true, 10));
        assert_eq!(g.may_start(b"Omen"), (false, 4));
    }

    #[test]
    fn curated_rows_win_and_stop_rows_remove() {
        let g = Gazetteer::from_tables(&[
            (
                "extra.tsv",
                "GE|US\tname\tGeorgia\tperson\n-\tstop\tIsland\n",
            ),
            ("countries.tsv", "GE\tname\tGeorgia\nIS\talt\tIsland\n"),
            ("cities.tsv", ""),
        ])
        .unwrap();
        let e = g.entry(g.lookup("georgia").expect("Georgia"));
        assert_eq!(e.alt, Some(Code(*b"US")));
        assert!(e.flags.person);
        assert!(g.lookup("island").is_none());
    }

    #[test]
    fn bad_rows_name_table_and_line() {
        let err = Gazetteer::from_tables(&[("extra.tsv", "# c\nXX1\tname\tFoo\n")])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("extra.tsv") && err.contains("line 2"), "{err}");
        let err = Gazetteer::from_tables(&[("extra.tsv", "FR\tplanet\tFoo\n")])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("unknown kind"), "{err}");
    }

    #[test]
    fn folding() {
        assert_eq!(fold("Côte d'Ivoire"), "Cote d'Ivoire");
        assert_eq!(fold_key("  SÃO   Paulo "), "sao paulo");
        // The ASCII shortcut agrees with the general path.
        for s in [
            "  NEW\tYORK \u{b} City ",
            "Ivory Coast",
            "",
            "U.S.",
            " \r\n\x0c",
            "a\x1cb\x1f",
            "St. John's ",
            "SALVADOR",
            "New  York",
            " Paris",
            "Sao\x0bPaulo",
            "a\r",
            "Caf\u{e9}",
            "x",
        ] {
            let general: String = {
                let mut out = String::new();
                for word in fold(s).split_whitespace() {
                    if !out.is_empty() {
                        out.push(' ');
                    }
                    out.extend(word.chars().flat_map(char::to_lowercase));
                }
                out
            };
            assert_eq!(fold_key(s), general, "{s:?}");
        }
    }
}
