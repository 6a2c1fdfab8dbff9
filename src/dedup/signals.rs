//! Textual cues that a story updates, corrects or kills an earlier one, for feeds whose format
//! carries no status field (Reuters-style "UPDATE 2-" headlines, "(Adds ...)" notes).

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

use crate::model::EditSignal;

/// The edit signal a story's own text announces, if any. Pure and cheap: it looks at the start
/// of the headline and the first few hundred bytes of the body only, since that is where wire
/// services put these notes.
pub fn detect_edit_signal(headline: Option<&str>, body: &str) -> Option<EditSignal> {
    if let Some(signal) = headline.and_then(headline_signal) {
        return Some(signal);
    }
    body_signal(body)
}

fn headline_signal(headline: &str) -> Option<EditSignal> {
    let h = headline.trim_start();
    let mut upper = [0u8; 24];
    let n = h.len().min(upper.len());
    for (dst, src) in upper.iter_mut().zip(h.as_bytes()) {
        *dst = src.to_ascii_uppercase();
    }
    let head = &upper[..n];
    // "KILL" alone is a verb in many headlines ("GUNMEN KILL FIVE"): only the forms wire
    // desks use for kill notices count.
    for kill in [
        &b"KILL -"[..],
        b"KILL:",
        b"KILL/",
        b"KILLED STORY",
        b"STORY KILLED",
    ] {
        if head.starts_with(kill) {
            return Some(EditSignal::Kill);
        }
    }
    if head == b"KILL" {
        return Some(EditSignal::Kill);
    }
    for corr in [
        &b"CORRECTED-"[..],
        b"CORRECTED -",
        b"(CORRECTED)",
        b"CORRECTION-",
        b"CORRECTION -",
    ] {
        if head.starts_with(corr) {
            return Some(EditSignal::Correction);
        }
    }
    for upd in [&b"REFILE-"[..], b"REFILE -", b"WRAPUP", b"WRITETHRU"] {
        if head.starts_with(upd) {
            return Some(EditSignal::Update);
        }
    }
    // "UPDATE 1-", "UPDATE 12-"
    if let Some(rest) = head.strip_prefix(b"UPDATE ") {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits > 0 && rest.get(digits) == Some(&b'-') {
            return Some(EditSignal::Update);
        }
    }
    if contains_ci(h.as_bytes(), b"writethru") {
        return Some(EditSignal::Update);
    }
    None
}

/// Body notes, in priority order: kill, then correction, then update.
const BODY_NOTES: &[(&str, EditSignal)] = &[
    ("kill this story", EditSignal::Kill),
    ("please kill", EditSignal::Kill),
    ("mandatory kill", EditSignal::Kill),
    ("(corrects ", EditSignal::Correction),
    ("correction:", EditSignal::Correction),
    ("(updates ", EditSignal::Update),
    ("(adds ", EditSignal::Update),
    ("(recasts ", EditSignal::Update),
    ("(changes ", EditSignal::Update),
    ("(refiles ", EditSignal::Update),
    ("writethru", EditSignal::Update),
    ("(new throughout", EditSignal::Update),
    // "corrects ... in paragraph 3": both words must occur.
    ("corrects", EditSignal::Correction),
    ("paragraph", EditSignal::Correction),
];
const CORRECTS: usize = BODY_NOTES.len() - 2;
const PARAGRAPH: usize = BODY_NOTES.len() - 1;

/// One automaton for all body notes, built once: a single pass over the body's start.
static BODY_MATCHER: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(BODY_NOTES.iter().map(|(p, _)| p))
        .ok()
});

fn body_signal(body: &str) -> Option<EditSignal> {
    let mut end = body.len().min(400);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    let matcher = BODY_MATCHER.as_ref()?;
    let mut seen = [false; BODY_NOTES.len()];
    for m in matcher.find_overlapping_iter(&body[..end]) {
        seen[m.pattern().as_usize()] = true;
    }
    if seen[CORRECTS] && seen[PARAGRAPH] {
        return Some(EditSignal::Correction);
    }
    [EditSignal::Kill, EditSignal::Correction, EditSignal::Update]
        .into_iter()
        .find(|want| {
            BODY_NOTES[..CORRECTS]
                .iter()
                .zip(&seen)
                .any(|((_, sig), hit)| *hit && sig == want)
        })
}

/// ASCII case-insensitive substring test; `needle` must be lowercase.
fn contains_ci(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack.windows(needle.len()).any(|w| {
            w.iter()
                .zip(needle)
                .all(|(a, b)| a.to_ascii_lowercase() == *b)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Option<EditSignal> {
        detect_edit_signal(Some(s), "Plain body text.")
    }

    #[test]
    fn headline_prefixes() {
        assert_eq!(h("UPDATE 1-Oil prices rise"), Some(EditSignal::Update));
        assert_eq!(h("UPDATE 12-Oil prices rise"), Some(EditSignal::Update));
        assert_eq!(h("CORRECTED-Oil prices rise"), Some(EditSignal::Correction));
        assert_eq!(h("(CORRECTED)-IVORY COAST"), Some(EditSignal::Correction));
        assert_eq!(h("REFILE-Oil prices rise"), Some(EditSignal::Update));
        assert_eq!(h("WRAPUP 2-Storms hit coast"), Some(EditSignal::Update));
        assert_eq!(h("Storms hit coast (WRITETHRU)"), Some(EditSignal::Update));
        assert_eq!(h("KILL - Storms hit coast"), Some(EditSignal::Kill));
    }

    #[test]
    fn ordinary_headlines_carry_no_signal() {
        assert_eq!(h("GUNMEN KILL FIVE IN RAID"), None);
        assert_eq!(h("UPDATE ON COCOA CROP"), None);
        assert_eq!(h("MARKET CORRECTION SEEN BY ANALYSTS"), None);
        assert_eq!(h("BAHIA COCOA REVIEW"), None);
        assert_eq!(detect_edit_signal(None, ""), None);
    }

    #[test]
    fn body_notes() {
        let d = |b: &str| detect_edit_signal(Some("Oil prices rise"), b);
        assert_eq!(
            d("(Updates with closing prices)\nLONDON - Oil rose."),
            Some(EditSignal::Update)
        );
        assert_eq!(
            d("(Adds analyst quote)\nOil rose."),
            Some(EditSignal::Update)
        );
        assert_eq!(
            d("(Corrects name of minister in paragraph 3)\nOil rose."),
            Some(EditSignal::Correction)
        );
        assert_eq!(
            d("Editors: please kill this story. It was sent in error."),
            Some(EditSignal::Kill)
        );
        assert_eq!(
            d("Oil prices rose on Monday as traders added positions."),
            None
        );
    }

    #[test]
    fn multibyte_body_is_cut_safely() {
        let body = "é".repeat(300);
        assert_eq!(detect_edit_signal(None, &body), None);
    }
}
