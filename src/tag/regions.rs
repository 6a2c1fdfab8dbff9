//! Editorial regions ("Europe", "Middle East", ...) from a story's countries, through the
//! editable table `config/regions.toml` (embedded; `[tag.regions] path` overrides it).

use std::collections::HashMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::TableError;

/// The embedded default table.
pub const DEFAULT_REGIONS_TOML: &str = include_str!("../../config/regions.toml");

/// `[tag.regions]` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RegionsConfig {
    /// A TOML file in the format of `config/regions.toml` replacing the embedded table.
    pub path: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionsFile {
    #[serde(default)]
    region: Vec<RegionRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionRow {
    name: String,
    countries: Vec<String>,
}

/// Country code -> regions, in the table's region order.
pub struct RegionTable {
    by_country: HashMap<String, Vec<usize>>,
    names: Vec<String>,
}

impl RegionTable {
    pub fn new(config: &RegionsConfig) -> Result<Self, TableError> {
        match &config.path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| TableError::Io {
                    path: path.display().to_string(),
                    source,
                })?;
                Self::from_toml(&text, &path.display().to_string())
            }
            None => Self::from_toml(DEFAULT_REGIONS_TOML, "config/regions.toml"),
        }
    }

    /// Parse a table; `name` is used in error messages.
    pub fn from_toml(text: &str, name: &str) -> Result<Self, TableError> {
        let file: RegionsFile = toml::from_str(text).map_err(|e| TableError::Parse {
            path: name.to_string(),
            line: e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1))
                .unwrap_or(0),
            message: e.message().to_string(),
        })?;
        let mut by_country: HashMap<String, Vec<usize>> = HashMap::new();
        let mut names = Vec::with_capacity(file.region.len());
        for (i, row) in file.region.into_iter().enumerate() {
            if row.name.trim().is_empty() {
                return Err(TableError::Parse {
                    path: name.to_string(),
                    line: 0,
                    message: format!("region #{} has an empty name", i + 1),
                });
            }
            for code in &row.countries {
                if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                    return Err(TableError::Parse {
                        path: name.to_string(),
                        line: 0,
                        message: format!(
                            "region {:?}: {code:?} is not an ISO 3166-1 alpha-2 code",
                            row.name
                        ),
                    });
                }
                let list = by_country.entry(code.clone()).or_default();
                if !list.contains(&i) {
                    list.push(i);
                }
            }
            names.push(row.name);
        }
        Ok(RegionTable { by_country, names })
    }

    /// Regions of `countries`, in the order of the countries, without repeats.
    pub fn regions_for(&self, countries: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in countries {
            for &i in self.by_country.get(c).map(Vec::as_slice).unwrap_or(&[]) {
                if let Some(name) = self.names.get(i) {
                    if !out.iter().any(|o| o == name) {
                        out.push(name.clone());
                    }
                }
            }
        }
        out
    }

    /// The region names, in table order.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RegionTable {
        RegionTable::new(&RegionsConfig::default()).unwrap()
    }

    fn regions(codes: &[&str]) -> Vec<String> {
        let codes: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
        table().regions_for(&codes)
    }

    #[test]
    fn default_table_has_the_editorial_regions() {
        let t = table();
        for r in [
            "Africa",
            "Asia",
            "Europe",
            "Latin America",
            "Middle East",
            "North America",
            "Oceania",
        ] {
            assert!(t.names().iter().any(|n| n == r), "{r}");
        }
    }

    #[test]
    fn regions_follow_country_order_without_repeats() {
        assert_eq!(regions(&["US", "JP"]), ["North America", "Asia"]);
        assert_eq!(regions(&["FR", "DE"]), ["Europe"]);
        assert_eq!(regions(&["EG"]), ["Africa", "Middle East"]);
        assert_eq!(regions(&["TR"]), ["Europe", "Middle East"]);
        assert_eq!(regions(&["IQ", "IR"]), ["Middle East"]);
        assert_eq!(regions(&["BR", "MX", "JM"]), ["Latin America"]);
        assert_eq!(regions(&["AU", "KZ"]), ["Oceania", "Asia"]);
        assert!(regions(&["AQ", "ZZ"]).is_empty());
    }

    #[test]
    fn every_tagged_country_of_the_gazetteer_has_a_region_table_entry_or_is_documented() {
        // Countries any story can be tagged with (the gazetteer's), minus the documented
        // region-less territories.
        let t = table();
        let none = ["AQ", "BV", "HM", "GS", "TF", "IO", "UM"];
        for line in crate::tag::countries::gazetteer::COUNTRIES_TSV.lines() {
            let Some(code) = line.split('\t').next() else {
                continue;
            };
            if line.starts_with('#') || none.contains(&code) {
                continue;
            }
            assert!(t.by_country.contains_key(code), "{code} has no region");
        }
    }

    #[test]
    fn custom_table_and_errors() {
        let t = RegionTable::from_toml(
            "[[region]]\nname = \"Nordics\"\ncountries = [\"SE\", \"NO\"]\n",
            "t",
        )
        .unwrap();
        assert_eq!(t.regions_for(&["NO".into()]), ["Nordics"]);
        let err = RegionTable::from_toml("[[region]]\nname = \"X\"\ncountries = [\"usa\"]\n", "t")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("usa"), "{err}");
        assert!(RegionTable::from_toml("[[region]]\nname = 3\n", "t").is_err());
    }
}
