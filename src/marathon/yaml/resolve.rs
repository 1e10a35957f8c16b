//! YAML 1.1 scalar resolution, as lighter's loader (PyYAML) did it: which plain scalar is a
//! boolean, an integer, a float, a null or a date, and the value each one constructs to.
//!
//! The rules are PyYAML's implicit resolvers and constructors: `yes`/`no`/`on`/`off` are
//! booleans (`y`/`n` are not), `0755` is octal, `1:30` is sexagesimal (90), `1_000` is 1000,
//! a float needs a dot (`1e3` is a string, `1.0e+3` a float), and `2001-12-14` is a date.
//! Written out by hand instead of with regular expressions so each rule reads as the spec
//! does and the whole check stays linear in the scalar's length.

/// What a scalar resolves to.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// `~`, `null`, or nothing.
    Null,
    /// A YAML 1.1 boolean.
    Bool(bool),
    /// An integer (PyYAML's are unbounded; i128 holds every realistic one).
    Int(i128),
    /// A float, possibly infinite or NaN.
    Float(f64),
    /// A date or timestamp (PyYAML builds a `date`, which lighter cannot send).
    Timestamp(String),
    /// The merge key `<<`.
    Merge,
    /// The value key `=`.
    Value,
    /// Text.
    Str(String),
}

/// Resolves a plain (unquoted, untagged) scalar.
pub fn plain(text: &str) -> Scalar {
    if is_null(text) {
        Scalar::Null
    } else if let Some(b) = bool_value(text) {
        Scalar::Bool(b)
    } else if is_float(text) {
        construct_float(text).map_or_else(|| Scalar::Str(text.to_owned()), Scalar::Float)
    } else if is_int(text) {
        construct_int(text).map_or_else(|| Scalar::Str(text.to_owned()), Scalar::Int)
    } else if text == "<<" {
        Scalar::Merge
    } else if is_timestamp(text) {
        Scalar::Timestamp(text.to_owned())
    } else if text == "=" {
        Scalar::Value
    } else {
        Scalar::Str(text.to_owned())
    }
}

fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

/// The YAML 1.1 boolean spellings PyYAML resolves (`y` and `n` are not among them).
pub fn bool_value(text: &str) -> Option<bool> {
    match text {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// A cursor over the bytes of a scalar.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor { bytes: text.as_bytes(), at: 0 }
    }
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }
    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }
    fn eat_if(&mut self, f: impl Fn(u8) -> bool) -> bool {
        match self.peek() {
            Some(b) if f(b) => {
                self.at += 1;
                true
            }
            _ => false,
        }
    }
    /// Eats bytes while `f` holds; returns how many.
    fn eat_while(&mut self, f: impl Fn(u8) -> bool) -> usize {
        let start = self.at;
        while self.eat_if(&f) {}
        self.at - start
    }
    fn sign(&mut self) {
        let _ = self.eat(b'+') || self.eat(b'-');
    }
    fn done(&self) -> bool {
        self.at == self.bytes.len()
    }
    fn rest(&self) -> &'a [u8] {
        &self.bytes[self.at..]
    }
    /// `(:[0-5]?[0-9])+`: at least one sexagesimal group.
    fn sexagesimal_groups(&mut self) -> bool {
        let mut groups = 0;
        while self.peek() == Some(b':') {
            self.at += 1;
            match (self.peek(), self.bytes.get(self.at + 1).copied()) {
                (Some(a @ b'0'..=b'5'), Some(b'0'..=b'9')) if a.is_ascii_digit() => self.at += 2,
                (Some(b'0'..=b'9'), _) => self.at += 1,
                _ => return false,
            }
            groups += 1;
        }
        groups > 0
    }
}

fn digit_or_underscore(b: u8) -> bool {
    b.is_ascii_digit() || b == b'_'
}

/// `[eE][-+][0-9]+` at the end, or nothing.
fn exponent_then_end(c: &mut Cursor) -> bool {
    if c.done() {
        return true;
    }
    c.eat_if(|b| b == b'e' || b == b'E') && c.eat_if(|b| b == b'-' || b == b'+') && c.eat_while(|b| b.is_ascii_digit()) > 0 && c.done()
}

/// PyYAML's float resolver.
fn is_float(text: &str) -> bool {
    // [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
    let mut c = Cursor::new(text);
    c.sign();
    if c.eat_if(|b| b.is_ascii_digit()) {
        c.eat_while(digit_or_underscore);
        let after_digits = c.at;
        if c.eat(b'.') {
            c.eat_while(digit_or_underscore);
            if exponent_then_end(&mut c) {
                return true;
            }
        }
        // [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
        c.at = after_digits;
        if c.sexagesimal_groups() && c.eat(b'.') {
            c.eat_while(digit_or_underscore);
            return c.done();
        }
        return false;
    }
    // \.[0-9_]+(?:[eE][-+][0-9]+)?   (no sign allowed)
    let signed = c.at > 0;
    if c.eat(b'.') {
        let rest = c.rest();
        if matches!(rest, b"inf" | b"Inf" | b"INF") {
            return true;
        }
        if !signed && matches!(rest, b"nan" | b"NaN" | b"NAN") {
            return true;
        }
        if !signed && c.eat_while(digit_or_underscore) > 0 {
            return exponent_then_end(&mut c);
        }
    }
    false
}

