//! Logging and tracing: JSON lines when standard error is not a terminal (containers, CI),
//! readable lines on a terminal; the level comes from `[telemetry] log_level`, else `RUST_LOG`
//! (default `info`).
//!
//! OpenTelemetry export is off unless an OTLP endpoint is configured (`[telemetry]
//! otlp_endpoint` or the standard `OTEL_EXPORTER_OTLP_*ENDPOINT` variables). When it is on, each
//! story's span ([`story_span`]) is exported over OTLP/HTTP by a batch processor on its own
//! thread, as a child of the input's W3C `traceparent`, and outputs carry the story span's
//! context ([`output_traceparent`]). When it is off, no exporter exists and story spans are
//! disabled like any other debug span.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider as _,
};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use thiserror::Error;
use tracing::Level;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::TelemetryConfig;
use crate::kafka::records::Source;

/// Target of story spans: `RUST_LOG=wirefeed::story=debug` shows them in the logs too.
pub const STORY_TARGET: &str = "wirefeed::story";

/// Log filter when neither the config nor `RUST_LOG` gives one; librdkafka is chatty at info.
pub const DEFAULT_LOG_FILTER: &str = "info,librdkafka=warn,rdkafka::client=warn";

/// How long exiting may wait for buffered spans to reach the collector.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Set once the OpenTelemetry layer is installed; spares every story the context lookups
/// when export is off.
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// OTLP encodings over HTTP. gRPC would bring a second HTTP stack (tonic) for no gain: every
/// collector also listens for OTLP/HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    HttpProtobuf,
    HttpJson,
}

impl Protocol {
    pub fn parse(name: &str) -> Result<Protocol, String> {
        match name {
            "http/protobuf" => Ok(Protocol::HttpProtobuf),
            "http/json" => Ok(Protocol::HttpJson),
            "grpc" => Err("\"grpc\" is not supported; use \"http/protobuf\" and the collector's OTLP/HTTP port (4318)".into()),
            other => Err(format!(
                "{other:?} is not an OTLP protocol; use \"http/protobuf\" or \"http/json\""
            )),
        }
    }

    fn otlp(self) -> opentelemetry_otlp::Protocol {
        match self {
            Protocol::HttpProtobuf => opentelemetry_otlp::Protocol::HttpBinary,
            Protocol::HttpJson => opentelemetry_otlp::Protocol::HttpJson,
        }
    }
}

#[derive(Debug, Error)]
pub enum TelemetryError {
    #[error("cannot export traces to {endpoint}: {message}")]
    Exporter { endpoint: String, message: String },
}

/// Keeps the trace exporter alive; dropping it sends what is buffered (bounded by a few
/// seconds) and stops the exporter. Hold it until the process is about to exit.
#[must_use = "dropping the guard stops trace export"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
    endpoint: Option<String>,
}

impl Telemetry {
    /// The OTLP/HTTP URL spans go to, when export is on.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            EXPORTING.store(false, Ordering::Relaxed);
            if let Err(e) = provider.shutdown_with_timeout(FLUSH_TIMEOUT) {
                tracing::warn!(error = %e, "Trace export did not finish; some spans are lost.");
            }
        }
    }
}

/// What the config and the environment resolve to.
#[derive(Debug, Clone, PartialEq)]
struct Settings {
    log_filter: String,
    /// Full OTLP/HTTP traces URL; `None`: no export.
    endpoint: Option<String>,
    service_name: String,
}

impl Settings {
    fn resolve(config: &TelemetryConfig, env: impl Fn(&str) -> Option<String>) -> Settings {
        let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let log_filter = non_empty(&config.log_level)
            .or_else(|| env("RUST_LOG"))
            .filter(|f| check_log_filter(f).is_ok())
            .unwrap_or_else(|| DEFAULT_LOG_FILTER.into());
        let disabled = env("OTEL_SDK_DISABLED").is_some_and(|v| v.trim() == "true");
        let endpoint = if disabled {
            None
        } else if let Some(base) = non_empty(&config.otlp_endpoint) {
            Some(traces_url(&base))
        } else if let Some(url) = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            // The signal-specific variable is the full URL, by the specification.
            Some(url)
        } else {
            env("OTEL_EXPORTER_OTLP_ENDPOINT").map(|base| traces_url(&base))
        };
        let service_name = non_empty(&config.service_name)
            .or_else(|| env("OTEL_SERVICE_NAME"))
            .unwrap_or_else(|| "wirefeed".into());
        Settings {
            log_filter,
            endpoint,
            service_name,
        }
    }
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// `http://collector:4318` -> `http://collector:4318/v1/traces`; a URL already ending in
/// `/v1/traces` is kept.
fn traces_url(base: &str) -> String {
    let base = base.trim().trim_end_matches('/');
    if base.ends_with("/v1/traces") {
        base.to_string()
    } else {
        format!("{base}/v1/traces")
    }
}

