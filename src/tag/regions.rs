//! Editorial regions from countries (placeholder until the table lands).

use serde::{Deserialize, Serialize};

use crate::error::TableError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RegionsConfig {}

pub struct RegionTable {}

impl RegionTable {
    pub fn new(_config: &RegionsConfig) -> Result<Self, TableError> {
        Ok(RegionTable {})
    }

    /// Regions of `countries`, in the order of the countries, without repeats.
    pub fn regions_for(&self, _countries: &[String]) -> Vec<String> {
        Vec::new()
    }
}
