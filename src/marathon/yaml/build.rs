//! Builds a [`Node`] tree from the YAML parser's events the way PyYAML's loader built
//! lighter's documents: YAML 1.1 scalars, anchors and aliases, `<<` merge keys (a later key
//! wins, merged keys come first), one document per file — within budgets, so an alias bomb,
//! a huge file or absurd nesting is refused at its line instead of eating the machine.

use super::resolve::{self, Scalar};
use super::{Key, KeyKind, MAX_DEPTH, MAX_NODES, Node, NodeValue, Special};
use crate::course::ContentError;
use granit_parser::{Event, Options, Parser, ScalarStyle, Span, Tag};
use serde_json::Number;
use std::borrow::Cow;
use std::collections::HashMap;

/// The largest site file lab reads.
pub const MAX_BYTES: usize = 4 * 1024 * 1024;

/// A finished value on its way into its parent.
#[derive(Clone)]
struct Built {
    node: Node,
    /// A plain `<<`: a merge key when it stands as a key.
    merge: bool,
    /// Values in it, itself included.
    size: usize,
    /// Nesting depth, itself included.
    depth: usize,
}

/// A collection being read.
enum Frame {
    Seq { items: Vec<Node>, at: (u64, u64), anchor: usize, size: usize, depth: usize },
    Map { entries: Vec<(Key, Node)>, merged: Vec<(Key, Node)>, pending: Option<Pending>, at: (u64, u64), anchor: usize, size: usize, depth: usize },
}

/// The key read last, waiting for its value.
enum Pending {
    Key(Key),
    Merge { at: (u64, u64) },
}

struct Builder<'a> {
    file: &'a str,
    text: &'a str,
    anchors: HashMap<usize, Built>,
    stack: Vec<Frame>,
    nodes: usize,
    root: Option<Node>,
}

/// Parses one site file.
pub(super) fn build(file: &str, text: &str) -> Result<Node, ContentError> {
    if text.len() > MAX_BYTES {
        return Err(ContentError::file(file, format!("the file is {} KiB; site files may be at most {} KiB", text.len() / 1024, MAX_BYTES / 1024)).with_fix("split it into one file per app"));
    }
    let empty = Node { value: NodeValue::Map(Vec::new()), line: 1, column: 1 };
    if text.trim().is_empty() {
        return Ok(empty);
    }
    let mut options = Options::default();
    options.set_emit_comments(false);
    // PyYAML does not add a line break to a block scalar that ends the file.
    options.block_scalar_eof_without_line_feed = true;
    let mut builder = Builder { file, text, anchors: HashMap::new(), stack: Vec::new(), nodes: 0, root: None };
    let mut documents = 0;
    for item in Parser::new_from_str_with_options(text, options) {
        let (event, span) = item.map_err(|e| {
            let m = e.marker();
            let info = e.info();
            ContentError::at(file, text, m.line() as u64, m.col() as u64 + 1, if info.is_empty() { "invalid YAML".to_owned() } else { info }).with_fix(syntax_fix(&e.info()))
        })?;
        match event {
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return Err(builder.error(&span, "a second YAML document (`---`) starts here; lighter read one document per file").with_fix("put each app in its own file, or remove the `---` line"));
                }
            }
            Event::Scalar(value, style, anchor, tag) => {
                let built = builder.scalar(value, style, tag, &span)?;
                builder.finish(built, anchor, &span)?;
            }
            Event::Alias(id) => {
                let Some(target) = builder.anchors.get(&id).cloned() else {
                    return Err(builder.error(&span, "this alias names no anchor defined before it"));
                };
                builder.count(target.size, &span)?;
                builder.finish(target, 0, &span)?;
            }
            Event::SequenceStart(_, anchor, tag) => {
                builder.collection_tag(tag.as_deref(), "seq", &span)?;
                builder.count(1, &span)?;
                builder.stack.push(Frame::Seq { items: Vec::new(), at: position(&span), anchor, size: 1, depth: 0 });
            }
            Event::MappingStart(_, anchor, tag) => {
                builder.collection_tag(tag.as_deref(), "map", &span)?;
                builder.count(1, &span)?;
                builder.stack.push(Frame::Map { entries: Vec::new(), merged: Vec::new(), pending: None, at: position(&span), anchor, size: 1, depth: 0 });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = builder.stack.pop() else { continue };
                let (built, anchor) = close(frame);
                builder.finish(built, anchor, &span)?;
            }
            _ => {}
        }
    }
    Ok(builder.root.unwrap_or(Node { value: NodeValue::Null, line: 1, column: 1 }))
}

fn position(span: &Span) -> (u64, u64) {
    (span.start.line() as u64, span.start.col() as u64 + 1)
}