/// Logs only, as configured by `RUST_LOG` (for commands that export no traces).
pub fn init_logs() {
    install(
        &Settings::resolve(&TelemetryConfig::default(), env_var).log_filter,
        None,
    );
}

/// Logs, and trace export when an endpoint is configured. Keep the returned guard until exit.
pub fn init(config: &TelemetryConfig) -> Result<Telemetry, TelemetryError> {
    let settings = Settings::resolve(config, env_var);
    let Some(endpoint) = settings.endpoint.clone() else {
        install(&settings.log_filter, None);
        return Ok(Telemetry {
            provider: None,
            endpoint: None,
        });
    };
    let failed = |message: String| TelemetryError::Exporter {
        endpoint: endpoint.clone(),
        message,
    };
    check_endpoint(&endpoint).map_err(failed)?;
    let protocol = Protocol::parse(&config.protocol).map_err(failed)?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint.clone())
        .with_protocol(protocol.otlp())
        .with_headers(
            config
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<HashMap<_, _>>(),
        )
        .build()
        .map_err(|e| failed(e.to_string()))?;
    let resource = Resource::builder()
        .with_service_name(settings.service_name.clone())
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            env!("CARGO_PKG_VERSION"),
        ))
        .build();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            config.sample_ratio,
        ))))
        .with_resource(resource)
        .build();
    let installed = install(&settings.log_filter, Some(&provider));
    if !installed {
        // Another subscriber came first (tests): nothing would reach this exporter.
        let _ = provider.shutdown_with_timeout(FLUSH_TIMEOUT);
        return Ok(Telemetry {
            provider: None,
            endpoint: None,
        });
    }
    EXPORTING.store(true, Ordering::Relaxed);
    tracing::info!(
        endpoint = %redact_endpoint(&endpoint),
        service = %settings.service_name,
        sample_ratio = config.sample_ratio,
        "Exporting story spans over OTLP."
    );
    Ok(Telemetry {
        provider: Some(provider),
        endpoint: Some(endpoint),
    })
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Install the global subscriber; false when one was already installed.
fn install(log_filter: &str, provider: Option<&SdkTracerProvider>) -> bool {
    let filter = EnvFilter::try_new(log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = if std::io::stderr().is_terminal() {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_writer(std::io::stderr)
            .boxed()
    };
    // Story spans are debug spans, so they stay off in the logs at the usual levels; the
    // exporter takes them, and wirefeed's own events inside them as span events.
    let spans = provider.map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("wirefeed"))
            .with_location(false)
            .with_threads(false)
            .with_tracked_inactivity(false)
            .with_filter(
                Targets::new()
                    .with_target(STORY_TARGET, Level::DEBUG)
                    .with_target("wirefeed", Level::INFO),
            )
    });
    tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(spans)
        .try_init()
        .is_ok()
}

/// The span of one story, from its input record: messaging attributes after the OpenTelemetry
/// semantic conventions, `story.id` and `story.status` recorded once known
/// ([`record_story`]). With export on, its parent is the input's `traceparent`, if valid.
/// Enter it while the story is processed and its outputs are built.
pub fn story_span(source: &Source) -> tracing::Span {
    let span = tracing::debug_span!(
        target: STORY_TARGET,
        "story",
        "otel.kind" = "consumer",
        "messaging.system" = "kafka",
        "messaging.operation.type" = "process",
        "messaging.destination.name" = %source.topic,
        "messaging.destination.partition.id" = %source.partition,
        "messaging.kafka.offset" = source.offset,
        "story.id" = tracing::field::Empty,
        "story.status" = tracing::field::Empty,
        "error.type" = tracing::field::Empty,
    );
    if EXPORTING.load(Ordering::Relaxed) {
        if let Some(parent) = source.traceparent.as_deref().and_then(parse_traceparent) {
            let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(parent));
        }
    }
    span
}

