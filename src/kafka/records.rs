//! The records one input record causes: enriched copies (main topic, routes, or the duplicates
//! topic) or one dead letter. Keys are story ids; headers carry the source coordinates and the
//! W3C `traceparent`, so every output can be traced back to its input.

use crate::config::OutputConfig;
use crate::encode::{encode, encoded_with};
use crate::error::Rejection;
use crate::model::EnrichedStory;
use crate::route::destinations;

pub const H_SOURCE_TOPIC: &str = "wirefeed-source-topic";
pub const H_SOURCE_PARTITION: &str = "wirefeed-source-partition";
pub const H_SOURCE_OFFSET: &str = "wirefeed-source-offset";
pub const H_SOURCE_TIMESTAMP: &str = "wirefeed-source-timestamp";
pub const H_ERROR_KIND: &str = "wirefeed-error-kind";
pub const H_ERROR_REASON: &str = "wirefeed-error-reason";
pub const H_TRACEPARENT: &str = "traceparent";

/// Where an input record came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// Record timestamp in milliseconds since the epoch, when the record has one.
    pub timestamp_ms: Option<i64>,
    pub traceparent: Option<Vec<u8>>,
}

impl Source {
    fn headers(&self) -> Vec<(String, Vec<u8>)> {
        let mut h = vec![
            (H_SOURCE_TOPIC.into(), self.topic.as_bytes().to_vec()),
            (
                H_SOURCE_PARTITION.into(),
                self.partition.to_string().into_bytes(),
            ),
            (H_SOURCE_OFFSET.into(), self.offset.to_string().into_bytes()),
        ];
        if let Some(ts) = self.timestamp_ms {
            h.push((H_SOURCE_TIMESTAMP.into(), ts.to_string().into_bytes()));
        }
        // With trace export on, the story span's own context; else the input's trace, continued.
        if let Some(tp) = crate::telemetry::output_traceparent().or_else(|| {
            self.traceparent
                .as_deref()
                .and_then(|tp| continue_trace(tp, &self.origin()))
        }) {
            h.push((H_TRACEPARENT.into(), tp.into_bytes()));
        }
        h
    }

    pub fn origin(&self) -> String {
        format!("{}/{}@{}", self.topic, self.partition, self.offset)
    }
}

