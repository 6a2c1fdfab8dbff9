//! Exact and near-duplicate detection within a time window, with bounded memory, telling
//! duplicates apart from updates. The index state is serialisable so it can be persisted and
//! shared between replicas.
//!
//! How a story is decided, in order:
//! 1. Same id as a live entry: a higher version (or changed text) is an update, the same text a
//!    duplicate.
//! 2. Same folded body words as a live entry: an exact duplicate (an update when the story
//!    announces itself as one).
//! 3. A live entry whose shingle sketch is similar enough (Jaccard, or containment for cut or
//!    extended copies): a near duplicate, or an update when the story announces one
//!    (`edit_signal` from the decoder, or a textual cue, see [`signals`]).
//! 4. Otherwise unique.
//!
//! Unique stories and updates are admitted; duplicates are not, so later copies match the
//! original. Every choice is deterministic for a given input order: candidates are ranked by
//! similarity then recency, never by hash-map iteration order.

mod config;
mod fingerprint;
mod index;
pub mod signals;

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use config::DedupConfig;
pub use fingerprint::{similarity, Fingerprint, Fingerprinter, BINS};
use index::{Slot, Store, FIRST_BAND, KIND_EXACT, KIND_ID};
pub use signals::detect_edit_signal;

use crate::model::{DedupDecision, DedupStatus, DuplicateKind, Story};

/// Stories with fewer shingles than this need a stronger match: a short headline shares half
/// its shingles with another by chance ("ACME SETS DIVIDEND" / "BETA SETS DIVIDEND").
const SHORT_SHINGLES: u16 = 8;
const SHORT_THRESHOLD: f32 = 0.85;

/// What the index remembers of one admitted story; published to other replicas as is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// Story time, Unix seconds.
    pub at: i64,
    /// Hash of the folded words (0: no words).
    pub exact: u64,
    /// Number of word shingles (saturating).
    pub shingles: u16,
    /// Which sketch bins are filled.
    pub filled: u32,
    /// One-permutation MinHash sketch, low 16 bits per bin, as 128 hex digits.
    #[serde(with = "hex_sketch")]
    pub sketch: [u16; BINS],
}

mod hex_sketch {
    use super::BINS;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &[u16; BINS], s: S) -> Result<S::Ok, S::Error> {
        let mut out = String::with_capacity(BINS * 4);
        for x in v {
            out.push_str(&format!("{x:04x}"));
        }
        s.serialize_str(&out)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u16; BINS], D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        if text.len() != BINS * 4 || !text.is_ascii() {
            return Err(D::Error::custom("sketch must be 128 hex digits"));
        }
        let mut out = [0u16; BINS];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u16::from_str_radix(&text[i * 4..i * 4 + 4], 16)
                .map_err(|_| D::Error::custom("sketch must be 128 hex digits"))?;
        }
        Ok(out)
    }
}

/// The dedup state: admitted stories within the window, at most `max_entries`.
#[derive(Debug)]
pub struct DedupIndex {
    config: DedupConfig,
    store: Store,
    /// Newest story time seen; the window ends here.
    watermark: Option<i64>,
    fingerprinter: Fingerprinter,
    candidates: Vec<u64>,
}

impl DedupIndex {
    pub fn new(config: &DedupConfig) -> Self {
        DedupIndex {
            config: config.clone(),
            store: Store::new(
                config.max_entries.max(1),
                config.lookup_bands.clamp(1, BINS),
            ),
            watermark: None,
            fingerprinter: Fingerprinter::new(),
            candidates: Vec::new(),
        }
    }

    /// An index holding `entries` (oldest first), e.g. replayed from the changelog topic.
    pub fn restore(config: &DedupConfig, entries: impl IntoIterator<Item = Entry>) -> Self {
        let mut index = DedupIndex::new(config);
        for e in entries {
            index.insert(e);
        }
        index
    }

    pub fn config(&self) -> &DedupConfig {
        &self.config
    }

    /// The fingerprint `check` computes for a story (exposed for tools and tests).
    pub fn fingerprint(&mut self, story: &Story) -> Fingerprint {
        self.fingerprinter.fingerprint(
            story.headline.as_deref(),
            &story.body,
            self.config.shingle_words,
            self.config.min_body_words,
        )
    }

    /// Decide about `story` (whose final id is `id`) seen at `at`, and admit it if it is new.
    /// Returns the decision and the entry admitted, if any.
    pub fn check(
        &mut self,
        story: &Story,
        id: &str,
        at: DateTime<Utc>,
    ) -> (DedupDecision, Option<Entry>) {
        let at = at.timestamp();
        self.advance(at);
        let fp = self.fingerprint(story);
        let oldest = at.saturating_sub(self.window());

        let decision = self.decide(story, id, &fp, oldest);
        let admitted = if decision.status == DedupStatus::Duplicate {
            None
        } else {
            let entry = Entry {
                id: id.to_owned(),
                version: story.version,
                at,
                exact: fp.exact,
                shingles: fp.shingles,
                filled: fp.filled,
                sketch: fp.sketch,
            };
            self.admit(&entry);
            Some(entry)
        };
        (decision, admitted)
    }