/// Whether anything takes story spans (export, or logs at `wirefeed::story=debug`); a cached
/// check, so the usual case costs no span lookup.
fn story_spans_enabled() -> bool {
    tracing::enabled!(target: STORY_TARGET, Level::DEBUG)
}

/// Record the story's id and dedup status on the current story span.
pub fn record_story(story: &crate::model::EnrichedStory) {
    if !story_spans_enabled() {
        return;
    }
    let span = tracing::Span::current();
    span.record("story.id", story.id.as_str());
    span.record("story.status", story.dedup.status.as_str());
}

/// Record a rejected input (dead letter) on the current story span.
pub fn record_rejection(rejection: &crate::error::Rejection) {
    if !story_spans_enabled() {
        return;
    }
    let span = tracing::Span::current();
    span.record("story.status", "dead-letter");
    span.record("error.type", rejection.kind);
}

/// The `traceparent` for the outputs of the story being processed: the current story span's
/// context, so a tracing backend joins input, wirefeed and consumers into one trace. `None`
/// when export is off (the caller then continues the input's trace without a span).
pub fn output_traceparent() -> Option<String> {
    if !EXPORTING.load(Ordering::Relaxed) {
        return None;
    }
    let cx = tracing::Span::current().context();
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| render_traceparent(sc))
}

/// A W3C `traceparent` header value, e.g.
/// `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01`. Later versions are read as
/// version 00, as the specification asks; invalid values give `None`.
pub fn parse_traceparent(value: &[u8]) -> Option<SpanContext> {
    let text = std::str::from_utf8(value).ok()?.trim();
    let mut parts = text.split('-');
    let (version, trace_id, span_id, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex(version, 2)
        || version.eq_ignore_ascii_case("ff")
        || (version == "00" && parts.next().is_some())
        || !hex(trace_id, 32)
        || !hex(span_id, 16)
        || !hex(flags, 2)
    {
        return None;
    }
    let trace_id = TraceId::from_hex(trace_id).ok()?;
    let span_id = SpanId::from_hex(span_id).ok()?;
    let flags = u8::from_str_radix(flags, 16).ok()?;
    let sc = SpanContext::new(
        trace_id,
        span_id,
        TraceFlags::new(flags & TraceFlags::SAMPLED.to_u8()),
        true,
        TraceState::default(),
    );
    sc.is_valid().then_some(sc)
}

/// The W3C `traceparent` of a span context (version 00).
pub fn render_traceparent(sc: &SpanContext) -> String {
    format!(
        "00-{}-{}-{:02x}",
        sc.trace_id(),
        sc.span_id(),
        sc.trace_flags().to_u8()
    )
}

/// A filter in `RUST_LOG` syntax.
pub fn check_log_filter(filter: &str) -> Result<(), String> {
    EnvFilter::builder()
        .parse(filter)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// An `http://` or `https://` URL with a host.
pub fn check_endpoint(endpoint: &str) -> Result<(), String> {
    let url = reqwest::Url::parse(endpoint.trim())
        .map_err(|e| format!("{endpoint:?} is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{endpoint:?} is not an http:// or https:// URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{endpoint:?} names no host"));
    }
    Ok(())
}

/// A header the exporter can send (it would silently drop an invalid one).
pub fn check_header(name: &str, value: &str) -> Result<(), String> {
    reqwest::header::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("{name:?} is not an HTTP header name; use letters, digits and '-'"))?;
    reqwest::header::HeaderValue::from_str(value).map_err(|_| {
        "the value is not a valid HTTP header value; use visible ASCII characters".to_string()
    })?;
    Ok(())
}

