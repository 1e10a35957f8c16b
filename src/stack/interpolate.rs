//! Compose-style variable interpolation: `${VAR}`, `$VAR`, `${VAR:-default}`,
//! `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`, `${VAR:+alt}`, `${VAR+alt}`, and
//! `$$` for a literal `$`. Defaults may themselves contain variables.
//!
//! It runs on the stack file's text before YAML parsing, skipping comments, so that errors
//! keep exact line and column numbers. A substituted value may not contain a line break
//! (it would shift every later line); quote values with special YAML characters.

use std::collections::HashMap;

/// A failed substitution, at a 1-based line and column of the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct InterpolationError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What went wrong and how to fix it.
    pub message: String,
}

/// Where variables come from.
pub trait Vars {
    /// The value of `name`, if set.
    fn get(&self, name: &str) -> Option<&str>;
}

impl Vars for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        HashMap::get(self, name).map(String::as_str)
    }
}

/// How deep `${VAR:-${VAR:-...}}` may nest. Compose files nest two or three levels; the
/// limit keeps a hostile or generated file from exhausting the stack (each level is a
/// recursive call) and from rescanning the rest of the line at every level.
pub const MAX_DEPTH: usize = 32;

/// How large a stack file may grow through substitution (8 MiB, as for site files):
/// `$BIG$BIG$BIG…` with a large variable would otherwise fill memory before YAML is read.
pub const MAX_EXPANDED_BYTES: usize = 8 << 20;

/// Interpolates a whole stack file's text.
pub fn interpolate_text(text: &str, vars: &dyn Vars) -> Result<String, InterpolationError> {
    let mut out = String::with_capacity(text.len());
    let mut expander = Expander { vars, budget: MAX_EXPANDED_BYTES };
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let (content, comment) = split_comment(line);
        let replaced = expander.run(content, 0).map_err(|(at, message)| InterpolationError {
            line: i + 1,
            column: content[..at].chars().count() + 1,
            message,
        })?;
        if replaced.matches('\n').count() != content.matches('\n').count() {
            return Err(InterpolationError {
                line: i + 1,
                column: 1,
                message: "a variable's value contains a line break, which a stack file line cannot hold".into(),
            });
        }
        out.push_str(&replaced);
        out.push_str(comment);
    }
    Ok(out)
}

/// Splits a YAML line into content and trailing comment (a `#` at line start or after
/// whitespace, outside quotes).
fn split_comment(line: &str) -> (&str, &str) {
    let mut quote: Option<char> = None;
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if (c == '"' || c == '\'') && prev_space_or_indicator(line, i) => quote = Some(c),
            None if c == '#' && prev_space => return line.split_at(i),
            None => {}
        }
        prev_space = c.is_whitespace();
    }
    (line, "")
}

/// A quote opens a quoted scalar only at the start of a value (after space, `:`, `-`, `[`, `{` or `,`).
fn prev_space_or_indicator(line: &str, i: usize) -> bool {
    line[..i].trim_end().chars().last().is_none_or(|c| matches!(c, ':' | '-' | '[' | '{' | ','))
}

/// Interpolates one string. On error returns the byte offset of the failing `$` and a message.
pub fn interpolate(input: &str, vars: &dyn Vars) -> Result<String, (usize, String)> {
    Expander { vars, budget: MAX_EXPANDED_BYTES }.run(input, 0)
}

/// One interpolation run: the variables and what is left of the size budget, shared by
/// every nesting level so that nested defaults count too.
struct Expander<'a> {
    vars: &'a dyn Vars,
    budget: usize,
}

/// A failure at a byte offset of the string being expanded, with its message.
type Failure = (usize, String);

