//! What a story's text is reduced to: an exact hash of its folded words and a one-permutation
//! MinHash sketch of its word shingles.
//!
//! Words are runs of letters and digits, lowercased; punctuation, line wrapping and spacing do
//! not count, digits do (two results tables differ by their numbers). Furniture lines (credit
//! sign-offs, copyright, "Click here") and placeholder bodies ("******Blah blah blah.") are
//! skipped, because syndicated copies differ exactly there.
//!
//! The sketch splits the shingle hash space into [`BINS`] bins and keeps the smallest hash per
//! bin (one-permutation hashing): one hash per shingle buys a Jaccard estimate. Only the low
//! 16 bits of each minimum are kept (b-bit MinHash): 64 bytes a story, with a 1/65536 chance
//! that two different minima agree, corrected for in [`similarity`].

use crate::text::packed::{leading_run, load8, HIGH_BITS, LOWER_BITS, ONES};

/// Sketch bins.
pub const BINS: usize = 32;

/// The fingerprint of one story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// Hash of the folded word sequence; equal for texts equal up to case, spacing, punctuation.
    pub exact: u64,
    /// Number of shingles (saturating), for containment estimates.
    pub shingles: u16,
    /// Bit `i` set when bin `i` received a shingle.
    pub filled: u32,
    /// Low 16 bits of each bin's minimum.
    pub sketch: [u16; BINS],
}

impl Fingerprint {
    /// No words: matches nothing.
    pub const EMPTY: Fingerprint = Fingerprint {
        exact: 0,
        shingles: 0,
        filled: 0,
        sketch: [0; BINS],
    };
}

/// Reusable scratch space, so fingerprinting does not allocate per story.
#[derive(Debug, Default)]
pub struct Fingerprinter {
    tokens: Vec<u64>,
    headline: Vec<u64>,
    word: Vec<u8>,
}

/// Line starts that mark page furniture rather than story text (lowercase).
const FURNITURE: &[&[u8]] = &[
    b"copyright",
    b"(c) ",
    b"\xc2\xa9",
    b"click here",
    b"all rights reserved",
    b"follow us",
    b"for more news",
    b"read more",
    b"subscribe",
    b"distributed by",
    b"(reporting by",
    b"(editing by",
    b"(writing by",
    b"(additional reporting",
    b"(compiled by",
];

/// Whole lines that are a credit sign-off (lowercase, trimmed, without final punctuation).
const SIGN_OFFS: &[&[u8]] = &[
    b"reuter",
    b"reuters",
    b"ap",
    b"afp",
    b"dpa",
    b"-- reuters",
    b"(reuters)",
    b"end",
];

fn is_furniture(line: &str) -> bool {
    let t = line.trim().trim_end_matches(['.', ' ']).as_bytes();
    if t.is_empty() {
        return false;
    }
    // Every sign-off and furniture start begins with one of these bytes, once lowercased
    // (0xe2 is the first byte of "©", 0xc2, with the same bit set).
    if !matches!(
        t[0] | 0x20,
        b'a' | b'c' | b'd' | b'e' | b'f' | b'r' | b's' | b'(' | b'-' | 0xe2
    ) {
        return false;
    }
    if t.len() <= 12 && SIGN_OFFS.iter().any(|s| t.eq_ignore_ascii_case(s)) {
        return true;
    }
    t.len() < 200
        && FURNITURE
            .iter()
            .any(|f| t.len() >= f.len() && t[..f.len()].eq_ignore_ascii_case(f))
}

fn token_hash_blah() -> u64 {
    word_hash(b"blah")
}

