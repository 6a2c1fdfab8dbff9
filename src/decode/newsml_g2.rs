//! NewsML-G2: a `newsItem` on its own, or inside a `newsMessage` (possibly next to packages,
//! pictures and video). The first text item is the story.

use super::xml::Element;
use super::{nitf, signal};
use crate::error::DecodeError;
use crate::model::{EditSignal, Format, Story};

/// Roots this decoder accepts.
pub(crate) fn is_root(name: &str) -> bool {
    matches!(
        name,
        "newsMessage"
            | "newsItem"
            | "packageItem"
            | "knowledgeItem"
            | "conceptItem"
            | "planningItem"
            | "catalogItem"
    )
}

pub(crate) fn decode(root: &Element) -> Result<Story, DecodeError> {
    let mut items = Vec::new();
    if root.name == "newsItem" {
        items.push(root);
    } else {
        root.find_all("newsItem", &mut items);
    }
    let mut classes = Vec::new();
    for item in &items {
        let class = item_class(item);
        if class.is_none_or(|c| c.ends_with(":text")) && has_text_content(item) {
            return Ok(decode_item(item));
        }
        classes.push(class.unwrap_or("no itemClass"));
    }
    // Text items with metadata but no content: still a story when they have a headline.
    if let Some(item) = items
        .iter()
        .find(|i| item_class(i).is_none_or(|c| c.ends_with(":text")))
    {
        return Ok(decode_item(item));
    }
    Err(DecodeError::NotText(if items.is_empty() {
        format!("NewsML-G2 <{}> carries no newsItem", root.name)
    } else {
        format!("NewsML-G2 item class {}", classes.join(", "))
    }))
}

fn item_class(item: &Element) -> Option<&str> {
    item.child("itemMeta")?.child("itemClass")?.attr("qcode")
}

fn has_text_content(item: &Element) -> bool {
    item.child("contentSet").is_some_and(|cs| {
        cs.elements()
            .any(|c| c.name == "inlineXML" || c.name == "inlineData")
    })
}

fn decode_item(item: &Element) -> Story {
    let meta = item.child("itemMeta");
    let cmeta = item.child("contentMeta");
    let mut story = Story {
        format: Format::NewsmlG2,
        id: item.attr("guid").map(str::to_owned),
        version: item.attr("version").and_then(|v| v.trim().parse().ok()),
        ..Story::default()
    };
    story.headline = cmeta
        .and_then(|c| {
            c.children_named("headline")
                .find(|h| h.attr("role").is_none_or(|r| r.ends_with("main")))
                .or_else(|| c.child("headline"))
        })
        .and_then(Element::text)
        .or_else(|| meta.and_then(|m| m.child("title")).and_then(Element::text));
    // Reuters writes a timestamp in <dateline>; only a place-like dateline is one.
    story.dateline = cmeta
        .and_then(|c| c.child("dateline"))
        .and_then(Element::text)
        .filter(|d| !d.starts_with(|c: char| c.is_ascii_digit()));
    story.source = cmeta
        .and_then(|c| c.child("creditline"))
        .and_then(Element::text)
        .or_else(|| {
            cmeta.and_then(|c| {
                c.children_named("infoSource")
                    .find(|s| s.attr("role").is_some_and(|r| r.ends_with("source")))
                    .and_then(|s| s.attr("literal").map(str::to_owned).or_else(|| s.text()))
            })
        })
        .or_else(|| {
            meta.and_then(|m| m.child("provider")).and_then(|p| {
                p.attr("literal")
                    .map(str::to_owned)
                    .or_else(|| p.child("name").and_then(Element::text))
            })
        });
    story.published_raw = meta
        .and_then(|m| {
            m.child("versionCreated")
                .or_else(|| m.child("firstCreated"))
        })
        .or_else(|| cmeta.and_then(|c| c.child("contentCreated")))
        .and_then(Element::text);
    story.language = cmeta
        .and_then(|c| c.child("language"))
        .and_then(|l| l.attr("tag"))
        .or_else(|| item.attr("lang"))
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned);
    story.url = item
        .child("itemMeta")
        .and_then(|m| {
            m.children_named("link")
                .find(|l| l.attr("rel").is_some_and(|r| r.ends_with("canonical")))
        })
        .and_then(|l| l.attr("href"))
        .map(str::to_owned);
    story.edit_signal = meta.and_then(edit_signal);

    if let Some(cs) = item.child("contentSet") {
        fill_content(cs, &mut story);
    }
    story
}

