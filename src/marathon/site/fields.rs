//! Unknown fields in a rendered app (`instnces: 2`): Marathon ignores or rejects them, and
//! either way the student's intent is lost, so each one is a warning at the line that wrote
//! it, with the nearest known field. The known fields are data, read from Marathon's own
//! app schema (`app-fields.txt`, see its header for the sources).

use crate::marathon::yaml::{Node, PathSegment};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::OnceLock;

const FIELDS: &str = include_str!("../app-fields.txt");

struct Schema {
    /// `container.docker.image`, `healthChecks[].path`, ...
    known: HashSet<&'static str>,
    /// Maps whose keys are free (`env`, `labels`, ...).
    free: HashSet<&'static str>,
}

fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut known = HashSet::new();
        let mut free = HashSet::new();
        for line in FIELDS.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            match line.strip_suffix(".*") {
                Some(map) => {
                    free.insert(map);
                }
                None => {
                    known.insert(line);
                }
            }
        }
        Schema { known, free }
    })
}

/// One unknown field: where it is in the app, and a suggestion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownField {
    /// Its path in the app, as segments.
    pub path: Vec<PathSegment>,
    /// The field's name.
    pub name: String,
    /// The closest known field at the same place, if one is close.
    pub suggestion: Option<String>,
}

/// Every field of `app` that Marathon's schema does not know (below a known field only).
pub fn unknown_fields(app: &Value) -> Vec<UnknownField> {
    let mut out = Vec::new();
    walk(app, "", &mut Vec::new(), &mut out);
    out
}

fn walk(value: &Value, schema_path: &str, path: &mut Vec<PathSegment>, out: &mut Vec<UnknownField>) {
    let schema = schema();
    match value {
        Value::Object(map) => {
            if schema.free.contains(schema_path) {
                return;
            }
            for (key, child) in map {
                let child_path = if schema_path.is_empty() { key.clone() } else { format!("{schema_path}.{key}") };
                path.push(PathSegment::Key(key.clone()));
                if schema.known.contains(child_path.as_str()) || schema.free.contains(child_path.as_str()) {
                    walk(child, &child_path, path, out);
                } else {
                    out.push(UnknownField { path: path.clone(), name: key.clone(), suggestion: nearest(schema_path, key) });
                }
                path.pop();
            }
        }
        Value::Array(items) => {
            let item_path = format!("{schema_path}[]");
            for (i, item) in items.iter().enumerate() {
                if item.is_object() {
                    path.push(PathSegment::Index(i));
                    walk(item, &item_path, path, out);
                    path.pop();
                }
            }
        }
        _ => {}
    }
}

/// The known field under `parent` whose name is closest to `name` (a typo, a wrong case).
fn nearest(parent: &str, name: &str) -> Option<String> {
    let prefix = if parent.is_empty() { String::new() } else { format!("{parent}.") };
    let schema = schema();
    let lower = name.to_ascii_lowercase();
    schema
        .known
        .iter()
        .chain(schema.free.iter())
        .filter_map(|path| path.strip_prefix(prefix.as_str()))
        .filter(|rest| !rest.contains(['.', '[']))
        .map(|candidate| (distance(&lower, &candidate.to_ascii_lowercase()), candidate))
        .filter(|(d, candidate)| *d <= (candidate.len() / 3).max(2))
        .min()
        .map(|(_, c)| c.to_owned())
}

/// Levenshtein distance (names are short).
pub(super) fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

/// Where the field was written: the deepest node reached in the file's `override:` or
/// `service:` (or a JSON file's top level), as (line, column).
pub fn locate(roots: &[&Node], path: &[PathSegment]) -> Option<(u64, u64)> {
    roots.iter().map(|root| root.locate(path)).filter(|(_, depth)| *depth > 0).max_by_key(|(_, depth)| *depth).map(|(node, depth)| {
        // The key itself, when the whole path was found: the node is its value.
        let parent = if depth == path.len() && depth > 0 { roots.iter().map(|r| r.locate(&path[..depth - 1])).find(|(_, d)| *d == depth - 1).map(|(n, _)| n) } else { None };
        match (parent, path.last()) {
            (Some(parent), Some(PathSegment::Key(k))) => parent.entry(k).map_or((node.line, node.column), |(key, _)| (key.line, key.column)),
            _ => (node.line, node.column),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typos_are_found_with_a_suggestion() {
        let app = json!({"id": "/a", "instnces": 2, "container": {"docker": {"image": "x", "netwrok": "BRIDGE", "portMappings": [{"containerPort": 80, "servicPort": 1}]}}, "env": {"ANYTHING": "x"}, "labels": {"a": "b"}, "healthChecks": [{"path": "/", "protcol": "HTTP"}], "constraints": [["hostname", "UNIQUE"]]});
        let found: Vec<(String, Option<String>)> = unknown_fields(&app).into_iter().map(|u| (u.name, u.suggestion)).collect();
        assert_eq!(
            found,
            vec![
                ("instnces".into(), Some("instances".into())),
                ("netwrok".into(), Some("network".into())),
                ("servicPort".into(), Some("servicePort".into())),
                ("protcol".into(), Some("protocol".into())),
            ]
        );
    }

    #[test]
    fn response_fields_and_both_network_shapes_are_known() {
        let app = json!({"id": "/a", "networks": [{"mode": "container/bridge"}], "container": {"portMappings": [{"containerPort": 80}]}, "tasksRunning": 1, "version": "x", "portDefinitions": [{"port": 0}], "ports": [1], "requirePorts": false});
        assert_eq!(unknown_fields(&app), vec![]);
        assert_eq!(unknown_fields(&json!({"zzzzzz": 1}))[0].suggestion, None);
    }

    #[test]
    fn the_key_line_is_reported() {
        let node = Node::parse("a.yml", "service:\n  id: /a\n  container:\n    docker:\n      netwrok: BRIDGE\n").unwrap();
        let service = node.get("service").unwrap();
        let path = vec![PathSegment::Key("container".into()), PathSegment::Key("docker".into()), PathSegment::Key("netwrok".into())];
        assert_eq!(locate(&[service], &path), Some((5, 7)));
    }
}
