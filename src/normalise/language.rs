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

/// Frequent English function words that are rare as words in other languages. Words shared
/// with common European languages ("in", "is", "on", "as", "die", "he") are left out.
const ENGLISH_MARKERS: &[&str] = &[
    "the", "of", "and", "to", "said", "for", "that", "with", "by", "from", "has", "have", "will",
    "its", "were", "are", "would", "which", "this", "they", "their", "been", "it", "was", "but",
    "not", "had", "after", "about", "who", "also",
];

/// Detect the language of a sample; `None` when it is too short or the guess unreliable.
///
/// whatlang scores every language of the script, which costs tens of microseconds per story.
/// Text where these English function words make up a large share of the words cannot be
/// anything else, so it is answered directly; everything else goes to whatlang.
pub(crate) fn detect(sample: &str) -> Option<&'static str> {
    let sample = prefix_at_char_boundary(sample, MAX_DETECT_BYTES);
    let letters = sample.chars().filter(|c| c.is_alphabetic()).count();
    if letters < MIN_DETECT_BYTES {
        return None;
    }
    if is_plainly_english(sample) {
        return Some("en");
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

fn is_plainly_english(sample: &str) -> bool {
    let mut words = 0usize;
    let mut hits = 0usize;
    for w in sample.split(|c: char| !c.is_alphabetic()) {
        if w.is_empty() {
            continue;
        }
        words += 1;
        // A hundred words settle it either way.
        if words > 100 {
            break;
        }
        if w.len() <= 5 && w.is_ascii() {
            let mut buf = [0u8; 5];
            buf[..w.len()].copy_from_slice(w.as_bytes());
            buf.make_ascii_lowercase();
            if ENGLISH_MARKERS.contains(&std::str::from_utf8(&buf[..w.len()]).unwrap_or("")) {
                hits += 1;
            }
        }
    }
    hits >= 4 && hits * 100 >= words * 18
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
        assert!(is_plainly_english(en));
        assert_eq!(detect(de), Some("de"));
        assert!(!is_plainly_english(de));
        assert_eq!(detect(es), Some("es"));
        assert!(!is_plainly_english(es));
        let fr = "La banque centrale a relevé mardi ses taux d'intérêt, estimant que \
                  l'inflation restait trop élevée et que d'autres hausses étaient possibles.";
        assert_eq!(detect(fr), Some("fr"));
        assert!(!is_plainly_english(fr));
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
