//! Per-student values in steps and slides. An author writes `{{ url:marathon }}`,
//! `{{ port:wolf3d }}` or `{{ host }}` (names are the stack's `x-lab.ports`), and each
//! student sees their own: in a classroom their stack's public host and port block, solo the
//! ports of the local stack. A URL in running text becomes a link; inside code, a link or a
//! heading it stays text, so commands remain copyable.

use std::collections::BTreeMap;

/// The values a page is rendered with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    /// Where the stack's ports are reached.
    pub host: String,
    /// Named port → published port.
    pub ports: BTreeMap<String, u16>,
}

impl Values {
    fn url(&self, name: &str) -> Option<String> {
        self.ports.get(name).map(|port| format!("http://{}:{port}/", self.host))
    }

    /// The value of one placeholder, and whether it is a URL.
    fn value(&self, placeholder: &str) -> Option<(String, bool)> {
        let (kind, name) = placeholder.split_once(':').map_or((placeholder, ""), |(k, n)| (k.trim(), n.trim()));
        match kind {
            "host" => Some((self.host.clone(), false)),
            "port" => self.ports.get(name).map(|p| (p.to_string(), false)),
            "url" => self.url(name).map(|u| (u, true)),
            _ => None,
        }
    }
}

/// Whether rendered HTML has placeholders at all (most pages do not: skip the work).
pub fn has_placeholders(html: &str) -> bool {
    html.contains("{{")
}

/// Fills the placeholders of rendered HTML. Unknown ones stay as written, so an author
/// sees the mistake on the page. Values are HTML-escaped.
pub fn fill(html: &str, values: &Values) -> String {
    if !has_placeholders(html) {
        return html.to_owned();
    }
    let mut out = String::with_capacity(html.len() + 64);
    // Inside these, a URL stays text.
    let mut plain_depth: i32 = 0;
    let mut rest = html;
    while !rest.is_empty() {
        let next_tag = rest.find('<');
        let next_ph = rest.find("{{");
        let tag_first = next_tag.filter(|t| next_ph.is_none_or(|p| *t < p));
        match (tag_first, next_ph) {
            (Some(t), _) => {
                out.push_str(&rest[..t]);
                let end = rest[t..].find('>').map_or(rest.len(), |e| t + e + 1);
                let tag = &rest[t..end];
                let name: String = tag.trim_start_matches('<').trim_start_matches('/').chars().take_while(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
                if matches!(name.as_str(), "a" | "code" | "pre" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "title") {
                    plain_depth += if tag.starts_with("</") { -1 } else { 1 };
                }
                out.push_str(tag);
                rest = &rest[end..];
            }
            (_, Some(p)) => {
                out.push_str(&rest[..p]);
                let Some(close) = rest[p..].find("}}") else {
                    out.push_str(&rest[p..]);
                    break;
                };
                let inner = &rest[p + 2..p + close];
                match values.value(inner.trim()) {
                    Some((value, is_url)) => {
                        let value = escape(&value);
                        if is_url && plain_depth <= 0 {
                            out.push_str(&format!(r#"<a href="{value}">{value}</a>"#));
                        } else {
                            out.push_str(&value);
                        }
                    }
                    None => out.push_str(&rest[p..p + close + 2]),
                }
                rest = &rest[p + close + 2..];
            }
            (None, None) => {
                out.push_str(rest);
                break;
            }
        }
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> Values {
        Values { host: "class.example".into(), ports: BTreeMap::from([("marathon".into(), 20001), ("wolf3d".into(), 20003)]) }
    }

    #[test]
    fn urls_become_links_in_text_and_stay_text_in_code() {
        let html = "<p>Open {{ url:marathon }} now.</p><pre><code>curl {{url:marathon}}v2/apps\n</code></pre><p>Port {{ port:wolf3d }} on {{ host }}</p>";
        assert_eq!(
            fill(html, &values()),
            r#"<p>Open <a href="http://class.example:20001/">http://class.example:20001/</a> now.</p><pre><code>curl http://class.example:20001/v2/apps
</code></pre><p>Port 20003 on class.example</p>"#
        );
    }

    #[test]
    fn unknown_placeholders_stay_visible_and_pages_without_any_are_untouched() {
        assert_eq!(fill("<p>{{ url:nope }} and {{ oops</p>", &values()), "<p>{{ url:nope }} and {{ oops</p>");
        assert_eq!(fill("<p>plain</p>", &values()), "<p>plain</p>");
        let linked = fill(r#"<a href="x">see {{ url:wolf3d }}</a>"#, &values());
        assert_eq!(linked, r#"<a href="x">see http://class.example:20003/</a>"#, "no link inside a link");
    }

    #[test]
    fn values_are_escaped() {
        let v = Values { host: "<script>".into(), ports: BTreeMap::new() };
        assert_eq!(fill("{{ host }}", &v), "&lt;script&gt;");
    }
}
