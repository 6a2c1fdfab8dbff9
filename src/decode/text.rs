//! Plain text: scraped pages and text-only feeds. The text passes through with line endings
//! normalised; the normaliser removes furniture and finds the headline.

use crate::model::{Format, Story};

/// Story from plain text.
pub(crate) fn decode(text: &str) -> Story {
    Story {
        body: normalise_newlines(text).trim().to_owned(),
        format: Format::Text,
        ..Story::default()
    }
}

/// CRLF and CR become LF.
pub(crate) fn normalise_newlines(text: &str) -> String {
    if memchr::memchr(b'\r', text.as_bytes()).is_some() {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text.to_owned()
    }
}

/// Hard-wrapped text -> paragraphs: blank lines separate paragraphs, wrapped lines join.
pub(crate) fn paragraphs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut para = String::new();
    let flush = |para: &mut String, out: &mut String| {
        if !para.is_empty() {
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str(para);
            para.clear();
        }
    };
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            flush(&mut para, &mut out);
        } else {
            if !para.is_empty() {
                para.push(' ');
            }
            para.push_str(line);
        }
    }
    flush(&mut para, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_lines_join() {
        assert_eq!(paragraphs("a\r\nb\r\n\r\n c \n"), "a b\n\nc");
    }

    #[test]
    fn plain_passes_through() {
        assert_eq!(
            decode("Title\r\n\r\nBody text.\r\n").body,
            "Title\n\nBody text."
        );
    }
}
