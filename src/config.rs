//! The configuration file (TOML), environment overrides, and validation that reports every
//! problem at once with the key path and the fix.
//!
//! Each stage's settings live beside the stage (`decode::DecodeConfig`, `dedup::DedupConfig`,
//! ...); this module only assembles them.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::decode::DecodeConfig;
use crate::dedup::DedupConfig;
use crate::normalise::NormaliseConfig;
use crate::tag::TagConfig;

/// Prefix of environment overrides: `WIREFEED__KAFKA__BROKERS=...` sets `kafka.brokers`.
pub const ENV_PREFIX: &str = "WIREFEED__";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub kafka: KafkaConfig,
    pub output: OutputConfig,
    pub decode: DecodeConfig,
    pub normalise: NormaliseConfig,
    pub dedup: DedupConfig,
    pub dedup_changelog: DedupChangelogConfig,
    pub tag: TagConfig,
    pub pipeline: PipelineConfig,
    pub metrics: MetricsConfig,
    pub shutdown: ShutdownConfig,
    pub telemetry: TelemetryConfig,
}

/// The dedup changelog: a compacted topic through which replicas share the dedup index and a
/// restarted replica gets it back (`kafka::changelog`). The window is `[dedup] window_secs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DedupChangelogConfig {
    /// Off: each replica keeps its own index in memory, and a restart forgets it.
    pub enabled: bool,
    pub topic: String,
    /// Create the topic at start when it is missing (needs the CreateTopics permission);
    /// otherwise a missing topic stops the start.
    pub create_topic: bool,
    /// Partitions and replication factor of a topic created at start (-1: broker default).
    pub partitions: i32,
    pub replication_factor: i32,
    /// Two replicas that admit near duplicates within this many seconds of each other settle
    /// which one is the original; the later one is re-labelled. 0 turns re-labelling off.
    pub race_window_secs: u64,
}

impl Default for DedupChangelogConfig {
    fn default() -> Self {
        DedupChangelogConfig {
            enabled: false,
            topic: "wire.dedup.changelog".into(),
            create_topic: true,
            partitions: 6,
            replication_factor: -1,
            race_window_secs: 30,
        }
    }
}

/// The stage settings, as the stages need them (no Kafka).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StagesConfig {
    pub decode: DecodeConfig,
    pub normalise: NormaliseConfig,
    pub dedup: DedupConfig,
    pub tag: TagConfig,
}