fn edit_signal(meta: &Element) -> Option<EditSignal> {
    let status = meta.child("pubStatus").and_then(|p| p.attr("qcode"));
    if status.is_some_and(|s| s.ends_with("canceled") || s.ends_with("withheld")) {
        return Some(EditSignal::Kill);
    }
    let mut found = None;
    for s in meta.children_named("signal") {
        match s.attr("qcode") {
            Some("sig:correction") => return Some(EditSignal::Correction),
            Some("sig:update") => found = Some(EditSignal::Update),
            _ => {}
        }
    }
    found.or_else(|| {
        meta.child("edNote")
            .and_then(Element::text)
            .and_then(|n| signal::from_keyword(&n))
    })
}

/// Body from `inlineXML` (XHTML or NITF) or `inlineData` (plain text).
fn fill_content(cs: &Element, story: &mut Story) {
    for content in cs.elements() {
        match content.name.as_str() {
            "inlineXML" => {
                if let Some(nitf_el) = content.child("nitf").or_else(|| content.find("nitf")) {
                    nitf::fill(nitf_el, story);
                } else {
                    let body = content.find("body").unwrap_or(content);
                    story.body = body.paragraphs();
                }
            }
            "inlineData" => {
                let text = content.text_raw();
                story.body = super::text::paragraphs(&text);
            }
            _ => continue,
        }
        if !story.body.is_empty() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::xml::parse_str;

    #[test]
    fn first_text_item_of_a_message() {
        let root = parse_str(
            r#"<newsMessage xmlns="http://iptc.org/std/nar/2006-10-01/"><itemSet>
            <newsItem guid="p1" version="1"><itemMeta><itemClass qcode="ninat:picture"/></itemMeta></newsItem>
            <newsItem guid="t1" version="3" xml:lang="en"><itemMeta><itemClass qcode="ninat:text"/>
            <versionCreated>2024-01-01T10:00:00Z</versionCreated><pubStatus qcode="stat:usable"/>
            <signal qcode="sig:update"/></itemMeta>
            <contentMeta><headline>Head</headline><creditline>Agency</creditline></contentMeta>
            <contentSet><inlineXML contenttype="application/xhtml+xml"><html xmlns="http://www.w3.org/1999/xhtml">
            <head><title>x</title></head><body><p>One.</p><p>Two.</p></body></html></inlineXML></contentSet>
            </newsItem></itemSet></newsMessage>"#,
        )
        .unwrap();
        let s = decode(&root).unwrap();
        assert_eq!(s.id.as_deref(), Some("t1"));
        assert_eq!(s.version, Some(3));
        assert_eq!(s.headline.as_deref(), Some("Head"));
        assert_eq!(s.body, "One.\n\nTwo.");
        assert_eq!(s.source.as_deref(), Some("Agency"));
        assert_eq!(s.language.as_deref(), Some("en"));
        assert_eq!(s.edit_signal, Some(EditSignal::Update));
    }

    #[test]
    fn picture_only_is_not_text() {
        let root = parse_str(
            r#"<newsItem guid="p"><itemMeta><itemClass qcode="ninat:picture"/></itemMeta></newsItem>"#,
        )
        .unwrap();
        assert!(matches!(decode(&root), Err(DecodeError::NotText(_))));
    }
}
