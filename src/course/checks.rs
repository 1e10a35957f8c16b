//! The check vocabulary of `lab.yml`: what an author writes under an exercise's `checks:`.
//! lab evaluates these (the `checks` module); here they are only read and validated, so a
//! mistake in a lab file is reported with its position when the course loads.

use super::error::ContentError;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::fmt;

/// What a check looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckKind {
    /// Marathon answers `/ping`.
    MarathonUp,
    /// The Mesos master has active agents and registered frameworks.
    MesosMaster,
    /// An app in Marathon: instances, networking, ports, health, tasks, deployments.
    MarathonApp,
    /// An HTTP GET on a service port through the gateway.
    Http,
    /// A file in the student's site folder parses and has given values.
    SiteFile,
}

/// A number to match: `1` (exactly), `{min: 2}`, `{max: 3}` or both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    /// Lower bound, inclusive.
    pub min: Option<u64>,
    /// Upper bound, inclusive.
    pub max: Option<u64>,
}

impl Count {
    /// Exactly `n`.
    pub fn exactly(n: u64) -> Count {
        Count { min: Some(n), max: Some(n) }
    }

    /// Whether `n` satisfies the bounds.
    pub fn matches(&self, n: u64) -> bool {
        self.min.is_none_or(|m| n >= m) && self.max.is_none_or(|m| n <= m)
    }
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.min, self.max) {
            (Some(a), Some(b)) if a == b => write!(f, "{a}"),
            (Some(a), Some(b)) => write!(f, "{a} to {b}"),
            (Some(a), None) => write!(f, "at least {a}"),
            (None, Some(b)) => write!(f, "at most {b}"),
            (None, None) => write!(f, "any number"),
        }
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, or a map with min and/or max")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Count, E> {
                Ok(Count::exactly(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Count, E> {
                u64::try_from(v).map(Count::exactly).map_err(|_| E::custom("a count cannot be negative"))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Count, A::Error> {
                let mut count = Count::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "min" => count.min = Some(map.next_value()?),
                        "max" => count.max = Some(map.next_value()?),
                        other => return Err(de::Error::unknown_field(other, &["min", "max"])),
                    }
                }
                Ok(count)
            }
        }
        d.deserialize_any(V)
    }
}

/// Expected task counts of an app.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskCounts {
    /// Running tasks.
    pub running: Option<Count>,
    /// Healthy tasks.
    pub healthy: Option<Count>,
    /// Staged (not yet running) tasks.
    pub staged: Option<Count>,
}

/// An expected port mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortMappingExpect {
    /// Port inside the container.
    pub container_port: Option<u16>,
    /// Port on the gateway.
    pub service_port: Option<u16>,
    /// `tcp` (default) or `udp`.
    pub protocol: Option<String>,
}

/// An expected health check.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckExpect {
    /// Accepted protocols (any of them).
    #[serde(default)]
    pub protocol: Vec<String>,
    /// The HTTP path.
    pub path: Option<String>,
}

/// One check as written in `lab.yml`; which fields apply depends on `kind`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    /// What the check looks at.
    pub kind: Spanned<CheckKind>,
    /// marathon-app: the app id.
    pub app: Option<String>,
    /// marathon-app: or select the app by image (any tag).
    pub image: Option<String>,
    /// marathon-app: configured instances.
    pub instances: Option<Count>,
    /// marathon-app: HOST, BRIDGE or USER.
    pub network: Option<String>,
    /// marathon-app: a mapping that must exist.
    pub port_mapping: Option<PortMappingExpect>,
    /// marathon-app: a health check that must exist.
    pub health_check: Option<HealthCheckExpect>,
    /// marathon-app: task counts.
    pub tasks: Option<TaskCounts>,
    /// marathon-app: no deployment may be pending for the app.
    #[serde(default)]
    pub no_pending_deployment: bool,
    /// http: the service port to GET (through the gateway).
    pub service_port: Option<u16>,
    /// http: the path (default `/`).
    pub path: Option<String>,
    /// http: accepted status codes, e.g. `200-399` (default) or `200`.
    pub status: Option<String>,
    /// http: text the body must contain.
    pub body_contains: Option<String>,
    /// site-file: the file, relative to the site folder.
    pub file: Option<String>,
    /// site-file: dotted paths and the values they must have.
    #[serde(default)]
    pub values: BTreeMap<String, serde_json::Value>,
    /// mesos-master: minimum active agents.
    pub min_agents: Option<u64>,
    /// mesos-master: frameworks that must be registered.
    #[serde(default)]
    pub frameworks: Vec<String>,
    /// Hints to show instead of lab's defaults, by criterion key.
    #[serde(default)]
    pub hints: BTreeMap<String, String>,
}

/// Criterion keys each kind produces (for validating `hints`).
pub fn criterion_keys(kind: CheckKind) -> &'static [&'static str] {
    match kind {
        CheckKind::MarathonUp => &["marathon"],
        CheckKind::MesosMaster => &["mesos_agents", "mesos_framework"],
        CheckKind::MarathonApp => &["app", "instances", "network", "port_mapping", "health_check", "tasks_running", "tasks_healthy", "tasks_staged", "deployment"],
        CheckKind::Http => &["http"],
        CheckKind::SiteFile => &["site_file"],
    }
}

