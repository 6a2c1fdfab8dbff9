//! IPTC 7901 (dpa and European wires): SOH header line, keyword line, STX, headline ending
//! in `=`, hard-wrapped paragraphs, ETX.

use super::{signal, text};
use crate::model::{Format, Story};

pub(crate) fn decode(input: &str) -> Story {
    let input = text::normalise_newlines(input);
    let (header, rest) = match input.find('\u{2}') {
        Some(p) => (&input[..p], &input[p + 1..]),
        None => ("", input.as_str()),
    };
    let rest = match rest.find('\u{3}') {
        Some(p) => &rest[..p],
        None => rest,
    };
    let mut story = Story {
        format: Format::Iptc7901,
        ..Story::default()
    };
    // "eca062 4 i 211 ccccb   dpa 061": service+number, priority, category, word count,
    // ..., source, sequence.
    let mut header_lines = header.trim_start_matches('\u{1}').lines();
    let first = header_lines.next().unwrap_or("");
    let fields: Vec<&str> = first.split_whitespace().collect();
    if let Some(id) = fields.first() {
        story.id = Some((*id).to_owned());
    }
    if let Some(src) = fields
        .iter()
        .rev()
        .nth(1)
        .filter(|s| s.chars().any(|c| c.is_alphabetic()))
    {
        story.source = Some((*src).to_owned());
    }
    let keywords: String = header_lines
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");

    // Headline: lines after STX up to the one ending in "="; a first short line without
    // "=" before it is a kicker such as "1ST LEAD" or "EXTRA".
    let mut lines = rest.lines().peekable();
    let mut kicker = String::new();
    let mut headline = String::new();
    let mut consumed = 0usize;
    let total_head: Vec<&str> = rest.lines().take(6).collect();
    let has_eq = total_head.iter().position(|l| l.trim_end().ends_with('='));
    if let Some(end) = has_eq {
        for (i, l) in total_head.iter().enumerate().take(end + 1) {
            let l = l.trim().trim_end_matches('=').trim();
            consumed = i + 1;
            if l.is_empty() || is_byline(l) {
                continue;
            }
            // Kickers ("REFILE", "1ST LEAD", "(Achtung)") carry no lowercase or sit in
            // parentheses.
            let is_kicker = i < end
                && (!l.chars().any(char::is_lowercase) || (l.starts_with('(') && l.ends_with(')')));
            let target = if is_kicker {
                &mut kicker
            } else {
                &mut headline
            };
            if !target.is_empty() {
                target.push(' ');
            }
            target.push_str(l);
        }
        if headline.is_empty() && !kicker.is_empty() {
            headline = std::mem::take(&mut kicker);
        }
    }
    for _ in 0..consumed {
        lines.next();
    }
    let body: String = lines.collect::<Vec<_>>().join("\n");
    story.body = text::paragraphs(&body);
    if !headline.is_empty() {
        story.headline = Some(headline);
    }
    story.edit_signal = signal::from_keyword(&format!("{keywords} {kicker}"));
    story
}

fn is_byline(l: &str) -> bool {
    ["By ", "Von ", "From ", "Par ", "De "]
        .iter()
        .any(|p| l.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EditSignal;

    #[test]
    fn minimal_7901() {
        let s = decode("\u{1}eca010 4 i 120 ccccb   dpa 042\r\n\r\nBerlin/politics/\r\n\u{2}CORRECTION\r\nCoalition talks fail =\r\n\r\n   Berlin (dpa) - Talks\r\nfailed.\r\n\r\n   More.\r\n\u{3}");
        assert_eq!(s.headline.as_deref(), Some("Coalition talks fail"));
        assert_eq!(s.body, "Berlin (dpa) - Talks failed.\n\nMore.");
        assert_eq!(s.id.as_deref(), Some("eca010"));
        assert_eq!(s.source.as_deref(), Some("dpa"));
        assert_eq!(s.edit_signal, Some(EditSignal::Correction));
    }
}
