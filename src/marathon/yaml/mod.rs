//! Site files as YAML trees that remember where every value was written, so that a problem
//! found later (an unresolved variable, a field Marathon rejects) can point at the student's
//! own line and column.
//!
//! Site files are lighter's, and lighter read them with PyYAML: YAML 1.1. So they are read
//! here with YAML 1.1's rules too (`resolve`), not with the YAML 1.2 dialect the rest of lab
//! uses for its own files: a student's `0755`, `yes` or `1:30` means what it meant to lighter.

mod build;
pub mod resolve;

use crate::course::error::ContentError;
use serde_json::{Map, Number, Value};

/// The most values one site file may hold (an alias counts every time it is used), so that
/// an alias bomb is refused instead of exhausting memory.
pub const MAX_NODES: usize = 200_000;

/// The deepest nesting one site file may have (aliases included).
pub const MAX_DEPTH: usize = 200;

/// A YAML value with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: NodeValue,
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
}

/// The shapes a YAML value can take.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    /// `null`, `~` or empty.
    Null,
    /// A boolean (`true`, `yes`, `on`, ...).
    Bool(bool),
    /// An integer or a finite float that JSON can carry.
    Number(Number),
    /// A string.
    Str(String),
    /// A value PyYAML builds but JSON cannot carry (see [`Special`]).
    Special(Special),
    /// A list.
    Seq(Vec<Node>),
    /// A map, keys in file order (a repeated key keeps its first place and its last value,
    /// as in lighter).
    Map(Vec<(Key, Node)>),
}

/// Values lighter's loader produced that have no JSON form. They survive merging and
/// variables as marked strings (see [`Special::to_json`]); an env value turns them into
/// text the way lighter did, and anywhere else in an app they are an error at their line.
#[derive(Debug, Clone, PartialEq)]
pub enum Special {
    /// `.inf`, `-.inf` or `.nan`.
    Float(f64),
    /// An integer past 64 bits.
    BigInt(i128),
    /// A date or timestamp such as `2001-12-14`.
    Timestamp(String),
}

/// Marks a [`Special`] inside a JSON string. A NUL cannot be typed in a plain YAML scalar,
/// so no student's text starts with it by accident.
const SPECIAL_MARK: &str = "\u{0}lab-special:";

impl Special {
    /// The marked string that stands for this value in JSON.
    pub fn to_json(&self) -> Value {
        let body = match self {
            Special::Float(f) if f.is_nan() => "float:nan".to_owned(),
            Special::Float(f) if *f > 0.0 => "float:inf".to_owned(),
            Special::Float(_) => "float:-inf".to_owned(),
            Special::BigInt(n) => format!("int:{n}"),
            Special::Timestamp(t) => format!("date:{t}"),
        };
        Value::String(format!("{SPECIAL_MARK}{body}"))
    }

    /// The special value a JSON value stands for, if it is one.
    pub fn from_json(value: &Value) -> Option<Special> {
        let body = value.as_str()?.strip_prefix(SPECIAL_MARK)?;
        let (kind, text) = body.split_once(':')?;
        match kind {
            "float" => Some(Special::Float(match text {
                "nan" => f64::NAN,
                "inf" => f64::INFINITY,
                _ => f64::NEG_INFINITY,
            })),
            "int" => text.parse().ok().map(Special::BigInt),
            "date" => Some(Special::Timestamp(text.to_owned())),
            _ => None,
        }
    }

    /// How the student wrote it, near enough, for messages.
    pub fn describe(&self) -> String {
        match self {
            Special::Float(f) if f.is_nan() => "`.nan` (not a number)".to_owned(),
            Special::Float(f) if *f > 0.0 => "`.inf` (infinity)".to_owned(),
            Special::Float(_) => "`-.inf` (minus infinity)".to_owned(),
            Special::BigInt(n) => format!("{n} (too large for Marathon)"),
            Special::Timestamp(t) => format!("`{t}` (a date in YAML 1.1)"),
        }
    }
}

/// What kind of scalar a map key was (lighter refuses non-string env names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Text.
    Str,
    /// An integer (`1:`).
    Int,
    /// A float (`1.5:`).
    Float,
    /// A boolean (`on:`, `yes:`).
    Bool,
    /// `null:` or `~:`.
    Null,
}

/// A map key: its JSON spelling (as Python's `json.dumps` writes a non-string key), its
/// kind and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The key as JSON has it: `on` becomes `true`, `1` stays `1`.
    pub text: String,
    /// What the loader made of it.
    pub kind: KeyKind,
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
}

impl Key {
    /// What makes two keys the same in a Python dict: `True == 1 == 1.0`, `False == 0`.
    pub fn identity(&self) -> String {
        match self.kind {
            KeyKind::Str => format!("s:{}", self.text),
            KeyKind::Null => "null".to_owned(),
            KeyKind::Bool => if self.text == "true" { "#1" } else { "#0" }.to_owned(),
            KeyKind::Int => format!("#{}", self.text),
            KeyKind::Float => match self.text.parse::<f64>() {
                Ok(f) if f.fract() == 0.0 && f.abs() < 1e18 => format!("#{}", f as i64),
                _ => format!("#{}", self.text),
            },
        }
    }
}

