//! `wirefeed eval dedup`: precision and recall of duplicate detection on a labelled set built
//! from a real corpus (Reuters-21578 JSON lines).
//!
//! Positives are syndication-like copies of real stories with substantial bodies: changed
//! headline, cut tail, added paragraphs of other text, furniture lines, a few changed words,
//! re-wrapped lines, and combinations; plus the corpus's own re-sends (identical bodies of at
//! least `min_body_words` words). Negatives are unrelated pairs and hard ones: two different
//! stories of the same topic, two stories that open with the same template (results tables,
//! dividend notices), and headline-only briefs with placeholder bodies.
//!
//! Each pair runs through the real path: a JSON payload is decoded, normalised, then the
//! original is checked into a fresh index and the probe is checked against it. The set is
//! drawn with a fixed seed, so figures are reproducible.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, TimeZone, Utc};

use crate::config::StagesConfig;
use crate::decode::decode;
use crate::dedup::DedupIndex;
use crate::model::{DedupStatus, Story};
use crate::normalise::normalise;

/// Evaluate against the labelled corpus at `input` and print the figures.
pub fn run(input: &Path, config: &StagesConfig) -> anyhow::Result<()> {
    let report = evaluate(input, config, 600)?;
    print!("{}", report.render());
    Ok(())
}

/// Counts for one kind of pair.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    pub tp: usize,
    pub fp: usize,
    pub tn: usize,
    pub fn_: usize,
}

impl Counts {
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
    fn add(&mut self, o: &Counts) {
        self.tp += o.tp;
        self.fp += o.fp;
        self.tn += o.tn;
        self.fn_ += o.fn_;
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

/// The evaluation's figures.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Per pair kind ("pos:cut", "neg:same-topic", ...).
    pub kinds: BTreeMap<String, Counts>,
    pub overall: Counts,
    /// Copies announced as updates ("UPDATE 1-", "(Adds ...)") found as updates of the original.
    pub updates_found: usize,
    pub updates_total: usize,
    /// Pairs skipped because a payload did not decode.
    pub skipped: usize,
    /// Mean cost of one `check` on the probes, microseconds.
    pub us_per_check: f64,
    /// The whole corpus through one index: stories, duplicates found, microseconds per check.
    pub stream_stories: usize,
    pub stream_duplicates: usize,
    pub stream_updates: usize,
    pub stream_us_per_check: f64,
    /// A few misjudged pairs, for inspection: (kind, original id, probe id, similarity).
    pub errors: Vec<(String, String, String, f32)>,
}

impl Report {
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "{:<22} {:>6} {:>6} {:>6} {:>6} {:>9} {:>9} {:>9}\n",
            "kind", "tp", "fp", "tn", "fn", "precision", "recall", "f1"
        ));
        let mut line = |name: &str, c: &Counts| {
            out.push_str(&format!(
                "{:<22} {:>6} {:>6} {:>6} {:>6} {:>9.4} {:>9.4} {:>9.4}\n",
                name,
                c.tp,
                c.fp,
                c.tn,
                c.fn_,
                c.precision(),
                c.recall(),
                c.f1()
            ));
        };
        for (k, c) in &self.kinds {
            line(k, c);
        }
        line("overall", &self.overall);
        out.push_str(&format!(
            "updates recognised: {}/{}\nskipped pairs (decode errors): {}\nmean check: {:.2} us (pairs)\n",
            self.updates_found, self.updates_total, self.skipped, self.us_per_check
        ));
        for (k, a, b, sim) in &self.errors {
            out.push_str(&format!("misjudged {k}: {a} / {b} (similarity {sim:.2})\n"));
        }
        out.push_str(&format!(
            "stream: {} stories, {} duplicates, {} updates, {:.2} us per check\n",
            self.stream_stories,
            self.stream_duplicates,
            self.stream_updates,
            self.stream_us_per_check
        ));
        out
    }
}

