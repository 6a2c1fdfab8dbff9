//! NITF (News Industry Text Format), standalone or carried inside NewsML (`inlineXML`,
//! `DataContent`).

use super::signal;
use super::xml::Element;
use crate::model::{Format, Story};

/// Fill a story from a `<nitf>` element. Fields already set by an envelope are kept.
pub(crate) fn fill(nitf: &Element, story: &mut Story) {
    let head = nitf.child("head");
    let docdata = head.and_then(|h| h.child("docdata"));
    let body = nitf.child("body");
    let body_head = body.and_then(|b| b.child("body.head"));

    if story.id.is_none() {
        story.id = docdata
            .and_then(|d| d.child("doc-id"))
            .and_then(|e| e.attr("id-string"))
            .filter(|s| !s.trim().is_empty())
            .map(str::to_owned);
    }
    if story.version.is_none() {
        story.version = docdata
            .and_then(|d| d.child("du-key"))
            .and_then(|e| e.attr("version"))
            .and_then(|v| v.trim().parse().ok());
    }
    if story.headline.is_none() {
        story.headline = body_head
            .and_then(|b| b.child("hedline"))
            .and_then(|h| h.child("hl1"))
            .and_then(Element::text)
            .or_else(|| head.and_then(|h| h.child("title")).and_then(Element::text));
    }
    if story.dateline.is_none() {
        story.dateline = body_head
            .and_then(|b| b.child("dateline"))
            .and_then(|d| d.child("location").or(Some(d)))
            .and_then(Element::text);
    }
    if story.source.is_none() {
        story.source = docdata
            .and_then(|d| d.child("doc.copyright"))
            .and_then(|e| e.attr("holder"))
            .filter(|s| !s.trim().is_empty())
            .map(str::to_owned)
            .or_else(|| {
                body_head
                    .and_then(|b| b.child("distributor"))
                    .and_then(Element::text)
            });
    }
    if story.published_raw.is_none() {
        story.published_raw = docdata
            .and_then(|d| d.child("date.issue"))
            .and_then(|e| e.attr("norm"))
            .or_else(|| {
                head.and_then(|h| h.child("pubdata"))
                    .and_then(|p| p.attr("date.publication"))
            })
            .or_else(|| {
                docdata
                    .and_then(|d| d.child("date.release"))
                    .and_then(|e| e.attr("norm"))
            })
            .filter(|s| !s.trim().is_empty())
            .map(str::to_owned);
    }
    if story.language.is_none() {
        story.language = nitf
            .attr("baselang")
            .or_else(|| nitf.attr("lang"))
            .filter(|s| !s.trim().is_empty())
            .map(str::to_owned);
    }
    if story.edit_signal.is_none() {
        let hints = [
            docdata
                .and_then(|d| d.child("ed-msg"))
                .and_then(|e| e.attr("info")),
            docdata
                .and_then(|d| d.child("du-key"))
                .and_then(|e| e.attr("key")),
        ];
        story.edit_signal = hints.into_iter().flatten().find_map(signal::from_keyword);
    }
    if story.body.is_empty() {
        if let Some(body) = body {
            story.body = match body.child("body.content") {
                Some(content) => content.paragraphs(),
                // Some senders put paragraphs straight under <body>.
                None => {
                    let mut out = Vec::new();
                    for e in body.elements() {
                        if e.name != "body.head" && e.name != "body.end" {
                            let p = e.paragraphs();
                            if !p.is_empty() {
                                out.push(p);
                            }
                        }
                    }
                    out.join("\n\n")
                }
            };
        }
    }
}

/// A standalone NITF document.
pub(crate) fn decode(root: &Element) -> Story {
    let mut story = Story {
        format: Format::Nitf,
        ..Story::default()
    };
    fill(root, &mut story);
    story
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::xml::parse_str;
    use crate::model::EditSignal;

    #[test]
    fn minimal_nitf() {
        let root = parse_str(
            r#"<nitf baselang="en-US"><head><title>T</title><docdata><doc-id id-string="X1"/>
            <ed-msg info="CORRECTS spelling"/><date.issue norm="20240101T120000Z"/></docdata></head>
            <body><body.head><hedline><hl1>Big &amp; news</hl1></hedline>
            <dateline><location>PARIS</location></dateline></body.head>
            <body.content><p>One.</p><p>Two.</p></body.content></body></nitf>"#,
        )
        .unwrap();
        let s = decode(&root);
        assert_eq!(s.id.as_deref(), Some("X1"));
        assert_eq!(s.headline.as_deref(), Some("Big & news"));
        assert_eq!(s.dateline.as_deref(), Some("PARIS"));
        assert_eq!(s.body, "One.\n\nTwo.");
        assert_eq!(s.published_raw.as_deref(), Some("20240101T120000Z"));
        assert_eq!(s.language.as_deref(), Some("en-US"));
        assert_eq!(s.edit_signal, Some(EditSignal::Correction));
    }
}
