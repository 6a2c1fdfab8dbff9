//! Hard-wrapped wire copy back into paragraphs. Wire bodies wrap at 60-80 columns and start a
//! paragraph with an indented line; scraped text puts one paragraph on each (long) line. A
//! block of lines is treated as wrapped only when its longest line fits a wire column, and
//! table rows ("Shr 34 cts vs 22 cts") always stay on their own lines.

use super::furniture::strip_bullet;
use super::lines::{Line, TextKind};

/// Wrapped copy has its longest line within this range (in characters).
const WRAP_MIN: usize = 40;
const WRAP_MAX: usize = 100;

/// Tokens without digits that still belong to a row of figures ("UP 21", "vs", "--").
const TABLE_WORDS: [&str; 11] = [
    "--", "-", "vs", "vs.", "up", "off", "unch", "untrd", "nil", "n/a", "nc",
];

/// Longest of [`TABLE_WORDS`]: longer tokens skip the comparison.
const TABLE_WORD_MAX: usize = 5;

/// A paragraph: prose, or a run of table rows kept on separate lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Paragraph {
    pub(crate) text: String,
    pub(crate) table: bool,
    /// What the text is made of (its lines joined).
    pub(crate) kind: TextKind,
}

/// Columns of figures: mostly numeric tokens, or a "Label 12 vs 10" comparison.
pub(crate) fn is_tabular(text: &str) -> bool {
    text.len() <= 90 && is_tabular_of(text, TextKind::of(text))
}

/// [`is_tabular`] for a text of a known kind.
pub(crate) fn is_tabular_of(text: &str, kind: TextKind) -> bool {
    if text.len() > 90 || text.ends_with('.') || !kind.digit {
        return false;
    }
    let mut counts = TokenCounts::default();
    let complete = if kind.ascii {
        count_ascii_tokens(text.as_bytes(), &mut counts)
    } else {
        text.split_whitespace()
            .all(|t| counts.token(t.as_bytes(), t.bytes().any(|b| b.is_ascii_digit())))
    };
    complete && counts.tabular()
}

/// Count the tokens of ASCII text; false when one rules the text out. ASCII text splits on
/// ASCII whitespace bytes, which is all `split_whitespace` would split it on, without
/// decoding characters.
fn count_ascii_tokens(bytes: &[u8], counts: &mut TokenCounts) -> bool {
    let is_space = |b: u8| matches!(b, b' ' | b'\t'..=b'\r');
    let mut i = 0;
    loop {
        while bytes.get(i).is_some_and(|&b| is_space(b)) {
            i += 1;
        }
        if i == bytes.len() {
            return true;
        }
        let start = i;
        let mut has_digit = false;
        while let Some(&b) = bytes.get(i).filter(|&&b| !is_space(b)) {
            has_digit |= b.is_ascii_digit();
            i += 1;
        }
        if !counts.token(&bytes[start..i], has_digit) {
            return false;
        }
    }
}

/// What [`is_tabular`] counts over the tokens of a line.
#[derive(Default)]
struct TokenCounts {
    tokens: usize,
    numeric: usize,
    digits: usize,
    vs: bool,
}

impl TokenCounts {
    /// Count one token (`has_digit`: it has an ASCII digit); false when it rules the line out.
    #[inline(always)]
    fn token(&mut self, token: &[u8], has_digit: bool) -> bool {
        self.tokens += 1;
        if let [.., b',' | b';'] = token {
            // Prose lists figures with commas ("4,340, 4,345 and 4,350 dlrs").
            return false;
        }
        if has_digit {
            self.digits += 1;
            self.numeric += 1;
        } else if let Some(word) = table_word(token) {
            self.numeric += 1;
            self.vs |= word == "vs" || word == "vs.";
        }
        true
    }

    fn tabular(&self) -> bool {
        let n = self.tokens;
        if n < 2 || self.digits == 0 {
            return false;
        }
        self.numeric * 2 >= n || (self.vs && self.digits >= 2 && n <= 10)
    }
}

/// The [`TABLE_WORDS`] entry a token is, ignoring ASCII case.
#[inline(always)]
fn table_word(token: &[u8]) -> Option<&'static str> {
    // Every table word starts with one of these: most words of prose stop here.
    if !matches!(
        token.first().map(u8::to_ascii_lowercase),
        Some(b'-' | b'v' | b'u' | b'o' | b'n')
    ) {
        return None;
    }
    table_word_compared(token)
}

