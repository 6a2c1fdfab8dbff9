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

/// Detect the language of a text; `None` when the text is too short or the guess unreliable.
pub(crate) fn detect(headline: Option<&str>, body: &str) -> Option<&'static str> {
    let mut sample = String::with_capacity(MAX_DETECT_BYTES + 8);
    if let Some(h) = headline {
        // All-caps headlines (wire slugs) skew trigram counts; only mixed-case ones help.
        if h.chars().any(char::is_lowercase) {
            sample.push_str(h);
            sample.push_str(". ");
        }
    }
    let room = MAX_DETECT_BYTES.saturating_sub(sample.len());
    sample.push_str(prefix_at_char_boundary(body, room));
    let letters = sample.chars().filter(|c| c.is_alphabetic()).count();
    if sample.len() < MIN_DETECT_BYTES || letters * 2 < sample.len().min(MIN_DETECT_BYTES * 4) {
        return None;
    }
    let info = whatlang::detect(&sample)?;
    if !info.is_reliable() {
        return None;
    }
    iso639_1(info.lang().code())
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
                  remained too high for comfort and that further increases were possible.";
        let de = "Die Zentralbank hat am Dienstag die Zinsen erhöht und erklärt, die \
                  Inflation sei weiterhin zu hoch und weitere Erhöhungen seien möglich.";
        let es = "El banco central subió el martes los tipos de interés y dijo que la \
                  inflación seguía siendo demasiado alta y que habría más subidas.";
        assert_eq!(detect(None, en), Some("en"));
        assert_eq!(detect(None, de), Some("de"));
        assert_eq!(detect(None, es), Some("es"));
    }

    #[test]
    fn too_short_is_none() {
        assert_eq!(detect(None, "Shr 34 cts"), None);
        assert_eq!(detect(None, "12,345 67,890 11.2 13.4 15.6 17.8 19,0 21.3 99"), None);
    }
}
