//! Datelines: `CAIRO: ...`, `SALVADOR, Feb 26 - ...`, `WASHINGTON (Reuters) - ...`,
//! `BEIRUT, Lebanon (AP) — ...`. The place must be in capitals unless an agency credit in
//! parentheses vouches for it, so an ordinary sentence such as "Note: the ..." never counts.

use super::credit::agency;
use super::text::clean_inline;

/// A dateline found at the start of a paragraph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    /// Place (and date when present), e.g. "SALVADOR, Feb 26".
    pub(crate) dateline: String,
    /// The agency in parentheses, canonical when known ("Reuters"), else as written.
    pub(crate) credit: Option<String>,
    /// Byte offset where the story text starts after the separator.
    pub(crate) rest: usize,
}

/// Separators between dateline and text, in the order they are tried at each position.
const SEPARATORS: [&str; 7] = [" -- ", " - ", " — ", " – ", " _ ", "—", ": "];

/// Capital words that open a paragraph with a colon or dash but are not places.
const NOT_PLACES: &[&str] = &[
    "BREAKING",
    "UPDATE",
    "UPDATED",
    "EXCLUSIVE",
    "ANALYSIS",
    "FACTBOX",
    "FACTBOX-",
    "WRAPUP",
    "REFILE",
    "CORRECTED",
    "CORRECTION",
    "NOTE",
    "EDITORS",
    "URGENT",
    "FLASH",
    "BULLETIN",
    "ADVISORY",
    "WATCH",
    "VIDEO",
    "PHOTOS",
    "LIVE",
    "OPINION",
    "COMMENTARY",
    "COMMENT",
    "BRIEF",
    "NEW",
    "ALERT",
    "Q",
    "A",
    "UPDATE 1",
    "UPDATE 2",
    "UPDATE 3",
    "TABLE",
];

/// Find a dateline at the start of `para`.
pub(crate) fn find(para: &str) -> Option<Found> {
    let window = &para[..floor_boundary(para, 90)];
    let (sep_at, sep) = first_separator(window)?;
    let prefix = para[..sep_at].trim();
    let rest = sep_at + sep.len();
    if prefix.is_empty() || para[rest..].trim().is_empty() {
        return None;
    }
    let parsed = parse_prefix(prefix, sep == ": ")?;
    let rest = rest + (para[rest..].len() - para[rest..].trim_start().len());
    Some(Found {
        dateline: parsed.0,
        credit: parsed.1,
        rest,
    })
}

/// Where the first of [`SEPARATORS`] starts, and which.
fn first_separator(window: &str) -> Option<(usize, &'static str)> {
    // They all start with ' ', ':' or '—', and the byte after a ' ' or ':' rules most places
    // out. A 0xE2 byte starts '—' (and other characters, which no separator matches).
    let bytes = window.as_bytes();
    (0..bytes.len()).find_map(|i| {
        let next = bytes.get(i + 1).copied();
        let candidate = match bytes[i] {
            b' ' => matches!(next, Some(b'-' | b'_' | 0xE2)),
            b':' => next == Some(b' '),
            b => b == 0xE2,
        };
        if !candidate {
            return None;
        }
        SEPARATORS
            .iter()
            .find(|s| bytes[i..].starts_with(s.as_bytes()))
            .map(|s| (i, *s))
    })
}

fn floor_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    end
}

