//! Talking to the benchmark broker outside the service: topics, bulk and paced input, and a
//! plain consumer that times output records by their broker append times.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Headers};
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientConfig, ClientContext, Message, Offset, Timestamp, TopicPartitionList};

use super::corpus::Corpus;
use super::BenchError;
use crate::kafka::records::H_SOURCE_TIMESTAMP;

const ADMIN_TIMEOUT: Duration = Duration::from_secs(30);

fn admin(brokers: &str) -> Result<AdminClient<DefaultClientContext>, BenchError> {
    Ok(ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()?)
}

/// Create `topics` (replication 1) and wait until every partition has a leader.
pub async fn create_topics(brokers: &str, topics: &[(String, i32)]) -> Result<(), BenchError> {
    create_topics_with(brokers, topics, &[]).await
}

/// Topic setting under which the broker stamps each record with the time it appended it.
pub const LOG_APPEND_TIME: (&str, &str) = ("message.timestamp.type", "LogAppendTime");

/// [`create_topics`] with topic-level settings, such as [`LOG_APPEND_TIME`].
pub async fn create_topics_with(
    brokers: &str,
    topics: &[(String, i32)],
    settings: &[(&str, &str)],
) -> Result<(), BenchError> {
    let admin = admin(brokers)?;
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|(name, partitions)| {
            settings.iter().fold(
                NewTopic::new(name, *partitions, TopicReplication::Fixed(1)),
                |topic, (key, value)| topic.set(key, value),
            )
        })
        .collect();
    let opts = AdminOptions::new().operation_timeout(Some(ADMIN_TIMEOUT));
    for result in admin.create_topics(&new, &opts).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(BenchError::Setup(format!(
                    "cannot create topic {name}: {code}"
                )))
            }
        }
    }
    let brokers = brokers.to_string();
    let topics = topics.to_vec();
    tokio::task::spawn_blocking(move || wait_for_leaders(&brokers, &topics))
        .await
        .map_err(|e| BenchError::Setup(e.to_string()))?
}

