//! JSON values written byte for byte as `serde_json` writes them, without going through
//! serde: strings are searched for bytes to escape a block or a word at a time instead of a
//! byte at a time, and copied a run at a time; timestamps are written without `fmt`. Numbers
//! still go through `serde_json`, so they cannot differ.

use chrono::{DateTime, Datelike, Timelike, Utc};

/// JSON being written.
pub(super) struct Out {
    buf: Vec<u8>,
}

impl Out {
    /// An empty output with room for `room` bytes before it has to grow.
    pub(super) fn with_room(room: usize) -> Out {
        Out {
            buf: Vec::with_capacity(room),
        }
    }

    /// More output after `written`, with room for `room` more bytes.
    pub(super) fn after(mut written: Vec<u8>, room: usize) -> Out {
        written.reserve(room);
        Out { buf: written }
    }

    pub(super) fn into_vec(self) -> Vec<u8> {
        self.buf
    }

    /// Bytes as they are: names, punctuation, literals, plain runs of strings.
    #[inline(always)]
    pub(super) fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// A string known to need no escape (a name from a fixed list), with its quotes.
    pub(super) fn plain_string(&mut self, s: &str) {
        debug_assert_eq!(find_escape(s.as_bytes(), 0), s.len());
        self.raw(b"\"");
        self.raw(s.as_bytes());
        self.raw(b"\"");
    }

    /// A JSON string: runs of plain bytes copied whole, escapes between them.
    pub(super) fn string(&mut self, s: &str) {
        let bytes = s.as_bytes();
        self.buf.reserve(bytes.len() + 2);
        self.raw(b"\"");
        let mut from = 0;
        loop {
            let at = find_escape(bytes, from);
            self.raw(&bytes[from..at]);
            let Some(&byte) = bytes.get(at) else { break };
            self.escape(byte);
            from = at + 1;
        }
        self.raw(b"\"");
    }

    /// The escape `serde_json` writes for a byte that needs one.
    fn escape(&mut self, byte: u8) {
        let short = match byte {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            0x09 => b't',
            0x0a => b'n',
            0x0c => b'f',
            0x0d => b'r',
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let (high, low) = (HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xf)]);
                self.raw(&[b'\\', b'u', b'0', b'0', high, low]);
                return;
            }
        };
        self.raw(&[b'\\', short]);
    }

    pub(super) fn optional_string(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.string(s),
            None => self.raw(b"null"),
        }
    }

    pub(super) fn strings(&mut self, list: &[String]) {
        self.raw(b"[");
        for (i, s) in list.iter().enumerate() {
            if i > 0 {
                self.raw(b",");
            }
            self.string(s);
        }
        self.raw(b"]");
    }

    /// A value `serde_json` writes itself: numbers (they are few, and so their form is its
    /// own) and times that [`Out::timestamp`] leaves to chrono.
    fn serialized<T: serde::Serialize>(&mut self, value: T) {
        let mut buf = [0u8; 64];
        let mut rest = &mut buf[..];
        serde_json::to_writer(&mut rest, &value).expect("a number or time fits 64 bytes");
        let written = 64 - rest.len();
        self.raw(&buf[..written]);
    }

    /// A score or similarity. Zero, the similarity of every unique story, is written directly.
    pub(super) fn fraction(&mut self, value: f32) {
        if value == 0.0 && value.is_sign_positive() {
            self.raw(b"0.0");
        } else {
            self.serialized(value);
        }
    }

    pub(super) fn optional_u64(&mut self, n: Option<u64>) {
        match n {
            Some(n) => self.serialized(n),
            None => self.raw(b"null"),
        }
    }

    /// A time as chrono serialises it: RFC 3339 in UTC with `Z`, and a fraction of 3, 6 or 9
    /// digits only when there is one. Years outside 0..=9999 go through chrono.
    pub(super) fn timestamp(&mut self, t: &DateTime<Utc>) {
        let utc = t.naive_utc();
        let (date, time) = (utc.date(), utc.time());
        let year = date.year();
        if !(0..=9999).contains(&year) {
            self.serialized(t);
            return;
        }
        let year = year as u32;
        let (mut second, mut nano) = (time.second(), time.nanosecond());
        // A leap second is written as second 60.
        if nano >= 1_000_000_000 {
            second += 1;
            nano -= 1_000_000_000;
        }
        let mut buf = *b"\"0000-00-00T00:00:00.000000000Z\"";
        two_digits(&mut buf, 1, year / 100);
        two_digits(&mut buf, 3, year % 100);
        two_digits(&mut buf, 6, date.month());
        two_digits(&mut buf, 9, date.day());
        two_digits(&mut buf, 12, time.hour());
        two_digits(&mut buf, 15, time.minute());
        two_digits(&mut buf, 18, second);
        let (digits, mut fraction) = if nano == 0 {
            (0, 0)
        } else if nano % 1_000_000 == 0 {
            (3, nano / 1_000_000)
        } else if nano % 1_000 == 0 {
            (6, nano / 1_000)
        } else {
            (9, nano)
        };
        let mut end = 20;
        if digits > 0 {
            for d in buf[21..21 + digits].iter_mut().rev() {
                *d = b'0' + (fraction % 10) as u8;
                fraction /= 10;
            }
            end = 21 + digits;
        }
        buf[end] = b'Z';
        buf[end + 1] = b'"';
        self.raw(&buf[..end + 2]);
    }

    pub(super) fn optional_timestamp(&mut self, t: Option<&DateTime<Utc>>) {
        match t {
            Some(t) => self.timestamp(t),
            None => self.raw(b"null"),
        }
    }
}

