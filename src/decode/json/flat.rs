//! One pass over a flat JSON object: the values of the keys the story is read from, borrowed
//! where they need no unescaping; everything else skipped without being built.
//!
//! Anything this path does not handle the way the `Value` path would (feed wrappers, arrays or
//! objects under a story key, a top-level array, invalid JSON) makes [`Item::parse`] fail, and
//! the caller parses the payload into a `Value` instead.

mod scan;

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Number;

use super::{Object, Val};

/// The alias lists of every field read as a scalar (string, number, boolean or null).
const SCALAR_GROUPS: &[&[&str]] = &[
    super::ID_ALIASES,
    &[super::VERSION],
    super::SOURCE_ALIASES,
    &[super::PROVIDER],
    super::HEADLINE_ALIASES,
    super::TITLE_ALIASES,
    &[super::HEADLINES],
    super::DATELINE_ALIASES,
    super::PUBLISHED_ALIASES,
    super::URL_ALIASES,
    super::LANGUAGE_ALIASES,
    &[super::TYPE],
    super::PUBSTATUS_ALIASES,
    &[super::EDIT_SIGNAL],
    super::SIGNAL_ALIASES,
    super::BODY_ALIASES,
    &[super::BODIES],
];

/// Keys whose presence matters but not their value.
const PRESENCE_KEYS: &[&str] = &[super::ALTIDS, super::RENDITIONS];

const SCALARS: usize = total_len(SCALAR_GROUPS);
const KEYS: usize = SCALARS + PRESENCE_KEYS.len();

/// Every key this path keeps, by index into [`Item`]: the scalar keys, then the presence keys.
pub(super) const STORY_KEYS: [&str; KEYS] = flatten(&[SCALAR_GROUPS, &[PRESENCE_KEYS]]);

const fn total_len(groups: &[&[&str]]) -> usize {
    let mut n = 0;
    let mut g = 0;
    while g < groups.len() {
        n += groups[g].len();
        g += 1;
    }
    n
}

const fn flatten<const N: usize>(lists: &[&[&[&'static str]]]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut k = 0;
    let mut l = 0;
    while l < lists.len() {
        let mut g = 0;
        while g < lists[l].len() {
            let mut i = 0;
            while i < lists[l][g].len() {
                out[k] = lists[l][g][i];
                k += 1;
                i += 1;
            }
            g += 1;
        }
        l += 1;
    }
    assert!(k == N, "every key has a slot");
    out
}

/// Keys by a cheap hash of length and end bytes: bit `i` of a bucket is key `i`. A key is
/// found with one or two comparisons instead of a walk over all of them.
static KEY_BUCKETS: [u64; 64] = {
    let mut buckets = [0u64; 64];
    let mut i = 0;
    while i < KEYS {
        buckets[key_bucket(STORY_KEYS[i].as_bytes())] |= 1 << i;
        i += 1;
    }
    buckets
};

const fn key_bucket(key: &[u8]) -> usize {
    if key.is_empty() {
        return 0;
    }
    let (first, last) = (key[0] as usize, key[key.len() - 1] as usize);
    (key.len() * 7 + first * 3 + last * 5) & 63
}

/// Index of `key` among the keys whose bits are set in `among`. Inlined: the keys looked up
/// are constants, and then so is their bucket.
#[inline(always)]
fn index_among(key: &str, among: u64) -> Option<usize> {
    let mut bits = KEY_BUCKETS[key_bucket(key.as_bytes())] & among;
    while bits != 0 {
        let i = bits.trailing_zeros() as usize;
        if STORY_KEYS[i] == key {
            return Some(i);
        }
        bits &= bits - 1;
    }
    None
}

/// A scalar JSON value.
#[derive(Debug, PartialEq)]
enum Scalar<'a> {
    Null,
    Bool,
    Number(Number),
    Str(Cow<'a, str>),
}

/// The story keys of a flat JSON object.
#[derive(Debug, PartialEq)]
pub(super) struct Item<'a> {
    values: [Option<Scalar<'a>>; SCALARS],
    /// Bit `i` set when key `i` (scalar keys, then presence keys) occurred.
    present: u64,
}

/// Why the flat path gave up; never shown, the `Value` path words the real error if any.
#[derive(Debug)]
pub(super) struct NotFlat;

impl fmt::Display for NotFlat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a flat story object")
    }
}

impl std::error::Error for NotFlat {}

const _: () = assert!(KEYS <= 64, "presence is one bit per key");

impl<'a> Item<'a> {
    fn empty() -> Item<'a> {
        Item {
            values: std::array::from_fn(|_| None),
            present: 0,
        }
    }

    /// The one-pass reading of a payload that needs no other check (see [`scan`]); `None`
    /// when the payload must take the full path.
    pub(super) fn scan(text: &'a str, depth_limit: usize) -> Option<Item<'a>> {
        scan::item(text, depth_limit)
    }

    pub(super) fn parse(text: &'a str) -> Result<Item<'a>, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(text);
        let item = de.deserialize_map(ItemVisitor)?;
        de.end()?;
        Ok(item)
    }
}

impl Item<'_> {
    /// Index of `key` when it occurred. Only the keys of its bucket that occurred are
    /// compared: most lookups are for aliases the payload does not use, and compare none.
    #[inline(always)]
    fn present_index(&self, key: &str) -> Option<usize> {
        index_among(key, self.present)
    }
}

