//! Language tags: normalise what the payload says (`EN`, `en_gb` -> `en`, `en-GB`), detect
//! with `whatlang` when it says nothing, and stay silent when detection is unreliable.

use crate::text::packed::{
    in_range_bits, leading_run, letter_bits, load8, low_bytes, HIGH_BITS, LOWER_BITS,
};

/// Shortest text (in bytes) worth running detection on: below it trigram statistics are noise.
const MIN_DETECT_BYTES: usize = 40;
/// Detection looks at this much text at most (enough for a confident answer, and it bounds
/// the cost on long stories).
const MAX_DETECT_BYTES: usize = 600;

/// Why a given language tag was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("language tag {0:?} is not a BCP 47 tag")]
pub(crate) struct BadTag(pub(crate) String);

/// Normalise a BCP 47-ish tag: language lowercase (three-letter codes with a two-letter form
/// shortened), script title case, region uppercase, other subtags lowercase; `_` becomes `-`.
pub(crate) fn normalise_tag(raw: &str) -> Result<String, BadTag> {
    let bad = || BadTag(raw.to_owned());
    let raw_trimmed = raw.trim();
    let mut parts = raw_trimmed.split(['-', '_']);
    let lang = parts.next().filter(|p| !p.is_empty()).ok_or_else(bad)?;
    if !(2..=3).contains(&lang.len()) || !lang.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(bad());
    }
    let lang = lang.to_ascii_lowercase();
    let mut out = match lang.len() {
        3 => iso639_1(&lang).unwrap_or(&lang).to_owned(),
        _ => lang,
    };
    for part in parts {
        if part.is_empty() || part.len() > 8 || !part.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(bad());
        }
        out.push('-');
        let is_alpha = part.bytes().all(|b| b.is_ascii_alphabetic());
        match part.len() {
            2 if is_alpha => out.push_str(&part.to_ascii_uppercase()),
            4 if is_alpha => {
                let lower = part.to_ascii_lowercase();
                let mut chars = lower.chars();
                if let Some(first) = chars.next() {
                    out.push(first.to_ascii_uppercase());
                    out.push_str(chars.as_str());
                }
            }
            3 if part.bytes().all(|b| b.is_ascii_digit()) => out.push_str(part),
            _ => out.push_str(&part.to_ascii_lowercase()),
        }
    }
    Ok(out)
}

/// Detect the language of a sample; `None` when it is too short or the guess unreliable.
///
/// whatlang scores the text against 300 trigrams of every allowed language of its script, a
/// few hundred thousand instructions per story. Most wire copy settles much earlier, on the
/// share of frequent function words (see [`Votes::settled`]); only what they leave open goes
/// to whatlang.
pub(crate) fn detect(sample: &str) -> Option<&'static str> {
    let sample = prefix_at_char_boundary(sample, MAX_DETECT_BYTES);
    let votes = Votes::count(sample);
    if votes.letters < MIN_DETECT_BYTES {
        return None;
    }
    if let Some(lang) = votes.settled() {
        return Some(lang);
    }
    let info = DETECTOR.detect(sample)?;
    if !info.is_reliable() {
        return None;
    }
    iso639_1(info.lang().code())
}

/// Languages of the world's news agencies. Scoring only these (not every language of a script)
/// keeps detection affordable per story, and avoids exotic guesses on short wire copy.
static DETECTOR: std::sync::LazyLock<whatlang::Detector> = std::sync::LazyLock::new(|| {
    use whatlang::Lang::*;
    whatlang::Detector::with_allowlist(vec![
        Eng, Deu, Fra, Spa, Ita, Por, Nld, Swe, Dan, Nob, Fin, Pol, Ces, Slk, Hun, Ron, Bul, Hrv,
        Srp, Slv, Est, Lav, Lit, Cat, Tur, Ind, Vie, Rus, Ukr, Ell, Ara, Heb, Pes, Urd, Hin, Ben,
        Tha, Cmn, Jpn, Kor,
    ])
});

/// Frequent English function words that are rare as words in other languages. Words shared
/// with common European languages ("in", "is", "on", "as", "die", "he") are left out.
const ENGLISH_MARKERS: &str = "the of and to said for that with by from has have will its were \
    are would which this they their been it was but not had after about who also";

