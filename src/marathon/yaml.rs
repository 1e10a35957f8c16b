//! Site files as YAML trees that remember where every value was written, so that a problem
//! found later (an unresolved variable, a field Marathon rejects) can point at the student's
//! own line and column.

use crate::course::error::{ContentError, yaml_error};
use crate::stack::values::Text;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Number, Value};
use serde_saphyr::Spanned;
use std::fmt;

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
    /// `null` or empty.
    Null,
    /// `true`/`false`.
    Bool(bool),
    /// An integer or float.
    Number(Number),
    /// A string.
    Str(String),
    /// A list.
    Seq(Vec<Node>),
    /// A map, keys in file order.
    Map(Vec<(String, Node)>),
}

impl<'de> Deserialize<'de> for NodeValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

fn node(spanned: Spanned<NodeValue>) -> Node {
    Node { value: spanned.value, line: spanned.referenced.line(), column: spanned.referenced.column() }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeValue;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<NodeValue, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<NodeValue, E> {
        Ok(NodeValue::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<NodeValue, E> {
        Ok(NodeValue::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<NodeValue, E> {
        Ok(NodeValue::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<NodeValue, E> {
        Number::from_f64(v).map(NodeValue::Number).ok_or_else(|| E::custom(format!("{v} is not a number JSON can carry")))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<NodeValue, E> {
        Ok(NodeValue::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<NodeValue, E> {
        Ok(NodeValue::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<NodeValue>>()? {
            items.push(node(item));
        }
        Ok(NodeValue::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeValue, A::Error> {
        let mut entries: Vec<(String, Node)> = Vec::new();
        while let Some(Text(key)) = map.next_key()? {
            let value = node(map.next_value::<Spanned<NodeValue>>()?);
            if let Some(existing) = entries.iter_mut().find(|(k, _)| *k == key) {
                existing.1 = value;
            } else {
                entries.push((key, value));
            }
        }
        Ok(NodeValue::Map(entries))
    }
}

impl Node {
    /// Parses `text` (named `file` in errors).
    pub fn parse(file: &str, text: &str) -> Result<Node, ContentError> {
        if text.trim().is_empty() {
            return Ok(Node { value: NodeValue::Map(Vec::new()), line: 1, column: 1 });
        }
        crate::course::error::yaml_from_str::<Spanned<NodeValue>>(text).map(node).map_err(|e| yaml_error(file, text, 0, &e))
    }

    /// As JSON (positions dropped).
    pub fn to_json(&self) -> Value {
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Number(n) => Value::Number(n.clone()),
            NodeValue::Str(s) => Value::String(s.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => Value::Object(entries.iter().map(|(k, v)| (k.clone(), v.to_json())).collect::<Map<_, _>>()),
        }
    }

    /// The child at `key` of a map node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            NodeValue::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
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