impl Config {
    pub fn stages(&self) -> StagesConfig {
        StagesConfig {
            decode: self.decode.clone(),
            normalise: self.normalise.clone(),
            dedup: self.dedup.clone(),
            tag: self.tag.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Delivery {
    #[default]
    #[serde(rename = "at-least-once")]
    AtLeastOnce,
    #[serde(rename = "exactly-once")]
    ExactlyOnce,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// Bootstrap servers; empty means the embedded demo broker.
    pub brokers: String,
    pub group_id: String,
    pub input_topics: Vec<String>,
    pub delivery: Delivery,
    /// Stable per instance in exactly-once mode; defaults to `<group_id>-<hostname>`.
    pub transactional_id: Option<String>,
    /// Passed through to librdkafka for every client (security.protocol, sasl.*, ssl.*, ...).
    pub properties: BTreeMap<String, String>,
    /// Passed through to the consumer only (session.timeout.ms, fetch.*, ...).
    pub consumer_properties: BTreeMap<String, String>,
    /// Passed through to the producer only (linger.ms, compression.type, ...).
    pub producer_properties: BTreeMap<String, String>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            brokers: String::new(),
            group_id: "wirefeed".into(),
            input_topics: vec!["wire.raw".into()],
            delivery: Delivery::AtLeastOnce,
            transactional_id: None,
            properties: BTreeMap::new(),
            consumer_properties: BTreeMap::new(),
            producer_properties: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputConfig {
    pub topic: String,
    /// Empty string: duplicates are dropped (and counted).
    pub duplicates_topic: String,
    pub dead_letter_topic: String,
    pub routes: Vec<Route>,
}

impl OutputConfig {
    /// Every topic a story or a rejection can be written to, each once, main topic first.
    pub fn topics(&self) -> Vec<String> {
        let mut topics = vec![self.topic.clone()];
        let others = [&self.duplicates_topic, &self.dead_letter_topic]
            .into_iter()
            .chain(self.routes.iter().map(|r| &r.topic));
        for t in others {
            if !t.is_empty() && !topics.contains(t) {
                topics.push(t.clone());
            }
        }
        topics
    }
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            topic: "wire.enriched".into(),
            duplicates_topic: "wire.duplicates".into(),
            dead_letter_topic: "wire.dlq".into(),
            routes: Vec::new(),
        }
    }
}

/// An extra copy of every story whose tags match `when` (all given conditions must hold).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub when: RouteCondition,
    pub topic: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RouteCondition {
    pub region: Option<String>,
    pub country: Option<String>,
    /// A Media Topic qcode (`medtop:15000000`) or label ("sport").
    pub topic: Option<String>,
}

/// How the service runs the stages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Threads that decode, normalise and tag; 0 means one per available core.
    pub stage_workers: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Address of the /metrics, /healthz and /readyz server; empty disables it.
    pub listen: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            listen: "0.0.0.0:9464".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShutdownConfig {
    /// How long in-flight work may drain after SIGTERM; below Kubernetes' 30 s default.
    pub grace_period_secs: u64,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        ShutdownConfig {
            grace_period_secs: 20,
        }
    }
}

/// Logs and OpenTelemetry trace export. A key left empty falls back to its standard
/// environment variable; a key that is set wins over it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// Log filter in `RUST_LOG` syntax; empty: `RUST_LOG`, else the built-in default.
    pub log_level: String,
    /// Base URL of an OTLP/HTTP collector (`/v1/traces` is appended); empty:
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`, else no export.
    pub otlp_endpoint: String,
    /// `http/protobuf` or `http/json`.
    pub protocol: String,
    /// Empty: `OTEL_SERVICE_NAME`, else "wirefeed".
    pub service_name: String,
    /// Share of new traces recorded, 0.0 to 1.0; a sampled parent on the input is always kept.
    pub sample_ratio: f64,
    /// Extra request headers (authentication); values are secrets.
    pub headers: BTreeMap<String, String>,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            log_level: String::new(),
            otlp_endpoint: String::new(),
            protocol: "http/protobuf".into(),
            service_name: String::new(),
            sample_ratio: 1.0,
            headers: BTreeMap::new(),
        }
    }
}

impl TelemetryConfig {
    fn validate(&self, problem: &mut impl FnMut(&str, String)) {
        use crate::telemetry;
        if !self.log_level.is_empty() {
            if let Err(e) = telemetry::check_log_filter(&self.log_level) {
                problem(
                    "telemetry.log_level",
                    format!("{:?} is not a log filter ({e}); use RUST_LOG syntax such as \"info\" or \"info,wirefeed::story=debug\", or \"\" for RUST_LOG", self.log_level),
                );
            }
        }
        if !self.otlp_endpoint.is_empty() {
            if let Err(e) = telemetry::check_endpoint(&self.otlp_endpoint) {
                problem(
                    "telemetry.otlp_endpoint",
                    format!("{e}; use the collector's OTLP/HTTP address such as \"http://otel-collector:4318\", or \"\" to disable export"),
                );
            }
        }
        if let Err(e) = telemetry::Protocol::parse(&self.protocol) {
            problem("telemetry.protocol", e);
        }
        if !(0.0..=1.0).contains(&self.sample_ratio) {
            problem(
                "telemetry.sample_ratio",
                format!("{} is not a share; use a number from 0.0 (only traces the input started) to 1.0 (every story)", self.sample_ratio),
            );
        }
        for (name, value) in &self.headers {
            if let Err(e) = telemetry::check_header(name, value) {
                problem(&format!("telemetry.headers.{name}"), e);
            }
        }
    }
}

/// A configuration problem, with the key it concerns and how to fix it.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{key}: {message}")]
pub struct ConfigProblem {
    pub key: String,
    pub message: String,
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax { path: String, message: String },
    #[error("invalid configuration:\n{}", list(.0))]
    Invalid(Vec<ConfigProblem>),
}

fn list(problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Config {
    /// Read `path` (or start from defaults when `None`), apply `WIREFEED__*` overrides from
    /// `env`, and validate.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let (text, name) = match path {
            Some(p) => (
                std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.display().to_string(),
                    source,
                })?,
                p.display().to_string(),
            ),
            None => (String::new(), "<defaults>".to_string()),
        };
        Self::from_toml_str(&text, &name, env)
    }

    pub fn from_toml_str(
        text: &str,
        name: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut value: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: name.to_string(),
            message: e.to_string(),
        })?;
        apply_env_overrides(&mut value, env).map_err(ConfigError::Invalid)?;
        let config: Config =
            serde_path_to_error::deserialize(toml::Value::Table(value)).map_err(|e| {
                let key = e.path().to_string();
                let message = format!("{}; {}", e.inner().message(), fix_for(&key));
                ConfigError::Invalid(vec![ConfigProblem { key, message }])
            })?;
        let problems = config.validate();
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }

    /// The resolved configuration as TOML, with secret property values replaced.
    pub fn redacted_toml(&self) -> Result<String, toml::ser::Error> {
        let mut copy = self.clone();
        for (k, v) in copy
            .kafka
            .properties
            .iter_mut()
            .chain(copy.kafka.consumer_properties.iter_mut())
            .chain(copy.kafka.producer_properties.iter_mut())
        {
            if crate::kafka::client::is_secret(k) {
                *v = "<redacted>".into();
            }
        }
        for v in copy.telemetry.headers.values_mut() {
            *v = "<redacted>".into();
        }
        copy.telemetry.otlp_endpoint =
            crate::telemetry::redact_endpoint(&copy.telemetry.otlp_endpoint);
        toml::to_string_pretty(&copy)
    }

    /// Every semantic problem at once.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let mut problem = |key: &str, message: String| {
            problems.push(ConfigProblem {
                key: key.into(),
                message,
            })
        };
        if self.kafka.group_id.trim().is_empty() {
            problem(
                "kafka.group_id",
                "must not be empty; set a consumer group id such as \"wirefeed\"".into(),
            );
        }
        if self.kafka.input_topics.is_empty() {
            problem(
                "kafka.input_topics",
                "must name at least one topic, e.g. [\"wire.raw\"]".into(),
            );
        }
        for (i, t) in self.kafka.input_topics.iter().enumerate() {
            if let Err(m) = check_topic_name(t) {
                problem(&format!("kafka.input_topics[{i}]"), m);
            }
        }
        if let Err(m) = check_topic_name(&self.output.topic) {
            problem("output.topic", m);
        }
        if let Err(m) = check_topic_name(&self.output.dead_letter_topic) {
            problem("output.dead_letter_topic", m);
        }
        if !self.output.duplicates_topic.is_empty() {
            if let Err(m) = check_topic_name(&self.output.duplicates_topic) {
                problem(
                    "output.duplicates_topic",
                    format!("{m} (or \"\" to drop duplicates)"),
                );
            }
        }
        for (i, route) in self.output.routes.iter().enumerate() {
            if let Err(m) = check_topic_name(&route.topic) {
                problem(&format!("output.routes[{i}].topic"), m);
            }
            let w = &route.when;
            if w.region.is_none() && w.country.is_none() && w.topic.is_none() {
                problem(
                    &format!("output.routes[{i}].when"),
                    "needs at least one of region, country, topic, e.g. when = { region = \"Europe\" }".into(),
                );
            }
            if let Some(c) = &w.country {
                if c.len() != 2 || !c.chars().all(|ch| ch.is_ascii_uppercase()) {
                    problem(
                        &format!("output.routes[{i}].when.country"),
                        format!("{c:?} is not an ISO 3166-1 alpha-2 code; use two capital letters such as \"FR\""),
                    );
                }
            }
        }
        let all_properties = [
            ("properties", &self.kafka.properties),
            ("consumer_properties", &self.kafka.consumer_properties),
            ("producer_properties", &self.kafka.producer_properties),
        ];
        for (section, key) in all_properties
            .iter()
            .flat_map(|(section, map)| map.keys().map(move |k| (section, k)))
        {
            if MANAGED_PROPERTIES.contains(&key.as_str()) {
                problem(
                    &format!("kafka.{section}.{key}"),
                    "is set by wirefeed itself; use the dedicated key (kafka.brokers, kafka.group_id, kafka.delivery) instead".into(),
                );
            }
        }
        if self.dedup.max_entries == 0 {
            problem("dedup.max_entries", "must be at least 1".into());
        }
        if self.dedup.max_entries > crate::dedup::MAX_LIVE {
            problem(
                "dedup.max_entries",
                format!(
                    "must be at most {} (the index addresses 2^24 entries)",
                    crate::dedup::MAX_LIVE
                ),
            );
        }
        if self.dedup.window_secs == 0 {
            problem("dedup.window_secs", "must be at least 1 second".into());
        }
        let changelog = &self.dedup_changelog;
        if let Err(m) = check_topic_name(&changelog.topic) {
            problem("dedup_changelog.topic", m);
        } else if changelog.enabled {
            let taken = self
                .kafka
                .input_topics
                .iter()
                .chain([
                    &self.output.topic,
                    &self.output.duplicates_topic,
                    &self.output.dead_letter_topic,
                ])
                .chain(self.output.routes.iter().map(|r| &r.topic));
            if taken.into_iter().any(|t| *t == changelog.topic) {
                problem(
                    "dedup_changelog.topic",
                    format!(
                        "{:?} is also an input or output topic; give the changelog a topic of its own such as \"wire.dedup.changelog\"",
                        changelog.topic
                    ),
                );
            }
        }
        if changelog.partitions < 1 {
            problem("dedup_changelog.partitions", "must be at least 1".into());
        }
        if changelog.replication_factor == 0 || changelog.replication_factor < -1 {
            problem(
                "dedup_changelog.replication_factor",
                "must be at least 1, or -1 for the broker's default".into(),
            );
        }
        if !self.metrics.listen.is_empty()
            && self.metrics.listen.parse::<std::net::SocketAddr>().is_err()
        {
            problem(
                "metrics.listen",
                format!("{:?} is not an address; use host:port such as \"0.0.0.0:9464\", or \"\" to disable", self.metrics.listen),
            );
        }
        self.telemetry.validate(&mut problem);
        problems
    }
}

/// librdkafka properties wirefeed sets from its own keys; setting them in `kafka.properties`
/// would silently fight the delivery guarantees.
const MANAGED_PROPERTIES: &[&str] = &[
    "bootstrap.servers",
    "group.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "transactional.id",
    "isolation.level",
    "enable.idempotence",
];

fn check_topic_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must name a topic".into());
    }
    if name.len() > 249 {
        return Err("topic names are at most 249 characters".into());
    }
    if name == "." || name == ".." {
        return Err("\".\" and \"..\" are not valid topic names".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "{name:?} contains {c:?}; topic names use only letters, digits, '.', '_' and '-'"
        ));
    }
    Ok(())
}

fn fix_for(key: &str) -> &'static str {
    if key.is_empty() || key == "." {
        "remove or correct it (see config/wirefeed.toml for every key)"
    } else {
        "see config/wirefeed.toml for the expected keys and types"
    }
}

/// `WIREFEED__KAFKA__BROKERS=a:9092` sets `kafka.brokers`. Values are parsed as TOML when they
/// parse (numbers, booleans, arrays), else taken as strings.
fn apply_env_overrides(
    root: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), Vec<ConfigProblem>> {
    let mut problems = Vec::new();
    for (name, raw) in env {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
        if path.iter().any(|p| p.is_empty()) {
            problems.push(ConfigProblem {
                key: name.clone(),
                message: "malformed override; use WIREFEED__SECTION__KEY=value".into(),
            });
            continue;
        }
        if let Err(message) = set_path(root, &path, parse_env_value(&raw)) {
            problems.push(ConfigProblem {
                key: name.clone(),
                message,
            });
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    match path {
        [] => Ok(()),
        [last] => {
            table.insert(last.clone(), value);
            Ok(())
        }
        [first, rest @ ..] => match table
            .entry(first.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        {
            toml::Value::Table(t) => set_path(t, rest, value),
            _ => Err(format!("`{first}` is not a section")),
        },
    }
}

fn parse_env_value(raw: &str) -> toml::Value {
    let doc = format!("v = {raw}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.into())),
        Err(_) => toml::Value::String(raw.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_topics_are_listed_once_main_topic_first() {
        let mut out = OutputConfig::default();
        out.routes = vec![
            Route {
                when: RouteCondition::default(),
                topic: "wire.europe".into(),
            },
            Route {
                when: RouteCondition::default(),
                topic: out.topic.clone(),
            },
        ];
        assert_eq!(
            out.topics(),
            [
                "wire.enriched",
                "wire.duplicates",
                "wire.dlq",
                "wire.europe"
            ]
        );
        out.duplicates_topic.clear();
        assert_eq!(out.topics(), ["wire.enriched", "wire.dlq", "wire.europe"]);
    }

    #[test]
    fn the_documented_example_is_valid_and_complete() {
        let text = include_str!("../config/wirefeed.toml");
        let config = Config::from_toml_str(text, "config/wirefeed.toml", Vec::new()).unwrap();
        // Every default the example states is the real default.
        let mut expected = Config::default();
        expected.kafka.brokers = "127.0.0.1:9092".into();
        expected.output.routes = config.output.routes.clone();
        assert_eq!(config, expected);
    }

    #[test]
    fn the_changelog_needs_a_topic_of_its_own() {
        let text = "[dedup_changelog]\nenabled = true\ntopic = \"wire.raw\"\npartitions = 0\n";
        let Err(ConfigError::Invalid(problems)) = Config::from_toml_str(text, "t", Vec::new())
        else {
            panic!("expected invalid config");
        };
        let keys: Vec<_> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            ["dedup_changelog.topic", "dedup_changelog.partitions"]
        );
        let ok = "[dedup_changelog]\nenabled = true\n";
        assert!(Config::from_toml_str(ok, "t", Vec::new()).is_ok());
    }

    #[test]
    fn defaults_are_valid() {
        let config = Config::from_toml_str("", "t", Vec::new()).unwrap();
        assert_eq!(config.output.topic, "wire.enriched");
    }

    #[test]
    fn unknown_key_names_its_path() {
        let err = Config::from_toml_str("[kafka]\nbrokerz = \"x\"\n", "t", Vec::new()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("kafka"), "{text}");
        assert!(text.contains("brokerz"), "{text}");
    }

    #[test]
    fn wrong_type_names_its_path() {
        let err = Config::from_toml_str("[dedup]\nmax_entries = \"many\"\n", "t", Vec::new())
            .unwrap_err();
        assert!(err.to_string().contains("dedup.max_entries"), "{err}");
    }

    #[test]
    fn env_overrides_nested_keys() {
        let env = vec![
            ("WIREFEED__KAFKA__BROKERS".to_string(), "h:1".to_string()),
            ("WIREFEED__DEDUP__MAX_ENTRIES".to_string(), "10".to_string()),
            ("OTHER".to_string(), "x".to_string()),
        ];
        let config = Config::from_toml_str("", "t", env).unwrap();
        assert_eq!(config.kafka.brokers, "h:1");
        assert_eq!(config.dedup.max_entries, 10);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = "[kafka]\ninput_topics = []\n[output]\ntopic = \"bad topic\"\n[kafka.properties]\n\"group.id\" = \"x\"\n";
        let Err(ConfigError::Invalid(problems)) = Config::from_toml_str(text, "t", Vec::new())
        else {
            panic!("expected invalid config");
        };
        let keys: Vec<_> = problems.iter().map(|p| p.key.as_str()).collect();
        assert!(keys.contains(&"kafka.input_topics"));
        assert!(keys.contains(&"output.topic"));
        assert!(keys.contains(&"kafka.properties.group.id"));
    }

    #[test]
    fn telemetry_problems_name_the_key_and_the_fix() {
        let text = r#"[telemetry]
log_level = "info,wirefeed=["
otlp_endpoint = "otel-collector:4318"
protocol = "grpc"
sample_ratio = 1.5
[telemetry.headers]
"bad header" = "x"
"#;
        let Err(ConfigError::Invalid(problems)) = Config::from_toml_str(text, "t", Vec::new())
        else {
            panic!("expected invalid config");
        };
        let find = |key: &str| {
            problems
                .iter()
                .find(|p| p.key == key)
                .map(|p| p.message.clone())
                .unwrap_or_else(|| panic!("no problem for {key}: {problems:?}"))
        };
        assert!(find("telemetry.log_level").contains("RUST_LOG syntax"));
        assert!(find("telemetry.otlp_endpoint").contains("http://otel-collector:4318"));
        assert!(find("telemetry.protocol").contains("http/protobuf"));
        assert!(find("telemetry.sample_ratio").contains("0.0"));
        assert!(find("telemetry.headers.bad header").contains("header name"));
        assert_eq!(problems.len(), 5, "{problems:?}");
    }

    #[test]
    fn telemetry_secrets_are_redacted_and_env_overrides_apply() {
        let text = r#"[telemetry]
otlp_endpoint = "https://wirefeed:hunter2@otlp.example.com"
[telemetry.headers]
authorization = "Bearer s3cret"
"#;
        let env = vec![(
            "WIREFEED__TELEMETRY__HEADERS__X-API-KEY".to_string(),
            "k3y".to_string(),
        )];
        let config = Config::from_toml_str(text, "t", env).unwrap();
        assert_eq!(config.telemetry.headers["x-api-key"], "k3y");
        let printed = config.redacted_toml().unwrap();
        for secret in ["hunter2", "s3cret", "k3y"] {
            assert!(!printed.contains(secret), "{secret} printed:\n{printed}");
        }
        assert!(
            printed.contains("authorization = \"<redacted>\""),
            "{printed}"
        );
        assert!(printed.contains("otlp.example.com"), "{printed}");
    }
}
