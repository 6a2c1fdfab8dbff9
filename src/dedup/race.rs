//! Races between replicas: two replicas that admit near duplicates at the same moment each
//! publish a unique entry before reading the other's. Each replica notices when the other's
//! entry arrives while its own is still recent (see [`super::DedupIndex::apply`]); both then
//! apply the same total order, [`Claim::precedes`], so both agree on which story is the
//! original and which one the replica that admitted it re-labels as a duplicate.
//!
//! The order is the earliest story time, then the smallest id (bytewise), then the smallest
//! origin (the admitting replica's instance id, which only matters for one story admitted
//! twice under one id and one story time).

use std::cmp::Ordering;

use super::Entry;
use crate::model::DuplicateKind;

/// What the tie-break looks at for one admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim<'a> {
    /// Story time, Unix seconds.
    pub at: i64,
    pub id: &'a str,
    /// The replica that admitted it.
    pub origin: u64,
}

impl Claim<'_> {
    /// The order of originals: earlier story time, then smaller id, then smaller origin.
    pub fn order(&self, other: &Claim<'_>) -> Ordering {
        self.at
            .cmp(&other.at)
            .then_with(|| self.id.as_bytes().cmp(other.id.as_bytes()))
            .then_with(|| self.origin.cmp(&other.origin))
    }

    /// True when `self` is the original and `other` the duplicate.
    pub fn precedes(&self, other: &Claim<'_>) -> bool {
        self.order(other) == Ordering::Less
    }
}

/// One race found while applying an entry: who stays the original, who is re-labelled.
#[derive(Debug, Clone, PartialEq)]
pub struct Race {
    pub winner: String,
    pub winner_origin: u64,
    /// The entry that loses (taken out of the index, or never inserted).
    pub loser: Entry,
    pub loser_origin: u64,
    pub similarity: f32,
    pub kind: DuplicateKind,
}