    fn decide(&mut self, story: &Story, id: &str, fp: &Fingerprint, oldest: i64) -> DedupDecision {
        // Whether the story announces itself as an update; only asked once a match is found.
        let announced = || {
            story.edit_signal.is_some()
                || detect_edit_signal(story.headline.as_deref(), &story.body).is_some()
        };
        // 1. Same agency id.
        if let Some(seq) = self.find_id(id, oldest) {
            if let Some(slot) = self.store.slot(seq).copied() {
                let sim = if fp.exact == slot.exact {
                    1.0
                } else {
                    self.score(fp, &slot)
                };
                let old = (slot.version != u64::MAX).then_some(slot.version);
                let status = match (story.version, old) {
                    (Some(v), Some(o)) if v > o => DedupStatus::Update,
                    _ if fp.exact == slot.exact => DedupStatus::Duplicate,
                    // A late, older version: nothing new to say.
                    (Some(v), Some(o)) if v < o => DedupStatus::Duplicate,
                    _ => DedupStatus::Update,
                };
                return decision(status, id, sim, fp.exact == slot.exact);
            }
        }
        if fp.shingles == 0 {
            return DedupDecision::unique();
        }
        // 2. Same words.
        if let Some(seq) = self.find_exact(fp.exact, oldest) {
            if let Some(slot) = self.store.slot(seq).copied() {
                let of = self.store.id(&slot).to_owned();
                let status = if announced() {
                    DedupStatus::Update
                } else {
                    DedupStatus::Duplicate
                };
                return decision(status, &of, 1.0, true);
            }
        }
        // 3. Similar words.
        if let Some((seq, sim)) = self.best_near(fp, oldest) {
            if let Some(slot) = self.store.slot(seq) {
                let of = self.store.id(slot).to_owned();
                let status = if announced() {
                    DedupStatus::Update
                } else {
                    DedupStatus::Duplicate
                };
                return decision(status, &of, sim, false);
            }
        }
        DedupDecision::unique()
    }

    /// Admit an entry decided elsewhere (another replica, a changelog being restored).
    pub fn insert(&mut self, entry: Entry) {
        self.advance(entry.at);
        self.admit(&entry);
    }

    pub fn len(&self) -> usize {
        self.store.len()
    }

    pub fn is_empty(&self) -> bool {
        self.store.len() == 0
    }

    /// The live entries, oldest admitted first (what a changelog compaction would keep).
    pub fn entries(&self) -> impl Iterator<Item = Entry> + '_ {
        self.store.slots.iter().map(|s| self.entry_of(s))
    }

    fn entry_of(&self, s: &Slot) -> Entry {
        Entry {
            id: self.store.id(s).to_owned(),
            version: (s.version != u64::MAX).then_some(s.version),
            at: s.at,
            exact: s.exact,
            shingles: s.shingles,
            filled: s.filled,
            sketch: s.sketch,
        }
    }

    fn window(&self) -> i64 {
        i64::try_from(self.config.window_secs).unwrap_or(i64::MAX)
    }

    /// Move the window end to `at` if it is newer, and evict what fell out of it.
    fn advance(&mut self, at: i64) {
        let mark = self.watermark.map_or(at, |w| w.max(at));
        self.watermark = Some(mark);
        let oldest = mark.saturating_sub(self.window());
        while self.store.slots.front().is_some_and(|s| s.at < oldest) {
            self.store.pop_front();
        }
    }

    fn admit(&mut self, entry: &Entry) {
        let slot = Slot {
            id_off: 0,
            id_len: 0,
            version: entry.version.unwrap_or(u64::MAX),
            at: entry.at,
            exact: entry.exact,
            filled: entry.filled,
            shingles: entry.shingles,
            sketch: entry.sketch,
        };
        self.push_slot(slot, &entry.id);
    }

    fn push_slot(&mut self, slot: Slot, id: &str) {
        let mut keys = [None; FIRST_BAND + BINS];
        keys[KIND_ID] = Some(Store::id_key(id));
        if slot.exact != 0 {
            keys[KIND_EXACT] = Some(slot.exact);
        }
        for b in 0..self.store.bands() {
            if slot.filled & (1 << b) != 0 {
                keys[FIRST_BAND + b] = Some(slot.sketch[b] as u64);
            }
        }
        self.store.push(slot, id, &keys);
        while self.store.len() > self.config.max_entries.max(1) {
            self.store.pop_front();
        }
    }

    fn find_id(&mut self, id: &str, oldest: i64) -> Option<u64> {
        self.candidates.clear();
        let cap = self.config.max_chain.max(1);
        self.store
            .chain(KIND_ID, Store::id_key(id), cap, &mut self.candidates);
        self.candidates.iter().copied().find(|&seq| {
            self.store
                .slot(seq)
                .is_some_and(|s| s.at >= oldest && self.store.id(s) == id)
        })
    }

    fn find_exact(&mut self, exact: u64, oldest: i64) -> Option<u64> {
        self.candidates.clear();
        let cap = self.config.max_chain.max(1);
        self.store
            .chain(KIND_EXACT, exact, cap, &mut self.candidates);
        self.candidates.iter().copied().find(|&seq| {
            self.store
                .slot(seq)
                .is_some_and(|s| s.at >= oldest && s.exact == exact)
        })
    }

    fn score(&self, fp: &Fingerprint, slot: &Slot) -> f32 {
        let (j, c) = similarity(
            fp.filled,
            &fp.sketch,
            fp.shingles,
            slot.filled,
            &slot.sketch,
            slot.shingles,
        );
        if fp.shingles.min(slot.shingles) >= self.config.containment_min_shingles {
            j.max(c)
        } else {
            j
        }
    }

    /// The most similar live entry above the threshold; ties go to the newest.
    fn best_near(&mut self, fp: &Fingerprint, oldest: i64) -> Option<(u64, f32)> {
        self.candidates.clear();
        let cap = self.config.max_chain.max(1);
        for b in 0..self.store.bands() {
            if fp.filled & (1 << b) != 0 {
                self.store.chain(
                    FIRST_BAND + b,
                    fp.sketch[b] as u64,
                    cap,
                    &mut self.candidates,
                );
            }
        }
        self.candidates.sort_unstable_by(|a, b| b.cmp(a));
        self.candidates.dedup();
        let mut best: Option<(u64, f32)> = None;
        for &seq in &self.candidates {
            let Some(slot) = self.store.slot(seq) else {
                continue;
            };
            if slot.at < oldest {
                continue;
            }
            let sim = self.score(fp, slot);
            let need = if fp.shingles.min(slot.shingles) < SHORT_SHINGLES {
                self.config.near_threshold.max(SHORT_THRESHOLD)
            } else {
                self.config.near_threshold
            };
            if sim >= need && best.is_none_or(|(_, s)| sim > s) {
                best = Some((seq, sim));
            }
        }
        best
    }
}

