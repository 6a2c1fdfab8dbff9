//! Bytes -> text. Wire payloads arrive as UTF-8, UTF-16 with a BOM, or a legacy 8-bit charset
//! (Latin-1 / windows-1252 are by far the most common on old agency lines). A guess is never
//! silent: it comes back as a warning the story carries.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, WINDOWS_1252};

use crate::error::DecodeError;

/// Text recovered from a payload, and how it was obtained when that was not plain UTF-8.
pub(crate) struct Text<'a> {
    pub text: Cow<'a, str>,
    pub warning: Option<String>,
}

/// C0 controls that framed wire formats use on purpose (ANPA / IPTC 7901): SYN, SOH, STX, ETX,
/// EOT, plus the formatting controls tab, LF, VT, FF, CR and a few ANPA in-band codes.
fn is_allowed_control(b: u8) -> bool {
    matches!(
        b,
        b'\t' | b'\n' | b'\r' | 0x01..=0x04 | 0x0b | 0x0c | 0x10..=0x13 | 0x16 | 0x1e | 0x1f
    )
}

/// Refuse payloads that are not text: NUL bytes, a well-known binary signature, or a high ratio
/// of control characters. Cheap byte scan, run before any parsing.
pub(crate) fn check_not_binary(bytes: &[u8]) -> Result<(), DecodeError> {
    const SIGNATURES: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1a\n", "PNG image"),
        (b"\xff\xd8\xff", "JPEG image"),
        (b"GIF8", "GIF image"),
        (b"%PDF-", "PDF document"),
        (b"PK\x03\x04", "ZIP archive"),
        (b"\x1f\x8b", "gzip data"),
        (b"RIFF", "RIFF media"),
        (b"ID3", "MP3 audio"),
        (b"\x7fELF", "ELF executable"),
    ];
    for (sig, what) in SIGNATURES {
        if bytes.starts_with(sig) {
            return Err(DecodeError::Binary(format!("{what} signature")));
        }
    }
    // UTF-16 legitimately carries NULs; it is recognised by its BOM before this check.
    let mut controls = 0usize;
    let mut count = |offset: usize, chunk: &[u8]| -> Result<(), DecodeError> {
        for (k, &b) in chunk.iter().enumerate() {
            if b == 0 {
                return Err(DecodeError::Binary(format!(
                    "NUL byte at offset {}",
                    offset + k
                )));
            }
            if (b < 0x20 && !is_allowed_control(b)) || b == 0x7f {
                controls += 1;
            }
        }
        Ok(())
    };
    // Eight bytes at a time: most words of text hold no control character at all.
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        if may_hold_control(u64::from_le_bytes(word)) {
            count(offset, chunk)?;
        }
        offset += 8;
    }
    count(offset, chunks.remainder())?;
    // More than 5% stray controls is not text in any charset we accept.
    if controls > 0 && controls * 20 > bytes.len() {
        return Err(DecodeError::Binary(format!(
            "{controls} control characters in {} bytes",
            bytes.len()
        )));
    }
    Ok(())
}

/// Whether any byte of `x` is below 0x20 or is DEL (0x7f), by the usual bit tricks: a byte
/// below `n` borrows when `n` is subtracted, a zero byte when 1 is.
fn may_hold_control(x: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below_space = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
    let del = x ^ (ONES * 0x7f);
    let is_del = del.wrapping_sub(ONES) & !del & HIGH;
    (below_space | is_del) != 0
}

/// Whether the payload starts with a UTF-16 byte-order mark.
pub(crate) fn utf16_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    if bytes.starts_with(&[0xff, 0xfe]) {
        Some(UTF_16LE)
    } else if bytes.starts_with(&[0xfe, 0xff]) {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// Decode bytes that carry no declared charset: UTF-8 (BOM stripped), else windows-1252 when
/// the bytes look like legacy 8-bit text, with a warning.
pub(crate) fn to_text(bytes: &[u8]) -> Result<Text<'_>, DecodeError> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(Text {
            text: Cow::Borrowed(s),
            warning: None,
        }),
        Err(e) => legacy(bytes, e.valid_up_to()),
    }
}

