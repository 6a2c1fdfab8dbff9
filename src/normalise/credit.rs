//! Agency credits: a bare "Reuters"/"AP"/"AFP" line at either end of the story, the "Reuter"
//! sign-off of 1980s Reuters copy, "Reporting by ...; Editing by ..." trailers and wire take
//! markers ("MORE"). The lines go; the agency they name becomes the story's source.

use super::lines::Line;

/// Canonical name for an agency credit, if `name` is one (case-insensitive).
pub(crate) fn agency(name: &str) -> Option<&'static str> {
    let key = name
        .trim()
        .trim_start_matches(['-', '—', '–', '(', ' '])
        .trim_end_matches(['.', ')', ' ', '-'])
        .to_lowercase();
    Some(match key.as_str() {
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
        let lower = text.to_lowercase();
        let t = lower.trim_matches(['-', '(', ')', ' ', '.']);
        if matches!(
            t,
            "more" | "more to follow" | "more follows" | "end" | "ends"
        ) {
            return Some(CreditLine::Trailer);
        }
    }
    if text.len() <= 400 {
        let lower = text.trim_start_matches('(').to_lowercase();
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
        if TRAILERS.iter().any(|t| lower.starts_with(t)) {
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
}
