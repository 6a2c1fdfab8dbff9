//! Operations on a real broker: `/metrics` counters reconcile with what was produced and
//! consumed, lag falls to 0 after catch-up and is 0 (not -1) on an idle topic, `/readyz` flips
//! during start and shutdown, and a `traceparent` on the input is continued on the outputs.

mod harness;
mod support;

use std::time::Duration;

use harness::{free_port, http_get, metric, spawn_service, stories, terminate, wait_exit, Setup};
use support::{Isolation, Message};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_lag_readiness_and_traces() {
    let brokers = support::require_brokers!();
    let setup = Setup::new(&brokers, "observe", 3).await;
    let idle_topic = format!("{}.idle", setup.input.trim_end_matches(".raw"));
    support::create_topics(&brokers, &[(&idle_topic, 2)]).await;

    let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let mut input = stories("obs", 200);
    input[0] = input[0].clone().header("traceparent", trace);
    input.push(Message::new(r#"{"headline": "cut"#));
    support::produce(&brokers, &setup.input, &input).await;

    let port = free_port();
    let mut config = setup.config("at-least-once");
    config = config.replace(
        &format!("input_topics = [\"{}\"]", setup.input),
        &format!("input_topics = [\"{}\", \"{idle_topic}\"]", setup.input),
    );
    config = config.replace("listen = \"\"", &format!("listen = \"127.0.0.1:{port}\""));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wirefeed.toml");
    std::fs::write(&path, config).unwrap();

    let mut child = spawn_service(&path, &[], false);
    // Readiness: 503 until the group is joined, then 200.
    let mut statuses = Vec::new();
    for _ in 0..300 {
        if let Some((status, _)) = http_get(port, "/readyz") {
            if statuses.last() != Some(&status) {
                statuses.push(status);
            }
            if status == 200 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        statuses.last(),
        Some(&200),
        "readyz never became ready: {statuses:?}"
    );
    assert_eq!(http_get(port, "/healthz").map(|(s, _)| s), Some(200));

    // Caught up: every input counted, lag 0 on every partition (the idle topic too).
    let mut text = String::new();
    let mut caught_up = false;
    for _ in 0..120 {
        text = http_get(port, "/metrics")
            .map(|(_, b)| b)
            .unwrap_or_default();
        let consumed = metric(
            &text,
            "wirefeed_stories_consumed_total",
            &[("topic", &setup.input)],
        );
        let lags = text
            .lines()
            .filter(|l| l.starts_with("wirefeed_consumer_lag_messages{"))
            .count();
        let lag = metric(&text, "wirefeed_consumer_lag_messages", &[]);
        if consumed as usize == input.len() && lags == 5 && lag == 0.0 {
            caught_up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        caught_up,
        "metrics never showed catch-up:\n{}",
        text.lines()
            .filter(|l| l.starts_with("wirefeed_"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    for p in 0..2 {
        let line = text
            .lines()
            .find(|l| {
                l.starts_with("wirefeed_consumer_lag_messages{")
                    && l.contains(&idle_topic)
                    && l.contains(&format!("partition=\"{p}\""))
            })
            .unwrap_or_else(|| panic!("no lag series for the idle topic partition {p}"));
        assert!(line.ends_with(" 0"), "idle partition lag: {line}");
    }
    let published = metric(&text, "wirefeed_stories_published_total", &[]);
    let dead = metric(&text, "wirefeed_dead_letters_total", &[]);
    assert_eq!(published as usize, input.len() - 1);
    assert_eq!(dead, 1.0);
    assert_eq!(
        metric(
            &text,
            "wirefeed_dead_letters_total",
            &[("reason", "invalid-json")]
        ),
        1.0
    );
    let records = metric(&text, "wirefeed_records_published_total", &[]);
    let out = setup.outputs(Isolation::ReadCommitted, input.len()).await;
    assert_eq!(
        records as usize,
        out.len(),
        "records metric vs records on the topics"
    );
    assert!(
        metric(
            &text,
            "wirefeed_stage_duration_seconds_count",
            &[("stage", "decode")]
        ) >= published
    );
    assert!(metric(&text, "wirefeed_end_to_end_latency_seconds_count", &[]) >= published);
    assert_eq!(metric(&text, "wirefeed_build_info", &[]), 1.0);
    assert_eq!(metric(&text, "wirefeed_ready", &[]), 1.0);

    // The trace continues: same trace id, a new parent span.
    let traced: Vec<_> = out
        .iter()
        .filter_map(|r| {
            r.header("traceparent")
                .map(|v| String::from_utf8_lossy(v).to_string())
        })
        .collect();
    assert_eq!(traced.len(), 1, "one input carried a traceparent");
    assert!(traced[0].starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
    assert!(!traced[0].contains("00f067aa0ba902b7"));

    // Shutdown: readiness drops while draining, the process exits 0.
    terminate(&child);
    let mut saw_not_ready = false;
    for _ in 0..100 {
        match http_get(port, "/readyz") {
            Some((503, _)) | None => {
                saw_not_ready = true;
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    assert!(saw_not_ready, "readyz stayed 200 after SIGTERM");
    let status = wait_exit(&mut child, Duration::from_secs(60)).await;
    assert!(status.success(), "exit status {status}");
}