/// Frequent English words of news and business copy, and the wire abbreviations of tables of
/// results ("Shr 34 cts vs 22 cts"), again without words that other languages spell the same
/// way ("total", "record", "bank", "profit", "net", "per", "police").
const ENGLISH_WORDS: &str = "if we she his him them there what when where how any some more \
    most only into out up down off than then now new can could should may might must does did \
    being our you your yes one two three four five seven eight nine first third next year years \
    week weeks month months day days today yesterday time people government officials official \
    country state states world city told says say saying added according since while during \
    before against between because however expected expects market markets company companies \
    shares share price prices priced percent rose fell higher lower high low rate rates growth \
    economy economic trade trading oil banks billion million analysts investors interest close \
    closing opening bid offer offered offering issue issued following based reported results \
    estimated estimate current previous ended ending operations operating extraordinary \
    discontinued adjusted restated respectively owned business underwriting securities cash \
    board agreement agreed plans deal talks meeting policy money supply output demand exports \
    imports corn sugar coffee cocoa silver copper barrels bushels shipment shipments foreign \
    british japanese french german corp inc ltd group unit units full trust investment industry \
    financial chairman spokesman statement announced increase increased rise drop cut cuts \
    raised raise sharply slightly around nearly almost further again well such many much very \
    made make take taken given give set put get going called used little small short \
    early late later end each both same own back away loss losses earnings income quarter pay \
    payable payment includes include including excludes exclude excluding tax pretax prior \
    stocks debt loan loans bond bonds futures exchange dealers april march january february \
    june july october vs dlrs dlr mln bln cts ct shr shrs qtr qtly mths oper div revs stg nil";

/// Frequent German function words that no other allowed language writes the same way ("die"
/// and "der" are Dutch and Danish words too).
const GERMAN_MARKERS: &str = "und ist nicht mit von sich auf eine einen einer einem ein auch \
    wird wurde werden für bei nach zu im zum zur über dass oder aber hat haben sind noch sagte";

/// The same for French ("la", "le", "de", "il" are shared with Spanish, Italian, Catalan).
const FRENCH_MARKERS: &str = "des du et est une dans pour pas qui sur au aux avec par cette \
    sont ont été elle ils mais leur selon ses";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    /// One of [`ENGLISH_MARKERS`].
    English,
    /// One of [`ENGLISH_WORDS`].
    EnglishWord,
    German,
    French,
}

/// Longest marker word in bytes; longer words are not looked up.
const MAX_MARKER_BYTES: usize = 16;

/// A word as a table key: its lowercase UTF-8 bytes, zero-padded to [`MAX_MARKER_BYTES`]
/// (letters are never zero bytes, so the padding cannot make two words equal).
type WordKey = u128;

/// The key of an already lowercased word, if it is short enough to be a marker.
fn word_key(lower: &[u8]) -> Option<WordKey> {
    let mut buf = [0u8; MAX_MARKER_BYTES];
    buf.get_mut(..lower.len())?.copy_from_slice(lower);
    Some(WordKey::from_le_bytes(buf))
}

/// The marker words in an open-addressing table keyed by [`WordKey`]: one probe per word of
/// the sample, and a key comparison settles a match without comparing bytes.
struct MarkerTable {
    /// (key, marker); key 0 marks an empty slot. The length is a power of two.
    slots: Vec<(WordKey, Marker)>,
    /// log2 of the length.
    bits: u32,
}

static MARKERS: std::sync::LazyLock<MarkerTable> = std::sync::LazyLock::new(|| {
    let lists = [
        (ENGLISH_MARKERS, Marker::English),
        (ENGLISH_WORDS, Marker::EnglishWord),
        (GERMAN_MARKERS, Marker::German),
        (FRENCH_MARKERS, Marker::French),
    ];
    let words: Vec<(&'static str, Marker)> = lists
        .iter()
        .flat_map(|&(list, marker)| list.split_whitespace().map(move |w| (w, marker)))
        .collect();
    let size = (words.len() * 4).next_power_of_two();
    let mut table = MarkerTable {
        slots: vec![(0, Marker::English); size],
        bits: size.trailing_zeros(),
    };
    for (word, marker) in words {
        // Every listed word is lowercase and short enough (see the tests).
        let Some(key) = word_key(word.as_bytes()) else {
            continue;
        };
        let mut i = table.home(key);
        // A word listed twice keeps its first marker.
        while table.slots[i].0 != 0 && table.slots[i].0 != key {
            i = (i + 1) & (size - 1);
        }
        if table.slots[i].0 == 0 {
            table.slots[i] = (key, marker);
        }
    }
    table
});

impl MarkerTable {
    /// The first slot probed for `key`.
    fn home(&self, key: WordKey) -> usize {
        let mixed = (key as u64) ^ ((key >> 64) as u64).rotate_left(29);
        (mixed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - self.bits)) as usize
    }

    fn get(&self, key: WordKey) -> Option<Marker> {
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        loop {
            let (k, marker) = self.slots[i];
            if k == key {
                return Some(marker);
            }
            if k == 0 {
                return None;
            }
            i = (i + 1) & mask;
        }
    }
}

