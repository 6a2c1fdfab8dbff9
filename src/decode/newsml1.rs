//! NewsML 1.x (`<NewsML>` envelopes from AFP, ANA, Business Wire): the first text
//! `ContentItem` is the body, its `NewsLines` give headline and dateline.

use super::xml::Element;
use super::{html, nitf};
use crate::error::DecodeError;
use crate::model::{EditSignal, Format, Story};

pub(crate) fn decode(root: &Element) -> Result<Story, DecodeError> {
    let item = if root.name == "NewsItem" {
        root
    } else {
        root.find("NewsItem")
            .ok_or_else(|| DecodeError::NotText("NewsML 1 document without a NewsItem".into()))?
    };
    let mut story = Story {
        format: Format::Newsml1,
        ..Story::default()
    };
    let ident = item.child("Identification");
    let news_id = ident.and_then(|i| i.child("NewsIdentifier"));
    story.id = news_id
        .and_then(|n| n.child("PublicIdentifier"))
        .and_then(Element::text);
    story.version = news_id
        .and_then(|n| n.child("RevisionId"))
        .and_then(Element::text)
        .and_then(|v| v.trim().parse().ok());
    let mgmt = item.child("NewsManagement");
    story.published_raw = mgmt
        .and_then(|m| {
            m.child("ThisRevisionCreated")
                .or_else(|| m.child("FirstCreated"))
        })
        .and_then(Element::text);
    let status = mgmt
        .and_then(|m| m.child("Status"))
        .and_then(|s| s.attr("FormalName"))
        .unwrap_or("");
    if status.eq_ignore_ascii_case("canceled") || status.eq_ignore_ascii_case("withheld") {
        story.edit_signal = Some(EditSignal::Kill);
    } else if news_id
        .and_then(|n| n.child("RevisionId"))
        .and_then(|r| r.attr("Update"))
        .is_some_and(|u| u == "U" || u == "A")
    {
        story.edit_signal = Some(EditSignal::Update);
    }
    let lines = item.find("NewsLines");
    story.headline = lines
        .and_then(|l| l.child("HeadLine"))
        .and_then(Element::text);
    story.dateline = lines
        .and_then(|l| l.child("DateLine"))
        .and_then(Element::text);
    story.source = item
        .find("Provider")
        .and_then(|p| p.child("Party"))
        .and_then(|p| p.attr("FormalName"))
        .map(|s| s.trim().to_owned());
    story.language = item
        .find("Language")
        .and_then(|l| l.attr("FormalName"))
        .map(str::to_owned)
        .or_else(|| item.attr("lang").map(str::to_owned));

    let mut items = Vec::new();
    item.find_all("ContentItem", &mut items);
    let mut saw_content = false;
    for ci in items {
        let media = ci
            .child("MediaType")
            .and_then(|m| m.attr("FormalName"))
            .unwrap_or("");
        let format = ci
            .child("Format")
            .and_then(|m| m.attr("FormalName"))
            .unwrap_or("");
        let textual = media.eq_ignore_ascii_case("text")
            || (media.is_empty()
                && ["nitf", "xhtml", "html", "text"]
                    .iter()
                    .any(|f| format.to_ascii_lowercase().starts_with(f)));
        let Some(data) = ci.child("DataContent") else {
            continue;
        };
        saw_content = true;
        if !textual {
            continue;
        }
        if let Some(n) = data
            .find("nitf")
            .or_else(|| (data.name == "nitf").then_some(data))
        {
            nitf::fill(n, &mut story);
        } else if data.elements().next().is_some() {
            story.body = data.find("body").unwrap_or(data).paragraphs();
        } else {
            // HTML sent as escaped text.
            story.body = html::to_paragraphs(&data.text_raw());
        }
        if !story.body.is_empty() {
            break;
        }
    }
    if story.body.is_empty() && story.headline.is_none() {
        return Err(if saw_content {
            DecodeError::NotText("NewsML 1 item has no text content item".into())
        } else {
            DecodeError::NoText("NewsML 1 item without headline or text".into())
        });
    }
    Ok(story)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::xml::parse_str;

    #[test]
    fn minimal_newsml1() {
        let root = parse_str(
            r#"<NewsML><NewsItem><Identification><NewsIdentifier><RevisionId Update="N">2</RevisionId>
            <PublicIdentifier>urn:x:1</PublicIdentifier></NewsIdentifier></Identification>
            <NewsComponent><NewsLines><HeadLine>Head</HeadLine><DateLine>GAZA</DateLine></NewsLines>
            <ContentItem><MediaType FormalName="Text"/><DataContent><nitf><body><body.content>
            <p>Body one.</p></body.content></body></nitf></DataContent></ContentItem>
            </NewsComponent></NewsItem></NewsML>"#,
        )
        .unwrap();
        let s = decode(&root).unwrap();
        assert_eq!(s.id.as_deref(), Some("urn:x:1"));
        assert_eq!(s.version, Some(2));
        assert_eq!(s.headline.as_deref(), Some("Head"));
        assert_eq!(s.dateline.as_deref(), Some("GAZA"));
        assert_eq!(s.body, "Body one.");
    }
}