fn wait_for_leaders(brokers: &str, topics: &[(String, i32)]) -> Result<(), BenchError> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()?;
    let deadline = Instant::now() + ADMIN_TIMEOUT;
    for (topic, partitions) in topics {
        loop {
            let ready = consumer
                .fetch_metadata(Some(topic), Duration::from_secs(5))
                .ok()
                .and_then(|md| {
                    md.topics().iter().find(|t| t.name() == topic).map(|t| {
                        t.error().is_none()
                            && t.partitions().len() == *partitions as usize
                            && t.partitions().iter().all(|p| p.leader() >= 0)
                    })
                })
                .unwrap_or(false);
            if ready {
                break;
            }
            if Instant::now() >= deadline {
                return Err(BenchError::Setup(format!(
                    "topic {topic} has no leaders after {ADMIN_TIMEOUT:?}"
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    Ok(())
}

/// Delete the benchmark's topics so repeated runs do not fill the broker's disk.
pub async fn delete_topics(brokers: &str, topics: &[String]) -> Result<(), BenchError> {
    if topics.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    let opts = AdminOptions::new().operation_timeout(Some(ADMIN_TIMEOUT));
    admin(brokers)?.delete_topics(&names, &opts).await?;
    Ok(())
}

/// Counts delivery reports on librdkafka's thread.
#[derive(Default)]
struct Counting {
    delivered: AtomicU64,
    failed: AtomicU64,
}

impl ClientContext for Counting {}

impl ProducerContext for Counting {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => self.delivered.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.failed.fetch_add(1, Ordering::Relaxed),
        };
    }
}

/// What an input producer did.
#[derive(Debug, Clone, Default)]
pub struct Produced {
    pub stories: u64,
    pub bytes: u64,
    pub seconds: f64,
    /// Wall clock at the first story, microseconds since the epoch.
    pub started_us: i64,
    /// Paced runs: how long after its slot each story was sent, in microseconds, sorted.
    pub lateness_us: Vec<i64>,
}

/// Producer settings for input: idempotent and `acks=all` like any sane upstream, plus the
/// profile's batching settings.
pub fn input_producer_config(brokers: &str, properties: &[(&str, &str)]) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("message.max.bytes", "8388608");
    for (k, v) in properties {
        c.set(*k, *v);
    }
    c
}

/// Send one story; librdkafka stamps it with the moment it takes it (its create time).
fn send(
    producer: &ThreadedProducer<Counting>,
    topic: &str,
    key: &str,
    payload: &[u8],
) -> Result<(), KafkaError> {
    loop {
        let record = BaseRecord::to(topic).key(key).payload(payload);
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Err((e, _)) => return Err(e),
        }
    }
}

fn finish(
    producer: ThreadedProducer<Counting>,
    expected: u64,
    bytes: u64,
    (started, started_us): (Instant, i64),
) -> Result<Produced, BenchError> {
    producer.flush(Duration::from_secs(120))?;
    let ctx = producer.context();
    let (delivered, failed) = (
        ctx.delivered.load(Ordering::Relaxed),
        ctx.failed.load(Ordering::Relaxed),
    );
    if failed > 0 || delivered != expected {
        return Err(BenchError::Setup(format!(
            "input: {delivered} of {expected} stories delivered, {failed} failed"
        )));
    }
    Ok(Produced {
        stories: delivered,
        bytes,
        seconds: started.elapsed().as_secs_f64(),
        started_us,
        lateness_us: Vec::new(),
    })
}

/// A producer that can send at once: fetching the topic's metadata connects to its leader,
/// and the answer lets an idempotent producer ask for its producer id right away instead of
/// on librdkafka's 500 ms start-up timer, during which every story would wait.
fn warm_producer(
    config: &ClientConfig,
    topic: &str,
) -> Result<ThreadedProducer<Counting>, BenchError> {
    let producer: ThreadedProducer<Counting> = config.create_with_context(Counting::default())?;
    producer
        .client()
        .fetch_metadata(Some(topic), ADMIN_TIMEOUT)?;
    Ok(producer)
}

/// Produce stories `first..first + count` of `corpus` as fast as the broker takes them.
/// Blocking: run it on a blocking thread.
pub fn load(
    config: &ClientConfig,
    topic: &str,
    corpus: &Corpus,
    first: usize,
    count: usize,
) -> Result<Produced, BenchError> {
    let producer = warm_producer(config, topic)?;
    let started = (Instant::now(), now_micros());
    let bytes = send_stories(&producer, topic, corpus, first..first + count)?;
    finish(producer, count as u64, bytes, started)
}

/// Send stories `range` of `corpus` as fast as the producer takes them; their payload bytes.
fn send_stories(
    producer: &ThreadedProducer<Counting>,
    topic: &str,
    corpus: &Corpus,
    range: std::ops::Range<usize>,
) -> Result<u64, KafkaError> {
    let mut bytes = 0;
    for i in range {
        let (key, payload) = corpus.story(i);
        bytes += payload.len() as u64;
        send(producer, topic, &key, &payload)?;
    }
    Ok(bytes)
}

/// The paced load's wake-up interval.
pub const PACING_TICK: Duration = Duration::from_millis(1);

/// Produce `count` stories at `rate` per second on a schedule of evenly spaced slots. The
/// thread wakes at most once per [`PACING_TICK`] and sends every story whose slot has come,
/// so a high rate costs the load generator a thousand wakes a second rather than one per
/// story; a late thread catches up at once rather than drifting. The load is open: nothing
/// waits for the pipeline, so a slow pipeline cannot hold the offered load back (no
/// coordinated omission). Each record's create time is the moment it was handed to the
/// producer, and how long after its slot that was is recorded per story
/// ([`Produced::lateness_us`]), so a load thread held up by a busy machine shows. Blocking.
///
/// Stories `first..first + warm_up` go first, as fast as the broker takes them, and are
/// waited for: they make the producer reach every partition's leader before the clock starts
/// (`warm_producer` alone does not always spare a fresh idempotent producer its start-up
/// timer), and take the consumer and the stages through their first stories. They are sent
/// before `started`, so a reader that drops what was created before it leaves them out.
pub fn paced(
    config: &ClientConfig,
    topic: &str,
    corpus: &Corpus,
    first: usize,
    warm_up: usize,
    count: usize,
    rate: f64,
) -> Result<Produced, BenchError> {
    let producer = warm_producer(config, topic)?;
    send_stories(&producer, topic, corpus, first..first + warm_up)?;
    producer.flush(ADMIN_TIMEOUT)?;
    let failed = producer.context().failed.load(Ordering::Relaxed);
    if failed > 0 {
        return Err(BenchError::Setup(format!(
            "input: {failed} of {warm_up} warm-up stories failed"
        )));
    }
    producer.context().delivered.store(0, Ordering::Relaxed);
    let first = first + warm_up;
    let started = (Instant::now(), now_micros());
    let slot = |n: usize| started.0 + Duration::from_secs_f64(n as f64 / rate);
    let mut bytes = 0;
    let mut n = 0;
    let mut woke = started.0;
    let mut lateness_us = Vec::with_capacity(count);
    while n < count {
        let wake = slot(n).max(woke + PACING_TICK);
        let now = Instant::now();
        if wake > now {
            std::thread::sleep(wake - now);
        }
        woke = Instant::now();
        while n < count && slot(n) <= woke {
            let (key, payload) = corpus.story(first + n);
            bytes += payload.len() as u64;
            lateness_us.push(slot(n).elapsed().as_micros() as i64);
            send(&producer, topic, &key, &payload)?;
            n += 1;
        }
    }
    lateness_us.sort_unstable();
    let produced = finish(producer, count as u64, bytes, started)?;
    Ok(Produced {
        lateness_us,
        ..produced
    })
}

/// Reads output topics from their beginning on its own thread and records, per record, the
/// time the broker appended it (output topics stamp records with their append time,
/// [`LOG_APPEND_TIME`]) minus its input's timestamp (`wirefeed-source-timestamp`: the input's
/// append time when its topic is stamped the same way, else the moment [`paced`] handed it to
/// its producer). That is end to end up to the moment the enriched story is
/// readable in its topic, on this machine's one clock; how soon this reader then fetches it
/// changes nothing, so it fetches in large, infrequent requests instead of adding a
/// low-latency reader's request load to the broker it measures.
pub struct LatencyProbe {
    stop: Arc<AtomicBool>,
    seen: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<Result<Vec<Sample>, BenchError>>,
}

/// One output record: its input's create time and the latency, both in microseconds.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub created_us: i64,
    pub latency_us: i64,
}

