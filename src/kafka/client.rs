//! librdkafka settings per role. Properties from `kafka.properties` come first (security,
//! tuning); the settings the delivery guarantees depend on are then set here and win.

use std::collections::BTreeMap;

use rdkafka::ClientConfig;

use crate::config::{Delivery, KafkaConfig};

/// Settings whose values must never reach a log line.
const SECRET_MARKERS: &[&str] = &[
    "password",
    "secret",
    "sasl.oauthbearer.config",
    "key.pem",
    "ssl.key",
];

/// True when a property's value must be redacted in logs and `check-config` output.
pub fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_MARKERS.iter().any(|m| key.contains(m))
}

fn base(kafka: &KafkaConfig, role_properties: &BTreeMap<String, String>) -> ClientConfig {
    let mut c = ClientConfig::new();
    for (k, v) in kafka.properties.iter().chain(role_properties) {
        c.set(k, v);
    }
    c.set("bootstrap.servers", &kafka.brokers);
    set_default(&mut c, "statistics.interval.ms", "5000");
    c
}

fn set_default(c: &mut ClientConfig, key: &str, value: &str) {
    if c.get(key).is_none() {
        c.set(key, value);
    }
}

/// The consumer: cooperative-sticky group member that stores offsets only when told to.
pub fn consumer(kafka: &KafkaConfig) -> ClientConfig {
    let mut c = base(kafka, &kafka.consumer_properties);
    c.set("group.id", &kafka.group_id)
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set("enable.auto.offset.store", "false")
        // Upstream producers may be transactional too: never process aborted input.
        .set("isolation.level", "read_committed");
    match kafka.delivery {
        // Offsets stored after delivery are committed in the background and on revoke.
        Delivery::AtLeastOnce => c.set("enable.auto.commit", "true"),
        // Offsets are committed inside the producer's transaction only.
        Delivery::ExactlyOnce => c.set("enable.auto.commit", "false"),
    };
    set_default(&mut c, "auto.offset.reset", "earliest");
    set_default(&mut c, "auto.commit.interval.ms", "1000");
    set_default(&mut c, "session.timeout.ms", "30000");
    set_default(&mut c, "heartbeat.interval.ms", "3000");
    c
}

/// The producer: idempotent always; transactional in exactly-once mode. The transaction
/// timeout stays above the message timeout, so a message cannot outlive its transaction.
pub fn producer(kafka: &KafkaConfig, transactional_id: Option<&str>) -> ClientConfig {
    let mut c = base(kafka, &kafka.producer_properties);
    c.set("enable.idempotence", "true").set("acks", "all");
    set_default(&mut c, "linger.ms", "5");
    set_default(&mut c, "message.timeout.ms", "30000");
    set_default(&mut c, "message.max.bytes", "8388608");
    if let Some(id) = transactional_id {
        c.set("transactional.id", id);
        set_default(&mut c, "transaction.timeout.ms", "60000");
    }
    c
}

/// The transactional id of this instance: configured, or `<group_id>-<hostname>`, stable
/// across restarts of the same pod (a StatefulSet name or the host name).
pub fn transactional_id(kafka: &KafkaConfig) -> String {
    if let Some(id) = &kafka.transactional_id {
        return id.clone();
    }
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .unwrap_or_else(|| "local".into());
    format!("{}-{}", kafka.group_id, host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guarantees_win_over_properties() {
        let mut k = KafkaConfig::default();
        k.brokers = "b:1".into();
        k.properties
            .insert("enable.idempotence".into(), "false".into());
        k.properties
            .insert("security.protocol".into(), "SASL_SSL".into());
        let p = producer(&k, Some("t"));
        assert_eq!(p.get("enable.idempotence"), Some("true"));
        assert_eq!(p.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(p.get("transactional.id"), Some("t"));
        k.delivery = Delivery::ExactlyOnce;
        let c = consumer(&k);
        assert_eq!(c.get("enable.auto.commit"), Some("false"));
        assert_eq!(
            c.get("partition.assignment.strategy"),
            Some("cooperative-sticky")
        );
    }

    #[test]
    fn secrets_are_recognised() {
        assert!(is_secret("sasl.password"));
        assert!(is_secret("ssl.key.password"));
        assert!(!is_secret("security.protocol"));
    }
}
