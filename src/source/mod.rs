//! Where messages come from: files (JSON Lines, a directory, one raw file) or Kafka.

pub mod file;

/// Where a message came from, for dead-letter headers, rejects lines and tracing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A line of a JSON Lines file (1-based), or a whole file when `line` is `None`.
    File { path: String, line: Option<usize> },
    Kafka {
        topic: String,
        partition: i32,
        offset: i64,
    },
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::File {
                path,
                line: Some(l),
            } => write!(f, "{path}:{l}"),
            Origin::File { path, line: None } => write!(f, "{path}"),
            Origin::Kafka {
                topic,
                partition,
                offset,
            } => write!(f, "{topic}/{partition}@{offset}"),
        }
    }
}

/// One input message: the payload exactly as a Kafka record would carry it.
#[derive(Debug, Clone)]
pub struct Message {
    pub payload: Vec<u8>,
    pub origin: Origin,
}
