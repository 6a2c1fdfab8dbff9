//! Dedup settings.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DedupConfig {
    /// Stories older than this (by story time) before the newest story seen are forgotten.
    pub window_secs: u64,
    /// At most this many fingerprints are kept; the oldest admitted go first.
    pub max_entries: usize,
    /// A candidate is a near duplicate when its similarity reaches this (0..=1). Similarity is
    /// the larger of the estimated Jaccard index and, for stories long enough to trust it, the
    /// estimated containment of the shorter story in the longer one.
    pub near_threshold: f32,
    /// Containment is only trusted when the shorter story has at least this many shingles:
    /// a two-line brief is "contained" in many long stories by chance.
    pub containment_min_shingles: u16,
    /// Words per shingle. Three keeps word order and numbers significant.
    pub shingle_words: usize,
    /// Bodies with fewer words than this are fingerprinted together with their headline, so
    /// short templated items (dividend notices, results tables) are told apart by company.
    pub min_body_words: usize,
    /// Sketch bins used as lookup keys (1..=32). More keys find more candidates at a cost.
    pub lookup_bands: usize,
    /// At most this many entries are looked at per lookup key, newest first, so a shingle that
    /// is in every story cannot make a lookup slow.
    pub max_chain: usize,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig {
            window_secs: 72 * 3600,
            max_entries: 1_000_000,
            near_threshold: 0.6,
            containment_min_shingles: 24,
            shingle_words: 3,
            min_body_words: 40,
            lookup_bands: 10,
            max_chain: 48,
        }
    }
}
