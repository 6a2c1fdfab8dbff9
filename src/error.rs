//! Typed errors at the stage edges, and what the runtime does with each.

use thiserror::Error;

/// What the runtime does after an error: retry the same work, dead-letter the input and go
/// on, or stop the process (bad config, a fenced producer, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Retry,
    DeadLetter,
    Fatal,
}

/// Why a payload could not become a story. `kind()` is a short, bounded label used in the
/// dead-letter headers and the `reason` metric label; `Display` is the precise message.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum DecodeError {
    #[error("empty payload")]
    Empty,
    #[error("payload of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("binary payload: {0}")]
    Binary(String),
    #[error("invalid text encoding: {0}")]
    Encoding(String),
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("JSON nested deeper than {limit} levels")]
    TooDeep { limit: usize },
    #[error("wrong type for field `{field}`: expected {expected}")]
    FieldType {
        field: String,
        expected: &'static str,
    },
    #[error("invalid XML: {0}")]
    Xml(String),
    #[error("XML document type declarations are refused: {0}")]
    XmlDoctype(String),
    #[error("unknown XML root element <{0}>")]
    UnknownXmlRoot(String),
    #[error("no story text: {0}")]
    NoText(String),
    #[error("not a text story: {0}")]
    NotText(String),
}

impl DecodeError {
    /// Bounded label for metrics and headers.
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::Empty => "empty",
            DecodeError::TooLarge { .. } => "too-large",
            DecodeError::Binary(_) => "binary",
            DecodeError::Encoding(_) => "encoding",
            DecodeError::Json(_) => "invalid-json",
            DecodeError::TooDeep { .. } => "too-deep",
            DecodeError::FieldType { .. } => "field-type",
            DecodeError::Xml(_) => "invalid-xml",
            DecodeError::XmlDoctype(_) => "xml-doctype",
            DecodeError::UnknownXmlRoot(_) => "unknown-xml-root",
            DecodeError::NoText(_) => "no-text",
            DecodeError::NotText(_) => "not-text",
        }
    }
}

/// A message the stages refuse: it goes to the dead-letter topic (or the rejects file) with
/// `kind` and `reason`, and processing goes on.
#[derive(Debug, Error, Clone, PartialEq)]
#[error("{kind}: {reason}")]
pub struct Rejection {
    /// Bounded label (see [`DecodeError::kind`]).
    pub kind: &'static str,
    /// Human-readable, precise reason.
    pub reason: String,
}

impl From<DecodeError> for Rejection {
    fn from(err: DecodeError) -> Self {
        Rejection {
            kind: err.kind(),
            reason: err.to_string(),
        }
    }
}

/// Tables (gazetteer, regions, topics) that failed to load.
#[derive(Debug, Error)]
pub enum TableError {
    #[error("cannot read table {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("table {path}, line {line}: {message}")]
    Parse {
        path: String,
        line: usize,
        message: String,
    },
}
