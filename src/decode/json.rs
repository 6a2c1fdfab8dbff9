//! Agency JSON: our own schema, ninjs 1.x/2.x/3.x, AP Media API items and dpa digitalwires,
//! with the field aliases they use. Feed wrappers (`data.item`, `data.items[]`, `item[]`,
//! `items[]`) yield their first text item.
//!
//! Most payloads are one flat object of strings and numbers: those are read in one pass into
//! the fields the story needs, borrowing what needs no unescaping and skipping everything
//! else ([`flat`]). Anything else (wrappers, lists of headlines or bodies, nested providers,
//! odd types, syntax errors) is parsed into a `serde_json::Value`, which also words the
//! errors. Both paths build the story with the same code, over the [`Object`] view.

mod flat;

use serde_json::{Map, Number, Value};

use super::html;
use crate::error::DecodeError;
use crate::model::{EditSignal, Format, Story};

/// Reject nesting deeper than `limit` with a byte scan that skips strings, before any
/// allocation happens.
pub(crate) fn check_depth(bytes: &[u8], limit: usize) -> Result<(), DecodeError> {
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                // Jump to the closing quote: only a quote or a backslash matter in a string.
                i += 1;
                loop {
                    match memchr::memchr2(b'"', b'\\', &bytes[i.min(bytes.len())..]) {
                        Some(off) if bytes[i + off] == b'\\' => i += off + 2,
                        Some(off) => {
                            i += off;
                            break;
                        }
                        None => return Ok(()),
                    }
                }
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > limit {
                    return Err(DecodeError::TooDeep { limit });
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// The keys each story field is read from, in order of preference. The flat path keeps the
/// values of exactly these keys ([`flat::STORY_KEYS`]).
const ID_ALIASES: &[&str] = &["id", "guid", "uri", "urn"];
const VERSION: &str = "version";
const SOURCE_ALIASES: &[&str] = &["source", "creditline", "copyrightholder", "copyrightHolder"];
const PROVIDER: &str = "provider";
const HEADLINE_ALIASES: &[&str] = &["headline", "headLine"];
const TITLE_ALIASES: &[&str] = &["title"];
/// ninjs 2/3 list of `{role, value}` headlines.
const HEADLINES: &str = "headlines";
const DATELINE_ALIASES: &[&str] = &["dateline", "located"];
const PUBLISHED_ALIASES: &[&str] = &[
    "published_at",
    "published",
    "date",
    "versioncreated",
    "versionCreated",
    "version_created",
    "firstcreated",
    "firstCreated",
];
const URL_ALIASES: &[&str] = &["url", "link", "canonical_url", "web_url"];
const LANGUAGE_ALIASES: &[&str] = &["language", "lang"];
const TYPE: &str = "type";
const PUBSTATUS_ALIASES: &[&str] = &["pubstatus", "pubStatus"];
const EDIT_SIGNAL: &str = "edit_signal";
const SIGNAL_ALIASES: &[&str] = &["signal", "signals"];
const BODY_ALIASES: &[&str] = &[
    "body_html",
    "article_html",
    "body",
    "text",
    "content",
    "body_text",
    "bodyText",
];
/// ninjs 2/3 list of `{role, contenttype, value}` bodies.
const BODIES: &str = "bodies";
/// AP Media API keys whose presence marks the format.
const ALTIDS: &str = "altids";
const RENDITIONS: &str = "renditions";
/// Keys that wrap the story in another object.
const WRAPPER_KEYS: &[&str] = &["data", "item", "items"];

/// Item types that are not text stories.
const MEDIA_TYPES: &[&str] = &["picture", "image", "video", "audio", "graphic", "photo"];

/// The story in a payload whose first significant byte is `{`, when the one-pass reading of
/// [`flat`] vouches for it: then the binary, depth and UTF-8 checks would pass and the parse
/// would read the same fields. `None`: run those checks and [`decode`].
pub(crate) fn decode_plain(bytes: &[u8], depth_limit: usize) -> Option<Result<Story, DecodeError>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let item = flat::Item::scan(text, depth_limit)?;
    Some(story_from(&item, None, Vec::new()))
}

pub(crate) fn decode(text: &str) -> Result<Story, DecodeError> {
    if let Ok(item) = flat::Item::parse(text) {
        return story_from(&item, None, Vec::new());
    }
    let value: Value = serde_json::from_str(text).map_err(|e| DecodeError::Json(e.to_string()))?;
    let mut warnings = Vec::new();
    let mut format = None;
    let obj = select_item(&value, &mut warnings, &mut format)?;
    story_from(obj, format, warnings)
}

/// The story in the item `obj`; `format` when the wrapper already told it.
fn story_from<O: Object>(
    obj: &O,
    format: Option<Format>,
    warnings: Vec<String>,
) -> Result<Story, DecodeError> {
    let format = format.unwrap_or_else(|| classify(obj));
    let mut story = fields(obj)?;
    story.format = format;
    story.warnings.extend(warnings);
    // A picture or video with a caption is still not a text story.
    if story.body.is_empty() {
        if let Some(t) = item_type(obj).filter(|t| MEDIA_TYPES.contains(t)) {
            return Err(DecodeError::NotText(format!("JSON item of type {t:?}")));
        }
    }
    if story.body.is_empty() && story.headline.is_none() {
        return Err(DecodeError::NoText(
            "JSON object has no headline and no body field".into(),
        ));
    }
    Ok(story)
}

/// A JSON value as the field readers see it.
#[derive(Debug, Clone, Copy)]
enum Val<'v> {
    Null,
    Bool,
    Number(&'v Number),
    Str(&'v str),
    Array(&'v [Value]),
    Object(&'v Map<String, Value>),
}

impl<'v> Val<'v> {
    fn of(v: &'v Value) -> Val<'v> {
        match v {
            Value::Null => Val::Null,
            Value::Bool(_) => Val::Bool,
            Value::Number(n) => Val::Number(n),
            Value::String(s) => Val::Str(s),
            Value::Array(a) => Val::Array(a),
            Value::Object(o) => Val::Object(o),
        }
    }

    fn as_str(self) -> Option<&'v str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// A JSON object: a parsed `Map`, or the fields [`flat`] kept.
trait Object {
    fn get(&self, key: &str) -> Option<Val<'_>>;
    fn contains_key(&self, key: &str) -> bool;
}

impl Object for Map<String, Value> {
    fn get(&self, key: &str) -> Option<Val<'_>> {
        Map::get(self, key).map(Val::of)
    }

    fn contains_key(&self, key: &str) -> bool {
        Map::contains_key(self, key)
    }
}

fn item_type<O: Object>(obj: &O) -> Option<&str> {
    obj.get(TYPE).and_then(Val::as_str)
}

/// The object that holds the story: the payload itself or the first text item of a wrapper.
fn select_item<'a>(
    value: &'a Value,
    warnings: &mut Vec<String>,
    format: &mut Option<Format>,
) -> Result<&'a Map<String, Value>, DecodeError> {
    let obj = match value {
        Value::Object(o) => o,
        Value::Array(items) => return first_item(items, warnings),
        other => {
            return Err(DecodeError::Json(format!(
                "top-level value is {}, expected an object",
                type_name(other)
            )))
        }
    };
    // AP Media API: {"api_version", "data": {"item": {...}}} or {"data": {"items": [{"item"}]}}.
    if let Some(Value::Object(data)) = obj.get("data") {
        if let Some(Value::Object(item)) = data.get("item") {
            *format = Some(Format::ApMedia);
            return Ok(item);
        }
        if let Some(Value::Array(items)) = data.get("items") {
            *format = Some(Format::ApMedia);
            return first_item(items, warnings);
        }
    }
    for key in ["item", "items"] {
        match obj.get(key) {
            Some(Value::Array(items)) => return first_item(items, warnings),
            Some(Value::Object(item)) if !has_story_fields(obj) => return Ok(item),
            _ => {}
        }
    }
    Ok(obj)
}

fn has_story_fields(obj: &Map<String, Value>) -> bool {
    [
        "headline",
        "title",
        "body",
        "text",
        "body_html",
        "headlines",
    ]
    .iter()
    .any(|k| obj.contains_key(*k))
}

/// First item of a feed that is not a picture/video; AP feeds nest it under `item`.
fn first_item<'a>(
    items: &'a [Value],
    warnings: &mut Vec<String>,
) -> Result<&'a Map<String, Value>, DecodeError> {
    let objects: Vec<&Map<String, Value>> = items
        .iter()
        .filter_map(|v| match v {
            Value::Object(o) => match o.get("item") {
                Some(Value::Object(inner)) => Some(inner),
                _ => Some(o),
            },
            _ => None,
        })
        .collect();
    let Some(first) = objects.first() else {
        return Err(DecodeError::NoText("JSON feed with no items".into()));
    };
    let chosen = objects
        .iter()
        .find(|o| !item_type(**o).is_some_and(|t| MEDIA_TYPES.contains(&t)))
        .unwrap_or(first);
    if objects.len() > 1 {
        warnings.push(format!(
            "feed of {} items: decoded the first text item only",
            objects.len()
        ));
    }
    Ok(chosen)
}

fn classify<O: Object>(obj: &O) -> Format {
    if obj.contains_key(ALTIDS) && obj.contains_key(RENDITIONS) {
        return Format::ApMedia;
    }
    if NINJS_KEYS.iter().any(|k| obj.contains_key(k)) {
        Format::Ninjs
    } else {
        Format::Json
    }
}

/// Keys only ninjs uses.
const NINJS_KEYS: &[&str] = &[
    "uri",
    "versioncreated",
    "versionCreated",
    "firstcreated",
    "firstCreated",
    "pubstatus",
    "pubStatus",
    "headlines",
    "bodies",
    "body_html",
    "body_text",
];

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn field_type(field: &str, expected: &'static str) -> DecodeError {
    DecodeError::FieldType {
        field: field.to_owned(),
        expected,
    }
}

/// First non-null alias as a string; strings only (a number cannot be meant as text).
fn text_field<O: Object>(obj: &O, aliases: &[&str]) -> Result<Option<String>, DecodeError> {
    for &key in aliases {
        match obj.get(key) {
            None | Some(Val::Null) => continue,
            Some(Val::Str(s)) => {
                let s = s.trim();
                if s.is_empty() {
                    continue;
                }
                return Ok(Some(s.to_owned()));
            }
            Some(_) => return Err(field_type(key, "a string")),
        }
    }
    Ok(None)
}

/// Identifier-like fields: a string, or a number written as one.
fn id_field<O: Object>(obj: &O, aliases: &[&str]) -> Result<Option<String>, DecodeError> {
    for &key in aliases {
        match obj.get(key) {
            None | Some(Val::Null) => continue,
            Some(Val::Str(s)) if s.trim().is_empty() => continue,
            Some(Val::Str(s)) => return Ok(Some(s.trim().to_owned())),
            Some(Val::Number(n)) => return Ok(Some(n.to_string())),
            Some(_) => return Err(field_type(key, "a string or a number")),
        }
    }
    Ok(None)
}

fn version_field<O: Object>(
    obj: &O,
    warnings: &mut Vec<String>,
) -> Result<Option<u64>, DecodeError> {
    match obj.get(VERSION) {
        None | Some(Val::Null) => Ok(None),
        Some(Val::Number(n)) => match n.as_u64() {
            Some(v) => Ok(Some(v)),
            None => {
                warnings.push(format!("version {n} is not a whole number; ignored"));
                Ok(None)
            }
        },
        Some(Val::Str(s)) => match s.trim().parse() {
            Ok(v) => Ok(Some(v)),
            Err(_) => {
                warnings.push(format!("version {s:?} is not a whole number; ignored"));
                Ok(None)
            }
        },
        Some(_) => Err(field_type(VERSION, "a number or a numeric string")),
    }
}

/// Bodies in HTML become paragraphs; plain bodies keep their line breaks.
fn body_text(s: &str) -> String {
    if looks_like_html(s) {
        html::to_paragraphs(s)
    } else {
        super::text::normalise_newlines(s.trim())
    }
}

fn looks_like_html(s: &str) -> bool {
    // One scan for '<', then the four tag starts at each.
    let bytes = s.as_bytes();
    memchr::memchr_iter(b'<', bytes).any(|i| {
        let rest = &bytes[i + 1..];
        rest.starts_with(b"/")
            || rest.starts_with(b"p")
            || rest.starts_with(b"br")
            || rest.starts_with(b"div")
    })
}

fn body_field<O: Object>(obj: &O) -> Result<Option<String>, DecodeError> {
    for &key in BODY_ALIASES {
        match obj.get(key) {
            None | Some(Val::Null) => continue,
            Some(Val::Str(s)) => {
                let text = body_text(s);
                if !text.is_empty() {
                    return Ok(Some(text));
                }
            }
            Some(Val::Array(parts)) => {
                let mut paras = Vec::with_capacity(parts.len());
                for p in parts {
                    match p {
                        Value::String(s) => {
                            let t = body_text(s);
                            if !t.is_empty() {
                                paras.push(t);
                            }
                        }
                        _ => return Err(field_type(key, "a string or an array of strings")),
                    }
                }
                if !paras.is_empty() {
                    return Ok(Some(paras.join("\n\n")));
                }
            }
            Some(_) => return Err(field_type(key, "a string or an array of strings")),
        }
    }
    // ninjs 2/3: "bodies": [{"role": "main", "contenttype": "text/html", "value": "..."}]
    role_list(obj, BODIES).map(|b| b.map(|s| body_text(&s)))
}

/// ninjs 2/3 `headlines` / `bodies`: the entry with role "main" (or no role), else the first.
fn role_list<O: Object>(obj: &O, key: &str) -> Result<Option<String>, DecodeError> {
    let Some(v) = obj.get(key) else {
        return Ok(None);
    };
    let Val::Array(entries) = v else {
        if matches!(v, Val::Null) {
            return Ok(None);
        }
        return Err(field_type(key, "an array of {role, value} objects"));
    };
    let mut chosen: Option<&str> = None;
    for e in entries {
        let Value::Object(e) = e else {
            return Err(field_type(key, "an array of {role, value} objects"));
        };
        let Some(value) = e.get("value").and_then(Value::as_str) else {
            continue;
        };
        let role = e.get("role").and_then(Value::as_str);
        if role.is_none_or(|r| r == "main" || r == "default") {
            return Ok(Some(value.to_owned()));
        }
        chosen.get_or_insert(value);
    }
    Ok(chosen.map(str::to_owned))
}

fn source_field<O: Object>(obj: &O) -> Result<Option<String>, DecodeError> {
    if let Some(s) = text_field(obj, SOURCE_ALIASES)? {
        return Ok(Some(s));
    }
    match obj.get(PROVIDER) {
        Some(Val::Str(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_owned())),
        Some(Val::Object(p)) => text_field(p, &["name", "literal"]),
        _ => Ok(None),
    }
}

fn edit_signal<O: Object>(obj: &O) -> Option<EditSignal> {
    let status = PUBSTATUS_ALIASES
        .iter()
        .find_map(|k| obj.get(k))
        .and_then(Val::as_str)
        .unwrap_or("");
    if status.contains("canceled") || status.contains("withheld") {
        return Some(EditSignal::Kill);
    }
    if let Some(s) = obj.get(EDIT_SIGNAL).and_then(Val::as_str) {
        match s.to_ascii_lowercase().as_str() {
            "kill" => return Some(EditSignal::Kill),
            "correction" => return Some(EditSignal::Correction),
            "update" => return Some(EditSignal::Update),
            _ => {}
        }
    }
    let signals: Vec<&str> = match SIGNAL_ALIASES.iter().find_map(|k| obj.get(k)) {
        Some(Val::Str(s)) => vec![s],
        Some(Val::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if signals.iter().any(|s| s.ends_with("correction")) {
        Some(EditSignal::Correction)
    } else if signals.iter().any(|s| s.ends_with("update")) {
        Some(EditSignal::Update)
    } else {
        None
    }
}

fn fields<O: Object>(obj: &O) -> Result<Story, DecodeError> {
    let mut warnings = Vec::new();
    let headline = match text_field(obj, HEADLINE_ALIASES)? {
        Some(h) => Some(h),
        None => match role_list(obj, HEADLINES)? {
            Some(h) => Some(h),
            None => text_field(obj, TITLE_ALIASES)?,
        },
    };
    let story = Story {
        id: id_field(obj, ID_ALIASES)?,
        version: version_field(obj, &mut warnings)?,
        source: source_field(obj)?,
        headline: headline.map(|h| {
            let decoded = match html::decode_entities(&h) {
                std::borrow::Cow::Owned(decoded) => Some(decoded),
                std::borrow::Cow::Borrowed(_) => None,
            };
            decoded.unwrap_or(h)
        }),
        body: body_field(obj)?.unwrap_or_default(),
        dateline: text_field(obj, DATELINE_ALIASES)?.map(|d| {
            let t = d.trim_end_matches([' ', '-']);
            if t.len() == d.len() {
                d
            } else {
                t.to_owned()
            }
        }),
        published_raw: id_field(obj, PUBLISHED_ALIASES)?,
        url: text_field(obj, URL_ALIASES)?,
        language: text_field(obj, LANGUAGE_ALIASES)?,
        edit_signal: edit_signal(obj),
        warnings,
        ..Story::default()
    };
    Ok(story)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_scan_ignores_brackets_in_strings() {
        assert!(check_depth(br#"{"a":"[[[[[[[[[[[["}"#, 3).is_ok());
        assert!(check_depth(b"[[[[", 3).is_err());
        assert!(check_depth(br#"{"a":"\"[[[[["}"#, 2).is_ok());
    }

    #[test]
    fn aliases_and_leniency() {
        let s = decode(
            r#"{"guid":"g1","title":"T","text":"<p>A</p><p>B</p>","version":"3","date":"2024"}"#,
        )
        .unwrap();
        assert_eq!(s.id.as_deref(), Some("g1"));
        assert_eq!(s.headline.as_deref(), Some("T"));
        assert_eq!(s.body, "A\n\nB");
        assert_eq!(s.version, Some(3));
        assert_eq!(s.published_raw.as_deref(), Some("2024"));
    }

    #[test]
    fn wrong_types_are_named() {
        let e = decode(r#"{"headline":{},"body":"x"}"#).unwrap_err();
        assert_eq!(
            e,
            DecodeError::FieldType {
                field: "headline".into(),
                expected: "a string"
            }
        );
        assert!(matches!(
            decode(r#"{"body":42}"#),
            Err(DecodeError::FieldType { .. })
        ));
        assert!(matches!(
            decode(r#"{"body":[1,2]}"#),
            Err(DecodeError::FieldType { .. })
        ));
    }

    #[test]
    fn ninjs_lists() {
        let s = decode(r#"{"uri":"u","headlines":[{"role":"sub","value":"S"},{"role":"main","value":"M"}],
            "bodies":[{"role":"main","contenttype":"text/html","value":"<p>x</p>"}],"pubstatus":"canceled"}"#)
            .unwrap();
        assert_eq!(s.headline.as_deref(), Some("M"));
        assert_eq!(s.body, "x");
        assert_eq!(s.format, Format::Ninjs);
        assert_eq!(s.edit_signal, Some(EditSignal::Kill));
    }
}
