//! Country tagging from a gazetteer (placeholder until the gazetteer lands).

use serde::{Deserialize, Serialize};

use crate::error::TableError;
use crate::model::Story;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct CountriesConfig {}

pub struct CountryTagger {}

impl CountryTagger {
    pub fn new(_config: &CountriesConfig) -> Result<Self, TableError> {
        Ok(CountryTagger {})
    }

    /// ISO 3166-1 alpha-2 codes, most salient first.
    pub fn tag(&self, _story: &Story) -> Vec<String> {
        Vec::new()
    }
}
