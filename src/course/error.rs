//! Errors in course content, always pointing at a file (and line:col where one is known),
//! with the fix spelled out when lab can guess it.

use std::fmt;

/// A problem with one content file. Loading keeps going after one: the broken lab or deck
/// shows this error and everything else still works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentError {
    /// Content-relative path, e.g. `labs/mesos-marathon/lab.yml`.
    pub file: String,
    /// 1-based line and column, when known.
    pub position: Option<(u64, u64)>,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub fix: Option<String>,
    /// The offending source line, shown under the message.
    pub source_line: Option<String>,
}

impl ContentError {
    /// An error about a whole file.
    pub fn file(file: impl Into<String>, message: impl Into<String>) -> Self {
        Self { file: file.into(), position: None, message: message.into(), fix: None, source_line: None }
    }

    /// An error at a position inside `source`, whose offending line is kept for display.
    pub fn at(file: impl Into<String>, source: &str, line: u64, column: u64, message: impl Into<String>) -> Self {
        let source_line = usize::try_from(line)
            .ok()
            .and_then(|l| source.lines().nth(l.saturating_sub(1)))
            .map(|l| quote_line(l, column));
        Self { file: file.into(), position: Some((line, column)), message: message.into(), fix: None, source_line }
    }

    /// Adds the fix to suggest.
    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// `file:line:col` (or just `file`).
    pub fn location(&self) -> String {
        match self.position {
            Some((line, col)) => format!("{}:{line}:{col}", self.file),
            None => self.file.clone(),
        }
    }
}

impl fmt::Display for ContentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location(), self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, " ({fix})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ContentError {}

/// The widest quoted line, in characters.
pub const QUOTE_WIDTH: usize = 120;

/// A source line as it can be shown safely: control characters written as escapes (a
/// terminal must not act on them), and a long line cut to a window around `column`.
pub fn quote_line(line: &str, column: u64) -> String {
    let chars: Vec<char> = line.chars().collect();
    let column = usize::try_from(column).unwrap_or(usize::MAX).saturating_sub(1).min(chars.len());
    let (start, end) = if chars.len() <= QUOTE_WIDTH {
        (0, chars.len())
    } else {
        let start = column.saturating_sub(QUOTE_WIDTH / 2).min(chars.len() - QUOTE_WIDTH);
        (start, start + QUOTE_WIDTH)
    };
    let mut out = String::with_capacity(end - start + 8);
    if start > 0 {
        out.push('…');
    }
    for &c in &chars[start..end] {
        match c {
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}') => {
                out.push_str(&c.escape_unicode().to_string());
            }
            c => out.push(c),
        }
    }
    if end < chars.len() {
        out.push('…');
    }
    out
}

/// Parses YAML into `T`, turning a failure into a [`ContentError`] that names the file,
/// line and column. `line_offset` is added to reported lines (front matter inside a deck).
pub fn parse_yaml<T: serde::de::DeserializeOwned>(file: &str, text: &str, line_offset: u64) -> Result<T, ContentError> {
    yaml_from_str::<T>(text).map_err(|err| yaml_error(file, text, line_offset, &err))
}

/// The one YAML dialect lab reads everywhere: YAML 1.2, so only `true`/`false` are
/// booleans (`yes`, `no`, `on`, `off`, `y`, `n` stay text; no "Norway problem").
pub fn yaml_from_str<'de, T: serde::de::Deserialize<'de>>(text: &'de str) -> Result<T, serde_saphyr::Error> {
    serde_saphyr::from_str_with_options(text, serde_saphyr::options! { strict_booleans: true, alias_limits: alias_limits() })
}

/// The most YAML events aliases may replay in one file. A course file that reuses an anchor
/// for a few services replays hundreds; the reader's default (a million) let an alias bomb
/// take seconds, three times over for a stack file (its `x-lab` part is read on its own).
pub const MAX_REPLAYED_EVENTS: usize = 100_000;

/// The alias limits of every YAML file lab reads with serde-saphyr.
pub fn alias_limits() -> serde_saphyr::options::AliasLimits {
    serde_saphyr::alias_limits! { max_total_replayed_events: MAX_REPLAYED_EVENTS }
}

/// Converts a serde-saphyr error into a [`ContentError`].
pub fn yaml_error(file: &str, text: &str, line_offset: u64, err: &serde_saphyr::Error) -> ContentError {
    let message = in_users_words(&strip_position_suffix(&err.without_snippet().to_string()));
    match err.location() {
        Some(loc) if loc.line() > 0 => {
            let mut e = ContentError::at(file, text, loc.line(), loc.column(), message.clone());
            e.position = Some((loc.line() + line_offset, loc.column()));
            e.fix = yaml_fix(&message);
            e
        }
        _ => ContentError { fix: yaml_fix(&message), ..ContentError::file(file, message) },
    }
}

