//! ANPA-1312 (AP and other US wires): SYN SYN SOH header, STX text, ETX trailer, EOT.
//! Text lines start with `^` (a "quad" marker) or a tab (paragraph indent) and end with
//! `<` or `=`. The keyword line (`BC-...`) comes first, then the headline.

use super::signal;
use crate::model::{Format, Story};

pub(crate) fn decode(text: &str) -> Story {
    let (header, rest) = match text.find('\u{2}') {
        Some(p) => (&text[..p], &text[p + 1..]),
        None => ("", text),
    };
    let body_text = match rest.find('\u{3}') {
        Some(p) => &rest[..p],
        None => rest,
    };
    let mut story = Story {
        format: Format::Anpa,
        ..Story::default()
    };
    // Header: "W2870\x1fasian\n f l \x13\x11 BC-LT--Argentina-CancerB   11-13 1049"
    let header_id: String = header
        .trim_start_matches(['\u{16}', '\u{1}'])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    if !header_id.is_empty() {
        story.id = Some(header_id);
    }

    let mut keyword: Option<String> = None;
    let mut head_lines: Vec<String> = Vec::new();
    let mut paras: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut in_body = false;
    for raw in body_text.split('\n') {
        let raw = raw.trim_end_matches('\r');
        let indented = raw.starts_with('\t') || raw.starts_with("   ");
        let line = clean_line(raw);
        if !in_body && indented && !line.is_empty() {
            in_body = true;
        }
        if !in_body {
            if line.is_empty() {
                continue;
            }
            if keyword.is_none() && (line.starts_with("BC-") || line.starts_with("AP-")) {
                keyword = Some(line);
            } else if keyword.is_none() && line.starts_with('*') {
                // Numeric selector line such as "*9006".
                continue;
            } else {
                head_lines.push(line);
            }
            continue;
        }
        if (indented || line.is_empty()) && !current.is_empty() {
            paras.push(std::mem::take(&mut current));
        }
        if !line.is_empty() {
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(&line);
        }
    }
    if !current.is_empty() {
        paras.push(current);
    }
    // The line after the keyword is the headline; other head lines (photo notes, bylines,
    // tables without indented paragraphs) belong to the text.
    let mut head = head_lines.into_iter();
    story.headline = head.next();
    let mut body: Vec<String> = head.collect();
    body.extend(paras);
    story.body = body.join("\n\n");
    if let Some(k) = &keyword {
        story.edit_signal = signal::from_keyword(k);
    }
    if story.edit_signal.is_none() {
        story.edit_signal = header.lines().find_map(signal::from_keyword);
    }
    if story.body.contains("(AP)") {
        story.source = Some("AP".into());
    }
    story
}

/// Drop framing: the leading `^`, trailing `<`/`=`, in-band controls.
fn clean_line(raw: &str) -> String {
    let s: String = raw
        .chars()
        .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
        .collect();
    let s = s.trim();
    let s = s.trim_start_matches('^').trim();
    let s = s.trim_end_matches(['<', '=']).trim_end();
    s.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EditSignal;

    #[test]
    fn minimal_anpa() {
        let text = "\u{16}\u{16}\u{1}W1234\u{1f}asian\n r a \u{13}\u{11} BC-US--Storm 1stLd-Writethru  11-13 0400\n\u{2}^BC-US--Storm, 1st Ld-Writethru,400<\n^Storm hits coast<\n^By JANE DOE=\n\t   MIAMI (AP) _ A storm hit\nthe coast.\n\t   More later.\n\u{3}AP-WF-11-13-13 1509GMT<\n\u{4}";
        let s = decode(text);
        assert_eq!(s.headline.as_deref(), Some("Storm hits coast"));
        assert_eq!(s.id.as_deref(), Some("W1234"));
        assert_eq!(
            s.body,
            "By JANE DOE\n\nMIAMI (AP) _ A storm hit the coast.\n\nMore later."
        );
        assert_eq!(s.edit_signal, Some(EditSignal::Update));
        assert_eq!(s.source.as_deref(), Some("AP"));
    }
}
