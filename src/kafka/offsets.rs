//! Which input offset may be committed. Outputs are acknowledged out of order, but an offset
//! may only be stored once every record it and every earlier offset caused is acknowledged:
//! the next offset to commit is the smallest still pending, or one past the highest done.

use std::collections::{BTreeSet, HashMap};

/// A topic-partition, owned.
pub type Tp = (String, i32);

#[derive(Debug, Default)]
struct PartitionState {
    pending: BTreeSet<i64>,
    highest_done: Option<i64>,
    /// The offset last handed out by [`OffsetTracker::committable`], to report only changes.
    reported: Option<i64>,
}

#[derive(Debug, Default)]
pub struct OffsetTracker {
    partitions: HashMap<Tp, PartitionState>,
}

impl OffsetTracker {
    pub fn begin(&mut self, tp: &Tp, offset: i64) {
        // Look up before inserting: the key is cloned once per partition, not per record.
        match self.partitions.get_mut(tp) {
            Some(p) => p.pending.insert(offset),
            None => self
                .partitions
                .entry(tp.clone())
                .or_default()
                .pending
                .insert(offset),
        };
    }

    pub fn finish(&mut self, tp: &Tp, offset: i64) {
        if let Some(p) = self.partitions.get_mut(tp) {
            p.pending.remove(&offset);
            p.highest_done = Some(p.highest_done.map_or(offset, |h| h.max(offset)));
        }
    }

    /// The next offset to commit for `tp`, if any work there is done.
    pub fn next_offset(&self, tp: &Tp) -> Option<i64> {
        let p = self.partitions.get(tp)?;
        match p.pending.first() {
            Some(&lowest) => Some(lowest),
            None => p.highest_done.map(|h| h + 1),
        }
        .filter(|&o| p.highest_done.is_some() && o > 0)
    }

    /// Offsets that changed since the last call: `(tp, next offset to consume)`.
    pub fn committable(&mut self) -> Vec<(Tp, i64)> {
        let mut out = Vec::new();
        let keys: Vec<Tp> = self.partitions.keys().cloned().collect();
        for tp in keys {
            if let Some(next) = self.next_offset(&tp) {
                let p = self.partitions.get_mut(&tp).expect("key from the map");
                if p.reported != Some(next) {
                    p.reported = Some(next);
                    out.push((tp, next));
                }
            }
        }
        out.sort();
        out
    }

    /// Forget a partition (revoked): what was not stored will be reprocessed by its new owner.
    pub fn forget(&mut self, tp: &Tp) {
        self.partitions.remove(tp);
    }

    pub fn pending(&self) -> usize {
        self.partitions.values().map(|p| p.pending.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp() -> Tp {
        ("t".into(), 0)
    }

    #[test]
    fn commits_only_below_the_lowest_pending() {
        let mut t = OffsetTracker::default();
        for o in 10..15 {
            t.begin(&tp(), o);
        }
        assert_eq!(t.next_offset(&tp()), None, "nothing done yet");
        t.finish(&tp(), 12);
        t.finish(&tp(), 13);
        assert_eq!(t.next_offset(&tp()), Some(10));
        t.finish(&tp(), 10);
        assert_eq!(t.next_offset(&tp()), Some(11));
        t.finish(&tp(), 11);
        assert_eq!(t.next_offset(&tp()), Some(14));
        t.finish(&tp(), 14);
        assert_eq!(t.next_offset(&tp()), Some(15));
        assert_eq!(t.pending(), 0);
    }

    #[test]
    fn committable_reports_changes_once() {
        let mut t = OffsetTracker::default();
        t.begin(&tp(), 0);
        t.begin(&("u".into(), 1), 5);
        t.finish(&tp(), 0);
        assert_eq!(t.committable(), vec![(tp(), 1)]);
        assert!(t.committable().is_empty());
        t.finish(&("u".into(), 1), 5);
        assert_eq!(t.committable(), vec![(("u".into(), 1), 6)]);
    }

    #[test]
    fn forgotten_partitions_report_nothing() {
        let mut t = OffsetTracker::default();
        t.begin(&tp(), 3);
        t.finish(&tp(), 3);
        t.forget(&tp());
        assert!(t.committable().is_empty());
    }
}
