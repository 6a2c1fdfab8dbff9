//! Agency credits: a bare "Reuters"/"AP"/"AFP" line at either end of the story, the "Reuter"
//! sign-off of 1980s Reuters copy, "Reporting by ...; Editing by ..." trailers and wire take
//! markers ("MORE"). The lines go; the agency they name becomes the story's source.

use super::lines::Line;

/// Canonical name for an agency credit, if `name` is one (case-insensitive).
pub(crate) fn agency(name: &str) -> Option<&'static str> {
    let key = name
        .trim()
        .trim_start_matches(['-', '—', '–', '(', ' '])
        .trim_end_matches(['.', ')', ' ', '-']);
    let mut buf = [0u8; LOWER_BUF];
    match ascii_lowercase(key, &mut buf) {
        Some(lower) => agency_of(lower),
        // No agency name is this long; other letters may lowercase to ASCII ones.
        None if key.is_ascii() => None,
        None => agency_of(&key.to_lowercase()),
    }
}

/// Room for the lowercase copies below: more than the longest name or phrase looked up.
const LOWER_BUF: usize = 48;

/// `text` lowercased in `buf` when it is ASCII and fits.
fn ascii_lowercase<'a>(text: &str, buf: &'a mut [u8; LOWER_BUF]) -> Option<&'a str> {
    if !text.is_ascii() {
        return None;
    }
    let slot = buf.get_mut(..text.len())?;
    slot.copy_from_slice(text.as_bytes());
    slot.make_ascii_lowercase();
    std::str::from_utf8(slot).ok()
}

/// The agency a lowercase name stands for.
fn agency_of(key: &str) -> Option<&'static str> {
    Some(match key {
        "reuters" | "reuter" | "thomson reuters" => "Reuters",
        "ap" | "associated press" | "the associated press" => "AP",
        "afp" | "agence france-presse" | "agence france presse" => "AFP",
        "dpa" => "dpa",
        "ansa" => "ANSA",
        "efe" => "EFE",
        "xinhua" => "Xinhua",
        "kyodo" | "kyodo news" => "Kyodo",
        "upi" | "united press international" => "UPI",
        "aap" => "AAP",
        "pa" | "pa media" => "PA",
        "bloomberg" => "Bloomberg",
        "tass" => "TASS",
        "interfax" => "Interfax",
        "yonhap" => "Yonhap",
        "anadolu agency" => "Anadolu Agency",
        "pti" => "PTI",
        "ani" => "ANI",
        "bernama" => "Bernama",
        "spa" | "saudi press agency" => "SPA",
        "wam" => "WAM",
        "ina" => "INA",
        _ => return None,
    })
}

/// A whole line that is only a credit; `Some(agency)` when it names one.
enum CreditLine {
    Agency(&'static str),
    Trailer,
}

fn credit_line(text: &str) -> Option<CreditLine> {
    if text.len() <= 40 {
        if let Some(a) = agency(text) {
            return Some(CreditLine::Agency(a));
        }
        let mut buf = [0u8; LOWER_BUF];
        let owned;
        let lower = match ascii_lowercase(text, &mut buf) {
            Some(lower) => lower,
            None => {
                owned = text.to_lowercase();
                owned.as_str()
            }
        };
        let t = lower.trim_matches(['-', '(', ')', ' ', '.']);
        if matches!(
            t,
            "more" | "more to follow" | "more follows" | "end" | "ends"
        ) {
            return Some(CreditLine::Trailer);
        }
    }
    if text.len() <= 400 {
        let text = text.trim_start_matches('(');
        const TRAILERS: [&str; 8] = [
            "reporting by ",
            "additional reporting by ",
            "editing by ",
            "writing by ",
            "compiled by ",
            "reporting and writing by ",
            "graphic by ",
            "fact box by ",
        ];
        // The trailers are ASCII: when the text starts with as many ASCII bytes, comparing
        // those ignoring case is lowercasing it. Other letters may lowercase to ASCII ones.
        let longest = TRAILERS.iter().map(|t| t.len()).max().unwrap_or(0);
        let head = &text.as_bytes()[..text.len().min(longest)];
        let is_trailer = if head.is_ascii() {
            TRAILERS.iter().any(|t| {
                head.len() >= t.len() && head[..t.len()].eq_ignore_ascii_case(t.as_bytes())
            })
        } else {
            let lower = text.to_lowercase();
            TRAILERS.iter().any(|t| lower.starts_with(t))
        };
        if is_trailer {
            return Some(CreditLine::Trailer);
        }
    }
    None
}

/// Drop credit paragraphs at the end of the story (and a bare agency line at its start); return
/// the first agency named.
pub(crate) fn strip(lines: &mut [Line<'_>]) -> Option<&'static str> {
    let mut found = None;
    for i in (0..lines.len()).rev() {
        if !lines[i].keep {
            continue;
        }
        match credit_line(lines[i].text) {
            Some(c) => {
                if let CreditLine::Agency(a) = c {
                    found = found.or(Some(a));
                }
                lines[i].keep = false;
            }
            None => break,
        }
    }
    for line in lines.iter_mut().filter(|l| l.keep) {
        match agency(line.text).filter(|_| line.text.len() <= 40) {
            Some(a) => {
                line.keep = false;
                found = found.or(Some(a));
            }
            None => break,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::lines::split;

    fn kept(lines: &[Line<'_>]) -> Vec<String> {
        lines
            .iter()
            .filter(|l| l.keep)
            .map(|l| l.text.to_owned())
            .collect()
    }

    #[test]
    fn reuter_signoff() {
        let mut lines = split("Some text here.\n    More text.\n REUTER^M");
        assert_eq!(strip(&mut lines), Some("Reuters"));
        assert_eq!(kept(&lines), ["Some text here.", "More text."]);
    }

    #[test]
    fn trailers_and_agency() {
        let text = "AP\n\nStory text.\n\nReuters\n\n(Reporting by A; Editing by B)\n\nMORE";
        let mut lines = split(text);
        assert_eq!(strip(&mut lines), Some("Reuters"));
        assert_eq!(kept(&lines), ["Story text."]);
    }

    #[test]
    fn ordinary_last_lines_stay() {
        let mut lines = split("Story text.\nThe AP reported more.");
        assert_eq!(strip(&mut lines), None);
        assert_eq!(kept(&lines).len(), 2);
    }

    #[test]
    fn agency_and_trailers_ignore_case() {
        assert_eq!(agency(" (REUTERS) "), Some("Reuters"));
        assert_eq!(agency("United Press International."), Some("UPI"));
        assert_eq!(
            agency("Reuters, and a very long line that names no agency at all"),
            None
        );
        // The Kelvin sign lowercases to an ASCII k.
        assert_eq!(agency("\u{212A}yodo"), Some("Kyodo"));
        assert!(matches!(
            credit_line("(Reporting by Jane Doe; Editing by John Roe)"),
            Some(CreditLine::Trailer)
        ));
        assert!(matches!(
            credit_line("EDITING BY X"),
            Some(CreditLine::Trailer)
        ));
        assert!(matches!(credit_line("- MORE -"), Some(CreditLine::Trailer)));
        assert!(credit_line("Reporting by").is_none());
        assert!(credit_line("Écrit par quelqu'un d'autre, pas un crédit.").is_none());
    }
}
