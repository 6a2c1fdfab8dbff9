//! IPTC Media Topics (placeholder until the lexicons land).

use serde::{Deserialize, Serialize};

use crate::error::TableError;
use crate::model::{Story, TopicTag};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TopicsConfig {}

pub struct TopicTagger {}

impl TopicTagger {
    pub fn new(_config: &TopicsConfig) -> Result<Self, TableError> {
        Ok(TopicTagger {})
    }

    /// Topics, highest score first.
    pub fn tag(&self, _story: &Story) -> Vec<TopicTag> {
        Vec::new()
    }
}
