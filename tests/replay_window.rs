//! `wirefeed replay` on a real broker: a sub-window of a topic spread over several days is
//! replayed exactly, the live group's offsets stay as they were, two runs of the same window
//! write identical output, and a dry run writes nothing.

mod harness;
mod replay_support;
mod support;

use std::collections::BTreeMap;

use harness::{sources, Setup};
use replay_support::{
    base, commit_group, comparable, create_outputs, keep_input_forever, load_config, produce_days,
    read_outputs, window, DAY_MS,
};
use support::Isolation;
use tokio_util::sync::CancellationToken;
use wirefeed::replay::{run, Destination, ReplayError, ReplayOptions};

fn options(from: i64, to: i64, output: &str) -> ReplayOptions {
    let t = |ms| chrono::DateTime::from_timestamp_millis(ms).expect("time");
    let mut o = ReplayOptions::new(t(from));
    o.to = Some(t(to));
    o.destination = Destination::Topic(output.to_string());
    o.batch_size = 250;
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_the_window_deterministically_beside_the_live_group() {
    let brokers = support::require_brokers!();
    let mut setup = Setup::new(&brokers, "replay-window", 3).await;
    keep_input_forever(&mut setup, 3).await;
    let inputs = produce_days(&brokers, &setup.input, 1_500, 3).await;
    let (from, to) = (base() + 2 * DAY_MS, base() + 4 * DAY_MS);
    let expected = window(&inputs, from, to);
    assert!(
        expected.len() > 400 && expected.len() < 600,
        "{}",
        expected.len()
    );

    // The live service has committed somewhere in the middle.
    let live: Vec<(i32, i64)> = (0..3).map(|p| (p, 100 + p as i64)).collect();
    commit_group(&brokers, &setup.group, &setup.input, &live).await;
    let live_before = support::committed_offsets(&brokers, &setup.group, &setup.input).await;
    assert_eq!(live_before.len(), 3);

    let config = load_config(&setup, "at-least-once");
    let out_a = format!("{}.replay-a", setup.input);
    let out_b = format!("{}.replay-b", setup.input);
    create_outputs(&brokers, &out_a).await;
    create_outputs(&brokers, &out_b).await;

    let summary = run(
        config.clone(),
        options(from, to, &out_a),
        CancellationToken::new(),
    )
    .await
    .expect("replay a");
    println!("{}", serde_json::to_string(&summary).expect("json"));
    assert!(summary.completed);
    assert_eq!(summary.consumed as usize, expected.len());
    assert_eq!(summary.window_offsets as usize, expected.len());

    // Exactly the window's inputs, each once; every output says where it came from.
    let a = read_outputs(&brokers, &out_a, Isolation::ReadCommitted).await;
    let seen = sources(&a);
    let seen_keys: Vec<(i32, i64)> = seen.keys().copied().collect();
    let expected_keys: Vec<(i32, i64)> = expected.iter().copied().collect();
    assert_eq!(
        seen_keys, expected_keys,
        "replayed inputs differ from the window"
    );
    assert!(
        seen.values().all(|n| *n == 1),
        "an input has several outputs"
    );
    let dead: usize = summary.dead_letters.values().sum::<u64>() as usize;
    assert!(dead > 0, "the window holds broken inputs");
    assert_eq!(a.iter().filter(|r| r.topic.ends_with(".dlq")).count(), dead);
    for r in a.iter().filter(|r| !r.topic.ends_with(".dlq")) {
        let payload: serde_json::Value =
            serde_json::from_slice(r.payload.as_deref().unwrap_or_default())
                .expect("enriched JSON");
        assert_eq!(
            payload["id"].as_str(),
            Some(r.key_str().as_str()),
            "key = story id"
        );
        assert!(r.header("wirefeed-source-timestamp").is_some());
    }

    // The live group is untouched; the replay's own group holds the window's end.
    let live_after = support::committed_offsets(&brokers, &setup.group, &setup.input).await;
    assert_eq!(live_after, live_before);
    let replay_group = &summary.checkpoint_group;
    assert_ne!(replay_group, &setup.group);
    let checkpoint = support::committed_offsets(&brokers, replay_group, &setup.input).await;
    let ends: BTreeMap<i32, i64> = summary
        .partitions
        .iter()
        .map(|r| (r.partition, r.end))
        .collect();
    assert_eq!(checkpoint, ends);

    // The same replay again without --resume is refused: it would repeat its output.
    let again = run(
        config.clone(),
        options(from, to, &out_a),
        CancellationToken::new(),
    )
    .await;
    assert!(
        matches!(again, Err(ReplayError::CheckpointExists { .. })),
        "{again:?}"
    );

    // A second replay of the window into other topics writes the same records in the same
    // order per partition.
    let summary_b = run(
        config.clone(),
        options(from, to, &out_b),
        CancellationToken::new(),
    )
    .await
    .expect("replay b");
    assert_eq!(summary_b.by_status, summary.by_status);
    let b = read_outputs(&brokers, &out_b, Isolation::ReadCommitted).await;
    assert_eq!(comparable(&b, &out_b), comparable(&a, &out_a));

    // A dry run processes the window and writes nothing, not even a checkpoint.
    let out_dry = format!("{}.replay-dry", setup.input);
    let mut dry = options(from, to, &out_dry);
    dry.dry_run = true;
    let summary_dry = run(config.clone(), dry, CancellationToken::new())
        .await
        .expect("dry run");
    assert_eq!(summary_dry.consumed as usize, expected.len());
    assert_eq!(summary_dry.records_published, 0);
    assert_eq!(summary_dry.by_status, summary.by_status);
    let dry_checkpoint =
        support::committed_offsets(&brokers, &summary_dry.checkpoint_group, &setup.input).await;
    assert!(dry_checkpoint.is_empty());
    let live_after = support::committed_offsets(&brokers, &setup.group, &setup.input).await;
    assert_eq!(live_after, live_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_window_ends_at_the_high_watermarks_captured_at_start() {
    let brokers = support::require_brokers!();
    let mut setup = Setup::new(&brokers, "replay-open", 2).await;
    keep_input_forever(&mut setup, 2).await;
    let inputs = produce_days(&brokers, &setup.input, 300, 2).await;
    let from = base() + 5 * DAY_MS;
    let expected = window(&inputs, from, i64::MAX);
    let out = format!("{}.replay", setup.input);
    create_outputs(&brokers, &out).await;
    let mut o = options(from, from + 1, &out);
    o.to = None;
    o.batch_size = 20;

    // Stop early, let the topic grow, resume: the resumed run keeps the window it started
    // with (stored with the checkpoint) instead of the new end of the topic.
    let mut first = o.clone();
    first.max_records = Some(30);
    let part = run(
        load_config(&setup, "at-least-once"),
        first,
        CancellationToken::new(),
    )
    .await
    .expect("first part");
    assert!(!part.completed);
    let later = harness::stories("later", 40)
        .into_iter()
        .map(|m| m.timestamp(base() + 6 * DAY_MS + 1_000))
        .collect::<Vec<_>>();
    support::produce(&brokers, &setup.input, &later).await;
    o.resume = true;
    let summary = run(
        load_config(&setup, "at-least-once"),
        o,
        CancellationToken::new(),
    )
    .await
    .expect("replay");
    assert!(summary.completed);
    assert!(summary.resumed);
    assert_eq!(
        (part.consumed + summary.consumed) as usize,
        expected.len(),
        "the window grew on resume"
    );
    let seen = sources(&read_outputs(&brokers, &out, Isolation::ReadCommitted).await);
    assert_eq!(
        seen.keys().copied().collect::<Vec<_>>(),
        expected.into_iter().collect::<Vec<_>>()
    );

    // Output topics that do not exist are reported before anything is read.
    let missing = run(
        load_config(&setup, "at-least-once"),
        options(from, from + DAY_MS, &format!("{}.nowhere", setup.input)),
        CancellationToken::new(),
    )
    .await;
    assert!(
        matches!(missing, Err(ReplayError::MissingTopics(_))),
        "{missing:?}"
    );
}

#[test]
fn live_dedup_without_a_changelog_is_refused_with_a_clear_message() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wirefeed"))
        .args([
            "replay",
            "--from",
            "2024-02-01T00:00:00Z",
            "--dedup",
            "live",
        ])
        .output()
        .expect("run wirefeed replay");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--dedup live reads the live service's dedup changelog")
            && stderr.contains("[dedup_changelog] enabled = true"),
        "{stderr}"
    );
    let bad_time = std::process::Command::new(env!("CARGO_BIN_EXE_wirefeed"))
        .args(["replay", "--from", "yesterday"])
        .output()
        .expect("run wirefeed replay");
    assert!(!bad_time.status.success());
    assert!(String::from_utf8_lossy(&bad_time.stderr).contains("RFC 3339"));
}