/// One corpus story, as read.
#[derive(Debug, Clone)]
struct Raw {
    id: String,
    title: String,
    body: String,
    dateline: Option<String>,
    topics: Vec<String>,
    words: usize,
    placeholder: bool,
}

/// SplitMix64: small, fast, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next() >> 11) as f64 / (1u64 << 53) as f64)
    }
}

fn read_corpus(input: &Path) -> anyhow::Result<Vec<Raw>> {
    let file =
        std::fs::File::open(input).with_context(|| format!("cannot open {}", input.display()))?;
    let reader: Box<dyn BufRead> = if input.extension().is_some_and(|e| e == "gz") {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file)))
    } else {
        Box::new(BufReader::new(file))
    };
    let mut out = Vec::new();
    for (n, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", input.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line)
            .with_context(|| format!("{}:{}: invalid JSON", input.display(), n + 1))?;
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
        let body = s("body");
        let words = body.split_whitespace().count();
        let placeholder = body.to_ascii_lowercase().contains("blah blah")
            || body.chars().all(|c| c == '*' || c.is_whitespace());
        let topics = v
            .pointer("/labels/topics")
            .and_then(|t| t.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        out.push(Raw {
            id: s("id"),
            title: s("title"),
            dateline: v
                .get("dateline")
                .and_then(|x| x.as_str())
                .map(str::to_owned),
            body,
            topics,
            words,
            placeholder,
        });
    }
    Ok(out)
}

/// A story text to run through decode and normalise.
#[derive(Debug, Clone)]
struct Text {
    id: String,
    headline: String,
    body: String,
    dateline: Option<String>,
}

impl Text {
    fn of(r: &Raw) -> Self {
        Text {
            id: r.id.clone(),
            headline: r.title.clone(),
            body: r.body.clone(),
            dateline: r.dateline.clone(),
        }
    }
}

fn prepare(t: &Text, config: &StagesConfig) -> Option<(Story, String)> {
    let payload = serde_json::json!({
        "id": t.id,
        "headline": t.headline,
        "body": t.body,
        "dateline": t.dateline,
        "source": "Reuters",
    });
    let bytes = serde_json::to_vec(&payload).ok()?;
    let story = normalise(decode(&bytes, &config.decode).ok()?, &config.normalise);
    let id = story
        .id
        .clone()
        .unwrap_or_else(|| crate::pipeline::content_id(&story));
    Some((story, id))
}