/// The ASCII letters starting at `start` (which is one): where they end, and their lowercase
/// key when there are at most [`MAX_MARKER_BYTES`] of them.
fn ascii_word(bytes: &[u8], start: usize) -> (usize, Option<WordKey>) {
    let mut i = start;
    // The key's low and high eight bytes.
    let (mut low, mut high) = (0u64, 0u64);
    loop {
        let x = load8(bytes, i);
        let letters = letter_bits(x);
        // Letters lowercase: 0x80 shifted down to 0x20 on every letter byte.
        let lower = x | (letters >> 2);
        let stop = !letters & HIGH_BITS;
        let run = (stop.trailing_zeros() / 8) as usize;
        let kept = if run >= 8 {
            lower
        } else {
            lower & ((1u64 << (8 * run)) - 1)
        };
        match i - start {
            0 => low = kept,
            8 => high = kept,
            _ => {}
        }
        i += run.min(8);
        if run < 8 {
            break;
        }
    }
    let key =
        (i - start <= MAX_MARKER_BYTES).then(|| WordKey::from(low) | (WordKey::from(high) << 64));
    (i, key)
}

/// The key of a word with non-ASCII letters, lowercased character by character.
fn lowercase_key(word: &str) -> Option<WordKey> {
    let mut buf = [0u8; MAX_MARKER_BYTES];
    let mut n = 0;
    for c in word.chars().flat_map(char::to_lowercase) {
        let dst = buf.get_mut(n..n + c.len_utf8())?;
        c.encode_utf8(dst);
        n += c.len_utf8();
    }
    word_key(&buf[..n])
}

/// English markers that satisfy the first rule of [`Votes::settled`] however many words
/// follow (at most 101 count): the smallest count with `english * 100 >= 101 * 18`.
const SURELY_ENGLISH: usize = (101 * 18usize).div_ceil(100);

/// What one pass over a sample counts: its letters (until there are enough to detect), and
/// marker words among its first hundred words (a hundred words settle it either way).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Votes {
    letters: usize,
    /// Words seen, up to 101 (the word that ends the count is included).
    words: usize,
    english: usize,
    english_words: usize,
    german: usize,
    french: usize,
}