impl Expander<'_> {
    /// Appends `text` to `out` if the budget allows; `at` is where the text comes from.
    fn emit(&mut self, out: &mut String, text: &str, at: usize) -> Result<(), Failure> {
        self.budget = self.budget.checked_sub(text.len()).ok_or_else(|| {
            (at, format!("substituting variables makes the stack file larger than {} MiB; lab stops here (is a large variable used many times?)", MAX_EXPANDED_BYTES >> 20))
        })?;
        out.push_str(text);
        Ok(())
    }

    /// Expands `input`, which sits `depth` levels inside `${...}` defaults. Offsets in
    /// errors are relative to `input`.
    fn run(&mut self, input: &str, depth: usize) -> Result<String, Failure> {
        let bytes = input.as_bytes();
        let mut out = String::with_capacity(input.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] != b'$' {
                let next = input[i..].find('$').map_or(input.len(), |n| i + n);
                self.emit(&mut out, &input[i..next], i)?;
                i = next;
                continue;
            }
            match bytes.get(i + 1) {
                Some(b'$') => {
                    self.emit(&mut out, "$", i)?;
                    i += 2;
                }
                Some(b'{') => {
                    if depth >= MAX_DEPTH {
                        return Err((i, format!("variables nest more than {MAX_DEPTH} levels deep (`${{A:-${{B:-…}}}}`); lab stops here")));
                    }
                    let close = matching_brace(input, i + 2).ok_or((i, "`${` is never closed with `}`".to_owned()))?;
                    let body = &input[i + 2..close];
                    let value = self.expand(body, depth).map_err(|e| match e {
                        // An error inside the body points into it; others at this `${`.
                        Nested(at, m) => (i + 2 + at, m),
                        Here(m) => (i, m),
                    })?;
                    self.emit(&mut out, &value, i)?;
                    i = close + 1;
                }
                Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                    let end = input[i + 1..]
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .map_or(input.len(), |n| i + 1 + n);
                    let value = self.vars.get(&input[i + 1..end]).unwrap_or("");
                    self.emit(&mut out, value, i)?;
                    i = end;
                }
                _ => {
                    self.emit(&mut out, "$", i)?;
                    i += 1;
                }
            }
        }
        Ok(out)
    }

    /// Expands the body of one `${...}` found `depth` levels deep.
    fn expand(&mut self, body: &str, depth: usize) -> Result<String, BodyError> {
        let name_end = body.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(body.len());
        let name = &body[..name_end];
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(Here(format!("`${{{body}}}` is not a valid variable reference")));
        }
        let op = &body[name_end..];
        let vars = self.vars;
        let value = vars.get(name);
        let set_nonempty = value.is_some_and(|v| !v.is_empty());
        // The operand starts `skip` bytes into `op`; errors inside it keep their offset.
        let operand_start = |skip: usize| name_end + skip;
        let mut nested = |skip: usize| self.run(&op[skip..], depth + 1).map_err(|(at, m)| Nested(operand_start(skip) + at, m));
        match op {
            "" => Ok(value.unwrap_or("").to_owned()),
            _ if op.starts_with(":-") => if set_nonempty { Ok(value.unwrap_or("").to_owned()) } else { nested(2) },
            _ if op.starts_with('-') => value.map_or_else(|| nested(1), |v| Ok(v.to_owned())),
            _ if op.starts_with(":?") => {
                if set_nonempty { Ok(value.unwrap_or("").to_owned()) } else { Err(Here(required(name, &nested(2)?))) }
            }
            _ if op.starts_with('?') => match value {
                Some(v) => Ok(v.to_owned()),
                None => Err(Here(required(name, &nested(1)?))),
            },
            _ if op.starts_with(":+") => if set_nonempty { nested(2) } else { Ok(String::new()) },
            _ if op.starts_with('+') => if value.is_some() { nested(1) } else { Ok(String::new()) },
            _ => Err(Here(format!("`${{{body}}}`: unknown operator after `{name}` (use :-, -, :?, ?, :+ or +)"))),
        }
    }
}

/// Why a `${...}` body failed: at the reference itself, or somewhere inside its operand.
enum BodyError {
    Here(String),
    Nested(usize, String),
}
use BodyError::{Here, Nested};

