//! Lenient timestamp parsing into UTC. Feeds write times in many shapes (RFC 3339, RFC 2822,
//! ISO basic, Reuters' `26-FEB-1987 15:01:01.79`, scraped `07 Feb 2024 01:02:02 GMT9`). We
//! parse what is sound and say what we assumed: a missing zone is taken as UTC and an unknown
//! zone name is ignored, but both come back as an assumption for the story's warnings.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// A parsed time, plus what had to be assumed to get it (if anything).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParsedTime {
    pub(crate) at: DateTime<Utc>,
    pub(crate) assumed: Option<String>,
    /// Text after the time was ignored (never true for a clean timestamp).
    pub(crate) ignored_junk: bool,
}

/// Why a timestamp was not parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TimeError {
    #[error("empty timestamp")]
    Empty,
    #[error("unrecognised timestamp")]
    Unrecognised,
    #[error("ambiguous numeric date")]
    Ambiguous,
    #[error("date or time out of range")]
    OutOfRange,
}

const NO_ZONE: &str = "no time zone, taken as UTC";

/// Parse a timestamp written in any of the shapes we know.
pub(crate) fn parse_timestamp(raw: &str) -> Result<ParsedTime, TimeError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(TimeError::Empty);
    }
    if let Some(t) = parse_reuters(s) {
        return Ok(t);
    }
    if let Some(t) = parse_epoch(s) {
        return Ok(sound(t));
    }
    if s.len() >= 8 && s.as_bytes()[..4].iter().all(u8::is_ascii_digit) {
        if let Some(t) = parse_iso(s) {
            return Ok(t);
        }
    }
    parse_words(s)
}

fn sound(at: DateTime<Utc>) -> ParsedTime {
    ParsedTime {
        at,
        assumed: None,
        ignored_junk: false,
    }
}

fn assumed_utc(naive: NaiveDateTime, why: &str) -> ParsedTime {
    ParsedTime {
        at: Utc.from_utc_datetime(&naive),
        assumed: Some(why.to_owned()),
        ignored_junk: false,
    }
}

/// Reuters' own shape, `26-FEB-1987 15:01:01.79`, read directly: what [`parse_words`] makes of
/// it (a date, a clock time, no zone) without its tokenising and format parsing. Anything
/// else, including out-of-range fields, is left to the general parsers.
fn parse_reuters(s: &str) -> Option<ParsedTime> {
    // The day has one or two digits; the rest has fixed places after it.
    let day_len = s.find('-').filter(|&n| n == 1 || n == 2)?;
    let b = s.as_bytes().get(day_len..)?;
    if !(18..=28).contains(&b.len()) || b[4] != b'-' || b[9] != b' ' {
        return None;
    }
    let digits = |bytes: &[u8]| -> Option<u32> {
        bytes.iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let day = digits(&s.as_bytes()[..day_len])?;
    let month = std::str::from_utf8(&b[1..4]).ok().and_then(month_number)?;
    let year = digits(&b[5..9])?;
    if b[12] != b':' || b[15] != b':' {
        return None;
    }
    let (hour, minute, second) = (
        digits(&b[10..12])?,
        digits(&b[13..15])?,
        digits(&b[16..18])?,
    );
    let nanos = match &b[18..] {
        [] => 0,
        [b'.', fraction @ ..] if (1..=9).contains(&fraction.len()) => {
            digits(fraction)? * 10u32.pow(9 - u32::try_from(fraction.len()).ok()?)
        }
        _ => return None,
    };
    // The general parser reads the day as 1..=31 and the year as 1000..=9999, and chrono
    // reads second 60 as a leap second: those stay with it.
    if !(1..=31).contains(&day) || year < 1000 || second > 59 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    Some(assumed_utc(date.and_time(time), NO_ZONE))
}

/// Unix time in seconds (10 digits) or milliseconds (13 digits): UTC by definition.
fn parse_epoch(s: &str) -> Option<DateTime<Utc>> {
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = s.parse().ok()?;
    match s.len() {
        10 => DateTime::from_timestamp(n, 0),
        13 => DateTime::from_timestamp_millis(n),
        _ => None,
    }
}

/// RFC 3339 and the ISO 8601 forms around it (space separator, no zone, zone without colon,
/// basic format `20140205T031500+0000`, date only).
fn parse_iso(s: &str) -> Option<ParsedTime> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(sound(t.with_timezone(&Utc)));
    }
    let (main, zone) = split_iso_zone(s);
    let offset = match zone {
        Some(z) => Some(parse_offset(z)?),
        None => None,
    };
    const FORMATS: [&str; 6] = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y%m%dT%H%M%S%.f",
        "%Y%m%dT%H%M",
    ];
    let naive = FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(main, f).ok());
    let naive = match naive {
        Some(n) => n,
        None => {
            let date = NaiveDate::parse_from_str(main, "%Y-%m-%d")
                .or_else(|_| NaiveDate::parse_from_str(main, "%Y%m%d"))
                .ok()?;
            let naive = date.and_time(NaiveTime::MIN);
            return Some(match offset {
                Some(o) => ParsedTime {
                    at: localise(naive, o)?,
                    assumed: Some("no time of day, taken as midnight".to_owned()),
                    ignored_junk: false,
                },
                None => assumed_utc(naive, "no time of day or zone, taken as midnight UTC"),
            });
        }
    };
    Some(match offset {
        Some(o) => sound(localise(naive, o)?),
        None => assumed_utc(naive, NO_ZONE),
    })
}

