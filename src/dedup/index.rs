//! The admitted stories, in admission order, with chained lookup tables.
//!
//! Layout, chosen so a million entries restore in seconds and fit in about 175 MB (ids of
//! 34 bytes):
//! - `slots`: a `VecDeque` of fixed-size records (96 bytes, no per-entry heap allocation),
//!   oldest first; the entry with sequence number `s` sits at `s - front_seq`. The sketch is
//!   kept canonical (0 marks an empty bin, see [`canonical_sketch`]), so the filled-bin mask
//!   needs no field of its own; story times are 32-bit seconds (1970 to 2106).
//! - `ids`: every id in one string arena, trimmed from the front as entries leave.
//! - lookup keys (id, exact hash, a few sketch bins) hash into one power-of-two table of chain
//!   heads; each slot keeps, per key kind in use, the previous slot in its bucket (one flat
//!   array, `kinds` links of 3 bytes per slot). Chains run newest to oldest, so evicting the
//!   oldest entry needs no unlinking: a walk stops at the first sequence number that is no
//!   longer live.
//!
//! Sequence numbers are `u64`; heads store their low 32 bits and links their low 24 bits,
//! decoded relative to the live range (at most [`MAX_LIVE`] entries), and a chain must
//! strictly go back in time, so a stale or corrupt link can end a walk early but never loop.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use super::fingerprint::{mix64, BINS};

/// Key kinds: the id, the exact hash, then one per lookup band.
pub(super) const KIND_ID: usize = 0;
pub(super) const KIND_EXACT: usize = 1;
pub(super) const FIRST_BAND: usize = 2;
/// Upper bound on key kinds (id + exact + 32 bands).
pub(super) const MAX_KINDS: usize = 2 + BINS;
const LINK_MASK: u32 = (1 << 24) - 1;
/// Longest id kept whole (the length has 16 bits); longer ones are cut at a char boundary.
pub(super) const MAX_ID_BYTES: usize = u16::MAX as usize;
/// Most entries the index can hold: links keep 24 bits of a sequence number.
pub const MAX_LIVE: usize = (1 << 24) - 1;

/// The sketch as the index keeps it: bins a shingle fell into hold at least 1, empty bins 0.
/// (A real minimum of 0 becomes 1: one more chance agreement in 65,536 for that value.)
pub(super) fn canonical_sketch(filled: u32, sketch: &[u16; BINS]) -> [u16; BINS] {
    let mut out = [0u16; BINS];
    for (i, (o, s)) in out.iter_mut().zip(sketch).enumerate() {
        if filled & (1 << i) != 0 {
            *o = (*s).max(1);
        }
    }
    out
}

/// The filled-bin mask of a canonical sketch.
pub(super) fn filled_of(sketch: &[u16; BINS]) -> u32 {
    let mut mask = 0u32;
    for (i, s) in sketch.iter().enumerate() {
        mask |= ((*s != 0) as u32) << i;
    }
    mask
}

/// A story time as the index keeps it: Unix seconds clamped to 1970..2106 (32 bits).
pub(super) fn index_time(at: i64) -> i64 {
    at.clamp(0, u32::MAX as i64)
}

/// One admitted story, without its id (which lives in the arena): 96 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(super) struct Slot {
    /// Absolute offset of the id in the arena (high 48 bits) and its length (low 16 bits).
    pub(super) id_ref: u64,
    /// Version, `u64::MAX` when the story has none.
    pub(super) version: u64,
    pub(super) exact: u64,
    /// Canonical sketch ([`canonical_sketch`]).
    pub(super) sketch: [u16; BINS],
    /// Story time, [`index_time`].
    pub(super) at: u32,
    pub(super) shingles: u16,
    /// Tag of the input record that admitted the story (0: unknown), to recognise that input
    /// when it is consumed again.
    #[serde(default)]
    pub(super) input: u16,
}

impl Slot {
    pub(super) fn at(&self) -> i64 {
        self.at as i64
    }

    pub(super) fn filled(&self) -> u32 {
        filled_of(&self.sketch)
    }

    pub(super) fn id_off(&self) -> u64 {
        self.id_ref >> 16
    }

    pub(super) fn id_len(&self) -> usize {
        (self.id_ref & 0xffff) as usize
    }

    pub(super) fn set_id(&mut self, off: u64, len: usize) {
        self.id_ref = (off << 16) | (len.min(MAX_ID_BYTES) as u64);
    }
}

