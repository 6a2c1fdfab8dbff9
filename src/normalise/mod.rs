//! Pure `Story -> Story` clean-up: Unicode NFC, typography, rejoined wire lines, page furniture
//! removed, dateline and agency credit extracted, timestamps parsed to UTC, language detected.
//! Normalising twice changes nothing.

use serde::{Deserialize, Serialize};

use crate::model::Story;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct NormaliseConfig {}

/// Clean one story.
pub fn normalise(mut story: Story, _config: &NormaliseConfig) -> Story {
    // Placeholder until the normaliser lands.
    story.body = story.body.trim().to_owned();
    story
}
