//! Markdown → HTML with the course's extensions: tables, footnotes, strikethrough, task
//! lists, heading attributes and smart punctuation. Headings get stable anchors and
//! relative image paths are rewritten to the `/files/...` route that serves content assets.
//! Fenced code in a known language is highlighted here, once, at course load
//! ([`super::highlight`]).
//!
//! Author HTML is trusted (it ships with the course); text a student types never passes
//! through here — templates escape it.

use super::highlight;
use pulldown_cmark::{CodeBlockKind, CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd, html};
use std::collections::{HashMap, HashSet};

/// The result of rendering one Markdown document (a slide, its notes, or a step).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rendered {
    /// The HTML body.
    pub html: String,
    /// Plain text of the first heading, if any (used for page titles and slide lists).
    pub first_heading: Option<String>,
    /// Level of that first heading (1 for `#`).
    pub first_heading_level: Option<u8>,
}

/// Markdown options used everywhere, so slides and steps render alike.
fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
        | Options::ENABLE_SMART_PUNCTUATION
}

/// Renders `markdown`. `base` is the content folder the document lives in (for example
/// `slides` or `labs/mesos-marathon/steps`); relative image paths resolve against it.
pub fn render(markdown: &str, base: &str) -> Rendered {
    let events: Vec<Event<'_>> = Parser::new_ext(markdown, options()).collect();
    let mut out_events: Vec<Event<'_>> = Vec::with_capacity(events.len() + events.len() / 8);
    let mut used_ids = UniqueIds::default();
    let mut first_heading = None;
    let mut first_heading_level = None;

    // One pass, copying into a new list: inserting into the middle of `events` would make
    // many headings quadratic.
    let mut i = 0;
    while i < events.len() {
        match &events[i] {
            Event::Start(Tag::Heading { level, id, classes, attrs }) => {
                let level = *level;
                let end = find_heading_end(&events, i, level);
                let text = plain_text(&events[i + 1..end]);
                if first_heading.is_none() {
                    first_heading = Some(text.clone());
                    first_heading_level = Some(level as u8);
                }
                let anchor = used_ids.claim(id.as_deref().map(str::to_owned).unwrap_or_else(|| slug(&text)));
                out_events.push(Event::Start(Tag::Heading { level, id: Some(CowStr::from(anchor.clone())), classes: classes.clone(), attrs: attrs.clone() }));
                out_events.extend(events[i + 1..end].iter().cloned().map(|e| rewrite_image(e, base)));
                // The anchor link goes last inside the heading so that screen readers read
                // the heading text first.
                out_events.push(Event::InlineHtml(CowStr::from(format!(r##"<a class="anchor" href="#{anchor}" aria-label="Link to this section">#</a>"##))));
                if let Some(close) = events.get(end) {
                    out_events.push(close.clone());
                }
                i = end + 1;
            }
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                let end = events[i..].iter().position(|e| matches!(e, Event::End(TagEnd::CodeBlock))).map_or(events.len(), |o| i + o);
                let language = info.split_whitespace().next().unwrap_or("");
                let code: String = events[i + 1..end].iter().filter_map(|e| if let Event::Text(t) = e { Some(t.as_ref()) } else { None }).collect();
                match highlight::highlight(language, &code) {
                    Some(html) => {
                        let class = escape_attr(language);
                        out_events.push(Event::Html(CowStr::from(format!(r#"<pre><code class="language-{class} highlighted">{html}</code></pre>"#))));
                        out_events.push(Event::Html(CowStr::from("\n")));
                        i = end + 1;
                    }
                    // Unknown language: pulldown-cmark escapes it as plain text.
                    None => {
                        out_events.push(events[i].clone());
                        i += 1;
                    }
                }
            }
            other => {
                out_events.push(rewrite_image(other.clone(), base));
                i += 1;
            }
        }
    }

    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, out_events.into_iter());
    Rendered { html: out, first_heading, first_heading_level }
}

/// Escapes a fence's language name for a class attribute (it is author text, but a stray
/// quote must not break the page).
fn escape_attr(text: &str) -> String {
    text.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '.')).collect()
}

/// Points a relative image at the URL that serves it.
fn rewrite_image<'a>(event: Event<'a>, base: &str) -> Event<'a> {
    match event {
        Event::Start(Tag::Image { link_type, dest_url, title, id }) => {
            let dest_url = asset_url(base, &dest_url).map_or(dest_url, CowStr::from);
            Event::Start(Tag::Image { link_type, dest_url, title, id })
        }
        other => other,
    }
}

fn find_heading_end(events: &[Event<'_>], start: usize, level: HeadingLevel) -> usize {
    events[start..]
        .iter()
        .position(|e| matches!(e, Event::End(TagEnd::Heading(l)) if *l == level))
        .map_or(events.len(), |offset| start + offset)
}

/// Concatenates the text of inline events (what a heading "says").
fn plain_text(events: &[Event<'_>]) -> String {
    let mut text = String::new();
    for event in events {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(t),
            Event::SoftBreak | Event::HardBreak => text.push(' '),
            _ => {}
        }
    }
    text.trim().to_owned()
}

/// GitHub-style slug: lowercase letters and digits, other runs become one `-`.
pub fn slug(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() { "section".to_owned() } else { slug.to_owned() }
}

/// Heading ids made unique as GitHub does (`intro`, `intro-1`, `intro-2`), in constant time
/// per heading: each base id remembers the next suffix to try.
#[derive(Default)]
struct UniqueIds {
    used: HashSet<String>,
    next: HashMap<String, usize>,
    /// Ids tried, to show the work stays linear.
    probes: usize,
}

impl UniqueIds {
    fn claim(&mut self, candidate: String) -> String {
        if self.used.insert(candidate.clone()) {
            return candidate;
        }
        let n = self.next.entry(candidate.clone()).or_insert(1);
        loop {
            self.probes += 1;
            let id = format!("{candidate}-{n}");
            *n += 1;
            if self.used.insert(id.clone()) {
                return id;
            }
        }
    }
}

/// Maps a relative asset path (`images/stack.svg`, `../images/x.svg`) to the URL that serves
/// it. Absolute URLs, root paths and fragments are left alone.
fn asset_url(base: &str, dest: &str) -> Option<String> {
    if dest.is_empty()
        || dest.starts_with('/')
        || dest.starts_with('#')
        || dest.contains("://")
        || dest.starts_with("data:")
        || dest.starts_with("mailto:")
    {
        return None;
    }
    Some(format!("/files/{}", join_path(base, dest)?))
}

/// Joins a relative path onto a folder, resolving `.` and `..`; `None` if it escapes the root.
pub fn join_path(base: &str, relative: &str) -> Option<String> {
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_get_anchors_and_unique_ids() {
        let r = render("# Hello, World!\n\n## Hello, World!\n\n## Custom {#mine}\n", "slides");
        assert!(r.html.contains(r##"<h1 id="hello-world">Hello, World!<a class="anchor" href="#hello-world""##), "{}", r.html);
        assert!(r.html.contains(r#"<h2 id="hello-world-1">"#), "{}", r.html);
        assert!(r.html.contains(r#"<h2 id="mine">Custom"#), "{}", r.html);
        assert_eq!(r.first_heading.as_deref(), Some("Hello, World!"));
        assert_eq!(r.first_heading_level, Some(1));
    }

    #[test]
    fn many_identical_headings_take_linear_work() {
        let mut ids = UniqueIds::default();
        let n = 20_000;
        let last = (0..n).map(|_| ids.claim("same".into())).last();
        assert_eq!(last.as_deref(), Some("same-19999"));
        assert!(ids.probes < 2 * n, "{} probes for {n} headings", ids.probes);
        // A heading spelt like a generated id still gets its own.
        let mut ids = UniqueIds::default();
        assert_eq!([ids.claim("a".into()), ids.claim("a-1".into()), ids.claim("a".into())], ["a", "a-1", "a-2"]);
        let r = render(&"## Same\n\n".repeat(2_000), "slides");
        assert!(r.html.contains(r#"<h2 id="same-1999">"#));
    }

    #[test]
    fn code_blocks_keep_their_language_class() {
        let r = render("```yaml\nservice: {}\n```\n", "slides");
        assert!(r.html.contains(r#"<code class="language-yaml"#), "{}", r.html);
    }

    #[test]
    fn known_languages_are_highlighted_and_others_escaped() {
        let r = render("```yaml\nurl: \"{{ url:marathon }}\"\n```\n\n```brainfuck\n<b>&\n```\n", "slides");
        assert!(r.html.contains(r#"<pre><code class="language-yaml highlighted"><span class="hl-"#), "{}", r.html);
        assert!(r.html.contains("{{ url:marathon }}"), "{}", r.html);
        assert!(r.html.contains(r#"<code class="language-brainfuck">&lt;b&gt;&amp;"#), "{}", r.html);
    }

    #[test]
    fn extensions_are_enabled() {
        let r = render(
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~ \"quoted\" -- dash\n\n- [x] done\n\nNote[^1].\n\n[^1]: The footnote.\n",
            "slides",
        );
        assert!(r.html.contains("<table>"), "{}", r.html);
        assert!(r.html.contains("<del>old</del>"), "{}", r.html);
        assert!(r.html.contains("“quoted”"), "{}", r.html);
        assert!(r.html.contains("–"), "{}", r.html);
        assert!(r.html.contains(r#"type="checkbox""#), "{}", r.html);
        assert!(r.html.contains("footnote-definition"), "{}", r.html);
    }

    #[test]
    fn relative_images_point_at_the_files_route() {
        let r = render("![a](images/stack.svg) ![b](../images/x.png) ![c](https://x.org/y.png) ![d](/abs.png)", "labs/demo/steps");
        assert!(r.html.contains(r#"src="/files/labs/demo/steps/images/stack.svg""#), "{}", r.html);
        assert!(r.html.contains(r#"src="/files/labs/demo/images/x.png""#), "{}", r.html);
        assert!(r.html.contains(r#"src="https://x.org/y.png""#));
        assert!(r.html.contains(r#"src="/abs.png""#));
    }

    #[test]
    fn author_html_passes_through() {
        let r = render("<details><summary>Solution</summary>\n\nhidden\n\n</details>\n", "x");
        assert!(r.html.contains("<details><summary>Solution</summary>"), "{}", r.html);
    }

    #[test]
    fn join_path_refuses_to_escape_the_root() {
        assert_eq!(join_path("slides", "../../etc/passwd"), None);
        assert_eq!(join_path("a/b", "./c/../d.svg").as_deref(), Some("a/b/d.svg"));
    }

    #[test]
    fn slug_is_github_like() {
        assert_eq!(slug("Start the stack!"), "start-the-stack");
        assert_eq!(slug("  ?? "), "section");
        assert_eq!(slug("Ports: 80 → 8888"), "ports-80-8888");
    }
}
