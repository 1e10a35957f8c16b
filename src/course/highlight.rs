//! Server-side syntax highlighting of code blocks, done once when the course loads.
//!
//! Output is CSS classes (`hl-` + the scope's parts, e.g. `hl-entity hl-name hl-tag`), never
//! inline colours, so lab.css colours it for the light and the dark theme alike. The
//! grammars are syntect's bundled Sublime ones (YAML, JSON, shell, …) plus a small Dockerfile
//! grammar of our own (syntect ships none). A language nobody knows stays plain, escaped.
//!
//! Per-student placeholders (`{{ url:marathon }}`) must stay in one piece for
//! [`super::placeholders::fill`]: markup a grammar puts inside one is moved after it.

use std::sync::LazyLock;
use syntect::html::{ClassStyle, ClassedHTMLGenerator};
use syntect::parsing::{SyntaxDefinition, SyntaxReference, SyntaxSet, SyntaxSetBuilder};

/// syntect's bundled grammars, unpacked on the first code block (a few milliseconds).
static BUNDLED: LazyLock<SyntaxSet> = LazyLock::new(SyntaxSet::load_defaults_newlines);

/// Our Dockerfile grammar, in its own small set so the bundled one need not be relinked.
static DOCKERFILE: LazyLock<Option<SyntaxSet>> = LazyLock::new(|| {
    let definition = SyntaxDefinition::load_from_str(DOCKERFILE_SYNTAX, true, None).ok()?;
    let mut builder = SyntaxSetBuilder::new();
    builder.add(definition);
    Some(builder.build())
});

/// Class names: `hl-` before each scope part keeps them apart from the page's own classes.
const CLASSES: ClassStyle = ClassStyle::SpacedPrefixed { prefix: "hl-" };

/// A Dockerfile grammar: instructions, comments, strings, variables and `--flags`.
const DOCKERFILE_SYNTAX: &str = r#"
name: Dockerfile
scope: source.dockerfile
file_extensions: [Dockerfile]
contexts:
  main:
    - match: '^\s*#.*$\n?'
      scope: comment.line.number-sign.dockerfile
    - match: '(?i)^\s*(FROM|RUN|CMD|LABEL|EXPOSE|ENV|ADD|COPY|ENTRYPOINT|VOLUME|USER|WORKDIR|ARG|ONBUILD|STOPSIGNAL|HEALTHCHECK|SHELL|MAINTAINER)\b'
      captures:
        1: keyword.other.instruction.dockerfile
    - match: '(?i)\b(AS)\b'
      scope: keyword.other.dockerfile
    - match: '--[A-Za-z-]+'
      scope: variable.parameter.flag.dockerfile
    - match: '\$\{?[A-Za-z_][A-Za-z0-9_]*\}?'
      scope: variable.other.dockerfile
    - match: '"'
      push: double
    - match: "'"
      push: single
  double:
    - meta_scope: string.quoted.double.dockerfile
    - match: '\\.'
      scope: constant.character.escape.dockerfile
    - match: '"'
      pop: true
  single:
    - meta_scope: string.quoted.single.dockerfile
    - match: "'"
      pop: true
"#;

/// The grammar for a fence's language name, and the set it belongs to.
fn grammar(language: &str) -> Option<(&'static SyntaxSet, &'static SyntaxReference)> {
    let name = language.trim().to_ascii_lowercase();
    if matches!(name.as_str(), "dockerfile" | "docker") {
        let set = DOCKERFILE.as_ref()?;
        return set.syntaxes().first().map(|s| (set, s));
    }
    // Names authors write that the bundled grammars spell differently.
    let token = match name.as_str() {
        "shell" | "console" | "bash" | "sh" | "zsh" | "shell-session" => "bash",
        "yml" => "yaml",
        "jsonc" | "json5" => "json",
        "" | "text" | "plain" | "txt" => return None,
        other => other,
    };
    let set = &*BUNDLED;
    set.find_syntax_by_token(token).map(|s| (set, s))
}

/// Highlights `code` written in `language`: the HTML that goes inside `<code>`, or `None`
/// when the language is unknown (the caller then escapes the code as plain text).
pub fn highlight(language: &str, code: &str) -> Option<String> {
    let (set, syntax) = grammar(language)?;
    let mut generator = ClassedHTMLGenerator::new_with_class_style(syntax, set, CLASSES);
    for line in syntect::util::LinesWithEndings::from(code) {
        // A grammar that fails on a line (a bad regex) must not cost the page its code.
        generator.parse_html_for_line_which_includes_newline(line).ok()?;
    }
    Some(keep_placeholders_whole(&generator.finalize()))
}

/// One piece of highlighted HTML: a tag, or one character of text (entities count as text).
enum Piece<'a> {
    Tag(&'a str),
    Char(char),
}

