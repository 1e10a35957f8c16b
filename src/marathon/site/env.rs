//! An app's `env`, as lighter prepared it for Marathon (which takes only text values):
//! names must be text, booleans become `true`/`false`, numbers their Python 2 `str()`,
//! null `null`, lists and maps their JSON. Values YAML 1.1 builds but JSON cannot carry
//! (`.nan`, a date, a 70-digit number) are text inside env, as in lighter, and an error at
//! their line anywhere else.

use super::Part;
use crate::course::ContentError;
use crate::marathon::python;
use crate::marathon::yaml::{KeyKind, Node, NodeValue, Special};
use serde_json::Value;

/// Refuses an env name that YAML read as a number, boolean or null (lighter stopped with
/// "Only string dict keys are supported").
pub(super) fn check_names(part: &Part) -> Result<(), ContentError> {
    for section in ["service", "override"] {
        let Some(env) = part.node.get(section).and_then(|s| s.get("env")) else { continue };
        for (key, _) in env.entries() {
            if key.kind != KeyKind::Str {
                let what = match key.kind {
                    KeyKind::Int | KeyKind::Float => "a number",
                    KeyKind::Bool => "a boolean",
                    _ => "null",
                };
                return Err(ContentError::at(&part.display, &part.text, key.line, key.column, format!("the env name `{}` is {what} in YAML, and env names must be text", key.text))
                    .with_fix("put quotes around the name"));
            }
        }
    }
    Ok(())
}

/// Turns every env value into the text lighter would have sent.
pub(super) fn coerce(config: &mut Value, parts: &[Part]) -> Result<(), ContentError> {
    let Some(env) = config.get_mut("env") else { return Ok(()) };
    let Value::Object(map) = env else {
        let (file, text, line, column) = position_of_env(parts);
        return Err(ContentError::at(file, text, line, column, "`env` must be a map of NAME: value").with_fix("write each variable as `NAME: value` under `env:`"));
    };
    for value in map.values_mut() {
        let text = match &*value {
            Value::String(s) => match Special::from_json(value) {
                Some(Special::Float(f)) => python::float_str(f),
                Some(Special::BigInt(n)) => n.to_string(),
                Some(special @ Special::Timestamp(_)) => return Err(special_error(&special, value, parts)),
                None => s.clone(),
            },
            Value::Bool(b) => b.to_string(),
            Value::Null => "null".to_owned(),
            Value::Number(n) => match n.as_f64() {
                Some(f) if n.is_f64() => python::float_str(f),
                _ => n.to_string(),
            },
            other => {
                if let Some((special @ Special::Timestamp(_), marked)) = first_special(other) {
                    return Err(special_error(&special, &marked, parts));
                }
                python::json_dumps(&unmark(other))
            }
        };
        *value = Value::String(text);
    }
    Ok(())
}

/// An error for any value JSON cannot carry left in the app (outside env).
pub(super) fn refuse_specials(config: &Value, parts: &[Part]) -> Result<(), ContentError> {
    match first_special(config) {
        Some((special, marked)) => Err(special_error(&special, &marked, parts)),
        None => Ok(()),
    }
}

fn first_special(value: &Value) -> Option<(Special, Value)> {
    match value {
        Value::String(_) => Special::from_json(value).map(|s| (s, value.clone())),
        Value::Array(items) => items.iter().find_map(first_special),
        Value::Object(map) => map.values().find_map(first_special),
        _ => None,
    }
}

/// Lists and maps inside env as Python's `json.dumps` wrote them: NaN as `NaN`, big
/// numbers as their digits.
fn unmark(value: &Value) -> Value {
    match value {
        Value::String(_) => match Special::from_json(value) {
            Some(Special::BigInt(n)) => serde_json::from_str(&n.to_string()).unwrap_or_else(|_| value.clone()),
            Some(Special::Float(f)) => Value::String(python::float_str(f)),
            _ => value.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(unmark).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), unmark(v))).collect()),
        other => other.clone(),
    }
}

fn special_error(special: &Special, marked: &Value, parts: &[Part]) -> ContentError {
    let message = format!("{} cannot be sent to Marathon", special.describe());
    let fix = match special {
        Special::Timestamp(t) => format!("quote it to keep it as text: \"{t}\""),
        Special::Float(_) => "quote it to keep it as text, or write a number".to_owned(),
        Special::BigInt(_) => "quote it to keep it as text, or use a smaller number".to_owned(),
    };
    for part in parts {
        if let Some(node) = find_node(&part.node, marked) {
            return ContentError::at(&part.display, &part.text, node.line, node.column, message).with_fix(fix);
        }
    }
    ContentError::file(parts.first().map_or("site", |p| p.display.as_str()), message).with_fix(fix)
}

fn find_node<'a>(node: &'a Node, marked: &Value) -> Option<&'a Node> {
    match &node.value {
        NodeValue::Special(s) if s.to_json() == *marked => Some(node),
        NodeValue::Seq(items) => items.iter().find_map(|n| find_node(n, marked)),
        NodeValue::Map(entries) => entries.iter().find_map(|(_, n)| find_node(n, marked)),
        _ => None,
    }
}

fn position_of_env(parts: &[Part]) -> (&str, &str, u64, u64) {
    for part in parts {
        for section in ["override", "service"] {
            if let Some(n) = part.node.get(section).and_then(|s| s.get("env")) {
                return (&part.display, &part.text, n.line, n.column);
            }
        }
    }
    parts.first().map_or(("site", "", 1, 1), |p| (p.display.as_str(), p.text.as_str(), 1, 1))
}
