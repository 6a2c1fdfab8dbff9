//! Page furniture: the menus, share buttons, captions, timestamps and "Most Popular" boxes a
//! scraper leaves around a story. Lines are matched whole against a lexicon (case-insensitive)
//! and a few shapes (bullets, photo credits, timestamp-only lines). Menu-like short lines are
//! only removed outside the story proper (before its first sentence, after its last), so real
//! short paragraphs inside the story stay.

use std::sync::LazyLock;

use super::credit::agency;
use super::lines::Line;
use super::time::timestamp_line;

/// Whole lines that are furniture wherever they appear (compared lowercased, with trailing
/// `:`/`|`/`»` and surrounding spaces ignored).
const LEXICON: &[&str] = &[
    "facebook",
    "twitter",
    "x (formerly twitter)",
    "instagram",
    "linkedin",
    "whatsapp",
    "telegram",
    "youtube",
    "pinterest",
    "reddit",
    "email",
    "e-mail",
    "print",
    "share",
    "share this",
    "share this article",
    "share this story",
    "share on facebook",
    "share on twitter",
    "tweet",
    "copy link",
    "link copied",
    "since 1975",
    "short url",
    "topics",
    "tags",
    "most popular",
    "most read",
    "most viewed",
    "recommended",
    "recommended for you",
    "related",
    "related articles",
    "related stories",
    "related news",
    "read more",
    "read also",
    "also read",
    "see also",
    "return to top",
    "back to top",
    "advertisement",
    "sponsored",
    "sponsored content",
    "comments",
    "leave a comment",
    "subscribe",
    "subscribe now",
    "sign up",
    "sign in",
    "log in",
    "login",
    "register",
    "menu",
    "search",
    "skip to content",
    "skip to main content",
    "newsletter",
    "follow us",
    "latest news",
    "latest",
    "trending",
    "trending now",
    "editor's picks",
    "editors' picks",
    "you may also like",
    "more from this section",
    "watch",
    "listen",
    "listen to this article",
    "video",
    "photos",
    "gallery",
    "loading...",
    "cookie policy",
    "privacy policy",
    "terms of use",
    "terms and conditions",
    "contact us",
    "about us",
    "all rights reserved",
];

/// Line beginnings that mark furniture (lowercase).
const PREFIXES: &[&str] = &[
    "short url:",
    "share this ",
    "share on ",
    "follow us on ",
    "sign up for ",
    "subscribe to ",
    "click here to ",
    "read more:",
    "read more about",
    "related:",
    "related coverage:",
    "also read:",
    "see also:",
    "copyright ©",
    "© ",
    "all rights reserved",
    "photo:",
    "photo by ",
    "photo credit:",
    "photograph:",
    "photo/",
    "image:",
    "image credit:",
    "picture:",
    "file photo",
    "pic:",
    "caption:",
];

/// [`PREFIXES`] by their first byte (lowercase): a line is compared only with the prefixes
/// that start like it.
static PREFIXES_BY_FIRST_BYTE: LazyLock<Vec<Vec<&'static str>>> = LazyLock::new(|| {
    let mut table = vec![Vec::new(); 256];
    for p in PREFIXES {
        if let Some(&b) = p.as_bytes().first() {
            table[usize::from(b)].push(*p);
        }
    }
    table
});

/// Words that, inside a trailing parenthesis, make a line a photo caption: "(AFP file photo)".
const CAPTION_WORDS: &[&str] = &["photo", "photos", "image", "picture", "pic", "file"];

/// Agencies whose name followed by `/` opens a photo credit ("Reuters/Ammar Awad").
const CREDIT_AGENCIES: &[&str] = &["reuters", "afp", "ap", "ap photo", "epa", "getty images"];

const BULLETS: &[char] = &[
    '•', '·', '▪', '■', '□', '◦', '●', '‣', '∙', '►', '▶', '›', '»', '*', '|',
];

/// [`LEXICON`] by length in bytes: a line is compared only with the entries as long as it.
/// Past the longest entry, nothing.
static LEXICON_BY_LEN: LazyLock<Vec<Vec<&'static [u8]>>> = LazyLock::new(|| {
    let longest = LEXICON.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut table = vec![Vec::new(); longest + 1];
    for entry in LEXICON {
        table[entry.len()].push(entry.as_bytes());
    }
    table
});