/// The hash of a word given its lowercased bytes: FNV-1a, then [`mix64`]. FNV can be fed a
/// byte at a time while the word is scanned, so words are hashed in the same pass that finds
/// them.
fn word_hash(lower: &[u8]) -> u64 {
    mix64(lower.iter().fold(FNV_OFFSET, |h, &b| fnv(h, b)))
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

#[inline(always)]
fn fnv(h: u64, b: u8) -> u64 {
    (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
}

impl Fingerprinter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Fingerprint a story's text.
    pub fn fingerprint(
        &mut self,
        headline: Option<&str>,
        body: &str,
        shingle_words: usize,
        min_body_words: usize,
    ) -> Fingerprint {
        self.tokens.clear();
        // As `body.lines()`; a last empty line adds no words.
        for line in crate::text::split_lines(body) {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if !is_furniture(line) {
                push_words(line, &mut self.word, &mut self.tokens);
            }
        }
        // "******Blah blah blah." and bare asterisks stand for "no body".
        let blah = token_hash_blah();
        if self.tokens.iter().all(|&t| t == blah) {
            self.tokens.clear();
        }
        if self.tokens.len() < min_body_words {
            self.headline.clear();
            if let Some(h) = headline {
                push_words(h, &mut self.word, &mut self.headline);
            }
            // Headline first, then body: one sequence.
            self.headline.extend_from_slice(&self.tokens);
            std::mem::swap(&mut self.headline, &mut self.tokens);
        }
        sketch(&self.tokens, shingle_words.max(1))
    }
}

/// Hash each word of `text` (a run of alphanumeric characters, lowercased) into `out`.
///
/// ASCII words, nearly all of them, are hashed byte by byte as they are scanned; a word with
/// other characters is lowercased into `word` first and hashed the same way.
fn push_words(text: &str, word: &mut Vec<u8>, out: &mut Vec<u64>) {
    let ascii_from = out.len();
    if push_ascii_words(text.as_bytes(), out) {
        return;
    }
    out.truncate(ascii_from);
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii() && LOWER_ALNUM[usize::from(b)] == 0 {
            i += 1;
            continue;
        }
        // A word starts here, unless this is a non-ASCII character that is not alphanumeric.
        let start = i;
        let mut h = FNV_OFFSET;
        while let Some(&c) = bytes.get(i) {
            let lower = LOWER_ALNUM[usize::from(c)];
            if lower == 0 {
                break;
            }
            h = fnv(h, lower);
            i += 1;
        }
        if i == bytes.len() || bytes[i].is_ascii() {
            if i > start {
                out.push(mix64(h));
            }
            continue;
        }
        // The word goes on (or starts) with a non-ASCII character: the general path.
        word.clear();
        word.extend(bytes[start..i].iter().map(u8::to_ascii_lowercase));
        for c in text[i..].chars() {
            if c.is_alphanumeric() {
                if c.is_ascii() {
                    word.push(c.to_ascii_lowercase() as u8);
                } else {
                    let mut buf = [0u8; 4];
                    for lc in c.to_lowercase() {
                        word.extend_from_slice(lc.encode_utf8(&mut buf).as_bytes());
                    }
                }
                i += c.len_utf8();
            } else {
                break;
            }
        }
        if word.is_empty() {
            // A non-ASCII character that is not alphanumeric.
            i += text[i..].chars().next().map_or(1, char::len_utf8);
        } else {
            out.push(word_hash(word));
        }
    }
}

/// [`push_words`] for ASCII text, with the same hashes; `false` (and words of no meaning
/// pushed, for the caller to drop) when the text is not ASCII after all.
///
/// Eight bytes are classified at once: most words fit in one such chunk, so a word costs one
/// packed step and one FNV step per byte, not a look-up, a store and a select per byte. The
/// FNV steps of a word are unrolled by its length. Every byte is loaded in some chunk, so the
/// chunks also tell whether the text is ASCII, without a pass of its own.
fn push_ascii_words(bytes: &[u8], out: &mut Vec<u64>) -> bool {
    let mut seen = 0;
    let mut i = 0;
    while i < bytes.len() {
        let x = load8(bytes, i);
        seen |= x;
        let word = ascii_alnum_bits(x);
        if word & 0x80 == 0 {
            // Bytes past the end load as zero, which is no word byte.
            i += (word.trailing_zeros() / 8) as usize;
            continue;
        }
        // Digits have the case bit already: one OR lower-cases a word.
        let mut run = leading_run(word);
        let mut h = fnv_packed(FNV_OFFSET, x | LOWER_BITS, run);
        i += run;
        while run == 8 {
            let x = load8(bytes, i);
            seen |= x;
            run = leading_run(ascii_alnum_bits(x));
            h = fnv_packed(h, x | LOWER_BITS, run);
            i += run;
        }
        out.push(mix64(h));
        // The byte that ended the word is no word byte.
        i += 1;
    }
    seen & HIGH_BITS == 0
}

/// The top bit of each byte of `x` that is an ASCII letter or digit, for `x` of ASCII bytes
/// (other bytes give bits of no meaning): [`in_range_bits`] without its guard against
/// non-ASCII bytes, whose sums would carry into the next byte.
///
/// [`in_range_bits`]: crate::text::packed::in_range_bits
#[inline(always)]
fn ascii_alnum_bits(x: u64) -> u64 {
    let lower = x | LOWER_BITS;
    // Wrapping: a non-ASCII top byte may carry out of the word; its bits mean nothing anyway.
    let above = |v: u64, floor: u8| v.wrapping_add(ONES * u64::from(floor));
    let letter = above(lower, 0x80 - b'a') & !above(lower, 0x7f - b'z');
    let digit = above(x, 0x80 - b'0') & !above(x, 0x7f - b'9');
    (letter | digit) & HIGH_BITS
}

