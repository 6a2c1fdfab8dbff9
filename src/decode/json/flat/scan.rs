//! The usual payload, one flat JSON object of strings, read in a single strict byte pass that
//! also stands in for the binary, depth and syntax checks.
//!
//! [`item`] returns an [`Item`] only for input that the full path would accept and read the
//! same way: valid JSON (the grammar `serde_json` enforces), no control character but JSON
//! whitespace, no DEL, nesting within the limit. On anything else, and on what it leaves to
//! `serde_json` (numbers under story keys, escaped keys, surrogate escapes), it gives up with
//! `None` and the payload takes the full path, which words the errors.

use std::borrow::Cow;

use super::{key_kind, Item, Key, Scalar};

/// The flat story object in `text`, or `None` when the full path must decide.
pub(in crate::decode::json) fn item(text: &str, depth_limit: usize) -> Option<Item<'_>> {
    let mut p = Scanner {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        // Compact JSON holds no control byte at all: then string runs need no check of their
        // own. One pass over the payload is cheaper than one per run.
        controls: has_control(text.as_bytes()),
    };
    p.whitespace();
    if p.next()? != b'{' || depth_limit == 0 {
        return None;
    }
    let mut item = Item::empty();
    p.whitespace();
    if p.peek() == Some(b'}') {
        p.pos += 1;
    } else {
        loop {
            p.whitespace();
            if p.next()? != b'"' {
                return None;
            }
            let key = p.key()?;
            p.whitespace();
            if p.next()? != b':' {
                return None;
            }
            p.whitespace();
            match key_kind(key)? {
                Key::Scalar(i) => {
                    // A repeated key keeps its last value, as the other paths do.
                    item.values[i] = Some(p.scalar()?);
                    item.present |= 1 << i;
                }
                Key::Presence(i) => {
                    p.skip_value(1, depth_limit)?;
                    item.present |= 1 << i;
                }
                Key::Other => p.skip_value(1, depth_limit)?,
            }
            p.whitespace();
            match p.next()? {
                b',' => {}
                b'}' => break,
                _ => return None,
            }
        }
    }
    p.whitespace();
    (p.pos == p.bytes.len()).then_some(item)
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// The payload holds a control byte or DEL somewhere (JSON whitespace, or an error).
    controls: bool,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    /// JSON whitespace only: a form feed or another control byte is not, and stops the scan.
    fn whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// Where the run of plain string bytes from `from` ends: at a quote or a backslash, `None`
    /// when a control byte or DEL comes first (or no end comes at all).
    fn run_end(&self, from: usize) -> Option<usize> {
        let rest = self.bytes.get(from..)?;
        let at = memchr::memchr2(b'"', b'\\', rest)?;
        if self.controls && has_control(&rest[..at]) {
            return None;
        }
        Some(from + at)
    }

    /// An object key whose opening quote was read; escaped keys are left to `serde_json`.
    fn key(&mut self) -> Option<&'a str> {
        let start = self.pos;
        let end = self.run_end(start)?;
        if self.bytes[end] != b'"' {
            return None;
        }
        self.pos = end + 1;
        self.text.get(start..end)
    }

    /// A string whose opening quote was read: borrowed when it holds no escape.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        let start = self.pos;
        let mut end = self.run_end(start)?;
        if self.bytes[end] == b'"' {
            self.pos = end + 1;
            return self.text.get(start..end).map(Cow::Borrowed);
        }
        // Unescaped text is never longer than the JSON that spells it.
        let mut out = String::with_capacity(self.bytes.len() - start);
        let mut from = start;
        loop {
            out.push_str(self.text.get(from..end)?);
            if self.bytes[end] == b'"' {
                self.pos = end + 1;
                return Some(Cow::Owned(out));
            }
            let (c, len) = self.escape(end)?;
            out.push(c);
            from = end + len;
            end = self.run_end(from)?;
        }
    }

    /// The character of the escape at `at` (a backslash) and the escape's length; `None` for
    /// an invalid escape or a surrogate (the full path words or pairs those).
    fn escape(&self, at: usize) -> Option<(char, usize)> {
        let c = match *self.bytes.get(at + 1)? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => return char::from_u32(self.hex4(at + 2)?).map(|c| (c, 6)),
            _ => return None,
        };
        Some((c, 2))
    }

    fn hex4(&self, from: usize) -> Option<u32> {
        let digits = self.bytes.get(from..from + 4)?;
        digits.iter().try_fold(0u32, |n, &d| {
            let v = (d as char).to_digit(16)?;
            Some(n << 4 | v)
        })
    }

    /// A string that is only checked, not built; any four hex digits make a `\u` escape, as
    /// `serde_json` skips them.
    fn skip_string(&mut self) -> Option<()> {
        let mut end = self.run_end(self.pos)?;
        while self.bytes[end] == b'\\' {
            let len = match *self.bytes.get(end + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => 2,
                b'u' => {
                    self.hex4(end + 2)?;
                    6
                }
                _ => return None,
            };
            end = self.run_end(end + len)?;
        }
        self.pos = end + 1;
        Some(())
    }

    /// The value of a story key; numbers, arrays and objects are left to the full path.
    fn scalar(&mut self) -> Option<Scalar<'a>> {
        match self.next()? {
            b'"' => self.string().map(Scalar::Str),
            b'n' => self.literal(b"ull").map(|_| Scalar::Null),
            b't' => self.literal(b"rue").map(|_| Scalar::Bool),
            b'f' => self.literal(b"alse").map(|_| Scalar::Bool),
            _ => None,
        }
    }

    fn literal(&mut self, rest: &[u8]) -> Option<()> {
        if !self.bytes.get(self.pos..)?.starts_with(rest) {
            return None;
        }
        self.pos += rest.len();
        Some(())
    }

    /// Skip one value inside an object or array at nesting `depth` (the top object is 1).
    fn skip_value(&mut self, depth: usize, limit: usize) -> Option<()> {
        match self.next()? {
            b'"' => self.skip_string(),
            b'n' => self.literal(b"ull"),
            b't' => self.literal(b"rue"),
            b'f' => self.literal(b"alse"),
            b'-' | b'0'..=b'9' => {
                self.pos -= 1;
                self.skip_number()
            }
            open @ (b'{' | b'[') => {
                let depth = depth + 1;
                if depth > limit {
                    return None;
                }
                let close = if open == b'{' { b'}' } else { b']' };
                self.whitespace();
                if self.peek() == Some(close) {
                    self.pos += 1;
                    return Some(());
                }
                loop {
                    self.whitespace();
                    if open == b'{' {
                        if self.next()? != b'"' {
                            return None;
                        }
                        self.skip_string()?;
                        self.whitespace();
                        if self.next()? != b':' {
                            return None;
                        }
                        self.whitespace();
                    }
                    self.skip_value(depth, limit)?;
                    self.whitespace();
                    match self.next()? {
                        b',' => {}
                        b if b == close => return Some(()),
                        _ => return None,
                    }
                }
            }
            _ => None,
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn skip_number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.next()? {
            b'0' => {}
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        // "01": a digit after a leading zero is not JSON.
        match self.peek() {
            Some(b'0'..=b'9') => None,
            _ => Some(()),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }
}

/// Whether `bytes` hold a control byte or DEL. A fold with no early exit, so that it is
/// compiled to vector compares.
fn has_control(bytes: &[u8]) -> bool {
    bytes.iter().fold(0u8, |seen, &b| {
        seen | u8::from(b < 0x20) | u8::from(b == 0x7f)
    }) != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{charset, json::check_depth};

    /// What the scan vouches for, the full path must agree with: the checks pass and the
    /// `serde_json` reading gives the same item.
    fn agrees(payload: &str) -> bool {
        let Some(scanned) = item(payload, 4) else {
            return false;
        };
        assert!(
            charset::check_not_binary(payload.as_bytes()).is_ok(),
            "{payload:?}"
        );
        assert!(check_depth(payload.as_bytes(), 4).is_ok(), "{payload:?}");
        assert_eq!(Item::parse(payload).ok(), Some(scanned), "{payload:?}");
        true
    }

    #[test]
    fn plain_objects_read_as_serde_json_reads_them() {
        for payload in [
            r#"{}"#,
            " {\"title\":\"T\"} \n",
            "{\r\n\t\"title\" : \"T\" ,\n \"body\":\"a\\nb\"}",
            r#"{"body":"Z\u00fcrich \u20ac \"q\" \\ \/ \b\f\r\t end"}"#,
            r#"{"title":"Grüße","body":"日本"}"#,
            r#"{"title":"a","title":"b","uri":null,"type":true,"version":false}"#,
            r#"{"labels":{"x":[1,-0.5,2e10,1E+3,0,-12.75e-3,true,false,null,"s\u12ab\""],"y":{}},"z":[]}"#,
            r#"{"altids":{"a":"\n"},"renditions":[[]]}"#,
            r#"{"labels":{"odd\u0041key":1},"title":"T"}"#,
        ] {
            assert!(agrees(payload), "not scanned: {payload:?}");
        }
    }

    #[test]
    fn anything_unusual_is_left_to_the_full_path() {
        for payload in [
            // Numbers under story keys, arrays and objects under story keys, wrappers.
            r#"{"version":3}"#,
            r#"{"body":["a"]}"#,
            r#"{"provider":{"name":"AP"}}"#,
            r#"{"data":{"item":{}}}"#,
            r#"{"item":{}}"#,
            r#"[{"body":"x"}]"#,
            // Escaped keys and surrogate escapes.
            r#"{"b\u006fdy":"x"}"#,
            r#"{"odd\u0041key":1}"#,
            r#"{"body":"\ud83d\ude00"}"#,
            r#"{"body":"\udc00"}"#,
            // Control bytes, DEL, a form feed as whitespace.
            "{\"body\":\"a\nb\"}",
            "{\"body\":\"a\tb\"}",
            "{\"body\":\"a\u{7f}b\"}",
            "\u{c}{\"body\":\"x\"}",
            "{\"body\":\"x\"}\u{0}",
            // Nesting past the limit.
            r#"{"x":[[[[1]]]]}"#,
            // Syntax errors.
            r#"{"body":"x",}"#,
            r#"{"body":"x""#,
            r#"{"body":"x"} trailing"#,
            r#"{"body" "x"}"#,
            r#"{"x":01}"#,
            r#"{"x":1.}"#,
            r#"{"x":-}"#,
            r#"{"x":1e}"#,
            r#"{"x":.5}"#,
            r#"{"x":[1,]}"#,
            r#"{"x":{"a":1,}}"#,
            r#"{"x":tru}"#,
            r#"{"x":"\q"}"#,
            r#"{"x":"\u12g4"}"#,
            r#"{"body":nul}"#,
            r#"{"body":"x\"#,
            "",
            "{",
        ] {
            assert!(item(payload, 4).is_none(), "scanned: {payload:?}");
        }
    }

    /// Mutated payloads (bytes replaced, inserted, removed, cut short) near the usual shape:
    /// whatever the scan still vouches for, the full path must read the same way.
    #[test]
    fn mutated_payloads_never_scan_differently() {
        let seeds = [
            r#"{"id":"tag:reuters.com,1987:1","version":"2","title":"Brazil coffee \"exports\" up","body":"SAO PAULO, Feb 26 - Exports\nrose 4.5 pct.\u00e9 Reuter","labels":{"x":[1,-0.5e3,true,null]},"language":"en"}"#,
            r#"{"headline":"T","altids":{"a":"\n"},"renditions":[[]],"urgency":3,"body_text":"b"}"#,
        ];
        const PIECES: &[&[u8]] = &[
            b"\"",
            b"\\",
            b"{",
            b"}",
            b"[",
            b"]",
            b",",
            b":",
            b" ",
            b"\n",
            b"\t",
            b"\x0c",
            b"\x00",
            b"\x7f",
            b"u",
            b"\\u",
            b"0",
            b"-",
            b"e",
            b".",
            b"n",
            b"t",
            b"f",
            b"\xc3\xa9",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            // xorshift64*: a fixed sequence, so a failure repeats.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
        };
        let mut scanned = 0;
        for seed in seeds {
            for _ in 0..4_000 {
                let mut bytes = seed.as_bytes().to_vec();
                for _ in 0..1 + next(3) {
                    let at = next(bytes.len() + 1);
                    let piece = PIECES[next(PIECES.len())];
                    match next(4) {
                        0 => bytes
                            .splice(
                                at..(at + piece.len()).min(bytes.len()),
                                piece.iter().copied(),
                            )
                            .for_each(drop),
                        1 => bytes.splice(at..at, piece.iter().copied()).for_each(drop),
                        2 if at < bytes.len() => drop(bytes.remove(at)),
                        _ => bytes.truncate(at),
                    }
                }
                if let Ok(payload) = std::str::from_utf8(&bytes) {
                    scanned += usize::from(agrees(payload));
                }
            }
        }
        // The mutations leave a fair share of payloads that the scan still reads.
        assert!(scanned > 500, "only {scanned} mutated payloads scanned");
    }

    #[test]
    fn depth_counts_the_top_object() {
        assert!(item(r#"{"x":[[1]]}"#, 3).is_some());
        assert!(item(r#"{"x":[[1]]}"#, 2).is_none());
        assert!(item("{}", 0).is_none());
    }
}