/// Moves any markup found inside a `{{ … }}` placeholder to just after it, so the
/// placeholder's text is contiguous again. Tags keep their order, so nesting stays valid.
pub fn keep_placeholders_whole(html: &str) -> String {
    if !html.contains('{') {
        return html.to_owned();
    }
    let mut pieces = Vec::with_capacity(html.len());
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        if c == '<'
            && let Some(end) = rest.find('>')
        {
            pieces.push(Piece::Tag(&rest[..=end]));
            rest = &rest[end + 1..];
            continue;
        }
        pieces.push(Piece::Char(c));
        rest = &rest[c.len_utf8()..];
    }
    let text: Vec<char> = pieces.iter().filter_map(|p| if let Piece::Char(c) = p { Some(*c) } else { None }).collect();
    let spans = placeholder_spans(&text);
    if spans.is_empty() {
        return html.to_owned();
    }
    let mut out = String::with_capacity(html.len());
    let mut deferred: Vec<&str> = Vec::new();
    let mut index = 0; // characters of text seen so far
    let mut spans = spans.into_iter().peekable();
    for piece in pieces {
        let inside = spans.peek().is_some_and(|(start, end)| index > *start && index < *end);
        match piece {
            Piece::Tag(tag) if inside => deferred.push(tag),
            Piece::Tag(tag) => out.push_str(tag),
            Piece::Char(c) => {
                out.push(c);
                index += 1;
                if spans.peek().is_some_and(|(_, end)| index == *end) {
                    spans.next();
                    out.extend(deferred.drain(..));
                }
            }
        }
    }
    out.extend(deferred);
    out
}

/// `[start, end)` character ranges of the placeholders in `text`: `{{`, up to 80 characters
/// on one line, `}}`.
fn placeholder_spans(text: &[char]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i + 1 < text.len() {
        if text[i] == '{' && text[i + 1] == '{' {
            let close = (i + 2..text.len().saturating_sub(1).min(i + 82))
                .take_while(|j| text[*j] != '\n')
                .find(|j| text[*j] == '}' && text[*j + 1] == '}');
            if let Some(close) = close {
                spans.push((i, close + 2));
                i = close + 2;
                continue;
            }
        }
        i += 1;
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(html: &str) -> usize {
        html.matches("<span class=\"hl-").count()
    }

    #[test]
    fn the_course_languages_get_classes() {
        for (language, code, class) in [
            ("yaml", "service:\n  image: nginx # web\n  instances: 2\n", "hl-entity hl-name hl-tag"),
            ("json", "{\"id\": \"/demo\", \"instances\": 2}\n", "hl-string"),
            ("shell", "lab up --wait && echo \"$HOME\" # go\n", "hl-comment"),
            ("console", "curl -s http://localhost:8080/v2/apps | jq .\n", "hl-source hl-shell"),
            ("dockerfile", "# base\nFROM nginx:1.27 AS web\nCOPY --chown=www site/ /usr/share/nginx/html\nENV GREETING=\"hi $USER\"\n", "hl-keyword hl-other hl-instruction"),
        ] {
            let html = highlight(language, code).unwrap_or_else(|| panic!("{language} is not highlighted"));
            assert!(spans(&html) > 1, "{language}: {html}");
            assert!(html.contains(class), "{language} lacks {class}: {html}");
        }
        let docker = highlight("Dockerfile", "FROM x\n# c\n").unwrap_or_default();
        assert!(docker.contains("hl-comment"), "{docker}");
    }

    #[test]
    fn unknown_languages_are_not_highlighted() {
        assert_eq!(highlight("no-such-language", "<b>"), None);
        assert_eq!(highlight("", "x"), None);
    }

    #[test]
    fn highlighted_text_is_escaped() {
        let html = highlight("bash", "echo '<script>alert(1)</script>' > x & y\n").unwrap_or_default();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(html.contains("&amp;"), "{html}");
    }

    #[test]
    fn placeholders_stay_in_one_piece() {
        let code = "curl {{ url:marathon }}v2/apps\nmarathon: \"{{url:marathon}}\"\nport: {{ port:wolf3d }}\nhost: ${HOST:-{{ host }}}\n";
        for language in ["bash", "yaml", "json", "dockerfile"] {
            let html = highlight(language, code).unwrap_or_default();
            for placeholder in ["{{ url:marathon }}", "{{url:marathon}}", "{{ port:wolf3d }}", "{{ host }}"] {
                assert!(html.contains(placeholder), "{language} split {placeholder}: {html}");
            }
        }
    }

    #[test]
    fn markup_inside_a_placeholder_moves_after_it_in_order() {
        let html = r#"<span class="a">{{ url:<span class="b">x</span> }}</span> {"#;
        assert_eq!(keep_placeholders_whole(html), r#"<span class="a">{{ url:x }}<span class="b"></span></span> {"#);
        let braces = r#"{<span class="p">{</span> host }<i>}</i>"#;
        assert_eq!(keep_placeholders_whole(braces), r#"{{ host }}<span class="p"></span><i></i>"#);
        // Not a placeholder: left as it was.
        let open = r#"{{ never <b>closed</b>"#;
        assert_eq!(keep_placeholders_whole(open), open);
    }
}
