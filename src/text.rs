//! Small text helpers shared by the stages.

pub(crate) mod packed;

/// `s.split('\n')`, with the line ends found by `memchr`: wire lines are short, and the
/// standard searcher's set-up per line costs more than the search.
pub(crate) fn split_lines(s: &str) -> impl Iterator<Item = &str> + '_ {
    let mut ends = memchr::memchr_iter(b'\n', s.as_bytes());
    let mut start = Some(0);
    std::iter::from_fn(move || {
        let from = start?;
        match ends.next() {
            Some(end) => {
                start = Some(end + 1);
                s.get(from..end)
            }
            None => {
                start = None;
                s.get(from..)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_the_standard_split() {
        for s in ["", "a", "a\n", "\n", "a\nb", "a\n\nb\n", "é\nü\n\n"] {
            let ours: Vec<&str> = split_lines(s).collect();
            let std: Vec<&str> = s.split('\n').collect();
            assert_eq!(ours, std, "{s:?}");
        }
    }
}