/// The endpoint with any password in it replaced, for printing.
pub fn redact_endpoint(endpoint: &str) -> String {
    match reqwest::Url::parse(endpoint) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("redacted"));
            url.to_string()
        }
        _ => endpoint.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn export_is_off_by_default() {
        let s = Settings::resolve(&TelemetryConfig::default(), env(&[]));
        assert_eq!(s.endpoint, None);
        assert_eq!(s.service_name, "wirefeed");
        assert_eq!(s.log_filter, DEFAULT_LOG_FILTER);
    }

    #[test]
    fn the_config_wins_over_the_standard_variables() {
        let vars = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://from-env:4318"),
            ("OTEL_SERVICE_NAME", "env-name"),
            ("RUST_LOG", "debug"),
        ];
        let s = Settings::resolve(&TelemetryConfig::default(), env(&vars));
        assert_eq!(
            s.endpoint.as_deref(),
            Some("http://from-env:4318/v1/traces")
        );
        assert_eq!(s.service_name, "env-name");
        assert_eq!(s.log_filter, "debug");

        let config = TelemetryConfig {
            otlp_endpoint: "https://collector.example:4318/".into(),
            service_name: "wirefeed-eu".into(),
            log_level: "warn".into(),
            ..TelemetryConfig::default()
        };
        let s = Settings::resolve(&config, env(&vars));
        assert_eq!(
            s.endpoint.as_deref(),
            Some("https://collector.example:4318/v1/traces")
        );
        assert_eq!(s.service_name, "wirefeed-eu");
        assert_eq!(s.log_filter, "warn");
    }

    #[test]
    fn the_traces_variable_is_a_full_url_and_the_sdk_can_be_disabled() {
        let vars = [
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4318/custom"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://other:4318"),
        ];
        let s = Settings::resolve(&TelemetryConfig::default(), env(&vars));
        assert_eq!(s.endpoint.as_deref(), Some("http://c:4318/custom"));
        let off = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://other:4318"),
            ("OTEL_SDK_DISABLED", "true"),
        ];
        assert_eq!(
            Settings::resolve(&TelemetryConfig::default(), env(&off)).endpoint,
            None
        );
        assert_eq!(
            traces_url("http://c:4318/v1/traces/"),
            "http://c:4318/v1/traces"
        );
        assert_eq!(traces_url("https://gw/otlp"), "https://gw/otlp/v1/traces");
    }

    #[test]
    fn an_invalid_rust_log_falls_back_to_the_default() {
        let s = Settings::resolve(&TelemetryConfig::default(), env(&[("RUST_LOG", "=[")]));
        assert_eq!(s.log_filter, DEFAULT_LOG_FILTER);
    }

    #[test]
    fn traceparents_parse_and_render() {
        let tp = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let sc = parse_traceparent(tp).unwrap();
        assert_eq!(
            sc.trace_id(),
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap()
        );
        assert_eq!(sc.span_id(), SpanId::from_hex("00f067aa0ba902b7").unwrap());
        assert!(sc.is_sampled());
        assert!(sc.is_remote());
        assert_eq!(render_traceparent(&sc).as_bytes(), tp);

        let unsampled =
            parse_traceparent(b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00").unwrap();
        assert!(!unsampled.is_sampled());
        assert!(render_traceparent(&unsampled).ends_with("-00"));
        // Upper case and surrounding space are tolerated; output is canonical.
        let upper = parse_traceparent(b" 00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01 ")
            .unwrap();
        assert_eq!(render_traceparent(&upper).as_bytes(), tp);
        // A later version may add fields.
        assert!(
            parse_traceparent(b"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x")
                .is_some()
        );
    }

    #[test]
    fn invalid_traceparents_are_ignored() {
        for bad in [
            &b"garbage"[..],
            b"",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            b"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            b"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            b"\xff\xfe",
        ] {
            assert_eq!(
                parse_traceparent(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn without_export_outputs_keep_the_default_traceparent() {
        assert_eq!(output_traceparent(), None);
        let source = Source {
            topic: "wire.raw".into(),
            partition: 0,
            offset: 1,
            timestamp_ms: None,
            traceparent: Some(b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_vec()),
        };
        let _span = story_span(&source).entered();
        assert_eq!(output_traceparent(), None);
    }

    #[test]
    fn endpoints_headers_and_filters_are_checked() {
        assert!(check_endpoint("http://otel-collector:4318").is_ok());
        assert!(check_endpoint("https://api.example.com/otlp").is_ok());
        assert!(check_endpoint("otel-collector:4318").is_err());
        assert!(check_endpoint("grpc://c:4317").is_err());
        assert!(check_endpoint("not a url").is_err());
        assert!(check_header("authorization", "Bearer abc").is_ok());
        assert!(check_header("bad header", "x").is_err());
        assert!(check_header("x-key", "line\nbreak").is_err());
        assert!(check_log_filter("info,wirefeed::story=debug").is_ok());
        assert!(check_log_filter("info,wirefeed=[").is_err());
        assert_eq!(
            redact_endpoint("https://user:hunter2@c.example/"),
            "https://user:redacted@c.example/"
        );
        assert_eq!(redact_endpoint("http://c:4318"), "http://c:4318");
    }
}
