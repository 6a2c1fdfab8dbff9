//! `wirefeed eval countries`: country tags against a labelled corpus.
//!
//! The corpus is JSON Lines (gzip or plain), one story per line with Reuters-21578 style
//! labels: `labels.places` holds the indexers' place codes ("usa", "west-germany"), mapped to
//! ISO 3166-1 through `places-iso3166.tsv` found beside the input file. Each line goes through
//! the real decode and normalise stages, then the country tagger; the figures are micro
//! precision, recall and F1 over (story, country) pairs, plus the worst confusions.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use crate::config::StagesConfig;
use crate::model::Story;
use crate::tag::countries::CountryTagger;

/// Counts over a corpus.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub stories: usize,
    /// Stories with at least one expected country.
    pub labelled: usize,
    /// Stories whose predicted set equals the expected set.
    pub exact: usize,
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    /// Lines that did not decode and were tagged from their JSON fields directly.
    pub fallbacks: usize,
    /// Per country: (false positives, false negatives, example ids of each).
    pub confusions: BTreeMap<String, Confusion>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Confusion {
    pub false_positives: usize,
    pub false_negatives: usize,
    pub fp_examples: Vec<String>,
    pub fn_examples: Vec<String>,
}

impl Figures {
    pub fn precision(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_positives,
        )
    }

    pub fn recall(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_negatives,
        )
    }

    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

#[derive(Deserialize)]
struct Line {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    headline: Option<String>,
    #[serde(default)]
    dateline: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    labels: Labels,
}

#[derive(Deserialize, Default)]
struct Labels {
    #[serde(default)]
    places: Vec<String>,
}

/// Evaluate against the labelled corpus at `input` and print the figures.
pub fn run(input: &Path, config: &StagesConfig) -> anyhow::Result<()> {
    let figures = evaluate(input, config)?;
    print!("{}", report(input, &figures));
    Ok(())
}

