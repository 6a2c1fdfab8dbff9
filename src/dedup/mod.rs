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
//!
//! Shared between replicas (the Kafka side lives in `kafka::changelog`):
//! - every admitted [`Entry`] is published ([`wire`] is its binary form) and other replicas
//!   [`DedupIndex::apply`] it;
//! - an input consumed again (after a crash or a rebalance) is recognised by the tag of its
//!   input record ([`input_tag`]) and decided against what the index held when it was first
//!   admitted, instead of as a duplicate of itself;
//! - two replicas that admit near duplicates at the same moment each see the other's entry
//!   arrive while their own is recent: [`race`] decides which one is the original, the same
//!   way on both.

mod config;
mod fingerprint;
mod index;
pub mod race;
pub mod signals;
pub mod wire;

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use config::DedupConfig;
pub use fingerprint::{similarity, Fingerprint, Fingerprinter, BINS};
pub use index::MAX_LIVE;
use index::{
    canonical_sketch, index_time, Slot, Store, FIRST_BAND, KIND_EXACT, KIND_ID, MAX_KINDS,
};
pub use race::{Applied, Claim, Race};
pub use signals::detect_edit_signal;

use crate::model::{DedupDecision, DedupStatus, DuplicateKind, Story};

/// Chain heads per key kind, read before a decision ([`Store::heads_of`]).
type Heads = [Option<u32>; MAX_KINDS];

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
    /// Tag of the input record that admitted the story ([`input_tag`]; 0: unknown).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub input: u16,
}

fn is_zero(v: &u16) -> bool {
    *v == 0
}

/// A 16-bit tag of an input record's coordinates, never 0. Together with the id, version,
/// text and story time of an entry it tells a re-delivery of the input that admitted the
/// entry from a re-sent copy of the story (a different record); two records share a tag by
/// chance once in 65,535.
pub fn input_tag(topic: &str, partition: i32, offset: i64) -> u16 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(topic.as_bytes());
    h.update(&partition.to_le_bytes());
    h.update(&offset.to_le_bytes());
    ((h.digest() % 65_535) + 1) as u16
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
    /// Lookups ignore entries from this sequence number on (a re-delivered input is decided
    /// against what was there before its first admission).
    limit: u64,
    /// Recent unique admissions that may race with another replica's; `None` until
    /// [`DedupIndex::track_races`].
    races: Option<Races>,
}

/// Unique admissions newer than a horizon the caller moves (by wall time), oldest first.
#[derive(Debug)]
struct Races {
    /// Who this index admits for (`check`).
    origin: u64,
    recent: VecDeque<(u64, u64)>,
}