/// Split `2014-02-05T03:15:00+01:00` into the local part and the zone (`Z`, `+hh:mm`, `+hhmm`).
fn split_iso_zone(s: &str) -> (&str, Option<&str>) {
    if let Some(stripped) = s.strip_suffix(['Z', 'z']) {
        return (stripped, Some("Z"));
    }
    // A sign after the time part starts the zone; the date's own dashes come before any 'T'/':'.
    let time_start = s.find(['T', 't', ' ']).unwrap_or(s.len());
    match s[time_start..].rfind(['+', '-']) {
        Some(i) => {
            let at = time_start + i;
            (s[..at].trim_end(), Some(&s[at..]))
        }
        None => (s, None),
    }
}

/// `Z`, `+hh:mm`, `+hhmm`, `+hh`.
fn parse_offset(z: &str) -> Option<FixedOffset> {
    if z.eq_ignore_ascii_case("z") {
        return FixedOffset::east_opt(0);
    }
    let (sign, digits) = match z.as_bytes().first()? {
        b'+' => (1, &z[1..]),
        b'-' => (-1, &z[1..]),
        _ => return None,
    };
    let digits: String = digits.chars().filter(|&c| c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().ok()?, 0),
        3 => (
            digits[..1].parse::<i32>().ok()?,
            digits[1..].parse::<i32>().ok()?,
        ),
        4 => (
            digits[..2].parse::<i32>().ok()?,
            digits[2..].parse::<i32>().ok()?,
        ),
        _ => return None,
    };
    if h > 18 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