impl Votes {
    fn count(sample: &str) -> Votes {
        let markers = &*MARKERS;
        let mut votes = Votes::default();
        let bytes = sample.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            // Eight ASCII bytes at once: skip what is not a letter, and take a word that ends
            // inside them (followed by an ASCII non-letter) without looking at it again.
            let x = load8(bytes, i);
            if x & HIGH_BITS == 0 {
                let letters = letter_bits(x);
                if letters == 0 {
                    i += 8;
                    continue;
                }
                let skip = (letters.trailing_zeros() / 8) as usize;
                let run = leading_run(letters >> (8 * skip));
                i += skip;
                if skip + run < 8 {
                    let key = low_bytes((x >> (8 * skip)) | LOWER_BITS, run);
                    votes.letters += run;
                    votes.word(markers, run, || Some(WordKey::from(key)));
                    i += run;
                    if votes.done() {
                        break;
                    }
                    continue;
                }
            }
            let (next, counted) = votes.step(markers, sample, i);
            i = next;
            if counted && votes.done() {
                break;
            }
        }
        votes
    }

    /// One step from `i`, where no eight-byte shortcut applies: past a word (counted) or past
    /// one character that starts none. The next position, and whether a word was counted.
    fn step(&mut self, markers: &MarkerTable, sample: &str, i: usize) -> (usize, bool) {
        let bytes = sample.as_bytes();
        let b = bytes[i];
        let start = i;
        if b.is_ascii_alphabetic() {
            let (end, key) = ascii_word(bytes, start);
            self.letters += end - start;
            // Only a non-ASCII character can go on with the word.
            let goes_on = bytes.get(end).is_some_and(|b| !b.is_ascii())
                && sample[end..]
                    .chars()
                    .next()
                    .is_some_and(char::is_alphabetic);
            if goes_on {
                // The word goes on with other letters.
                let end = self.scan_word(sample, end);
                self.word(markers, end - start, || lowercase_key(&sample[start..end]));
                return (end, true);
            }
            self.word(markers, end - start, || key);
            return (end, true);
        }
        if b.is_ascii() {
            return (i + 1, false);
        }
        let c = sample[i..].chars().next().unwrap_or(' ');
        if !c.is_alphabetic() {
            return (i + c.len_utf8(), false);
        }
        let end = self.scan_word(sample, i);
        self.word(markers, end - start, || lowercase_key(&sample[start..end]));
        (end, true)
    }

    /// Whether the rest of the sample cannot change anything. Only a word changes the counts;
    /// past the hundredth word only the letter count still matters, and only until it reaches
    /// the minimum.
    #[inline(always)]
    fn done(&self) -> bool {
        (self.english >= SURELY_ENGLISH || self.words > 100) && self.letters >= MIN_DETECT_BYTES
    }

    /// Count the letters of the word going on at byte `i`; returns where it ends.
    fn scan_word(&mut self, sample: &str, mut i: usize) -> usize {
        for c in sample[i..].chars() {
            if !c.is_alphabetic() {
                break;
            }
            self.letters += 1;
            i += c.len_utf8();
        }
        i
    }

    /// One word of `len` bytes; `key` gives its [`WordKey`] (asked only for words that can
    /// still count).
    fn word(&mut self, markers: &MarkerTable, len: usize, key: impl FnOnce() -> Option<WordKey>) {
        if self.words > 100 {
            return;
        }
        self.words += 1;
        if self.words > 100 || len > MAX_MARKER_BYTES {
            return;
        }
        let marker = key().and_then(|k| markers.get(k));
        match marker {
            Some(Marker::English) => self.english += 1,
            Some(Marker::EnglishWord) => self.english_words += 1,
            Some(Marker::German) => self.german += 1,
            Some(Marker::French) => self.french += 1,
            None => {}
        }
    }

    /// Whether the rest of the sample cannot change the verdict: enough English markers for
    /// the first rule of [`Votes::settled`] however many words follow (at most 101 count),
    /// and enough letters to detect at all.
    #[cfg(test)]
    fn surely_english(&self) -> bool {
        self.english * 100 >= 101 * 18 && self.english >= 4 && self.letters >= MIN_DETECT_BYTES
    }

    /// The language the marker words leave no doubt about, if any.
    ///
    /// - English function words are a fifth of the words of English prose and rare anywhere
    ///   else: a large share settles it, and so does a smaller one that no other language's
    ///   markers come near.
    /// - English tables of results and prices carry few function words but are made of common
    ///   English words and wire abbreviations ("Shr 34 cts vs 22 cts").
    /// - German and French prose have their own frequent function words.
    ///
    /// Everything else (other languages, mixed or word-poor text) is left to whatlang.
    fn settled(&self) -> Option<&'static str> {
        let words = self.words;
        let english = self.english;
        let others = self.german + self.french;
        if english >= 4 && english * 100 >= words * 18 {
            return Some("en");
        }
        if english >= 5 && english * 100 >= words * 9 && others * 4 <= english {
            return Some("en");
        }
        let german = self.german;
        if german >= 4 && german * 100 >= words * 12 && (english + self.french) * 4 <= german {
            return Some("de");
        }
        let french = self.french;
        if french >= 4 && french * 100 >= words * 12 && (english + self.german) * 4 <= french {
            return Some("fr");
        }
        let common = english + self.english_words;
        if common >= 4 && common * 100 >= words * 35 && others * 4 <= common {
            return Some("en");
        }
        None
    }
}

