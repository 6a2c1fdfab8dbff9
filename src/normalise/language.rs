//! Language tags: normalise what the payload says (`EN`, `en_gb` -> `en`, `en-GB`), detect
//! with `whatlang` when it says nothing, and stay silent when detection is unreliable.

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

/// The marker words in an open-addressing table keyed by FNV-1a of the lower-case word:
/// one probe per word of the sample.
struct MarkerTable {
    /// (hash, word, marker); hash 0 marks an empty slot. The length is a power of two.
    slots: Vec<(u64, &'static str, Marker)>,
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
    let mut slots = vec![(0, "", Marker::English); size];
    for (word, marker) in words {
        let hash = word_hash(word.as_bytes());
        let mut i = (hash as usize) & (size - 1);
        // A word listed twice keeps its first marker.
        while slots[i].0 != 0 && slots[i].1 != word {
            i = (i + 1) & (size - 1);
        }
        if slots[i].0 == 0 {
            slots[i] = (hash, word, marker);
        }
    }
    MarkerTable { slots }
});

impl MarkerTable {
    /// The marker of a word whose [`word_hash`] is `hash`, ignoring ASCII case (other
    /// letters come lowercased).
    fn get(&self, hash: u64, word: &[u8]) -> Option<Marker> {
        let mask = self.slots.len() - 1;
        let mut i = (hash as usize) & mask;
        loop {
            let (h, w, marker) = self.slots[i];
            if h == 0 {
                return None;
            }
            if h == hash && w.as_bytes().eq_ignore_ascii_case(word) {
                return Some(marker);
            }
            i = (i + 1) & mask;
        }
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

#[inline]
fn fnv_mix(h: u64, lower: u8) -> u64 {
    (h ^ u64::from(lower)).wrapping_mul(0x0000_0100_0000_01b3)
}

/// FNV-1a over the ASCII-lowercased bytes.
fn word_hash(word: &[u8]) -> u64 {
    word.iter()
        .fold(FNV_OFFSET, |h, &b| fnv_mix(h, b.to_ascii_lowercase()))
        .max(1)
}

/// What one pass over a sample counts: its letters, and marker words among its first hundred
/// words (a hundred words settle it either way).
#[derive(Debug, Default, Clone, Copy)]
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
            if votes.surely_english() {
                break;
            }
            let b = bytes[i];
            if b.is_ascii_alphabetic() {
                // An ASCII word, hashed as it is scanned (letters lowercase with one OR).
                let start = i;
                let mut h = FNV_OFFSET;
                while let Some(&b) = bytes.get(i).filter(|b| b.is_ascii_alphabetic()) {
                    h = fnv_mix(h, b | 0x20);
                    i += 1;
                }
                votes.letters += i - start;
                // Only a non-ASCII character can go on with the word.
                let goes_on = bytes.get(i).is_some_and(|b| !b.is_ascii())
                    && sample[i..].chars().next().is_some_and(char::is_alphabetic);
                if goes_on {
                    // The word goes on with other letters.
                    i = votes.scan_word(sample, i);
                    votes.word(markers, &sample[start..i], None);
                } else {
                    votes.word(markers, &sample[start..i], Some(h.max(1)));
                }
            } else if b.is_ascii() {
                i += 1;
            } else {
                let c = sample[i..].chars().next().unwrap_or(' ');
                if c.is_alphabetic() {
                    let start = i;
                    i = votes.scan_word(sample, i);
                    votes.word(markers, &sample[start..i], None);
                } else {
                    i += c.len_utf8();
                }
            }
        }
        votes
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

    /// One word; `ascii_hash` is its [`word_hash`] when it is ASCII.
    fn word(&mut self, markers: &MarkerTable, word: &str, ascii_hash: Option<u64>) {
        if self.words > 100 {
            return;
        }
        self.words += 1;
        if self.words > 100 || word.len() > MAX_MARKER_BYTES {
            return;
        }
        let marker = match ascii_hash {
            Some(hash) => markers.get(hash, word.as_bytes()),
            None => {
                let mut buf = [0u8; MAX_MARKER_BYTES];
                let mut n = 0;
                for c in word.chars().flat_map(char::to_lowercase) {
                    let Some(dst) = buf.get_mut(n..n + c.len_utf8()) else {
                        return;
                    };
                    c.encode_utf8(dst);
                    n += c.len_utf8();
                }
                markers.get(word_hash(&buf[..n]), &buf[..n])
            }
        };
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
    if let Some(h) = headline.filter(|h| h.chars().any(char::is_lowercase)) {
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
