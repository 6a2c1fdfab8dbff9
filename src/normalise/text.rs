//! Character-level clean-up: Unicode NFC, invisible and control characters, exotic spaces,
//! line endings. Leading indentation is kept (as plain spaces) because wire copy marks new
//! paragraphs with it; the rejoin step reads it and the final body has none.

use std::borrow::Cow;

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
        return clean_ascii_block(input);
    }
    clean_chars(input)
}

/// [`clean_block`] as [`super::lines::split`] reads it: the input itself when cleaning would
/// only remove trailing spaces (the split trims them anyway), the case of most wire copy.
pub(crate) fn clean_block_for_lines(input: &str) -> Cow<'_, str> {
    if only_trailing_spaces_to_clean(input.as_bytes()) {
        Cow::Borrowed(input)
    } else {
        Cow::Owned(clean_block(input))
    }
}

/// Printable ASCII and line feeds, with no run of spaces inside a line (indentation is not
/// inside): all that [`clean_block`] would change are trailing spaces. No early exit, so that
/// the loop is vectorised.
fn only_trailing_spaces_to_clean(bytes: &[u8]) -> bool {
    let allowed = |b: u8| (b == b'\n') | (b' '..=b'~').contains(&b);
    let head = bytes.iter().take(2).all(|&b| allowed(b));
    let bad = bytes
        .iter()
        .zip(bytes.get(1..).unwrap_or_default())
        .zip(bytes.get(2..).unwrap_or_default())
        .fold(false, |bad, ((&a, &b), &c)| {
            // A second space after something that is neither a space nor a line start.
            let inner_run = (b == b' ') & (c == b' ') & (a != b' ') & (a != b'\n');
            bad | !allowed(c) | inner_run
        });
    head && !bad
}

/// [`clean_block`] character by character, for any input.
fn clean_chars(input: &str) -> String {
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

/// [`clean_block`] for ASCII input (the common case for wire copy).
fn clean_ascii_block(input: &str) -> String {
    if has_control_besides_newline(input.as_bytes()) {
        return clean_ascii_bytes(input.as_bytes());
    }
    // Only printable characters, spaces and line feeds: each line keeps its indentation,
    // loses its trailing spaces and has inner runs of spaces collapsed, which is what the
    // byte loop does with them.
    let mut out = String::with_capacity(input.len());
    for (n, line) in crate::text::split_lines(input).enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let line = line.trim_end_matches(' ');
        let text = line.trim_start_matches(' ');
        out.push_str(&line[..line.len() - text.len()]);
        push_collapsing_spaces(&mut out, text);
    }
    out
}

/// Whether any byte is a C0 control other than a line feed, or DEL. No early exit, so that
/// the loop is vectorised: wire copy rarely has any.
fn has_control_besides_newline(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |found, &b| {
        found | ((b < 0x20) & (b != b'\n')) | (b == 0x7F)
    })
}

/// Append `text` with every run of spaces as one space.
fn push_collapsing_spaces(out: &mut String, text: &str) {
    let bytes = text.as_bytes();
    let doubled = bytes
        .iter()
        .zip(bytes.iter().skip(1))
        .fold(false, |found, (&a, &b)| found | ((a == b' ') & (b == b' ')));
    if !doubled {
        out.push_str(text);
        return;
    }
    let mut prev_space = false;
    for c in text.chars() {
        if !(c == ' ' && prev_space) {
            out.push(c);
        }
        prev_space = c == ' ';
    }
}

/// [`clean_block`] for ASCII input with control characters, byte by byte.
fn clean_ascii_bytes(input: &[u8]) -> String {
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
    if input.is_ascii() {
        return clean_inline_ascii(input.as_bytes());
    }
    clean_inline_chars(input)
}

/// [`clean_inline`] character by character, for any input.
fn clean_inline_chars(input: &str) -> String {
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

/// [`clean_inline`] for ASCII input: no character needs decoding or composing.
fn clean_inline_ascii(input: &[u8]) -> String {
    if is_tidy_line(input) {
        // Only ASCII bytes.
        return String::from_utf8(input.to_vec()).unwrap_or_default();
    }
    let mut out: Vec<u8> = Vec::with_capacity(input.len());
    let mut pending_space = false;
    for &b in input {
        match b {
            b'!'..=b'~' => {
                if pending_space && !out.is_empty() {
                    out.push(b' ');
                }
                pending_space = false;
                out.push(b);
            }
            // Spaces, line breaks and the carriage return separate words.
            b' ' | b'\t'..=b'\r' => pending_space = true,
            _ => {} // other C0 controls and DEL
        }
    }
    // Only ASCII bytes were written.
    String::from_utf8(out).unwrap_or_default()
}

/// Printable ASCII words with single spaces between them: what [`clean_inline`] leaves as it
/// is. No early exit, so that the loops are vectorised.
fn is_tidy_line(bytes: &[u8]) -> bool {
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return true;
    };
    let printable = bytes
        .iter()
        .fold(true, |ok, &b| ok & (b' '..=b'~').contains(&b));
    let doubled = bytes
        .iter()
        .zip(bytes.iter().skip(1))
        .fold(false, |found, (&a, &b)| found | ((a == b' ') & (b == b' ')));
    printable && !doubled && first != b' ' && last != b' '
}

