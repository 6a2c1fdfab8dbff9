//! The body as lines: trimmed text plus the indentation that wire copy uses to mark a new
//! paragraph. Stages drop lines by clearing `keep`; a dropped line then acts as a paragraph
//! break, so removing furniture never glues the text around it together.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Line<'a> {
    /// Trimmed text; empty for a blank line.
    pub(crate) text: &'a str,
    /// Leading spaces in the cleaned text.
    pub(crate) indent: usize,
    pub(crate) keep: bool,
    /// What `text` is made of.
    pub(crate) kind: TextKind,
}

use crate::text::packed::{digit_bits, load8, HIGH_BITS};

/// What a text is made of, found in one pass when the line is split: several stages ask, and
/// most lines of prose have no digit, which settles the tests for tables and timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TextKind {
    /// Every byte is ASCII.
    pub(crate) ascii: bool,
    /// Some byte is an ASCII digit.
    pub(crate) digit: bool,
}

impl TextKind {
    pub(crate) fn of(text: &str) -> TextKind {
        let bytes = text.as_bytes();
        // Eight bytes at a time; the last eight overlap the chunks before them rather than
        // being taken one by one (a test of every byte may see one twice).
        let (mut any, mut digits) = (0u64, 0u64);
        let mut take = |x: u64| {
            any |= x;
            digits |= digit_bits(x);
        };
        if bytes.len() < 8 {
            take(load8(bytes, 0));
        } else {
            let mut chunks = bytes.chunks_exact(8);
            for chunk in &mut chunks {
                take(load8(chunk, 0));
            }
            if !chunks.remainder().is_empty() {
                take(load8(bytes, bytes.len() - 8));
            }
        }
        TextKind {
            ascii: any & HIGH_BITS == 0,
            digit: digits != 0,
        }
    }

    /// The kind of texts joined (with ASCII separators).
    pub(crate) fn and(self, other: TextKind) -> TextKind {
        TextKind {
            ascii: self.ascii && other.ascii,
            digit: self.digit || other.digit,
        }
    }
}

/// Split cleaned text (see [`super::text::clean_block_for_lines`]) into lines. Trailing
/// spaces are trimmed here: the cleaning may leave them.
pub(crate) fn split(cleaned: &str) -> Vec<Line<'_>> {
    let ends = memchr::memchr_iter(b'\n', cleaned.as_bytes());
    let mut lines = Vec::with_capacity(ends.clone().count() + 1);
    let mut start = 0;
    for end in ends.chain(std::iter::once(cleaned.len())) {
        lines.push(line(&cleaned[start..end]));
        start = end + 1;
    }
    lines
}

/// One line of cleaned text, without its line feed.
fn line(raw: &str) -> Line<'_> {
    // Spaces are single bytes that no other character's bytes can be: trimmed on bytes.
    let bytes = raw.as_bytes();
    let end = bytes
        .iter()
        .rposition(|&b| b != b' ')
        .map_or(0, |at| at + 1);
    let indent = bytes[..end].iter().position(|&b| b != b' ').unwrap_or(end);
    let text = &raw[indent..end];
    // A literal "^M" (a carriage return shown by an old terminal) ends some wire lines.
    let text = text.strip_suffix("^M").unwrap_or(text);
    // Most lines end in a printable ASCII character, which leaves nothing to trim.
    let text = match text.as_bytes().last() {
        Some(&b) if b > b' ' && b.is_ascii() => text,
        _ => text.trim_end(),
    };
    Line {
        text,
        indent,
        keep: !text.is_empty(),
        kind: TextKind::of(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_with_indent() {
        let lines = split("first\n    second^M\n\n third");
        assert_eq!(lines.len(), 4);
        assert_eq!((lines[1].text, lines[1].indent), ("second", 4));
        assert!(!lines[2].keep);
        assert_eq!(lines[3].indent, 1);
    }

    /// [`split`] as first written, on `str` methods.
    fn split_by_str(cleaned: &str) -> Vec<Line<'_>> {
        cleaned
            .split('\n')
            .map(|raw| {
                let raw = raw.trim_end_matches(' ');
                let text = raw.trim_start_matches(' ');
                let indent = raw.len() - text.len();
                let text = text.strip_suffix("^M").unwrap_or(text).trim_end();
                Line {
                    text,
                    indent,
                    keep: !text.is_empty(),
                    kind: TextKind::of(text),
                }
            })
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn splits_like_str_methods(s in "[ a\n\t\u{b}\u{7f}\u{a0}\u{3000}\u{e9}^M]{0,30}") {
            proptest::prop_assert_eq!(split(&s), split_by_str(&s));
        }
    }

    #[test]
    fn kinds() {
        for s in [
            "",
            "a",
            "7",
            "abc def 1987",
            "caf\u{e9}",
            "\u{e9}9",
            "x\u{7f}",
            "/:",
            "abcdefgh",
            "abcdefgh9",
            "9abcdefghi",
            "abcdefghijklmno\u{e9}",
            "abcdefghijklmnop",
        ] {
            let kind = TextKind::of(s);
            assert_eq!(kind.ascii, s.is_ascii(), "{s:?}");
            assert_eq!(kind.digit, s.bytes().any(|b| b.is_ascii_digit()), "{s:?}");
        }
    }
}
