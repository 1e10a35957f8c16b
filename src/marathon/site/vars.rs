//! lighter's variables, with lighter's exact rules: `%{name}` from `variables:`,
//! `%{env.NAME}` from the environment, `%{lighter.version}` from the image tag, `%%{x}` for a
//! literal. Each string is expanded on its own: a `variables:` name is used at most once per
//! string (so a cycle ends as "not defined", as in lighter), a string that is exactly
//! `%{name}` takes the value's type, and a value pasted into a longer string is written as
//! Python 2's `unicode()` wrote it. Expansion has a size budget, so a self-doubling chain of
//! variables is refused at its line instead of filling memory.

use super::{Env, Part};
use crate::course::ContentError;
use crate::marathon::python;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// The longest string one expansion may produce.
pub const MAX_STRING: usize = 1024 * 1024;
/// All expansions of one file together.
pub const MAX_TOTAL: usize = 8 * 1024 * 1024;
/// Rounds of expansion one string may take.
const MAX_ROUNDS: usize = 10_000;

/// Why a reference could not be expanded.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum SubstError {
    /// No such variable (or, for a `variables:` name, it was already used in this string).
    Unresolved(String),
    /// Expanding this name grew past the budget.
    TooLarge(String),
    /// A built-in that lab cannot provide.
    Builtin { name: String, reason: String },
}

/// Where the values come from.
pub(super) struct Variables<'a> {
    /// `variables:` of the merged document, as written (before any substitution).
    pub fixed: &'a Map<String, Value>,
    /// The process environment.
    pub env: &'a dyn Env,
    /// The app's image, in the second pass (`%{lighter.version}` is its tag).
    pub image: Option<String>,
}

enum Lookup {
    /// A `variables:` value: usable once per string.
    Fixed(Value),
    /// An environment or built-in value: usable again.
    Reusable(Value),
    Missing,
    Builtin(String),
}

impl Variables<'_> {
    fn lookup(&self, name: &str) -> Lookup {
        if let Some(image) = &self.image {
            match name {
                "lighter.version" => {
                    return match image_tag(image) {
                        Some(tag) => Lookup::Reusable(Value::String(tag)),
                        None => Lookup::Builtin(format!("lighter could not read the image name `{image}` to find its tag")),
                    };
                }
                "lighter.uniqueVersion" => {
                    return Lookup::Builtin("it is the image's id in its registry, which lab does not look up (lab works offline); use %{lighter.version} or a variable of your own".into());
                }
                _ => {}
            }
        }
        if let Some(var) = name.strip_prefix("env.") {
            return self.env.var(var).map_or(Lookup::Missing, |v| Lookup::Reusable(Value::String(v)));
        }
        self.fixed.get(name).cloned().map_or(Lookup::Missing, Lookup::Fixed)
    }
}

/// The tag of an image as lighter read it (`latest` when there is none); `None` when
/// lighter's pattern for image names does not match.
pub(super) fn image_tag(image: &str) -> Option<String> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if image.is_empty() || !image.chars().all(|c| word(c) || matches!(c, '.' | '-' | '/' | ':')) {
        return None;
    }
    // A first segment with a dot or colon is a registry host (`registry:5000/...`).
    let rest = match image.split_once('/') {
        Some((host, rest)) if host.contains(['.', ':']) && host.chars().next().is_some_and(|c| word(c) || c == '-') => rest,
        _ => image,
    };
    match rest.split_once(':') {
        None => Some("latest".into()),
        Some((name, tag)) if !name.is_empty() && !tag.is_empty() && !tag.contains(':') => Some(tag.to_owned()),
        _ => None,
    }
}

/// Counts bytes produced, against [`MAX_TOTAL`].
#[derive(Default)]
pub(super) struct Budget {
    produced: usize,
}

