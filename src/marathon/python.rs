//! How Python 2 wrote values as text, because lighter's output depends on it: `str()` of a
//! float in an env value keeps 12 significant digits, `json.dumps` writes a float key with
//! `repr()`, and a variable pasted into a longer string is `unicode(value)` — `True`, `None`
//! and `[u'a', 1]` included.

use serde_json::Value;

/// Python 2's `str(float)`: `%.12g`, with `.0` added to a whole number (`1000.0`, `1e+16`,
/// `3.14159265359`, `inf`, `nan`).
pub fn float_str(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let text = format_g(x, 12);
    if text.contains(['.', 'e']) { text } else { format!("{text}.0") }
}

/// Python 2.7's `repr(float)`: the shortest text that reads back the same, fixed notation
/// for exponents -4 to 15, else `1e+16`.
pub fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let sci = format!("{x:e}");
    let (mantissa, exp) = split_exponent(&sci);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let body = if (-4..16).contains(&exp) { fixed(&digits, exp, true) } else { scientific(&digits, exp) };
    if negative { format!("-{body}") } else { body }
}

/// `%.{precision}g`.
fn format_g(x: f64, precision: usize) -> String {
    if x == 0.0 {
        return if x.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let sci = format!("{:.*e}", precision - 1, x);
    let (mantissa, exp) = split_exponent(&sci);
    let negative = mantissa.starts_with('-');
    let mut digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    let precision = i32::try_from(precision).unwrap_or(i32::MAX);
    let body = if exp < -4 || exp >= precision { scientific(&digits, exp) } else { fixed(&digits, exp, false) };
    if negative { format!("-{body}") } else { body }
}

fn split_exponent(sci: &str) -> (&str, i32) {
    match sci.split_once('e') {
        Some((m, e)) => (m, e.parse().unwrap_or(0)),
        None => (sci, 0),
    }
}

/// Digits `d1d2d3...` with the decimal point after the first digit shifted by `exp`.
fn fixed(digits: &str, exp: i32, always_point: bool) -> String {
    let point = exp + 1;
    let mut out = if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else {
        let point = point as usize;
        if digits.len() <= point {
            format!("{digits}{}", "0".repeat(point - digits.len()))
        } else {
            format!("{}.{}", &digits[..point], &digits[point..])
        }
    };
    if always_point && !out.contains('.') {
        out.push_str(".0");
    }
    out
}

fn scientific(digits: &str, exp: i32) -> String {
    let mantissa = if digits.len() > 1 { format!("{}.{}", &digits[..1], &digits[1..]) } else { digits.to_owned() };
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
}

/// Python 2's `unicode(value)` of a JSON-shaped value, as lighter pasted a variable into a
/// longer string. Strings are themselves; inside lists and maps they are `u'...'` reprs.
pub fn unicode(value: &Value) -> String {
    if let Some(special) = crate::marathon::yaml::Special::from_json(value) {
        return match special {
            crate::marathon::yaml::Special::Float(f) => float_str(f),
            crate::marathon::yaml::Special::BigInt(n) => n.to_string(),
            crate::marathon::yaml::Special::Timestamp(t) => t,
        };
    }
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_f64() => n.as_f64().map_or_else(|| n.to_string(), float_str),
        other => repr(other),
    }
}

/// Python 2's `repr()` of a value loaded from YAML.
pub fn repr(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => float_repr(f),
            _ => n.to_string(),
        },
        Value::String(s) => string_repr(s),
        Value::Array(items) => format!("[{}]", items.iter().map(repr).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => format!("{{{}}}", map.iter().map(|(k, v)| format!("{}: {}", string_repr(k), repr(v))).collect::<Vec<_>>().join(", ")),
    }
}

/// `'text'`, or `u'text'` when it is not ASCII: PyYAML handed out `str` for ASCII text
/// and `unicode` for the rest.
fn string_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = if s.is_ascii() { quote.to_string() } else { format!("u{quote}") };
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) > 0x7f && (c as u32) <= 0xff => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) > 0xff && (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) > 0xffff => out.push_str(&format!("\\U{:08x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python 2's `json.dumps(value)` with its defaults: `", "` and `": "` separators, every
/// character past ASCII escaped, floats by `repr()`. Keys keep the file's order (Python 2's
/// dict order was its hash order, which no file can rely on).
pub fn json_dumps(value: &Value) -> String {
    let mut out = String::new();
    dump(value, &mut out);
    out
}

fn dump(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => out.push_str(&float_repr(f)),
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => dump_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                dump(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                dump_string(k, out);
                out.push_str(": ");
                dump(v, out);
            }
            out.push('}');
        }
    }
}

fn dump_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    // 3.14159265358979 is a float to print the way Python does, not a stand-in for π.
    #[allow(clippy::approx_constant)]
    fn str_keeps_twelve_significant_digits() {
        let cases = [
            (1000.0, "1000.0"),
            (0.1, "0.1"),
            (0.1 + 0.2, "0.3"),
            (3.14159265358979, "3.14159265359"),
            (1e16, "1e+16"),
            (1e12, "1e+12"),
            (123456789012.0, "123456789012.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
            (1234567.891234567, "1234567.89123"),
        ];
        for (x, want) in cases {
            assert_eq!(float_str(x), want, "{x}");
        }
        assert_eq!(float_str(f64::NAN), "nan");
        assert_eq!(float_str(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn repr_is_the_shortest_round_trip() {
        let cases = [(1.5, "1.5"), (10.0, "10.0"), (1e16, "1e+16"), (1e15, "1000000000000000.0"), (0.1 + 0.2, "0.30000000000000004"), (0.0001, "0.0001"), (0.00001, "1e-05"), (-1.25e-7, "-1.25e-07")];
        for (x, want) in cases {
            assert_eq!(float_repr(x), want, "{x}");
        }
    }

    #[test]
    fn unicode_of_values_is_python_2s() {
        assert_eq!(unicode(&json!("plain")), "plain");
        assert_eq!(unicode(&json!(true)), "True");
        assert_eq!(unicode(&json!(null)), "None");
        assert_eq!(unicode(&json!(2)), "2");
        assert_eq!(unicode(&json!(2.5)), "2.5");
        assert_eq!(unicode(&json!(0.1 + 0.2)), "0.3", "str() of a float, not repr()");
        assert_eq!(unicode(&json!([0.1 + 0.2])), "[0.30000000000000004]", "repr() inside a list");
        assert_eq!(unicode(&json!(["a", 1, false, "é"])), "['a', 1, False, u'\\xe9']");
        assert_eq!(unicode(&json!({"k": "it's"})), "{'k': \"it's\"}");
    }

    #[test]
    fn json_dumps_uses_pythons_separators_and_ascii_escapes() {
        assert_eq!(json_dumps(&json!({"a": [1, 2.5, null], "b": "é\n\"x\""})), r#"{"a": [1, 2.5, null], "b": "\u00e9\n\"x\""}"#);
        assert_eq!(json_dumps(&json!(["😀", 1e16])), r#"["\ud83d\ude00", 1e+16]"#);
    }
}
