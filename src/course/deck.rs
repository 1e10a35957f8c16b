//! Slide decks: one Markdown file in `slides/`, split into slides the way reveal.js does.
//!
//! Two separator rules, chosen in the deck's front matter (`separator:`):
//! - `rule` (default): a line `---` starts the next slide, a line `--` the next vertical slide;
//! - `heading`: every `#` or `##` heading starts a new slide (the style of the course chapter).
//!
//! In both, a line starting with `Note:` (or `Notes:`) turns the rest of the slide into speaker
//! notes. Separators and notes inside fenced code blocks are ignored.

use super::error::{ContentError, parse_yaml};
use super::markdown::{self, Rendered};
use serde::Deserialize;

/// How a deck is cut into slides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Separator {
    /// `---` and `--` lines.
    #[default]
    Rule,
    /// Each `#`/`##` heading.
    Heading,
}

/// Optional YAML front matter at the top of a deck, between `---` lines.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    title: Option<String>,
    subtitle: Option<String>,
    #[serde(default)]
    separator: Separator,
}

/// A rendered deck.
#[derive(Debug, Clone)]
pub struct Deck {
    /// File stem, used in URLs.
    pub id: String,
    /// From front matter, else the first slide's heading, else the id.
    pub title: String,
    /// Optional subtitle from front matter.
    pub subtitle: Option<String>,
    /// Slides in presentation order (vertical slides flattened), numbered from 1.
    pub slides: Vec<Slide>,
}

/// One rendered slide.
#[derive(Debug, Clone, PartialEq)]
pub struct Slide {
    /// 1-based position in the flattened deck; the number in the URL.
    pub number: usize,
    /// 1-based horizontal index.
    pub h: usize,
    /// 1-based vertical index within its horizontal stack.
    pub v: usize,
    /// Title for lists and the presenter view.
    pub title: String,
    /// Slide body.
    pub html: String,
    /// Speaker notes (empty if none).
    pub notes_html: String,
}

/// A slide before rendering: its Markdown and where it starts in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSlide {
    /// 1-based horizontal index.
    pub h: usize,
    /// 1-based vertical index.
    pub v: usize,
    /// The slide's Markdown.
    pub body: String,
    /// The speaker notes' Markdown.
    pub notes: String,
    /// 1-based line of the slide's first line in the file.
    pub line: usize,
}

impl Deck {
    /// Parses and renders the deck stored at `file` (a path like `slides/intro.md`).
    pub fn parse(id: &str, file: &str, source: &str) -> Result<Deck, ContentError> {
        let (front, body, body_line) = split_front_matter(file, source)?;
        let raw = split(body, front.separator, body_line);
        if raw.is_empty() {
            return Err(ContentError::file(file, "the deck has no slides")
                .with_fix("write Markdown below the front matter; separate slides with a `---` line"));
        }
        let base = file.rsplit_once('/').map_or("", |(dir, _)| dir);
        let slides: Vec<Slide> = raw
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let Rendered { html, first_heading, .. } = markdown::render(&s.body, base);
                Slide {
                    number: i + 1,
                    h: s.h,
                    v: s.v,
                    title: first_heading.filter(|t| !t.is_empty()).unwrap_or_else(|| format!("Slide {}", i + 1)),
                    html,
                    notes_html: if s.notes.trim().is_empty() { String::new() } else { markdown::render(&s.notes, base).html },
                }
            })
            .collect();
        let title = front.title.unwrap_or_else(|| slides[0].title.clone());
        Ok(Deck { id: id.to_owned(), title, subtitle: front.subtitle, slides })
    }

    /// The slide with 1-based `number`.
    pub fn slide(&self, number: usize) -> Option<&Slide> {
        number.checked_sub(1).and_then(|i| self.slides.get(i))
    }
}

/// Splits off YAML front matter; returns it, the rest, and the rest's first line number.
fn split_front_matter<'a>(file: &str, source: &'a str) -> Result<(FrontMatter, &'a str, usize), ContentError> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let Some(after_open) = source.strip_prefix("---\n").or_else(|| source.strip_prefix("---\r\n")) else {
        return Ok((FrontMatter::default(), source, 1));
    };
    let mut offset = 0;
    for (i, line) in after_open.split_inclusive('\n').enumerate() {
        if line.trim_end() == "---" {
            let yaml = &after_open[..offset];
            let front = if yaml.trim().is_empty() { FrontMatter::default() } else { parse_yaml(file, yaml, 1)? };
            // Opening line + YAML lines + closing line; the body starts on the next line.
            return Ok((front, &after_open[offset + line.len()..], i + 3));
        }
        offset += line.len();
    }
    Err(ContentError::at(file, source, 1, 1, "front matter starts with `---` but never ends")
        .with_fix("close it with a `---` line, or start the deck with a heading instead"))
}

