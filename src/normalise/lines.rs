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
}

/// Split cleaned text (see [`super::text::clean_block_for_lines`]) into lines. Trailing
/// spaces are trimmed here: the cleaning may leave them.
pub(crate) fn split(cleaned: &str) -> Vec<Line<'_>> {
    let mut lines = Vec::with_capacity(memchr::memchr_iter(b'\n', cleaned.as_bytes()).count() + 1);
    lines.extend(crate::text::split_lines(cleaned).map(|raw| {
        let raw = raw.trim_end_matches(' ');
        let text = raw.trim_start_matches(' ');
        let indent = raw.len() - text.len();
        // A literal "^M" (a carriage return shown by an old terminal) ends some wire lines.
        let text = text.strip_suffix("^M").unwrap_or(text).trim_end();
        Line {
            text,
            indent,
            keep: !text.is_empty(),
        }
    }));
    lines
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
}