/// PyYAML's int resolver.
fn is_int(text: &str) -> bool {
    let mut c = Cursor::new(text);
    c.sign();
    let start = c.at;
    // 0b[0-1_]+
    if c.eat(b'0') && c.eat(b'b') {
        return c.eat_while(|b| matches!(b, b'0' | b'1' | b'_')) > 0 && c.done();
    }
    c.at = start;
    // 0x[0-9a-fA-F_]+
    if c.eat(b'0') && c.eat(b'x') {
        return c.eat_while(|b| b.is_ascii_hexdigit() || b == b'_') > 0 && c.done();
    }
    c.at = start;
    // 0[0-7_]+  |  0
    if c.eat(b'0') {
        if c.done() {
            return true;
        }
        return c.eat_while(|b| matches!(b, b'0'..=b'7' | b'_')) > 0 && c.done();
    }
    // [1-9][0-9_]*  (then optional sexagesimal groups)
    if c.eat_if(|b| matches!(b, b'1'..=b'9')) {
        c.eat_while(digit_or_underscore);
        if c.done() {
            return true;
        }
        return c.sexagesimal_groups() && c.done();
    }
    false
}

/// `YYYY-MM-DD`, or the long timestamp form with a time and an optional zone.
fn is_timestamp(text: &str) -> bool {
    let mut c = Cursor::new(text);
    let digits = |c: &mut Cursor, min: usize, max: usize| {
        let n = c.eat_while(|b| b.is_ascii_digit());
        (min..=max).contains(&n)
    };
    if !(digits(&mut c, 4, 4) && c.eat(b'-')) {
        return false;
    }
    let date_start = c.at;
    if digits(&mut c, 2, 2) && c.eat(b'-') && digits(&mut c, 2, 2) && c.done() {
        return true;
    }
    c.at = date_start;
    if !(digits(&mut c, 1, 2) && c.eat(b'-') && digits(&mut c, 1, 2)) {
        return false;
    }
    if !(c.eat_if(|b| b == b'T' || b == b't') || c.eat_while(|b| b == b' ' || b == b'\t') > 0) {
        return false;
    }
    if !(digits(&mut c, 1, 2) && c.eat(b':') && digits(&mut c, 2, 2) && c.eat(b':') && digits(&mut c, 2, 2)) {
        return false;
    }
    if c.eat(b'.') {
        c.eat_while(|b| b.is_ascii_digit());
    }
    c.eat_while(|b| b == b' ' || b == b'\t');
    if c.done() {
        return true;
    }
    if c.eat(b'Z') {
        return c.done();
    }
    if c.eat_if(|b| b == b'+' || b == b'-') && digits(&mut c, 1, 2) {
        if c.eat(b':') && !digits(&mut c, 2, 2) {
            return false;
        }
        return c.done();
    }
    false
}

/// PyYAML's int constructor: underscores dropped, `0b`/`0x`/leading-zero octal, and
/// base-60 for `a:b:c`. `None` when the digits do not make a number (`0b_`).
pub fn construct_int(text: &str) -> Option<i128> {
    let cleaned: String = text.chars().filter(|c| *c != '_').collect();
    let (negative, digits) = match cleaned.as_bytes().first() {
        Some(b'-') => (true, &cleaned[1..]),
        Some(b'+') => (false, &cleaned[1..]),
        _ => (false, cleaned.as_str()),
    };
    let magnitude = if digits == "0" {
        Some(0)
    } else if let Some(bin) = digits.strip_prefix("0b") {
        i128::from_str_radix(bin, 2).ok()
    } else if let Some(hex) = digits.strip_prefix("0x") {
        i128::from_str_radix(hex, 16).ok()
    } else if digits.starts_with('0') {
        i128::from_str_radix(digits, 8).ok()
    } else if digits.contains(':') {
        digits.split(':').try_fold(0i128, |acc, part| acc.checked_mul(60)?.checked_add(part.parse::<i128>().ok()?))
    } else {
        digits.parse::<i128>().ok()
    }?;
    Some(if negative { -magnitude } else { magnitude })
}

