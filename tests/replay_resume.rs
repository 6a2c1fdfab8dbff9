//! An exactly-once replay that is stopped early, then `kill -9`-ed mid-transaction, then
//! resumed, writes exactly what one uninterrupted replay of the same window writes: a
//! read_committed consumer sees every window input once, with the same keys, payloads and
//! headers in the same order per partition.

mod harness;
mod replay_support;
mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use harness::{kill_hard, sources, wait_exit, wait_for_progress, Setup};
use replay_support::{
    base, comparable, create_outputs, keep_input_forever, load_config, output_topics, produce_days,
    read_outputs, window, DAY_MS,
};
use support::Isolation;
use tokio_util::sync::CancellationToken;
use wirefeed::replay::{run, Destination, ReplayOptions};

const FROM: &str = "2024-02-02T00:00:00Z";
const TO: &str = "2024-02-06T00:00:00Z";

fn options(output: &str) -> ReplayOptions {
    let mut o = ReplayOptions::new(replay_support::time(FROM));
    o.to = Some(replay_support::time(TO));
    o.destination = Destination::Topic(output.to_string());
    o.batch_size = 200;
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_and_resumed_replay_loses_and_repeats_nothing() {
    let brokers = support::require_brokers!();
    let mut setup = Setup::new(&brokers, "replay-resume", 3).await;
    keep_input_forever(&mut setup, 3).await;
    let inputs = produce_days(&brokers, &setup.input, 3_000, 3).await;
    let expected = window(&inputs, base() + DAY_MS, base() + 5 * DAY_MS);
    let config = load_config(&setup, "exactly-once");

    // Reference: one uninterrupted replay.
    let out_a = format!("{}.replay-a", setup.input);
    create_outputs(&brokers, &out_a).await;
    let whole = run(config.clone(), options(&out_a), CancellationToken::new())
        .await
        .expect("uninterrupted replay");
    assert!(whole.completed);
    assert_eq!(whole.consumed as usize, expected.len());

    // Interrupted: stop after 700 records...
    let out_b = format!("{}.replay-b", setup.input);
    create_outputs(&brokers, &out_b).await;
    let mut first = options(&out_b);
    first.max_records = Some(700);
    let part = run(config.clone(), first, CancellationToken::new())
        .await
        .expect("first part");
    assert!(!part.completed);
    assert_eq!(part.consumed, 700);

    // ...then resume in the binary, slowed down, and kill -9 it mid-replay...
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("wirefeed.toml");
    std::fs::write(&path, setup.config("exactly-once")).expect("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wirefeed"))
        .args(["replay", "--config"])
        .arg(&path)
        .args(["--from", FROM, "--to", TO, "--output-topic", &out_b])
        .args(["--resume", "--batch-size", "100", "--max-rate", "300"])
        .env("RUST_LOG", "warn,wirefeed=info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn wirefeed replay");
    let outs = output_topics(&out_b);
    let outs: Vec<&str> = outs.iter().map(String::as_str).collect();
    let progressed = wait_for_progress(&brokers, &outs, 350, Duration::from_secs(60)).await;
    kill_hard(&mut child);
    assert!(
        progressed,
        "the resumed replay made no progress before the kill"
    );

    // ...and resume again to the end, in the binary, which prints the summary as JSON.
    let mut child = Command::new(env!("CARGO_BIN_EXE_wirefeed"))
        .args(["replay", "--config"])
        .arg(&path)
        .args([
            "--from",
            FROM,
            "--to",
            TO,
            "--output-topic",
            &out_b,
            "--resume",
        ])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn wirefeed replay");
    let status = wait_exit(&mut child, Duration::from_secs(120)).await;
    assert!(status.success(), "resumed replay exited with {status}");
    let mut stdout = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().expect("stdout"), &mut stdout)
        .expect("read stdout");
    let last: serde_json::Value = serde_json::from_str(stdout.trim()).expect("summary JSON");
    assert_eq!(last["completed"], true);
    assert_eq!(last["resumed"], true);
    assert!(last["rebuilt"].as_u64().unwrap_or(0) >= 700, "{last}");
    // The resumed run's dedup index holds what the uninterrupted one's held.
    assert_eq!(
        last["dedup_index_entries"].as_u64(),
        Some(whole.dedup_index_entries as u64),
        "{last}"
    );

    // Every window input exactly once, and the very records of the uninterrupted run.
    let b = read_outputs(&brokers, &out_b, Isolation::ReadCommitted).await;
    let seen = sources(&b);
    let repeated: Vec<_> = seen.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        repeated.is_empty(),
        "inputs with several outputs: {repeated:?}"
    );
    assert_eq!(
        seen.keys().copied().collect::<Vec<_>>(),
        expected.iter().copied().collect::<Vec<_>>(),
        "outputs do not cover exactly the window"
    );
    let a = read_outputs(&brokers, &out_a, Isolation::ReadCommitted).await;
    assert_eq!(comparable(&b, &out_b), comparable(&a, &out_a));

    // The aborted transaction of the killed run left records only a read_uncommitted
    // consumer sees; they are not part of the committed output above.
    let raw = read_outputs(&brokers, &out_b, Isolation::ReadUncommitted).await;
    println!(
        "committed outputs {}, written including aborted {}",
        b.len(),
        raw.len()
    );

    // Resuming a complete replay does nothing.
    let mut done = options(&out_b);
    done.resume = true;
    let again = run(config, done, CancellationToken::new())
        .await
        .expect("resume of a complete replay");
    assert!(again.completed);
    assert_eq!(again.consumed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_checkpoints_and_resume_finishes_the_window() {
    let brokers = support::require_brokers!();
    let mut setup = Setup::new(&brokers, "replay-term", 2).await;
    keep_input_forever(&mut setup, 2).await;
    let inputs = produce_days(&brokers, &setup.input, 1_200, 2).await;
    let expected = window(&inputs, base() + DAY_MS, base() + 5 * DAY_MS);
    let out = format!("{}.replay", setup.input);
    create_outputs(&brokers, &out).await;
    let (_dir, path) = setup.write_config("at-least-once");
    let replay = |extra: &[&str], stdout: Stdio| {
        Command::new(env!("CARGO_BIN_EXE_wirefeed"))
            .args(["replay", "--config"])
            .arg(&path)
            .args(["--from", FROM, "--to", TO, "--output-topic", &out])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn wirefeed replay")
    };
    let read_summary = |child: &mut std::process::Child| {
        let mut s = String::new();
        std::io::Read::read_to_string(child.stdout.as_mut().expect("stdout"), &mut s)
            .expect("read stdout");
        serde_json::from_str::<serde_json::Value>(s.trim()).expect("summary JSON")
    };

    let mut child = replay(&["--batch-size", "50", "--max-rate", "200"], Stdio::piped());
    let outs = output_topics(&out);
    let outs: Vec<&str> = outs.iter().map(String::as_str).collect();
    let progressed = wait_for_progress(&brokers, &outs, 150, Duration::from_secs(60)).await;
    harness::terminate(&child);
    let status = wait_exit(&mut child, Duration::from_secs(60)).await;
    assert!(progressed, "no progress before SIGTERM");
    assert!(status.success(), "interrupted replay exited with {status}");
    let first = read_summary(&mut child);
    assert_eq!(first["completed"], false, "{first}");

    let mut child = replay(&["--resume"], Stdio::piped());
    let status = wait_exit(&mut child, Duration::from_secs(120)).await;
    assert!(status.success(), "resumed replay exited with {status}");
    let second = read_summary(&mut child);
    assert_eq!(second["completed"], true, "{second}");
    assert_eq!(
        first["consumed"].as_u64().unwrap_or(0) + second["consumed"].as_u64().unwrap_or(0),
        expected.len() as u64
    );

    // A graceful stop checkpoints after its last deliveries: nothing lost, nothing repeated.
    let seen = sources(&read_outputs(&brokers, &out, Isolation::ReadCommitted).await);
    assert!(
        seen.values().all(|n| *n == 1),
        "an input has several outputs"
    );
    assert_eq!(
        seen.keys().copied().collect::<Vec<_>>(),
        expected.into_iter().collect::<Vec<_>>()
    );
}