/// What [`super::DedupIndex::apply`] did with an entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    /// False when the entry was already there or lost a race.
    pub inserted: bool,
    pub races: Vec<Race>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::{DedupConfig, DedupIndex};
    use crate::model::Story;
    use chrono::{TimeZone, Utc};

    const BODY: &str = "The central bank raised its benchmark interest rate by half a \
        percentage point on Tuesday, its third increase this year, citing persistent inflation \
        in services and a tight labour market. Economists polled last week had expected a \
        quarter point move, and bond yields jumped after the announcement as traders priced in \
        further tightening before the summer. The currency rose against the dollar.";
    const OTHER: &str = "Heavy rain flooded large parts of the northern port city overnight, \
        closing roads, schools and the main railway station while rescue teams evacuated \
        hundreds of residents from low-lying districts near the river, officials said on \
        Wednesday. The weather service warned that more storms were expected over the weekend \
        and urged people to avoid travel.";

    fn story(body: &str) -> Story {
        Story {
            headline: Some("Headline".into()),
            body: body.into(),
            ..Story::default()
        }
    }

    /// A replica that admitted `body` as `id` at minute `minute`, for origin `origin`.
    fn replica(origin: u64, id: &str, body: &str, minute: i64) -> (DedupIndex, Entry) {
        let mut ix = DedupIndex::new(&DedupConfig::default());
        ix.track_races(origin);
        let at =
            Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap() + chrono::Duration::minutes(minute);
        let (d, e) = ix.check(&story(body), id, at);
        assert_eq!(d.status, crate::model::DedupStatus::Unique);
        (ix, e.expect("admitted"))
    }

    #[test]
    fn concurrent_near_duplicates_resolve_the_same_way_on_both_replicas() {
        let copy = BODY
            .replace("Tuesday", "Tuesday morning")
            .replace("dollar", "euro");
        // "reuters-1" has the earlier story time: it stays the original.
        let (mut a, ea) = replica(1, "reuters-1", BODY, 0);
        let (mut b, eb) = replica(2, "ap-7", &copy, 1);

        let on_a = a.apply(eb.clone(), 2, true);
        let on_b = b.apply(ea.clone(), 1, true);
        assert!(!on_a.inserted, "the later entry is not taken in");
        assert!(on_b.inserted);
        for applied in [&on_a, &on_b] {
            assert_eq!(applied.races.len(), 1);
            let race = &applied.races[0];
            assert_eq!(race.winner, "reuters-1");
            assert_eq!(race.loser.id, "ap-7");
            assert_eq!(race.loser_origin, 2);
            assert_eq!(race.kind, DuplicateKind::Near);
        }
        // Both indexes now hold the original only: a third copy is a duplicate of it.
        for ix in [&mut a, &mut b] {
            let at = Utc.with_ymd_and_hms(2024, 5, 1, 12, 5, 0).unwrap();
            let (d, _) = ix.check(&story(&copy), "afp-3", at);
            assert_eq!(d.of.as_deref(), Some("reuters-1"));
        }
    }

    #[test]
    fn a_third_replica_keeps_the_original_whatever_the_order() {
        let copy = BODY.replace("Tuesday", "Tuesday morning");
        let (_, original) = replica(1, "reuters-1", BODY, 0);
        let (_, later) = replica(2, "ap-7", &copy, 1);
        for order in [[&original, &later], [&later, &original]] {
            let mut c = DedupIndex::new(&DedupConfig::default());
            c.track_races(3);
            for e in order {
                let origin = if e.id == "reuters-1" { 1 } else { 2 };
                c.apply(e.clone(), origin, true);
            }
            let at = Utc.with_ymd_and_hms(2024, 5, 1, 12, 5, 0).unwrap();
            let (d, _) = c.check(&story(&copy), "afp-3", at);
            assert_eq!(d.of.as_deref(), Some("reuters-1"));
        }
    }

    #[test]
    fn exact_copies_under_one_id_and_time_are_decided_by_origin() {
        let (mut a, mut ea) = replica(5, "same", BODY, 0);
        let (mut b, mut eb) = replica(9, "same", BODY, 0);
        // Two input records with the same story.
        ea.input = 1;
        eb.input = 2;
        let on_a = a.apply(eb, 9, true);
        let on_b = b.apply(ea, 5, true);
        assert_eq!(on_a.races[0].loser_origin, 9);
        assert_eq!(on_b.races[0].loser_origin, 9);
        assert_eq!(on_a.races[0].kind, DuplicateKind::Exact);
    }

    #[test]
    fn unrelated_updates_and_old_entries_do_not_race() {
        let (mut a, _) = replica(1, "rates", BODY, 0);
        let (_, floods) = replica(2, "floods", OTHER, 1);
        let applied = a.apply(floods, 2, true);
        assert!(applied.inserted && applied.races.is_empty());

        // An update is admitted knowingly: never a race.
        let (_, update) = replica(2, "rates-2", BODY, 2);
        let applied = a.apply(update, 2, false);
        assert!(applied.inserted && applied.races.is_empty());

        // Past the race horizon, a matching unique entry is applied as it is.
        let (mut a, _) = replica(1, "rates", BODY, 0);
        let mark = a.next_seq();
        a.forget_races_before(mark);
        assert_eq!(a.racing(), 0);
        let (_, late) = replica(2, "ap-late", BODY, 3);
        let applied = a.apply(late, 2, true);
        assert!(applied.inserted && applied.races.is_empty());
    }

    #[test]
    fn an_entry_already_there_is_skipped() {
        let (mut a, ea) = replica(1, "rates", BODY, 0);
        let applied = a.apply(ea, 1, true);
        assert_eq!(applied, Applied::default());
        assert_eq!(a.len(), 1);
    }

    fn claim(at: i64, id: &str, origin: u64) -> Claim<'_> {
        Claim { at, id, origin }
    }

    #[test]
    fn earliest_story_time_wins_then_id_then_origin() {
        assert!(claim(10, "z", 9).precedes(&claim(11, "a", 1)));
        assert!(claim(10, "a", 9).precedes(&claim(10, "b", 1)));
        assert!(claim(10, "a", 1).precedes(&claim(10, "a", 2)));
        assert!(!claim(10, "a", 1).precedes(&claim(10, "a", 1)));
    }

    #[test]
    fn both_sides_agree() {
        let pairs = [
            (claim(5, "reuters-1", 7), claim(5, "ap-9", 3)),
            (claim(4, "b", 1), claim(6, "a", 2)),
            (claim(4, "same", 1), claim(4, "same", 2)),
        ];
        for (a, b) in pairs {
            assert_ne!(a.precedes(&b), b.precedes(&a), "{a:?} {b:?}");
        }
    }
}
