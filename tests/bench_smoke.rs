//! `wirefeed bench` end to end on the real broker with a few hundred stories: every mode
//! accounts for every story and the report has the fields the README and dashboards read.
//! No timing assertions: only that the numbers exist and are consistent.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

const STORIES: u64 = 300;

fn corpus() -> PathBuf {
    std::env::var("WIREFEED_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data")))
        .join("reuters21578/train.jsonl.gz")
}

fn number(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {v}"))
}

#[test]
fn bench_reports_every_mode_latency_and_stages() {
    let brokers = support::require_brokers!();
    let dir = tempfile::tempdir().expect("temp dir");
    let json = dir.path().join("bench.json");
    let corpus = corpus();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wirefeed"))
        .args(["bench", "--brokers", &brokers, "--partitions", "2"])
        .args(["--stories", &STORIES.to_string(), "--stage-stories", "300"])
        .args(["--rounds", "2"])
        .args([
            "--latency-secs",
            "2",
            "--latency-load",
            "0.25,0.5",
            "--latency-runs",
            "2",
            "--json",
        ])
        .arg(&json)
        .arg("--corpus")
        .arg(&corpus)
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("start wirefeed bench");
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for wirefeed bench") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("wirefeed bench still running after 300 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(status.success(), "wirefeed bench exited with {status}");

    let report: Value =
        serde_json::from_slice(&std::fs::read(&json).expect("report written")).expect("JSON");
    assert_eq!(report["stories"], STORIES);
    assert_eq!(report["synthetic_corpus"], !corpus.exists());
    assert!(number(&report, "input_bytes") > 0.0);

    let modes = report["modes"].as_array().expect("modes");
    let names: Vec<&str> = modes.iter().filter_map(|m| m["mode"].as_str()).collect();
    assert_eq!(
        names,
        [
            "passthrough",
            "at-least-once",
            "exactly-once",
            "at-least-once-low-latency"
        ]
    );
    let profiles: Vec<&str> = modes.iter().filter_map(|m| m["profile"].as_str()).collect();
    assert_eq!(
        profiles,
        ["throughput", "throughput", "throughput", "low-latency"]
    );
    for m in modes {
        assert_eq!(m["stories"], STORIES, "{m}");
        assert_eq!(m["complete"], true, "{m}");
        for key in [
            "stories_per_sec",
            "mb_per_sec",
            "ratio_to_passthrough",
            "cpu_seconds_per_1k",
            "peak_rss_mb",
        ] {
            assert!(number(m, key) >= 0.0, "{key} in {m}");
        }
        assert!(number(m, "stories_per_sec") > 0.0, "{m}");
        assert!(number(m, "peak_rss_mb") > 0.0, "{m}");
    }
    assert_eq!(modes[0]["ratio_to_passthrough"], 1.0);
    // Each mode reports its rounds; its ratio is the median (here the mean) of theirs.
    for m in modes {
        let rounds = m["rounds"].as_array().expect("rounds");
        assert_eq!(rounds.len(), 2, "{m}");
        let ratios: Vec<f64> = rounds
            .iter()
            .map(|r| number(r, "ratio_to_passthrough"))
            .collect();
        let mean = (ratios[0] + ratios[1]) / 2.0;
        assert!(
            (number(m, "ratio_to_passthrough") - mean).abs() < 1e-9,
            "{m}"
        );
        let slowest = rounds
            .iter()
            .map(|r| number(r, "stories_per_sec"))
            .fold(f64::INFINITY, f64::min);
        assert_eq!(
            number(m, "stories_per_sec"),
            slowest,
            "the lower middle of two: {m}"
        );
    }
    for m in &modes[1..] {
        let summary = &m["summary"];
        assert_eq!(summary["consumed"], STORIES, "{m}");
        let by_status: u64 = summary["by_status"]
            .as_object()
            .expect("by_status")
            .values()
            .filter_map(Value::as_u64)
            .sum();
        let dead: u64 = summary["dead_letters"]
            .as_object()
            .expect("dead_letters")
            .values()
            .filter_map(Value::as_u64)
            .sum();
        assert_eq!(by_status + dead, STORIES, "{m}");
    }
    assert!(number(&modes[2]["summary"], "transactions_committed") >= 1.0);

    let latency = report["latency"].as_array().expect("latency");
    let profiles: Vec<&str> = latency
        .iter()
        .filter_map(|l| l["profile"].as_str())
        .collect();
    assert_eq!(
        profiles,
        ["low-latency", "low-latency", "throughput", "throughput"]
    );
    // Each profile's loads are fractions of its own at-least-once maximum.
    for (pair, mode) in latency.chunks(2).zip([&modes[3], &modes[1]]) {
        let maximum = number(mode, "stories_per_sec");
        let rates = [
            number(&pair[0], "rate_per_sec"),
            number(&pair[1], "rate_per_sec"),
        ];
        assert!(
            (rates[0] - (maximum * 0.25).max(1.0)).abs() < 1e-6,
            "{rates:?} of {maximum}"
        );
        assert!(
            (rates[1] - (maximum * 0.5).max(1.0)).abs() < 1e-6,
            "{rates:?} of {maximum}"
        );
    }
    for l in latency {
        assert_eq!(l["received"], l["offered"], "{l}");
        assert!(number(l, "samples") > 0.0, "{l}");
        let (p50, p99, p999) = (
            number(l, "p50_ms"),
            number(l, "p99_ms"),
            number(l, "p999_ms"),
        );
        assert!(p50 <= p99 && p99 <= p999, "{l}");
        assert!(l["settings"]["producer"]["linger.ms"].is_string(), "{l}");
        assert!(l["rate_basis"].is_string(), "{l}");
        let late = (number(l, "load_late_p99_ms"), number(l, "load_late_max_ms"));
        assert!(0.0 <= late.0 && late.0 <= late.1, "{l}");
        // The figures are those of the run with the lower middle p99 of the two.
        let runs = l["runs"].as_array().expect("runs");
        assert_eq!(runs.len(), 2, "{l}");
        let lower = number(&runs[0], "p99_ms").min(number(&runs[1], "p99_ms"));
        assert_eq!(p99, lower, "{l}");
        assert!(number(l, "context_switches_per_story") > 0.0, "{l}");
        if l["broker_cpu_seconds_per_1k"].is_number() {
            let busy = number(l, "machine_busy");
            assert!(busy > 0.0 && busy < 1.5, "{l}");
            assert!(number(l, "broker_context_switches_per_story") > 0.0, "{l}");
        }
    }

    // The paced load stands for upstream producers and batches, in both profiles.
    assert_eq!(
        report["run_options"]["latency_load_producer"]["linger.ms"],
        "20"
    );

    let stages = &report["stages"];
    assert_eq!(stages["stories"], 300);
    assert!(number(stages, "stories_per_sec") > 0.0);
}