/// [`table_word`] past its first byte.
fn table_word_compared(token: &[u8]) -> Option<&'static str> {
    let mut lower = [0u8; TABLE_WORD_MAX];
    let slot = lower.get_mut(..token.len())?;
    slot.copy_from_slice(token);
    slot.make_ascii_lowercase();
    TABLE_WORDS
        .iter()
        .find(|w| w.len() == slot.len() && w.as_bytes() == &*slot)
        .copied()
}

fn width(text: &str) -> usize {
    if text.is_ascii() {
        text.len()
    } else {
        text.chars().count()
    }
}

/// Rejoin kept lines into paragraphs. Dropped and blank lines separate blocks. `lead` is the
/// width of text that stood before the first line on the wire but was taken out before it got
/// here (a dateline the decoder split off), so that first line is not taken for a short one.
pub(crate) fn paragraphs(lines: &[Line<'_>], lead: usize) -> Vec<Paragraph> {
    let mut lead = lead;
    let mut out: Vec<Paragraph> = Vec::new();
    let mut start = 0;
    while start < lines.len() {
        if !lines[start].keep {
            start += 1;
            continue;
        }
        let end = lines[start..]
            .iter()
            .position(|l| !l.keep)
            .map_or(lines.len(), |p| start + p);
        block(&lines[start..end], std::mem::take(&mut lead), &mut out);
        start = end;
    }
    out
}

/// One block of consecutive kept lines.
fn block(lines: &[Line<'_>], lead: usize, out: &mut Vec<Paragraph>) {
    // Widths are byte lengths when the whole block is ASCII (wire copy).
    let ascii = lines.iter().all(|l| l.kind.ascii);
    let width = |text: &str| if ascii { text.len() } else { width(text) };
    let longest = lines.iter().map(|l| width(l.text)).max().unwrap_or(0);
    let wrapped = lines.len() >= 2 && (WRAP_MIN..=WRAP_MAX).contains(&longest);
    // Indentation only means something relative to the block's least indented line.
    let base_indent = lines.iter().map(|l| l.indent).min().unwrap_or(0);
    let mut prev_table = false;
    let mut prev_width = 0usize;
    let mut first = true;
    let mut current: Option<Paragraph> = None;
    for line in lines {
        let table = is_tabular_of(line.text, line.kind);
        let bullet = strip_bullet(line.text).is_some();
        // A wrapped line was broken because the next word did not fit: a line that had room
        // left for it ended its paragraph (menus, headings, short lines in a header).
        // A plain scan: the first word is a few bytes long, too short for memchr's set-up.
        let first_word = width(
            line.text
                .bytes()
                .position(|b| b == b' ')
                .map_or(line.text, |end| &line.text[..end]),
        );
        let full = (prev_width + 1 + first_word) * 10 >= longest * 6;
        let continues =
            wrapped && line.indent == base_indent && !table && !prev_table && !bullet && full;
        prev_width = width(line.text) + if first { lead } else { 0 };
        first = false;
        match current.as_mut() {
            Some(p) if continues => {
                p.text.push(' ');
                p.text.push_str(line.text);
                p.kind = p.kind.and(line.kind);
            }
            Some(p) if table && p.table => {
                p.text.push('\n');
                p.text.push_str(line.text);
                p.kind = p.kind.and(line.kind);
            }
            _ => {
                out.extend(current.take());
                let mut text = String::with_capacity(if wrapped { 512 } else { line.text.len() });
                text.push_str(line.text);
                current = Some(Paragraph {
                    text,
                    table,
                    kind: line.kind,
                });
            }
        }
        prev_table = table;
    }
    out.extend(current);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::lines::split;

    fn texts(s: &str) -> Vec<String> {
        paragraphs(&split(s), 0)
            .into_iter()
            .map(|p| p.text)
            .collect()
    }

    #[test]
    fn tabular() {
        assert_eq!(
            TABLE_WORDS.iter().map(|w| w.len()).max(),
            Some(TABLE_WORD_MAX)
        );
        assert!(is_tabular("Shr 34 cts vs 1.19 dlrs"));
        assert!(is_tabular("Net 807,000 vs 2,858,000"));
        assert!(is_tabular("MAY7 10225 UP 21"));
        assert!(is_tabular("JUL8 UNTRD"));
        assert!(!is_tabular("Year"));
        assert!(!is_tabular("4,340, 4,345 and 4,350 dlrs."));
        assert!(!is_tabular(
            "mln against 5.81 at the same stage last year. Again it seems"
        ));
        assert!(!is_tabular("NY COFFEE 10:30"));
        assert!(is_tabular("Shr 1.20 VS. 98 cts"));
        assert!(!is_tabular("Revenue 12; Profit 3 4 5"));
        assert!(is_tabular("Öl 12 13 14"));
        for w in TABLE_WORDS {
            assert_eq!(table_word(w.as_bytes()), Some(w));
            assert_eq!(table_word(w.to_uppercase().as_bytes()), Some(w));
        }
        for w in TABLE_WORDS {
            assert!(
                matches!(w.as_bytes()[0], b'-' | b'v' | b'u' | b'o' | b'n'),
                "{w}"
            );
        }
        assert_eq!(table_word(b"vsx"), None);
        assert_eq!(table_word(b"untrded"), None);
        assert_eq!(table_word(b""), None);
    }

    /// [`is_tabular`] on tokens from `split_whitespace`, as first written.
    fn is_tabular_by_split(text: &str) -> bool {
        if text.len() > 90 || text.ends_with('.') || !text.bytes().any(|b| b.is_ascii_digit()) {
            return false;
        }
        let mut counts = TokenCounts::default();
        text.split_whitespace()
            .all(|t| counts.token(t.as_bytes(), t.bytes().any(|b| b.is_ascii_digit())))
            && counts.tabular()
    }

    proptest::proptest! {
        #[test]
        fn ascii_tokens_count_the_same(
            tokens in proptest::collection::vec(
                "(Shr|vs|VS.|up|UNCH|n/a|-|--|nil|off|[0-9]{1,4}|[0-9.,]{1,9}|[a-zA-Z]{1,12}|[a-z0-9,;/.-]{1,10}|\u{e9}|\u{b}|\u{0}|;)",
                0..14,
            ),
            seps in proptest::collection::vec("[ \t\n\r\u{b}\u{c}\u{0}]{1,3}", 14),
            lead in "[ \t]{0,2}",
        ) {
            let mut text = lead;
            for (t, sep) in tokens.iter().zip(&seps) {
                text.push_str(t);
                text.push_str(sep);
            }
            for text in [text.as_str(), text.trim_end()] {
                proptest::prop_assert_eq!(is_tabular(text), is_tabular_by_split(text), "{:?}", text);
            }
        }
    }

    #[test]
    fn reuters_shape() {
        let body = "Showers continued throughout the week in\n\
                    the Bahia cocoa zone, alleviating the drought since early\n\
                    January, Comissaria Smith said in its weekly review.\n    \
                    The dry period means the temporao will be late this year.\n    \
                    Arrivals for the week ended February 22 were 155,221 bags\n\
                    of 60 kilos.";
        assert_eq!(
            texts(body),
            [
                "Showers continued throughout the week in the Bahia cocoa zone, alleviating \
                 the drought since early January, Comissaria Smith said in its weekly review.",
                "The dry period means the temporao will be late this year.",
                "Arrivals for the week ended February 22 were 155,221 bags of 60 kilos.",
            ]
        );
    }

    #[test]
    fn tables_stay_rows() {
        let body = "Shr 34 cts vs 1.19 dlrs\n    Net 807,000 vs 2,858,000\n    \
                    Assets 510.2 mln vs 479.7 mln\n    Note: 4th qtr not available. Year \
                    includes 1985\nextraordinary gain from tax carry forward of 132,000 dlrs.";
        let paras = paragraphs(&split(body), 0);
        assert_eq!(paras.len(), 2);
        assert!(paras[0].table);
        assert_eq!(
            paras[0].text,
            "Shr 34 cts vs 1.19 dlrs\nNet 807,000 vs 2,858,000\nAssets 510.2 mln vs 479.7 mln"
        );
        assert!(paras[1].text.starts_with("Note: 4th qtr"));
        assert!(paras[1].text.ends_with("132,000 dlrs."));
    }

    #[test]
    fn long_lines_are_paragraphs() {
        let a = "a".repeat(30) + &" word".repeat(30);
        let b = "b".repeat(30) + &" word".repeat(30);
        assert_eq!(texts(&format!("{a}\n{b}")), [a, b]);
    }
}