/// [`fnv`] over the low `n` (0..=8) bytes of `x`, first byte first.
#[inline(always)]
fn fnv_packed(h: u64, x: u64, n: usize) -> u64 {
    #[inline(always)]
    fn steps<const N: usize>(mut h: u64, x: u64) -> u64 {
        for k in 0..N {
            h = fnv(h, (x >> (8 * k)) as u8);
        }
        h
    }
    match n {
        1 => steps::<1>(h, x),
        2 => steps::<2>(h, x),
        3 => steps::<3>(h, x),
        4 => steps::<4>(h, x),
        5 => steps::<5>(h, x),
        6 => steps::<6>(h, x),
        7 => steps::<7>(h, x),
        8 => steps::<8>(h, x),
        _ => h,
    }
}

/// Per byte: the lowercased byte for ASCII letters and digits, 0 for everything else.
static LOWER_ALNUM: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() {
            table[b] = c.to_ascii_lowercase();
        }
        b += 1;
    }
    table
};

/// Murmur3's 64-bit finaliser: spreads a combined hash over all bits.
#[inline]
pub(crate) fn mix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

fn sketch(tokens: &[u64], k: usize) -> Fingerprint {
    let mut exact = 0x9e37_79b9_7f4a_7c15u64;
    for &t in tokens {
        exact = mix64(exact.rotate_left(5) ^ t);
    }
    let mut minima = [u32::MAX; BINS];
    let mut filled = 0u32;
    let mut count = 0usize;
    let mut add = |window: &[u64]| {
        let mut h = 0u64;
        for &t in window {
            h = (h.rotate_left(23) ^ t).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
        let h = mix64(h);
        let bin = (h >> 59) as usize;
        // An empty bin holds u32::MAX, which no value is below: the minimum is the value.
        minima[bin] = minima[bin].min(h as u32);
        filled |= 1 << bin;
        count += 1;
    };
    if tokens.len() >= k {
        // The usual shingle size with its window length known, so the loop over it unrolls.
        if k == 3 {
            tokens.windows(3).for_each(&mut add);
        } else {
            tokens.windows(k).for_each(&mut add);
        }
    } else if !tokens.is_empty() {
        add(tokens);
    }
    let mut sketch = [0u16; BINS];
    for (s, m) in sketch.iter_mut().zip(minima.iter()) {
        *s = *m as u16;
    }
    Fingerprint {
        exact: if tokens.is_empty() { 0 } else { exact },
        shingles: count.min(u16::MAX as usize) as u16,
        filled,
        sketch,
    }
}

/// Similarity of two sketched texts: `(jaccard, containment)`. Containment is the share of the
/// smaller text's shingles found in the larger, derived from the Jaccard estimate and the sizes.
pub fn similarity(
    a_filled: u32,
    a_sketch: &[u16; BINS],
    a_count: u16,
    b_filled: u32,
    b_sketch: &[u16; BINS],
    b_count: u16,
) -> (f32, f32) {
    let union = (a_filled | b_filled).count_ones();
    if union == 0 {
        return (0.0, 0.0);
    }
    let both = a_filled & b_filled;
    let mut matches = 0u32;
    for i in 0..BINS {
        if both & (1 << i) != 0 && a_sketch[i] == b_sketch[i] {
            matches += 1;
        }
    }
    // Remove the expected chance agreements of the low bits of different minima.
    let chance = both.count_ones() as f32 / 65536.0;
    let j = ((matches as f32 - chance) / union as f32).clamp(0.0, 1.0);
    let (a, b) = (a_count.max(1) as f32, b_count.max(1) as f32);
    let c = (j * (a + b) / ((1.0 + j) * a.min(b))).clamp(0.0, 1.0);
    (j, c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(h: &str, b: &str) -> Fingerprint {
        Fingerprinter::new().fingerprint(Some(h), b, 3, 40)
    }

    const BODY: &str = "The central bank raised its key interest rate by half a point on \
        Tuesday, the third increase this year, citing persistent inflation in services and a \
        tight labour market. Economists had expected a quarter point move. The bank said further \
        increases could be needed if wage growth did not slow in the coming months, and it \
        revised its growth forecast down to 1.2 pct from 1.6 pct for next year.";

    #[test]
    fn case_spacing_and_punctuation_do_not_count() {
        let a = fp("A", BODY);
        let b = fp(
            "B",
            &BODY.to_uppercase().replace(' ', "\n  ").replace(',', ""),
        );
        assert_eq!(a.exact, b.exact);
        assert_eq!(a.sketch, b.sketch);
    }

    #[test]
    fn a_word_hashes_the_same_on_the_ascii_and_the_general_path() {
        let mut tokens = Vec::new();
        push_words("Zürich ZURICH zurich", &mut Vec::new(), &mut tokens);
        assert_eq!(tokens.len(), 3);
        assert_eq!(tokens[1], tokens[2]);
        assert_eq!(tokens[0], word_hash("zürich".as_bytes()));
        assert_eq!(tokens[1], word_hash(b"zurich"));
        let mut mixed = Vec::new();
        push_words("café-CAFÉ ÉTÉ été", &mut Vec::new(), &mut mixed);
        assert_eq!(mixed[0], mixed[1]);
        assert_eq!(mixed[2], mixed[3]);
    }

    /// The general path of [`push_words`], for comparison with the ASCII one.
    fn general_words(text: &str) -> Vec<u64> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| word_hash(w.to_lowercase().as_bytes()))
            .collect()
    }

    #[test]
    fn ascii_words_hash_as_the_general_path() {
        let texts = [
            "",
            " ",
            "a",
            "ab",
            "a b",
            " a ",
            "--",
            "one two",
            "Word",
            "averyveryverylongwordwithoutanybreak",
            "x averyveryverylongwordwithoutanybreak",
            "The bank raised rates by 0.5 pct, to 4.25%, on Tuesday.",
            "a,b;c d  e\tf",
            "(Reuters) - ACME said: 1,234 shares",
        ];
        for text in texts {
            let mut out = vec![7];
            push_words(text, &mut Vec::new(), &mut out);
            assert_eq!(out[0], 7, "{text:?}");
            assert_eq!(out[1..], general_words(text)[..], "{text:?}");
        }
        // Every length of a text of short words, and words across 8-byte chunks.
        let text = "a bc def g hi jkl m no pqr s abcdefgh ABCDEFGHIJKLMNOP 12345678-9";
        for end in 0..=text.len() {
            let mut out = Vec::new();
            push_words(&text[..end], &mut Vec::new(), &mut out);
            assert_eq!(out, general_words(&text[..end]), "{:?}", &text[..end]);
        }
    }

    proptest::proptest! {
        /// Words of letters and digits between any bytes: ASCII punctuation and control
        /// characters, non-ASCII letters and symbols, at any length and chunk position.
        #[test]
        fn any_text_hashes_as_the_general_path(
            text in "([a-zA-Z0-9]{1,12}|[ ,.;:'@`\\[\\]{}/-]|[\\x00-\\x1f\\x7f]|é|Ü|ß|İ|日|\u{2019}){0,40}",
        ) {
            let mut out = vec![7];
            push_words(&text, &mut Vec::new(), &mut out);
            proptest::prop_assert_eq!(out[0], 7);
            proptest::prop_assert_eq!(&out[1..], &general_words(&text)[..]);
        }
    }

    #[test]
    fn digits_count() {
        let a = fp("A", BODY);
        let b = fp("A", &BODY.replace("1.2 pct", "1.3 pct"));
        assert_ne!(a.exact, b.exact);
    }

    #[test]
    fn furniture_lines_are_skipped() {
        let a = fp("A", BODY);
        let b = fp(
            "A",
            &format!("{BODY}\nReuter\nCopyright 2024 Example News. All rights reserved."),
        );
        assert_eq!(a.exact, b.exact);
    }

    #[test]
    fn placeholder_bodies_fall_back_to_headline() {
        let a = fp("ACME SETS DIVIDEND", "******Blah blah blah.");
        let b = fp("BETA CORP CUTS PAYOUT", "******Blah blah blah.");
        assert_ne!(a.exact, b.exact);
        let (j, _) = similarity(
            a.filled, &a.sketch, a.shingles, b.filled, &b.sketch, b.shingles,
        );
        assert!(j < 0.2);
        let empty = fp("", "*****");
        assert_eq!(empty.shingles, 0);
    }

    #[test]
    fn similar_texts_score_high_and_different_low() {
        let a = fp("A", BODY);
        let half: String = BODY.chars().take(BODY.len() * 7 / 10).collect();
        let b = fp("A", &half);
        let (_, c) = similarity(
            a.filled, &a.sketch, a.shingles, b.filled, &b.sketch, b.shingles,
        );
        assert!(c > 0.7, "{c}");
        let other = fp(
            "A",
            "Heavy rain flooded parts of the northern city overnight, closing \
            roads and schools while rescue teams evacuated hundreds of residents from low lying \
            districts near the river, officials said on Wednesday morning after the storm.",
        );
        let (j, _) = similarity(
            a.filled,
            &a.sketch,
            a.shingles,
            other.filled,
            &other.sketch,
            other.shingles,
        );
        assert!(j < 0.2, "{j}");
    }
}
