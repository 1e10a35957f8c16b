//! A stack file as a YAML tree that remembers where every key and value was written, read
//! with the same YAML 1.2 dialect (and anchors, aliases and `<<` merge keys) as the rest of
//! lab. The schema walks it to report every problem at its own line and column, and the
//! Compose v1 reader rewrites it; only then is it turned into the typed [`StackFile`].
//!
//! [`StackFile`]: super::file::StackFile

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;

/// A value with the 1-based position where it was written (for a value reached through an
/// alias: where the anchored value is defined, which is where a fix belongs).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
}

/// A map key with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The key as text (`80:` is the key "80").
    pub name: String,
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
}

/// The shapes a YAML 1.2 value takes.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~` or nothing.
    Null,
    /// `true` or `false` (only these: YAML 1.2).
    Bool(bool),
    /// A negative integer.
    Int(i64),
    /// A non-negative integer.
    UInt(u64),
    /// A float.
    Float(f64),
    /// Text.
    Str(String),
    /// A list.
    Seq(Vec<Node>),
    /// A map, in file order.
    Map(Vec<(Key, Node)>),
}

impl Node {
    /// A node at the position of `key` (for values lab writes on the author's behalf).
    pub fn at(key: &Key, value: Value) -> Node {
        Node { value, line: key.line, column: key.column }
    }

    /// The value of `key` when this is a map.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()?.iter().find(|(k, _)| k.name == key).map(|(_, v)| v)
    }

    /// The entries when this is a map.
    pub fn entries(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// A scalar as text (what Compose would read from it); `None` for null, lists and maps.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::UInt(u) => Some(u.to_string()),
            // `1e300` as written, not three hundred digits.
            Value::Float(f) if f.abs() >= 1e16 || (*f != 0.0 && f.abs() < 1e-6) => Some(format!("{f:e}")),
            Value::Float(f) => Some(f.to_string()),
            Value::Str(s) => Some(s.clone()),
            Value::Null | Value::Seq(_) | Value::Map(_) => None,
        }
    }

    /// What the value is, for messages: "a list", "the number 5", "`maybe`".
    pub fn describe(&self) -> String {
        match &self.value {
            Value::Null => "nothing (null)".into(),
            Value::Bool(b) => format!("the boolean {b}"),
            Value::Int(_) | Value::UInt(_) | Value::Float(_) => format!("the number {}", self.scalar_text().unwrap_or_default()),
            Value::Str(s) => format!("`{s}`"),
            Value::Seq(_) => "a list".into(),
            Value::Map(_) => "a map".into(),
        }
    }

    /// As JSON, keeping every value's type (extension fields, which lab does not read).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::UInt(u) => J::from(*u),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(entries.iter().map(|(k, v)| (k.name.clone(), v.to_json())).collect()),
        }
    }
}

/// How deep maps and lists may nest in a stack file. Real files nest about six levels;
/// reading, checking and lowering each recurse once per level, and 32 levels stay well
/// inside a 2 MiB thread stack (tokio's workers) even in a debug build, where the
/// reader's default of 64 did not.
pub const MAX_DEPTH: usize = 32;

/// The reader's limits for stack files: its defaults, but [`MAX_DEPTH`].
pub fn budget() -> serde_saphyr::Budget {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_DEPTH;
    budget
}

/// Parses YAML text into a positioned tree. An empty document is an empty map.
pub fn parse(text: &str) -> Result<Node, serde_saphyr::Error> {
    if text.trim().is_empty() {
        return Ok(Node { value: Value::Map(Vec::new()), line: 1, column: 1 });
    }
    // lab's YAML 1.2 dialect, except that `.nan` and `.inf` stay text: the schema then says
    // at the value why lab cannot use it (`cpus: .inf`), instead of the reader refusing it.
    let options = serde_saphyr::options! {
        strict_booleans: true,
        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::AsString,
        budget: Some(budget()),
        alias_limits: crate::course::error::alias_limits(),
    };
    let raw: RawNode = serde_saphyr::from_str_with_options(text, options)?;
    Ok(into_node(raw))
}

type RawNode = Spanned<RawValue>;

/// What serde-saphyr hands over, before positions are flattened.
enum RawValue {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<RawNode>),
    Map(Vec<(Spanned<RawKey>, RawNode)>),
}

struct RawKey(String);

fn into_node(raw: RawNode) -> Node {
    let value = match raw.value {
        RawValue::Null => Value::Null,
        RawValue::Bool(b) => Value::Bool(b),
        RawValue::Int(i) => Value::Int(i),
        RawValue::UInt(u) => Value::UInt(u),
        RawValue::Float(f) => Value::Float(f),
        RawValue::Str(s) => Value::Str(s),
        RawValue::Seq(items) => Value::Seq(items.into_iter().map(into_node).collect()),
        RawValue::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Key { name: k.value.0, line: k.defined.line(), column: k.defined.column() }, into_node(v)))
                .collect(),
        ),
    };
    Node { value, line: raw.defined.line(), column: raw.defined.column() }
}

impl<'de> Deserialize<'de> for RawKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a text, number or boolean key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawKey, E> {
                Ok(RawKey(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawKey, E> {
                Ok(RawKey(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawKey, E> {
                Ok(RawKey(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawKey, E> {
                Ok(RawKey(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawKey, E> {
                Ok(RawKey(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawKey, E> {
                Ok(RawKey("null".to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawValue, E> {
                Ok(RawValue::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<RawValue, E> {
                Ok(RawValue::Null)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawValue, E> {
                Ok(RawValue::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawValue, E> {
                Ok(if v >= 0 { RawValue::UInt(v as u64) } else { RawValue::Int(v) })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawValue, E> {
                Ok(RawValue::UInt(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawValue, E> {
                Ok(RawValue::Float(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawValue, E> {
                Ok(RawValue::Str(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<RawValue, E> {
                Ok(RawValue::Str(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawValue, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(RawValue::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawValue, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(RawValue::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_keep_their_positions() {
        let n = parse("services:\n  web:\n    image: x\n    ports: [80]\n").unwrap();
        let services = n.get("services").unwrap();
        let (key, web) = &services.entries().unwrap()[0];
        assert_eq!((key.name.as_str(), key.line, key.column), ("web", 2, 3));
        let image = web.get("image").unwrap();
        assert_eq!((image.line, image.column), (3, 12));
        let Value::Seq(ports) = &web.get("ports").unwrap().value else { panic!() };
        assert_eq!(ports[0].value, Value::UInt(80));
    }

    #[test]
    fn merged_and_aliased_values_point_at_their_definition() {
        let n = parse("x-c: &c\n  image: x\nservices:\n  a:\n    <<: *c\n    privileged: true\n").unwrap();
        let a = n.get("services").unwrap().get("a").unwrap();
        let keys: Vec<_> = a.entries().unwrap().iter().map(|(k, _)| (k.name.as_str(), k.line)).collect();
        assert_eq!(keys, vec![("privileged", 6), ("image", 2)]);
    }

    #[test]
    fn yaml_1_2_scalars() {
        let n = parse("a: yes\nb: 0.5\nc: ~\nd: -3\ne: true\n").unwrap();
        assert_eq!(n.get("a").unwrap().value, Value::Str("yes".into()));
        assert_eq!(n.get("b").unwrap().value, Value::Float(0.5));
        assert_eq!(n.get("c").unwrap().value, Value::Null);
        assert_eq!(n.get("d").unwrap().value, Value::Int(-3));
        assert_eq!(n.get("e").unwrap().value, Value::Bool(true));
        assert_eq!(parse("").unwrap().value, Value::Map(Vec::new()));
    }
}