/// Split "PLACE, Region, Feb 26 (Reuters)" into ("PLACE, Region, Feb 26", Some("Reuters")).
fn parse_prefix(prefix: &str, colon: bool) -> Option<(String, Option<String>)> {
    let (body, credit) = match (prefix.rfind('('), prefix.ends_with(')')) {
        (Some(open), true) => {
            let inner = prefix[open + 1..prefix.len() - 1].trim();
            let credit = agency(inner).map(str::to_owned).or_else(|| {
                let plausible = (1..=30).contains(&inner.len())
                    && inner.chars().next().is_some_and(char::is_uppercase)
                    && inner.split_whitespace().count() <= 3;
                plausible.then(|| inner.to_owned())
            })?;
            (prefix[..open].trim_end(), Some(credit))
        }
        _ => (prefix, None),
    };
    if body.is_empty() || body.contains(['(', ')', '"', '“', '”']) {
        return None;
    }
    let parts: Vec<&str> = body.split(',').map(str::trim).collect();
    let place = parts[0];
    if !is_place(place, credit.is_some()) {
        return None;
    }
    let mut seen_date = false;
    for (i, part) in parts.iter().enumerate().skip(1) {
        if seen_date {
            // Only a year may follow the date.
            if !(part.len() == 4 && part.bytes().all(|b| b.is_ascii_digit()))
                || i + 1 != parts.len()
            {
                return None;
            }
        } else if is_date(part) {
            seen_date = true;
        } else if !is_region(part) {
            return None;
        }
    }
    // "CAIRO: ..." yes; "LONDON, Feb 26: ..." is not a style anyone uses.
    if colon && (parts.len() > 1 || credit.is_some()) {
        return None;
    }
    Some((clean_inline(&parts.join(", ")), credit))
}

fn is_place(place: &str, vouched: bool) -> bool {
    let words: Vec<&str> = place.split_whitespace().collect();
    if words.is_empty() || words.len() > 4 || place.len() > 40 {
        return false;
    }
    if place.bytes().any(|b| b.is_ascii_digit()) {
        return false;
    }
    let letters = place.chars().filter(|c| c.is_alphabetic()).count();
    if letters < 2
        || !place
            .chars()
            .all(|c| c.is_alphabetic() || " .'-/&".contains(c))
    {
        return false;
    }
    if NOT_PLACES.contains(&place) {
        return false;
    }
    let all_caps = !place.chars().any(char::is_lowercase);
    if all_caps {
        return true;
    }
    vouched
        && words
            .iter()
            .all(|w| w.chars().next().is_some_and(char::is_uppercase))
}

/// "Feb 26", "Feb. 26", "March 3", "26 Feb", "Jan 1 2024".
fn is_date(part: &str) -> bool {
    let words: Vec<&str> = part.split_whitespace().collect();
    if !(2..=3).contains(&words.len()) {
        return false;
    }
    let is_day = |w: &str| {
        (1..=2).contains(&w.len())
            && w.bytes().all(|b| b.is_ascii_digit())
            && w.parse::<u32>().is_ok_and(|d| (1..=31).contains(&d))
    };
    let is_month = |w: &str| {
        let w = w.trim_end_matches('.').to_ascii_lowercase();
        w.len() >= 3
            && (super::time::MONTHS
                .iter()
                .any(|m| m.starts_with(w.as_str()))
                || w == "sept")
    };
    let year_ok = words.len() == 2 || {
        let y = words[2];
        y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit())
    };
    year_ok
        && ((is_month(words[0]) && is_day(words[1])) || (is_day(words[0]) && is_month(words[1])))
}

/// "Lebanon", "Calif.", "N.J.", "Alberta", "Ind.", "New South Wales".
fn is_region(part: &str) -> bool {
    let words: Vec<&str> = part.split_whitespace().collect();
    !words.is_empty()
        && words.len() <= 3
        && part.len() <= 30
        && part
            .chars()
            .all(|c| c.is_alphabetic() || " .'-".contains(c))
        && words
            .iter()
            .all(|w| w.chars().next().is_some_and(char::is_uppercase))
}

/// A dateline the payload gave: trailing dashes/colons and an "(Agency)" credit removed.
pub(crate) fn clean_given(raw: &str) -> (Option<String>, Option<String>) {
    let cleaned = clean_inline(raw);
    let trim = |s: &str| {
        s.trim_end_matches(|c: char| c.is_whitespace() || "-—–_:,".contains(c))
            .to_owned()
    };
    let mut s = trim(&cleaned);
    let mut credit = None;
    if s.ends_with(')') {
        if let Some(open) = s.rfind('(') {
            let inner = s[open + 1..s.len() - 1].trim().to_owned();
            if let Some(a) = agency(&inner) {
                credit = Some(a.to_owned());
                s = trim(&s[..open]);
            }
        }
    }
    ((!s.is_empty()).then_some(s), credit)
}

