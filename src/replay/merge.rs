//! The deterministic order of a replay: records of all replayed partitions merged by
//! `(timestamp, partition, offset)`, whatever order the broker delivered them in.
//!
//! A k-way merge over per-partition queues: a record is released only when every partition
//! that is not finished has at least one record buffered, so the smallest head is known to be
//! the smallest of all that is still to come from that partition. Within a partition, offset
//! order is kept even when timestamps go backwards, so the records released up to any point are
//! always a prefix of every partition: a checkpoint (the next offset per partition) names
//! exactly the records already processed, and re-running the merge from the window start
//! releases them first, in the same order.

use std::collections::VecDeque;

/// One partition's queue and its end offset (exclusive).
#[derive(Debug)]
struct Lane<M> {
    end: i64,
    queue: VecDeque<(i64, i64, M)>,
    finished: bool,
}

/// Merges records of several partitions, identified by their index (the caller's lanes are
/// sorted by topic and partition, so the index stands for both in the ordering key).
#[derive(Debug)]
pub struct Merger<M> {
    lanes: Vec<Lane<M>>,
}

impl<M> Merger<M> {
    /// One lane per partition, with its end offset; a lane with nothing to read is finished.
    pub fn new(ranges: impl IntoIterator<Item = (i64, i64)>) -> Self {
        let lanes = ranges
            .into_iter()
            .map(|(start, end)| Lane {
                end,
                queue: VecDeque::new(),
                finished: start >= end,
            })
            .collect();
        Merger { lanes }
    }

    /// Buffer a record of `lane`. Records at or past the lane's end are dropped and finish it.
    /// `timestamp` is in ms; records without one sort first (-1).
    pub fn push(&mut self, lane: usize, timestamp: i64, offset: i64, record: M) {
        let Some(l) = self.lanes.get_mut(lane) else {
            return;
        };
        if l.finished && offset >= l.end {
            return;
        }
        if offset >= l.end {
            l.finished = true;
            return;
        }
        l.queue.push_back((timestamp, offset, record));
        if offset + 1 >= l.end {
            l.finished = true;
        }
    }

    /// Nothing more will come from `lane` (its position reached the end).
    pub fn finish(&mut self, lane: usize) {
        if let Some(l) = self.lanes.get_mut(lane) {
            l.finished = true;
        }
    }

    pub fn is_lane_finished(&self, lane: usize) -> bool {
        self.lanes.get(lane).is_none_or(|l| l.finished)
    }

    pub fn buffered(&self, lane: usize) -> usize {
        self.lanes.get(lane).map_or(0, |l| l.queue.len())
    }

    /// Every lane finished and drained.
    pub fn is_done(&self) -> bool {
        self.lanes.iter().all(|l| l.finished && l.queue.is_empty())
    }

    /// The next record in merge order, once it is known to be the next: `(lane, offset,
    /// record)`. `None` while some unfinished lane has nothing buffered.
    pub fn pop(&mut self) -> Option<(usize, i64, M)> {
        let mut best: Option<(i64, usize, i64)> = None;
        for (i, l) in self.lanes.iter().enumerate() {
            match l.queue.front() {
                Some(&(ts, offset, _)) => {
                    let key = (ts, i, offset);
                    if best.is_none_or(|b| key < b) {
                        best = Some(key);
                    }
                }
                None if !l.finished => return None,
                None => {}
            }
        }
        let (_, lane, _) = best?;
        let (_, offset, record) = self.lanes[lane].queue.pop_front()?;
        Some((lane, offset, record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (lane, timestamp, offset) of three partitions, one with a timestamp going backwards.
    fn input() -> Vec<(usize, i64, i64)> {
        vec![
            (0, 10, 0),
            (0, 30, 1),
            (0, 20, 2),
            (1, 15, 5),
            (1, 30, 6),
            (2, 5, 0),
            (2, 40, 1),
        ]
    }

    fn run(order: &[(usize, i64, i64)]) -> Vec<(usize, i64)> {
        let mut m = Merger::new([(0, 3), (5, 7), (0, 2)]);
        let mut out = Vec::new();
        for &(lane, ts, offset) in order {
            m.push(lane, ts, offset, ());
            while let Some((l, o, ())) = m.pop() {
                out.push((l, o));
            }
        }
        assert!(m.is_done());
        out
    }

    #[test]
    fn order_does_not_depend_on_arrival() {
        let inp = input();
        let expected = run(&inp);
        // Arrival by lane 2, 1, 0: a different interleaving, same per-lane order.
        let mut other: Vec<_> = inp.iter().filter(|r| r.0 == 2).cloned().collect();
        other.extend(inp.iter().filter(|r| r.0 == 1));
        other.extend(inp.iter().filter(|r| r.0 == 0));
        assert_eq!(run(&other), expected);
        assert_eq!(
            expected,
            vec![(2, 0), (0, 0), (1, 5), (0, 1), (0, 2), (1, 6), (2, 1)]
        );
    }

    #[test]
    fn waits_for_every_unfinished_lane() {
        let mut m = Merger::new([(0, 2), (0, 1)]);
        m.push(0, 1, 0, "a");
        assert!(
            m.pop().is_none(),
            "lane 1 may still bring an earlier record"
        );
        m.finish(1);
        assert_eq!(m.pop(), Some((0, 0, "a")));
        assert!(m.pop().is_none());
        assert!(!m.is_done());
    }

    #[test]
    fn records_past_the_end_finish_the_lane() {
        let mut m = Merger::new([(0, 2)]);
        m.push(0, 1, 0, 'x');
        assert!(!m.is_lane_finished(0));
        m.push(0, 1, 4, 'y');
        assert!(m.is_lane_finished(0));
        assert_eq!(m.pop(), Some((0, 0, 'x')));
        assert!(m.is_done());
        let empty: Merger<()> = Merger::new([(3, 3)]);
        assert!(empty.is_done());
    }
}