/// Parses a status range like `200-399` or `200`.
pub fn parse_status_range(s: &str) -> Option<(u16, u16)> {
    match s.split_once('-') {
        Some((a, b)) => Some((a.trim().parse().ok()?, b.trim().parse().ok()?)),
        None => s.trim().parse().ok().map(|n| (n, n)),
    }
}

impl CheckSpec {
    /// The kind-specific fields the author wrote.
    fn fields_set(&self) -> Vec<&'static str> {
        let mut set = Vec::new();
        let mut mark = |present: bool, name: &'static str| {
            if present {
                set.push(name);
            }
        };
        mark(self.app.is_some(), "app");
        mark(self.image.is_some(), "image");
        mark(self.instances.is_some(), "instances");
        mark(self.network.is_some(), "network");
        mark(self.port_mapping.is_some(), "port_mapping");
        mark(self.health_check.is_some(), "health_check");
        mark(self.tasks.is_some(), "tasks");
        mark(self.no_pending_deployment, "no_pending_deployment");
        mark(self.service_port.is_some(), "service_port");
        mark(self.path.is_some(), "path");
        mark(self.status.is_some(), "status");
        mark(self.body_contains.is_some(), "body_contains");
        mark(self.file.is_some(), "file");
        mark(!self.values.is_empty(), "values");
        mark(self.min_agents.is_some(), "min_agents");
        mark(!self.frameworks.is_empty(), "frameworks");
        set
    }

    /// Checks that the fields this kind needs are there. `at` builds a positioned error.
    pub fn validate(&self, at: &dyn Fn(&CheckSpec, String) -> ContentError) -> Result<(), ContentError> {
        let kind = self.kind.value;
        let missing = |what: &str| Err(at(self, format!("a {} check needs `{what}`", kind_name(kind))));
        match kind {
            CheckKind::MarathonApp if self.app.is_none() && self.image.is_none() => return missing("app` or `image"),
            CheckKind::Http if self.service_port.is_none() => return missing("service_port"),
            CheckKind::SiteFile if self.file.is_none() || self.values.is_empty() => return missing("file` and `values"),
            _ => {}
        }
        if let Some(status) = &self.status
            && parse_status_range(status).is_none()
        {
            return Err(at(self, format!("status `{status}` is not a code or range like 200-399")));
        }
        if let Some(network) = &self.network
            && !["HOST", "BRIDGE", "USER"].contains(&network.to_ascii_uppercase().as_str())
        {
            return Err(at(self, format!("network `{network}` is not HOST, BRIDGE or USER")));
        }
        let allowed: &[&str] = match kind {
            CheckKind::MarathonUp => &[],
            CheckKind::MesosMaster => &["min_agents", "frameworks"],
            CheckKind::MarathonApp => &["app", "image", "instances", "network", "port_mapping", "health_check", "tasks", "no_pending_deployment"],
            CheckKind::Http => &["service_port", "path", "status", "body_contains"],
            CheckKind::SiteFile => &["file", "values"],
        };
        if let Some(field) = self.fields_set().into_iter().find(|f| !allowed.contains(f)) {
            return Err(at(self, format!("`{field}` does not apply to a {} check", kind_name(kind)))
                .with_fix(if allowed.is_empty() { "remove it".to_owned() } else { format!("a {} check takes: {}", kind_name(kind), allowed.join(", ")) }));
        }
        let keys = criterion_keys(kind);
        if let Some(key) = self.hints.keys().find(|k| !keys.contains(&k.as_str())) {
            return Err(at(self, format!("hint `{key}` does not match a criterion of a {} check (use one of: {})", kind_name(kind), keys.join(", "))));
        }
        Ok(())
    }
}

/// The kind as written in YAML.
pub fn kind_name(kind: CheckKind) -> &'static str {
    match kind {
        CheckKind::MarathonUp => "marathon-up",
        CheckKind::MesosMaster => "mesos-master",
        CheckKind::MarathonApp => "marathon-app",
        CheckKind::Http => "http",
        CheckKind::SiteFile => "site-file",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_exact_or_bounds() {
        #[derive(Deserialize)]
        struct S {
            a: Count,
            b: Count,
        }
        let s: S = crate::course::error::yaml_from_str("a: 1\nb: {min: 2}\n").unwrap();
        assert_eq!(s.a, Count::exactly(1));
        assert!(s.b.matches(2) && s.b.matches(5) && !s.b.matches(1));
        assert_eq!(s.b.to_string(), "at least 2");
        assert_eq!(s.a.to_string(), "1");
    }

    #[test]
    fn status_ranges() {
        assert_eq!(parse_status_range("200-399"), Some((200, 399)));
        assert_eq!(parse_status_range("204"), Some((204, 204)));
        assert_eq!(parse_status_range("ok"), None);
    }
}