fn nfc(s: String) -> String {
    if s.is_ascii() || is_nfc_quick(s.chars()) == IsNormalized::Yes {
        return s;
    }
    s.nfc().collect()
}

/// Whether a `,` or `.` follows a space or a line feed anywhere in the text. Without one, no
/// paragraph rejoined from its lines has a space before a mark for
/// [`fix_space_before_punct`] to look at: the space stood in a line, or joined a line that
/// starts with the mark. No early exit, so that the loop is vectorised.
pub(crate) fn has_spaced_mark(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .zip(bytes.get(1..).unwrap_or_default())
        .fold(false, |found, (&a, &b)| {
            found | (((a == b' ') | (a == b'\n')) & ((b == b',') | (b == b'.')))
        })
}

/// Remove a space before `,` or `.` where that is unambiguous: the space follows a letter and
/// the mark ends a word (followed by a space, a closing quote or the end). Digits ("3 . 5"),
/// spaced ellipses (". . .") and the French spacing before `;:!?` are left alone.
pub(crate) fn fix_space_before_punct(s: &str) -> std::borrow::Cow<'_, str> {
    // Is there a " ," or " ."? Marks are far rarer than spaces, so look for those.
    let bytes = s.as_bytes();
    let spaced_mark =
        memchr::memchr2_iter(b',', b'.', bytes).any(|i| i > 0 && bytes[i - 1] == b' ');
    if !spaced_mark {
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

    /// Pseudo-random ASCII text rich in what the cleaners treat specially.
    fn ascii_samples() -> Vec<String> {
        const ALPHABET: &[u8] = b"ab Z9.,  \t\r\n\n\x0B\x0C\x7F\x01~!";
        // Half the samples without controls, for the line-by-line path.
        const PLAIN: &[u8] = b"ab Z9.,   \n\n~!";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut samples = vec![
            String::new(),
            " ".into(),
            "a".into(),
            "a ".into(),
            " a".into(),
        ];
        for len in 0..400 {
            let mut text = String::new();
            for _ in 0..len % 50 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let alphabet = if len % 2 == 0 { ALPHABET } else { PLAIN };
                let pick = usize::try_from(state % alphabet.len() as u64).unwrap_or(0);
                text.push(char::from(alphabet[pick]));
            }
            samples.push(text);
        }
        samples
    }

    #[test]
    fn ascii_fast_paths_agree_with_char_paths() {
        for s in ascii_samples() {
            assert_eq!(clean_ascii_block(&s), clean_chars(&s), "{s:?}");
            assert_eq!(clean_ascii_bytes(s.as_bytes()), clean_chars(&s), "{s:?}");
            assert_eq!(
                clean_inline_ascii(s.as_bytes()),
                clean_inline_chars(&s),
                "{s:?}"
            );
        }
        let wire = "Showers continued throughout the week in\n    the Bahia cocoa zone, \
                    alleviating  the drought \n\n Reuter\n";
        assert_eq!(clean_ascii_block(wire), clean_chars(wire));
    }

    #[test]
    fn borrowed_blocks_split_like_cleaned_ones() {
        use crate::normalise::lines::split;
        for s in ascii_samples().into_iter().chain([
            "a  b".to_owned(),
            "  indented\n    text   \n   \n".to_owned(),
            "x\n  y  z".to_owned(),
            " \n  ".to_owned(),
            "line^M  \nnext".to_owned(),
        ]) {
            let cleaned = clean_block(&s);
            assert_eq!(split(&clean_block_for_lines(&s)), split(&cleaned), "{s:?}");
        }
        assert!(matches!(
            clean_block_for_lines("Showers\n    in the zone \n       \n Reuter"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(clean_block_for_lines("a  b"), Cow::Owned(_)));
        assert!(matches!(clean_block_for_lines("caf\u{e9}"), Cow::Owned(_)));
    }

    proptest::proptest! {
        #[test]
        fn borrowed_blocks_split_like_cleaned_ones_anywhere(s in "[ a.\n\t\r\u{7f}é^M]{0,40}") {
            use crate::normalise::lines::split;
            let cleaned = clean_block(&s);
            let borrowed = clean_block_for_lines(&s);
            proptest::prop_assert_eq!(split(&borrowed), split(&cleaned));
        }

        #[test]
        fn tidy_lines_are_left_alone(s in "[ a.~\t]{0,30}") {
            proptest::prop_assert_eq!(clean_inline_ascii(s.as_bytes()), clean_inline_chars(&s));
        }
    }

    #[test]
    fn spaced_marks_found_anywhere() {
        assert_eq!(fix_space_before_punct(",. no space"), ",. no space");
        assert_eq!(fix_space_before_punct("end ."), "end.");
        assert_eq!(fix_space_before_punct("café , next"), "café, next");
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