/// Expands references in every string of `value` (not in map keys, as lighter). In strict
/// mode an unresolvable reference is an error; otherwise it stays for the second pass.
/// With `unescape`, `%%{x}` becomes `%{x}` afterwards.
pub(super) fn substitute(value: &mut Value, vars: &Variables, strict: bool, unescape: bool, budget: &mut Budget) -> Result<(), SubstError> {
    match value {
        Value::Object(map) => map.values_mut().try_for_each(|v| substitute(v, vars, strict, unescape, budget)),
        Value::Array(items) => items.iter_mut().try_for_each(|v| substitute(v, vars, strict, unescape, budget)),
        Value::String(text) => {
            let expanded = expand(text, vars, strict, budget)?;
            *value = match expanded {
                Value::String(s) if unescape => Value::String(unescape_literals(&s)),
                other => other,
            };
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Expands one string as lighter's `replace` did.
fn expand(text: &str, vars: &Variables, strict: bool, budget: &mut Budget) -> Result<Value, SubstError> {
    let mut result = Value::String(text.to_owned());
    let mut used: HashSet<String> = HashSet::new();
    for _round in 0..MAX_ROUNDS {
        let Value::String(current) = &result else { break };
        let names = reference_names(current);
        if names.is_empty() {
            break;
        }
        let mut replaced = false;
        for name in names {
            let Value::String(current) = &result else { break };
            let value = match vars.lookup(&name) {
                Lookup::Fixed(_) if used.contains(&name) => None,
                Lookup::Fixed(v) => {
                    used.insert(name.clone());
                    Some(v)
                }
                Lookup::Reusable(v) => Some(v),
                Lookup::Missing => None,
                Lookup::Builtin(reason) if strict => return Err(SubstError::Builtin { name, reason }),
                Lookup::Builtin(_) => None,
            };
            let Some(value) = value else {
                if strict {
                    return Err(SubstError::Unresolved(name));
                }
                continue;
            };
            let next = if *current == format!("%{{{name}}}") { value } else { Value::String(replace_all(current, &name, &template(&python::unicode(&value)))) };
            if next == result {
                // An environment value that names itself would loop forever in lighter.
                return Err(SubstError::TooLarge(name));
            }
            if let Value::String(s) = &next {
                budget.produced = budget.produced.saturating_add(s.len());
                if s.len() > MAX_STRING || budget.produced > MAX_TOTAL {
                    return Err(SubstError::TooLarge(name));
                }
            }
            result = next;
            replaced = true;
        }
        if !replaced {
            break;
        }
    }
    Ok(result)
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'.'
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Matches `%{\s*[\w.]+\s*}` at `at`; returns the name (trimmed) and the end.
fn reference_at(text: &str, at: usize) -> Option<(&str, usize)> {
    let bytes = text.as_bytes();
    if !text[at..].starts_with("%{") {
        return None;
    }
    let mut i = at + 2;
    while i < bytes.len() && is_space(bytes[i]) {
        i += 1;
    }
    let start = i;
    while i < bytes.len() && is_word(bytes[i]) {
        i += 1;
    }
    let end_name = i;
    while i < bytes.len() && is_space(bytes[i]) {
        i += 1;
    }
    (end_name > start && i < bytes.len() && bytes[i] == b'}').then(|| (&text[start..end_name], i + 1))
}

/// Names referenced as `%{name}` and not escaped as `%%{name}`, each once, in order.
pub(super) fn reference_names(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut at = 0;
    while let Some(pos) = text[at..].find("%{") {
        let start = at + pos;
        let escaped = start > 0 && text.as_bytes()[start - 1] == b'%';
        match reference_at(text, start) {
            Some((name, end)) if !escaped => {
                if !out.iter().any(|n| n == name) {
                    out.push(name.to_owned());
                }
                at = end;
            }
            _ => at = start + 1,
        }
    }
    out
}

/// Replaces every `%{ name }` (escaped ones too, as lighter's `re.sub` did).
fn replace_all(text: &str, name: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(pos) = text[at..].find("%{") {
        let start = at + pos;
        match reference_at(text, start) {
            Some((found, end)) if found == name => {
                out.push_str(&text[at..start]);
                out.push_str(with);
                at = end;
            }
            _ => {
                out.push_str(&text[at..start + 1]);
                at = start + 1;
            }
        }
    }
    out.push_str(&text[at..]);
    out
}

/// The replacement as Python's `re.sub` read it: `\n`, `\t`, `\\` and friends are escapes.
fn template(value: &str) -> String {
    if !value.contains('\\') {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let escaped = match chars.peek() {
            Some('n') => Some('\n'),
            Some('t') => Some('\t'),
            Some('r') => Some('\r'),
            Some('f') => Some('\x0c'),
            Some('v') => Some('\x0b'),
            Some('a') => Some('\x07'),
            Some('b') => Some('\x08'),
            Some('\\') => Some('\\'),
            _ => None,
        };
        match escaped {
            Some(e) => {
                chars.next();
                out.push(e);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// `%%{x}` → `%{x}` (spaces inside kept), as lighter did at the end of the second pass.
fn unescape_literals(text: &str) -> String {
    if !text.contains("%%{") {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(pos) = text[at..].find("%%{") {
        let start = at + pos;
        match reference_at(text, start + 1) {
            Some((_, end)) => {
                out.push_str(&text[at..start]);
                out.push_str(&text[start + 1..end]);
                at = end;
            }
            None => {
                out.push_str(&text[at..start + 1]);
                at = start + 1;
            }
        }
    }
    out.push_str(&text[at..]);
    out
}

/// Where a reference was written: file, its text, line, column.
pub(super) type Written = (String, String, u64, u64);

/// Where a `%{name}` reference was written, for the error.
pub(super) fn locate_reference(parts: &[Part], name: &str) -> Option<Written> {
    for part in parts {
        for (i, line) in part.text.lines().enumerate() {
            let mut at = 0;
            while let Some(pos) = line[at..].find("%{") {
                let start = at + pos;
                if let Some((found, end)) = reference_at(line, start) {
                    if found == name {
                        return Some((part.display.clone(), part.text.clone(), i as u64 + 1, line[..start].chars().count() as u64 + 1));
                    }
                    at = end;
                } else {
                    at = start + 1;
                }
            }
        }
    }
    None
}

/// The error for a reference that could not be expanded, at the line that wrote it.
pub(super) fn error(problem: SubstError, fixed: &Map<String, Value>, locate: &dyn Fn(&str) -> Option<Written>) -> ContentError {
    let (name, message, fix) = match problem {
        SubstError::Unresolved(name) => {
            let (message, fix) = if let Some(var) = name.strip_prefix("env.") {
                (format!("`%{{{name}}}` needs the environment variable {var}, which is not set"), "set the variable before deploying, or replace the reference".to_owned())
            } else if fixed.contains_key(&name) {
                (format!("`%{{{name}}}` refers back to itself through other variables"), "make the variables end in plain values".to_owned())
            } else {
                (format!("`%{{{name}}}` is not defined"), "define it under `variables:` in this file or a globals.yml, or write %%{...} for a literal".to_owned())
            };
            (name, message, fix)
        }
        SubstError::TooLarge(name) => (
            name.clone(),
            format!("expanding `%{{{name}}}` grows past {} KiB (variables that double each other, or a value that names itself)", MAX_STRING / 1024),
            "make the variables end in plain values".to_owned(),
        ),
        SubstError::Builtin { name, reason } => (name.clone(), format!("`%{{{name}}}` cannot be filled in: {reason}"), "replace the reference".to_owned()),
    };
    match locate(&name) {
        Some((file, text, line, col)) => ContentError::at(file, &text, line, col, message).with_fix(fix),
        None => ContentError::file("site", message).with_fix(fix),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct NoEnv;
    impl Env for NoEnv {
        fn var(&self, name: &str) -> Option<String> {
            (name == "HOME_DIR").then(|| "/home/x".to_owned())
        }
    }

    fn run(text: &str, fixed: Value, image: Option<&str>) -> Result<Value, SubstError> {
        let fixed = fixed.as_object().cloned().unwrap_or_default();
        let vars = Variables { fixed: &fixed, env: &NoEnv, image: image.map(str::to_owned) };
        let mut v = Value::String(text.to_owned());
        substitute(&mut v, &vars, true, true, &mut Budget::default())?;
        Ok(v)
    }

    #[test]
    fn whole_references_keep_their_type_but_spaced_ones_are_text() {
        assert_eq!(run("%{n}", json!({"n": 2}), None), Ok(json!(2)));
        assert_eq!(run("%{ n }", json!({"n": 2}), None), Ok(json!("2")));
        assert_eq!(run("x%{b}", json!({"b": true}), None), Ok(json!("xTrue")), "unicode(True)");
        assert_eq!(run("%{l}-", json!({"l": ["a", 1]}), None), Ok(json!("['a', 1]-")));
    }

    #[test]
    fn escapes_env_and_builtins() {
        assert_eq!(run("%%{x} %{env.HOME_DIR}", json!({}), None), Ok(json!("%{x} /home/x")));
        assert_eq!(run("v%{lighter.version}", json!({}), Some("registry:5000/org/app:1.2")), Ok(json!("v1.2")));
        assert_eq!(run("%{lighter.version}", json!({}), Some("nginx")), Ok(json!("latest")));
        assert_eq!(run("%{lighter.version}", json!({"lighter.version": "mine"}), None), Ok(json!("mine")));
        assert!(matches!(run("%{lighter.uniqueVersion}", json!({}), Some("nginx")), Err(SubstError::Builtin { .. })));
        assert!(matches!(run("%{lighter.version}", json!({}), Some("a@sha256:00")), Err(SubstError::Builtin { .. })));
    }

    #[test]
    fn cycles_end_as_unresolved_and_doubling_is_refused() {
        assert_eq!(run("%{a}", json!({"a": "x%{b}", "b": "y%{a}"}), None), Err(SubstError::Unresolved("a".into())));
        let mut vars = serde_json::Map::new();
        for i in 0..40 {
            vars.insert(format!("v{i}"), json!(format!("%{{v{}}}%{{v{}}}", i + 1, i + 1)));
        }
        vars.insert("v40".into(), json!("xx"));
        let started = std::time::Instant::now();
        assert!(matches!(run("%{v0}", Value::Object(vars), None), Err(SubstError::TooLarge(_))));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn names_are_ascii_words_and_escaped_ones_are_skipped() {
        assert_eq!(reference_names("%{a} %%{b} %{ c.d } %{é} %{a}"), vec!["a", "c.d"]);
        assert_eq!(template(r"C:\new\\path"), "C:\new\\path");
    }
}