/// `n` (below 100) as two digits at `at`.
fn two_digits(buf: &mut [u8], at: usize, n: u32) {
    buf[at] = b'0' + (n / 10) as u8;
    buf[at + 1] = b'0' + (n % 10) as u8;
}

/// Whether a byte needs an escape, in a form the compiler turns into vector instructions
/// when it is applied to a whole block: zero exactly for `"`, `\\` and the controls.
#[inline(always)]
fn plain_unless_zero(byte: u8) -> u8 {
    (byte ^ b'"').min(byte ^ b'\\').min(byte & 0xe0)
}

const LOW_SEVEN: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const HIGHS: u64 = 0x8080_8080_8080_8080;
const ONES: u64 = 0x0101_0101_0101_0101;

/// The high bit of each byte of `word` that is not zero. Exact: no carry crosses a byte.
#[inline(always)]
fn nonzero_bytes(word: u64) -> u64 {
    ((word & LOW_SEVEN) + LOW_SEVEN) | word
}

/// The high bit of each byte of `word` (little-endian) that a JSON string must escape: `"`,
/// `\\` and the controls below 0x20. Exact for every byte, so a word may hold bytes that are
/// not the string's (zeros, masked off after).
#[inline(always)]
fn escape_bytes(word: u64) -> u64 {
    let plain = nonzero_bytes(word ^ (ONES * u64::from(b'"')))
        & nonzero_bytes(word ^ (ONES * u64::from(b'\\')))
        & nonzero_bytes(word & (ONES * 0xe0));
    !plain & HIGHS
}

fn word_at(bytes: &[u8], at: usize) -> u64 {
    bytes
        .get(at..at + 8)
        .map_or(0, |w| u64::from_le_bytes(w.try_into().unwrap_or_default()))
}