/// The text detection looks at: a mixed-case headline and the prose paragraphs (tables of
/// figures and all-caps wire slugs say nothing about the language and mislead trigrams).
pub(crate) fn sample<'a>(
    headline: Option<&str>,
    paragraphs: impl Iterator<Item = &'a str>,
) -> String {
    let mut sample = String::with_capacity(MAX_DETECT_BYTES + 64);
    let has_lowercase = |h: &str| {
        if h.is_ascii() {
            has_ascii_lowercase(h.as_bytes())
        } else {
            h.chars().any(char::is_lowercase)
        }
    };
    if let Some(h) = headline.filter(|h| has_lowercase(h)) {
        sample.push_str(h);
        sample.push_str(". ");
    }
    for p in paragraphs {
        if sample.len() >= MAX_DETECT_BYTES {
            break;
        }
        sample.push_str(p);
        sample.push(' ');
    }
    sample
}

/// Whether any byte is a lowercase ASCII letter, eight bytes at a time (wire headlines are
/// capitals from end to end).
fn has_ascii_lowercase(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(8);
    let lower = |x: u64| in_range_bits(x, b'a', b'z') != 0;
    chunks.any(|c| lower(load8(c, 0))) || lower(load8(chunks.remainder(), 0))
}

fn prefix_at_char_boundary(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    // Stop at a word boundary so the last trigram is not a fragment.
    match s[..end].rfind(' ') {
        Some(i) if i > max / 2 => &s[..i],
        _ => &s[..end],
    }
}

