//! OpenTelemetry export against the real broker and a small OTLP/HTTP receiver on loopback:
//! with an endpoint configured, every story's span reaches the receiver when `wirefeed run`
//! exits, as a child of the input's `traceparent`, with the story's id and source coordinates,
//! and the outputs carry that span's context; with the default config nothing is exported.

mod harness;
mod support;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message as _;

use harness::{stories, wait_exit, Setup};
use support::{Isolation, Message, Record};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";
const DEAD_TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const DEAD_PARENT_ID: &str = "b7ad6b7169203331";

/// A span as the receiver got it.
#[derive(Debug, Clone)]
struct Exported {
    name: String,
    kind: i32,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    attributes: BTreeMap<String, String>,
    service_name: String,
}

/// What the receiver saw: decoded spans and the headers of each export request.
#[derive(Default)]
struct Received {
    spans: Vec<Exported>,
    requests: Vec<HeaderMap>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attributes(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| {
            let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(Value::StringValue(s)) => s.clone(),
                Some(Value::IntValue(i)) => format!("int:{i}"),
                Some(Value::BoolValue(b)) => format!("bool:{b}"),
                Some(Value::DoubleValue(d)) => format!("double:{d}"),
                other => format!("{other:?}"),
            };
            (kv.key.clone(), value)
        })
        .collect()
}

