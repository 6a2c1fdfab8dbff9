//! Benchmark input: the lines of a JSON Lines corpus (Reuters-21578 by default), repeated with
//! fresh ids until there are as many stories as asked for, or generated stories when the
//! corpus is absent.
//!
//! Each line becomes a template split around its `id` value, so story `i` is built by
//! concatenation instead of a JSON round trip: producing stays as fast as the broker allows
//! and the corpus is held once in memory, not N times.

use std::io::{self, BufRead, BufReader};
use std::path::Path;

use serde_json::Value;

/// One corpus line: `prefix + id + suffix` is the payload; lines that are not JSON objects
/// are sent as they are (`suffix` empty, no id to rewrite).
#[derive(Debug, Clone)]
struct Template {
    prefix: Vec<u8>,
    id: Option<String>,
    suffix: Vec<u8>,
}

/// The stories a benchmark sends.
#[derive(Debug, Clone)]
pub struct Corpus {
    templates: Vec<Template>,
    /// Where the stories come from: the corpus path, or why they are synthetic.
    pub origin: String,
    pub synthetic: bool,
}

impl Corpus {
    /// Read `path`; when it cannot be read, fall back to generated stories and say so.
    pub fn load_or_synthetic(path: &Path) -> Corpus {
        match Self::load(path) {
            Ok(c) if !c.templates.is_empty() => c,
            Ok(_) => Self::synthetic(&format!("{} holds no stories", path.display())),
            Err(e) => Self::synthetic(&format!("cannot read {}: {e}", path.display())),
        }
    }

    pub fn load(path: &Path) -> io::Result<Corpus> {
        let file = std::fs::File::open(path)?;
        let reader: Box<dyn BufRead> = if path.extension().is_some_and(|e| e == "gz") {
            Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file)))
        } else {
            Box::new(BufReader::new(file))
        };
        let mut templates = Vec::new();
        for line in reader.split(b'\n') {
            let line = line?;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            templates.push(Template::from_line(line));
        }
        Ok(Corpus {
            templates,
            origin: path.display().to_string(),
            synthetic: false,
        })
    }

    /// Generated agency-JSON stories of Reuters-like size (~700 bytes of body) that mention
    /// countries, markets and sports, so every tagger has work to do.
    pub fn synthetic(reason: &str) -> Corpus {
        const PLACES: &[(&str, &str)] = &[
            ("TOKYO", "Japan's finance ministry"),
            ("PARIS", "The French government"),
            ("NAIROBI", "Kenya's central bank"),
            ("BRASILIA", "Brazil's agriculture ministry"),
            ("WASHINGTON", "The U.S. Treasury"),
            ("CANBERRA", "Australia's trade minister"),
            ("BERLIN", "Germany's economy ministry"),
            ("NEW DELHI", "India's Reserve Bank"),
        ];
        const SUBJECTS: &[&str] = &[
            "cocoa exports",
            "interest rates",
            "the national football team",
            "crude oil output",
            "wheat harvest forecasts",
            "a new election law",
        ];
        let templates = (0..2_000)
            .map(|i| {
                let (city, actor) = PLACES[i % PLACES.len()];
                let subject = SUBJECTS[(i / PLACES.len()) % SUBJECTS.len()];
                let body = format!(
                    "{actor} said on Tuesday that {subject} would be reviewed after figures for \
                     the quarter came in below expectations. Officials told reporters in {city} \
                     that talks with trading partners, including China and the European Union, \
                     would continue next week. Analysts said {subject} had been under pressure \
                     since the start of the year as prices fell and demand slowed, and that a \
                     decision could come before the end of the month. Story number {i} in the \
                     series; the ministry declined to comment further on {subject}, citing the \
                     ongoing review and the need to consult industry groups and unions first."
                );
                let story = serde_json::json!({
                    "id": format!("synthetic-{i}"),
                    "source": "Wirefeed Synthetic",
                    "title": format!("{actor} to review {subject}"),
                    "dateline": format!("{city}, March 3 -"),
                    "body": body,
                });
                Template::from_line(story.to_string().into_bytes())
            })
            .collect();
        Corpus {
            templates,
            origin: format!("synthetic stories ({reason})"),
            synthetic: true,
        }
    }

    /// Distinct corpus lines.
    pub fn len(&self) -> usize {
        self.templates.len()
    }

    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }

    /// Story `i`: corpus line `i mod len`; from the second pass over the corpus on, its id
    /// gets a `~<pass>` suffix so every story id is fresh. Returns `(key, payload)`.
    pub fn story(&self, i: usize) -> (String, Vec<u8>) {
        let Some(t) = self.templates.get(i % self.templates.len().max(1)) else {
            return (format!("bench-{i}"), Vec::new());
        };
        let pass = i / self.templates.len();
        let id = match (&t.id, pass) {
            (Some(id), 0) => id.clone(),
            (Some(id), p) => format!("{id}~{p}"),
            (None, _) => format!("bench-{i}"),
        };
        if t.suffix.is_empty() && t.id.is_none() {
            return (id, t.prefix.clone());
        }
        let quoted = Value::String(id.clone()).to_string();
        let mut payload = Vec::with_capacity(t.prefix.len() + quoted.len() + t.suffix.len());
        payload.extend_from_slice(&t.prefix);
        payload.extend_from_slice(quoted.as_bytes());
        payload.extend_from_slice(&t.suffix);
        (id, payload)
    }
}

