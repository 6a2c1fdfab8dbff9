//! Dedup decisions on hand-written stories, through the public API.

use chrono::{DateTime, Duration, TimeZone, Utc};
use wirefeed::dedup::{DedupConfig, DedupIndex, Entry};
use wirefeed::model::{DedupStatus, DuplicateKind, EditSignal, Story};

const P1: &str = "The central bank raised its benchmark interest rate by half a percentage \
point on Tuesday, its third increase this year, citing persistent inflation in services and a \
tight labour market.";
const P2: &str = "Economists polled last week had expected a quarter point move, and bond \
yields jumped after the announcement as traders priced in further tightening before the summer.";
const P3: &str = "The bank said further increases could be needed if wage growth did not slow \
in the coming months, and it revised its growth forecast for next year down to 1.2 pct from \
1.6 pct.";
const P4: &str = "Governor Maria Lindqvist told reporters the decision was unanimous and that \
the board had discussed an even larger increase before settling on half a point.";
const P5: &str = "The currency rose 0.8 pct against the dollar to its strongest level in three \
months, while the main stock index fell 1.1 pct, led by property developers and retailers.";

const OTHER: &str = "Heavy rain flooded large parts of the northern port city overnight, \
closing roads, schools and the main railway station while rescue teams evacuated hundreds of \
residents from low-lying districts near the river, officials said on Wednesday. The weather \
service warned that more storms were expected over the weekend and urged people to avoid \
travel. Insurers said early estimates of the damage ran into tens of millions of euros.";

fn body(paras: &[&str]) -> String {
    paras.join("\n\n")
}

fn story(headline: &str, body: &str) -> Story {
    Story {
        headline: Some(headline.into()),
        body: body.into(),
        ..Story::default()
    }
}

fn t(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap() + Duration::minutes(minutes)
}

fn index() -> DedupIndex {
    DedupIndex::new(&DedupConfig::default())
}

fn full() -> String {
    body(&[P1, P2, P3, P4, P5])
}

#[test]
fn first_story_is_unique_and_admitted() {
    let mut ix = index();
    let (d, e) = ix.check(&story("Bank raises rates", &full()), "a", t(0));
    assert_eq!(d.status, DedupStatus::Unique);
    assert_eq!(e.map(|e| e.id), Some("a".into()));
    assert_eq!(ix.len(), 1);
}

#[test]
fn exact_duplicate_even_with_other_headline_and_wrapping() {
    let mut ix = index();
    ix.check(&story("Bank raises rates", &full()), "a", t(0));
    let rewrapped = full().to_uppercase().replace(". ", ".\n   ");
    let (d, e) = ix.check(&story("RATES UP AGAIN", &rewrapped), "b", t(5));
    assert_eq!(d.status, DedupStatus::Duplicate);
    assert_eq!(d.kind, Some(DuplicateKind::Exact));
    assert_eq!(d.of.as_deref(), Some("a"));
    assert_eq!(d.similarity, 1.0);
    assert!(e.is_none(), "duplicates are not admitted");
    assert_eq!(ix.len(), 1);
}

#[test]
fn near_duplicate_with_cut_paragraphs_and_furniture() {
    let mut ix = index();
    ix.check(&story("Bank raises rates", &full()), "a", t(0));
    let copy = format!(
        "{}\n\nCopyright 2024 Example Wire. All rights reserved.\nClick here for more.",
        body(&[P1, P2, P3])
    );
    let (d, _) = ix.check(
        &story("Central bank in surprise half-point hike", &copy),
        "b",
        t(3),
    );
    assert_eq!(d.status, DedupStatus::Duplicate, "{d:?}");
    assert_eq!(d.kind, Some(DuplicateKind::Near));
    assert_eq!(d.of.as_deref(), Some("a"));
    // A cut copy is wholly contained in the original: its similarity (containment) may be 1.
    assert!(d.similarity > 0.6, "{d:?}");
}

#[test]
fn near_duplicate_with_changed_words_and_added_paragraph() {
    let mut ix = index();
    ix.check(&story("Bank raises rates", &full()), "a", t(0));
    let edited = full()
        .replace("Economists polled", "Analysts surveyed")
        .replace("strongest", "highest");
    let copy = format!("{edited}\n\nThe next policy meeting is scheduled for July.");
    let (d, _) = ix.check(&story("Bank raises rates", &copy), "b", t(3));
    assert_eq!(d.status, DedupStatus::Duplicate, "{d:?}");
    assert_eq!(d.kind, Some(DuplicateKind::Near));
}

