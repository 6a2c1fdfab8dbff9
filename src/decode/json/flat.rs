//! One pass over a flat JSON object: the values of the keys the story is read from, borrowed
//! where they need no unescaping; everything else skipped without being built.
//!
//! Anything this path does not handle the way the `Value` path would (feed wrappers, arrays or
//! objects under a story key, a top-level array, invalid JSON) makes [`Item::parse`] fail, and
//! the caller parses the payload into a `Value` instead.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Number;

use super::{Object, Val};

/// Keys read as scalars (string, number, boolean or null), by index into [`Item`] values.
const SCALAR_KEYS: &[&str] = &[
    "id",
    "guid",
    "uri",
    "urn",
    "version",
    "source",
    "creditline",
    "copyrightholder",
    "copyrightHolder",
    "provider",
    "headline",
    "headLine",
    "title",
    "headlines",
    "dateline",
    "located",
    "published_at",
    "published",
    "date",
    "versioncreated",
    "versionCreated",
    "version_created",
    "firstcreated",
    "firstCreated",
    "url",
    "link",
    "canonical_url",
    "web_url",
    "language",
    "lang",
    "type",
    "pubstatus",
    "pubStatus",
    "edit_signal",
    "signal",
    "signals",
    "body_html",
    "article_html",
    "body",
    "text",
    "content",
    "body_text",
    "bodyText",
    "bodies",
];

/// Keys whose presence matters but not their value.
const PRESENCE_KEYS: &[&str] = &["altids", "renditions"];

/// Keys that wrap the story in another object: left to the `Value` path.
const WRAPPER_KEYS: &[&str] = &["data", "item", "items"];

const KEYS: usize = SCALAR_KEYS.len() + PRESENCE_KEYS.len();

/// A scalar JSON value.
#[derive(Debug)]
enum Scalar<'a> {
    Null,
    Bool,
    Number(Number),
    Str(Cow<'a, str>),
}

/// The story keys of a flat JSON object.
#[derive(Debug)]
pub(super) struct Item<'a> {
    values: [Option<Scalar<'a>>; SCALAR_KEYS.len()],
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

impl<'a> Item<'a> {
    pub(super) fn parse(text: &'a str) -> Result<Item<'a>, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(text);
        let item = de.deserialize_map(ItemVisitor)?;
        de.end()?;
        Ok(item)
    }
}

fn key_name(i: usize) -> Option<&'static str> {
    match SCALAR_KEYS.get(i) {
        Some(k) => Some(k),
        None => PRESENCE_KEYS.get(i - SCALAR_KEYS.len()).copied(),
    }
}

fn index_of(key: &str) -> Option<usize> {
    SCALAR_KEYS
        .iter()
        .chain(PRESENCE_KEYS)
        .position(|k| *k == key)
}

impl Item<'_> {
    /// Index of `key` among the keys that occurred: a payload has a handful of them.
    fn present_index(&self, key: &str) -> Option<usize> {
        let mut bits = self.present;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            if key_name(i) == Some(key) {
                return Some(i);
            }
            bits &= bits - 1;
        }
        None
    }
}

impl Object for Item<'_> {
    fn get(&self, key: &str) -> Option<Val<'_>> {
        let i = self.present_index(key)?;
        Some(match self.values.get(i)?.as_ref()? {
            Scalar::Null => Val::Null,
            Scalar::Bool => Val::Bool,
            Scalar::Number(n) => Val::Number(n),
            Scalar::Str(s) => Val::Str(s),
        })
    }

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
        if WRAPPER_KEYS.contains(&key) {
            return Err(E::custom(NotFlat));
        }
        Ok(match index_of(key) {
            Some(i) if i < SCALAR_KEYS.len() => Key::Scalar(i),
            Some(i) => Key::Presence(i),
            None => Key::Other,
        })
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
        let mut item = Item {
            values: std::array::from_fn(|_| None),
            present: 0,
        };
        const _: () = assert!(KEYS <= 64);
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
