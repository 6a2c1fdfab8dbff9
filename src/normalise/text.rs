//! Character-level clean-up: Unicode NFC, invisible and control characters, exotic spaces,
//! line endings. Leading indentation is kept (as plain spaces) because wire copy marks new
//! paragraphs with it; the rejoin step reads it and the final body has none.

use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

/// What one input character becomes.
enum Class {
    Keep,
    Drop,
    Space,
    Newline,
    ParagraphBreak,
}

fn classify(c: char) -> Class {
    // Printable ASCII is by far the most common case.
    if c > ' ' && c < '\u{7F}' {
        return Class::Keep;
    }
    match c {
        '\n' | '\u{000B}' | '\u{000C}' | '\u{0085}' | '\u{2028}' => Class::Newline,
        '\u{2029}' => Class::ParagraphBreak,
        '\t' | ' ' => Class::Space,
        // Invisible characters that only get in the way of matching and tokenising: zero-width
        // space, word joiner, BOM, soft hyphen, Mongolian vowel separator, bidi marks and
        // embeddings. ZWJ/ZWNJ are kept: they are spelling in Persian, Indic scripts and emoji.
        '\u{200B}'
        | '\u{2060}'
        | '\u{FEFF}'
        | '\u{00AD}'
        | '\u{180E}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FFFE}' => Class::Drop,
        '\u{00A0}'
        | '\u{1680}'
        | '\u{2000}'..='\u{200A}'
        | '\u{202F}'
        | '\u{205F}'
        | '\u{3000}' => Class::Space,
        c if c.is_control() => Class::Drop,
        _ => Class::Keep,
    }
}

/// Clean a multi-line text: line endings become `\n`, control and invisible characters go,
/// exotic spaces become plain spaces, runs of spaces inside a line collapse to one, trailing
/// spaces go. Leading spaces (indentation) are kept as they are. The result is NFC.
pub(crate) fn clean_block(input: &str) -> String {
    if input.is_ascii() {
        return clean_ascii_block(input.as_bytes());
    }
    let mut out = String::with_capacity(input.len());
    // Spaces seen but not yet written: written only if more text follows on the line.
    let mut pending_spaces = 0usize;
    let mut at_line_start = true;
    let mut after_cr = false;
    for c in input.chars() {
        if c == '\r' {
            end_line(&mut out, &mut pending_spaces, &mut at_line_start);
            after_cr = true;
            continue;
        }
        let was_cr = std::mem::replace(&mut after_cr, false);
        match classify(c) {
            Class::Newline => {
                if !(was_cr && c == '\n') {
                    end_line(&mut out, &mut pending_spaces, &mut at_line_start);
                }
            }
            Class::ParagraphBreak => {
                end_line(&mut out, &mut pending_spaces, &mut at_line_start);
                end_line(&mut out, &mut pending_spaces, &mut at_line_start);
            }
            Class::Space => pending_spaces += 1,
            Class::Drop => {}
            Class::Keep => {
                if pending_spaces > 0 {
                    let n = if at_line_start { pending_spaces } else { 1 };
                    out.extend(std::iter::repeat_n(' ', n));
                    pending_spaces = 0;
                }
                at_line_start = false;
                out.push(c);
            }
        }
    }
    nfc(out)
}

/// [`clean_block`] for ASCII input, byte by byte (the common case for wire copy).
fn clean_ascii_block(input: &[u8]) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(input.len());
    let mut pending_spaces = 0usize;
    let mut at_line_start = true;
    let mut i = 0;
    let printable = |b: u8| matches!(b, b'!'..=b'~');
    while i < input.len() {
        // Copy a run of printable characters in one go, single spaces between words included:
        // they stay as they are.
        let mut run = i;
        while run < input.len() {
            if printable(input[run]) {
                run += 1;
            } else if input[run] == b' '
                && run > i
                && input.get(run + 1).is_some_and(|&b| printable(b))
            {
                run += 2;
            } else {
                break;
            }
        }
        if run > i {
            if pending_spaces > 0 {
                let n = if at_line_start { pending_spaces } else { 1 };
                out.extend(std::iter::repeat_n(b' ', n));
                pending_spaces = 0;
            }
            at_line_start = false;
            out.extend_from_slice(&input[i..run]);
            i = run;
            continue;
        }
        let b = input[i];
        i += 1;
        match b {
            b' ' | b'\t' => pending_spaces += 1,
            b'\r' | b'\n' | 0x0B | 0x0C => {
                if b == b'\r' && input.get(i) == Some(&b'\n') {
                    i += 1;
                }
                pending_spaces = 0;
                at_line_start = true;
                out.push(b'\n');
            }
            _ => {} // other C0 controls and DEL
        }
    }
    // Only ASCII bytes were written.
    String::from_utf8(out).unwrap_or_default()
}