fn localise(naive: NaiveDateTime, offset: FixedOffset) -> Option<DateTime<Utc>> {
    offset
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// Zone abbreviations with one accepted meaning. Ambiguous ones (IST, BST, AST, CST in Asia)
/// are deliberately absent except where RFC 2822 fixes them (EST/CST/MST/PST and daylight).
fn named_zone(name: &str) -> Option<i32> {
    let hours = match name.to_ascii_uppercase().as_str() {
        "Z" | "UT" | "UTC" | "GMT" | "WET" => 0,
        "EST" => -5,
        "EDT" => -4,
        "CST" => -6,
        "CDT" => -5,
        "MST" => -7,
        "MDT" => -6,
        "PST" => -8,
        "PDT" => -7,
        "CET" | "WEST" => 1,
        "CEST" | "EET" | "SAST" => 2,
        "EEST" | "MSK" => 3,
        "HKT" | "SGT" | "AWST" => 8,
        "JST" | "KST" => 9,
        "AEST" => 10,
        "AEDT" => 11,
        _ => return None,
    };
    Some(hours * 3600)
}

/// `full` starts with `part`, ignoring ASCII case.
fn starts_ci(full: &str, part: &str) -> bool {
    full.len() >= part.len()
        && full.is_char_boundary(part.len())
        && full[..part.len()].eq_ignore_ascii_case(part)
}

fn month_number(word: &str) -> Option<u32> {
    let w = word.trim_end_matches('.');
    if w.len() < 3 {
        return None;
    }
    let pos = MONTHS
        .iter()
        .position(|m| starts_ci(m, w) || (w.eq_ignore_ascii_case("sept") && *m == "september"))?;
    u32::try_from(pos + 1).ok()
}

const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

fn is_weekday(word: &str) -> bool {
    let w = word.trim_end_matches('.');
    w.len() >= 3 && DAYS.iter().any(|d| starts_ci(d, w))
}

/// Words that may surround a time without changing it.
const FILLERS: [&str; 9] = [
    "at",
    "on",
    "the",
    "of",
    "h",
    "hrs",
    "published",
    "updated",
    "posted",
];

fn is_filler(word: &str) -> bool {
    FILLERS.iter().any(|f| f.eq_ignore_ascii_case(word))
}

#[derive(Default)]
struct Fields {
    day: Option<u32>,
    month: Option<u32>,
    year: Option<i32>,
    two_digit_year: bool,
    time: Option<NaiveTime>,
    pm: Option<bool>,
    offset: Option<i32>,
    unknown_zone: Option<String>,
}

/// RFC 2822, Reuters' `26-FEB-1987 15:01:01.79` and the free forms of web pages
/// (`February 7, 2024 1:02 AM EST`, `07 Feb 2024 01:02:02 GMT9`).
fn parse_words(s: &str) -> Result<ParsedTime, TimeError> {
    let mut f = Fields::default();
    let mut numbers: Vec<u32> = Vec::new();
    let mut ignored: Option<&str> = None;
    for token in s.split([' ', ',']).filter(|t| !t.is_empty()) {
        if let Err(e) = read_token(token, &mut f, &mut numbers) {
            // Junk after a complete date and time ("14:01:21.93V RM") is ignored, and said so.
            if f.time.is_some()
                && f.month.is_some()
                && numbers.len() + usize::from(f.day.is_some()) >= 2
            {
                let at = token.as_ptr() as usize - s.as_ptr() as usize;
                ignored = Some(s[at..].trim());
                break;
            }
            return Err(e);
        }
    }
    for n in numbers {
        if f.day.is_none() && (1..=31).contains(&n) {
            f.day = Some(n);
        } else if f.year.is_none() && (1000..=9999).contains(&n) {
            f.year = i32::try_from(n).ok();
        } else if f.year.is_none() && f.day.is_some() && n < 100 {
            f.year = i32::try_from(if n < 50 { 2000 + n } else { 1900 + n }).ok();
            f.two_digit_year = true;
        } else {
            return Err(TimeError::Unrecognised);
        }
    }
    let (Some(day), Some(month), Some(year)) = (f.day, f.month, f.year) else {
        return Err(TimeError::Unrecognised);
    };
    let date = NaiveDate::from_ymd_opt(year, month, day).ok_or(TimeError::OutOfRange)?;
    let mut notes: Vec<String> = Vec::new();
    if let Some(junk) = ignored {
        notes.push(format!("ignored trailing \"{junk}\""));
    }
    if f.two_digit_year {
        notes.push(format!("two-digit year read as {year}"));
    }
    let time = match (f.time, f.pm) {
        (Some(t), None) => t,
        (Some(t), Some(pm)) => apply_meridiem(t, pm)?,
        (None, _) => {
            notes.push("no time of day, taken as midnight".to_owned());
            NaiveTime::MIN
        }
    };
    let naive = date.and_time(time);
    let at = match (f.offset, &f.unknown_zone) {
        (Some(secs), _) => {
            let offset = FixedOffset::east_opt(secs).ok_or(TimeError::OutOfRange)?;
            localise(naive, offset).ok_or(TimeError::OutOfRange)?
        }
        (None, Some(zone)) => {
            notes.push(format!("unrecognised time zone \"{zone}\", taken as UTC"));
            Utc.from_utc_datetime(&naive)
        }
        (None, None) => {
            notes.push(NO_ZONE.to_owned());
            Utc.from_utc_datetime(&naive)
        }
    };
    Ok(ParsedTime {
        at,
        assumed: (!notes.is_empty()).then(|| notes.join("; ")),
        ignored_junk: ignored.is_some(),
    })
}

fn apply_meridiem(t: NaiveTime, pm: bool) -> Result<NaiveTime, TimeError> {
    use chrono::Timelike;
    let h = t.hour();
    if !(1..=12).contains(&h) {
        return Err(TimeError::OutOfRange);
    }
    let h24 = match (pm, h) {
        (false, 12) => 0,
        (false, h) => h,
        (true, 12) => 12,
        (true, h) => h + 12,
    };
    t.with_hour(h24).ok_or(TimeError::OutOfRange)
}

fn read_token(token: &str, f: &mut Fields, numbers: &mut Vec<u32>) -> Result<(), TimeError> {
    let lower = token.to_ascii_lowercase();
    let t = lower.trim_end_matches('.');
    if is_weekday(token) || is_filler(t) {
        return Ok(());
    }
    if t == "am" || t == "a.m" || t == "pm" || t == "p.m" {
        f.pm = Some(t.starts_with('p'));
        return Ok(());
    }
    if let Some(m) = month_number(token) {
        if f.month.is_some() {
            return Err(TimeError::Unrecognised);
        }
        f.month = Some(m);
        return Ok(());
    }
    if token.bytes().all(|b| b.is_ascii_digit()) {
        numbers.push(token.parse().map_err(|_| TimeError::Unrecognised)?);
        return Ok(());
    }
    // Ordinal day: "7th", "21st".
    if let Some(d) = strip_ordinal(t) {
        numbers.push(d);
        return Ok(());
    }
    if token.contains(':') && f.time.is_none() {
        return read_time(token, f);
    }
    if (token.contains('-') || token.contains('/'))
        && token.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && f.month.is_none()
    {
        return read_compact_date(token, f, numbers);
    }
    // Anything after the time that looks like a zone.
    if f.time.is_some() && f.offset.is_none() && f.unknown_zone.is_none() {
        return read_zone(token, f);
    }
    Err(TimeError::Unrecognised)
}

fn strip_ordinal(t: &str) -> Option<u32> {
    let digits = t
        .strip_suffix("st")
        .or_else(|| t.strip_suffix("nd"))
        .or_else(|| t.strip_suffix("rd"))
        .or_else(|| t.strip_suffix("th"))?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// `15:01`, `15:01:01`, `15:01:01.79`, and a glued zone such as `15:01:01Z` or `15:01+0300`.
fn read_time(token: &str, f: &mut Fields) -> Result<(), TimeError> {
    let split = token
        .char_indices()
        .skip(1)
        .find(|&(_, c)| c == '+' || c == '-' || c.is_ascii_alphabetic())
        .map(|(i, _)| i);
    let (clock, rest) = match split {
        Some(i) => token.split_at(i),
        None => (token, ""),
    };
    let time = ["%H:%M:%S%.f", "%H:%M"]
        .iter()
        .find_map(|fmt| NaiveTime::parse_from_str(clock, fmt).ok())
        .ok_or(TimeError::Unrecognised)?;
    f.time = Some(time);
    if !rest.is_empty() {
        let lower = rest.to_ascii_lowercase();
        if lower == "am" || lower == "pm" {
            f.pm = Some(lower == "pm");
        } else {
            read_zone(rest, f)?;
        }
    }
    Ok(())
}

/// `26-FEB-1987`, `2024/02/07`; purely numeric day/month orders are accepted only when the
/// order cannot be mistaken (year first, or a day above 12).
fn read_compact_date(token: &str, f: &mut Fields, numbers: &mut Vec<u32>) -> Result<(), TimeError> {
    let parts: Vec<&str> = token.split(['-', '/']).collect();
    if parts.len() != 3 {
        return Err(TimeError::Unrecognised);
    }
    if let Some(m) = month_number(parts[1]) {
        f.month = Some(m);
        numbers.push(parts[0].parse().map_err(|_| TimeError::Unrecognised)?);
        numbers.push(parts[2].parse().map_err(|_| TimeError::Unrecognised)?);
        return Ok(());
    }
    let nums: Vec<u32> = parts
        .iter()
        .map(|p| p.parse::<u32>())
        .collect::<Result<_, _>>()
        .map_err(|_| TimeError::Unrecognised)?;
    if parts[0].len() == 4 {
        f.year = i32::try_from(nums[0]).ok();
        f.month = Some(nums[1]);
        f.day = Some(nums[2]);
        return Ok(());
    }
    if parts[2].len() != 4 {
        return Err(TimeError::Ambiguous);
    }
    f.year = i32::try_from(nums[2]).ok();
    match (nums[0] > 12, nums[1] > 12) {
        (true, false) => {
            f.day = Some(nums[0]);
            f.month = Some(nums[1]);
        }
        (false, true) => {
            f.month = Some(nums[0]);
            f.day = Some(nums[1]);
        }
        _ => return Err(TimeError::Ambiguous),
    }
    Ok(())
}

/// `+0300`, `-05:00`, `GMT`, `GMT+3`, `UTC-05:00`, a named zone, or an unknown zone-like word
/// (kept so the caller can say it was ignored).
fn read_zone(token: &str, f: &mut Fields) -> Result<(), TimeError> {
    let t = token.trim_matches(|c| c == '(' || c == ')');
    if let Some(o) = parse_offset(t) {
        f.offset = Some(o.local_minus_utc());
        return Ok(());
    }
    if let Some(secs) = named_zone(t) {
        f.offset = Some(secs);
        return Ok(());
    }
    let upper = t.to_ascii_uppercase();
    for prefix in ["GMT", "UTC"] {
        if let Some(rest) = upper.strip_prefix(prefix) {
            if rest.starts_with(['+', '-']) {
                if let Some(o) = parse_offset(rest) {
                    f.offset = Some(o.local_minus_utc());
                    return Ok(());
                }
            }
        }
    }
    let zone_like = (1..=6).contains(&t.len())
        && t.as_bytes()[0].is_ascii_alphabetic()
        && t.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'+' || b == b'-');
    if zone_like {
        f.unknown_zone = Some(t.to_owned());
        return Ok(());
    }
    Err(TimeError::Unrecognised)
}

/// A run of exactly four digits starting 19 or 20.
/// Whether any byte is an ASCII digit, eight bytes at a time (most lines of text have none).
pub(crate) fn has_ascii_digit(bytes: &[u8]) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        // With the top bit cleared, adding 0x50 sets it from '0' on, adding 0x46 from ':' on;
        // no byte carries into the next.
        let low = x & !HIGH;
        if low.wrapping_add(ONES * 0x50) & !low.wrapping_add(ONES * 0x46) & !x & HIGH != 0 {
            return true;
        }
    }
    chunks.remainder().iter().any(u8::is_ascii_digit)
}

