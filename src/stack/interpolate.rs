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

/// Interpolates a whole stack file's text.
pub fn interpolate_text(text: &str, vars: &dyn Vars) -> Result<String, InterpolationError> {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let (content, comment) = split_comment(line);
        let replaced = interpolate(content, vars).map_err(|(col, message)| InterpolationError {
            line: i + 1,
            column: content[..col].chars().count() + 1,
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
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            let next = input[i..].find('$').map_or(input.len(), |n| i + n);
            out.push_str(&input[i..next]);
            i = next;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'$') => {
                out.push('$');
                i += 2;
            }
            Some(b'{') => {
                let close = matching_brace(input, i + 2).ok_or((i, "`${` is never closed with `}`".to_owned()))?;
                out.push_str(&expand(&input[i + 2..close], vars).map_err(|m| (i, m))?);
                i = close + 1;
            }
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                let end = input[i + 1..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map_or(input.len(), |n| i + 1 + n);
                out.push_str(vars.get(&input[i + 1..end]).unwrap_or(""));
                i = end;
            }
            _ => {
                out.push('$');
                i += 1;
            }
        }
    }
    Ok(out)
}

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

/// Expands the body of one `${...}`.
fn expand(body: &str, vars: &dyn Vars) -> Result<String, String> {
    let name_end = body.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(body.len());
    let name = &body[..name_end];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!("`${{{body}}}` is not a valid variable reference"));
    }
    let op = &body[name_end..];
    let value = vars.get(name);
    let set_nonempty = value.is_some_and(|v| !v.is_empty());
    let nested = |s: &str| interpolate(s, vars).map_err(|(_, m)| m);
    match op {
        "" => Ok(value.unwrap_or("").to_owned()),
        _ if op.starts_with(":-") => if set_nonempty { Ok(value.unwrap_or("").to_owned()) } else { nested(&op[2..]) },
        _ if op.starts_with('-') => value.map_or_else(|| nested(&op[1..]), |v| Ok(v.to_owned())),
        _ if op.starts_with(":?") => {
            if set_nonempty { Ok(value.unwrap_or("").to_owned()) } else { Err(required(name, &nested(&op[2..])?)) }
        }
        _ if op.starts_with('?') => value.map(str::to_owned).ok_or_else(|| required(name, &nested(&op[1..]).unwrap_or_default())),
        _ if op.starts_with(":+") => if set_nonempty { nested(&op[2..]) } else { Ok(String::new()) },
        _ if op.starts_with('+') => if value.is_some() { nested(&op[1..]) } else { Ok(String::new()) },
        _ => Err(format!("`${{{body}}}`: unknown operator after `{name}` (use :-, -, :?, ?, :+ or +)")),
    }
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
    fn values_with_line_breaks_are_refused() {
        let vars = HashMap::from([("ML".to_owned(), "a\nb".to_owned())]);
        assert!(interpolate_text("x: ${ML}\n", &vars).is_err());
    }
}
