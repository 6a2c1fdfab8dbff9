//! Exact and near-duplicate detection within a time window, with bounded memory, telling
//! duplicates apart from updates. The index state is serialisable so it can be persisted and
//! shared between replicas.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{DedupDecision, Story};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DedupConfig {
    /// Stories older than this (by story time) are forgotten.
    pub window_secs: u64,
    /// At most this many fingerprints are kept; the oldest go first.
    pub max_entries: usize,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig {
            window_secs: 72 * 3600,
            max_entries: 1_000_000,
        }
    }
}

/// What the index remembers of one admitted story; published to other replicas as is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    pub at: i64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct DedupIndex {
    entries: Vec<Entry>,
}

impl DedupIndex {
    pub fn new(_config: &DedupConfig) -> Self {
        DedupIndex::default()
    }

    /// Decide about `story` (whose final id is `id`) seen at `at`, and admit it if it is new.
    /// Returns the decision and the entry admitted, if any.
    pub fn check(
        &mut self,
        _story: &Story,
        id: &str,
        at: DateTime<Utc>,
    ) -> (DedupDecision, Option<Entry>) {
        // Placeholder until the fingerprint index lands.
        let entry = Entry {
            id: id.to_owned(),
            at: at.timestamp(),
        };
        self.entries.push(entry.clone());
        (DedupDecision::unique(), Some(entry))
    }

    /// Admit an entry decided elsewhere (another replica, a changelog being restored).
    pub fn insert(&mut self, entry: Entry) {
        self.entries.push(entry);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl DedupIndex {
    /// Take back an admission (its transaction was aborted).
    pub fn undo(&mut self, entry: &Entry) {
        if let Some(pos) = self.entries.iter().rposition(|e| e == entry) {
            self.entries.remove(pos);
        }
    }
}
