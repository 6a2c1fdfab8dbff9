//! The embedded demo: an in-process broker (librdkafka's mock cluster), the bundled sample
//! stories loaded into the input topic, the full service run against it, and a report of what
//! it published. The mock cluster is a demo, not a proof: delivery guarantees are tested
//! against a real Apache Kafka (see `scripts/kafka.sh`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use crate::admin::Health;
use crate::config::Config;
use crate::kafka::service::{RunOptions, RunSummary, Service};
use crate::metrics::Metrics;
use crate::model::EnrichedStory;

/// The bundled sample stories (`config/samples/`), one message each.
pub const SAMPLES: &[(&str, &[u8])] = &[
    (
        "01-harbour-json.json",
        include_bytes!("../../config/samples/01-harbour-json.json"),
    ),
    (
        "02-harbour-syndicated.json",
        include_bytes!("../../config/samples/02-harbour-syndicated.json"),
    ),
    (
        "03-harbour-update.json",
        include_bytes!("../../config/samples/03-harbour-update.json"),
    ),
    (
        "04-election-nitf.xml",
        include_bytes!("../../config/samples/04-election-nitf.xml"),
    ),
    (
        "05-football-newsml.xml",
        include_bytes!("../../config/samples/05-football-newsml.xml"),
    ),
    (
        "06-quake-anpa.txt",
        include_bytes!("../../config/samples/06-quake-anpa.txt"),
    ),
    (
        "07-scraped-page.txt",
        include_bytes!("../../config/samples/07-scraped-page.txt"),
    ),
    (
        "08-scraped-page-copy.txt",
        include_bytes!("../../config/samples/08-scraped-page-copy.txt"),
    ),
    (
        "09-poison-truncated.json",
        include_bytes!("../../config/samples/09-poison-truncated.json"),
    ),
    (
        "10-poison-binary.bin",
        include_bytes!("../../config/samples/10-poison-binary.bin"),
    ),
    (
        "11-poison-xxe.xml",
        include_bytes!("../../config/samples/11-poison-xxe.xml"),
    ),
    (
        "12-wildfire-json.json",
        include_bytes!("../../config/samples/12-wildfire-json.json"),
    ),
];

const INPUT_PARTITIONS: i32 = 3;

/// Run the demo. Returns the service's summary after printing the report to stdout.
pub async fn run_embedded(
    mut config: Config,
    options: RunOptions,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    shutdown: CancellationToken,
) -> anyhow::Result<RunSummary> {
    let cluster = MockCluster::new(1)?;
    config.kafka.brokers = cluster.bootstrap_servers();
    println!(
        "Embedded broker (librdkafka mock cluster) at {}",
        config.kafka.brokers
    );
    for topic in &config.kafka.input_topics {
        cluster.create_topic(topic, INPUT_PARTITIONS, 1)?;
    }
    let mut outputs = vec![
        config.output.topic.clone(),
        config.output.dead_letter_topic.clone(),
    ];
    if !config.output.duplicates_topic.is_empty() {
        outputs.push(config.output.duplicates_topic.clone());
    }
    for route in &config.output.routes {
        if !outputs.contains(&route.topic) {
            outputs.push(route.topic.clone());
        }
    }
    for topic in &outputs {
        cluster.create_topic(topic, 1, 1)?;
    }

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &config.kafka.brokers)
        .create()?;
    let input = config.kafka.input_topics[0].clone();
    for (name, payload) in SAMPLES {
        producer
            .send(
                FutureRecord::to(&input).key(*name).payload(*payload),
                Duration::from_secs(5),
            )
            .await
            .map_err(|(e, _)| e)?;
    }
    println!("Loaded {} sample stories into {input}", SAMPLES.len());
    // Every client must be gone before the mock cluster, or they log its disappearance.
    drop(producer);

    let service = Service::new(config.clone(), metrics, health)?;
    let summary = service.run(shutdown, options).await?;
    report(&config, &outputs, &summary)?;
    drop(cluster);
    Ok(summary)
}

fn report(config: &Config, topics: &[String], summary: &RunSummary) -> anyhow::Result<()> {
    println!();
    println!("Consumed {} input records", summary.consumed);
    for (status, n) in &summary.by_status {
        println!("  {status:<12} {n}");
    }
    for (kind, n) in &summary.dead_letters {
        println!("  dead letter  {n}  ({kind})");
    }
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &config.kafka.brokers)
        .set("group.id", "wirefeed-embedded-report")
        .set("enable.auto.commit", "false")
        .create()?;
    let mut by_topic: BTreeMap<String, usize> = BTreeMap::new();
    let mut regions: BTreeMap<String, usize> = BTreeMap::new();
    let mut media_topics: BTreeMap<String, usize> = BTreeMap::new();
    let mut examples: Vec<EnrichedStory> = Vec::new();
    for topic in topics {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, 0, Offset::Beginning)?;
        consumer.assign(&tpl)?;
        let (_, high) = consumer.fetch_watermarks(topic, 0, Duration::from_secs(5))?;
        let mut read = 0;
        while read < high {
            let Some(msg) = consumer.poll(Duration::from_secs(5)) else {
                break;
            };
            let msg = msg?;
            read = msg.offset() + 1;
            *by_topic.entry(topic.clone()).or_default() += 1;
            if topic == &config.output.topic {
                if let Some(story) = msg
                    .payload()
                    .and_then(|p| serde_json::from_slice::<EnrichedStory>(p).ok())
                {
                    for r in &story.regions {
                        *regions.entry(r.clone()).or_default() += 1;
                    }
                    if let Some(t) = story.topics.first() {
                        *media_topics.entry(t.label.clone()).or_default() += 1;
                    }
                    if examples.len() < 3 {
                        examples.push(story);
                    }
                }
            }
        }
    }
    println!("\nPublished records by topic");
    for (t, n) in &by_topic {
        println!("  {t:<28} {n}");
    }
    println!("\nStories by region ({})", config.output.topic);
    for (r, n) in &regions {
        println!("  {r:<28} {n}");
    }
    println!(
        "\nStories by top IPTC Media Topic ({})",
        config.output.topic
    );
    for (t, n) in &media_topics {
        println!("  {t:<44} {n}");
    }
    println!("\nA few enriched stories:");
    for mut story in examples {
        if story.body.chars().count() > 160 {
            story.body = story.body.chars().take(160).collect::<String>() + "…";
        }
        println!("{}", serde_json::to_string_pretty(&story)?);
    }
    Ok(())
}
