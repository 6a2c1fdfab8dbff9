//! Bytes -> [`Story`]: sniff the payload's shape and hand it to the decoder for that format.
//! Decoding does no I/O and knows nothing about Kafka.
//!
//! Order of checks: size, emptiness, charset (UTF-16 BOM), binary content, then the first
//! significant byte picks the format: `{`/`[` JSON, `<` XML, SOH/SYN/STX framing ANPA or
//! IPTC 7901, anything else plain text. Every refusal names its reason.

mod anpa;
mod charset;
mod html;
mod iptc7901;
mod json;
mod newsml1;
mod newsml_g2;
mod nitf;
mod signal;
mod text;
mod xml;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::error::DecodeError;
use crate::model::Story;

/// Limits that keep a hostile payload from costing more than a normal one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecodeConfig {
    /// Larger payloads are rejected before parsing.
    pub max_payload_bytes: usize,
    /// Deeper JSON is rejected (serde_json's own limit is 128).
    pub max_json_depth: usize,
}

impl Default for DecodeConfig {
    fn default() -> Self {
        DecodeConfig {
            max_payload_bytes: 2 * 1024 * 1024,
            max_json_depth: 64,
        }
    }
}

const SOH: u8 = 0x01;
const STX: u8 = 0x02;
const SYN: u8 = 0x16;

/// Decode one message payload into a story.
pub fn decode(payload: &[u8], config: &DecodeConfig) -> Result<Story, DecodeError> {
    if payload.len() > config.max_payload_bytes {
        return Err(DecodeError::TooLarge {
            size: payload.len(),
            limit: config.max_payload_bytes,
        });
    }
    if payload.is_empty() {
        return Err(DecodeError::Empty);
    }
    // UTF-16 is re-encoded once; everything after works on UTF-8-or-legacy bytes.
    let bytes: Cow<'_, [u8]> = match charset::utf16_bom(payload) {
        Some(enc) => Cow::Owned(charset::from_utf16(payload, enc)?.into_bytes()),
        None => Cow::Borrowed(payload),
    };
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
    let Some(start) = bytes.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Err(DecodeError::Empty);
    };
    // The usual payload, a plain JSON object, is checked and read in one pass; anything that
    // pass is unsure of goes through the checks below one by one.
    let plain = match bytes[start] {
        b'{' => json::decode_plain(bytes, config.max_json_depth),
        _ => None,
    };
    let mut story = match plain {
        Some(story) => story?,
        None => decode_checked(bytes, start, config)?,
    };
    tidy(&mut story);
    if story.body.is_empty() && story.headline.is_none() {
        return Err(DecodeError::NoText(format!(
            "{} payload has no headline and no body text",
            story.format.as_str()
        )));
    }
    Ok(story)
}

/// Binary check, then the decoder the first significant byte (at `start`) picks.
fn decode_checked(bytes: &[u8], start: usize, config: &DecodeConfig) -> Result<Story, DecodeError> {
    charset::check_not_binary(bytes)?;
    let story = match bytes[start] {
        b'{' | b'[' => {
            json::check_depth(&bytes[start..], config.max_json_depth)?;
            let text = charset::to_text(bytes)?;
            let mut story = json::decode(&text.text)?;
            story.warnings.extend(text.warning);
            story
        }
        b'<' => decode_xml(bytes)?,
        SOH | SYN | STX => {
            let text = charset::to_text(bytes)?;
            let mut story = if is_anpa(bytes) {
                anpa::decode(&text.text)
            } else {
                iptc7901::decode(&text.text)
            };
            story.warnings.extend(text.warning);
            story
        }
        _ => {
            let text = charset::to_text(bytes)?;
            let mut story = text::decode(&text.text);
            story.warnings.extend(text.warning);
            story
        }
    };
    Ok(story)
}

/// ANPA headers carry a unit separator (0x1F) after the service id, and ANPA text lines start
/// with `^`; IPTC 7901 has neither.
fn is_anpa(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(512)];
    if head.starts_with(&[SYN]) {
        return true;
    }
    let stx = head.iter().position(|&b| b == STX);
    let header = &head[..stx.unwrap_or(head.len())];
    header.contains(&0x1f) || stx.is_some_and(|p| head.get(p + 1) == Some(&b'^'))
}

fn decode_xml(bytes: &[u8]) -> Result<Story, DecodeError> {
    let doc = xml::parse(bytes, |name| {
        matches!(name, "nitf" | "NewsML" | "NewsItem") || newsml_g2::is_root(name)
    })?;
    let root = &doc.root;
    let mut story = match root.name.as_str() {
        "nitf" => nitf::decode(root),
        "NewsML" | "NewsItem" => newsml1::decode(root)?,
        _ => newsml_g2::decode(root)?,
    };
    story.warnings.extend(doc.warning);
    Ok(story)
}

/// Empty strings become None, surrounding whitespace goes.
fn tidy(story: &mut Story) {
    for field in [
        &mut story.id,
        &mut story.source,
        &mut story.headline,
        &mut story.dateline,
        &mut story.published_raw,
        &mut story.url,
        &mut story.language,
    ] {
        if let Some(v) = field {
            let t = v.trim();
            if t.is_empty() {
                *field = None;
            } else if t.len() != v.len() {
                *v = t.to_owned();
            }
        }
    }
    let t = story.body.trim();
    if t.len() != story.body.len() {
        story.body = t.to_owned();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Format;

    fn d(bytes: &[u8]) -> Result<Story, DecodeError> {
        decode(bytes, &DecodeConfig::default())
    }

    #[test]
    fn sniffs_each_shape() {
        assert_eq!(
            d(br#"{"headline":"h","body":"b"}"#).unwrap().format,
            Format::Json
        );
        assert_eq!(
            d(b"<nitf><body><body.content><p>x</p></body.content></body></nitf>")
                .unwrap()
                .format,
            Format::Nitf
        );
        assert_eq!(d(b"Just some text.").unwrap().format, Format::Text);
        assert_eq!(
            d(b"\x01eca1 4 i 1 c dpa 1\r\n\x02Head =\r\n\r\nBody.\x03")
                .unwrap()
                .format,
            Format::Iptc7901
        );
    }

    #[test]
    fn size_is_checked_first() {
        let config = DecodeConfig {
            max_payload_bytes: 4,
            ..DecodeConfig::default()
        };
        assert_eq!(
            decode(b"\x89PNG\r\n", &config).unwrap_err().kind(),
            "too-large"
        );
    }

    #[test]
    fn utf16_with_bom() {
        let mut bytes = vec![0xff, 0xfe];
        for u in "Hello wire".encode_utf16() {
            bytes.extend(u.to_le_bytes());
        }
        assert_eq!(d(&bytes).unwrap().body, "Hello wire");
    }

    #[test]
    fn html_page_is_an_unknown_root_even_when_malformed() {
        let page = b"<!DOCTYPE html><html><head><meta charset=utf-8><title>x</title></head><body><p>a<br>b</body></html>";
        assert_eq!(
            d(page).unwrap_err(),
            DecodeError::UnknownXmlRoot("html".into())
        );
    }

    #[test]
    fn whitespace_is_empty() {
        assert_eq!(d(b" \n\t ").unwrap_err(), DecodeError::Empty);
    }
}