/// Index of the first byte from `from` that needs an escape, or `bytes.len()`.
#[inline(always)]
fn find_escape(bytes: &[u8], mut from: usize) -> usize {
    // Long plain stretches (most of a body) 32 bytes at a time, then 16, then a word at a
    // time: the words find the byte in a block that holds one.
    let holds_escape = |block: &[u8]| {
        block
            .iter()
            .fold(false, |any, &b| any | (plain_unless_zero(b) == 0))
    };
    while let Some(block) = bytes.get(from..from + 32) {
        if holds_escape(block) {
            break;
        }
        from += 32;
    }
    if bytes
        .get(from..from + 16)
        .is_some_and(|block| !holds_escape(block))
    {
        from += 16;
    }
    while from + 8 <= bytes.len() {
        let found = escape_bytes(word_at(bytes, from));
        if found != 0 {
            return from + (found.trailing_zeros() / 8) as usize;
        }
        from += 8;
    }
    // The last 1 to 7 bytes, in the low bytes of a word: the last word of the string moved
    // down, or the bytes one by one when the string is shorter than a word.
    let rest = bytes.len() - from;
    if rest == 0 {
        return from;
    }
    let word = if bytes.len() >= 8 {
        word_at(bytes, bytes.len() - 8) >> (8 * (8 - rest))
    } else {
        bytes[from..]
            .iter()
            .rev()
            .fold(0, |word, &b| word << 8 | u64::from(b))
    };
    let found = escape_bytes(word) & (u64::MAX >> (8 * (8 - rest)));
    if found == 0 {
        bytes.len()
    } else {
        from + (found.trailing_zeros() / 8) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What `write` adds after some bytes already written.
    fn written<T: ?Sized>(value: &T, write: impl Fn(&mut Out, &T)) -> String {
        let mut out = Out::after(b"prefix".to_vec(), 0);
        write(&mut out, value);
        String::from_utf8(out.into_vec().split_off(6)).unwrap()
    }

    #[test]
    fn fractions_are_written_as_serde_json_writes_them() {
        for value in [
            0.0,
            -0.0,
            1.0,
            0.5,
            0.93,
            1e-7,
            f32::NAN,
            f32::INFINITY,
            f32::MIN,
        ] {
            assert_eq!(
                written(&value, |out, v| out.fraction(*v)),
                serde_json::to_string(&value).unwrap()
            );
        }
    }

    #[test]
    fn every_escape_is_the_one_serde_json_writes() {
        for byte in 0u8..0x80 {
            let s = format!("a{}b{}", byte as char, byte as char);
            assert_eq!(
                written(s.as_str(), Out::string),
                serde_json::to_string(&s).unwrap(),
                "{byte:#x}"
            );
        }
        for s in [
            "",
            "\"",
            "\\\\",
            "1234567",
            "12345678",
            "123456789",
            "ünï — 日本\u{7f}",
        ] {
            assert_eq!(written(s, Out::string), serde_json::to_string(s).unwrap());
        }
    }

    /// A string mostly of bytes that need an escape or border on one, at every offset.
    fn tricky_string() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("\"".to_owned()),
            Just("\\".to_owned()),
            Just("\n".to_owned()),
            Just("\u{0}".to_owned()),
            Just("\u{1f}".to_owned()),
            Just(" ".to_owned()),
            Just("!".to_owned()),
            Just("#".to_owned()),
            Just("[".to_owned()),
            Just("]".to_owned()),
            Just("\u{7f}".to_owned()),
            Just("é".to_owned()),
            Just("\u{a0}".to_owned()),
            "[a-z]{0,9}",
        ];
        prop::collection::vec(piece, 0..64).prop_map(|p| p.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn strings_are_escaped_as_serde_json_escapes_them(s in any::<String>()) {
            prop_assert_eq!(written(s.as_str(), Out::string), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn escapes_next_to_each_other_are_escaped_as_serde_json_does(s in tricky_string()) {
            prop_assert_eq!(written(s.as_str(), Out::string), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn times_are_written_as_chrono_serialises_them(
            secs in -70_000_000_000i64..300_000_000_000,
            nanos in prop_oneof![
                Just(0u32),
                (0u32..1000).prop_map(|m| m * 1_000_000),
                (0u32..1_000_000).prop_map(|u| u * 1000),
                0u32..2_000_000_000,
            ],
        ) {
            // Nanoseconds past 1e9 are a leap second, which chrono allows only at second 59.
            let secs = if nanos >= 1_000_000_000 { secs - secs.rem_euclid(60) + 59 } else { secs };
            let Some(t) = DateTime::from_timestamp(secs, nanos) else {
                return Ok(());
            };
            prop_assert_eq!(written(&t, Out::timestamp), serde_json::to_string(&t).unwrap());
        }
    }
}