/// Paragraphs of a Reuters body: indented lines start a new one; blank lines too.
fn paragraphs(body: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for line in body.lines() {
        let starts = line.starts_with("    ") || line.trim().is_empty();
        if starts && !cur.trim().is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        if !line.trim().is_empty() {
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(line.trim());
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

/// Body without the trailing "Reuter" sign-off, as paragraphs.
fn content_paragraphs(body: &str) -> Vec<String> {
    let mut p = paragraphs(body);
    if let Some(last) = p.last_mut() {
        let t = last.trim_end();
        if let Some(rest) = t
            .strip_suffix("Reuter")
            .or_else(|| t.strip_suffix("REUTER"))
        {
            *last = rest.trim_end().to_owned();
            if last.is_empty() {
                p.pop();
            }
        }
    }
    p
}

/// Re-wrap paragraphs at `width` columns, blank line between paragraphs.
fn wrap(paras: &[String], width: usize) -> String {
    let mut out = String::new();
    for (i, p) in paras.iter().enumerate() {
        if i > 0 {
            out.push_str("\n\n");
        }
        let mut col = 0;
        for w in p.split_whitespace() {
            if col > 0 && col + 1 + w.len() > width {
                out.push('\n');
                col = 0;
            } else if col > 0 {
                out.push(' ');
                col += 1;
            }
            out.push_str(w);
            col += w.len();
        }
    }
    out
}

fn join(paras: &[String]) -> String {
    paras.join("\n\n")
}

/// Keep the first `keep` share of the words (whole paragraphs when there are enough).
fn cut(paras: &[String], keep: f64) -> Vec<String> {
    if paras.len() >= 4 {
        let n = ((paras.len() as f64 * keep).round() as usize).clamp(1, paras.len());
        return paras[..n].to_vec();
    }
    let words: Vec<&str> = paras.iter().flat_map(|p| p.split_whitespace()).collect();
    let n = ((words.len() as f64 * keep).round() as usize).max(1);
    vec![words[..n.min(words.len())].join(" ")]
}

const HEADLINE_WORDS: &[&str] = &[
    "Analysis:",
    "Factbox:",
    "Update:",
    "Breaking:",
    "Wire:",
    "Business:",
];
const REPLACEMENTS: &[&str] = &[
    "also",
    "reportedly",
    "however",
    "recently",
    "officials",
    "sources",
    "analysts",
    "markets",
];

fn new_headline(rng: &mut Rng, old: &str) -> String {
    let words: Vec<&str> = old.split_whitespace().collect();
    let keep = (words.len() * 2 / 3).max(1).min(words.len());
    let mut h = String::from(HEADLINE_WORDS[rng.below(HEADLINE_WORDS.len())]);
    for w in &words[..keep] {
        h.push(' ');
        h.push_str(&w.to_lowercase());
    }
    h
}

fn change_words(rng: &mut Rng, paras: &[String], n: usize) -> Vec<String> {
    let mut out = paras.to_vec();
    for _ in 0..n {
        let pi = rng.below(out.len());
        let mut words: Vec<String> = out[pi].split_whitespace().map(str::to_owned).collect();
        if words.is_empty() {
            continue;
        }
        let wi = rng.below(words.len());
        words[wi] = REPLACEMENTS[rng.below(REPLACEMENTS.len())].to_owned();
        out[pi] = words.join(" ");
    }
    out
}

fn furniture(rng: &mut Rng, paras: &[String]) -> Vec<String> {
    let mut out = paras.to_vec();
    let tails = [
        "Reuters",
        "Copyright 1987 Reuters Limited. All rights reserved.",
        "Click here for more business news.",
        "(Reporting by Staff; Editing by Desk)",
    ];
    let n = 1 + rng.below(3);
    for t in tails.iter().skip(rng.below(2)).take(n) {
        out.push((*t).to_owned());
    }
    if rng.below(2) == 0 {
        out.insert(0, "By Staff Correspondent".to_owned());
    }
    out
}

/// The positive edit kinds.
const POSITIVE_KINDS: &[&str] = &[
    "headline",
    "cut",
    "add",
    "furniture",
    "words",
    "rewrap",
    "combined",
];

fn make_copy(kind: &str, rng: &mut Rng, orig: &Raw, other: &Raw) -> Text {
    let paras = content_paragraphs(&orig.body);
    let other_paras = content_paragraphs(&other.body);
    let mut t = Text {
        id: format!("{}-copy", orig.id),
        headline: orig.title.clone(),
        body: orig.body.clone(),
        dateline: orig.dateline.clone(),
    };
    match kind {
        "headline" => t.headline = new_headline(rng, &orig.title),
        "cut" => t.body = join(&cut(&paras, rng.range(0.6, 0.8))),
        "add" => {
            let mut p = paras.clone();
            let n = 1 + rng.below(2);
            for op in other_paras.iter().take(n) {
                if rng.below(2) == 0 {
                    p.push(op.clone());
                } else {
                    p.insert(p.len().min(1 + rng.below(2)), op.clone());
                }
            }
            t.body = join(&p);
        }
        "furniture" => t.body = join(&furniture(rng, &paras)),
        "words" => {
            let n = 2 + rng.below(3);
            t.body = join(&change_words(rng, &paras, n));
        }
        "rewrap" => t.body = wrap(&paras, 50 + rng.below(30)),
        _ => {
            // Combined: headline, cut 20-30%, an added paragraph, furniture, words, re-wrap.
            t.headline = new_headline(rng, &orig.title);
            let mut p = cut(&paras, rng.range(0.7, 0.8));
            if let Some(op) = other_paras.first() {
                p.push(op.clone());
            }
            let n = 1 + rng.below(2);
            let p = furniture(rng, &p);
            let p = change_words(rng, &p, n);
            t.body = wrap(&p, 55 + rng.below(20));
        }
    }
    t
}

fn folded(s: &str) -> String {
    s.split_whitespace()
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Build the labelled pairs and score them.
pub fn evaluate(input: &Path, config: &StagesConfig, per_kind: usize) -> anyhow::Result<Report> {
    let corpus = read_corpus(input)?;
    anyhow::ensure!(corpus.len() >= 100, "corpus too small: {}", corpus.len());
    let mut rng = Rng(0x5eed_d00d_2024);
    let substantial: Vec<usize> = (0..corpus.len())
        .filter(|&i| !corpus[i].placeholder && corpus[i].words >= 80)
        .collect();
    let real: Vec<usize> = (0..corpus.len())
        .filter(|&i| !corpus[i].placeholder && corpus[i].words >= 5)
        .collect();
    let briefs: Vec<usize> = (0..corpus.len())
        .filter(|&i| corpus[i].placeholder && !corpus[i].title.trim().is_empty())
        .collect();
    anyhow::ensure!(!substantial.is_empty(), "no substantial stories in corpus");

    // Groups for hard negatives, in a deterministic order.
    let mut by_topic: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut by_opening: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut by_body: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for &i in &real {
        for t in &corpus[i].topics {
            by_topic.entry(t.as_str()).or_default().push(i);
        }
        let opening: Vec<String> = corpus[i]
            .body
            .split_whitespace()
            .take(3)
            .map(|w| w.to_lowercase())
            .collect();
        by_opening.entry(opening.join(" ")).or_default().push(i);
        by_body.entry(folded(&corpus[i].body)).or_default().push(i);
    }
    let same_body = |a: usize, b: usize| folded(&corpus[a].body) == folded(&corpus[b].body);
    let topic_groups: Vec<&Vec<usize>> = by_topic.values().filter(|v| v.len() >= 2).collect();
    let opening_groups: Vec<&Vec<usize>> = by_opening.values().filter(|v| v.len() >= 2).collect();

    // (kind, original, probe, is_positive, expect_update)
    let mut pairs: Vec<(String, Text, Text, bool, bool)> = Vec::new();
    for kind in POSITIVE_KINDS {
        for _ in 0..per_kind {
            let o = &corpus[substantial[rng.below(substantial.len())]];
            let other = &corpus[substantial[rng.below(substantial.len())]];
            let copy = make_copy(kind, &mut rng, o, other);
            pairs.push((format!("pos:{kind}"), Text::of(o), copy, true, false));
        }
    }
    // The corpus's own re-sends: identical bodies long enough to be a story.
    let min_words = config.dedup.min_body_words;
    for group in by_body.values().filter(|g| g.len() >= 2) {
        let (a, b) = (group[0], group[1]);
        if corpus[a].words >= min_words {
            pairs.push((
                "pos:corpus-resend".into(),
                Text::of(&corpus[a]),
                Text::of(&corpus[b]),
                true,
                false,
            ));
        }
    }
    let mut negative = |kind: &str, pick: &mut dyn FnMut(&mut Rng) -> Option<(usize, usize)>| {
        let mut made = 0;
        let mut tries = 0;
        while made < per_kind && tries < per_kind * 20 {
            tries += 1;
            let Some((a, b)) = pick(&mut rng) else {
                continue;
            };
            if a == b || same_body(a, b) {
                continue;
            }
            pairs.push((
                format!("neg:{kind}"),
                Text::of(&corpus[a]),
                Text::of(&corpus[b]),
                false,
                false,
            ));
            made += 1;
        }
    };
    negative("unrelated", &mut |r| {
        Some((real[r.below(real.len())], real[r.below(real.len())]))
    });
    negative("same-topic", &mut |r| {
        let g = topic_groups.get(r.below(topic_groups.len()))?;
        Some((g[r.below(g.len())], g[r.below(g.len())]))
    });
    negative("same-template", &mut |r| {
        let g = opening_groups.get(r.below(opening_groups.len()))?;
        Some((g[r.below(g.len())], g[r.below(g.len())]))
    });
    negative("brief", &mut |r| {
        (!briefs.is_empty()).then(|| (briefs[r.below(briefs.len())], briefs[r.below(briefs.len())]))
    });
    // Announced updates: must come out as updates of the original.
    for _ in 0..per_kind / 2 {
        let o = &corpus[substantial[rng.below(substantial.len())]];
        let other = &corpus[substantial[rng.below(substantial.len())]];
        let mut copy = make_copy("add", &mut rng, o, other);
        copy.id = format!("{}-update", o.id);
        copy.headline = format!("UPDATE 1-{}", o.title);
        pairs.push(("update".into(), Text::of(o), copy, true, true));
    }

    let mut report = Report::default();
    let t0 = Utc.with_ymd_and_hms(1987, 3, 1, 0, 0, 0).single();
    let t0: DateTime<Utc> = t0.unwrap_or_default();
    let t1 = t0 + chrono::Duration::minutes(10);
    let small = crate::dedup::DedupConfig {
        max_entries: 8,
        ..config.dedup.clone()
    };
    let mut spent = 0.0f64;
    let mut checks = 0usize;
    for (kind, orig, probe, positive, expect_update) in &pairs {
        let (Some((so, io)), Some((sp, ip))) = (prepare(orig, config), prepare(probe, config))
        else {
            report.skipped += 1;
            continue;
        };
        let mut index = DedupIndex::new(&small);
        index.check(&so, &io, t0);
        let started = Instant::now();
        let (d, _) = index.check(&sp, &ip, t1);
        spent += started.elapsed().as_secs_f64();
        checks += 1;
        if *expect_update {
            report.updates_total += 1;
            if d.status == DedupStatus::Update && d.of.as_deref() == Some(io.as_str()) {
                report.updates_found += 1;
            }
            continue;
        }
        let said = d.status == DedupStatus::Duplicate && d.of.as_deref() == Some(io.as_str());
        if *positive != said && report.errors.len() < 30 {
            report.errors.push((
                kind.clone(),
                orig.id.clone(),
                probe.id.clone(),
                d.similarity,
            ));
        }
        let c = report.kinds.entry(kind.clone()).or_default();
        match (positive, said) {
            (true, true) => c.tp += 1,
            (true, false) => c.fn_ += 1,
            (false, true) => c.fp += 1,
            (false, false) => c.tn += 1,
        }
    }
    for c in report.kinds.values() {
        report.overall.add(c);
    }
    report.us_per_check = spent * 1e6 / checks.max(1) as f64;

    // The corpus as a stream through one index with the configured settings.
    let prepared: Vec<(Story, String)> = corpus
        .iter()
        .filter_map(|r| prepare(&Text::of(r), config))
        .collect();
    let mut index = DedupIndex::new(&config.dedup);
    let started = Instant::now();
    for (i, (story, id)) in prepared.iter().enumerate() {
        let at = t0 + chrono::Duration::seconds(i as i64 * 30);
        let (d, _) = index.check(story, id, at);
        match d.status {
            DedupStatus::Duplicate => report.stream_duplicates += 1,
            DedupStatus::Update => report.stream_updates += 1,
            DedupStatus::Unique => {}
        }
    }
    report.stream_stories = prepared.len();
    report.stream_us_per_check =
        started.elapsed().as_secs_f64() * 1e6 / prepared.len().max(1) as f64;
    Ok(report)
}
