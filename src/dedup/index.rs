//! The admitted stories, in admission order, with chained lookup tables.
//!
//! Layout, chosen so a million entries restore in seconds and fit in well under 200 MB:
//! - `slots`: a `VecDeque` of fixed-size records (no per-entry heap allocation), oldest first;
//!   the entry with sequence number `s` sits at `s - front_seq`.
//! - `ids`: every id in one string arena, trimmed from the front as entries leave.
//! - lookup keys (id, exact hash, a few sketch bins) hash into one power-of-two table of chain
//!   heads; each slot keeps, per key kind, the sequence number of the previous slot in its
//!   bucket. Chains run newest to oldest, so evicting the oldest entry needs no unlinking: a
//!   walk stops at the first sequence number that is no longer live.
//!
//! Sequence numbers are `u64`; tables store their low 32 bits, decoded relative to the live
//! range (which is far shorter than 2^32), and a chain must strictly go back in time, so a stale
//! or corrupt link can end a walk early but never loop.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use super::fingerprint::{mix64, BINS};

/// Key kinds: the id, the exact hash, then one per lookup band.
pub(super) const KIND_ID: usize = 0;
pub(super) const KIND_EXACT: usize = 1;
pub(super) const FIRST_BAND: usize = 2;
/// Upper bound on key kinds (id + exact + 32 bands).
const MAX_KINDS: usize = 2 + BINS;

/// One admitted story, without its id (which lives in the arena).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(super) struct Slot {
    /// Absolute offset of the id in the arena.
    pub(super) id_off: u64,
    pub(super) id_len: u32,
    /// Version, `u64::MAX` when the story has none.
    pub(super) version: u64,
    /// Story time, Unix seconds.
    pub(super) at: i64,
    pub(super) exact: u64,
    pub(super) filled: u32,
    pub(super) shingles: u16,
    pub(super) sketch: [u16; BINS],
}

#[derive(Debug)]
pub(super) struct Store {
    pub(super) slots: VecDeque<Slot>,
    /// Per slot, per key kind, the low 32 bits of the previous sequence number in the bucket
    /// (equal to the slot's own when there is none).
    links: VecDeque<[u32; MAX_KINDS]>,
    heads: Vec<u32>,
    mask: u64,
    pub(super) front_seq: u64,
    pub(super) ids: String,
    pub(super) ids_base: u64,
    kinds: usize,
}

impl Store {
    pub(super) fn new(max_entries: usize, bands: usize) -> Self {
        let kinds = FIRST_BAND + bands.min(BINS);
        // About one head per key; at least 1024, at most 2^24 (64 MB).
        let want = max_entries.saturating_mul(kinds).clamp(1024, 1 << 24);
        let size = want.next_power_of_two() / 2;
        let size = size.max(1024);
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

    pub(super) fn id(&self, slot: &Slot) -> &str {
        let start = slot.id_off.saturating_sub(self.ids_base) as usize;
        let end = start.saturating_add(slot.id_len as usize);
        self.ids.get(start..end).unwrap_or("")
    }

    /// Decode a stored low-32-bit sequence number that must be older than `before`.
    fn decode(&self, stored: u32, before: u64) -> Option<u64> {
        let dist = (before as u32).wrapping_sub(stored) as u64;
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
        let head = self.heads[self.bucket(kind, key)];
        let mut cur = match self.decode(head, self.back_seq()) {
            Some(s) => s,
            None => return,
        };
        for _ in 0..cap {
            out.push(cur);
            let Some(i) = cur.checked_sub(self.front_seq) else {
                return;
            };
            let Some(links) = self.links.get(i as usize) else {
                return;
            };
            match self.decode(links[kind], cur) {
                Some(prev) => cur = prev,
                None => return,
            }
        }
    }

    /// Append a slot with its id and lookup keys (`None` for a band whose bin is empty).
    pub(super) fn push(&mut self, mut slot: Slot, id: &str, keys: &[Option<u64>]) -> u64 {
        let seq = self.back_seq();
        slot.id_off = self.ids_base + self.ids.len() as u64;
        slot.id_len = id.len() as u32;
        self.ids.push_str(id);
        let mut links = [seq as u32; MAX_KINDS];
        for (kind, key) in keys.iter().enumerate().take(self.kinds) {
            if let Some(key) = key {
                let b = self.bucket(kind, *key);
                links[kind] = self.heads[b];
                self.heads[b] = seq as u32;
            }
        }
        self.slots.push_back(slot);
        self.links.push_back(links);
        seq
    }

    /// Drop the oldest slot. Chains need no update (see the module docs).
    pub(super) fn pop_front(&mut self) -> Option<Slot> {
        let slot = self.slots.pop_front()?;
        self.links.pop_front();
        self.front_seq += 1;
        // Trim the id arena once its dead prefix is large: amortised O(1).
        let dead = match self.slots.front() {
            Some(next) => next.id_off.saturating_sub(self.ids_base) as usize,
            None => self.ids.len(),
        };
        if dead > 4096 && dead * 2 > self.ids.len() && self.ids.is_char_boundary(dead) {
            self.ids.drain(..dead);
            self.ids_base += dead as u64;
        }
        Some(slot)
    }
}
