//! Page furniture: the menus, share buttons, captions, timestamps and "Most Popular" boxes a
//! scraper leaves around a story. Lines are matched whole against a lexicon (case-insensitive)
//! and a few shapes (bullets, photo credits, timestamp-only lines). Menu-like short lines are
//! only removed outside the story proper (before its first sentence, after its last), so real
//! short paragraphs inside the story stay.

use std::sync::LazyLock;

use super::credit::agency;
use super::lines::{Line, TextKind};
use super::time::{timestamp_line, timestamp_line_of};

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
/// that start like it, and only when some prefix has its second byte as well.
struct PrefixTable {
    by_first_byte: Vec<Vec<&'static str>>,
    /// For each first byte, bit `b & 31` set for each second byte `b` of a prefix: a filter
    /// (lowercase ASCII letters have bits of their own, other bytes may share one).
    seconds: [u32; 256],
}

static PREFIX_TABLE: LazyLock<PrefixTable> = LazyLock::new(|| {
    let mut table = PrefixTable {
        by_first_byte: vec![Vec::new(); 256],
        seconds: [0; 256],
    };
    for p in PREFIXES {
        if let [first, second, ..] = *p.as_bytes() {
            table.by_first_byte[usize::from(first)].push(*p);
            table.seconds[usize::from(first)] |= 1 << (second & 31);
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
#[cfg(test)]
fn in_lexicon(text: &str) -> bool {
    in_lexicon_of(text, text.is_ascii())
}

/// [`in_lexicon`] for a text known to be ASCII or not (`ascii` false: not known to be).
fn in_lexicon_of(text: &str, ascii: bool) -> bool {
    // An ASCII last byte other than these ends the text as it is: no trimming to do.
    let t = match text.as_bytes().last() {
        Some(&b) if b.is_ascii() && !matches!(b, b':' | b'|' | b' ' | b'>') => text,
        _ => text.trim_end_matches([':', '|', '»', '›', ' ', '>']),
    };
    let by_len = &*LEXICON_BY_LEN;
    if t.is_empty() || t.len() >= by_len.len() {
        return false;
    }
    // Trimming leaves ASCII text ASCII.
    if ascii || t.is_ascii() {
        // Entries are lowercase: comparing ignoring ASCII case is comparing lowercased. The
        // first bytes rule most entries out.
        let first = t.as_bytes()[0].to_ascii_lowercase();
        return by_len[t.len()]
            .iter()
            .any(|e| e[0] == first && e.eq_ignore_ascii_case(t.as_bytes()));
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
#[cfg(test)]
pub(crate) fn classify(text: &str) -> Option<Furniture> {
    classify_of(text, TextKind::of(text))
}

/// [`classify`] for a text of a known kind.
fn classify_of(text: &str, kind: TextKind) -> Option<Furniture> {
    // Every pattern below is short: long paragraphs are story text.
    if text.len() > 300 {
        return None;
    }
    let (text, kind) = match strip_bullet(text) {
        Some(rest) => (rest, TextKind::of(rest)),
        None => (text, kind),
    };
    if in_lexicon_of(text, kind.ascii) {
        return Some(Furniture::Phrase);
    }
    if has_prefix(text) {
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
    if timestamp_line_of(text, kind.digit).is_some() {
        return Some(Furniture::Timestamp);
    }
    None
}

/// Whether the text starts with one of the [`PREFIXES`], ignoring ASCII case.
fn has_prefix(text: &str) -> bool {
    // Prefixes are lowercase and at least two bytes long, and lowercasing leaves non-ASCII
    // bytes alone: the first two bytes rule out most lines, and the second most prefixes.
    let [first, second, ..] = *text.as_bytes() else {
        return false;
    };
    let (first, second) = (first.to_ascii_lowercase(), second.to_ascii_lowercase());
    let table = &*PREFIX_TABLE;
    table.seconds[usize::from(first)] & (1 << (second & 31)) != 0
        && table.by_first_byte[usize::from(first)]
            .iter()
            .any(|p| p.as_bytes()[1] == second && starts_with_ci(text, p))
}

/// "Iraqi Foreign Minister Fuad Hussein. (AFP file photo)", "Reuters/Ammar Awad".
fn is_caption(text: &str) -> bool {
    if text.len() > 300 {
        return false;
    }
    // Both tests are cheap to rule out before searching the line.
    if ends_with_caption_credit(text) {
        return true;
    }
    // A credit starts with an agency name: re(uters), af(p), ap, ep(a), ge(tty).
    let bytes = text.as_bytes();
    let lead = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(&[][..], |at| &bytes[at..]);
    let starts_agency = match *lead {
        [first, ..] if !first.is_ascii() => true,
        [first, second, ..] => agency_pair(first, second),
        _ => false,
    };
    if text.len() > 80 || text.ends_with('.') || !starts_agency {
        return false;
    }
    agency_credit(text)
}

/// "... (AFP file photo)": a closing parenthesis around a short credit.
fn ends_with_caption_credit(text: &str) -> bool {
    if !text.ends_with(')') {
        return false;
    }
    let Some(open) = text.rfind('(') else {
        return false;
    };
    let inner = text[open + 1..text.len() - 1].to_lowercase();
    inner.len() <= 60
        && inner
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| CAPTION_WORDS.contains(&w))
}

/// Whether the two bytes, ignoring ASCII case, start one of the [`CREDIT_AGENCIES`].
fn agency_pair(first: u8, second: u8) -> bool {
    // OR-ing 0x20 lowercases letters and turns no other byte into one.
    matches!(
        [first | 0x20, second | 0x20],
        [b'r', b'e'] | [b'a', b'f'] | [b'a', b'p'] | [b'e', b'p'] | [b'g', b'e']
    )
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
        if let Some(kind) = classify_of(line.text, line.kind) {
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
    fn agency_pairs_start_every_agency() {
        for a in CREDIT_AGENCIES {
            let b = a.as_bytes();
            assert!(agency_pair(b[0], b[1]), "{a}");
            assert!(agency_pair(b[0].to_ascii_uppercase(), b[1]), "{a}");
        }
        for (first, second) in [(b'r', b'a'), (b'x', b'e'), (b'a', b'b'), (b'R', b'E' - 1)] {
            assert!(!agency_pair(first, second));
        }
    }

    /// [`is_caption`] as first written: any agency's first letter let the line through.
    fn is_caption_by_first_letter(text: &str) -> bool {
        if ends_with_caption_credit(text) {
            return true;
        }
        let starts_agency = text
            .bytes()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| matches!(b | 0x20, b'r' | b'a' | b'e' | b'g') || !b.is_ascii());
        if text.len() > 80 || text.ends_with('.') || !starts_agency {
            return false;
        }
        agency_credit(text)
    }

    proptest::proptest! {
        #[test]
        fn prefixes_found_through_the_filter(
            head in "(Short url:|share this |Share On |follow us on |SIGN UP FOR |read more:|Related:|Also Read:|see also:|copyright ©|© |all rights reserved|Photo:|photo by |PHOTO/|Image:|picture:|file photo|Pic:|Caption:|re|sh|ph|pi|©|[a-zA-Z©•*|^~]{0,3})",
            tail in "[ a-zA-Z:/]{0,12}",
        ) {
            let text = format!("{head}{tail}");
            proptest::prop_assert_eq!(
                has_prefix(&text),
                PREFIXES.iter().any(|p| starts_with_ci(&text, p)),
                "{:?}",
                text
            );
        }

        #[test]
        fn captions_found_through_the_filter(
            pad in "[ \t\u{b}\u{a0}]{0,2}",
            name in "(reuters|Reuters|AFP|ap|AP Photo|epa|Getty Images|getty|r|e|g|a|R\u{e9}|\u{e9})?",
            rest in "(/|x/|/ Jane|Doe|//|\u{e9}/| \\(AFP photo\\))?[a-z/ .]{0,6}",
        ) {
            let text = format!("{pad}{name}{rest}");
            proptest::prop_assert_eq!(
                is_caption(&text),
                is_caption_by_first_letter(&text),
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