/// The fingerprint [`DedupIndex::check_input`] computes for `story` under `config`. Pure, so
/// it can run on any thread ahead of the decision; `fingerprinter` only lends its buffers.
pub fn fingerprint_story(
    config: &DedupConfig,
    fingerprinter: &mut Fingerprinter,
    story: &Story,
) -> Fingerprint {
    let mut fp = fingerprinter.fingerprint(
        story.headline.as_deref(),
        &story.body,
        config.shingle_words,
        config.min_body_words,
    );
    fp.sketch = canonical_sketch(fp.filled, &fp.sketch);
    fp
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
            limit: u64::MAX,
            races: None,
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

    /// The fingerprint `check` computes for a story (exposed for tools and tests), with the
    /// sketch in the index's canonical form (empty bins 0).
    pub fn fingerprint(&mut self, story: &Story) -> Fingerprint {
        fingerprint_story(&self.config, &mut self.fingerprinter, story)
    }

    /// Decide about `story` (whose final id is `id`) seen at `at`, and admit it if it is new.
    /// Returns the decision and the entry admitted, if any.
    pub fn check(
        &mut self,
        story: &Story,
        id: &str,
        at: DateTime<Utc>,
    ) -> (DedupDecision, Option<Entry>) {
        self.check_input(story, id, at, 0)
    }

    /// [`DedupIndex::check`] for a story read from the input record tagged `input`
    /// ([`input_tag`]; 0 when unknown). When an entry admitted for that same record is live
    /// (the record is consumed again after a crash or a rebalance), the story is decided
    /// against the entries admitted before it, as the first time, and not admitted twice.
    pub fn check_input(
        &mut self,
        story: &Story,
        id: &str,
        at: DateTime<Utc>,
        input: u16,
    ) -> (DedupDecision, Option<Entry>) {
        let fp = self.fingerprint(story);
        self.check_fingerprinted(story, id, at, input, fp)
    }

    /// [`DedupIndex::check_input`] with the story's fingerprint computed beforehand by
    /// [`fingerprint_story`] with this index's settings (e.g. on another thread).
    pub fn check_fingerprinted(
        &mut self,
        story: &Story,
        id: &str,
        at: DateTime<Utc>,
        input: u16,
        fp: Fingerprint,
    ) -> (DedupDecision, Option<Entry>) {
        let at = index_time(at.timestamp());
        self.advance(at);
        let oldest = at.saturating_sub(self.window());

        let heads = self.store.heads_of(&self.decision_keys(id, &fp));
        let first = if input != 0 {
            self.find_admission(&heads, id, story.version, &fp, at, input, oldest)
        } else {
            None
        };
        self.limit = first.unwrap_or(u64::MAX);
        let decision = self.decide(&heads, story, id, &fp, oldest);
        self.limit = u64::MAX;
        let admitted = if first.is_some() || decision.status == DedupStatus::Duplicate {
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
                input,
            };
            let seq = self.admit(&entry);
            if decision.status == DedupStatus::Unique {
                if let Some(r) = &mut self.races {
                    r.recent.push_back((seq, r.origin));
                }
            }
            Some(entry)
        };
        (decision, admitted)
    }

    /// The live entry admitted for the input record tagged `input`, if any.
    #[allow(clippy::too_many_arguments)]
    fn find_admission(
        &mut self,
        heads: &Heads,
        id: &str,
        version: Option<u64>,
        fp: &Fingerprint,
        at: i64,
        input: u16,
        oldest: i64,
    ) -> Option<u64> {
        let version = version.unwrap_or(u64::MAX);
        self.collect_chain_from(heads, KIND_ID);
        self.candidates.iter().copied().find(|&seq| {
            self.store.slot(seq).is_some_and(|s| {
                s.at() >= oldest
                    && s.input == input
                    && s.at() == at
                    && s.exact == fp.exact
                    && s.version == version
                    && self.store.id(s) == id
            })
        })
    }

    fn decide(
        &mut self,
        heads: &Heads,
        story: &Story,
        id: &str,
        fp: &Fingerprint,
        oldest: i64,
    ) -> DedupDecision {
        // Whether the story announces itself as an update; only asked once a match is found.
        let announced = || {
            story.edit_signal.is_some()
                || detect_edit_signal(story.headline.as_deref(), &story.body).is_some()
        };
        // 1. Same agency id.
        if let Some(seq) = self.find_id(heads, id, oldest) {
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
        if let Some(seq) = self.find_exact(heads, fp.exact, oldest) {
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
        if let Some((seq, sim)) = self.best_near(heads, fp, oldest) {
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
        let entry = canonical(entry);
        self.advance(entry.at);
        self.admit(&entry);
    }

    /// Apply an entry another replica (`origin`) admitted, as unique or as an update. An entry
    /// of an admission already here is skipped. With race tracking on, a unique entry that matches a recent
    /// unique entry of another origin is a race ([`race`]): the later of the two by
    /// [`Claim::precedes`] is taken out of the index (or not inserted), and the race returned
    /// so that the replica that admitted the loser can re-label it.
    pub fn apply(&mut self, entry: Entry, origin: u64, unique: bool) -> Applied {
        let entry = canonical(entry);
        self.advance(entry.at);
        let oldest = self.oldest();
        if self.find_same(&entry, oldest).is_some() {
            return Applied::default();
        }
        let mut applied = Applied::default();
        let mut lost = false;
        if unique && self.races.is_some() {
            for (seq, rival_origin, similarity, kind) in self.rivals(&entry, origin, oldest) {
                let Some(slot) = self.store.slot(seq).copied() else {
                    continue;
                };
                let rival_id = self.store.id(&slot).to_owned();
                let ours = Claim {
                    at: entry.at,
                    id: &entry.id,
                    origin,
                };
                let theirs = Claim {
                    at: slot.at(),
                    id: &rival_id,
                    origin: rival_origin,
                };
                if ours.precedes(&theirs) {
                    applied.races.push(Race {
                        winner: entry.id.clone(),
                        winner_origin: origin,
                        loser: self.entry_of(&slot),
                        loser_origin: rival_origin,
                        similarity,
                        kind,
                    });
                    self.neutralise(seq);
                } else {
                    lost = true;
                    applied.races.push(Race {
                        winner: rival_id,
                        winner_origin: rival_origin,
                        loser: entry.clone(),
                        loser_origin: origin,
                        similarity,
                        kind,
                    });
                }
            }
        }
        if lost {
            return applied;
        }
        let seq = self.admit(&entry);
        if unique {
            if let Some(r) = &mut self.races {
                r.recent.push_back((seq, origin));
            }
        }
        applied.inserted = true;
        applied
    }

    /// Remember unique admissions (this index's as `origin`, and applied ones) so that
    /// [`DedupIndex::apply`] can detect races. The caller bounds the memory with
    /// [`DedupIndex::forget_races_before`].
    pub fn track_races(&mut self, origin: u64) {
        self.races = Some(Races {
            origin,
            recent: VecDeque::new(),
        });
    }

    /// Sequence number the next admission gets: a mark for [`DedupIndex::forget_races_before`].
    pub fn next_seq(&self) -> u64 {
        self.store.back_seq()
    }

    /// Admissions before `seq` no longer take part in races (they are older than the race
    /// window: the caller keeps marks by wall time).
    pub fn forget_races_before(&mut self, seq: u64) {
        let front = self.store.front_seq;
        if let Some(r) = &mut self.races {
            while r.recent.front().is_some_and(|&(s, _)| s < seq || s < front) {
                r.recent.pop_front();
            }
        }
    }

    /// Admissions that can still race.
    pub fn racing(&self) -> usize {
        self.races.as_ref().map_or(0, |r| r.recent.len())
    }

    /// True when an entry of story time `at` would already be out of the window.
    pub fn is_expired(&self, at: i64) -> bool {
        self.watermark
            .is_some_and(|w| at < w.saturating_sub(self.window()))
    }

    fn oldest(&self) -> i64 {
        self.watermark
            .map_or(i64::MIN, |w| w.saturating_sub(self.window()))
    }

    /// A live entry of the same admission as `entry`: same id, version, text, story time and
    /// input record (the same story from another record is a copy, not the same admission).
    fn find_same(&mut self, entry: &Entry, oldest: i64) -> Option<u64> {
        let version = entry.version.unwrap_or(u64::MAX);
        self.collect_chain(KIND_ID, Store::id_key(&entry.id));
        self.candidates.iter().copied().find(|&seq| {
            self.store.slot(seq).is_some_and(|s| {
                s.at() >= oldest
                    && s.at() == entry.at
                    && s.input == entry.input
                    && s.exact == entry.exact
                    && s.version == version
                    && self.store.id(s) == entry.id
            })
        })
    }

    /// Recent unique entries of other origins that `entry` is an exact or near duplicate of:
    /// `(seq, origin, similarity, kind)`, oldest first.
    fn rivals(
        &mut self,
        entry: &Entry,
        origin: u64,
        oldest: i64,
    ) -> Vec<(u64, u64, f32, DuplicateKind)> {
        let Some(races) = &self.races else {
            return Vec::new();
        };
        let Some(&(first, _)) = races.recent.front() else {
            return Vec::new();
        };
        // Recent entries are the newest: chain walks stop at the oldest of them.
        self.candidates.clear();
        let cap = self.config.max_chain.max(1);
        if entry.exact != 0 {
            self.store
                .chain_since(KIND_EXACT, entry.exact, cap, first, &mut self.candidates);
        }
        for b in 0..self.store.bands() {
            if entry.sketch[b] != 0 {
                self.store.chain_since(
                    FIRST_BAND + b,
                    entry.sketch[b] as u64,
                    cap,
                    first,
                    &mut self.candidates,
                );
            }
        }
        self.candidates.sort_unstable();
        self.candidates.dedup();
        let fp = Fingerprint {
            exact: entry.exact,
            shingles: entry.shingles,
            filled: entry.filled,
            sketch: entry.sketch,
        };
        let mut out = Vec::new();
        for &seq in &self.candidates {
            let Ok(i) = races.recent.binary_search_by_key(&seq, |&(s, _)| s) else {
                continue;
            };
            let rival_origin = races.recent[i].1;
            if rival_origin == origin {
                continue;
            }
            let Some(slot) = self.store.slot(seq) else {
                continue;
            };
            if slot.at() < oldest || slot.shingles == 0 {
                continue;
            }
            if entry.exact != 0 && slot.exact == entry.exact {
                out.push((seq, rival_origin, 1.0, DuplicateKind::Exact));
                continue;
            }
            let sim = self.score(&fp, slot);
            if sim >= self.need(fp.shingles, slot.shingles) {
                out.push((seq, rival_origin, sim, DuplicateKind::Near));
            }
        }
        out
    }

    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Make room for `n` more entries (at most up to `max_entries`), e.g. before a restore of
    /// known size.
    pub fn reserve(&mut self, n: usize) {
        let room = self.config.max_entries.saturating_sub(self.store.len());
        // Agency ids are mostly 20 to 50 bytes; more is virtual memory only until used.
        self.store.reserve(n.min(room), 48);
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
            at: s.at(),
            exact: s.exact,
            shingles: s.shingles,
            filled: s.filled(),
            sketch: s.sketch,
            input: s.input,
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
        while self.store.slots.front().is_some_and(|s| s.at() < oldest) {
            self.store.pop_front();
        }
    }

    fn admit(&mut self, entry: &Entry) -> u64 {
        let slot = Slot {
            id_ref: 0,
            version: entry.version.unwrap_or(u64::MAX),
            exact: entry.exact,
            sketch: canonical_sketch(entry.filled, &entry.sketch),
            at: index_time(entry.at) as u32,
            shingles: entry.shingles,
            input: entry.input,
        };
        self.push_slot(slot, &entry.id)
    }

    /// The lookup keys of a story: its id key, its exact hash unless 0, and the band bins that
    /// are filled in its canonical sketch.
    fn lookup_keys(
        &self,
        id_key: u64,
        exact: u64,
        sketch: &[u16; BINS],
    ) -> [Option<u64>; MAX_KINDS] {
        let mut keys = [None; MAX_KINDS];
        keys[KIND_ID] = Some(id_key);
        if exact != 0 {
            keys[KIND_EXACT] = Some(exact);
        }
        for b in 0..self.store.bands() {
            if sketch[b] != 0 {
                keys[FIRST_BAND + b] = Some(sketch[b] as u64);
            }
        }
        keys
    }

    /// The keys a decision looks up, as [`DedupIndex::decide`] uses them: the exact hash even
    /// when 0 (it is only looked up for a story with shingles) and the bands by filled bit.
    fn decision_keys(&self, id: &str, fp: &Fingerprint) -> [Option<u64>; MAX_KINDS] {
        let mut keys = [None; MAX_KINDS];
        keys[KIND_ID] = Some(Store::id_key(id));
        keys[KIND_EXACT] = Some(fp.exact);
        for b in 0..self.store.bands() {
            if fp.filled & (1 << b) != 0 {
                keys[FIRST_BAND + b] = Some(fp.sketch[b] as u64);
            }
        }
        keys
    }

    fn push_slot(&mut self, slot: Slot, id: &str) -> u64 {
        let keys = self.lookup_keys(Store::id_key(id), slot.exact, &slot.sketch);
        let seq = self.store.push(slot, id, &keys);
        while self.store.len() > self.config.max_entries.max(1) {
            self.store.pop_front();
        }
        seq
    }

    /// The chain of one key into `candidates`, newest first.
    fn collect_chain(&mut self, kind: usize, key: u64) {
        self.candidates.clear();
        let cap = self.config.max_chain.max(1);
        self.store.chain(kind, key, cap, &mut self.candidates);
    }

    /// [`DedupIndex::collect_chain`] from a head read beforehand (nothing when the key is not
    /// one of the story's).
    fn collect_chain_from(&mut self, heads: &Heads, kind: usize) {
        self.candidates.clear();
        if let Some(head) = heads[kind] {
            let cap = self.config.max_chain.max(1);
            self.store
                .chain_from(kind, head, cap, 0, &mut self.candidates);
        }
    }

    fn find_id(&mut self, heads: &Heads, id: &str, oldest: i64) -> Option<u64> {
        self.collect_chain_from(heads, KIND_ID);
        let limit = self.limit;
        self.candidates.iter().copied().find(|&seq| {
            seq < limit
                && self
                    .store
                    .slot(seq)
                    .is_some_and(|s| s.at() >= oldest && self.store.id(s) == id)
        })
    }

    fn find_exact(&mut self, heads: &Heads, exact: u64, oldest: i64) -> Option<u64> {
        self.collect_chain_from(heads, KIND_EXACT);
        let limit = self.limit;
        self.candidates.iter().copied().find(|&seq| {
            seq < limit
                && self
                    .store
                    .slot(seq)
                    .is_some_and(|s| s.at() >= oldest && s.exact == exact)
        })
    }

    /// Similarity a near duplicate needs: more for short texts.
    fn need(&self, a_shingles: u16, b_shingles: u16) -> f32 {
        if a_shingles.min(b_shingles) < SHORT_SHINGLES {
            self.config.near_threshold.max(SHORT_THRESHOLD)
        } else {
            self.config.near_threshold
        }
    }

    fn score(&self, fp: &Fingerprint, slot: &Slot) -> f32 {
        let (j, c) = similarity(
            fp.filled,
            &fp.sketch,
            fp.shingles,
            slot.filled(),
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
    fn best_near(&mut self, heads: &Heads, fp: &Fingerprint, oldest: i64) -> Option<(u64, f32)> {
        self.candidates.clear();
        let cap = self.config.max_chain.max(1);
        for b in 0..self.store.bands() {
            if let Some(head) = heads[FIRST_BAND + b] {
                self.store
                    .chain_from(FIRST_BAND + b, head, cap, 0, &mut self.candidates);
            }
        }
        self.candidates.sort_unstable_by(|a, b| b.cmp(a));
        self.candidates.dedup();
        let mut best: Option<(u64, f32)> = None;
        for &seq in &self.candidates {
            if seq >= self.limit {
                continue;
            }
            let Some(slot) = self.store.slot(seq) else {
                continue;
            };
            if slot.at() < oldest {
                continue;
            }
            let sim = self.score(fp, slot);
            let need = self.need(fp.shingles, slot.shingles);
            if sim >= need && best.is_none_or(|(_, s)| sim > s) {
                best = Some((seq, sim));
            }
        }
        best
    }
}

/// An entry in the index's own form: canonical sketch, clamped story time.
fn canonical(mut entry: Entry) -> Entry {
    entry.sketch = canonical_sketch(entry.filled, &entry.sketch);
    entry.at = index_time(entry.at);
    entry
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
            let start = slot.id_off().checked_sub(snap.ids_base);
            let id = start
                .and_then(|s| usize::try_from(s).ok())
                .and_then(|s| snap.ids.get(s..s.checked_add(slot.id_len())?))
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
        let store = &self.store;
        let found = (store.front_seq..store.back_seq()).rev().find(|&seq| {
            store.slot(seq).is_some_and(|s| {
                s.exact == entry.exact && s.at() == entry.at && store.id(s) == entry.id
            })
        });
        if let Some(seq) = found {
            self.neutralise(seq);
        }
    }

    /// Make a slot unable to match anything (see [`DedupIndex::undo`]).
    fn neutralise(&mut self, seq: u64) {
        if let Some(slot) = self.store.slot_mut(seq) {
            slot.id_ref = slot.id_off() << 16;
            slot.exact = 0;
            slot.shingles = 0;
            slot.sketch = [0; fingerprint::BINS];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const BODY: &str = "Copper prices rose sharply on Thursday after a strike at the largest \
        mine in Chile cut output, traders in London said. The metal for three-month delivery \
        gained 4 percent, its biggest one-day rise this year, before easing in late trade. \
        Analysts said supplies were already tight after floods in the region last month.";

    fn story(body: &str) -> Story {
        Story {
            headline: Some("Copper jumps".into()),
            body: body.into(),
            ..Story::default()
        }
    }

    fn t(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap() + chrono::Duration::minutes(minute)
    }

    #[test]
    fn a_redelivered_input_is_decided_as_the_first_time() {
        let mut ix = DedupIndex::new(&DedupConfig::default());
        let tag = input_tag("wire.raw", 2, 41);
        let (first, admitted) = ix.check_input(&story(BODY), "copper", t(0), tag);
        assert_eq!(first.status, DedupStatus::Unique);
        assert!(admitted.is_some());
        // The same record again (a crash before its offset was committed): unique again,
        // not admitted twice.
        let (again, admitted) = ix.check_input(&story(BODY), "copper", t(0), tag);
        assert_eq!(again, first);
        assert!(admitted.is_none());
        assert_eq!(ix.len(), 1);
        // The same story in another record (a re-sent copy) is a duplicate.
        let other = input_tag("wire.raw", 2, 42);
        let (copy, _) = ix.check_input(&story(BODY), "copper", t(0), other);
        assert_eq!(copy.status, DedupStatus::Duplicate);
        // Through the changelog: a restored replica recognises the record too.
        let mut restored = DedupIndex::restore(&DedupConfig::default(), ix.entries());
        let (again, admitted) = restored.check_input(&story(BODY), "copper", t(0), tag);
        assert_eq!(again.status, DedupStatus::Unique);
        assert!(admitted.is_none());
    }

    #[test]
    fn input_tags_are_never_zero_and_differ_by_offset() {
        let tags: std::collections::BTreeSet<u16> =
            (0..1000).map(|o| input_tag("t", 0, o)).collect();
        assert!(!tags.contains(&0));
        assert!(tags.len() > 990);
    }

    #[test]
    fn expiry_follows_the_newest_story_time() {
        let mut ix = DedupIndex::new(&DedupConfig::default());
        assert!(!ix.is_expired(0));
        ix.check(&story(BODY), "copper", t(0));
        let window = ix.config().window_secs as i64;
        assert!(!ix.is_expired(t(0).timestamp() - window));
        assert!(ix.is_expired(t(0).timestamp() - window - 1));
    }
}
