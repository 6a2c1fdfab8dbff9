//! Helpers of the dedup changelog tests: a config with the changelog on a fresh topic,
//! stories and their near-duplicate copies, and what the output topics say about each id.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use crate::harness::{self, Setup};
use crate::support::{self, Isolation, Message, Record};

/// The test's config with `[dedup_changelog]` on `topic` (created by the service).
pub(crate) fn config(setup: &Setup, delivery: &str, topic: &str) -> String {
    format!(
        "{}[dedup_changelog]\nenabled = true\ntopic = \"{topic}\"\npartitions = 3\nreplication_factor = 1\n",
        setup.config(delivery)
    )
}

pub(crate) fn write_config(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("wirefeed.toml");
    std::fs::write(&path, text).expect("write config");
    (dir, path)
}

/// A near-duplicate copy of a story made by [`harness::stories`]: another id and headline,
/// one number changed, an agency sign-off added (furniture, ignored by the fingerprint).
pub(crate) fn near_copy(original: &Message, id: &str) -> Message {
    let mut json: serde_json::Value =
        serde_json::from_slice(original.payload.as_deref().expect("payload")).expect("json");
    let body = json["body"].as_str().expect("body").to_string();
    // The first sentence ends with " <number>."; change that number.
    let changed = match body.find('.') {
        Some(dot) => {
            let start = body[..dot].rfind(' ').map_or(0, |s| s + 1);
            format!("{}{}{}", &body[..start], "4242", &body[dot..])
        }
        None => body.clone(),
    };
    json["id"] = id.into();
    json["headline"] = format!("COPY: {}", json["headline"].as_str().unwrap_or("")).into();
    json["body"] = format!("{changed}\n\n(Reporting by Jane Doe; Editing by John Roe)").into();
    Message::new(json.to_string()).key(id)
}

/// The same stories with another story time.
pub(crate) fn with_published_at(messages: &[Message], at: &str) -> Vec<Message> {
    messages
        .iter()
        .map(|m| {
            let mut json: serde_json::Value =
                serde_json::from_slice(m.payload.as_deref().expect("payload")).expect("json");
            json["published_at"] = at.into();
            let mut out = Message::new(json.to_string());
            out.key = m.key.clone();
            out
        })
        .collect()
}

pub(crate) fn id_of(m: &Message) -> String {
    let json: serde_json::Value =
        serde_json::from_slice(m.payload.as_deref().expect("payload")).expect("json");
    json["id"].as_str().expect("id").to_string()
}

/// What the outputs said about one story id.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Said {
    /// `dedup.status` of each record on the enriched topic.
    pub(crate) enriched: Vec<String>,
    /// `(status, of)` of each story record on the duplicates topic.
    pub(crate) duplicates: Vec<(String, Option<String>)>,
    /// `of` of each re-label.
    pub(crate) relabels: Vec<String>,
}

impl Said {
    /// Published as an original and not re-labelled since.
    pub(crate) fn originals(&self) -> i64 {
        self.enriched.iter().filter(|s| *s == "unique").count() as i64 - self.relabels.len() as i64
    }

    /// The original this story was labelled a duplicate of, first label first.
    pub(crate) fn duplicate_of(&self) -> Option<&str> {
        self.duplicates
            .iter()
            .find(|(s, _)| s == "duplicate")
            .and_then(|(_, of)| of.as_deref())
            .or_else(|| self.relabels.first().map(String::as_str))
    }
}

fn dedup_of(r: &Record) -> (String, Option<String>) {
    let v: serde_json::Value = serde_json::from_slice(r.payload.as_deref().unwrap_or_default())
        .unwrap_or(serde_json::Value::Null);
    (
        v["dedup"]["status"].as_str().unwrap_or("").to_string(),
        v["dedup"]["of"].as_str().map(str::to_string),
    )
}

/// Every id seen on the enriched and duplicates topics, with what was said about it.
pub(crate) async fn said(setup: &Setup, isolation: Isolation) -> BTreeMap<String, Said> {
    let mut out: BTreeMap<String, Said> = BTreeMap::new();
    let read = |t: String| {
        let brokers = setup.brokers.clone();
        async move { support::consume_all(&brokers, &t, isolation, 0, Duration::from_secs(30)).await }
    };
    for r in read(setup.enriched.clone()).await {
        out.entry(r.key_str())
            .or_default()
            .enriched
            .push(dedup_of(&r).0);
    }
    for r in read(setup.duplicates.clone()).await {
        let (status, of) = dedup_of(&r);
        let entry = out.entry(r.key_str()).or_default();
        if r.header("wirefeed-relabel").is_some() {
            entry.relabels.push(of.unwrap_or_default());
        } else {
            entry.duplicates.push((status, of));
        }
    }
    out
}

/// Wait until the enriched and duplicates topics hold at least `n` records.
pub(crate) async fn wait_outputs(setup: &Setup, n: i64, within: Duration) -> bool {
    harness::wait_for_records(
        &setup.brokers,
        &[setup.enriched.as_str(), setup.duplicates.as_str()],
        n,
        within,
    )
    .await
}

/// The value of a metric on the instance whose admin server is on `port` (0 when down).
pub(crate) fn metric(port: u16, name: &str) -> f64 {
    harness::http_get(port, "/metrics")
        .map(|(_, body)| harness::metric(&body, name, &[]))
        .unwrap_or(0.0)
}