/// serde-saphyr appends " at line N, column M" to plain messages; we print the position
/// ourselves in `file:line:col` form.
fn strip_position_suffix(message: &str) -> String {
    match message.rsplit_once(" at line ") {
        Some((head, tail)) if tail.contains(", column ") => head.to_owned(),
        _ => message.to_owned(),
    }
}

/// The parser's budget errors, said the way an author understands them.
fn in_users_words(message: &str) -> String {
    if message.starts_with("alias replay limit exceeded") {
        "the file holds more values than lab reads (each use of a YAML alias counts its whole anchor)".to_owned()
    } else if message.starts_with("recursion limit exceeded") {
        "the YAML nests too deeply here for lab to read".to_owned()
    } else if let Some(rest) = message.strip_prefix("budget breached: ") {
        let what = rest.split([' ', '{', '(']).next().unwrap_or_default();
        match what {
            "Nodes" | "Events" | "AliasReplays" | "Aliases" => "the file holds more values than lab reads (each use of a YAML alias counts its whole anchor)".to_owned(),
            "Depth" | "MaxDepth" => "the YAML nests too deeply here for lab to read".to_owned(),
            _ => format!("the file is too large for lab to read ({})", what.to_ascii_lowercase()),
        }
    } else {
        message.to_owned()
    }
}

fn yaml_fix(message: &str) -> Option<String> {
    if message.starts_with("the YAML nests too deeply") {
        Some("write the structure flatter; course files are a few levels deep".into())
    } else if message.starts_with("the file holds more values") || message.starts_with("the file is too large") {
        Some("split the file, or remove repeated aliases".into())
    } else if message.starts_with("unknown field") {
        Some("check the spelling; the message lists the keys allowed here".into())
    } else if message.starts_with("missing field") {
        Some("add the key; it is required".into())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        title: String,
    }

    #[test]
    fn yaml_errors_name_file_line_and_column() {
        let err = parse_yaml::<Sample>("labs/x/lab.yml", "title: a\ntitel: b\n", 0).unwrap_err();
        assert_eq!(err.location(), "labs/x/lab.yml:2:1");
        assert!(err.message.starts_with("unknown field `titel`"), "{}", err.message);
        assert!(!err.message.contains("at line"), "{}", err.message);
        assert_eq!(err.source_line.as_deref(), Some("titel: b"));
        assert!(err.fix.is_some());
    }

    #[test]
    fn only_true_and_false_are_booleans() {
        let v: serde_json::Value = yaml_from_str("a: yes\nb: n\nc: true\nd: off\n").unwrap();
        assert_eq!(v, serde_json::json!({"a": "yes", "b": "n", "c": true, "d": "off"}));
    }

    #[test]
    fn quoted_lines_are_escaped_and_cut_around_the_column() {
        let err = ContentError::at("f.yml", "a:\tb\u{1b}[31m\u{202e}x\n", 1, 3, "m");
        assert_eq!(err.source_line.as_deref(), Some("a:\\tb\\u{1b}[31m\\u{202e}x"));
        let long = format!("{}X{}", "a".repeat(500), "b".repeat(500));
        let err = ContentError::at("f.yml", &long, 1, 501, "m");
        let quoted = err.source_line.unwrap();
        assert!(quoted.starts_with('…') && quoted.ends_with('…') && quoted.contains('X'), "{quoted}");
        assert_eq!(quoted.chars().count(), QUOTE_WIDTH + 2);
    }

    #[test]
    fn the_parsers_budgets_are_said_in_the_authors_words() {
        let deep = format!("title: {}{}\n", "[".repeat(2000), "]".repeat(2000));
        let err = parse_yaml::<serde_json::Value>("labs/x/lab.yml", &deep, 0).unwrap_err();
        assert!(err.location().starts_with("labs/x/lab.yml:1:"), "{err}");
        assert_eq!(err.message, "the YAML nests too deeply here for lab to read");
        assert!(err.fix.is_some());
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            bomb.push_str(&format!("a{i}: &a{i} [{}]\n", vec![format!("*a{}", i - 1); 10].join(", ")));
        }
        let err = parse_yaml::<serde_json::Value>("labs/x/lab.yml", &bomb, 0).unwrap_err();
        assert!(err.message.starts_with("the file holds more values than lab reads"), "{err}");
        assert!(err.position.is_some(), "{err}");
    }

    #[test]
    fn line_offset_shifts_the_reported_line_only() {
        let err = parse_yaml::<Sample>("slides/d.md", "titel: b\n", 1).unwrap_err();
        assert_eq!(err.location(), "slides/d.md:2:1");
        assert_eq!(err.source_line.as_deref(), Some("titel: b"));
    }
}