/// A run of exactly four digits starting with 19 or 20.
fn has_year(s: &str) -> bool {
    let b = s.as_bytes();
    // Runs that can be years start at a 1 or a 2: only those are looked at.
    memchr::memchr2_iter(b'1', b'2', b).any(|i| {
        (i == 0 || !b[i - 1].is_ascii_digit())
            && b.len() >= i + 4
            && matches!(&b[i..i + 2], b"19" | b"20")
            && b[i + 2].is_ascii_digit()
            && b[i + 3].is_ascii_digit()
            && b.get(i + 4).is_none_or(|c| !c.is_ascii_digit())
    })
}

/// Whether a whole line is just a timestamp (scraped pages repeat them in the header), with
/// an optional "Published:"/"Updated" label. Returns the timestamp part.
pub(crate) fn timestamp_line(line: &str) -> Option<&str> {
    if line.len() > 64 {
        return None;
    }
    timestamp_line_of(line, has_ascii_digit(line.as_bytes()))
}

/// [`timestamp_line`] for a line known to have an ASCII digit or not.
#[inline]
pub(crate) fn timestamp_line_of(line: &str, has_digit: bool) -> Option<&str> {
    if line.len() > 64 || !has_digit {
        return None;
    }
    timestamp_shaped(line)
}

/// [`timestamp_line`] for a short line with a digit.
fn timestamp_shaped(line: &str) -> Option<&str> {
    let mut s = line;
    // Labels start with one of these letters: most lines skip the comparisons.
    if matches!(line.as_bytes()[0] | 0x20, b'l' | b'p' | b'u' | b'd') {
        for label in ["last updated", "published", "updated", "posted", "date"] {
            if s.len() >= label.len()
                && s.is_char_boundary(label.len())
                && s[..label.len()].eq_ignore_ascii_case(label)
            {
                s = s[label.len()..].trim_start_matches([':', ' ', '-']);
                break;
            }
        }
    }
    // Cheap shape check before searching and parsing: a few tokens, each with a digit or a
    // word that can be part of a date (month, weekday, zone, "at"). Ordinary text fails on
    // its first words.
    let mut tokens = 0;
    for t in s
        .as_bytes()
        .split(|&b| b == b' ' || b == b',')
        .filter(|t| !t.is_empty())
    {
        tokens += 1;
        if tokens > 9 {
            return None;
        }
        if t.iter().any(u8::is_ascii_digit) {
            continue;
        }
        let end = t.iter().rposition(|&b| b != b'.' && b != b':');
        if !is_date_word(&t[..end.map_or(0, |e| e + 1)]) {
            return None;
        }
    }
    // Needs a clock time or a year, so that "Feb 26" alone stays text.
    if !(memchr::memchr(b':', s.as_bytes()).is_some() || has_year(s)) {
        return None;
    }
    parse_timestamp(s)
        .ok()
        .filter(|p| !p.ignored_junk)
        .map(|_| s)
}