/// PyYAML's float constructor: underscores dropped, `.inf`/`.nan`, and base-60.
pub fn construct_float(text: &str) -> Option<f64> {
    let cleaned: String = text.chars().filter(|c| *c != '_').collect::<String>().to_ascii_lowercase();
    let (sign, digits) = match cleaned.as_bytes().first() {
        Some(b'-') => (-1.0, &cleaned[1..]),
        Some(b'+') => (1.0, &cleaned[1..]),
        _ => (1.0, cleaned.as_str()),
    };
    let magnitude = if digits == ".inf" {
        f64::INFINITY
    } else if digits == ".nan" {
        f64::NAN
    } else if digits.contains(':') {
        digits.split(':').try_fold(0.0f64, |acc, part| Some(acc * 60.0 + part.parse::<f64>().ok()?))?
    } else {
        python_float(digits)?
    };
    Some(sign * magnitude)
}

/// Python's `float()` of a decimal spelling; it accepts `1.` and `.5` as Rust does, but
/// Rust also accepts `inf`/`nan` words, which PyYAML never hands it.
fn python_float(text: &str) -> Option<f64> {
    if text.is_empty() || text.bytes().any(|b| b.is_ascii_alphabetic() && b != b'e') {
        return None;
    }
    text.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_are_yaml_1_1_but_not_y_or_n() {
        for t in ["yes", "Yes", "YES", "on", "ON", "true", "True"] {
            assert_eq!(plain(t), Scalar::Bool(true), "{t}");
        }
        for t in ["no", "NO", "off", "Off", "false"] {
            assert_eq!(plain(t), Scalar::Bool(false), "{t}");
        }
        for t in ["y", "n", "Y", "yES", "oN"] {
            assert_eq!(plain(t), Scalar::Str(t.into()), "{t}");
        }
    }

    #[test]
    fn integers_include_octal_hex_binary_underscores_and_base_60() {
        let cases = [("0755", 493), ("010", 8), ("0", 0), ("-0", 0), ("+12", 12), ("0x1F", 31), ("0b101", 5), ("1_000", 1000), ("1:30", 90), ("-1:30:00", -5400), ("0_7", 7)];
        for (t, n) in cases {
            assert_eq!(plain(t), Scalar::Int(n), "{t}");
        }
        assert_eq!(plain("18446744073709551617"), Scalar::Int(18446744073709551617));
    }

    #[test]
    fn floats_need_a_dot() {
        let cases = [("1.5", 1.5), ("1.", 1.0), (".5", 0.5), ("1.0e+3", 1000.0), ("-2.5E-1", -0.25), ("1:30.5", 90.5), ("1_0.5", 10.5)];
        for (t, f) in cases {
            assert_eq!(plain(t), Scalar::Float(f), "{t}");
        }
        assert_eq!(plain(".inf"), Scalar::Float(f64::INFINITY));
        assert_eq!(plain("-.Inf"), Scalar::Float(f64::NEG_INFINITY));
        assert!(matches!(plain(".nan"), Scalar::Float(f) if f.is_nan()));
        for t in ["1e3", "1.0e3", "-.5", "08", "09.x", "1:65", "1:305", ".", "-.nan", "0b", "0x", "inf", "nan"] {
            assert!(matches!(plain(t), Scalar::Str(_)), "{t} should stay a string, got {:?}", plain(t));
        }
    }

    #[test]
    fn nulls_dates_and_special_keys() {
        for t in ["", "~", "null", "Null", "NULL"] {
            assert_eq!(plain(t), Scalar::Null, "{t:?}");
        }
        assert_eq!(plain("nULL"), Scalar::Str("nULL".into()));
        assert_eq!(plain("2001-12-14"), Scalar::Timestamp("2001-12-14".into()));
        assert_eq!(plain("2001-12-14t21:59:43.10-05:00"), Scalar::Timestamp("2001-12-14t21:59:43.10-05:00".into()));
        assert_eq!(plain("2001-12-14 21:59:43.10 -5"), Scalar::Timestamp("2001-12-14 21:59:43.10 -5".into()));
        assert_eq!(plain("2001-12-14T21:59:43Z"), Scalar::Timestamp("2001-12-14T21:59:43Z".into()));
        assert!(matches!(plain("2001-12-1"), Scalar::Str(_)));
        assert!(matches!(plain("2001-1-14"), Scalar::Str(_)));
        assert_eq!(plain("<<"), Scalar::Merge);
        assert_eq!(plain("="), Scalar::Value);
    }

    #[test]
    fn long_inputs_resolve_in_linear_time() {
        let long = "1".repeat(200_000) + ":";
        assert!(matches!(plain(&long), Scalar::Str(_)));
        let colons = "1".to_owned() + &":5".repeat(100_000);
        assert!(matches!(plain(&colons), Scalar::Str(_)), "base 60 past i128 is a string (constructor overflow)");
    }
}