/// An OTLP/HTTP (protobuf) traces receiver on 127.0.0.1; the port it listens on.
async fn start_receiver(received: Arc<Mutex<Received>>) -> u16 {
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let received = received.clone();
            async move {
                let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf body");
                let mut r = received.lock().unwrap();
                r.requests.push(headers);
                for rs in &request.resource_spans {
                    let resource = rs
                        .resource
                        .as_ref()
                        .map(|r| attributes(&r.attributes))
                        .unwrap_or_default();
                    for ss in &rs.scope_spans {
                        for s in &ss.spans {
                            r.spans.push(Exported {
                                name: s.name.clone(),
                                kind: s.kind,
                                trace_id: hex(&s.trace_id),
                                span_id: hex(&s.span_id),
                                parent_span_id: hex(&s.parent_span_id),
                                attributes: attributes(&s.attributes),
                                service_name: resource
                                    .get("service.name")
                                    .cloned()
                                    .unwrap_or_default(),
                            });
                        }
                    }
                }
                (
                    [("content-type", "application/x-protobuf")],
                    Vec::<u8>::new(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind receiver");
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

/// `wirefeed run --exit-when-idle` with `config`, without any OpenTelemetry variable of the
/// test's own environment, plus `env`.
fn spawn_run(config: &std::path::Path, env: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wirefeed"));
    cmd.arg("run")
        .arg("--config")
        .arg(config)
        .args(["--exit-when-idle", "--idle-secs", "4"])
        .env("RUST_LOG", "warn,wirefeed=info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (name, _) in std::env::vars() {
        if name.starts_with("OTEL_") {
            cmd.env_remove(name);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn wirefeed")
}

fn header(r: &Record, name: &str) -> Option<String> {
    r.header(name)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// The exported story span of the input an output came from.
fn span_of<'a>(spans: &'a [Exported], r: &Record) -> &'a Exported {
    let partition = header(r, "wirefeed-source-partition").expect("partition header");
    let offset = header(r, "wirefeed-source-offset").expect("offset header");
    let found: Vec<_> = spans
        .iter()
        .filter(|s| {
            s.attributes.get("messaging.destination.partition.id") == Some(&partition)
                && s.attributes.get("messaging.kafka.offset") == Some(&format!("int:{offset}"))
        })
        .collect();
    assert_eq!(found.len(), 1, "one span for input {partition}@{offset}");
    found[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn story_spans_are_exported_and_joined_to_the_input_trace() {
    let brokers = support::require_brokers!();
    let setup = Setup::new(&brokers, "otlp", 2).await;
    let mut input = stories("otlp", 5);
    input[0] = input[0]
        .clone()
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"));
    input.push(Message::new(r#"{"headline": "cut"#).header(
        "traceparent",
        format!("00-{DEAD_TRACE_ID}-{DEAD_PARENT_ID}-01"),
    ));
    support::produce(&brokers, &setup.input, &input).await;

    let received = Arc::new(Mutex::new(Received::default()));
    let port = start_receiver(received.clone()).await;
    let config = format!(
        "{}[telemetry]\notlp_endpoint = \"http://127.0.0.1:{port}\"\nservice_name = \"wirefeed-otlp-test\"\n[telemetry.headers]\nx-test-token = \"t0ken\"\n",
        setup.config("at-least-once")
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wirefeed.toml");
    std::fs::write(&path, config).unwrap();

    // A batch delay far beyond the run: spans can only arrive through the flush at exit.
    let mut child = spawn_run(&path, &[("OTEL_BSP_SCHEDULE_DELAY", "600000")]);
    let status = wait_exit(&mut child, Duration::from_secs(120)).await;
    assert!(status.success(), "exit status {status}");

    let (spans, requests) = {
        let r = received.lock().unwrap();
        (r.spans.clone(), r.requests.clone())
    };
    assert!(
        !requests.is_empty(),
        "no export request reached the receiver"
    );
    for h in &requests {
        assert_eq!(
            h.get("x-test-token").and_then(|v| v.to_str().ok()),
            Some("t0ken")
        );
        assert_eq!(
            h.get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/x-protobuf")
        );
    }
    let stories_spans: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "story")
        .cloned()
        .collect();
    assert_eq!(
        stories_spans.len(),
        input.len(),
        "one story span per input: {spans:#?}"
    );
    for s in &stories_spans {
        assert_eq!(s.kind, SpanKind::Consumer as i32);
        assert_eq!(s.service_name, "wirefeed-otlp-test");
        assert_eq!(
            s.attributes.get("messaging.destination.name"),
            Some(&setup.input)
        );
        assert_eq!(
            s.attributes.get("messaging.system").map(String::as_str),
            Some("kafka")
        );
    }

    let out = setup.outputs(Isolation::ReadCommitted, input.len()).await;
    assert_eq!(out.len(), input.len(), "one output per input");

    // The traced story: a child of the input's span, and its output names the story span.
    let traced = out
        .iter()
        .find(|r| r.key_str() == "otlp-0")
        .expect("output of otlp-0");
    let span = span_of(&stories_spans, traced);
    assert_eq!(span.trace_id, TRACE_ID);
    assert_eq!(span.parent_span_id, PARENT_ID);
    assert_eq!(
        span.attributes.get("story.id").map(String::as_str),
        Some("otlp-0")
    );
    assert_eq!(
        span.attributes.get("story.status").map(String::as_str),
        Some("unique")
    );
    assert_eq!(
        header(traced, "traceparent"),
        Some(format!("00-{TRACE_ID}-{}-01", span.span_id))
    );

    // The dead letter's span carries the reason, in its input's trace.
    let dead = out
        .iter()
        .find(|r| r.topic == setup.dlq)
        .expect("dead letter");
    let span = span_of(&stories_spans, dead);
    assert_eq!(span.trace_id, DEAD_TRACE_ID);
    assert_eq!(span.parent_span_id, DEAD_PARENT_ID);
    assert_eq!(
        span.attributes.get("error.type").map(String::as_str),
        Some("invalid-json")
    );
    assert_eq!(
        span.attributes.get("story.status").map(String::as_str),
        Some("dead-letter")
    );
    assert_eq!(
        header(dead, "traceparent"),
        Some(format!("00-{DEAD_TRACE_ID}-{}-01", span.span_id))
    );

    // Stories without a traceparent start a trace here, and their outputs carry it.
    for r in out
        .iter()
        .filter(|r| r.key_str() != "otlp-0" && r.topic != setup.dlq)
    {
        let span = span_of(&stories_spans, r);
        assert!(span.parent_span_id.is_empty(), "a root span: {span:?}");
        assert_eq!(
            span.attributes.get("story.id").map(String::as_str),
            Some(r.key_str().as_str())
        );
        assert_eq!(
            header(r, "traceparent"),
            Some(format!("00-{}-{}-01", span.trace_id, span.span_id))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_config_exports_nothing() {
    let brokers = support::require_brokers!();
    let setup = Setup::new(&brokers, "otlp-off", 1).await;
    let trace = format!("00-{TRACE_ID}-{PARENT_ID}-01");
    let mut input = stories("otlp-off", 3);
    input[0] = input[0].clone().header("traceparent", trace.as_str());
    support::produce(&brokers, &setup.input, &input).await;

    // Where an exporter with no endpoint would go (the OTLP/HTTP default port), counting
    // every connection attempt.
    let attempts = Arc::new(Mutex::new(0usize));
    let watching = match tokio::net::TcpListener::bind("127.0.0.1:4318").await {
        Ok(listener) => {
            let attempts = attempts.clone();
            tokio::spawn(async move {
                while listener.accept().await.is_ok() {
                    *attempts.lock().unwrap() += 1;
                }
            });
            true
        }
        Err(e) => {
            eprintln!("note: 127.0.0.1:4318 is taken ({e}); connection attempts not watched");
            false
        }
    };

    let (_dir, path) = setup.write_config("at-least-once");
    let mut child = spawn_run(&path, &[("OTEL_BSP_SCHEDULE_DELAY", "100")]);
    let status = wait_exit(&mut child, Duration::from_secs(120)).await;
    assert!(status.success(), "exit status {status}");
    if watching {
        assert_eq!(*attempts.lock().unwrap(), 0, "something connected to 4318");
    }

    // Outputs are as without OpenTelemetry: the input's trace continued, no trace started.
    let out = setup.outputs(Isolation::ReadCommitted, input.len()).await;
    assert_eq!(out.len(), input.len());
    for r in &out {
        let tp = header(r, "traceparent");
        if r.key_str() == "otlp-off-0" {
            let origin = format!(
                "{}/{}@{}",
                setup.input,
                header(r, "wirefeed-source-partition").unwrap(),
                header(r, "wirefeed-source-offset").unwrap()
            );
            assert_eq!(
                tp,
                wirefeed::kafka::records::continue_trace(trace.as_bytes(), &origin)
            );
        } else {
            assert_eq!(tp, None, "no trace started for {}", r.key_str());
        }
    }
}
