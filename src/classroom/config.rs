//! A class's settings: where students reach the server and their stacks, how many stacks
//! may run and start at once, which host ports the stacks may use, when idle stacks stop.
//! Kept in the store with the class, so a restarted server resumes with them.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The range of host ports students' stacks publish on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRange {
    /// First port.
    pub from: u16,
    /// Last port (inclusive).
    pub to: u16,
}

impl PortRange {
    /// Parses `FROM-TO`.
    pub fn parse(text: &str) -> Result<PortRange, String> {
        let (a, b) = text.split_once('-').ok_or_else(|| format!("`{text}` is not a range like 20000-20999"))?;
        let from: u16 = a.trim().parse().map_err(|_| format!("`{a}` is not a port number"))?;
        let to: u16 = b.trim().parse().map_err(|_| format!("`{b}` is not a port number"))?;
        if from < 1024 || to < from {
            return Err(format!("`{text}`: use ports from 1024 up, the first not after the last"));
        }
        Ok(PortRange { from, to })
    }

    /// How many blocks of `block` ports fit.
    pub fn blocks(&self, block: u16) -> usize {
        (usize::from(self.to) - usize::from(self.from) + 1) / usize::from(block.max(1))
    }
}

impl std::fmt::Display for PortRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.from, self.to)
    }
}

/// Settings of a class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// The name students use for the server and their stacks' ports.
    pub public_host: String,
    /// Most stacks running at once.
    pub max_stacks: usize,
    /// Most stacks starting at once (starting JVMs is CPU-bound).
    pub max_starting: usize,
    /// Host ports for the stacks.
    pub ports: PortRange,
    /// Stop a stack after this long without an open page (`None`: never).
    #[serde(with = "secs")]
    pub idle: Option<Duration>,
    /// Start a student's stack as soon as they join.
    pub autostart: bool,
}

/// Parses a duration such as `60m`, `1h30m`, `90s` or `0` (none).
pub fn parse_duration(text: &str) -> Result<Option<Duration>, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(None);
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(format!("`{text}` is not a duration like 60m, 1h30m or 0")),
        };
        let n: u64 = number.parse().map_err(|_| format!("`{text}` is not a duration like 60m, 1h30m or 0"))?;
        total = n.checked_mul(unit).and_then(|v| total.checked_add(v)).filter(|t| *t <= 7 * 24 * 3600).ok_or_else(|| format!("`{text}` is longer than a week"))?;
        number.clear();
    }
    if !number.is_empty() {
        return Err(format!("`{text}` needs a unit: h, m or s"));
    }
    Ok((total > 0).then(|| Duration::from_secs(total)))
}

/// Shows a duration the way it is typed (`60m`).
pub fn show_duration(d: Option<Duration>) -> String {
    match d.map(|d| d.as_secs()) {
        None | Some(0) => "never".into(),
        Some(s) if s % 3600 == 0 => format!("{}h", s / 3600),
        Some(s) if s % 60 == 0 => format!("{}m", s / 60),
        Some(s) => format!("{s}s"),
    }
}

mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.map_or(0, |d| d.as_secs()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let secs = u64::deserialize(d)?;
        Ok((secs > 0).then(|| Duration::from_secs(secs)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges_parse_and_hold_blocks() {
        let r = PortRange::parse("20000-20999").unwrap();
        assert_eq!(r.blocks(4), 250);
        assert!(PortRange::parse("80-90").is_err());
        assert!(PortRange::parse("30000-20000").is_err());
        assert!(PortRange::parse("x").is_err());
    }

    #[test]
    fn durations_read_as_typed() {
        assert_eq!(parse_duration("60m").unwrap(), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1h30m").unwrap(), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("0").unwrap(), None);
        assert!(parse_duration("60").is_err());
        assert!(parse_duration("99999999999h").is_err());
        assert_eq!(show_duration(Some(Duration::from_secs(3600))), "1h");
        assert_eq!(show_duration(None), "never");
    }

    #[test]
    fn settings_round_trip_through_json() {
        let s = Settings { public_host: "lab.example".into(), max_stacks: 10, max_starting: 2, ports: PortRange { from: 20000, to: 20999 }, idle: Some(Duration::from_secs(3600)), autostart: false };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Settings>(&json).unwrap(), s);
    }
}