/// Evaluate without printing.
pub fn evaluate(input: &Path, config: &StagesConfig) -> anyhow::Result<Figures> {
    let places = load_places(&places_table_for(input))?;
    let tagger =
        CountryTagger::new(&config.tag.countries).context("cannot build the country tagger")?;
    let reader = open(input)?;
    let mut figures = Figures::default();
    for (n, line) in reader.lines().enumerate() {
        let line =
            line.with_context(|| format!("{}: cannot read line {}", input.display(), n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Line = serde_json::from_str(&line)
            .with_context(|| format!("{}: line {} is not JSON", input.display(), n + 1))?;
        let id = parsed
            .id
            .clone()
            .unwrap_or_else(|| format!("line-{}", n + 1));
        let expected: HashSet<String> = parsed
            .labels
            .places
            .iter()
            .filter_map(|p| places.get(p).cloned())
            .collect();
        let story = match crate::decode::decode(line.as_bytes(), &config.decode) {
            Ok(story) => crate::normalise::normalise(story, &config.normalise),
            Err(_) => {
                figures.fallbacks += 1;
                story_from_fields(&parsed)
            }
        };
        let predicted: Vec<String> = tagger.tag(&story);
        score(&mut figures, &id, &expected, &predicted);
    }
    Ok(figures)
}

fn story_from_fields(line: &Line) -> Story {
    Story {
        id: line.id.clone(),
        headline: line.headline.clone().or_else(|| line.title.clone()),
        dateline: line.dateline.clone(),
        body: line.body.clone().unwrap_or_default(),
        ..Story::default()
    }
}

const EXAMPLES: usize = 3;

fn score(figures: &mut Figures, id: &str, expected: &HashSet<String>, predicted: &[String]) {
    figures.stories += 1;
    if !expected.is_empty() {
        figures.labelled += 1;
    }
    let predicted_set: HashSet<&String> = predicted.iter().collect();
    if predicted_set.len() == expected.len() && expected.iter().all(|e| predicted_set.contains(e)) {
        figures.exact += 1;
    }
    for p in &predicted_set {
        if expected.contains(*p) {
            figures.true_positives += 1;
        } else {
            figures.false_positives += 1;
            let c = figures.confusions.entry((*p).clone()).or_default();
            c.false_positives += 1;
            if c.fp_examples.len() < EXAMPLES {
                c.fp_examples.push(id.to_string());
            }
        }
    }
    for e in expected {
        if !predicted_set.contains(e) {
            figures.false_negatives += 1;
            let c = figures.confusions.entry(e.clone()).or_default();
            c.false_negatives += 1;
            if c.fn_examples.len() < EXAMPLES {
                c.fn_examples.push(id.to_string());
            }
        }
    }
}

/// The printed report.
pub fn report(input: &Path, f: &Figures) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "country tagging: {}", input.display());
    let _ = writeln!(
        out,
        "stories: {} ({} with expected countries, {} without); exact set match: {} ({:.1}%)",
        f.stories,
        f.labelled,
        f.stories - f.labelled,
        f.exact,
        100.0 * ratio(f.exact, f.stories)
    );
    if f.fallbacks > 0 {
        let _ = writeln!(
            out,
            "lines the decoder refused (tagged from their JSON fields): {}",
            f.fallbacks
        );
    }
    let _ = writeln!(
        out,
        "pairs: tp {} fp {} fn {}",
        f.true_positives, f.false_positives, f.false_negatives
    );
    let _ = writeln!(
        out,
        "micro precision {:.4}  recall {:.4}  F1 {:.4}",
        f.precision(),
        f.recall(),
        f.f1()
    );
    let mut fps: Vec<_> = f
        .confusions
        .iter()
        .filter(|(_, c)| c.false_positives > 0)
        .collect();
    fps.sort_by(|a, b| {
        b.1.false_positives
            .cmp(&a.1.false_positives)
            .then(a.0.cmp(b.0))
    });
    let _ = writeln!(out, "top false positives (country: count, examples):");
    for (code, c) in fps.iter().take(12) {
        let _ = writeln!(
            out,
            "  {code}: {} ({})",
            c.false_positives,
            c.fp_examples.join(", ")
        );
    }
    let mut fns: Vec<_> = f
        .confusions
        .iter()
        .filter(|(_, c)| c.false_negatives > 0)
        .collect();
    fns.sort_by(|a, b| {
        b.1.false_negatives
            .cmp(&a.1.false_negatives)
            .then(a.0.cmp(b.0))
    });
    let _ = writeln!(out, "top false negatives (country: count, examples):");
    for (code, c) in fns.iter().take(12) {
        let _ = writeln!(
            out,
            "  {code}: {} ({})",
            c.false_negatives,
            c.fn_examples.join(", ")
        );
    }
    out
}

/// `places-iso3166.tsv` in the input's directory.
pub fn places_table_for(input: &Path) -> PathBuf {
    input
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join("places-iso3166.tsv")
}

/// Reuters place code -> ISO 3166-1 alpha-2.
pub fn load_places(path: &Path) -> anyhow::Result<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read {} (the place-code table must sit beside the input file)",
            path.display()
        )
    })?;
    let mut map = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let mut cols = line.split('\t');
        let (Some(place), Some(code)) = (cols.next(), cols.next()) else {
            continue;
        };
        let code = code.trim();
        if i == 0 && code.len() != 2 {
            continue; // header
        }
        if code.len() != 2 {
            anyhow::bail!(
                "{}: line {}: {code:?} is not an ISO code",
                path.display(),
                i + 1
            );
        }
        map.insert(place.trim().to_string(), code.to_string());
    }
    Ok(map)
}

fn open(path: &Path) -> anyhow::Result<Box<dyn BufRead>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    Ok(Box::new(BufReader::new(reader)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micro_figures() {
        let mut f = Figures::default();
        let exp = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<HashSet<_>>();
        score(&mut f, "a", &exp(&["US"]), &["US".into(), "JP".into()]);
        score(&mut f, "b", &exp(&["GB", "FR"]), &["GB".into()]);
        score(&mut f, "c", &exp(&[]), &[]);
        assert_eq!(
            (f.true_positives, f.false_positives, f.false_negatives),
            (2, 1, 1)
        );
        assert_eq!(f.exact, 1);
        assert!((f.precision() - 2.0 / 3.0).abs() < 1e-9);
        assert!((f.f1() - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(f.confusions["JP"].fp_examples, ["a"]);
        assert_eq!(f.confusions["FR"].fn_examples, ["b"]);
    }
}
