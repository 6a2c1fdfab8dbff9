//! `wirefeed eval topics`: how well the top-level Media Topic matches a labelled corpus.
//!
//! Two corpus shapes are recognised from their fields:
//! * `category` (business | entertainment | politics | sport | tech), as in the BBC News
//!   corpus: accuracy of the best top-level topic (chosen among all 17), per-class precision
//!   and recall, a confusion matrix and some misclassified ids;
//! * `labels.topics` (Reuters-21578 codes such as earn, acq, crude): nearly all of these are
//!   business news, so the share whose best topic is economy, business and finance is a
//!   sanity check.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use serde::Deserialize;

use crate::config::StagesConfig;
use crate::model::Story;
use crate::normalise::normalise;
use crate::tag::topics::TopicTagger;

/// The BBC categories and the Media Topic each stands for.
pub const CATEGORY_TOPICS: [(&str, &str); 5] = [
    ("business", "medtop:04000000"),
    ("entertainment", "medtop:01000000"),
    ("politics", "medtop:11000000"),
    ("sport", "medtop:15000000"),
    ("tech", "medtop:13000000"),
];

pub const ECONOMY: &str = "medtop:04000000";

#[derive(Debug, Deserialize)]
struct Line {
    id: Option<String>,
    category: Option<String>,
    title: Option<String>,
    body: Option<String>,
    labels: Option<Labels>,
}

#[derive(Debug, Deserialize)]
struct Labels {
    #[serde(default)]
    topics: Vec<String>,
}

/// Per-class figures.
#[derive(Debug, Clone, Default)]
pub struct ClassFigures {
    pub gold: usize,
    pub predicted: usize,
    pub correct: usize,
}