/// Whether a word without digits (nor trailing dots and colons) can stand in a timestamp line: a month or weekday (or the
/// start of one, three letters at least), a filler word, am/pm, or a zone-like word (up to six
/// capitals and signs). The same answer as asking [`month_number`], [`is_weekday`],
/// [`is_filler`] and the zone test in turn, with one lookup instead of two dozen comparisons.
fn is_date_word(b: &[u8]) -> bool {
    if (1..=6).contains(&b.len())
        && b.iter()
            .all(|&c| c.is_ascii_uppercase() || c == b'+' || c == b'-')
    {
        return true;
    }
    // The first three bytes lowercased name the one or two words it can be, if any; the
    // words are lowercase ASCII, so comparing ignoring ASCII case is comparing lowercased.
    let is = |word: &[u8]| b.eq_ignore_ascii_case(word);
    match *b {
        [] => false,
        [a] => a.eq_ignore_ascii_case(&b'h'),
        [a, c] => matches!(
            [a.to_ascii_lowercase(), c.to_ascii_lowercase()],
            [b'a', b't'] | [b'o', b'n'] | [b'o', b'f'] | [b'a', b'm'] | [b'p', b'm']
        ),
        [a, c, d, ..] => match [a, c, d].map(|x| x.to_ascii_lowercase()) {
            [b't', b'h', b'e'] => b.len() == 3,
            [b'h', b'r', b's'] | [b'a' | b'p', b'.', b'm'] => b.len() == 3,
            [b'p', b'u', b'b'] => is(b"published"),
            [b'u', b'p', b'd'] => is(b"updated"),
            [b'p', b'o', b's'] => is(b"posted"),
            first3 => day_or_month_name(first3)
                .is_some_and(|name| name.len() >= b.len() && is(&name.as_bytes()[..b.len()])),
        },
    }
}