#[test]
fn different_story_is_unique() {
    let mut ix = index();
    ix.check(&story("Bank raises rates", &full()), "a", t(0));
    let (d, e) = ix.check(&story("Floods hit port city", OTHER), "b", t(1));
    assert_eq!(d.status, DedupStatus::Unique);
    assert!(e.is_some());
    assert_eq!(ix.len(), 2);
}

#[test]
fn results_tables_differing_in_numbers_are_not_duplicates() {
    let mut ix = index();
    let a = "Shr 1.23 dlrs vs 1.10 dlrs\nNet 12.3 mln vs 11.0 mln\nRevs 145.6 mln vs 130.2 mln\nNine mths\nShr 3.40 dlrs vs 3.02 dlrs\nNet 34.1 mln vs 30.3 mln\nRevs 420.7 mln vs 388.9 mln";
    let b = "Shr 87 cts vs 92 cts\nNet 5.4 mln vs 5.7 mln\nRevs 61.2 mln vs 59.8 mln\nNine mths\nShr 2.51 dlrs vs 2.44 dlrs\nNet 15.6 mln vs 15.1 mln\nRevs 180.3 mln vs 171.0 mln";
    ix.check(&story("ACME CORP 3RD QTR NET", a), "a", t(0));
    let (d, _) = ix.check(&story("BETA INC 3RD QTR NET", b), "b", t(1));
    assert_eq!(d.status, DedupStatus::Unique, "{d:?}");
}

#[test]
fn headline_only_briefs_with_placeholder_bodies_are_distinct() {
    let mut ix = index();
    ix.check(
        &story("ACME SETS QUARTERLY DIVIDEND", "******Blah blah blah."),
        "a",
        t(0),
    );
    let (d, _) = ix.check(
        &story("BETA RAISES PRIME RATE TO 8 PCT", "******Blah blah blah."),
        "b",
        t(1),
    );
    assert_eq!(d.status, DedupStatus::Unique, "{d:?}");
    // The same brief sent twice is still a duplicate.
    let (d, _) = ix.check(&story("ACME SETS QUARTERLY DIVIDEND", "******"), "c", t(2));
    assert_eq!(d.status, DedupStatus::Duplicate, "{d:?}");
    assert_eq!(d.of.as_deref(), Some("a"));
}

#[test]
fn higher_version_of_same_id_is_an_update() {
    let mut ix = index();
    let mut v1 = story("Bank raises rates", &body(&[P1, P2, P3]));
    v1.version = Some(1);
    ix.check(&v1, "urn:x:1", t(0));
    let mut v2 = story("Bank raises rates", &full());
    v2.version = Some(2);
    let (d, e) = ix.check(&v2, "urn:x:1", t(20));
    assert_eq!(d.status, DedupStatus::Update);
    assert_eq!(d.of.as_deref(), Some("urn:x:1"));
    assert!(e.is_some(), "updates are admitted");
    // The same version again is a duplicate of the update.
    let (d, e) = ix.check(&v2, "urn:x:1", t(21));
    assert_eq!(d.status, DedupStatus::Duplicate);
    assert_eq!(d.kind, Some(DuplicateKind::Exact));
    assert!(e.is_none());
    // A late copy of version 1 adds nothing.
    let (d, _) = ix.check(&v1, "urn:x:1", t(22));
    assert_eq!(d.status, DedupStatus::Duplicate);
}

#[test]
fn update_cue_in_headline_makes_an_update() {
    let mut ix = index();
    ix.check(
        &story("Bank raises rates", &body(&[P1, P2, P3, P4])),
        "a",
        t(0),
    );
    let (d, e) = ix.check(&story("UPDATE 1-Bank raises rates", &full()), "b", t(30));
    assert_eq!(d.status, DedupStatus::Update, "{d:?}");
    assert_eq!(d.of.as_deref(), Some("a"));
    assert!(e.is_some());
    // A later plain copy of the update is a duplicate of it.
    let (d, _) = ix.check(&story("Rates rise", &full()), "c", t(31));
    assert_eq!(d.status, DedupStatus::Duplicate);
    assert_eq!(d.of.as_deref(), Some("b"));
}