/// Continue a W3C trace: same trace id and flags, a new span id for wirefeed's processing of
/// this record (derived from the record's origin, so a replayed record gets the same one).
/// An invalid header is not propagated.
pub fn continue_trace(traceparent: &[u8], origin: &str) -> Option<String> {
    let text = std::str::from_utf8(traceparent).ok()?.trim();
    let mut parts = text.split('-');
    let (version, trace_id, parent_id, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    if version != "00"
        || parts.next().is_some()
        || !hex(trace_id, 32)
        || !hex(parent_id, 16)
        || !hex(flags, 2)
        || trace_id.bytes().all(|b| b == b'0')
    {
        return None;
    }
    let mut span =
        xxhash_rust::xxh3::xxh3_64(format!("{trace_id}/{parent_id}/{origin}").as_bytes());
    if span == 0 {
        span = 1;
    }
    Some(format!(
        "00-{}-{span:016x}-{}",
        trace_id.to_ascii_lowercase(),
        flags
    ))
}

/// An output record, owned so it can be re-sent after a retriable failure.
#[derive(Debug, Clone, PartialEq)]
pub struct OutRecord {
    pub topic: String,
    pub key: Vec<u8>,
    pub payload: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
    /// Dedup status of the story, or "dead-letter": the `status` label of the publish metric.
    pub status: &'static str,
}

impl OutRecord {
    /// The headers as librdkafka takes them.
    pub fn kafka_headers(&self) -> rdkafka::message::OwnedHeaders {
        self.headers.iter().fold(
            rdkafka::message::OwnedHeaders::new_with_capacity(self.headers.len()),
            |hs, (k, v)| {
                hs.insert(rdkafka::message::Header {
                    key: k,
                    value: Some(v),
                })
            },
        )
    }
}

/// The records for an enriched story: one per destination (none when a duplicate is dropped).
pub fn story_records(
    story: &EnrichedStory,
    output: &OutputConfig,
    source: &Source,
) -> Vec<OutRecord> {
    let topics = destinations(story, output);
    if topics.is_empty() {
        return Vec::new();
    }
    records_to(topics, story, encode(story), source)
}

/// [`story_records`] with a payload encoded earlier ([`crate::encode::pre_encode`]).
pub fn story_records_with(
    story: &EnrichedStory,
    payload: impl FnOnce() -> Vec<u8>,
    output: &OutputConfig,
    source: &Source,
) -> Vec<OutRecord> {
    let topics = destinations(story, output);
    if topics.is_empty() {
        return Vec::new();
    }
    records_to(topics, story, encoded_with(story, payload()), source)
}

fn records_to(
    topics: Vec<&str>,
    story: &EnrichedStory,
    encoded: crate::encode::Encoded,
    source: &Source,
) -> Vec<OutRecord> {
    let mut headers = encoded.headers;
    headers.extend(source.headers());
    let status = story.dedup.status.as_str();
    let mut records = Vec::with_capacity(topics.len());
    let (last, copies) = topics.split_last().expect("at least one destination");
    for topic in copies {
        records.push(OutRecord {
            topic: topic.to_string(),
            key: encoded.key.clone(),
            payload: encoded.payload.clone(),
            headers: headers.clone(),
            status,
        });
    }
    // The last destination takes the buffers themselves: one destination, no copy.
    records.push(OutRecord {
        topic: last.to_string(),
        key: encoded.key,
        payload: encoded.payload,
        headers,
        status,
    });
    records
}

/// The dead letter for a rejected input: the original payload and key, the reason, the origin.
pub fn dead_letter(
    payload: &[u8],
    key: Option<&[u8]>,
    rejection: &Rejection,
    output: &OutputConfig,
    source: &Source,
) -> OutRecord {
    let mut headers = vec![
        (H_ERROR_KIND.to_string(), rejection.kind.as_bytes().to_vec()),
        (
            H_ERROR_REASON.to_string(),
            rejection.reason.as_bytes().to_vec(),
        ),
    ];
    headers.extend(source.headers());
    OutRecord {
        topic: output.dead_letter_topic.clone(),
        key: key.map(<[u8]>::to_vec).unwrap_or_default(),
        payload: payload.to_vec(),
        headers,
        status: "dead-letter",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DedupDecision, Format};

    fn source() -> Source {
        Source {
            topic: "wire.raw".into(),
            partition: 3,
            offset: 42,
            timestamp_ms: Some(1_700_000_000_000),
            traceparent: Some(b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_vec()),
        }
    }

    #[test]
    fn dead_letters_keep_payload_reason_and_origin() {
        let rej = Rejection {
            kind: "invalid-json",
            reason: "EOF while parsing at line 1 column 9".into(),
        };
        let r = dead_letter(b"{\"head", None, &rej, &OutputConfig::default(), &source());
        assert_eq!(r.topic, "wire.dlq");
        assert_eq!(r.payload, b"{\"head");
        let get = |k: &str| {
            r.headers
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| String::from_utf8_lossy(v).to_string())
        };
        assert_eq!(get(H_ERROR_KIND).as_deref(), Some("invalid-json"));
        assert_eq!(get(H_SOURCE_PARTITION).as_deref(), Some("3"));
        assert_eq!(get(H_SOURCE_OFFSET).as_deref(), Some("42"));
        assert!(get(H_TRACEPARENT).is_some());
    }

    #[test]
    fn traces_are_continued_with_a_new_span() {
        let parent = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let child = continue_trace(parent, "t/0@1").unwrap();
        assert!(child.starts_with("00-0af7651916cd43dd8448eb211c80319c-"));
        assert!(child.ends_with("-01"));
        assert!(!child.contains("b7ad6b7169203331"));
        assert_eq!(
            child,
            continue_trace(parent, "t/0@1").unwrap(),
            "deterministic"
        );
        assert_ne!(child, continue_trace(parent, "t/0@2").unwrap());
        assert_eq!(continue_trace(b"garbage", "x"), None);
        assert_eq!(
            continue_trace(
                b"00-00000000000000000000000000000000-b7ad6b7169203331-01",
                "x"
            ),
            None
        );
    }

    #[test]
    fn story_records_are_keyed_by_id() {
        let story = EnrichedStory {
            id: "abc".into(),
            version: None,
            source: None,
            headline: None,
            body: "b".into(),
            dateline: None,
            published_at: None,
            language: None,
            url: None,
            format: Format::Json,
            countries: vec![],
            regions: vec![],
            topics: vec![],
            dedup: DedupDecision::unique(),
            warnings: vec![],
        };
        let recs = story_records(&story, &OutputConfig::default(), &source());
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].key, b"abc");
        assert_eq!(recs[0].status, "unique");
    }
}