impl Node {
    /// Parses `text` (named `file` in errors) with YAML 1.1 rules, within the budgets.
    pub fn parse(file: &str, text: &str) -> Result<Node, ContentError> {
        build::build(file, text)
    }

    /// As JSON (positions dropped; [`Special`] values become marked strings).
    pub fn to_json(&self) -> Value {
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Number(n) => Value::Number(n.clone()),
            NodeValue::Str(s) => Value::String(s.clone()),
            NodeValue::Special(s) => s.to_json(),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => Value::Object(entries.iter().map(|(k, v)| (k.text.clone(), v.to_json())).collect::<Map<_, _>>()),
        }
    }

    /// The child at `key` of a map node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key and child at `key` of a map node.
    pub fn entry(&self, key: &str) -> Option<(&Key, &Node)> {
        match &self.value {
            NodeValue::Map(entries) => entries.iter().find(|(k, _)| k.text == key).map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// The entries of a map node (empty for anything else).
    pub fn entries(&self) -> &[(Key, Node)] {
        match &self.value {
            NodeValue::Map(entries) => entries,
            _ => &[],
        }
    }

    /// Follows a path of map keys and list indexes; returns the deepest node reached and
    /// how many segments were matched.
    pub fn locate<'a>(&'a self, path: &[PathSegment]) -> (&'a Node, usize) {
        let mut current = self;
        for (depth, segment) in path.iter().enumerate() {
            let next = match (segment, &current.value) {
                (PathSegment::Key(k), NodeValue::Map(_)) => current.get(k),
                (PathSegment::Index(i), NodeValue::Seq(items)) => items.get(*i),
                (PathSegment::Index(i), NodeValue::Map(_)) => current.get(&i.to_string()),
                _ => None,
            };
            match next {
                Some(n) => current = n,
                None => return (current, depth),
            }
        }
        (current, path.len())
    }
}

/// One step of a path into a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    /// A map key.
    Key(String),
    /// A list index.
    Index(usize),
}

/// Parses the paths Marathon puts in validation errors: `/container/docker/portMappings(0)/servicePort`,
/// `/portMappings/0/servicePort`, `container.docker.portMappings[0].servicePort`.
pub fn parse_path(path: &str) -> Vec<PathSegment> {
    let mut out = Vec::new();
    for part in path.split(['/', '.']).filter(|p| !p.is_empty() && *p != "obj" && *p != "value") {
        let (key, rest) = part.split_once(['(', '[']).map_or((part, ""), |(k, r)| (k, r));
        if let Ok(i) = key.parse::<usize>() {
            out.push(PathSegment::Index(i));
        } else if !key.is_empty() {
            out.push(PathSegment::Key(key.to_owned()));
        }
        for index in rest.split([')', '(', '[', ']']).filter(|s| !s.is_empty()) {
            if let Ok(i) = index.parse::<usize>() {
                out.push(PathSegment::Index(i));
            }
        }
    }
    out
}

/// Writes a path the way a student reads YAML: `container.docker.portMappings[0].servicePort`.
pub fn display_path(path: &[PathSegment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            PathSegment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            PathSegment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "service:\n  id: /demo/x\n  instances: 2\n  container:\n    docker:\n      portMappings:\n        - containerPort: 80\n          servicePort: 8888\n  cpus: 0.5\n  ok: true\n  nothing:\n";

    #[test]
    fn values_keep_their_positions() {
        let n = Node::parse("x.yml", DOC).unwrap();
        let service = n.get("service").unwrap();
        assert_eq!((service.get("instances").unwrap().line, service.get("instances").unwrap().column), (3, 14));
        let path = parse_path("/container/docker/portMappings(0)/servicePort");
        let (found, depth) = service.locate(&path);
        assert_eq!(depth, 5);
        assert_eq!((found.line, found.column), (8, 24));
        assert_eq!(n.to_json()["service"]["cpus"], serde_json::json!(0.5));
        assert_eq!(n.to_json()["service"]["nothing"], Value::Null);
        assert_eq!(n.to_json()["service"]["ok"], Value::Bool(true));
    }

    #[test]
    fn missing_paths_stop_at_the_deepest_existing_node() {
        let n = Node::parse("x.yml", DOC).unwrap();
        let (found, depth) = n.get("service").unwrap().locate(&parse_path("/container/docker/network"));
        assert_eq!(depth, 2);
        assert_eq!(found.line, 6, "the docker map starts on line 6");
    }

    #[test]
    fn marathon_path_spellings() {
        let expected = vec![PathSegment::Key("portMappings".into()), PathSegment::Index(0), PathSegment::Key("servicePort".into())];
        assert_eq!(parse_path("/portMappings(0)/servicePort"), expected);
        assert_eq!(parse_path("/portMappings/0/servicePort"), expected);
        assert_eq!(parse_path("obj.portMappings[0].servicePort"), expected);
        assert_eq!(display_path(&expected), "portMappings[0].servicePort");
    }

    #[test]
    fn syntax_errors_name_the_file_and_position() {
        let err = Node::parse("site/x.yml", "service:\n  id: [\n").unwrap_err();
        assert!(err.location().starts_with("site/x.yml:"), "{err}");
    }
}
