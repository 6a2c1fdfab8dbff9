//! Safe XML reading shared by the XML formats: honours the declared charset, refuses DOCTYPEs
//! that declare entities (entity bombs, XXE), never resolves external entities, and builds a
//! small owned tree the format decoders walk.
//!
//! A tree costs more than streaming, but wire XML is small (a few KB) and the formats nest
//! their text in ways (NITF inside NewsML-G2 `inlineXML`, packages pointing at items) that a
//! tree makes plain to read.

use quick_xml::events::Event;
use quick_xml::Reader;

use super::charset;
use super::html::{self, Paragraphs};
use crate::error::DecodeError;

/// Deeper documents are refused: no real news document nests this far.
const MAX_DEPTH: usize = 256;

#[derive(Debug, Default)]
pub(crate) struct Element {
    /// Local name, namespace prefix dropped.
    pub name: String,
    /// (local name, value)
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
}

#[derive(Debug)]
pub(crate) enum Node {
    Elem(Element),
    Text(String),
}

/// A parsed document: its root element and an optional charset warning.
pub(crate) struct Document {
    pub root: Element,
    pub warning: Option<String>,
}

/// Charset declared in the XML declaration, if any.
fn declared_encoding(bytes: &[u8]) -> Option<&str> {
    let head = &bytes[..bytes.len().min(256)];
    let start = head.windows(5).position(|w| w == b"<?xml")?;
    let end = head[start..].windows(2).position(|w| w == b"?>")? + start;
    let decl = std::str::from_utf8(&head[start..end]).ok()?;
    let pos = decl.find("encoding")?;
    let rest = decl[pos + 8..].trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    Some(&value[..value.find(quote)?])
}

/// Parse bytes (no BOM other than UTF-8's) into a tree.
/// `accept_root` sees the root's local name first, so an HTML page or an RSS feed is refused
/// by name before its (often not well-formed) content is parsed.
pub(crate) fn parse(bytes: &[u8], accept_root: fn(&str) -> bool) -> Result<Document, DecodeError> {
    let text = match declared_encoding(bytes) {
        Some(label) => charset::to_text_declared(bytes, label)?,
        None => charset::to_text(bytes)?,
    };
    let root = parse_with(&text.text, accept_root)?;
    Ok(Document {
        root,
        warning: text.warning,
    })
}

/// Parse text into a tree; the first top-level element is the root.
#[cfg(test)]
pub(crate) fn parse_str(text: &str) -> Result<Element, DecodeError> {
    parse_with(text, |_| true)
}