/// Turns a finished collection into its value.
fn close(frame: Frame) -> (Built, usize) {
    match frame {
        Frame::Seq { items, at, anchor, size, depth } => (Built { node: Node { value: NodeValue::Seq(items), line: at.0, column: at.1 }, merge: false, size, depth: depth + 1 }, anchor),
        Frame::Map { entries, merged, at, anchor, size, depth, .. } => {
            // PyYAML puts merged keys first and lets a later key win, so explicit keys beat
            // merged ones. A repeated key keeps its first place (linear, via an index).
            let mut out: Vec<(Key, Node)> = Vec::with_capacity(merged.len() + entries.len());
            let mut index: HashMap<String, usize> = HashMap::with_capacity(merged.len() + entries.len());
            for (key, value) in merged.into_iter().chain(entries) {
                let identity = key.identity();
                match index.get(&identity) {
                    Some(&i) => out[i].1 = value,
                    None => {
                        index.insert(identity, out.len());
                        out.push((key, value));
                    }
                }
            }
            (Built { node: Node { value: NodeValue::Map(out), line: at.0, column: at.1 }, merge: false, size, depth: depth + 1 }, anchor)
        }
    }
}

impl Builder<'_> {
    fn error(&self, span: &Span, message: impl Into<String>) -> ContentError {
        let (line, column) = position(span);
        ContentError::at(self.file, self.text, line, column, message)
    }

    fn count(&mut self, n: usize, span: &Span) -> Result<(), ContentError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            return Err(self.error(span, format!("the file holds more than {MAX_NODES} values (each use of an alias counts its whole anchor)")).with_fix("site files describe one app; remove the repeated aliases"));
        }
        Ok(())
    }

    fn collection_tag(&self, tag: Option<&Tag>, wanted: &str, span: &Span) -> Result<(), ContentError> {
        match tag {
            None => Ok(()),
            Some(t) if t.handle() == "!" && t.suffix().is_empty() => Ok(()),
            Some(t) if t.handle() == "tag:yaml.org,2002:" && t.suffix() == wanted => Ok(()),
            Some(t) => Err(self.error(span, format!("the tag `{}` is not one lighter's loader could read here", shown_tag(t))).with_fix("remove the tag")),
        }
    }

    fn scalar(&mut self, value: Cow<'_, str>, style: ScalarStyle, tag: Option<Cow<'_, Tag>>, span: &Span) -> Result<Built, ContentError> {
        self.count(1, span)?;
        let resolved = match tag.as_deref() {
            None if style == ScalarStyle::Plain => resolve::plain(&value),
            None => Scalar::Str(value.into_owned()),
            Some(t) => self.tagged(t, &value, span)?,
        };
        let (line, column) = position(span);
        let mut merge = false;
        let value = match resolved {
            Scalar::Null => NodeValue::Null,
            Scalar::Bool(b) => NodeValue::Bool(b),
            Scalar::Int(n) => match (i64::try_from(n), u64::try_from(n)) {
                (Ok(i), _) => NodeValue::Number(i.into()),
                (_, Ok(u)) => NodeValue::Number(u.into()),
                _ => NodeValue::Special(Special::BigInt(n)),
            },
            Scalar::Float(f) => Number::from_f64(f).map_or(NodeValue::Special(Special::Float(f)), NodeValue::Number),
            Scalar::Timestamp(t) => NodeValue::Special(Special::Timestamp(t)),
            Scalar::Merge => {
                merge = true;
                NodeValue::Str("<<".into())
            }
            Scalar::Value => NodeValue::Str("=".into()),
            Scalar::Str(s) => NodeValue::Str(s),
        };
        Ok(Built { node: Node { value, line, column }, merge, size: 1, depth: 1 })
    }

    /// A scalar with an explicit tag, constructed as PyYAML's constructors did.
    fn tagged(&self, tag: &Tag, value: &str, span: &Span) -> Result<Scalar, ContentError> {
        if tag.handle() == "!" && tag.suffix().is_empty() {
            return Ok(Scalar::Str(value.to_owned()));
        }
        let bad = |what: &str| self.error(span, format!("`{}` is not {what}", value.trim())).with_fix(format!("fix the value or remove the tag `{}`", shown_tag(tag)));
        if tag.handle() != "tag:yaml.org,2002:" {
            return Err(self.error(span, format!("the tag `{}` is not one lighter's loader could read", shown_tag(tag))).with_fix("remove the tag"));
        }
        Ok(match tag.suffix() {
            "str" => Scalar::Str(value.to_owned()),
            "int" => Scalar::Int(resolve::construct_int(value).ok_or_else(|| bad("an integer"))?),
            "float" => Scalar::Float(resolve::construct_float(value).ok_or_else(|| bad("a number"))?),
            "bool" => Scalar::Bool(resolve::bool_value(&value.to_ascii_lowercase()).ok_or_else(|| bad("a boolean"))?),
            "null" => Scalar::Null,
            "timestamp" => Scalar::Timestamp(value.to_owned()),
            "merge" => Scalar::Merge,
            "value" => Scalar::Value,
            other => return Err(self.error(span, format!("the tag `!!{other}` is not supported in site files")).with_fix("write the value as plain text or a number")),
        })
    }

    /// Hands a finished value to its parent (or makes it the document).
    fn finish(&mut self, built: Built, anchor: usize, span: &Span) -> Result<(), ContentError> {
        if built.depth > MAX_DEPTH {
            return Err(self.error(span, format!("values nest more than {MAX_DEPTH} levels deep here")).with_fix("site files are a few levels deep; remove the nesting"));
        }
        if anchor != 0 {
            self.anchors.insert(anchor, built.clone());
        }
        let Some(parent) = self.stack.last_mut() else {
            self.root = Some(built.node);
            return Ok(());
        };
        match parent {
            Frame::Seq { items, size, depth, .. } => {
                *size += built.size;
                *depth = (*depth).max(built.depth);
                items.push(built.node);
            }
            Frame::Map { entries, merged, pending, size, depth, .. } => {
                *size += built.size;
                *depth = (*depth).max(built.depth);
                match pending.take() {
                    None if built.merge => *pending = Some(Pending::Merge { at: (built.node.line, built.node.column) }),
                    None => {
                        let key = key_of(&built.node).map_err(|m| self.error(span, m).with_fix("quote the key to make it text"))?;
                        if let Some(Frame::Map { pending, .. }) = self.stack.last_mut() {
                            *pending = Some(Pending::Key(key));
                        }
                    }
                    Some(Pending::Key(key)) => entries.push((key, built.node)),
                    Some(Pending::Merge { at }) => {
                        let problem = "`<<` merges a map, or a list of maps, into this one";
                        match built.node.value {
                            NodeValue::Map(more) => merged.extend(more),
                            NodeValue::Seq(maps) => {
                                let mut lists = Vec::with_capacity(maps.len());
                                for m in maps {
                                    match m.value {
                                        NodeValue::Map(more) => lists.push(more),
                                        _ => return Err(ContentError::at(self.file, self.text, m.line, m.column, problem)),
                                    }
                                }
                                // Earlier maps in the list win, so they come last.
                                for more in lists.into_iter().rev() {
                                    merged.extend(more);
                                }
                            }
                            _ => return Err(ContentError::at(self.file, self.text, at.0, at.1, problem).with_fix("write `<<: *anchor` with an anchor on a map")),
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// A map key as `json.dumps` would write it, with its kind.
fn key_of(node: &Node) -> Result<Key, String> {
    let (text, kind) = match &node.value {
        NodeValue::Str(s) => (s.clone(), KeyKind::Str),
        NodeValue::Bool(b) => (b.to_string(), KeyKind::Bool),
        NodeValue::Null => ("null".to_owned(), KeyKind::Null),
        NodeValue::Number(n) if n.is_f64() => (n.as_f64().map_or_else(|| n.to_string(), crate::marathon::python::float_repr), KeyKind::Float),
        NodeValue::Number(n) => (n.to_string(), KeyKind::Int),
        NodeValue::Special(Special::BigInt(n)) => (n.to_string(), KeyKind::Int),
        NodeValue::Special(Special::Float(f)) => (
            if f.is_nan() {
                "NaN"
            } else if *f > 0.0 {
                "Infinity"
            } else {
                "-Infinity"
            }
            .to_owned(),
            KeyKind::Float,
        ),
        NodeValue::Special(Special::Timestamp(t)) => return Err(format!("the key `{t}` is a date in YAML 1.1, which lighter could not write as JSON")),
        NodeValue::Seq(_) | NodeValue::Map(_) => return Err("a list or a map cannot be a key".to_owned()),
    };
    Ok(Key { text, kind, line: node.line, column: node.column })
}

fn shown_tag(tag: &Tag) -> String {
    match tag.handle() {
        "tag:yaml.org,2002:" => format!("!!{}", tag.suffix()),
        "!" => format!("!{}", tag.suffix()),
        handle => format!("{handle}{}", tag.suffix()),
    }
}

/// What usually fixes a syntax error, by the parser's words.
fn syntax_fix(info: &str) -> String {
    if info.contains("mapping values are not allowed") {
        "a `key: value` cannot start here: check the indentation of this line and the one above, or quote a value that contains `: `".to_owned()
    } else if info.contains("tab") {
        "indent with spaces, not tabs".to_owned()
    } else if info.contains("did not find expected") || info.contains("while parsing") {
        "check the indentation and that every `[`, `{` and quote is closed".to_owned()
    } else {
        "check the indentation and quoting near this line".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::super::Node;
    use serde_json::json;

    fn json(text: &str) -> serde_json::Value {
        Node::parse("t.yml", text).unwrap_or_else(|e| panic!("{e}")).to_json()
    }

    #[test]
    fn scalars_resolve_as_yaml_1_1_and_quotes_keep_text() {
        let v = json("a: yes\nb: 'yes'\nc: 0755\nd: \"0755\"\ne: 1:30\nf: 1e3\ng: ~\nh: !!str 12\ni: !!int \"12\"\nj: !!float 1\nk: y\nl: |\n  two\n  lines\nm: |\n  last");
        assert_eq!(v, json!({"a": true, "b": "yes", "c": 493, "d": "0755", "e": 90, "f": "1e3", "g": null, "h": "12", "i": 12, "j": 1.0, "k": "y", "l": "two\nlines\n", "m": "last"}));
    }

    #[test]
    fn non_string_keys_are_written_as_json_writes_them() {
        let n = Node::parse("t.yml", "env:\n  2: a\n  on: b\n  ~: c\n  1.5: d\n  name: e\n").unwrap();
        let env = n.get("env").unwrap();
        let keys: Vec<(&str, super::KeyKind)> = env.entries().iter().map(|(k, _)| (k.text.as_str(), k.kind)).collect();
        use super::KeyKind::*;
        assert_eq!(keys, vec![("2", Int), ("true", Bool), ("null", Null), ("1.5", Float), ("name", Str)]);
    }

    #[test]
    fn merge_keys_and_aliases() {
        let v = json("base: &b {cpus: 1, mem: 64}\nextra: &e {mem: 128, disk: 5}\napp:\n  <<: [*b, *e]\n  cpus: 2\nlist: [*b]\nquoted: {\"<<\": x}\n");
        assert_eq!(v["app"], json!({"cpus": 2, "mem": 64, "disk": 5}), "explicit keys win; earlier merged maps beat later ones");
        assert_eq!(v["list"], json!([{"cpus": 1, "mem": 64}]));
        assert_eq!(v["quoted"], json!({"<<": "x"}), "a quoted << is an ordinary key");
    }

    #[test]
    fn a_repeated_key_keeps_its_place_and_the_last_value() {
        let v = json("a: 1\nb: 2\na: 3\n");
        assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"a":3,"b":2}"#);
        // Python: True == 1 and False == 0, so these are one key, spelt as written first.
        let v = json("on: enabled\n1: one\n0: zero\noff: disabled\n1.0: float\n");
        assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"true":"float","0":"disabled"}"#);
    }

    #[test]
    fn specials_survive_as_marked_values() {
        let n = Node::parse("t.yml", "a: .nan\nb: 2001-12-14\nc: 18446744073709551617\n").unwrap();
        let v = n.to_json();
        assert!(matches!(super::Special::from_json(&v["a"]), Some(super::Special::Float(f)) if f.is_nan()));
        assert_eq!(super::Special::from_json(&v["b"]), Some(super::Special::Timestamp("2001-12-14".into())));
        assert_eq!(super::Special::from_json(&v["c"]), Some(super::Special::BigInt(18446744073709551617)));
        assert_eq!(super::Special::from_json(&json!("ordinary")), None);
    }

    #[test]
    fn budgets_refuse_alias_bombs_deep_nesting_and_second_documents() {
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            bomb.push_str(&format!("a{i}: &a{i} [{}]\n", vec![format!("*a{}", i - 1); 10].join(", ")));
        }
        let err = Node::parse("t.yml", &bomb).unwrap_err();
        assert!(err.message.contains("more than"), "{err}");
        assert!(err.location().starts_with("t.yml:"), "{err}");

        let deep = "a: ".to_owned() + &"[".repeat(250) + &"]".repeat(250);
        assert!(Node::parse("t.yml", &deep).is_err());

        let err = Node::parse("t.yml", "a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(err.location(), "t.yml:2:1", "{err}");
    }

    #[test]
    fn bad_tags_and_keys_name_their_position() {
        let err = Node::parse("t.yml", "a: !custom x\n").unwrap_err();
        assert!(err.message.contains("!custom"), "{err}");
        let err = Node::parse("t.yml", "a:\n  2001-01-01: x\n").unwrap_err();
        assert_eq!(err.location(), "t.yml:2:3", "{err}");
        let err = Node::parse("t.yml", "a: !!int twelve\n").unwrap_err();
        assert!(err.message.contains("not an integer"), "{err}");
    }
}