/// Splits a deck body into raw slides. `first_line` is the body's line number in the file.
pub fn split(body: &str, separator: Separator, first_line: usize) -> Vec<RawSlide> {
    let mut slides = Vec::new();
    let mut current = RawSlide { h: 1, v: 1, body: String::new(), notes: String::new(), line: first_line };
    let mut in_notes = false;
    let mut fence: Option<(char, usize)> = None;

    for (i, line) in body.lines().enumerate() {
        let line_no = first_line + i;
        if fence.is_none() {
            let trimmed = line.trim_end();
            let boundary = match separator {
                Separator::Rule if trimmed == "---" => Some(false),
                Separator::Rule if trimmed == "--" => Some(true),
                Separator::Heading if is_slide_heading(line) && has_content(&current) => Some(false),
                _ => None,
            };
            if let Some(vertical) = boundary {
                let (h, v) = if vertical { (current.h, current.v + 1) } else { (current.h + 1, 1) };
                push_slide(&mut slides, std::mem::replace(
                    &mut current,
                    RawSlide { h, v, body: String::new(), notes: String::new(), line: line_no },
                ));
                in_notes = false;
                if separator == Separator::Rule {
                    current.line = line_no + 1;
                    continue;
                }
            } else if !in_notes && let Some(rest) = notes_start(line) {
                in_notes = true;
                current.notes.push_str(rest.trim_start());
                current.notes.push('\n');
                continue;
            }
        }
        fence = update_fence(fence, line);
        let target = if in_notes { &mut current.notes } else { &mut current.body };
        target.push_str(line);
        target.push('\n');
    }
    push_slide(&mut slides, current);
    renumber(slides)
}

/// Keeps non-empty slides only.
fn push_slide(slides: &mut Vec<RawSlide>, slide: RawSlide) {
    if has_content(&slide) {
        slides.push(slide);
    }
}

fn has_content(slide: &RawSlide) -> bool {
    !slide.body.trim().is_empty() || !slide.notes.trim().is_empty()
}

/// Empty slides were dropped, so make h/v contiguous again.
fn renumber(slides: Vec<RawSlide>) -> Vec<RawSlide> {
    let mut out: Vec<RawSlide> = Vec::with_capacity(slides.len());
    let mut last_h_in = 0;
    for mut slide in slides {
        let (h, v) = match out.last() {
            None => (1, 1),
            Some(prev) if slide.h == last_h_in => (prev.h, prev.v + 1),
            Some(prev) => (prev.h + 1, 1),
        };
        last_h_in = slide.h;
        slide.h = h;
        slide.v = v;
        out.push(slide);
    }
    out
}

fn is_slide_heading(line: &str) -> bool {
    let hashes = line.chars().take_while(|&c| c == '#').count();
    (1..=2).contains(&hashes) && line[hashes..].chars().next().is_none_or(|c| c == ' ' || c == '\t')
}

/// If `line` begins speaker notes, returns the text after the marker.
fn notes_start(line: &str) -> Option<&str> {
    let lower = line.get(..6).map(str::to_ascii_lowercase);
    match lower.as_deref() {
        Some("notes:") => Some(&line[6..]),
        _ if line.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("note:")) => Some(&line[5..]),
        _ => None,
    }
}

