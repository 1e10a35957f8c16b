//! The small value shapes Compose allows in several spellings (a string or a list, a list
//! or a map, a number or a string), read straight from YAML so that errors keep their
//! positions, plus parsers for durations, byte sizes and command lines.

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

/// A scalar read as text: strings, numbers and booleans all become their YAML spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor).map(Text)
    }
}

struct TextVisitor;

impl Visitor<'_> for TextVisitor {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string, number or boolean")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
}

/// `command: echo hi` or `command: [echo, hi]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StringOrList {
    /// One string (a command line is split like a shell would).
    One(String),
    /// A list of strings, used as is.
    Many(Vec<String>),
}

impl StringOrList {
    /// As a list; a single string is kept whole.
    pub fn into_list(self) -> Vec<String> {
        match self {
            StringOrList::One(s) => vec![s],
            StringOrList::Many(v) => v,
        }
    }
}

impl<'de> Deserialize<'de> for StringOrList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StringOrList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StringOrList, E> {
                Ok(StringOrList::One(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<StringOrList, E> {
                Ok(StringOrList::One(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<StringOrList, E> {
                Ok(StringOrList::One(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StringOrList, A::Error> {
                let mut out = Vec::new();
                while let Some(Text(item)) = seq.next_element()? {
                    out.push(item);
                }
                Ok(StringOrList::Many(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// `environment:` and friends: a list of `KEY=value` strings or a map (values may be null).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListOrMap {
    /// Raw list items; the caller splits them (on `=` or `:`).
    List(Vec<String>),
    /// Key/value pairs in file order; `None` for a null value.
    Map(Vec<(String, Option<String>)>),
}

impl ListOrMap {
    /// Key/value pairs, splitting list items at the first `sep`.
    pub fn pairs(&self, sep: char) -> Vec<(String, Option<String>)> {
        match self {
            ListOrMap::Map(pairs) => pairs.clone(),
            ListOrMap::List(items) => items
                .iter()
                .map(|item| match item.split_once(sep) {
                    Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
                    None => (item.clone(), None),
                })
                .collect(),
        }
    }
}

impl<'de> Deserialize<'de> for ListOrMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ListOrMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of KEY=value strings or a map")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ListOrMap, A::Error> {
                let mut out = Vec::new();
                while let Some(Text(item)) = seq.next_element()? {
                    out.push(item);
                }
                Ok(ListOrMap::List(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ListOrMap, A::Error> {
                let mut out = Vec::new();
                while let Some((Text(k), v)) = map.next_entry::<Text, Option<Text>>()? {
                    out.push((k, v.map(|t| t.0)));
                }
                Ok(ListOrMap::Map(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// A map that keeps the order the author wrote (services, named ports).
#[derive(Debug, Clone, PartialEq)]
pub struct OrderedMap<V>(pub Vec<(String, V)>);

impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        OrderedMap(Vec::new())
    }
}

impl<V> OrderedMap<V> {
    /// The value for `key`.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    /// Keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Vis<V> {
            type Value = OrderedMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(OrderedMap(Vec::new()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out: Vec<(String, V)> = Vec::new();
                // A set beside the list: searching the list for every key made a file
                // with 120k services take 16 s to read.
                let mut seen = HashSet::new();
                while let Some(Text(key)) = map.next_key()? {
                    if !seen.insert(key.clone()) {
                        return Err(de::Error::custom(format!("`{key}` is defined twice")));
                    }
                    let value = map.next_value()?;
                    out.push((key, value));
                }
                Ok(OrderedMap(out))
            }
        }
        d.deserialize_any(Vis(std::marker::PhantomData))
    }
}

/// A list of names, or a map from name to options (`depends_on`, service `networks`).
#[derive(Debug, Clone, PartialEq)]
pub struct NamesOrMap<V>(pub Vec<(String, Option<V>)>);

impl<V> Default for NamesOrMap<V> {
    fn default() -> Self {
        NamesOrMap(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for NamesOrMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Vis<V> {
            type Value = NamesOrMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of names or a map")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(Text(name)) = seq.next_element()? {
                    out.push((name, None));
                }
                Ok(NamesOrMap(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((Text(name), value)) = map.next_entry::<Text, Option<V>>()? {
                    out.push((name, value));
                }
                Ok(NamesOrMap(out))
            }
        }
        d.deserialize_any(Vis(std::marker::PhantomData))
    }
}

/// Either a short string form or a long map form (`ports`, `volumes`).
#[derive(Debug, Clone, PartialEq)]
pub enum ShortOrLong<L> {
    /// `"8080:80/tcp"`, `"data:/var/lib/x:ro"`.
    Short(String),
    /// The map form.
    Long(L),
}

impl<'de, L: Deserialize<'de>> Deserialize<'de> for ShortOrLong<L> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<L>(std::marker::PhantomData<L>);
        impl<'de, L: Deserialize<'de>> Visitor<'de> for Vis<L> {
            type Value = ShortOrLong<L>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a map")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ShortOrLong::Short(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(ShortOrLong::Short(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(ShortOrLong::Short(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                L::deserialize(de::value::MapAccessDeserializer::new(map)).map(ShortOrLong::Long)
            }
        }
        d.deserialize_any(Vis(std::marker::PhantomData))
    }
}

/// Parses a Compose duration: `1m30s`, `10s`, `500ms`, `2h`, `100us`, or plain seconds.
/// A duration too long for a [`Duration`] (about 584 billion years) is an error, never a
/// panic or a wrapped-around number.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let too_long = || format!("`{s}` is longer than lab can represent");
    let not_a_duration = || format!("`{s}` is not a duration like 10s, 1m30s or 500ms");
    let seconds = |secs: f64| -> Result<Duration, String> {
        if secs.is_nan() {
            Err(not_a_duration())
        } else if secs < 0.0 {
            Err(format!("`{s}` is negative; a duration is 0 or more"))
        } else {
            Duration::try_from_secs_f64(secs).map_err(|_| too_long())
        }
    };
    if let Ok(secs) = s.parse::<f64>() {
        return seconds(secs);
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    if rest.is_empty() {
        return Err("empty duration".into());
    }
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let unit_end = rest[num_end..].find(|c: char| c.is_ascii_digit()).map_or(rest.len(), |n| num_end + n);
        let value: f64 = rest[..num_end].parse().map_err(|_| not_a_duration())?;
        let unit = match &rest[num_end..unit_end] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return Err(not_a_duration()),
        };
        total = total.checked_add(seconds(value * unit)?).ok_or_else(too_long)?;
        rest = &rest[unit_end..];
    }
    Ok(total)
}

/// Parses a byte size: `512m`, `1g`, `64mb`, `1024` (bytes), `1.5g`. Sizes past what the
/// engine holds (a signed 64-bit count of bytes, 8 EiB) are an error, not a clamped value.
pub fn parse_bytes(s: &str) -> Result<i64, String> {
    let t = s.trim().to_ascii_lowercase();
    let num_end = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let value: f64 = t[..num_end].parse().map_err(|_| format!("`{s}` is not a size like 512m or 2g"))?;
    let unit = match t[num_end..].trim() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("`{s}` is not a size like 512m or 2g")),
    };
    let bytes = value * unit;
    // i64::MAX as f64 rounds up to 2^63, which itself does not fit: compare with `<`.
    if bytes < i64::MAX as f64 { Ok(bytes as i64) } else { Err(format!("`{s}` is more than the engine can represent (8 EiB at most)")) }
}

/// Splits a command line like a POSIX shell would split words (quotes and backslashes),
/// without expanding anything.
pub fn split_command(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(format!("unclosed ' in `{line}`")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(format!("unclosed \" in `{line}`")),
                        },
                        Some(c) => word.push(c),
                        None => return Err(format!("unclosed \" in `{line}`")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests;