impl Template {
    fn from_line(line: Vec<u8>) -> Template {
        let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(&line) else {
            return Template {
                prefix: line,
                id: None,
                suffix: Vec::new(),
            };
        };
        let id = match object.remove("id") {
            Some(Value::String(s)) => Some(s),
            Some(other) => Some(other.to_string()),
            None => None,
        };
        let rest = Value::Object(object).to_string();
        // `rest` is `{...}`: the id goes first, then the other fields.
        let others = rest
            .strip_prefix('{')
            .and_then(|r| r.strip_suffix('}'))
            .unwrap_or("");
        let suffix = if others.is_empty() {
            "}".to_string()
        } else {
            format!(",{others}}}")
        };
        Template {
            prefix: b"{\"id\":".to_vec(),
            // An object without `id` gets `bench-<i>`; its suffix is never empty.
            id,
            suffix: suffix.into_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(lines: &[&str]) -> Corpus {
        Corpus {
            templates: lines
                .iter()
                .map(|l| Template::from_line(l.as_bytes().to_vec()))
                .collect(),
            origin: "test".into(),
            synthetic: false,
        }
    }

    fn parse(payload: &[u8]) -> Value {
        serde_json::from_slice(payload).expect("valid JSON")
    }

    #[test]
    fn ids_are_fresh_on_every_pass_and_the_rest_is_kept() {
        let c = corpus(&[
            r#"{"id": "r-1", "title": "Cocoa", "body": "Rain \"fell\"."}"#,
            r#"{"title": "No id", "body": "Text"}"#,
        ]);
        let (k0, p0) = c.story(0);
        assert_eq!(k0, "r-1");
        assert_eq!(parse(&p0)["id"], "r-1");
        assert_eq!(parse(&p0)["body"], "Rain \"fell\".");
        let (k2, p2) = c.story(2);
        assert_eq!(k2, "r-1~1");
        assert_eq!(parse(&p2)["id"], "r-1~1");
        assert_eq!(parse(&p2)["title"], "Cocoa");
        let (k3, p3) = c.story(3);
        assert_eq!(k3, "bench-3");
        assert_eq!(parse(&p3)["id"], "bench-3");
        assert_eq!(parse(&p3)["title"], "No id");
    }

    #[test]
    fn lines_that_are_not_objects_are_sent_as_they_are() {
        let c = corpus(&["plain text story", r#"{"id": "only"}"#]);
        assert_eq!(c.story(0).1, b"plain text story");
        assert_eq!(parse(&c.story(1).1), serde_json::json!({"id": "only"}));
        assert_eq!(parse(&c.story(3).1)["id"], "only~1");
    }

    #[test]
    fn a_missing_corpus_falls_back_to_synthetic_stories() {
        let c = Corpus::load_or_synthetic(Path::new("no/such/corpus.jsonl.gz"));
        assert!(c.synthetic);
        assert!(c.origin.contains("cannot read"));
        assert!(c.len() > 100);
        let (id, payload) = c.story(c.len() + 5);
        let v = parse(&payload);
        assert_eq!(v["id"], Value::String(id));
        assert!(v["body"].as_str().unwrap_or("").len() > 500);
    }
}