fn decision(status: DedupStatus, of: &str, similarity: f32, exact: bool) -> DedupDecision {
    DedupDecision {
        status,
        of: Some(of.to_owned()),
        similarity,
        kind: (status == DedupStatus::Duplicate).then_some(if exact {
            DuplicateKind::Exact
        } else {
            DuplicateKind::Near
        }),
    }
}

/// The serialised form of a [`DedupIndex`]: settings, window end, and the slots with their ids
/// in one string, so a million entries load without a million small allocations.
#[derive(Serialize)]
struct SnapshotRef<'a> {
    config: &'a DedupConfig,
    watermark: Option<i64>,
    ids_base: u64,
    ids: &'a str,
    slots: &'a VecDeque<Slot>,
}

#[derive(Deserialize)]
struct Snapshot {
    config: DedupConfig,
    watermark: Option<i64>,
    ids_base: u64,
    ids: String,
    slots: VecDeque<Slot>,
}

impl Serialize for DedupIndex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        SnapshotRef {
            config: &self.config,
            watermark: self.watermark,
            ids_base: self.store.ids_base,
            ids: &self.store.ids,
            slots: &self.store.slots,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for DedupIndex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let snap = Snapshot::deserialize(d)?;
        let mut index = DedupIndex::new(&snap.config);
        for slot in snap.slots {
            let start = slot.id_off.checked_sub(snap.ids_base);
            let id = start
                .and_then(|s| usize::try_from(s).ok())
                .and_then(|s| snap.ids.get(s..s.checked_add(slot.id_len as usize)?))
                .ok_or_else(|| D::Error::custom("snapshot slot points outside its id text"))?;
            index.push_slot(slot, id);
        }
        index.watermark = snap.watermark;
        Ok(index)
    }
}

impl DedupIndex {
    /// Take back an admission (its transaction was aborted).
    ///
    /// The slot stays in place (chains only ever lose their oldest end) but can no longer
    /// match: its id is emptied and its exact hash and sketch cleared, so no lookup verifies
    /// against it. Evictions the admission caused are not undone; they only forgot stories
    /// that had left the window or the count bound anyway.
    pub fn undo(&mut self, entry: &Entry) {
        let store = &mut self.store;
        let front = store.front_seq;
        let found = (front..store.back_seq()).rev().find(|&seq| {
            store.slot(seq).is_some_and(|s| {
                s.exact == entry.exact && s.at == entry.at && store.id(s) == entry.id
            })
        });
        if let Some(seq) = found {
            if let Some(slot) = store.slots.get_mut((seq - front) as usize) {
                slot.id_len = 0;
                slot.exact = 0;
                slot.filled = 0;
                slot.shingles = 0;
                slot.sketch = [0; fingerprint::BINS];
            }
        }
    }
}
