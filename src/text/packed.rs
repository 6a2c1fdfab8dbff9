//! Eight bytes of text packed little-endian into a `u64`, tested and changed all at once.
//!
//! Word scanners in language detection, the country gazetteer and the topic lexicon classify
//! and lower-case bytes eight at a time this way: most words of a story are short ASCII
//! words, and one packed step replaces a loop over their bytes.

pub(crate) const ONES: u64 = 0x0101_0101_0101_0101;
/// The top bit of each byte: where the per-byte tests put their answers.
pub(crate) const HIGH_BITS: u64 = ONES * 0x80;
/// The ASCII case bit of each byte: OR-ed in, it lower-cases a letter.
pub(crate) const LOWER_BITS: u64 = ONES * 0x20;

/// The 8 bytes of `bytes` from `at` (zero past the end), little-endian.
#[inline(always)]
pub(crate) fn load8(bytes: &[u8], at: usize) -> u64 {
    match bytes.get(at..at + 8) {
        Some(b) => u64::from_le_bytes(b.try_into().unwrap_or([0; 8])),
        None => {
            // A byte loop, not a variable-length copy: that would call memcpy.
            let mut buf = [0u8; 8];
            for (d, s) in buf.iter_mut().zip(bytes.get(at..).unwrap_or(&[])) {
                *d = *s;
            }
            u64::from_le_bytes(buf)
        }
    }
}

/// The low `n` bytes (0..=8) of a packed u64.
#[inline(always)]
pub(crate) fn low_bytes(x: u64, n: usize) -> u64 {
    if n >= 8 {
        x
    } else {
        x & ((1u64 << (8 * n)) - 1)
    }
}

/// The top bit of each byte of `x` that is ASCII and within `lo..=hi` (both ASCII).
#[inline(always)]
pub(crate) fn in_range_bits(x: u64, lo: u8, hi: u8) -> u64 {
    // Below 0x80 once the top bit is cleared, a byte gains the top bit from adding 0x80 - lo
    // when it is at least `lo`, and from adding 0x7f - hi when it is above `hi`; no byte
    // carries into the next. A byte with its own top bit set is not ASCII.
    let low7 = x & !HIGH_BITS;
    let at_least_lo = low7 + ONES * u64::from(0x80 - lo);
    let above_hi = low7 + ONES * u64::from(0x7f - hi);
    at_least_lo & !above_hi & !x & HIGH_BITS
}

/// The top bit of each byte of `x` that is an ASCII letter, either case.
#[inline(always)]
pub(crate) fn letter_bits(x: u64) -> u64 {
    // The case bit leaves the top bit alone, so non-ASCII bytes stay out.
    in_range_bits(x | LOWER_BITS, b'a', b'z')
}

/// The top bit of each byte of `x` that is an ASCII digit.
#[inline(always)]
pub(crate) fn digit_bits(x: u64) -> u64 {
    in_range_bits(x, b'0', b'9')
}

/// How many bytes, from the first, have their bit set in `bits` (8 when all have).
#[inline(always)]
pub(crate) fn leading_run(bits: u64) -> usize {
    ((!bits & HIGH_BITS).trailing_zeros() / 8) as usize
}

/// How many of the 8 packed bytes, from the first, are ASCII letters.
#[inline(always)]
pub(crate) fn letter_run(x: u64) -> usize {
    leading_run(letter_bits(x))
}

/// How many of the 8 packed bytes, from the first, are ASCII digits.
#[inline(always)]
pub(crate) fn digit_run(x: u64) -> usize {
    leading_run(digit_bits(x))
}

/// How many of the 8 packed bytes, from the first, are ASCII letters or digits.
#[inline(always)]
pub(crate) fn alnum_run(x: u64) -> usize {
    leading_run(letter_bits(x) | digit_bits(x))
}

/// ASCII lower case of 8 packed bytes; other bytes unchanged.
#[inline(always)]
pub(crate) fn lower8(x: u64) -> u64 {
    x | (in_range_bits(x, b'A', b'Z') >> 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_value_in_every_position() {
        for b in 0..=255u8 {
            for pos in 0..8 {
                // Neighbours that would carry or borrow if a step leaked between bytes.
                let mut bytes = [0xff, 0x00, b'z', b'A', 0x7f, b'0', 0x80, b'9'];
                bytes[pos] = b;
                let x = u64::from_le_bytes(bytes);
                let bit = |bits: u64| bits >> (8 * pos + 7) & 1 == 1;
                assert_eq!(
                    bit(letter_bits(x)),
                    b.is_ascii_alphabetic(),
                    "{b:#x} at {pos}"
                );
                assert_eq!(bit(digit_bits(x)), b.is_ascii_digit(), "{b:#x} at {pos}");
                let lowered = lower8(x).to_le_bytes();
                let expected: Vec<u8> = bytes.iter().map(u8::to_ascii_lowercase).collect();
                assert_eq!(lowered.to_vec(), expected, "{b:#x} at {pos}");
            }
        }
    }

    #[test]
    fn runs_loads_and_low_bytes() {
        assert_eq!(leading_run(letter_bits(load8(b"Cairo, Feb", 0))), 5);
        assert_eq!(leading_run(letter_bits(load8(b"abcdefghij", 0))), 8);
        assert_eq!(leading_run(digit_bits(load8(b"1987", 0))), 4);
        assert_eq!(leading_run(letter_bits(load8("Zürich".as_bytes(), 0))), 1);
        assert_eq!(load8(b"ab", 0), u64::from(b'a') | u64::from(b'b') << 8);
        assert_eq!(load8(b"ab", 2), 0);
        assert_eq!(load8(b"ab", 5), 0);
        assert_eq!(low_bytes(u64::MAX, 0), 0);
        assert_eq!(low_bytes(u64::MAX, 3), 0xff_ffff);
        assert_eq!(low_bytes(u64::MAX, 8), u64::MAX);
    }
}
