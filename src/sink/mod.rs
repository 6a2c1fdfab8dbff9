//! Where enriched stories go: files (JSON Lines) or Kafka.

pub mod file;
