//! Helpers for service tests: a config per test, the `wirefeed` binary as a child process,
//! generated input, and accounting of outputs back to their inputs.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::{self, Isolation, Message, Record};

/// Topics and group of one test, all fresh.
pub(crate) struct Setup {
    pub(crate) brokers: String,
    pub(crate) input: String,
    pub(crate) enriched: String,
    pub(crate) duplicates: String,
    pub(crate) dlq: String,
    pub(crate) routes: Vec<(String, String)>,
    pub(crate) group: String,
}

impl Setup {
    pub(crate) async fn new(brokers: &str, prefix: &str, input_partitions: i32) -> Setup {
        let name = support::unique_name(prefix);
        let s = Setup {
            brokers: brokers.to_string(),
            input: format!("{name}.raw"),
            enriched: format!("{name}.enriched"),
            duplicates: format!("{name}.duplicates"),
            dlq: format!("{name}.dlq"),
            routes: Vec::new(),
            group: format!("{name}-group"),
        };
        support::create_topics_with_config(
            brokers,
            &[
                (&s.input, input_partitions),
                (&s.enriched, 3),
                (&s.duplicates, 1),
                (&s.dlq, 1),
            ],
            &[("max.message.bytes", "8388608")],
        )
        .await;
        s
    }

    pub(crate) async fn add_route(&mut self, when: &str, suffix: &str) -> String {
        let topic = format!("{}.{suffix}", self.input.trim_end_matches(".raw"));
        support::create_topics(&self.brokers, &[(&topic, 1)]).await;
        self.routes.push((when.to_string(), topic.clone()));
        topic
    }

    /// The TOML config of this test.
    pub(crate) fn config(&self, delivery: &str) -> String {
        let mut c = format!(
            r#"[kafka]
brokers = "{}"
group_id = "{}"
input_topics = ["{}"]
delivery = "{delivery}"
[kafka.consumer_properties]
"session.timeout.ms" = "10000"
"heartbeat.interval.ms" = "1000"
[kafka.producer_properties]
"transaction.timeout.ms" = "20000"
"message.timeout.ms" = "15000"
[output]
topic = "{}"
duplicates_topic = "{}"
dead_letter_topic = "{}"
[metrics]
listen = ""
[shutdown]
grace_period_secs = 10
"#,
            self.brokers, self.group, self.input, self.enriched, self.duplicates, self.dlq
        );
        for (when, topic) in &self.routes {
            c.push_str(&format!(
                "[[output.routes]]\nwhen = {when}\ntopic = \"{topic}\"\n"
            ));
        }
        c
    }

    pub(crate) fn write_config(&self, delivery: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("wirefeed.toml");
        std::fs::write(&path, self.config(delivery)).expect("write config");
        (dir, path)
    }

    /// Every output record on the enriched, duplicates and dead-letter topics.
    pub(crate) async fn outputs(&self, isolation: Isolation, expect: usize) -> Vec<Record> {
        let mut all = Vec::new();
        for t in [&self.enriched, &self.duplicates, &self.dlq] {
            all.extend(
                support::consume_all(&self.brokers, t, isolation, 0, Duration::from_secs(30)).await,
            );
        }
        if all.len() < expect {
            // Give late transactions a moment, then read again.
            tokio::time::sleep(Duration::from_secs(2)).await;
            all.clear();
            for t in [&self.enriched, &self.duplicates, &self.dlq] {
                all.extend(
                    support::consume_all(&self.brokers, t, isolation, 0, Duration::from_secs(30))
                        .await,
                );
            }
        }
        all
    }
}

/// Start `wirefeed run` with `config` as a child process.
pub(crate) fn spawn_service(
    config: &std::path::Path,
    extra_env: &[(&str, &str)],
    exit_when_idle: bool,
) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wirefeed"));
    cmd.arg("run").arg("--config").arg(config);
    if exit_when_idle {
        cmd.args(["--exit-when-idle", "--idle-secs", "4"]);
    }
    cmd.env("RUST_LOG", "warn,wirefeed=info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn wirefeed")
}

