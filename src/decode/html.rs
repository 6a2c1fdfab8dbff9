//! HTML fragments (ninjs `body_html`, dpa `article_html`, escaped XHTML) -> plain paragraphs.
//! A forgiving scanner rather than a parser: agency HTML is often not well-formed, and all
//! we need is the text with its paragraph breaks.

/// Elements whose start or end begins a new paragraph.
const BLOCK: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hl1",
    "hl2",
    "section",
    "article",
    "header",
    "footer",
    "blockquote",
    "pre",
    "table",
    "tr",
    "dd",
    "dt",
    "figure",
    "figcaption",
    "aside",
    "block",
    "nitf-table",
];

/// Elements whose content is never story text.
const SKIP: &[&str] = &["script", "style", "head", "title", "iframe", "noscript"];

/// Strip tags, decode entities and return paragraphs separated by `\n\n`.
pub(crate) fn to_paragraphs(html: &str) -> String {
    let mut paras = Paragraphs::default();
    let bytes = html.as_bytes();
    let mut i = 0;
    let mut text_start = 0;
    let mut skip_until: Option<&'static str> = None;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        if skip_until.is_none() && text_start < i {
            paras.push_text(&decode_entities(&html[text_start..i]));
        }
        // Comments and CDATA.
        if html[i..].starts_with("<!--") {
            i = html[i..].find("-->").map_or(bytes.len(), |p| i + p + 3);
            text_start = i;
            continue;
        }
        let end = match html[i..].find('>') {
            Some(p) => i + p,
            None => {
                // A lone '<' in text.
                if skip_until.is_none() {
                    paras.push_text(&decode_entities(&html[i..]));
                }
                i = bytes.len();
                text_start = i;
                break;
            }
        };
        let tag = &html[i + 1..end];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/' || c == '>')
            .next()
            .unwrap_or("")
            .rsplit(':')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if let Some(skip) = skip_until {
            if closing && name == skip {
                skip_until = None;
            }
        } else if let Some(skip) = SKIP.iter().find(|s| **s == name) {
            if !closing && !tag.ends_with('/') {
                skip_until = Some(skip);
            }
        } else if BLOCK.contains(&name.as_str()) {
            paras.break_paragraph();
        }
        i = end + 1;
        text_start = i;
    }
    if skip_until.is_none() && text_start < bytes.len() {
        paras.push_text(&decode_entities(&html[text_start..]));
    }
    paras.finish()
}

/// Collects text runs, collapsing whitespace and keeping paragraph boundaries.
#[derive(Default)]
pub(crate) struct Paragraphs {
    out: String,
    current: String,
}

impl Paragraphs {
    pub(crate) fn push_text(&mut self, text: &str) {
        for (n, word) in text.split_whitespace().enumerate() {
            let starts_with_space = n > 0 || text.starts_with(|c: char| c.is_whitespace());
            if !self.current.is_empty() && starts_with_space && !self.current.ends_with(' ') {
                self.current.push(' ');
            }
            self.current.push_str(word);
        }
        if text.ends_with(|c: char| c.is_whitespace()) && !self.current.is_empty() {
            self.current.push(' ');
        }
    }

    pub(crate) fn break_paragraph(&mut self) {
        let para = self.current.trim();
        if !para.is_empty() {
            if !self.out.is_empty() {
                self.out.push_str("\n\n");
            }
            self.out.push_str(para);
        }
        self.current.clear();
    }

    pub(crate) fn finish(mut self) -> String {
        self.break_paragraph();
        self.out
    }
}

/// Decode named (the common HTML set) and numeric character references. Unknown names stay
/// as written.
pub(crate) fn decode_entities(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('&') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let semi = after.find(';').filter(|&p| p > 0 && p <= 10);
        match semi.and_then(|p| entity(&after[..p]).map(|c| (p, c))) {
            Some((p, c)) => {
                out.push(c);
                rest = &after[p + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// One character reference or common named entity.
pub(crate) fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code).filter(|c| *c != '\0');
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "ndash" => '–',
        "mdash" => '—',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "hellip" => '…',
        "bull" => '•',
        "middot" => '·',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "euro" => '€',
        "pound" => '£',
        "deg" => '°',
        "eacute" => 'é',
        "egrave" => 'è',
        "aacute" => 'á',
        "agrave" => 'à',
        "oacute" => 'ó',
        "iacute" => 'í',
        "uacute" => 'ú',
        "ntilde" => 'ñ',
        "ccedil" => 'ç',
        "auml" => 'ä',
        "ouml" => 'ö',
        "uuml" => 'ü',
        "Auml" => 'Ä',
        "Ouml" => 'Ö',
        "Uuml" => 'Ü',
        "szlig" => 'ß',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_and_entities() {
        let html = "<p>First &amp; <b>bold</b> line.</p>\n<p>Second&nbsp;one<br/>third</p><script>x()</script>";
        assert_eq!(
            to_paragraphs(html),
            "First & bold line.\n\nSecond one\n\nthird"
        );
    }

    #[test]
    fn plain_text_passes() {
        assert_eq!(to_paragraphs("just text"), "just text");
        assert_eq!(to_paragraphs("a < b and c"), "a < b and c");
    }

    #[test]
    fn numeric_refs() {
        assert_eq!(
            decode_entities("&#233;t&#xE9; &bogus; & x"),
            "été &bogus; & x"
        );
    }
}