/// The month or weekday name (lower case) that starts with these three lowercase letters.
fn day_or_month_name(first3: [u8; 3]) -> Option<&'static str> {
    Some(match &first3 {
        b"jan" => "january",
        b"feb" => "february",
        b"mar" => "march",
        b"apr" => "april",
        b"may" => "may",
        b"jun" => "june",
        b"jul" => "july",
        b"aug" => "august",
        b"sep" => "september",
        b"oct" => "october",
        b"nov" => "november",
        b"dec" => "december",
        b"mon" => "monday",
        b"tue" => "tuesday",
        b"wed" => "wednesday",
        b"thu" => "thursday",
        b"fri" => "friday",
        b"sat" => "saturday",
        b"sun" => "sunday",
        _ => return None,
    })
}

/// English month names, lower case, January first.
pub(super) const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|e| panic!("bad test literal {s}: {e}"))
    }

    fn ok(raw: &str) -> ParsedTime {
        parse_timestamp(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    #[test]
    fn rfc3339_forms() {
        let t = ok("2014-02-05T03:15:00.123+01:00");
        assert_eq!(t.at, utc("2014-02-05T02:15:00.123Z"));
        assert_eq!(t.assumed, None);
        assert_eq!(ok("2014-02-05 03:15:00Z").at, utc("2014-02-05T03:15:00Z"));
        assert_eq!(
            ok("2014-02-05T03:15:00+0300").at,
            utc("2014-02-05T00:15:00Z")
        );
    }

    #[test]
    fn missing_zone_is_utc_with_note() {
        let t = ok("2014-02-05T03:15:00");
        assert_eq!(t.at, utc("2014-02-05T03:15:00Z"));
        assert_eq!(t.assumed.as_deref(), Some(NO_ZONE));
    }

    #[test]
    fn iso_basic() {
        let t = ok("20140205T031500+0000");
        assert_eq!(t.at, utc("2014-02-05T03:15:00Z"));
        assert_eq!(t.assumed, None);
        assert!(ok("20140205T031500").assumed.is_some());
    }

    #[test]
    fn rfc2822() {
        let t = ok("Wed, 05 Feb 2014 03:15:00 -0500");
        assert_eq!(t.at, utc("2014-02-05T08:15:00Z"));
        assert_eq!(t.assumed, None);
        assert_eq!(
            ok("Wed, 05 Feb 2014 03:15:00 GMT").at,
            utc("2014-02-05T03:15:00Z")
        );
        assert_eq!(ok("5 Feb 2014 03:15 EST").at, utc("2014-02-05T08:15:00Z"));
    }

    #[test]
    fn reuters_21578() {
        let t = ok("26-FEB-1987 15:01:01.79");
        assert_eq!(t.at, utc("1987-02-26T15:01:01.790Z"));
        assert_eq!(t.assumed.as_deref(), Some(NO_ZONE));
    }

    #[test]
    fn reuters_shape_agrees_with_general_parser() {
        let cases = [
            "26-FEB-1987 15:01:01.79",
            "26-FEB-1987 15:01:01",
            "01-jan-1987 00:00:00.0",
            "31-DEC-1999 23:59:59.123456789",
            "19-OCT-1987 09:30:00.5",
            "29-FEB-1988 12:00:00.00",
            "5-MAR-1987 09:04:12.07",
            "09-Mar-1987 18:41:00.10",
        ];
        for raw in cases {
            let fast = parse_reuters(raw).unwrap_or_else(|| panic!("{raw} not taken"));
            let general = parse_words(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(fast, general, "{raw}");
        }
        // Shapes and values the fast path leaves to the general parsers.
        for raw in [
            "29-FEB-1987 12:00:00.00",
            "00-FEB-1987 12:00:00",
            "32-FEB-1987 12:00:00",
            "26-FEB-0987 12:00:00",
            "26-FEB-1987 24:00:00",
            "26-FEB-1987 23:60:00",
            "26-FEB-1987 23:59:60",
            "26-FEB-1987 15:01:01.",
            "26-FEB-1987 15:01:01.1234567890",
            "26-FEB-1987 15:01:01.79V RM",
            "26-FEB-1987 15:01:01 GMT",
            "26-FEX-1987 15:01:01",
            "26-FEB-1987T15:01:01",
            "26-FÉB-1987 15:01:01",
            "123-FEB-1987 15:01:01",
            "-FEB-1987 15:01:01",
            "5-MAR-1987  09:04:12.07",
            "5-MAR-1987 9:04:12.07",
            "0-MAR-1987 09:04:12",
        ] {
            assert_eq!(parse_reuters(raw), None, "{raw}");
        }
        assert_eq!(
            parse_timestamp("27-MAR-1987 14:01:21.93V RM"),
            parse_words("27-MAR-1987 14:01:21.93V RM")
        );
    }

    #[test]
    fn unknown_zone_noted() {
        let t = ok("07 Feb 2024 01:02:02 GMT9");
        assert_eq!(t.at, utc("2024-02-07T01:02:02Z"));
        let note = t.assumed.unwrap_or_default();
        assert!(note.contains("GMT9"), "{note}");
    }

    #[test]
    fn trailing_junk_is_ignored_with_note() {
        let t = ok("27-MAR-1987 14:01:21.93V RM");
        assert_eq!(t.at, utc("1987-03-27T14:01:21.930Z"));
        let note = t.assumed.unwrap_or_default();
        assert!(note.contains("RM") && note.contains("\"V\""), "{note}");
        assert!(parse_timestamp("31-MAR-1987 605:12:19.12").is_err());
    }

    #[test]
    fn web_forms() {
        assert_eq!(
            ok("February 7, 2024 1:02 PM UTC").at,
            utc("2024-02-07T13:02:00Z")
        );
        assert_eq!(
            ok("Feb 7th 2024 12:30am GMT+3").at,
            utc("2024-02-06T21:30:00Z")
        );
        assert_eq!(ok("1707267722").at, utc("2024-02-07T01:02:02Z"));
    }

    #[test]
    fn rejects_junk_and_ambiguity() {
        assert!(parse_timestamp("").is_err());
        assert!(parse_timestamp("yesterday afternoon").is_err());
        assert_eq!(
            parse_timestamp("02/03/2024 10:00"),
            Err(TimeError::Ambiguous)
        );
        assert!(parse_timestamp("31 Feb 2024 10:00 UTC").is_err());
        assert!(parse_timestamp("NY COFFEE 10:30").is_err());
    }

    #[test]
    fn digit_test_finds_every_digit_in_every_position() {
        for b in 0..=255u8 {
            for pos in 0..19 {
                let mut text = vec![b'x'; 19];
                text[pos] = b;
                assert_eq!(
                    has_ascii_digit(&text),
                    b.is_ascii_digit(),
                    "{b:#x} at {pos}"
                );
            }
        }
        assert!(!has_ascii_digit(b""));
    }

    /// The date-word test as first written: every list asked in turn.
    fn is_date_word_by_lists(w: &str) -> bool {
        month_number(w).is_some()
            || is_weekday(w)
            || is_filler(w)
            || ["am", "pm", "a.m", "p.m"]
                .iter()
                .any(|m| m.eq_ignore_ascii_case(w))
            || ((1..=6).contains(&w.len())
                && w.bytes()
                    .all(|b| b.is_ascii_uppercase() || b == b'+' || b == b'-'))
    }

    #[test]
    fn date_word_lookup_agrees_with_lists() {
        let mut words: Vec<String> = Vec::new();
        let seeds = MONTHS
            .iter()
            .chain(&DAYS)
            .chain(&FILLERS)
            .chain(&[
                "am", "pm", "a.m", "p.m", "sept", "GMT", "UTC+3", "ABCDEFG", "A-B", "said", "year",
                "x", "", "é", "MAYß", "TÜE", "+", "marchx", "thee", "ju", "monday.",
            ])
            .copied();
        for seed in seeds {
            for end in 0..=seed.len() {
                let Some(prefix) = seed.get(..end) else {
                    continue;
                };
                words.push(prefix.to_owned());
                words.push(prefix.to_uppercase());
                words.push(format!("{prefix}s"));
                let mut title = prefix.to_owned();
                if let Some(first) = title.get_mut(..1) {
                    first.make_ascii_uppercase();
                }
                words.push(title);
            }
        }
        for w in &words {
            // Callers pass words without trailing dots and colons.
            let w = w.trim_end_matches(['.', ':']);
            assert_eq!(
                is_date_word(w.as_bytes()),
                is_date_word_by_lists(w),
                "{w:?}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn date_word_lookup_agrees_on_any_word(w in "[a-zA-Z.:+\\-é]{0,11}") {
            let w = w.trim_end_matches(['.', ':']);
            proptest::prop_assert_eq!(is_date_word(w.as_bytes()), is_date_word_by_lists(w));
        }
    }

    /// [`timestamp_line`] as first written: searched before the shape check, the shape check
    /// asking every word list in turn.
    fn timestamp_line_as_written(line: &str) -> Option<&str> {
        if line.len() > 64 || !has_ascii_digit(line.as_bytes()) {
            return None;
        }
        let mut s = line;
        if matches!(line.as_bytes()[0] | 0x20, b'l' | b'p' | b'u' | b'd') {
            for label in ["last updated", "published", "updated", "posted", "date"] {
                if s.len() >= label.len()
                    && s.is_char_boundary(label.len())
                    && s[..label.len()].eq_ignore_ascii_case(label)
                {
                    s = s[label.len()..].trim_start_matches([':', ' ', '-']);
                    break;
                }
            }
        }
        if !(memchr::memchr(b':', s.as_bytes()).is_some() || has_year(s)) {
            return None;
        }
        let mut tokens = 0;
        for t in s.split([' ', ',']).filter(|t| !t.is_empty()) {
            tokens += 1;
            if tokens > 9 {
                return None;
            }
            if t.bytes().any(|b| b.is_ascii_digit()) {
                continue;
            }
            if !is_date_word_by_lists(t.trim_end_matches(['.', ':'])) {
                return None;
            }
        }
        parse_timestamp(s)
            .ok()
            .filter(|p| !p.ignored_junk)
            .map(|_| s)
    }

    proptest::proptest! {
        #[test]
        fn timestamp_lines_as_written(
            label in "(|Updated: |posted - |Date|Last updated )",
            tokens in proptest::collection::vec(
                "(07|2024|1987|01:02:02|10:30|Feb|february|Sept.|Tue|at|the|GMT9|UTC|PM|a.m.|\
                 said|Shr|vs|cts|é|[A-Z]{1,3}|[0-9]{1,5}|::|\\.)",
                0..11,
            ),
            seps in proptest::collection::vec("( |, |,| {2})", 11),
        ) {
            let mut line = label;
            for (t, sep) in tokens.iter().zip(&seps) {
                line.push_str(t);
                line.push_str(sep);
            }
            proptest::prop_assert_eq!(timestamp_line(&line), timestamp_line_as_written(&line));
        }
    }

    #[test]
    fn timestamp_lines() {
        assert!(timestamp_line("07 Feb 2024 01:02:02 GMT9").is_some());
        assert!(timestamp_line("Updated: 7 February 2024").is_some());
        assert!(timestamp_line("Feb 26").is_none());
        assert!(timestamp_line("7 February 2024").is_some());
        assert!(timestamp_line("12345 2024").is_none());
        assert!(
            has_year("in 1987")
                && has_year("2024-02-07")
                && has_year("1987")
                && has_year("x 12 2001")
                && !has_year("12019")
                && !has_year("2")
                && !has_year("19870")
                && !has_year("1887")
        );
        assert!(timestamp_line("07 Feb 2024 01:02 GMT and more").is_none());
        assert!(timestamp_line("Shr 34 cts vs 1.19 dlrs").is_none());
        assert!(timestamp_line("The meeting is on Feb 26 2024 at noon.").is_none());
    }
}