/// Index of the `}` closing a `${` whose body starts at `start` (nested `${` allowed).
fn matching_brace(input: &str, start: usize) -> Option<usize> {
    let mut depth = 1;
    let bytes = input.as_bytes();
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn required(name: &str, message: &str) -> String {
    if message.is_empty() {
        format!("variable {name} is required but not set; set it in the environment")
    } else {
        format!("variable {name} is required: {message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> HashMap<String, String> {
        HashMap::from([("HOST".into(), "db.local".into()), ("EMPTY".into(), String::new()), ("PORT".into(), "5432".into())])
    }

    fn i(s: &str) -> Result<String, (usize, String)> {
        interpolate(s, &vars())
    }

    #[test]
    fn plain_and_braced_references() {
        assert_eq!(i("$HOST:${PORT}").unwrap(), "db.local:5432");
        assert_eq!(i("${MISSING}x$MISSING").unwrap(), "x");
        assert_eq!(i("cost: 5$").unwrap(), "cost: 5$");
    }

    #[test]
    fn dollar_dollar_is_a_literal_dollar() {
        assert_eq!(i("echo $$HOME $${HOST}").unwrap(), "echo $HOME ${HOST}");
    }

    #[test]
    fn defaults_distinguish_unset_from_empty() {
        assert_eq!(i("${EMPTY:-d}").unwrap(), "d");
        assert_eq!(i("${EMPTY-d}").unwrap(), "");
        assert_eq!(i("${MISSING-d}").unwrap(), "d");
        assert_eq!(i("${HOST:-d}").unwrap(), "db.local");
        assert_eq!(i("${MISSING:-${HOST}:${PORT}}").unwrap(), "db.local:5432");
    }

    #[test]
    fn required_variables_fail_with_the_message() {
        let (at, msg) = i("x ${MISSING:?set it to the db host}").unwrap_err();
        assert_eq!(at, 2);
        assert_eq!(msg, "variable MISSING is required: set it to the db host");
        assert!(i("${EMPTY:?no}").is_err());
        assert_eq!(i("${EMPTY?no}").unwrap(), "");
        assert!(i("${MISSING?}").unwrap_err().1.contains("required but not set"));
    }

    #[test]
    fn alternative_values() {
        assert_eq!(i("${HOST:+yes}").unwrap(), "yes");
        assert_eq!(i("${EMPTY:+yes}").unwrap(), "");
        assert_eq!(i("${EMPTY+yes}").unwrap(), "yes");
        assert_eq!(i("${MISSING+yes}").unwrap(), "");
    }

    #[test]
    fn malformed_references_are_errors() {
        assert!(i("${HOST").is_err());
        assert!(i("${1A}").is_err());
        assert!(i("${HOST/x}").unwrap_err().1.contains("unknown operator"));
    }

    #[test]
    fn text_interpolation_skips_comments_and_reports_positions() {
        let text = "a: ${HOST} # ${MISSING:?not checked in comments}\nb: '# ${PORT}'\nc: x${NOPE:?needed}\n";
        let err = interpolate_text(text, &vars()).unwrap_err();
        assert_eq!((err.line, err.column), (3, 5));
        let ok = interpolate_text("a: ${HOST} # ${MISSING:?x}\nb: '# ${PORT}'\n", &vars()).unwrap();
        assert_eq!(ok, "a: db.local # ${MISSING:?x}\nb: '# 5432'\n");
    }

    #[test]
    fn errors_inside_a_default_point_at_the_inner_reference() {
        let (at, msg) = i("a ${MISSING:-${NOPE:?needed}}").unwrap_err();
        assert_eq!((at, msg.as_str()), (13, "variable NOPE is required: needed"));
        let err = interpolate_text("x:\n  y: ${A-${B-${C:?set C}}}\n", &vars()).unwrap_err();
        assert_eq!((err.line, err.column), (2, 14), "at `${{C`");
    }

    #[test]
    fn nesting_is_limited_and_reported_where_it_goes_too_deep() {
        let nested = |n: usize| format!("v: \"{}x{}\"\n", "${X:-".repeat(n), "}".repeat(n));
        assert_eq!(interpolate_text(&nested(MAX_DEPTH), &vars()).unwrap(), "v: \"x\"\n", "the limit itself is fine");
        let err = interpolate_text(&nested(MAX_DEPTH + 1), &vars()).unwrap_err();
        assert_eq!((err.line, err.column), (1, 5 + 5 * MAX_DEPTH), "{err}");
        assert!(err.message.contains(&format!("nest more than {MAX_DEPTH} levels")), "{err}");
        // What used to overflow the stack and abort the process is an error (in debug
        // builds too, where frames are large).
        let err = interpolate_text(&nested(100_000), &vars()).unwrap_err();
        assert!(err.message.contains("levels"), "{err}");
    }

    #[test]
    fn expansion_has_a_size_budget() {
        let vars = HashMap::from([("BIG".to_owned(), "x".repeat(1 << 20))]);
        let text = format!("v: {}\n", "$BIG".repeat(20));
        let err = interpolate_text(&text, &vars).unwrap_err();
        assert_eq!((err.line, err.column), (1, 4 + 4 * 7), "the eighth 1 MiB reference crosses 8 MiB: {err}");
        assert!(err.message.contains("larger than 8 MiB"), "{err}");
        assert!(interpolate_text(&format!("v: {}\n", "$BIG".repeat(7)), &vars).is_ok());
    }

    #[test]
    fn values_with_line_breaks_are_refused() {
        let vars = HashMap::from([("ML".to_owned(), "a\nb".to_owned())]);
        assert!(interpolate_text("x: ${ML}\n", &vars).is_err());
    }
}