#[derive(Debug)]
pub(super) struct Store {
    pub(super) slots: VecDeque<Slot>,
    /// Per slot, `kinds` links: per key kind, the low 24 bits of the previous sequence number
    /// in the bucket (equal to the slot's own when there is none).
    links: VecDeque<[u8; 3]>,
    heads: Vec<u32>,
    mask: u64,
    pub(super) front_seq: u64,
    pub(super) ids: String,
    pub(super) ids_base: u64,
    kinds: usize,
}

impl Store {
    pub(super) fn new(max_entries: usize, bands: usize) -> Self {
        let bands = bands.min(BINS);
        let kinds = FIRST_BAND + bands;
        // About one head per 1.5 distinct keys: ids and exact hashes are distinct per entry,
        // but a band key is a 16-bit bin value, so a band has at most 65,536 distinct keys.
        // The few collisions cost a candidate check each; the table stays at 8 MB for a
        // million entries.
        let distinct = max_entries
            .saturating_mul(2)
            .saturating_add(bands.saturating_mul(max_entries.min(1 << 16)));
        let size = (distinct / 3 * 2).clamp(1024, 1 << 24).next_power_of_two();
        Store {
            slots: VecDeque::new(),
            links: VecDeque::new(),
            heads: vec![0; size],
            mask: size as u64 - 1,
            front_seq: 0,
            ids: String::new(),
            ids_base: 0,
            kinds,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Room for `n` more entries with ids of about `id_bytes` bytes: a restore that knows its
    /// size grows each table once instead of doubling it (freed halves would stay resident).
    pub(super) fn reserve(&mut self, n: usize, id_bytes: usize) {
        self.slots.reserve(n);
        self.links.reserve(n.saturating_mul(self.kinds));
        self.ids.reserve(n.saturating_mul(id_bytes));
    }

    pub(super) fn back_seq(&self) -> u64 {
        self.front_seq + self.slots.len() as u64
    }

    pub(super) fn bands(&self) -> usize {
        self.kinds - FIRST_BAND
    }

    pub(super) fn slot(&self, seq: u64) -> Option<&Slot> {
        let i = seq.checked_sub(self.front_seq)?;
        self.slots.get(usize::try_from(i).ok()?)
    }

    pub(super) fn slot_mut(&mut self, seq: u64) -> Option<&mut Slot> {
        let i = seq.checked_sub(self.front_seq)?;
        self.slots.get_mut(usize::try_from(i).ok()?)
    }

    pub(super) fn id(&self, slot: &Slot) -> &str {
        let start = slot.id_off().saturating_sub(self.ids_base) as usize;
        let end = start.saturating_add(slot.id_len());
        self.ids.get(start..end).unwrap_or("")
    }

    /// Decode the low `mask` bits of a sequence number that must be older than `before`.
    fn decode(&self, stored: u32, before: u64, mask: u32) -> Option<u64> {
        let dist = ((before as u32).wrapping_sub(stored) & mask) as u64;
        if dist == 0 || dist > before.saturating_sub(self.front_seq) {
            return None;
        }
        Some(before - dist)
    }

    fn bucket(&self, kind: usize, key: u64) -> usize {
        (mix64(key ^ (kind as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)) & self.mask) as usize
    }

    /// Key of the id lookup.
    pub(super) fn id_key(id: &str) -> u64 {
        xxh3_64(id.as_bytes())
    }

    /// Live sequence numbers in the bucket of `(kind, key)`, newest first, at most `cap`.
    /// Callers check that each slot really carries the key.
    pub(super) fn chain(&self, kind: usize, key: u64, cap: usize, out: &mut Vec<u64>) {
        self.chain_since(kind, key, cap, 0, out);
    }

    /// [`Store::chain`], stopping before the first sequence number below `floor`.
    pub(super) fn chain_since(
        &self,
        kind: usize,
        key: u64,
        cap: usize,
        floor: u64,
        out: &mut Vec<u64>,
    ) {
        if kind >= self.kinds {
            return;
        }
        let head = self.heads[self.bucket(kind, key)];
        self.chain_from(kind, head, cap, floor, out);
    }

    /// The chain heads of a story's lookup keys (`None` for a key it has not), read in one
    /// pass before any chain is walked: the heads are random places in a large table, and
    /// loads that do not wait on each other miss the cache in parallel.
    pub(super) fn heads_of(&self, keys: &[Option<u64>; MAX_KINDS]) -> [Option<u32>; MAX_KINDS] {
        let mut heads = [None; MAX_KINDS];
        for (kind, (head, key)) in heads.iter_mut().zip(keys).enumerate().take(self.kinds) {
            *head = key.map(|key| self.heads[self.bucket(kind, key)]);
        }
        heads
    }

    /// [`Store::chain_since`] from a head read by [`Store::heads_of`] (no push since).
    pub(super) fn chain_from(
        &self,
        kind: usize,
        head: u32,
        cap: usize,
        floor: u64,
        out: &mut Vec<u64>,
    ) {
        if kind >= self.kinds {
            return;
        }
        let mut cur = match self.decode(head, self.back_seq(), u32::MAX) {
            Some(s) => s,
            None => return,
        };
        for _ in 0..cap {
            if cur < floor {
                return;
            }
            out.push(cur);
            let Some(i) = cur.checked_sub(self.front_seq) else {
                return;
            };
            let Some(&[a, b, c]) = self.links.get(i as usize * self.kinds + kind) else {
                return;
            };
            let link = u32::from_le_bytes([a, b, c, 0]);
            match self.decode(link, cur, LINK_MASK) {
                Some(prev) => cur = prev,
                None => return,
            }
        }
    }

    /// Append a slot with its id and lookup keys (`None` for a band whose bin is empty).
    pub(super) fn push(&mut self, mut slot: Slot, id: &str, keys: &[Option<u64>]) -> u64 {
        let seq = self.back_seq();
        let mut end = id.len().min(MAX_ID_BYTES);
        while !id.is_char_boundary(end) {
            end -= 1;
        }
        let id = &id[..end];
        slot.set_id(self.ids_base + self.ids.len() as u64, id.len());
        self.ids.push_str(id);
        for kind in 0..self.kinds {
            let mut link = seq as u32;
            if let Some(Some(key)) = keys.get(kind) {
                let b = self.bucket(kind, *key);
                link = self.heads[b];
                self.heads[b] = seq as u32;
            }
            let [a, b, c, _] = link.to_le_bytes();
            self.links.push_back([a, b, c]);
        }
        self.slots.push_back(slot);
        seq
    }

    /// Drop the oldest slot. Chains need no update (see the module docs).
    pub(super) fn pop_front(&mut self) -> Option<Slot> {
        let slot = self.slots.pop_front()?;
        self.links.drain(..self.kinds.min(self.links.len()));
        self.front_seq += 1;
        // Trim the id arena once its dead prefix is large: amortised O(1).
        let dead = match self.slots.front() {
            Some(next) => next.id_off().saturating_sub(self.ids_base) as usize,
            None => self.ids.len(),
        };
        if dead > 4096 && dead * 2 > self.ids.len() && self.ids.is_char_boundary(dead) {
            self.ids.drain(..dead);
            self.ids_base += dead as u64;
        }
        Some(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_stay_small() {
        assert_eq!(std::mem::size_of::<Slot>(), 96);
    }

    #[test]
    fn canonical_sketches_mark_empty_bins_with_zero() {
        let mut sketch = [0xffffu16; BINS];
        sketch[0] = 0;
        sketch[1] = 7;
        let c = canonical_sketch(0b011, &sketch);
        assert_eq!(&c[..3], &[1, 7, 0]);
        assert_eq!(filled_of(&c), 0b011);
        assert_eq!(canonical_sketch(0b011, &c), c);
        assert_eq!(index_time(-5), 0);
        assert_eq!(index_time(1 << 40), u32::MAX as i64);
    }

    #[test]
    fn chains_reach_back_across_many_entries() {
        let mut store = Store::new(300_000, 1);
        let slot = Slot {
            id_ref: 0,
            version: u64::MAX,
            exact: 0,
            sketch: [0; BINS],
            at: 0,
            shingles: 0,
            input: 0,
        };
        let first = store.push(slot, "a", &[Some(1)]);
        for i in 0..200_000u64 {
            store.push(slot, "b", &[Some(i + 10)]);
        }
        let last = store.push(slot, "a", &[Some(1)]);
        let mut out = Vec::new();
        store.chain(KIND_ID, 1, 10, &mut out);
        // Other keys may share the bucket; the chain still reaches the first entry.
        assert_eq!(out.first(), Some(&last));
        assert!(out.contains(&first), "{out:?}");
    }

    #[test]
    fn long_ids_are_cut_at_a_char_boundary() {
        let mut store = Store::new(10, 2);
        let id = "é".repeat(40_000);
        let slot = Slot {
            id_ref: 0,
            version: u64::MAX,
            exact: 1,
            sketch: [0; BINS],
            at: 0,
            shingles: 0,
            input: 0,
        };
        let seq = store.push(slot, &id, &[]);
        let kept = store.id(store.slot(seq).unwrap());
        assert!(kept.len() <= MAX_ID_BYTES && kept.len() > MAX_ID_BYTES - 4);
        assert!(id.starts_with(kept));
    }
}