/// Why a line was dropped (only the kinds the rest of the normaliser cares about).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Furniture {
    Phrase,
    Caption,
    Timestamp,
}

/// The line without a leading bullet, if it has one.
pub(crate) fn strip_bullet(text: &str) -> Option<&str> {
    // The only ASCII bullets are '*' and '|': other ASCII starts need no character decoding.
    let first = *text.as_bytes().first()?;
    if first.is_ascii() && first != b'*' && first != b'|' {
        return None;
    }
    let rest = text.strip_prefix(BULLETS)?;
    // "*" and "|" only count as bullets when followed by a space ("*bold*" is not a list).
    if !rest.starts_with(' ') && (text.starts_with('*') || text.starts_with('|')) {
        return None;
    }
    Some(rest.trim_start())
}

/// Whether the line (trailing separators ignored) is a lexicon phrase, case-insensitively.
fn in_lexicon(text: &str) -> bool {
    // An ASCII last byte other than these ends the text as it is: no trimming to do.
    let t = match text.as_bytes().last() {
        Some(&b) if b.is_ascii() && !matches!(b, b':' | b'|' | b' ' | b'>') => text,
        _ => text.trim_end_matches([':', '|', '»', '›', ' ', '>']),
    };
    let by_len = &*LEXICON_BY_LEN;
    if t.is_empty() || t.len() >= by_len.len() {
        return false;
    }
    if t.is_ascii() {
        // Entries are lowercase: comparing ignoring ASCII case is comparing lowercased.
        return by_len[t.len()]
            .iter()
            .any(|e| e.eq_ignore_ascii_case(t.as_bytes()));
    }
    let lower = t.to_lowercase();
    by_len
        .get(lower.len())
        .is_some_and(|entries| entries.contains(&lower.as_bytes()))
}

