//! The Kafka service on a real broker: every input accounted for exactly once across the
//! enriched, duplicates and dead-letter topics; a dozen kinds of bad input dead-lettered with
//! their reason and origin while the service keeps running; routing by tags.

mod harness;
mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use harness::{sources, spawn_service, stories, wait_exit, Setup};
use support::{Isolation, Message};

fn bad_inputs() -> Vec<(&'static str, Message)> {
    let nested = "[".repeat(5_000) + &"]".repeat(5_000);
    let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<nitf><body><body.content><p>&lol3;</p></body.content></body></nitf>"#;
    let xxe = r#"<?xml version="1.0"?>
<!DOCTYPE nitf [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<nitf><head><title>&xxe;</title></head><body><body.content><p>&xxe;</p></body.content></body></nitf>"#;
    let huge = format!(
        "{{\"headline\": \"Huge\", \"body\": \"{}\"}}",
        "word ".repeat(1_100_000)
    );
    vec![
        (
            "invalid utf-8",
            Message::new(vec![0xC3, 0x28, 0xA0, 0xA1, 0xFF, 0xFE, 0x00, 0x81]),
        ),
        (
            "truncated json",
            Message::new(r#"{"headline": "Cut", "body": "The text stops he"#),
        ),
        ("empty", Message::new(Vec::new())),
        (
            "binary",
            Message::new(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00".to_vec()),
        ),
        ("5 MB body", Message::new(huge)),
        ("deeply nested json", Message::new(nested)),
        ("xml entity bomb", Message::new(bomb)),
        ("xxe", Message::new(xxe)),
        (
            "wrong field types",
            Message::new(r#"{"headline": {"a": 1}, "body": 42}"#),
        ),
        (
            "no text",
            Message::new(r#"{"id": "x-1", "headline": "", "body": "   "}"#),
        ),
        (
            "control characters",
            Message::new(
                vec![
                    1u8, 2, 3, 4, 5, 6, 7, 8, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
                    25, 26, 27, 28, 29, 30, 31,
                ]
                .repeat(20),
            ),
        ),
        (
            "unknown xml root",
            Message::new(
                r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Feed</title></channel></rss>"#,
            ),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_input_is_accounted_for_once_and_bad_input_is_dead_lettered() {
    let brokers = support::require_brokers!();
    let mut setup = Setup::new(&brokers, "reconcile", 4).await;
    let tokyo = setup.add_route(r#"{ country = "JP" }"#, "japan").await;
    let europe = setup.add_route(r#"{ region = "Europe" }"#, "europe").await;

    let good = stories("rec", 300);
    // Syndicated copies: no agency id, same text as an earlier story.
    let copies: Vec<Message> = (0..40)
        .map(|i| {
            let original: serde_json::Value =
                serde_json::from_slice(good[i * 5].payload.as_ref().unwrap()).unwrap();
            let copy = serde_json::json!({
                "title": original["headline"],
                "text": original["body"],
                "dateline": original["dateline"],
            });
            Message::new(copy.to_string())
        })
        .collect();
    let bad = bad_inputs();
    support::produce(&brokers, &setup.input, &good).await;
    support::produce(&brokers, &setup.input, &copies).await;
    let bad_messages: Vec<Message> = bad.iter().map(|(_, m)| m.clone()).collect();
    let bad_positions = support::produce(&brokers, &setup.input, &bad_messages).await;
    // A good story after the poison proves the service kept running.
    let after = stories("after", 1);
    support::produce(&brokers, &setup.input, &after).await;
    let total = good.len() + copies.len() + bad.len() + after.len();

    let (_dir, config) = setup.write_config("at-least-once");
    let mut child = spawn_service(&config, &[], true);
    let status = wait_exit(&mut child, Duration::from_secs(180)).await;
    assert!(status.success(), "wirefeed exited with {status}");

    let inputs = harness::inputs(&brokers, &setup.input).await;
    assert_eq!(inputs.len(), total);
    let outputs = setup.outputs(Isolation::ReadCommitted, total).await;
    let seen = sources(&outputs);
    let missing: Vec<_> = inputs.iter().filter(|k| !seen.contains_key(k)).collect();
    assert!(missing.is_empty(), "inputs without output: {missing:?}");
    let repeated: Vec<_> = seen.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        repeated.is_empty(),
        "inputs with several outputs: {repeated:?}"
    );
    assert_eq!(outputs.len(), total);

    // Dead letters: one per bad input, with reason, kind and origin headers.
    let dlq = support::consume_all(
        &brokers,
        &setup.dlq,
        Isolation::ReadCommitted,
        0,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        dlq.len(),
        bad.len(),
        "dead letters: {:?}",
        dlq.iter()
            .map(|r| r.header("wirefeed-error-kind"))
            .collect::<Vec<_>>()
    );
    let bad_set: BTreeSet<(i32, i64)> = bad_positions.iter().copied().collect();
    for r in &dlq {
        let kind = String::from_utf8_lossy(r.header("wirefeed-error-kind").unwrap()).to_string();
        let reason =
            String::from_utf8_lossy(r.header("wirefeed-error-reason").unwrap()).to_string();
        assert!(!kind.is_empty() && !reason.is_empty());
        assert!(r.header("wirefeed-source-topic").is_some());
        assert!(r.header("wirefeed-source-timestamp").is_some());
        let key = sources(std::slice::from_ref(r)).into_keys().next().unwrap();
        assert!(
            bad_set.contains(&key),
            "a good story was dead-lettered: {kind}: {reason}"
        );
        let index = bad_positions.iter().position(|k| *k == key).unwrap();
        let (what, original) = &bad[index];
        assert_eq!(
            r.payload.as_deref().unwrap_or_default(),
            original.payload.as_deref().unwrap_or_default(),
            "{what}: payload kept"
        );
        println!("{what:<20} -> {kind}: {reason:.100}");
    }
    let kind_of = |what: &str| {
        let index = bad.iter().position(|(w, _)| *w == what).unwrap();
        let key = &bad_positions[index];
        dlq.iter()
            .find(|r| sources(std::slice::from_ref(r)).contains_key(key))
            .map(|r| String::from_utf8_lossy(r.header("wirefeed-error-kind").unwrap()).to_string())
            .unwrap()
    };
    assert_eq!(kind_of("empty"), "empty");
    assert_eq!(kind_of("5 MB body"), "too-large");
    assert_eq!(kind_of("truncated json"), "invalid-json");
    assert_eq!(kind_of("deeply nested json"), "too-deep");

    // Duplicates: each syndicated copy is recognised.
    let dups = support::consume_all(
        &brokers,
        &setup.duplicates,
        Isolation::ReadCommitted,
        0,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(dups.len(), copies.len());

    // Routing: stories datelined TOKYO go to the Japan route, PARIS and BERLIN to Europe.
    let japan = support::consume_all(
        &brokers,
        &tokyo,
        Isolation::ReadCommitted,
        0,
        Duration::from_secs(30),
    )
    .await;
    let eu = support::consume_all(
        &brokers,
        &europe,
        Isolation::ReadCommitted,
        0,
        Duration::from_secs(30),
    )
    .await;
    let expected_japan = good
        .iter()
        .chain(after.iter())
        .filter(|m| String::from_utf8_lossy(m.payload.as_ref().unwrap()).contains("\"TOKYO\""))
        .count();
    assert_eq!(japan.len(), expected_japan);
    for r in &japan {
        let story: serde_json::Value = serde_json::from_slice(r.payload.as_ref().unwrap()).unwrap();
        assert!(story["countries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "JP"));
    }
    assert!(
        eu.len() >= expected_japan,
        "Paris and Berlin stories routed to Europe: {}",
        eu.len()
    );
}
