//! Countries, editorial regions and IPTC Media Topics for a story. Pure: the tables are loaded
//! once (embedded defaults from `config/`, or files named in the config) and then only read.

pub mod countries;
pub mod regions;
pub mod topics;

use serde::{Deserialize, Serialize};

use crate::error::TableError;
use crate::model::{Story, Tags};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TagConfig {
    pub countries: countries::CountriesConfig,
    pub regions: regions::RegionsConfig,
    pub topics: topics::TopicsConfig,
}

/// All taggers, built once.
pub struct Tagger {
    countries: countries::CountryTagger,
    regions: regions::RegionTable,
    topics: topics::TopicTagger,
}

impl Tagger {
    pub fn new(config: &TagConfig) -> Result<Self, TableError> {
        Ok(Tagger {
            countries: countries::CountryTagger::new(&config.countries)?,
            regions: regions::RegionTable::new(&config.regions)?,
            topics: topics::TopicTagger::new(&config.topics)?,
        })
    }

    pub fn tag(&self, story: &Story) -> Tags {
        let countries = self.countries.tag(story);
        let regions = self.regions.regions_for(&countries);
        let topics = self.topics.tag(story);
        Tags {
            countries,
            regions,
            topics,
        }
    }
}