/// The probe's fetches: wait for a megabyte or a tenth of a second.
const PROBE_FETCH: [(&str, &str); 2] =
    [("fetch.min.bytes", "1048576"), ("fetch.wait.max.ms", "100")];

impl LatencyProbe {
    /// `topics`: `(name, partitions)`, created with [`LOG_APPEND_TIME`].
    pub fn start(brokers: &str, topics: &[(String, i32)]) -> Result<LatencyProbe, BenchError> {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", brokers)
            .set("group.id", "wirefeed-bench-probe")
            .set("enable.auto.commit", "false")
            .set("isolation.level", "read_uncommitted");
        for (k, v) in PROBE_FETCH {
            c.set(k, v);
        }
        let consumer: BaseConsumer = c.create()?;
        let mut tpl = TopicPartitionList::new();
        for (topic, partitions) in topics {
            for p in 0..*partitions {
                tpl.add_partition_offset(topic, p, Offset::Beginning)?;
            }
        }
        consumer.assign(&tpl)?;
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(AtomicU64::new(0));
        let (s, n) = (stop.clone(), seen.clone());
        let thread = std::thread::Builder::new()
            .name(super::system::PROBE_THREAD.into())
            .spawn(move || {
                let mut samples = Vec::new();
                while !s.load(Ordering::Relaxed) {
                    let Some(msg) = consumer.poll(Duration::from_millis(50)) else {
                        continue;
                    };
                    let msg = msg?;
                    let Timestamp::LogAppendTime(appended_ms) = msg.timestamp() else {
                        return Err(BenchError::Setup(format!(
                            "output topic {} does not stamp records with their append time",
                            msg.topic()
                        )));
                    };
                    let input_created_ms = msg.headers().and_then(|hs| {
                        hs.iter()
                            .find(|h| h.key == H_SOURCE_TIMESTAMP)
                            .and_then(|h| h.value)
                            .and_then(|v| std::str::from_utf8(v).ok())
                            .and_then(|v| v.parse::<i64>().ok())
                    });
                    if let Some(ms) = input_created_ms {
                        samples.push(Sample {
                            created_us: ms * 1000,
                            latency_us: (appended_ms - ms) * 1000,
                        });
                    }
                    n.fetch_add(1, Ordering::Relaxed);
                }
                Ok(samples)
            })
            .map_err(|e| BenchError::Setup(format!("cannot start the latency probe: {e}")))?;
        Ok(LatencyProbe { stop, seen, thread })
    }

    /// Output records read so far.
    pub fn seen(&self) -> u64 {
        self.seen.load(Ordering::Relaxed)
    }

    pub fn finish(self) -> Result<Vec<Sample>, BenchError> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .join()
            .map_err(|_| BenchError::Setup("the latency probe panicked".into()))?
    }
}

pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}