fn end_line(out: &mut String, pending_spaces: &mut usize, at_line_start: &mut bool) {
    *pending_spaces = 0;
    *at_line_start = true;
    out.push('\n');
}

/// Clean a one-line text (headline, dateline, a tag): like [`clean_block`] with line breaks
/// turned into spaces and both ends trimmed.
pub(crate) fn clean_inline(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut pending_space = false;
    for c in input.chars() {
        match classify(c) {
            Class::Keep => {
                if pending_space && !out.is_empty() {
                    out.push(' ');
                }
                pending_space = false;
                out.push(c);
            }
            Class::Drop => {}
            Class::Space | Class::Newline | Class::ParagraphBreak => pending_space = true,
        }
        if c == '\r' {
            pending_space = true;
        }
    }
    nfc(out)
}

fn nfc(s: String) -> String {
    if s.is_ascii() || is_nfc_quick(s.chars()) == IsNormalized::Yes {
        return s;
    }
    s.nfc().collect()
}

/// Remove a space before `,` or `.` where that is unambiguous: the space follows a letter and
/// the mark ends a word (followed by a space, a closing quote or the end). Digits ("3 . 5"),
/// spaced ellipses (". . .") and the French spacing before `;:!?` are left alone.
pub(crate) fn fix_space_before_punct(s: &str) -> std::borrow::Cow<'_, str> {
    if !(s.contains(" ,") || s.contains(" .")) {
        return std::borrow::Cow::Borrowed(s);
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' && removable_space(&chars, i) {
            continue;
        }
        out.push(c);
    }
    std::borrow::Cow::Owned(out)
}

fn removable_space(chars: &[char], i: usize) -> bool {
    let Some(&mark) = chars.get(i + 1) else {
        return false;
    };
    if mark != ',' && mark != '.' {
        return false;
    }
    let prev_is_letter = i > 0 && chars[i - 1].is_alphabetic();
    if !prev_is_letter {
        return false;
    }
    match chars.get(i + 2) {
        None => true,
        Some(' ') => !(mark == '.' && chars.get(i + 3) == Some(&'.')),
        Some(&q) => matches!(q, '"' | '\'' | '”' | '’' | ')'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_invisibles_and_controls() {
        let s = "a\u{200B}b\u{00AD}c\u{FEFF}d\u{0007}e\u{0092}f";
        assert_eq!(clean_block(s), "abcdef");
    }

    #[test]
    fn spaces_and_line_endings() {
        let s = "  indented\u{00A0}\u{2003}text  \r\nnext\rlast\u{2028}x";
        assert_eq!(clean_block(s), "  indented text\nnext\nlast\nx");
    }

    #[test]
    fn ascii_and_unicode_paths_agree() {
        let s = "  a\tb  c \r\n\r\nd\u{7}e\x0Cf  \n   g  ";
        assert_eq!(clean_block(s), clean_block(&format!("{s}\u{200B}")));
        assert_eq!(clean_block(s), "  a b c\n\nde\nf\n   g");
    }

    #[test]
    fn nfc_after_removal() {
        // A soft hyphen between the base letter and the combining accent.
        assert_eq!(clean_block("e\u{00AD}\u{0301}"), "\u{00E9}");
        assert_eq!(
            clean_inline(" Cafe\u{0301}\n  au lait "),
            "Caf\u{00E9} au lait"
        );
    }

    #[test]
    fn keeps_zwj_and_curly_quotes() {
        let s = "“quoted” — dash \u{200D}";
        assert_eq!(clean_inline(s), "“quoted” — dash \u{200D}");
    }

    #[test]
    fn punctuation_spacing() {
        assert_eq!(fix_space_before_punct("word , next ."), "word, next.");
        assert_eq!(
            fix_space_before_punct("3 . 5 and wait . . ."),
            "3 . 5 and wait . . ."
        );
        assert_eq!(fix_space_before_punct("x ,y"), "x ,y");
    }
}