/// Wait for a child to exit, with a bound; kills it and panics on timeout.
pub(crate) async fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if tokio::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("wirefeed did not exit within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `kill -9`.
pub(crate) fn kill_hard(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-9", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// SIGTERM.
pub(crate) fn terminate(child: &Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
}

/// Wait until `topic` holds at least `n` records in total (any isolation).
pub(crate) async fn wait_for_records(
    brokers: &str,
    topics: &[&str],
    n: i64,
    within: Duration,
) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let mut total = 0;
        for t in topics {
            total += support::high_watermarks(brokers, t)
                .await
                .values()
                .sum::<i64>();
        }
        if total >= n {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Distinct, well-formed stories, `n` of them, ids `"{prefix}-{i}"`. Bodies are drawn word
/// by word from a seeded generator, so no two share enough text to be near duplicates.
pub(crate) fn stories(prefix: &str, n: usize) -> Vec<Message> {
    const PLACES: &[&str] = &[
        "TOKYO", "PARIS", "NAIROBI", "LIMA", "OTTAWA", "CANBERRA", "CAIRO", "BERLIN",
    ];
    const WORDS: &[&str] = &[
        "officials",
        "said",
        "prices",
        "rose",
        "fell",
        "company",
        "government",
        "market",
        "shares",
        "workers",
        "talks",
        "agreement",
        "plan",
        "report",
        "growth",
        "exports",
        "imports",
        "bank",
        "minister",
        "council",
        "court",
        "police",
        "farmers",
        "harvest",
        "rain",
        "port",
        "trade",
        "oil",
        "gas",
        "power",
        "water",
        "schools",
        "hospital",
        "election",
        "party",
        "vote",
        "law",
        "budget",
        "tax",
        "debt",
        "bonds",
        "rates",
        "inflation",
        "jobs",
        "factory",
        "output",
        "demand",
        "supply",
        "weather",
        "storm",
        "bridge",
        "railway",
        "airline",
        "flights",
        "tourists",
        "museum",
        "festival",
        "league",
        "coach",
        "players",
        "season",
        "record",
        "figures",
        "quarter",
        "profit",
        "loss",
        "sales",
        "merger",
        "deal",
        "strike",
        "union",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15
        ^ prefix
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    // Story time now: the dedup window (by story time) then holds them all.
    let published_at = chrono::Utc::now().to_rfc3339();
    (0..n)
        .map(|i| {
            let place = PLACES[i % PLACES.len()];
            let mut sentence = |len: usize| {
                let words: Vec<&str> = (0..len)
                    .map(|_| WORDS[(next() % WORDS.len() as u64) as usize])
                    .collect();
                format!("{} {}.", words.join(" "), next() % 1000)
            };
            let body = format!(
                "{} {}\n\n{} {}\n\n{}",
                sentence(12),
                sentence(10),
                sentence(11),
                sentence(9),
                sentence(12)
            );
            let json = serde_json::json!({
                "id": format!("{prefix}-{i}"),
                "headline": format!("{place} report {i} of {prefix}"),
                "dateline": place,
                "body": body,
                "published_at": published_at,
            });
            Message::new(json.to_string()).key(format!("{prefix}-{i}"))
        })
        .collect()
}

/// `(partition, offset)` of the input each output record came from, counted.
pub(crate) fn sources(records: &[Record]) -> BTreeMap<(i32, i64), usize> {
    let mut m = BTreeMap::new();
    for r in records {
        let p = r
            .header("wirefeed-source-partition")
            .and_then(|v| std::str::from_utf8(v).ok()?.parse().ok())
            .expect("source partition header");
        let o = r
            .header("wirefeed-source-offset")
            .and_then(|v| std::str::from_utf8(v).ok()?.parse().ok())
            .expect("source offset header");
        *m.entry((p, o)).or_default() += 1;
    }
    m
}

/// Every input `(partition, offset)` of `input`.
pub(crate) async fn inputs(brokers: &str, input: &str) -> Vec<(i32, i64)> {
    support::consume_all(
        brokers,
        input,
        Isolation::ReadCommitted,
        0,
        Duration::from_secs(30),
    )
    .await
    .iter()
    .map(|r| (r.partition, r.offset))
    .collect()
}

/// Produce `messages` in batches of `batch` every `every`, in the background: a stream that
/// is still flowing while the service is killed and restarted.
pub(crate) fn produce_gradually(
    brokers: &str,
    topic: &str,
    messages: Vec<Message>,
    batch: usize,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    let (brokers, topic) = (brokers.to_string(), topic.to_string());
    tokio::spawn(async move {
        for chunk in messages.chunks(batch) {
            support::produce(&brokers, &topic, chunk).await;
            tokio::time::sleep(every).await;
        }
    })
}

/// Wait until the outputs grew by `more` records from now.
pub(crate) async fn wait_for_progress(
    brokers: &str,
    topics: &[&str],
    more: i64,
    within: Duration,
) -> bool {
    let mut now = 0;
    for t in topics {
        now += support::high_watermarks(brokers, t)
            .await
            .values()
            .sum::<i64>();
    }
    wait_for_records(brokers, topics, now + more, within).await
}

/// A free TCP port on loopback (bound and released; good enough for a test).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// `GET path` on 127.0.0.1:port: `(status, body)`, or `None` when nothing answers.
pub(crate) fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let status = buf.split_whitespace().nth(1)?.parse().ok()?;
    let body = buf
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}

/// Sum of a metric's samples whose label set contains every `labels` pair.
pub(crate) fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (metric, rest) = match series.split_once('{') {
                Some((m, r)) => (m, r),
                None => (series, ""),
            };
            if metric != name {
                return None;
            }
            let ok = labels
                .iter()
                .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
            ok.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}