fn parse_with(text: &str, accept_root: fn(&str) -> bool) -> Result<Element, DecodeError> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| DecodeError::Xml(format!("{e} at byte {}", reader.error_position())))?;
        match event {
            Event::DocType(t) => {
                let decl = String::from_utf8_lossy(&t);
                let upper = decl.to_ascii_uppercase();
                if upper.contains("ENTITY") || decl.contains('[') {
                    return Err(DecodeError::XmlDoctype(
                        "DOCTYPE with an internal subset or entity declarations".into(),
                    ));
                }
            }
            Event::Start(e) => {
                if root.is_some() {
                    break;
                }
                if stack.is_empty() {
                    check_root(&e, accept_root)?;
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(DecodeError::Xml(format!(
                        "elements nested deeper than {MAX_DEPTH}"
                    )));
                }
                stack.push(element(&e));
            }
            Event::Empty(e) => {
                if stack.is_empty() {
                    check_root(&e, accept_root)?;
                }
                let el = element(&e);
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Elem(el)),
                    None => {
                        if root.is_none() {
                            root = Some(el);
                        }
                        break;
                    }
                }
            }
            Event::End(_) => {
                if let Some(el) = stack.pop() {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(Node::Elem(el)),
                        None => {
                            root = Some(el);
                            break;
                        }
                    }
                }
            }
            Event::Text(t) => {
                if let Some(parent) = stack.last_mut() {
                    let s = t
                        .xml10_content()
                        .map_err(|e| DecodeError::Xml(e.to_string()))?;
                    push_text(parent, &s);
                }
            }
            Event::CData(t) => {
                if let Some(parent) = stack.last_mut() {
                    push_text(parent, &String::from_utf8_lossy(&t));
                }
            }
            Event::GeneralRef(r) => {
                if let Some(parent) = stack.last_mut() {
                    let name = String::from_utf8_lossy(&r);
                    // Only predefined, numeric and common HTML names; never a declared entity.
                    if let Some(c) = html::entity(&name) {
                        let mut buf = [0u8; 4];
                        push_text(parent, c.encode_utf8(&mut buf));
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    match root {
        Some(r) => Ok(r),
        None if !stack.is_empty() => Err(DecodeError::Xml(format!(
            "unexpected end of document inside <{}>",
            stack.last().map_or("", |e| e.name.as_str())
        ))),
        None => Err(DecodeError::Xml("no root element".into())),
    }
}

fn check_root(
    e: &quick_xml::events::BytesStart<'_>,
    accept_root: fn(&str) -> bool,
) -> Result<(), DecodeError> {
    let name = local(e.name().as_ref());
    if accept_root(&name) {
        Ok(())
    } else {
        Err(DecodeError::UnknownXmlRoot(name))
    }
}

fn push_text(parent: &mut Element, s: &str) {
    if let Some(Node::Text(prev)) = parent.children.last_mut() {
        prev.push_str(s);
    } else {
        parent.children.push(Node::Text(s.to_owned()));
    }
}

fn local(name: &[u8]) -> String {
    let local = name.rsplit(|&b| b == b':').next().unwrap_or(name);
    String::from_utf8_lossy(local).into_owned()
}

fn element(e: &quick_xml::events::BytesStart<'_>) -> Element {
    let attrs = e
        .attributes()
        .with_checks(false)
        .flatten()
        .map(|a| {
            let value = a
                .unescape_value_with(|n| match n {
                    "nbsp" => Some("\u{a0}"),
                    _ => None,
                })
                .map(|v| v.into_owned())
                .unwrap_or_else(|_| String::from_utf8_lossy(&a.value).into_owned());
            (local(a.key.as_ref()), value)
        })
        .collect();
    Element {
        name: local(e.name().as_ref()),
        attrs,
        children: Vec::new(),
    }
}

impl Element {
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Elem(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    pub(crate) fn child(&self, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.name == name)
    }

    pub(crate) fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.elements().filter(move |e| e.name == name)
    }

    /// First descendant (depth first, self excluded) with this name.
    pub(crate) fn find(&self, name: &str) -> Option<&Element> {
        for e in self.elements() {
            if e.name == name {
                return Some(e);
            }
            if let Some(found) = e.find(name) {
                return Some(found);
            }
        }
        None
    }

    /// Every descendant with this name, in document order.
    pub(crate) fn find_all<'a>(&'a self, name: &str, out: &mut Vec<&'a Element>) {
        for e in self.elements() {
            if e.name == name {
                out.push(e);
            } else {
                e.find_all(name, out);
            }
        }
    }

    /// All descendant text exactly as written (line breaks kept).
    pub(crate) fn text_raw(&self) -> String {
        let mut out = String::new();
        self.collect_raw(&mut out);
        out
    }

    fn collect_raw(&self, out: &mut String) {
        for n in &self.children {
            match n {
                Node::Text(t) => out.push_str(t),
                Node::Elem(e) => e.collect_raw(out),
            }
        }
    }

    /// All descendant text with whitespace collapsed; None when empty.
    pub(crate) fn text(&self) -> Option<String> {
        let mut p = Paragraphs::default();
        self.collect_text(&mut p, false);
        let s = p.finish();
        (!s.is_empty()).then_some(s)
    }

    /// Descendant text as paragraphs: block elements (p, hl2, li, ...) start a new one.
    pub(crate) fn paragraphs(&self) -> String {
        let mut p = Paragraphs::default();
        self.collect_text(&mut p, true);
        p.finish()
    }

    fn collect_text(&self, p: &mut Paragraphs, blocks: bool) {
        for n in &self.children {
            match n {
                Node::Text(t) => p.push_text(t),
                Node::Elem(e) => {
                    let block = blocks && is_block(&e.name);
                    if block {
                        p.break_paragraph();
                    }
                    if !is_furniture(&e.name) {
                        e.collect_text(p, blocks);
                    }
                    if block {
                        p.break_paragraph();
                    }
                }
            }
        }
    }
}

fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "br"
            | "li"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "hl1"
            | "hl2"
            | "block"
            | "section"
            | "blockquote"
            | "pre"
            | "tr"
            | "table"
            | "ul"
            | "ol"
            | "dd"
            | "dt"
            | "media"
            | "nitf-table"
            | "header"
            | "footer"
    )
}

/// Elements whose text is not story text even inside a body.
fn is_furniture(name: &str) -> bool {
    matches!(
        name,
        "script" | "style" | "media-reference" | "media-metadata" | "media-producer"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_and_paragraphs() {
        let root = parse_str("<a x='1'><b>Hi &amp; <i>you</i></b><p>one</p><p>two &#233;</p></a>")
            .unwrap();
        assert_eq!(root.name, "a");
        assert_eq!(root.attr("x"), Some("1"));
        assert_eq!(root.child("b").unwrap().text().unwrap(), "Hi & you");
        assert_eq!(root.paragraphs(), "Hi & you\n\none\n\ntwo é");
    }

    #[test]
    fn entity_doctype_is_refused() {
        let bomb =
            "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">]><lolz>&lol;</lolz>";
        assert!(matches!(parse_str(bomb), Err(DecodeError::XmlDoctype(_))));
        let plain = "<!DOCTYPE nitf SYSTEM \"nitf.dtd\"><nitf/>";
        assert_eq!(parse_str(plain).unwrap().name, "nitf");
    }

    #[test]
    fn declared_latin1_is_honoured() {
        let xml = b"<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><t>M\xfcller</t>";
        let doc = parse(xml, |_| true).unwrap();
        assert_eq!(doc.root.text().unwrap(), "Müller");
        assert!(doc.warning.is_none());
    }

    #[test]
    fn truncated_is_an_error() {
        assert!(matches!(parse_str("<a><b>text"), Err(DecodeError::Xml(_))));
    }
}