impl Object for Item<'_> {
    #[inline(always)]
    fn get(&self, key: &str) -> Option<Val<'_>> {
        let i = self.present_index(key)?;
        Some(match self.values.get(i)?.as_ref()? {
            Scalar::Null => Val::Null,
            Scalar::Bool => Val::Bool,
            Scalar::Number(n) => Val::Number(n),
            Scalar::Str(s) => Val::Str(s),
        })
    }

    #[inline(always)]
    fn contains_key(&self, key: &str) -> bool {
        self.present_index(key).is_some()
    }
}

/// What a key is to this path.
enum Key {
    Scalar(usize),
    Presence(usize),
    Other,
}

/// `None` for a key that wraps the story in another object: left to the `Value` path.
fn key_kind(key: &str) -> Option<Key> {
    Some(match index_among(key, u64::MAX) {
        Some(i) if i < SCALARS => Key::Scalar(i),
        Some(i) => Key::Presence(i),
        None if super::WRAPPER_KEYS.contains(&key) => return None,
        None => Key::Other,
    })
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        key_kind(key).ok_or_else(|| E::custom(NotFlat))
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number, boolean or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Null)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Bool)
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Number(n.into()))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Number(n.into()))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Scalar<'de>, E> {
        Number::from_f64(n)
            .map(Scalar::Number)
            .ok_or_else(|| E::custom(NotFlat))
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Borrowed(s)))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Owned(s)))
    }

    // Arrays and objects under a story key (`visit_seq`, `visit_map`) are refused by
    // default: the `Value` path reads or rejects them.
}

struct ScalarSeed;

impl<'de> DeserializeSeed<'de> for ScalarSeed {
    type Value = Scalar<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Scalar<'de>, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ItemVisitor;

impl<'de> Visitor<'de> for ItemVisitor {
    type Value = Item<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item<'de>, A::Error> {
        let mut item = Item::empty();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key {
                Key::Scalar(i) => {
                    // A repeated key keeps its last value, as a parsed map does.
                    item.values[i] = Some(map.next_value_seed(ScalarSeed)?);
                    item.present |= 1 << i;
                }
                Key::Presence(i) => {
                    map.next_value::<IgnoredAny>()?;
                    item.present |= 1 << i;
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_objects_are_read_and_others_refused() {
        let item =
            Item::parse(r#"{"title":"T","body":"a\nb","version":3,"labels":{"x":[1]}}"#).unwrap();
        assert!(matches!(item.get("title"), Some(Val::Str("T"))));
        assert!(matches!(item.get("body"), Some(Val::Str("a\nb"))));
        assert!(matches!(item.get("version"), Some(Val::Number(_))));
        assert!(item.get("labels").is_none());
        assert!(!item.contains_key("uri"));
        for refused in [
            r#"{"data":{"item":{}}}"#,
            r#"{"items":[]}"#,
            r#"{"body":["a","b"]}"#,
            r#"{"provider":{"name":"AP"}}"#,
            r#"[{"body":"x"}]"#,
            r#"{"body":"x"} trailing"#,
            r#"{"body":"x""#,
            "42",
        ] {
            assert!(Item::parse(refused).is_err(), "{refused}");
        }
        let item = Item::parse(r#"{"altids":{"a":1},"renditions":[],"uri":null}"#).unwrap();
        assert!(item.contains_key("altids") && item.contains_key("renditions"));
        assert!(item.contains_key("uri"));
        assert!(matches!(item.get("uri"), Some(Val::Null)));
    }
}