#[test]
fn correction_and_kill_signals_make_updates() {
    let mut ix = index();
    ix.check(&story("Bank raises rates", &full()), "a", t(0));
    let corrected = format!(
        "(Corrects governor's name in paragraph 4)\n\n{}",
        full().replace("Lindqvist", "Lindquist")
    );
    let (d, _) = ix.check(
        &story("CORRECTED-Bank raises rates", &corrected),
        "b",
        t(10),
    );
    assert_eq!(d.status, DedupStatus::Update, "{d:?}");
    let mut kill = story("Bank raises rates", &full());
    kill.edit_signal = Some(EditSignal::Kill);
    let (d, _) = ix.check(&kill, "c", t(11));
    assert_eq!(d.status, DedupStatus::Update, "{d:?}");
}

#[test]
fn cue_without_a_known_story_is_unique() {
    let mut ix = index();
    let (d, _) = ix.check(&story("UPDATE 2-Bank raises rates", &full()), "a", t(0));
    assert_eq!(d.status, DedupStatus::Unique);
}

#[test]
fn entries_older_than_the_window_are_forgotten() {
    let config = DedupConfig {
        window_secs: 3600,
        ..DedupConfig::default()
    };
    let mut ix = DedupIndex::new(&config);
    ix.check(&story("Bank raises rates", &full()), "a", t(0));
    let (d, _) = ix.check(&story("Floods", OTHER), "b", t(90));
    assert_eq!(d.status, DedupStatus::Unique);
    assert_eq!(ix.len(), 1, "the first entry fell out of the window");
    let (d, _) = ix.check(&story("Bank raises rates", &full()), "c", t(91));
    assert_eq!(d.status, DedupStatus::Unique);
}

#[test]
fn late_story_ignores_entries_outside_its_own_window() {
    let config = DedupConfig {
        window_secs: 3600,
        ..DedupConfig::default()
    };
    let mut ix = DedupIndex::new(&config);
    ix.check(&story("Floods", OTHER), "a", t(0));
    // Out of order: an older story arrives after a newer one; both stay within the window.
    ix.check(&story("Bank raises rates", &full()), "b", t(-30));
    let (d, _) = ix.check(&story("Rates", &full()), "c", t(10));
    assert_eq!(d.status, DedupStatus::Duplicate);
    assert_eq!(d.of.as_deref(), Some("b"));
}

#[test]
fn at_most_max_entries_are_kept() {
    let config = DedupConfig {
        max_entries: 2,
        ..DedupConfig::default()
    };
    let mut ix = DedupIndex::new(&config);
    ix.check(&story("Bank raises rates", &full()), "a", t(0));
    ix.check(&story("Floods", OTHER), "b", t(1));
    ix.check(
        &story("Brief one", "Short item number one about wheat exports."),
        "c",
        t(2),
    );
    assert_eq!(ix.len(), 2);
    let (d, _) = ix.check(&story("Bank raises rates", &full()), "d", t(3));
    assert_eq!(
        d.status,
        DedupStatus::Unique,
        "the oldest entry was evicted"
    );
    let (d, _) = ix.check(&story("Floods", OTHER), "e", t(4));
    assert_eq!(d.status, DedupStatus::Unique, "evicted by d");
}

#[test]
fn decisions_are_deterministic() {
    let stories = [
        story("Bank raises rates", &full()),
        story("Floods", OTHER),
        story("Rates", &body(&[P1, P2, P3])),
        story("Rates", &body(&[P2, P3, P4, P5])),
        story(
            "Floods again",
            &format!("{OTHER}\n\nMore rain is forecast."),
        ),
    ];
    let run = || {
        let mut ix = index();
        stories
            .iter()
            .enumerate()
            .map(|(i, s)| ix.check(s, &format!("s{i}"), t(i as i64)).0)
            .collect::<Vec<_>>()
    };
    let first = run();
    assert_eq!(first, run());
    assert_eq!(first[2].status, DedupStatus::Duplicate);
    assert_eq!(first[4].status, DedupStatus::Duplicate);
}

#[test]
fn snapshot_round_trip_keeps_duplicates_recognised() {
    let mut ix = index();
    ix.check(&story("Bank raises rates", &full()), "a", t(0));
    ix.check(&story("Floods", OTHER), "b", t(1));
    let json = serde_json::to_string(&ix).unwrap();
    let mut restored: DedupIndex = serde_json::from_str(&json).unwrap();
    assert_eq!(restored.len(), 2);
    assert_eq!(
        restored.entries().collect::<Vec<_>>(),
        ix.entries().collect::<Vec<_>>()
    );
    let (d, _) = restored.check(&story("Rates", &body(&[P1, P2, P3, P4])), "c", t(2));
    assert_eq!(d.status, DedupStatus::Duplicate);
    assert_eq!(d.of.as_deref(), Some("a"));
}

