//! Properties over generated wire-like and scraped-like texts: normalising is idempotent and
//! the output is always clean (no control characters, no stray spaces, NFC, tidy paragraphs).

use proptest::prelude::*;
use unicode_normalization::UnicodeNormalization;
use wirefeed::model::{Format, Story};
use wirefeed::normalise::{normalise, NormaliseConfig};

const WORDS: &[&str] = &[
    "the",
    "bank",
    "said",
    "on",
    "Tuesday",
    "prices",
    "rose",
    "1.5",
    "pct",
    "to",
    "4,340",
    "dlrs",
    "Iraq",
    "minister",
    "talks",
    "oil",
    "U.S.",
    "vs",
    "mln",
    "“quoted”",
    "—",
    "Müller",
    "cafe\u{301}",
    "zone\u{00AD}s",
    "a\u{200B}b",
    "non\u{00A0}stop",
    ",",
    ".",
    "Shr",
    "cts",
    "(AP)",
    "CAIRO:",
    "said.",
    "year.",
    "Reuter",
    "x\u{0007}y",
    "日本",
    "«Ça»",
    "don’t",
    " ",
    "\t",
];

const EXTRA_LINES: &[&str] = &[
    "facebook",
    "  • Home",
    "Short Url:",
    "07 Feb 2024 01:02:02 GMT9",
    "Reuters",
    "AP",
    "(AFP file photo)",
    "Most Popular",
    "return to top",
    "Shr 28 cts vs 22 cts",
    "Net 1,200,000 vs 950,000",
    "Year",
    " Reuter",
    "REUTER^M",
    "Reporting by A; Editing by B",
    "SALVADOR, Feb 26 - Showers fell.",
    "WASHINGTON (Reuters) - The Senate voted.",
    "BEIRUT, Lebanon (AP) — Jets flew.",
    "Note: figures are provisional.",
    "",
    "Updated: 10 Mar 2025 15:05 CET",
    "MORE",
    "    ",
    "\u{FEFF}",
    "Photo: J. Doe",
];

const RAW_TIMES: &[&str] = &[
    "26-FEB-1987 15:01:01.79",
    "2014-02-05T03:15:00Z",
    "20140205T031500+0000",
    "junk",
    "Wed, 05 Feb 2014 03:15:00 GMT",
    "07 Feb 2024 01:02:02 GMT9",
    "",
];

fn words() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(WORDS), 1..40).prop_map(|w| w.join(" "))
}

/// A paragraph hard-wrapped at `width`, first line optionally indented.
fn wrap(text: &str, width: usize, indent: bool) -> String {
    let mut out = String::new();
    let mut line = String::new();
    if indent {
        line.push_str("    ");
    }
    for w in text.split(' ') {
        if line.trim().len() + w.len() + 1 > width && !line.trim().is_empty() {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.trim().is_empty() {
            line.push(' ');
        }
        line.push_str(w);
    }
    out.push_str(&line);
    out
}

#[derive(Debug, Clone)]
enum Piece {
    Para(String),
    Extra(&'static str),
}

fn body() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => words().prop_map(Piece::Para),
        1 => prop::sample::select(EXTRA_LINES).prop_map(Piece::Extra),
    ];
    (
        prop::collection::vec(piece, 0..12),
        40usize..90,
        any::<bool>(),
        prop::sample::select(&["\n", "\r\n", "\n\n"][..]),
    )
        .prop_map(|(pieces, width, indented, eol)| {
            let mut out = String::new();
            for p in pieces {
                match p {
                    Piece::Para(t) => out.push_str(&wrap(&t, width, indented)),
                    Piece::Extra(l) => out.push_str(l),
                }
                out.push_str(eol);
            }
            out.replace('\n', if eol == "\r\n" { "\r\n" } else { "\n" })
        })
}

fn story() -> impl Strategy<Value = Story> {
    (
        body(),
        prop::option::of(words()),
        prop::option::of(prop::sample::select(
            &["SALVADOR, Feb 26 -", "CAIRO", " - ", "LONDON (AP) —"][..],
        )),
        prop::option::of(prop::sample::select(RAW_TIMES)),
        prop::option::of(prop::sample::select(
            &["en-gb", "EN", "eng", "English", "zh_hant_tw"][..],
        )),
        prop::sample::select(&[Format::Text, Format::Json, Format::Anpa, Format::Nitf][..]),
        prop::option::of(prop::sample::select(&["Reuters", "AP", ""][..])),
    )
        .prop_map(
            |(body, headline, dateline, raw, language, format, source)| Story {
                body,
                headline,
                dateline: dateline.map(str::to_owned),
                published_raw: raw.map(str::to_owned),
                language: language.map(str::to_owned),
                format,
                source: source.map(str::to_owned),
                ..Story::default()
            },
        )
}

fn assert_clean(text: &str) {
    assert!(!text.contains("\n\n\n"), "{text:?}");
    assert_eq!(text.trim(), text, "{text:?}");
    for line in text.split('\n') {
        assert_eq!(line.trim(), line, "{text:?}");
        assert!(!line.contains("  "), "{text:?}");
    }
    assert!(
        !text.chars().any(|c| (c.is_control() && c != '\n')
            || matches!(c, '\u{00A0}' | '\u{00AD}' | '\u{200B}' | '\u{FEFF}')),
        "{text:?}"
    );
    assert_eq!(text.nfc().collect::<String>(), text, "not NFC: {text:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn idempotent_and_clean(story in story()) {
        let config = NormaliseConfig::default();
        let once = normalise(story, &config);
        let twice = normalise(once.clone(), &config);
        prop_assert_eq!(&twice, &once);
        assert_clean(&once.body);
        if let Some(h) = &once.headline {
            assert_clean(h);
            prop_assert!(!h.contains('\n'));
        }
        if let Some(d) = &once.dateline {
            prop_assert!(!d.ends_with(['-', '—', ':', ' ']), "{:?}", d);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(body in any::<String>(), format in prop::sample::select(&[Format::Text, Format::Json][..])) {
        let config = NormaliseConfig::default();
        let once = normalise(Story { body, format, ..Story::default() }, &config);
        prop_assert_eq!(normalise(once.clone(), &config), once);
    }
}