/// Tracks fenced code blocks (``` or ~~~, closed by the same character at least as long).
fn update_fence(fence: Option<(char, usize)>, line: &str) -> Option<(char, usize)> {
    let t = line.trim_start();
    let Some(ch) = t.chars().next().filter(|c| *c == '`' || *c == '~') else { return fence };
    let run = t.chars().take_while(|c| *c == ch).count();
    if run < 3 {
        return fence;
    }
    match fence {
        None => Some((ch, run)),
        Some((open, len)) if open == ch && run >= len && t[run..].trim().is_empty() => None,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bodies(slides: &[RawSlide]) -> Vec<(usize, usize, String)> {
        slides.iter().map(|s| (s.h, s.v, s.body.trim().to_owned())).collect()
    }

    #[test]
    fn rule_separator_splits_horizontal_and_vertical_slides() {
        let body = "# One\n---\n# Two\n--\n## Two, below\n---\n# Three\n";
        let slides = split(body, Separator::Rule, 1);
        assert_eq!(
            bodies(&slides),
            vec![
                (1, 1, "# One".into()),
                (2, 1, "# Two".into()),
                (2, 2, "## Two, below".into()),
                (3, 1, "# Three".into())
            ]
        );
        assert_eq!(slides[1].line, 3);
        assert_eq!(slides[2].line, 5);
    }

    #[test]
    fn notes_are_split_off_until_the_end_of_the_slide() {
        let body = "# One\ntext\nNote: say hi\nand more\n---\n# Two\nnotes: lower case works\n";
        let slides = split(body, Separator::Rule, 1);
        assert_eq!(slides[0].body, "# One\ntext\n");
        assert_eq!(slides[0].notes, "say hi\nand more\n");
        assert_eq!(slides[1].notes, "lower case works\n");
    }

    #[test]
    fn separators_and_notes_inside_code_fences_are_content() {
        let body = "# YAML\n```yaml\n---\nNote: not a note\n--\n```\n---\n# Next\n";
        let slides = split(body, Separator::Rule, 1);
        assert_eq!(slides.len(), 2);
        assert!(slides[0].body.contains("---\nNote: not a note\n--\n"));
        assert!(slides[0].notes.is_empty());
    }

    #[test]
    fn heading_separator_starts_a_slide_at_each_level_one_or_two_heading() {
        let body = "## Say what\ntext\n### a sub heading stays\n\n# Part two\n## \n- empty heading slide\n```sh\n# a comment in code\n```\nNote:\nthe notes\n";
        let slides = split(body, Separator::Heading, 1);
        assert_eq!(slides.len(), 3, "{slides:#?}");
        assert!(slides[0].body.contains("### a sub heading stays"));
        assert_eq!(slides[1].body.trim(), "# Part two");
        assert!(slides[2].body.contains("# a comment in code"));
        assert_eq!(slides[2].notes.trim(), "the notes");
        assert_eq!((slides[2].h, slides[2].v), (3, 1));
    }

    #[test]
    fn empty_slides_are_dropped_and_numbering_stays_contiguous() {
        let body = "---\n# One\n---\n\n---\n# Two\n--\n--\n## Two b\n";
        let slides = split(body, Separator::Rule, 1);
        assert_eq!(bodies(&slides), vec![(1, 1, "# One".into()), (2, 1, "# Two".into()), (2, 2, "## Two b".into())]);
    }

    #[test]
    fn deck_reads_front_matter_and_renders_slides() {
        let src = "---\ntitle: Intro\nseparator: heading\n---\n## First\nhello\nNote: psst\n## Second\n![x](images/a.svg)\n";
        let deck = Deck::parse("intro", "slides/intro.md", src).unwrap();
        assert_eq!(deck.title, "Intro");
        assert_eq!(deck.slides.len(), 2);
        assert_eq!(deck.slides[0].title, "First");
        assert!(deck.slides[0].notes_html.contains("psst"));
        assert!(deck.slides[1].html.contains("/files/slides/images/a.svg"));
        assert_eq!(deck.slide(2).map(|s| s.number), Some(2));
        assert!(deck.slide(0).is_none() && deck.slide(3).is_none());
    }

    #[test]
    fn front_matter_errors_point_into_the_deck_file() {
        let err = Deck::parse("d", "slides/d.md", "---\ntitle: x\nseperator: rule\n---\n# a\n").unwrap_err();
        assert_eq!(err.location(), "slides/d.md:3:1");
        assert!(err.message.contains("unknown field `seperator`"), "{err}");

        let err = Deck::parse("d", "slides/d.md", "---\nseparator: dots\n---\n# a\n").unwrap_err();
        assert_eq!(err.position.map(|p| p.0), Some(2), "{err}");

        let err = Deck::parse("d", "slides/d.md", "---\ntitle: x\n# a\n").unwrap_err();
        assert!(err.message.contains("never ends"), "{err}");
    }

    #[test]
    fn a_deck_without_front_matter_takes_its_title_from_the_first_slide() {
        let deck = Deck::parse("d", "slides/d.md", "# Hello deck\n---\n# Two\n").unwrap();
        assert_eq!(deck.title, "Hello deck");
        assert_eq!(deck.subtitle, None);
    }

    #[test]
    fn an_empty_deck_is_an_error() {
        assert!(Deck::parse("d", "slides/d.md", "---\ntitle: x\n---\n\n").is_err());
    }
}
