//! Pure `Story -> Story` clean-up: Unicode NFC, typography, rejoined wire lines, page furniture
//! removed, dateline and agency credit extracted, timestamps parsed to UTC, language detected.
//! Normalising twice changes nothing.
//!
//! The body goes through these steps, each in its own module:
//! 1. [`text`]: characters (NFC, invisible and control characters, spaces, line endings);
//! 2. [`furniture`]: lexicon phrases, captions, timestamp-only lines; for scraped pages also
//!    the menus before and after the story ([`headline`] picks the title out of the header);
//! 3. [`credit`]: agency sign-offs and "Reporting by" trailers;
//! 4. [`rejoin`]: hard-wrapped wire lines back into paragraphs, table rows kept apart;
//! 5. [`dateline`]: the dateline at the start of the first paragraph.
//!
//! Then [`time`] parses the publication time and [`language`] fixes or detects the language.
//! Anything assumed along the way is written to `story.warnings`.

mod credit;
mod dateline;
mod furniture;
mod headline;
mod language;
mod lines;
mod rejoin;
mod text;
mod time;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::model::{Format, Story};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NormaliseConfig {
    /// Detect the language when the payload does not give one.
    pub detect_language: bool,
    /// Extra whole-line furniture phrases (compared case-insensitively), on top of the
    /// built-in lexicon: site names, section labels and the like.
    pub furniture: Vec<String>,
}

impl Default for NormaliseConfig {
    fn default() -> Self {
        NormaliseConfig {
            detect_language: true,
            furniture: Vec::new(),
        }
    }
}

/// Clean one story.
pub fn normalise(mut story: Story, config: &NormaliseConfig) -> Story {
    let mut warnings = std::mem::take(&mut story.warnings);

    story.headline = story.headline.as_deref().and_then(headline::clean);
    let mut credit: Option<String> = None;
    // Width of a dateline split off the first wire line, for the rejoin step.
    let lead = story
        .dateline
        .as_deref()
        .map_or(0, |d| d.chars().count() + 1);
    if let Some(given) = story.dateline.take() {
        let (place, agency) = dateline::clean_given(&given);
        story.dateline = place;
        credit = agency;
    }

    // The body is rebuilt from the paragraphs at the end.
    let body = std::mem::take(&mut story.body);
    let cleaned = text::clean_block_for_lines(&body);
    let mut lines = lines::split(&cleaned);
    if !config.furniture.is_empty() {
        for line in lines.iter_mut().filter(|l| l.keep) {
            if config
                .furniture
                .iter()
                .any(|f| f.trim().eq_ignore_ascii_case(line.text))
            {
                line.keep = false;
            }
        }
    }
    let mut scan = furniture::Scan::default();
    furniture::drop_phrases(&mut lines, &mut scan);
    let mut paragraphs = rejoin::paragraphs(&lines, lead);
    if text::has_spaced_mark(cleaned.as_bytes()) {
        for p in &mut paragraphs {
            if let Cow::Owned(fixed) = text::fix_space_before_punct(&p.text) {
                p.text = fixed;
            }
        }
    }

    // From here on the units are paragraphs, as a second pass would see them. Taking spaces
    // before marks out left their kind as it was. They take the lines' place (and memory).
    let mut units = lines;
    units.clear();
    units.extend(paragraphs.iter().map(|p| lines::Line {
        text: &p.text,
        indent: 0,
        keep: true,
        kind: p.kind,
    }));
    furniture::drop_phrases(&mut units, &mut scan);
    if story.format == Format::Text {
        furniture::mark_zones(&mut units, &mut scan);
        let picked = headline::tidy_header(
            &mut units,
            scan.header_end,
            story.headline.as_deref(),
            scan.page_like,
        );
        if story.headline.is_none() {
            story.headline = picked;
        }
    }
    if let Some(agency) = credit::strip(&mut units) {
        credit = credit.or_else(|| Some(agency.to_owned()));
    }
    let keep = Keep::of(&units);
    drop(units);
    let mut unit = 0;
    paragraphs.retain(|_| {
        unit += 1;
        keep.get(unit - 1)
    });

    if let Some(found) = strip_dateline(&mut paragraphs, &mut story.dateline) {
        credit = credit.or(Some(found));
    }
    story.body = assemble(&paragraphs);
    let language_sample = (story.language.is_none() && config.detect_language).then(|| {
        let prose = prose_paragraphs(&paragraphs);
        language::sample(story.headline.as_deref(), prose)
    });
    if story.source.as_deref().is_none_or(|s| s.trim().is_empty()) {
        story.source = credit;
    }

    if story.published_at.is_none() {
        if story.published_raw.is_none() {
            story.published_raw = scan.timestamp;
        }
        if let Some(raw) = story.published_raw.as_deref() {
            match time::parse_timestamp(raw) {
                Ok(parsed) => {
                    story.published_at = Some(parsed.at);
                    if let Some(note) = parsed.assumed {
                        warn(&mut warnings, published_note(raw, &note));
                    }
                }
                Err(e) => warn(
                    &mut warnings,
                    format!("published_raw {raw:?}: {e}, published_at left empty"),
                ),
            }
        }
    }

    story.language = match story.language.take() {
        Some(given) => match language::normalise_tag(&given) {
            Ok(tag) => Some(tag),
            Err(e) => {
                warn(&mut warnings, e.to_string());
                None
            }
        },
        None => None,
    };
    if story.language.is_none() && config.detect_language {
        let sample = match language_sample {
            Some(s) => s,
            // The given tag was rejected: sample now.
            None => {
                let prose = prose_paragraphs(&paragraphs);
                language::sample(story.headline.as_deref(), prose)
            }
        };
        story.language = language::detect(&sample).map(str::to_owned);
    }

    story.warnings = warnings;
    story
}