/// The place part of a dateline ("SALVADOR" of "SALVADOR, Feb 26").
pub(crate) fn place(dateline: &str) -> &str {
    dateline.split(',').next().unwrap_or(dateline).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`first_separator`] character by character.
    fn first_separator_by_chars(window: &str) -> Option<(usize, &'static str)> {
        window.char_indices().find_map(|(i, c)| {
            if !matches!(c, ' ' | ':' | '—') {
                return None;
            }
            let tail = &window[i..];
            SEPARATORS
                .iter()
                .find(|s| tail.starts_with(**s))
                .map(|s| (i, *s))
        })
    }

    proptest::proptest! {
        #[test]
        fn separator_scan_by_bytes_agrees(
            parts in proptest::collection::vec("([A-Z]{1,5}|[ :_—–-]|--| |é|\u{2010}|\u{20ac}|\\PC)", 0..30)
        ) {
            let window: String = parts.concat();
            proptest::prop_assert_eq!(
                first_separator(&window),
                first_separator_by_chars(&window),
                "{:?}",
                window
            );
        }
    }

    fn found(p: &str) -> Option<(String, Option<String>, String)> {
        find(p).map(|f| (f.dateline, f.credit, p[f.rest..].to_owned()))
    }

    #[test]
    fn shapes() {
        assert_eq!(
            found("CAIRO: Iraqi Foreign Minister Fuad Hussein said."),
            Some((
                "CAIRO".into(),
                None,
                "Iraqi Foreign Minister Fuad Hussein said.".into()
            ))
        );
        assert_eq!(
            found("SALVADOR, Feb 26 - Showers continued"),
            Some(("SALVADOR, Feb 26".into(), None, "Showers continued".into()))
        );
        assert_eq!(
            found("WASHINGTON (Reuters) - The Senate"),
            Some((
                "WASHINGTON".into(),
                Some("Reuters".into()),
                "The Senate".into()
            ))
        );
        assert_eq!(
            found("LONDON, March 3 (AP) — Prices rose"),
            Some((
                "LONDON, March 3".into(),
                Some("AP".into()),
                "Prices rose".into()
            ))
        );
        assert_eq!(
            found("BEIRUT, Lebanon (AP) — Israeli jets"),
            Some((
                "BEIRUT, Lebanon".into(),
                Some("AP".into()),
                "Israeli jets".into()
            ))
        );
        assert_eq!(
            found("SANTA CRUZ, Calif., Feb 26 - Cobanco Inc said"),
            Some((
                "SANTA CRUZ, Calif., Feb 26".into(),
                None,
                "Cobanco Inc said".into()
            ))
        );
        assert_eq!(
            found("Washington (Reuters) - The Senate").map(|f| f.0),
            Some("Washington".into())
        );
    }

    #[test]
    fn not_datelines() {
        assert_eq!(found("Note: the figures are provisional."), None);
        assert_eq!(found("Iraq: a country in turmoil, said X."), None);
        assert_eq!(found("BREAKING: Markets fall"), None);
        assert_eq!(found("The dollar - the market's concern - rose"), None);
        assert_eq!(found("Shr 34 cts vs 1.19 dlrs"), None);
        assert_eq!(found("NEW YORK: "), None);
    }

    #[test]
    fn given() {
        assert_eq!(
            clean_given("SALVADOR, Feb 26 -"),
            (Some("SALVADOR, Feb 26".into()), None)
        );
        assert_eq!(
            clean_given(" WASHINGTON (Reuters) - "),
            (Some("WASHINGTON".into()), Some("Reuters".into()))
        );
        assert_eq!(clean_given(" - "), (None, None));
    }
}
