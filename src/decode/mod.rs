//! Bytes -> [`Story`]: sniff the payload's shape and hand it to the decoder for that format.
//! Decoding does no I/O and knows nothing about Kafka.

use serde::{Deserialize, Serialize};

use crate::error::DecodeError;
use crate::model::{Format, Story};

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

/// Decode one message payload into a story.
pub fn decode(payload: &[u8], config: &DecodeConfig) -> Result<Story, DecodeError> {
    // Placeholder until the format decoders land: plain UTF-8 text only.
    if payload.is_empty() {
        return Err(DecodeError::Empty);
    }
    if payload.len() > config.max_payload_bytes {
        return Err(DecodeError::TooLarge {
            size: payload.len(),
            limit: config.max_payload_bytes,
        });
    }
    let text = std::str::from_utf8(payload).map_err(|e| DecodeError::Encoding(e.to_string()))?;
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        let get = |k: &str| value.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        return Ok(Story {
            id: get("id"),
            headline: get("headline").or_else(|| get("title")),
            body: get("body").unwrap_or_default(),
            dateline: get("dateline"),
            published_raw: get("published_at").or_else(|| get("date")),
            source: get("source"),
            format: Format::Json,
            ..Story::default()
        });
    }
    Ok(Story {
        body: text.to_owned(),
        format: Format::Text,
        ..Story::default()
    })
}
