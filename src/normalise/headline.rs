//! Headlines: cleaned like body text and stripped of site suffixes; for scraped pages without
//! one, taken from the page header (the line a page repeats as breadcrumb and title, else the
//! first title-like line) and removed from the body along with the rest of the header clutter.

use std::collections::HashMap;

use super::credit::agency;
use super::furniture::{is_menu_like, strip_bullet};
use super::lines::Line;
use super::text::clean_inline;

/// Clean a headline; `None` when nothing is left.
pub(crate) fn clean(raw: &str) -> Option<String> {
    let mut h = clean_inline(raw);
    // Stripping one suffix can expose another ("Title — (AP) —"): repeat until stable.
    for _ in 0..4 {
        let before = h.len();
        let trimmed = h
            .trim_end_matches([' ', '|', '-', '—', '–', ':'])
            .trim_start();
        if trimmed.len() != h.len() {
            h = trimmed.to_owned();
        }
        // '—' and '–' start with the byte 0xE2: a byte test finds every candidate, and
        // stripping where there is nothing to strip changes nothing.
        if h.bytes().any(|b| matches!(b, b'|' | b'-' | 0xE2)) {
            strip_site_suffix(&mut h);
        }
        if h.len() == before {
            break;
        }
    }
    (!h.is_empty()).then_some(h)
}

/// "Title | Site Name" and "Title - Reuters" lose the site part.
fn strip_site_suffix(h: &mut String) {
    // A short tail after the last bar is the site.
    if let Some(bar) = h.rfind(" | ") {
        if bar > 0 && h[bar + 3..].split_whitespace().count() <= 4 {
            h.truncate(bar);
        }
    }
    for sep in [" - ", " — ", " – "] {
        if let Some(at) = h.rfind(sep) {
            if at > 0 && agency(&h[at + sep.len()..]).is_some() {
                h.truncate(at);
            }
        }
    }
}

/// A header line compared without its bullet ("• Title" repeats "Title").
fn key<'a>(l: &Line<'a>) -> &'a str {
    strip_bullet(l.text).unwrap_or(l.text)
}

/// A line that could be a headline: a few words, not a sentence fragment.
fn title_like(text: &str) -> bool {
    let words = text.split_whitespace().count();
    (3..=30).contains(&words)
        && text.len() <= 250
        && !text.ends_with(['.', ',', ';', ':'])
        && text.chars().any(char::is_alphabetic)
}

/// Tidy the page header (paragraphs before `header_end`): pick a headline when `want_headline`,
/// then drop lines repeated in the header, lines equal to the headline, bullets, and (on
/// pages) menu-like lines. Returns the headline picked, if any.
pub(crate) fn tidy_header(
    lines: &mut [Line<'_>],
    header_end: usize,
    headline: Option<&str>,
    page_like: bool,
) -> Option<String> {
    let header_end = header_end.min(lines.len());
    let zone = &lines[..header_end];
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for l in zone.iter().filter(|l| l.keep) {
        *counts.entry(key(l)).or_default() += 1;
    }
    let picked = match headline {
        Some(_) => None,
        None => {
            let repeated = zone
                .iter()
                .filter(|l| l.keep)
                .map(key)
                .find(|k| counts.get(k).is_some_and(|&c| c >= 2) && title_like(k));
            let first_title = || {
                zone.iter()
                    .find(|l| l.keep && strip_bullet(l.text).is_none() && title_like(l.text))
                    .map(|l| l.text)
            };
            repeated.or_else(first_title).and_then(clean)
        }
    };
    let title = picked.as_deref().or(headline);
    for l in lines[..header_end].iter_mut() {
        if !l.keep {
            continue;
        }
        let k = key(l);
        let drop = counts.get(k).is_some_and(|&c| c >= 2)
            || title.is_some_and(|t| clean(k).as_deref() == Some(t))
            || strip_bullet(l.text).is_some()
            || (page_like && is_menu_like(k));
        if drop {
            l.keep = false;
        }
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_suffixes() {
        assert_eq!(
            clean("  Big news | Arab News ").as_deref(),
            Some("Big news")
        );
        assert_eq!(clean("Big news - Reuters").as_deref(), Some("Big news"));
        assert_eq!(
            clean("Rates - what next").as_deref(),
            Some("Rates - what next")
        );
        assert_eq!(
            clean("BAHIA COCOA REVIEW").as_deref(),
            Some("BAHIA COCOA REVIEW")
        );
        assert_eq!(clean(" | "), None);
        assert_eq!(clean("the — (AP) —").as_deref(), Some("the"));
    }

    fn units(texts: &[&'static str]) -> Vec<Line<'static>> {
        texts
            .iter()
            .map(|t| Line {
                text: t,
                indent: 0,
                keep: true,
                kind: crate::normalise::lines::TextKind::of(t),
            })
            .collect()
    }

    #[test]
    fn picks_repeated_header_line() {
        let mut paras = units(&[
            "• Home",
            "• Big news about things today",
            "Big news about things today",
            "Body.",
        ]);
        let picked = tidy_header(&mut paras, 3, None, true);
        assert_eq!(picked.as_deref(), Some("Big news about things today"));
        assert!(paras[..3].iter().all(|l| !l.keep));
        assert!(paras[3].keep);
    }

    #[test]
    fn picks_first_title_line() {
        let mut paras = units(&["A plain headline here", "Body sentence follows here."]);
        let picked = tidy_header(&mut paras, 1, None, false);
        assert_eq!(picked.as_deref(), Some("A plain headline here"));
        assert!(!paras[0].keep);
    }

    #[test]
    fn sentence_is_not_a_headline() {
        let mut paras = units(&["Showers continued in the Bahia cocoa zone.", "More."]);
        assert_eq!(tidy_header(&mut paras, 1, None, false), None);
        assert!(paras[0].keep);
    }
}
