//! Which offsets a replay covers: per partition, from the first record at or after `--from`
//! (the broker's offsets-for-times) to the first record at or after `--to`, or to the high
//! watermark captured when the replay starts, so a replay always terminates.
//!
//! Timestamps are not strictly monotonic within a partition. The window is therefore a range
//! of offsets, not a filter on timestamps: a record inside the range is replayed even if its
//! own timestamp lies outside the window, and one past the `--to` offset is not, even if its
//! timestamp is earlier. This is what makes a window reproducible and checkpointable.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;

use crate::kafka::offsets::Tp;

const TIMEOUT: Duration = Duration::from_secs(30);

/// The offsets `[start, end)` of one partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionRange {
    pub topic: String,
    pub partition: i32,
    pub start: i64,
    pub end: i64,
}

impl PartitionRange {
    pub fn tp(&self) -> Tp {
        (self.topic.clone(), self.partition)
    }

    pub fn len(&self) -> i64 {
        (self.end - self.start).max(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The range as stored beside each checkpoint offset (the commit's metadata string), so a
    /// resumed replay covers the window it started with, not one that grew meanwhile.
    pub fn to_metadata(&self) -> String {
        format!("wirefeed-replay start={} end={}", self.start, self.end)
    }

    /// `(start, end)` from [`PartitionRange::to_metadata`]; `None` for anything else.
    pub fn parse_metadata(metadata: &str) -> Option<(i64, i64)> {
        let rest = metadata.strip_prefix("wirefeed-replay start=")?;
        let (start, end) = rest.split_once(" end=")?;
        let (start, end) = (start.parse().ok()?, end.parse().ok()?);
        (start <= end).then_some((start, end))
    }
}

/// Why a window cannot be planned.
#[derive(Debug, thiserror::Error)]
pub enum WindowError {
    #[error("topic {0} does not exist or has no partitions")]
    UnknownTopic(String),
    #[error("cannot {what}: {source}")]
    Kafka {
        what: String,
        #[source]
        source: KafkaError,
    },
}

fn kafka(what: impl Into<String>) -> impl FnOnce(KafkaError) -> WindowError {
    let what = what.into();
    move |source| WindowError::Kafka { what, source }
}

/// The partitions of `topic`, sorted.
pub fn partitions(consumer: &BaseConsumer, topic: &str) -> Result<Vec<i32>, WindowError> {
    let md = consumer
        .fetch_metadata(Some(topic), TIMEOUT)
        .map_err(kafka(format!("read the metadata of {topic}")))?;
    let mut ps: Vec<i32> = md
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if ps.is_empty() {
        return Err(WindowError::UnknownTopic(topic.to_string()));
    }
    ps.sort_unstable();
    Ok(ps)
}

/// The ranges of every partition of `topics`, sorted by topic and partition.
pub fn plan(
    consumer: &BaseConsumer,
    topics: &[String],
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
) -> Result<Vec<PartitionRange>, WindowError> {
    let mut topics = topics.to_vec();
    topics.sort();
    topics.dedup();
    let mut ranges = Vec::new();
    for topic in &topics {
        let parts = partitions(consumer, topic)?;
        let mut highs = Vec::with_capacity(parts.len());
        for &p in &parts {
            let (_, high) = consumer
                .fetch_watermarks(topic, p, TIMEOUT)
                .map_err(kafka(format!("read the watermarks of {topic}/{p}")))?;
            highs.push(high);
        }
        let starts = offsets_for_time(consumer, topic, &parts, from)?;
        let ends = match to {
            Some(to) => offsets_for_time(consumer, topic, &parts, to)?,
            None => vec![None; parts.len()],
        };
        for (i, &p) in parts.iter().enumerate() {
            let high = highs[i];
            let end = ends[i].map_or(high, |e| e.min(high));
            let start = starts[i].unwrap_or(high).min(end);
            ranges.push(PartitionRange {
                topic: topic.clone(),
                partition: p,
                start,
                end,
            });
        }
    }
    Ok(ranges)
}

/// Per partition, the first offset whose timestamp is at or after `at`; `None` when there is
/// no such record (yet).
fn offsets_for_time(
    consumer: &BaseConsumer,
    topic: &str,
    parts: &[i32],
    at: DateTime<Utc>,
) -> Result<Vec<Option<i64>>, WindowError> {
    let mut tpl = TopicPartitionList::new();
    for &p in parts {
        tpl.add_partition_offset(topic, p, Offset::Offset(at.timestamp_millis()))
            .map_err(kafka(format!("build the offset query of {topic}/{p}")))?;
    }
    let found = consumer
        .offsets_for_times(tpl, TIMEOUT)
        .map_err(kafka(format!("look up offsets for {at} in {topic}")))?;
    Ok(parts
        .iter()
        .map(|&p| {
            found
                .find_partition(topic, p)
                .and_then(|e| match e.offset() {
                    Offset::Offset(o) if o >= 0 => Some(o),
                    _ => None,
                })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_round_trip_through_commit_metadata() {
        let r = PartitionRange {
            topic: "wire.raw".into(),
            partition: 2,
            start: 17,
            end: 4_000,
        };
        assert_eq!(
            PartitionRange::parse_metadata(&r.to_metadata()),
            Some((17, 4_000))
        );
        assert_eq!(PartitionRange::parse_metadata(""), None);
        assert_eq!(
            PartitionRange::parse_metadata("wirefeed-replay start=9 end=3"),
            None
        );
        assert_eq!(
            PartitionRange::parse_metadata("wirefeed-replay start=x end=3"),
            None
        );
    }
}