/// Which units are kept: one bit each for the few paragraphs of most stories, without an
/// allocation.
enum Keep {
    Bits(u128),
    Many(Vec<bool>),
}

impl Keep {
    fn of(units: &[lines::Line<'_>]) -> Keep {
        if units.len() <= 128 {
            Keep::Bits(
                units
                    .iter()
                    .enumerate()
                    .fold(0, |bits, (i, u)| bits | u128::from(u.keep) << i),
            )
        } else {
            Keep::Many(units.iter().map(|u| u.keep).collect())
        }
    }

    fn get(&self, unit: usize) -> bool {
        match self {
            Keep::Bits(bits) => unit < 128 && bits >> unit & 1 == 1,
            Keep::Many(keep) => keep.get(unit).copied().unwrap_or(false),
        }
    }
}

/// Remove the dateline from the first paragraph. Without a given dateline the one found is
/// kept; with one, a leading copy of it (same place) is removed. Returns the agency credit.
fn strip_dateline(
    paragraphs: &mut Vec<rejoin::Paragraph>,
    given: &mut Option<String>,
) -> Option<String> {
    let mut credit = None;
    // A few rounds: some feeds repeat the dateline ("CAIRO: CAIRO: ...").
    for _ in 0..3 {
        let Some(first) = paragraphs.first_mut().filter(|p| !p.table) else {
            break;
        };
        let Some(found) = dateline::find(&first.text) else {
            break;
        };
        match given.as_deref() {
            None => *given = Some(found.dateline.clone()),
            Some(d)
                if dateline::place(d).eq_ignore_ascii_case(dateline::place(&found.dateline)) => {}
            Some(_) => break,
        }
        first.text.drain(..found.rest);
        credit = credit.or(found.credit);
        // What is left may be only the credit ("CAIRO: (AP)").
        if first.text.len() <= 40 {
            if let Some(a) = credit::agency(&first.text) {
                credit = credit.or_else(|| Some(a.to_owned()));
                first.text.clear();
            }
        }
    }
    paragraphs.retain(|p| !p.text.is_empty());
    credit
}

/// Paragraphs that are not tables, judged on their final text (so a second pass agrees).
fn prose_paragraphs(paragraphs: &[rejoin::Paragraph]) -> impl Iterator<Item = &str> {
    paragraphs
        .iter()
        .map(|p| p.text.as_str())
        .filter(|t| memchr::memchr(b'\n', t.as_bytes()).is_none() && !rejoin::is_tabular(t))
}

/// Paragraphs joined by blank lines.
fn assemble(paragraphs: &[rejoin::Paragraph]) -> String {
    let total: usize = paragraphs.iter().map(|p| p.text.len() + 2).sum();
    let mut body = String::with_capacity(total);
    for p in paragraphs {
        if !body.is_empty() {
            body.push_str("\n\n");
        }
        body.push_str(&p.text);
    }
    body
}

/// `published_raw {raw:?}: {note}`. Wire timestamps are plain printable ASCII, which `{:?}`
/// only puts in quotes: that case skips the formatting machinery.
fn published_note(raw: &str, note: &str) -> String {
    let plain = raw
        .bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\');
    if !plain {
        return format!("published_raw {raw:?}: {note}");
    }
    const HEAD: &str = "published_raw \"";
    let mut message = String::with_capacity(HEAD.len() + raw.len() + 3 + note.len());
    message.push_str(HEAD);
    message.push_str(raw);
    message.push_str("\": ");
    message.push_str(note);
    message
}

/// Add a warning unless the story already carries it (normalising again adds nothing).
fn warn(warnings: &mut Vec<String>, message: String) {
    if !warnings.contains(&message) {
        warnings.push(message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn paragraphs_have_spaced_marks_only_where_the_text_has(
            s in "([ ]{0,5}(word|Word|3|,|\\.|\\^M| |[a-z]{5,30}|Shr 3 vs 4)*\n){0,8}"
        ) {
            let cleaned = text::clean_block_for_lines(&s);
            let lines = lines::split(&cleaned);
            if !text::has_spaced_mark(cleaned.as_bytes()) {
                for p in rejoin::paragraphs(&lines, 0) {
                    proptest::prop_assert!(matches!(
                        text::fix_space_before_punct(&p.text),
                        Cow::Borrowed(_)
                    ), "{:?}", p.text);
                }
            }
        }
    }

    #[test]
    fn keep_flags() {
        for n in [0, 1, 5, 127, 128, 129, 300] {
            let units: Vec<lines::Line<'_>> = (0..n)
                .map(|i| lines::Line {
                    text: "x",
                    indent: 0,
                    keep: i % 3 != 1,
                    kind: lines::TextKind::of("x"),
                })
                .collect();
            let keep = Keep::of(&units);
            for (i, u) in units.iter().enumerate() {
                assert_eq!(keep.get(i), u.keep, "{n} {i}");
            }
            assert!(!keep.get(n));
        }
    }

    #[test]
    fn published_note_is_the_debug_format() {
        for raw in [
            "26-FEB-1987 15:02:20.00",
            "",
            " spaced ~ ",
            "quote\"d",
            "back\\slash",
            "it's",
            "tab\there",
            "caf\u{e9}",
            "del\u{7f}",
            "nl\n",
            "zw\u{200b}j",
        ] {
            assert_eq!(
                published_note(raw, "a note"),
                format!("published_raw {raw:?}: a note"),
                "{raw:?}"
            );
        }
    }
}