#[test]
fn corrupt_snapshot_is_an_error_not_a_panic() {
    let ix = index();
    let mut v: serde_json::Value = serde_json::to_value(&ix).unwrap();
    v["ids"] = "x".into();
    v["slots"] = serde_json::json!([{
        "id_off": 99, "id_len": 5, "version": 1, "at": 0, "exact": 1, "filled": 0,
        "shingles": 0, "sketch": [0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]
    }]);
    assert!(serde_json::from_value::<DedupIndex>(v).is_err());
}

#[test]
fn entries_from_another_replica_are_recognised() {
    let mut origin = index();
    let (_, entry) = origin.check(&story("Bank raises rates", &full()), "a", t(0));
    let entry = entry.unwrap();
    // Through the changelog's wire format.
    let json = serde_json::to_string(&entry).unwrap();
    let received: Entry = serde_json::from_str(&json).unwrap();
    assert_eq!(received, entry);

    let mut replica = index();
    replica.insert(received);
    assert_eq!(replica.len(), 1);
    let (d, _) = replica.check(&story("Rates", &full()), "b", t(1));
    assert_eq!(
        (d.status, d.kind),
        (DedupStatus::Duplicate, Some(DuplicateKind::Exact))
    );
    let (d, _) = replica.check(&story("Rates", &body(&[P1, P2, P3, P4])), "c", t(2));
    assert_eq!(
        (d.status, d.kind),
        (DedupStatus::Duplicate, Some(DuplicateKind::Near))
    );

    let restored = DedupIndex::restore(&DedupConfig::default(), replica.entries());
    assert_eq!(restored.len(), 1);
}

/// Scale check, run by hand: `cargo test --release --test dedup_index -- --ignored --nocapture`
/// under `/usr/bin/time -v` to see restore time and peak memory for a million entries.
#[test]
#[ignore]
fn restore_a_million_entries() {
    let mut ix = index();
    let (_, e) = ix.check(&story("Bank raises rates", &full()), "seed", t(0));
    let seed = e.unwrap();
    let entries: Vec<Entry> = (0..1_000_000u64)
        .map(|i| {
            let mut e = seed.clone();
            e.id = format!("urn:newsml:example.com:2024:{i}");
            e.exact = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
            for (b, s) in e.sketch.iter_mut().enumerate() {
                *s = (i.wrapping_mul(2654435761).rotate_left(b as u32) >> 7) as u16;
            }
            e.at = seed.at + (i as i64 % 3600);
            e
        })
        .collect();
    let json = serde_json::to_vec(&DedupIndex::restore(&DedupConfig::default(), entries)).unwrap();
    println!("snapshot: {} MB", json.len() / 1_000_000);
    let started = std::time::Instant::now();
    let mut restored: DedupIndex = serde_json::from_slice(&json).unwrap();
    drop(json);
    println!(
        "restored {} entries in {:?}",
        restored.len(),
        started.elapsed()
    );
    let started = std::time::Instant::now();
    let n = 20_000;
    for i in 0..n {
        let s = story("Rates", &format!("{} Item {i} of the series.", full()));
        restored.check(&s, &format!("q{i}"), t(30));
    }
    println!("check at 1M entries: {:?} per story", started.elapsed() / n);
    assert_eq!(restored.len(), 1_000_000);
}

#[test]
fn undone_admissions_no_longer_match() {
    // An aborted transaction takes its admissions back.
    let mut idx = index();
    let (_, kept) = idx.check(&story("Kept story", &full()), "kept", t(0));
    let other = body(&[
        "Copper prices rose sharply on Thursday after a strike at the largest mine in Chile cut output, traders in London said.",
        "The metal for three-month delivery gained 4 percent, its biggest one-day rise this year, before easing in late trade.",
        "Analysts said supplies were already tight after floods in the region last month, and stocks in exchange warehouses were low.",
    ]);
    let (_, admitted) = idx.check(&story("Copper jumps", &other), "copper", t(1));
    let admitted = admitted.expect("unique stories are admitted");
    idx.undo(&admitted);
    let (again, _) = idx.check(&story("Copper jumps", &other), "copper-2", t(2));
    assert_eq!(again.status, DedupStatus::Unique, "{again:?}");
    assert!(kept.is_some());
    let (dup, _) = idx.check(&story("Kept story again", &full()), "kept-2", t(3));
    assert_eq!(
        dup.status,
        DedupStatus::Duplicate,
        "other entries are untouched"
    );
}