fn starts_with_ci(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.is_char_boundary(prefix.len())
        && text[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Furniture wherever it appears: lexicon phrases, furniture prefixes, photo captions and
/// credits, timestamp-only lines.
pub(crate) fn classify(text: &str) -> Option<Furniture> {
    // Every pattern below is short: long paragraphs are story text.
    if text.len() > 300 {
        return None;
    }
    let text = strip_bullet(text).unwrap_or(text);
    if in_lexicon(text) {
        return Some(Furniture::Phrase);
    }
    let first = text.as_bytes().first().map_or(0, u8::to_ascii_lowercase);
    // Comparing the second byte first rules most prefixes out (all are lowercase, at least
    // two bytes long, and lowercasing leaves non-ASCII bytes alone).
    let second = text.as_bytes().get(1).map(u8::to_ascii_lowercase);
    let has_prefix = PREFIXES_BY_FIRST_BYTE[usize::from(first)]
        .iter()
        .any(|p| second == p.as_bytes().get(1).copied() && starts_with_ci(text, p));
    if has_prefix {
        return if starts_with_ci(text, "photo")
            || starts_with_ci(text, "image")
            || starts_with_ci(text, "pic")
            || starts_with_ci(text, "file photo")
            || starts_with_ci(text, "caption")
        {
            Some(Furniture::Caption)
        } else {
            Some(Furniture::Phrase)
        };
    }
    if is_caption(text) {
        return Some(Furniture::Caption);
    }
    if timestamp_line(text).is_some() {
        return Some(Furniture::Timestamp);
    }
    None
}

/// "Iraqi Foreign Minister Fuad Hussein. (AFP file photo)", "Reuters/Ammar Awad".
fn is_caption(text: &str) -> bool {
    if text.len() > 300 {
        return false;
    }
    // Both tests are cheap to rule out before searching the line.
    if text.ends_with(')') {
        if let Some(open) = text.rfind('(') {
            let inner = text[open + 1..text.len() - 1].to_lowercase();
            if inner.len() <= 60
                && inner
                    .split(|c: char| !c.is_alphanumeric())
                    .any(|w| CAPTION_WORDS.contains(&w))
            {
                return true;
            }
        }
    }
    // A credit starts with an agency name: r(euters), a(fp, p), e(pa), g(etty).
    let starts_agency = text
        .bytes()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| matches!(b | 0x20, b'r' | b'a' | b'e' | b'g') || !b.is_ascii());
    if text.len() > 80 || text.ends_with('.') || !starts_agency {
        return false;
    }
    agency_credit(text)
}

/// Whether the text up to its first slash is an agency name, spaces around it ignored. Read
/// from the start (the name, spaces, the slash: no name holds a slash) rather than searched.
fn agency_credit(text: &str) -> bool {
    let lead = text.trim_start();
    let first = lead.as_bytes().first().map_or(0, u8::to_ascii_lowercase);
    CREDIT_AGENCIES.iter().any(|a| {
        a.as_bytes()[0] == first
            && lead.len() >= a.len()
            && lead.as_bytes()[..a.len()].eq_ignore_ascii_case(a.as_bytes())
            && lead[a.len()..].trim_start().starts_with('/')
    })
}

/// A line that ends the way sentences end and is long enough to be story text.
pub(crate) fn is_prose(text: &str) -> bool {
    if text.len() >= 160 {
        return true;
    }
    let ends_sentence = text
        .trim_end_matches(['"', '\'', '”', '’', ')'])
        .ends_with(['.', '!', '?', '…']);
    ends_sentence && text.split_whitespace().nth(7).is_some()
}

/// Navigation-like: a few words, no sentence punctuation.
pub(crate) fn is_menu_like(text: &str) -> bool {
    let words = text.split_whitespace().count();
    words <= 4 && !text.ends_with(['.', '!', '?', '"', '”'])
}

/// Drops furniture lines wherever they are (lexicon phrases, captions, timestamp-only lines);
/// records the first timestamp seen. Runs on raw lines and again on rejoined paragraphs.
pub(crate) fn drop_phrases(lines: &mut [Line<'_>], scan: &mut Scan) {
    for line in lines.iter_mut().filter(|l| l.keep) {
        if let Some(kind) = classify(line.text) {
            line.keep = false;
            if kind == Furniture::Timestamp && scan.timestamp.is_none() {
                scan.timestamp = timestamp_line(line.text).map(str::to_owned);
            }
            scan.dropped_any = true;
        }
    }
}

/// For scraped pages, on paragraphs: find the story (first to last prose paragraph), drop
/// menus and bullets after it, and doubled paragraphs (a caption written twice) inside it.
pub(crate) fn mark_zones(paras: &mut [Line<'_>], scan: &mut Scan) {
    // Judged without a leading dateline, which the next step removes: a second pass must see
    // the same story bounds.
    let is_story =
        |text: &str| is_prose(super::dateline::find(text).map_or(text, |f| &text[f.rest..]));
    let first_story = paras.iter().position(|l| l.keep && is_story(l.text));
    let last_story = paras.iter().rposition(|l| l.keep && is_story(l.text));
    scan.header_end = first_story.unwrap_or(0);
    let (Some(first), Some(last)) = (first_story, last_story) else {
        return;
    };
    // Furniture already found, or bullets, make the outer zones look like a page.
    let page_like = scan.dropped_any
        || paras[..first]
            .iter()
            .chain(&paras[last + 1..])
            .any(|l| l.keep && strip_bullet(l.text).is_some());
    if page_like {
        for line in paras[last + 1..].iter_mut().filter(|l| l.keep) {
            // A bare agency name is a credit, left for the credit step to read.
            let credit = agency(line.text).is_some();
            if !credit && (strip_bullet(line.text).is_some() || is_menu_like(line.text)) {
                line.keep = false;
            }
        }
    }
    scan.page_like = page_like;
    let mut prev: Option<&str> = None;
    for line in paras[first..=last].iter_mut() {
        if !line.keep {
            continue;
        }
        if prev == Some(line.text) && !is_prose(line.text) {
            line.keep = false;
        } else {
            prev = Some(line.text);
        }
    }
}

/// What [`drop_phrases`] and [`mark_zones`] found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Index of the first story line; lines before it are the page header.
    pub(crate) header_end: usize,
    /// The first timestamp-only line (without any "Updated:" label).
    pub(crate) timestamp: Option<String>,
    pub(crate) dropped_any: bool,
    /// Whether the header and trailer look like page navigation.
    pub(crate) page_like: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexicon_and_prefixes() {
        assert_eq!(classify("facebook"), Some(Furniture::Phrase));
        assert_eq!(
            classify("  Most Popular"),
            None,
            "callers pass trimmed lines"
        );
        assert_eq!(classify("Most Popular"), Some(Furniture::Phrase));
        assert_eq!(classify("• Twitter"), Some(Furniture::Phrase));
        assert_eq!(
            classify("Short Url: https://arab.news/abc"),
            Some(Furniture::Phrase)
        );
        assert_eq!(classify("Return to top"), Some(Furniture::Phrase));
        assert_eq!(classify("The topics were discussed."), None);
    }

    #[test]
    fn captions() {
        assert_eq!(
            classify("Iraqi Foreign Minister Fuad Hussein. (AFP file photo)"),
            Some(Furniture::Caption)
        );
        assert_eq!(classify("Reuters/Ammar Awad"), Some(Furniture::Caption));
        assert_eq!(classify("Photo: Jane Doe"), Some(Furniture::Caption));
        assert_eq!(classify("The minister (left) spoke."), None);
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            classify("07 Feb 2024 01:02:02 GMT9"),
            Some(Furniture::Timestamp)
        );
        assert_eq!(classify("NY COFFEE 10:30"), None);
    }

    #[test]
    fn lexicon_lookup_by_length() {
        let set: std::collections::HashSet<&str> = LEXICON.iter().copied().collect();
        let mut lines: Vec<String> = Vec::new();
        for e in LEXICON {
            lines.push((*e).to_owned());
            lines.push(e.to_uppercase());
            lines.push(format!("{e}x"));
            lines.push(format!("{e}:"));
            lines.push(format!("{e} »"));
            lines.push(e[1..].to_owned());
        }
        lines.extend(["", "é", "Ｆacebook", "FACEBOOK|", "share\u{212A}"].map(String::from));
        for line in &lines {
            let t = line.trim_end_matches([':', '|', '»', '›', ' ', '>']);
            let longest = LEXICON.iter().map(|e| e.len()).max().unwrap_or(0);
            let expected =
                !t.is_empty() && t.len() <= longest && set.contains(t.to_lowercase().as_str());
            assert_eq!(in_lexicon(line), expected, "{line:?}");
        }
    }

    #[test]
    fn prefixes_are_lowercase_and_long_enough() {
        for p in PREFIXES {
            assert!(p.len() >= 2, "{p}");
            assert_eq!(p.to_lowercase(), *p);
        }
        assert_eq!(classify("SHARE THIS story"), Some(Furniture::Phrase));
        assert_eq!(classify("© 2024 Agency"), Some(Furniture::Phrase));
        assert_eq!(classify("Sharing is caring"), None);
        assert_eq!(classify("Twitter:"), Some(Furniture::Phrase));
        assert_eq!(classify("Most read »"), Some(Furniture::Phrase));
    }

    /// The photo-credit test as first written: the text up to the first slash, trimmed.
    fn agency_credit_by_search(text: &str) -> bool {
        memchr::memchr(b'/', text.as_bytes()).is_some_and(|slash| {
            let head = text[..slash].trim();
            CREDIT_AGENCIES.iter().any(|a| head.eq_ignore_ascii_case(a))
        })
    }

    proptest::proptest! {
        #[test]
        fn agency_credits_read_from_the_start(
            pad in "[ \u{a0}\u{2003}]{0,2}",
            name in "(reuters|Reuters|AFP|ap|AP Photo|ap  photo|epa|Getty Images|getty|r|e|g|a|Ré)?",
            gap in "[ \u{a0}]{0,2}",
            rest in "(/|x/|/ Jane|Doe|//|é/)?[a-z/ ]{0,6}",
        ) {
            let text = format!("{pad}{name}{gap}{rest}");
            proptest::prop_assert_eq!(
                agency_credit(&text),
                agency_credit_by_search(&text),
                "{:?}",
                text
            );
        }
    }

    #[test]
    fn bullets() {
        assert_eq!(strip_bullet("• Home"), Some("Home"));
        assert_eq!(strip_bullet("*bold*"), None);
        assert_eq!(strip_bullet("Home"), None);
        assert_eq!(strip_bullet(""), None);
        assert_eq!(strip_bullet("* Home"), Some("Home"));
        assert_eq!(strip_bullet("|Home"), None);
        assert_eq!(strip_bullet("» Home"), Some("Home"));
        assert_eq!(strip_bullet("é"), None);
        let ascii_bullets = BULLETS.iter().filter(|c| c.is_ascii()).count();
        assert_eq!(ascii_bullets, 2, "the fast path knows only '*' and '|'");
    }
}