/// Decode with a charset the payload declared (XML `encoding=`). Unknown labels fall back to
/// [`to_text`].
pub(crate) fn to_text_declared<'a>(bytes: &'a [u8], label: &str) -> Result<Text<'a>, DecodeError> {
    let enc = Encoding::for_label(label.trim().as_bytes());
    match enc {
        // Senders often declare Latin-1 and send UTF-8; valid multi-byte UTF-8 is never
        // meant as Latin-1 text.
        Some(enc)
            if enc != encoding_rs::UTF_8
                && !bytes.is_ascii()
                && std::str::from_utf8(bytes).is_ok() =>
        {
            let text = std::str::from_utf8(bytes).unwrap_or_default();
            Ok(Text {
                text: Cow::Borrowed(text),
                warning: Some(format!(
                    "declared {} but is valid UTF-8; read as UTF-8",
                    enc.name()
                )),
            })
        }
        Some(enc) if enc != encoding_rs::UTF_8 && enc != UTF_16LE && enc != UTF_16BE => {
            let (text, _, had_errors) = enc.decode(bytes);
            if had_errors {
                return Err(DecodeError::Encoding(format!(
                    "bytes not valid in declared charset {}",
                    enc.name()
                )));
            }
            Ok(Text {
                text,
                warning: None,
            })
        }
        _ => to_text(bytes),
    }
}

/// Invalid UTF-8: accept as windows-1252 only when the high bytes are plausible there.
fn legacy(bytes: &[u8], valid_up_to: usize) -> Result<Text<'_>, DecodeError> {
    // Bytes undefined in windows-1252 do not occur in real legacy text.
    const UNDEFINED: [u8; 5] = [0x81, 0x8d, 0x8f, 0x90, 0x9d];
    let high = bytes.iter().filter(|&&b| b >= 0x80).count();
    let undefined = bytes.iter().filter(|b| UNDEFINED.contains(b)).count();
    // Mostly-high bytes is compressed or encrypted data, not a European text.
    if undefined > 0 || high * 3 > bytes.len() {
        return Err(DecodeError::Encoding(format!(
            "invalid UTF-8 at byte {valid_up_to} and not plausible legacy text ({high} of {} bytes above 0x7F)",
            bytes.len()
        )));
    }
    let (text, _) = WINDOWS_1252.decode_without_bom_handling(bytes);
    Ok(Text {
        text,
        warning: Some(format!(
            "decoded as windows-1252 (invalid UTF-8 at byte {valid_up_to})"
        )),
    })
}

/// Decode a UTF-16 payload whose BOM was seen.
pub(crate) fn from_utf16(bytes: &[u8], enc: &'static Encoding) -> Result<String, DecodeError> {
    let (text, _, had_errors) = enc.decode(bytes);
    if had_errors {
        return Err(DecodeError::Encoding(format!("invalid {}", enc.name())));
    }
    Ok(text.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_bom_is_stripped() {
        let t = to_text(b"\xef\xbb\xbfhello").unwrap();
        assert_eq!(t.text, "hello");
        assert!(t.warning.is_none());
    }

    #[test]
    fn latin1_is_decoded_with_a_warning() {
        let t = to_text(b"Thomas M\xfcller scored").unwrap();
        assert_eq!(t.text, "Thomas Müller scored");
        assert!(t.warning.unwrap().contains("windows-1252"));
    }

    #[test]
    fn random_high_bytes_are_refused() {
        let bytes: Vec<u8> = (0..200u32).map(|i| (0x80 + (i * 37) % 120) as u8).collect();
        assert!(matches!(to_text(&bytes), Err(DecodeError::Encoding(_))));
    }

    #[test]
    fn nul_and_png_are_binary() {
        assert!(check_not_binary(b"abc\0def").is_err());
        assert!(check_not_binary(b"\x89PNG\r\n\x1a\nxxxx").is_err());
        assert!(check_not_binary(b"\x01header\x02body\x03").is_ok());
    }

    #[test]
    fn word_test_finds_every_control_byte_in_every_position() {
        for b in 0..=255u8 {
            let control = b < 0x20 || b == 0x7f;
            for pos in 0..8 {
                let mut word = [b'a'; 8];
                word[pos] = b;
                assert_eq!(
                    may_hold_control(u64::from_le_bytes(word)),
                    control,
                    "{b:#x}"
                );
            }
        }
    }

    #[test]
    fn nul_offset_and_control_ratio_count_every_byte() {
        let mut text = b"0123456789abcdef".repeat(3);
        text[21] = 0;
        assert_eq!(
            check_not_binary(&text).unwrap_err(),
            DecodeError::Binary("NUL byte at offset 21".into())
        );
        // Five stray controls in 100 bytes are tolerated, six are not.
        let mut stray = vec![b'x'; 100];
        for pos in [3, 17, 31, 45, 59] {
            stray[pos] = 0x07;
        }
        assert!(check_not_binary(&stray).is_ok());
        stray[99] = 0x7f;
        assert!(check_not_binary(&stray).is_err());
    }
}