impl ClassFigures {
    pub fn precision(&self) -> f64 {
        ratio(self.correct, self.predicted)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.correct, self.gold)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// What an evaluation found.
#[derive(Debug, Clone, Default)]
pub struct TopicReport {
    /// Stories with a category label.
    pub labelled: usize,
    pub correct: usize,
    /// Keyed by category.
    pub classes: BTreeMap<String, ClassFigures>,
    /// (gold category, predicted top-level qcode) -> count.
    pub confusion: BTreeMap<(String, String), usize>,
    /// (id, gold category, predicted qcode, score).
    pub misclassified: Vec<(String, String, String, f32)>,
    /// Stories with Reuters topic codes, and how many of them got economy first.
    pub with_codes: usize,
    pub economy_first: usize,
    /// Every story read, and the seconds spent tagging them.
    pub stories: usize,
    pub tag_seconds: f64,
}

impl TopicReport {
    pub fn accuracy(&self) -> f64 {
        ratio(self.correct, self.labelled)
    }
    pub fn economy_share(&self) -> f64 {
        ratio(self.economy_first, self.with_codes)
    }
}

/// Tag every story of the corpus at `input` (JSON lines, optionally gzip) and count.
pub fn evaluate(input: &Path, config: &StagesConfig) -> anyhow::Result<TopicReport> {
    let tagger = TopicTagger::new(&config.tag.topics).context("cannot build the topic tagger")?;
    let file =
        std::fs::File::open(input).with_context(|| format!("cannot open {}", input.display()))?;
    let reader: Box<dyn Read> = if input.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut report = TopicReport::default();
    let mut raw = Vec::new();
    let mut reader = BufReader::new(reader);
    let mut line_no = 0;
    loop {
        raw.clear();
        if reader.read_until(b'\n', &mut raw)? == 0 {
            break;
        }
        line_no += 1;
        // One corpus line has a stray Latin-1 byte: read it lossily rather than skip it.
        let text = String::from_utf8_lossy(&raw);
        if text.trim().is_empty() {
            continue;
        }
        let line: Line = serde_json::from_str(&text)
            .with_context(|| format!("{}: line {line_no} is not JSON", input.display()))?;
        let story = Story {
            id: line.id.clone(),
            headline: line.title.clone(),
            body: line.body.clone().unwrap_or_default(),
            ..Story::default()
        };
        let story = normalise(story, &config.normalise);
        let started = Instant::now();
        let tags = tagger.tag(&story);
        report.tag_seconds += started.elapsed().as_secs_f64();
        report.stories += 1;
        let (best, score) = tags
            .iter()
            .find(|t| t.qcode.ends_with("000000"))
            .map(|t| (t.qcode.clone(), t.score))
            .unwrap_or_default();
        let id = line.id.unwrap_or_else(|| format!("line {line_no}"));

        if let Some(category) = line.category {
            let Some(&(_, expected)) = CATEGORY_TOPICS.iter().find(|(c, _)| *c == category) else {
                anyhow::bail!("{id}: unknown category {category:?}");
            };
            report.labelled += 1;
            report.classes.entry(category.clone()).or_default().gold += 1;
            if let Some(&(predicted_class, _)) = CATEGORY_TOPICS.iter().find(|(_, q)| *q == best) {
                report
                    .classes
                    .entry(predicted_class.to_string())
                    .or_default()
                    .predicted += 1;
            }
            if best == expected {
                report.correct += 1;
                report.classes.entry(category.clone()).or_default().correct += 1;
            } else {
                report
                    .misclassified
                    .push((id, category.clone(), best.clone(), score));
            }
            *report.confusion.entry((category, best)).or_default() += 1;
        } else if let Some(labels) = line.labels {
            if !labels.topics.is_empty() {
                report.with_codes += 1;
                if best == ECONOMY {
                    report.economy_first += 1;
                }
            }
        }
    }
    Ok(report)
}

/// Evaluate against the labelled corpus at `input` and print the figures.
pub fn run(input: &Path, config: &StagesConfig) -> anyhow::Result<()> {
    let report = evaluate(input, config)?;
    let tagger = TopicTagger::new(&config.tag.topics)?;
    let label = |q: &str| short_label(&tagger, q);
    println!("topic evaluation: {}", input.display());
    println!(
        "stories: {}  tagging: {:.1} µs/story",
        report.stories,
        1e6 * report.tag_seconds / report.stories.max(1) as f64
    );
    if report.labelled > 0 {
        println!(
            "top-level accuracy: {:.4} ({}/{})",
            report.accuracy(),
            report.correct,
            report.labelled
        );
        println!(
            "\n{:<14} {:>9} {:>9} {:>6}",
            "class", "precision", "recall", "n"
        );
        for (class, f) in &report.classes {
            println!(
                "{:<14} {:>9.3} {:>9.3} {:>6}",
                class,
                f.precision(),
                f.recall(),
                f.gold
            );
        }
        // Columns: every predicted top-level topic that occurs.
        let mut columns: Vec<&str> = report.confusion.keys().map(|(_, p)| p.as_str()).collect();
        columns.sort_unstable();
        columns.dedup();
        println!("\nconfusion (rows: gold class, columns: predicted top-level topic)");
        print!("{:<14}", "");
        for c in &columns {
            print!(" {:>10}", label(c));
        }
        println!();
        for class in report.classes.keys() {
            print!("{class:<14}");
            for c in &columns {
                let n = report
                    .confusion
                    .get(&(class.clone(), c.to_string()))
                    .copied()
                    .unwrap_or(0);
                print!(" {n:>10}");
            }
            println!();
        }
        println!("\nsome misclassified stories:");
        for (id, gold, predicted, score) in report.misclassified.iter().take(15) {
            println!(
                "  {id}: {gold} -> {} ({score:.2})",
                tagger_label(&tagger, predicted)
            );
        }
    }
    if report.with_codes > 0 {
        println!(
            "stories with Reuters topic codes: {}; best topic economy, business and finance: {:.4} ({})",
            report.with_codes,
            report.economy_share(),
            report.economy_first
        );
    }
    if report.labelled == 0 && report.with_codes == 0 {
        anyhow::bail!(
            "{}: no line has a `category` or `labels.topics` field",
            input.display()
        );
    }
    Ok(())
}

fn tagger_label(tagger: &TopicTagger, qcode: &str) -> String {
    tagger.label_of(qcode).unwrap_or(qcode).to_string()
}

/// A column header: the first word of the label.
fn short_label(tagger: &TopicTagger, qcode: &str) -> String {
    let label = tagger_label(tagger, qcode);
    let word = label.split([',', ' ']).next().unwrap_or(&label);
    word.chars().take(10).collect()
}
