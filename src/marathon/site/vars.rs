//! lighter's variables: `%{name}` from `variables:`, `%{env.NAME}` from the environment,
//! `%%{x}` for a literal, a whole-string reference keeping the value's type, and errors that
//! point at the line where an unresolved reference was written.

use super::{Env, Part};
use crate::course::ContentError;
use serde_json::{Map, Value};

/// Replaces `%{name}` references. In strict mode an unknown name is an error (the name is
/// returned); otherwise it is left for the second pass.
pub(super) fn substitute(value: &mut Value, variables: &Map<String, Value>, env: &dyn Env, strict: bool) -> Result<(), String> {
    for _round in 0..20 {
        let mut changed = false;
        walk_strings(value, &mut |s: &mut Value| {
            let Value::String(text) = s else { return Ok(()) };
            match expand(text, variables, env, strict)? {
                Some(new) => {
                    *s = new;
                    changed = true;
                    Ok(())
                }
                None => Ok(()),
            }
        })?;
        if !changed {
            return Ok(());
        }
    }
    Err("(variables that refer to each other in a cycle)".into())
}

fn walk_strings(value: &mut Value, f: &mut dyn FnMut(&mut Value) -> Result<(), String>) -> Result<(), String> {
    match value {
        Value::Object(map) => map.values_mut().try_for_each(|v| walk_strings(v, f)),
        Value::Array(items) => items.iter_mut().try_for_each(|v| walk_strings(v, f)),
        Value::String(_) => f(value),
        _ => Ok(()),
    }
}

/// A `%{...}` reference found in a string.
struct Reference {
    start: usize,
    end: usize,
    name: String,
}

fn references(text: &str) -> Vec<Reference> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(pos) = text[i..].find("%{") {
        let start = i + pos;
        let escaped = start > 0 && bytes[start - 1] == b'%';
        let Some(close) = text[start..].find('}') else { break };
        let end = start + close + 1;
        let name = text[start + 2..end - 1].trim();
        if !escaped && !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.') {
            out.push(Reference { start, end, name: name.to_owned() });
        }
        i = end;
    }
    out
}

/// Expands one string; `None` when nothing changed.
fn expand(text: &str, variables: &Map<String, Value>, env: &dyn Env, strict: bool) -> Result<Option<Value>, String> {
    let refs = references(text);
    if refs.is_empty() {
        return Ok(None);
    }
    let lookup = |name: &str| -> Option<Value> {
        match name.strip_prefix("env.") {
            Some(var) => env.var(var).map(Value::String),
            None => variables.get(name).cloned(),
        }
    };
    // A string that is exactly one reference takes the variable's value, type and all.
    if refs.len() == 1 && refs[0].start == 0 && refs[0].end == text.len() {
        return match lookup(&refs[0].name) {
            Some(v) => Ok(Some(v)),
            None if strict => Err(refs[0].name.clone()),
            None => Ok(None),
        };
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut changed = false;
    for r in &refs {
        out.push_str(&text[last..r.start]);
        match lookup(&r.name) {
            Some(Value::String(s)) => {
                out.push_str(&s);
                changed = true;
            }
            Some(other) => {
                out.push_str(&other.to_string());
                changed = true;
            }
            None if strict => return Err(r.name.clone()),
            None => out.push_str(&text[r.start..r.end]),
        }
        last = r.end;
    }
    out.push_str(&text[last..]);
    Ok(changed.then_some(Value::String(out)))
}

/// `%%{x}` becomes the literal `%{x}` once substitution is over.
pub(super) fn unescape(value: &mut Value) {
    let _ = walk_strings(value, &mut |s| {
        if let Value::String(text) = s
            && text.contains("%%{")
        {
            *text = text.replace("%%{", "%{");
        }
        Ok(())
    });
}

/// Where a reference was written: file, its text, line, column.
pub(super) type Written = (String, String, u64, u64);

/// Where a `%{name}` reference was written, for the error.
pub(super) fn locate_reference(parts: &[Part], name: &str) -> Option<Written> {
    for part in parts {
        for (i, line) in part.text.lines().enumerate() {
            if let Some(r) = references(line).into_iter().find(|r| r.name == name) {
                return Some((part.display.clone(), part.text.clone(), i as u64 + 1, line[..r.start].chars().count() as u64 + 1));
            }
        }
    }
    None
}

pub(super) fn unresolved(name: String, locate: &dyn Fn(&str) -> Option<Written>) -> ContentError {
    let message = if name.starts_with('(') {
        format!("cannot resolve the variables {name}")
    } else if let Some(var) = name.strip_prefix("env.") {
        format!("`%{{{name}}}` needs the environment variable {var}, which is not set")
    } else {
        format!("`%{{{name}}}` is not defined")
    };
    let fix = if name.starts_with("env.") {
        "set the variable before deploying, or replace the reference"
    } else {
        "define it under `variables:` in this file or a globals.yml, or write %%{...} for a literal"
    };
    match locate(&name) {
        Some((file, text, line, col)) => ContentError::at(file, &text, line, col, message).with_fix(fix),
        None => ContentError::file("site", message).with_fix(fix),
    }
}

