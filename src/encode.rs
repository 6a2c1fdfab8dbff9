//! EnrichedStory -> record key, payload and headers. No I/O, no Kafka types.

use crate::model::EnrichedStory;

/// A record ready for any sink.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// The story id: keeps every version of a story on one partition downstream.
    pub key: Vec<u8>,
    pub payload: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
}

/// One JSON object, no trailing newline.
pub fn encode(story: &EnrichedStory) -> Encoded {
    let payload = serde_json::to_vec(story).expect("an EnrichedStory always serialises");
    Encoded {
        key: story.id.as_bytes().to_vec(),
        payload,
        headers: vec![
            (
                "wirefeed-dedup-status".into(),
                story.dedup.status.as_str().as_bytes().to_vec(),
            ),
            (
                "wirefeed-format".into(),
                story.format.as_str().as_bytes().to_vec(),
            ),
        ],
    }
}