/// ISO 639-3 (as whatlang reports, and as some feeds send) to ISO 639-1.
fn iso639_1(code: &str) -> Option<&'static str> {
    Some(match code {
        "afr" => "af",
        "aka" => "ak",
        "amh" => "am",
        "ara" => "ar",
        "aze" => "az",
        "bel" => "be",
        "ben" => "bn",
        "bul" => "bg",
        "cat" => "ca",
        "ces" | "cze" => "cs",
        "cmn" | "zho" | "chi" => "zh",
        "cym" | "wel" => "cy",
        "dan" => "da",
        "deu" | "ger" => "de",
        "ell" | "gre" => "el",
        "eng" => "en",
        "epo" => "eo",
        "est" => "et",
        "fin" => "fi",
        "fra" | "fre" => "fr",
        "guj" => "gu",
        "heb" => "he",
        "hin" => "hi",
        "hrv" => "hr",
        "hun" => "hu",
        "hye" | "arm" => "hy",
        "ind" => "id",
        "ita" => "it",
        "jav" => "jv",
        "jpn" => "ja",
        "kan" => "kn",
        "kat" | "geo" => "ka",
        "khm" => "km",
        "kor" => "ko",
        "lat" => "la",
        "lav" => "lv",
        "lit" => "lt",
        "mal" => "ml",
        "mar" => "mr",
        "mkd" | "mac" => "mk",
        "mya" | "bur" => "my",
        "nep" => "ne",
        "nld" | "dut" => "nl",
        "nob" => "nb",
        "ori" => "or",
        "pan" => "pa",
        "pes" | "fas" | "per" => "fa",
        "pol" => "pl",
        "por" => "pt",
        "ron" | "rum" => "ro",
        "rus" => "ru",
        "sin" => "si",
        "slk" | "slo" => "sk",
        "slv" => "sl",
        "sna" => "sn",
        "spa" => "es",
        "srp" => "sr",
        "swe" => "sv",
        "tam" => "ta",
        "tel" => "te",
        "tgl" => "tl",
        "tha" => "th",
        "tuk" => "tk",
        "tur" => "tr",
        "ukr" => "uk",
        "urd" => "ur",
        "uzb" => "uz",
        "vie" => "vi",
        "yid" => "yi",
        "zul" => "zu",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        assert_eq!(normalise_tag("EN").as_deref(), Ok("en"));
        assert_eq!(normalise_tag("en_gb").as_deref(), Ok("en-GB"));
        assert_eq!(normalise_tag("en-GB").as_deref(), Ok("en-GB"));
        assert_eq!(normalise_tag("ZH-hant-tw").as_deref(), Ok("zh-Hant-TW"));
        assert_eq!(normalise_tag("eng").as_deref(), Ok("en"));
        assert_eq!(normalise_tag("es-419").as_deref(), Ok("es-419"));
        assert!(normalise_tag("English").is_err());
        assert!(normalise_tag("").is_err());
        assert!(normalise_tag("en--GB").is_err());
    }

    #[test]
    fn detects_common_languages() {
        let en = "The central bank raised interest rates on Tuesday, saying inflation \
                  remained too high for comfort and that further increases were possible. \
                  The decision was expected by most of the economists polled by the agency.";
        let de = "Die Zentralbank hat am Dienstag die Zinsen erhöht und erklärt, die \
                  Inflation sei weiterhin zu hoch und weitere Erhöhungen seien möglich.";
        let es = "El banco central subió el martes los tipos de interés y dijo que la \
                  inflación seguía siendo demasiado alta y que habría más subidas.";
        assert_eq!(detect(en), Some("en"));
        assert_eq!(settled(en), Some("en"));
        assert_eq!(detect(de), Some("de"));
        assert_eq!(settled(de), Some("de"));
        // Spanish is left to whatlang.
        assert_eq!(detect(es), Some("es"));
        assert_eq!(settled(es), None);
        let fr = "La banque centrale a relevé mardi ses taux d'intérêt, estimant que \
                  l'inflation restait trop élevée et que d'autres hausses étaient possibles.";
        assert_eq!(detect(fr), Some("fr"));
        // Few markers: whatlang decides.
        assert_eq!(settled(fr), None);
        let fr = "Le gouvernement a annoncé mardi qu'il allait réduire les impôts des ménages, \
                  selon un communiqué publié dans la soirée. Les syndicats ont dénoncé une \
                  mesure qui ne profite pas aux plus modestes et qui sera financée par des \
                  économies sur les dépenses publiques.";
        assert_eq!(settled(fr), Some("fr"));
        assert_eq!(detect(fr), Some("fr"));
        let it = "La banca centrale ha alzato martedì i tassi di interesse, affermando che \
                  l'inflazione resta troppo alta e che sono possibili ulteriori rialzi.";
        assert_eq!(detect(it), Some("it"));
        assert_eq!(settled(it), None);
    }

    /// What the markers settle, checked against what whatlang says when it is sure.
    fn settled(sample: &str) -> Option<&'static str> {
        let settled = Votes::count(sample).settled();
        if let (Some(lang), Some(info)) = (settled, DETECTOR.detect(sample)) {
            if info.is_reliable() {
                assert_eq!(iso639_1(info.lang().code()), Some(lang), "{sample}");
            }
        }
        settled
    }

    #[test]
    fn english_tables_settle_without_trigrams() {
        let results = "Shr 34 cts vs 22 cts Net 1,234,000 vs 987,000 Revs 12.3 mln vs \
                       11.1 mln Nine mths Shr 98 cts vs 71 cts";
        assert_eq!(settled(results), Some("en"));
        assert_eq!(detect(results), Some("en"));
        let prices = "Silver up 15.0 cts per oz Copper up 0.15 cts per lb Gold (Comex) up \
                      2.00 dlrs per oz Sugar 11 off 0.09 cts per lb Coffee c up 0.26 cts per lb";
        assert_eq!(detect(prices), Some("en"));
        // German figures with an English "vs" are not English.
        let german = "Umsatz 12,3 Mio Euro vs 11,1 Mio Euro, Gewinn je Aktie 1,20 Euro vs \
                      0,95 Euro, Dividende unverändert";
        assert_ne!(settled(german), Some("en"));
    }

    #[test]
    fn marker_words_are_unique_per_language() {
        let lists = [
            ENGLISH_MARKERS,
            ENGLISH_WORDS,
            GERMAN_MARKERS,
            FRENCH_MARKERS,
        ];
        let mut seen = std::collections::HashSet::new();
        for list in lists {
            for w in list.split_whitespace() {
                assert!(seen.insert(w), "{w} listed twice");
                assert!(w.len() <= MAX_MARKER_BYTES, "{w}");
                assert_eq!(w, w.to_lowercase(), "{w}");
            }
        }
    }

    /// [`Votes::count`] one [`Votes::step`] at a time, without the eight-byte steps, and with
    /// the stop rule written out rather than [`Votes::done`].
    fn count_bytewise(sample: &str) -> Votes {
        let markers = &*MARKERS;
        let mut votes = Votes::default();
        let mut i = 0;
        while i < sample.len() {
            let (next, counted) = votes.step(markers, sample, i);
            i = next;
            if counted
                && (votes.english >= SURELY_ENGLISH || votes.words > 100)
                && votes.letters >= MIN_DETECT_BYTES
            {
                break;
            }
        }
        votes
    }

    proptest::proptest! {
        #[test]
        fn eight_byte_steps_count_the_same(
            words in proptest::collection::vec(
                "(the|of|and|said|und|des|été|Über|für|cts|vs|[a-zA-Z]{1,20}|[0-9.,]{1,4}|\\PC{1,3})",
                0..160,
            ),
            seps in proptest::collection::vec("[ ,.\\n'0-9é\u{a0}-]{0,3}", 160),
        ) {
            let mut sample = String::new();
            for (w, sep) in words.iter().zip(&seps) {
                sample.push_str(w);
                sample.push_str(sep);
            }
            proptest::prop_assert_eq!(Votes::count(&sample), count_bytewise(&sample), "{:?}", sample);
        }
    }

    #[test]
    fn surely_english_threshold() {
        for english in 0..40 {
            let votes = Votes {
                english,
                letters: MIN_DETECT_BYTES,
                ..Votes::default()
            };
            assert_eq!(
                votes.surely_english(),
                english >= SURELY_ENGLISH,
                "{english}"
            );
        }
    }

    #[test]
    fn letter_bits_match_is_ascii_alphabetic() {
        for b in 0..=255u8 {
            for pos in 0..8 {
                let mut word = [b'1'; 8];
                word[pos] = b;
                let bits = letter_bits(u64::from_le_bytes(word));
                let expected = if b.is_ascii_alphabetic() {
                    0x80u64 << (8 * pos)
                } else {
                    0
                };
                assert_eq!(bits, expected, "{b:#x} at {pos}");
            }
        }
    }

    #[test]
    fn ascii_words_and_keys() {
        let key = |w: &str| word_key(w.to_lowercase().as_bytes());
        assert_eq!(ascii_word(b"The cat", 0), (3, key("the")));
        assert_eq!(ascii_word(b"The cat", 4), (7, key("cat")));
        assert_eq!(ascii_word(b"Yesterday,", 0), (9, key("yesterday")));
        assert_eq!(ascii_word(b"abcdefgh", 0), (8, key("abcdefgh")));
        let sixteen = "ABCDEFGHIJKLMNOP";
        assert_eq!(ascii_word(sixteen.as_bytes(), 0), (16, key(sixteen)));
        let long = "Abcdefghijklmnopq rest";
        assert_eq!(ascii_word(long.as_bytes(), 0), (17, None));
        // A non-ASCII byte ends the ASCII part.
        assert_eq!(ascii_word("für".as_bytes(), 0), (1, key("f")));
        assert_ne!(key("für"), key("fur"));
        assert_eq!(lowercase_key("FÜR"), key("für"));
        assert_eq!(lowercase_key("ÉTÉ"), key("été"));
        assert_eq!(MARKERS.get(key("über").unwrap_or(0)), Some(Marker::German));
        assert_eq!(MARKERS.get(key("said").unwrap_or(0)), Some(Marker::English));
        assert_eq!(MARKERS.get(key("saidx").unwrap_or(0)), None);
    }

    #[test]
    fn lowercase_found_anywhere() {
        for s in [
            "",
            "A",
            "a",
            "ABCDEFGH",
            "ABCDEFGHi",
            "ABCDEFGHIJKLMNOPz",
            "`{@[",
            "NY 10:30",
        ] {
            let expected = s.bytes().any(|b| b.is_ascii_lowercase());
            assert_eq!(has_ascii_lowercase(s.as_bytes()), expected, "{s:?}");
        }
    }

    #[test]
    fn sample_skips_caps_headlines() {
        let s = sample(Some("BAHIA COCOA REVIEW"), ["One.", "Two."].into_iter());
        assert_eq!(s, "One. Two. ");
        let s = sample(Some("Cocoa review"), ["One."].into_iter());
        assert_eq!(s, "Cocoa review. One. ");
    }

    #[test]
    fn too_short_is_none() {
        assert_eq!(detect("Shr 34 cts"), None);
        assert_eq!(
            detect("12,345 67,890 11.2 13.4 15.6 17.8 19,0 21.3 99"),
            None
        );
    }
}
