//! `wirefeed replay --dedup live` on a real broker: the live service's changelog seeds the
//! replay's dedup index with the stories before `--from`, so copies inside the window are
//! recognised as duplicates of stories outside it; the same replay twice writes the same
//! output; `--dedup empty` does not know those stories.

mod changelog_support;
mod harness;
mod replay_support;
mod support;

use std::time::Duration;

use changelog_support::{id_of, near_copy, with_published_at, write_config};
use harness::{spawn_service, stories, wait_exit, Setup};
use replay_support::{base, comparable, create_outputs, keep_input_forever, read_outputs, DAY_MS};
use support::{Isolation, Message};
use tokio_util::sync::CancellationToken;
use wirefeed::replay::{run, DedupStart, Destination, ReplayOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_dedup_starts_from_the_changelog_before_the_window() {
    let brokers = support::require_brokers!();
    let mut setup = Setup::new(&brokers, "replay-live", 2).await;
    keep_input_forever(&mut setup, 2).await;
    let changelog = format!("{}.changelog", setup.group);
    let text = changelog_support::config(&setup, "at-least-once", &changelog);
    let (_dir, path) = write_config(&text);
    let config =
        wirefeed::config::Config::from_toml_str(&text, "test", std::iter::empty()).expect("config");

    // Day 1: stories the live service processes (and publishes to its changelog).
    let day1 = base() + 10 * 3600 * 1000;
    let originals: Vec<Message> =
        with_published_at(&stories("live-day1", 40), "2024-02-01T10:00:00Z")
            .into_iter()
            .map(|m| m.timestamp(day1))
            .collect();
    support::produce(&brokers, &setup.input, &originals).await;
    let mut live = spawn_service(&path, &[], true);
    let status = wait_exit(&mut live, Duration::from_secs(120)).await;
    assert!(status.success(), "live service exited with {status}");

    // Day 2: copies of day-1 stories and new ones, after the live service stopped.
    let day2 = base() + DAY_MS + 10 * 3600 * 1000;
    let mut window: Vec<Message> = originals
        .iter()
        .map(|m| near_copy(m, &format!("copy-of-{}", id_of(m))))
        .collect();
    window.extend(stories("live-day2", 20));
    let window: Vec<Message> = with_published_at(&window, "2024-02-02T10:00:00Z")
        .into_iter()
        .map(|m| m.timestamp(day2))
        .collect();
    support::produce(&brokers, &setup.input, &window).await;

    let from = chrono::DateTime::from_timestamp_millis(base() + DAY_MS).expect("time");
    let replay = |out: &str, dedup: DedupStart| {
        let mut o = ReplayOptions::new(from);
        o.destination = Destination::Topic(out.to_string());
        o.dedup = dedup;
        o
    };
    let outs: Vec<String> = ["live-a", "live-b", "empty"]
        .iter()
        .map(|s| format!("{}.{s}", setup.input))
        .collect();
    for o in &outs {
        create_outputs(&brokers, o).await;
    }
    let a = run(
        config.clone(),
        replay(&outs[0], DedupStart::Live),
        CancellationToken::new(),
    )
    .await
    .expect("replay with the live index");
    println!("{}", serde_json::to_string(&a).expect("json"));
    assert_eq!(a.consumed, 60);
    assert_eq!(a.dedup_live_entries, 40);
    assert_eq!(a.by_status.get("duplicate"), Some(&40), "{:?}", a.by_status);

    let records = read_outputs(&brokers, &outs[0], Isolation::ReadCommitted).await;
    for m in &originals {
        let id = id_of(m);
        let copy = format!("copy-of-{id}");
        let r = records
            .iter()
            .find(|r| r.key_str() == copy)
            .unwrap_or_else(|| panic!("no output for {copy}"));
        assert!(
            r.topic.ends_with(".duplicates"),
            "{copy} went to {}",
            r.topic
        );
        let v: serde_json::Value =
            serde_json::from_slice(r.payload.as_deref().unwrap_or_default()).expect("json");
        assert_eq!(v["dedup"]["of"].as_str(), Some(id.as_str()));
    }

    // The same replay again: the same output, record for record.
    let b = run(
        config.clone(),
        replay(&outs[1], DedupStart::Live),
        CancellationToken::new(),
    )
    .await
    .expect("second replay with the live index");
    assert_eq!(b.by_status, a.by_status);
    let again = read_outputs(&brokers, &outs[1], Isolation::ReadCommitted).await;
    assert_eq!(comparable(&again, &outs[1]), comparable(&records, &outs[0]));

    // From an empty index the copies are originals of the window.
    let e = run(
        config,
        replay(&outs[2], DedupStart::Empty),
        CancellationToken::new(),
    )
    .await
    .expect("replay from an empty index");
    assert_eq!(e.by_status.get("unique"), Some(&60), "{:?}", e.by_status);
    assert_eq!(e.dedup_live_entries, 0);
}
