//! Edit signals spelled as words in keyword lines and editor notes ("1st Ld-Writethru",
//! "CORRECTION", "KILL", "REFILE 1ST LEAD").

use crate::model::EditSignal;

/// The strongest signal a keyword text carries: kill over correction over update.
pub(crate) fn from_keyword(text: &str) -> Option<EditSignal> {
    let lower = text.to_ascii_lowercase();
    let tokens: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    let mut found: Option<EditSignal> = None;
    for (i, t) in tokens.iter().enumerate() {
        let signal = match *t {
            "kill" | "killed" | "withdrawn" | "withdrawal" | "canceled" | "cancelled" => {
                EditSignal::Kill
            }
            t if t.starts_with("correct") => EditSignal::Correction,
            "writethru" | "update" | "updated" | "updates" | "refile" | "repeat" => {
                EditSignal::Update
            }
            // "1ST LEAD", "2nd Ld": an ordinal then lead.
            "lead" | "ld" if i > 0 && is_ordinal(tokens[i - 1]) => EditSignal::Update,
            t if is_ordinal_lead(t) => EditSignal::Update,
            _ => continue,
        };
        found = Some(match (found, signal) {
            (Some(EditSignal::Kill), _) | (_, EditSignal::Kill) => EditSignal::Kill,
            (Some(EditSignal::Correction), _) | (_, EditSignal::Correction) => {
                EditSignal::Correction
            }
            _ => EditSignal::Update,
        });
    }
    found
}

fn is_ordinal(t: &str) -> bool {
    let digits = t.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &t[digits.len()..];
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && matches!(suffix, "st" | "nd" | "rd" | "th")
}

/// "1stld" written as one token.
fn is_ordinal_lead(t: &str) -> bool {
    t.strip_suffix("ld")
        .or_else(|| t.strip_suffix("lead"))
        .is_some_and(is_ordinal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords() {
        assert_eq!(
            from_keyword("BC-US--Ethanol, 1st Ld-Writethru"),
            Some(EditSignal::Update)
        );
        assert_eq!(from_keyword("REFILE 1ST LEAD"), Some(EditSignal::Update));
        assert_eq!(from_keyword("1ST LEAD"), Some(EditSignal::Update));
        assert_eq!(from_keyword("CORRECTION"), Some(EditSignal::Correction));
        assert_eq!(
            from_keyword("KILL - story withdrawn"),
            Some(EditSignal::Kill)
        );
        assert_eq!(from_keyword("Leaders meet"), None);
        assert_eq!(from_keyword("EXTRA"), None);
    }
}
