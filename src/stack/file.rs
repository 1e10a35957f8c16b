//! The stack file: the subset of the Compose specification lab implements. A key outside
//! the subset is an error naming the service and the key, never silently ignored.

use super::interpolate::{Vars, interpolate_text};
use super::values::{ListOrMap, NamesOrMap, OrderedMap, ShortOrLong, StringOrList, Text};
use crate::course::error::{ContentError, yaml_error};
use serde::Deserialize;
use serde::de::IgnoredAny;
use std::collections::BTreeMap;

/// The top level of a stack file.
#[derive(Debug, Deserialize)]
pub struct StackFile {
    /// Project name suggestion (lab names projects itself; kept for Compose compatibility).
    #[serde(default)]
    pub name: Option<String>,
    /// Obsolete in Compose; accepted and ignored.
    #[serde(default)]
    pub version: Option<Text>,
    /// Services, in the order written.
    pub services: OrderedMap<Service>,
    /// Networks to create (`null` means defaults).
    #[serde(default)]
    pub networks: OrderedMap<Option<NetworkDef>>,
    /// Named volumes to create.
    #[serde(default)]
    pub volumes: OrderedMap<Option<VolumeDef>>,
    /// lab's own settings.
    #[serde(default, rename = "x-lab")]
    pub x_lab: XLab,
    /// Other `x-` extension fields (anchors for YAML reuse); anything else is an error.
    #[serde(flatten)]
    pub extensions: BTreeMap<String, IgnoredAny>,
}

/// `x-lab:` — what lab needs to know beyond Compose.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XLab {
    /// Host ports the stack publishes, by name, with their solo-mode numbers. Each becomes a
    /// `LAB_PORT_<NAME>` variable; `--port-base N` renumbers them N, N+1, … in this order.
    #[serde(default)]
    pub ports: OrderedMap<u16>,
    /// Service endpoints later stages use (`marathon`, `mesos`): URL templates.
    #[serde(default)]
    pub endpoints: OrderedMap<String>,
    /// Links printed after `lab up` (label → URL template).
    #[serde(default)]
    pub links: OrderedMap<String>,
}

/// One service.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub image: Option<String>,
    pub command: Option<StringOrList>,
    pub entrypoint: Option<StringOrList>,
    pub environment: Option<ListOrMap>,
    pub env_file: Option<StringOrList>,
    #[serde(default)]
    pub ports: Vec<ShortOrLong<LongPort>>,
    #[serde(default)]
    pub expose: Vec<Text>,
    #[serde(default)]
    pub volumes: Vec<ShortOrLong<LongVolume>>,
    pub network_mode: Option<String>,
    pub networks: Option<NamesOrMap<ServiceNetwork>>,
    #[serde(default)]
    pub privileged: bool,
    #[serde(default)]
    pub cap_add: Vec<String>,
    #[serde(alias = "cgroupns")]
    pub cgroup: Option<String>,
    #[serde(default)]
    pub devices: Vec<String>,
    pub depends_on: Option<NamesOrMap<DependsOnOptions>>,
    pub healthcheck: Option<Healthcheck>,
    pub restart: Option<String>,
    pub labels: Option<ListOrMap>,
    pub mem_limit: Option<Text>,
    pub cpus: Option<Text>,
    pub pids_limit: Option<i64>,
    pub hostname: Option<String>,
    pub extra_hosts: Option<ListOrMap>,
    pub working_dir: Option<String>,
    pub user: Option<Text>,
    pub stop_grace_period: Option<String>,
    pub sysctls: Option<ListOrMap>,
    pub tmpfs: Option<StringOrList>,
}

/// Long port syntax.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LongPort {
    pub target: u16,
    pub published: Option<Text>,
    pub host_ip: Option<String>,
    pub protocol: Option<String>,
    /// `host` or `ingress` (Swarm); accepted, no effect on a single engine.
    pub mode: Option<String>,
    pub name: Option<String>,
    pub app_protocol: Option<String>,
}

/// Long volume syntax.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LongVolume {
    #[serde(rename = "type")]
    pub kind: String,
    pub source: Option<String>,
    pub target: String,
    #[serde(default)]
    pub read_only: bool,
    pub bind: Option<BindOptions>,
    pub volume: Option<VolumeOptions>,
    pub tmpfs: Option<TmpfsOptions>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BindOptions {
    pub create_host_path: Option<bool>,
    pub propagation: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VolumeOptions {
    pub nocopy: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TmpfsOptions {
    pub size: Option<Text>,
    pub mode: Option<u32>,
}

/// Per-network options of a service.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServiceNetwork {
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// `depends_on` map form.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DependsOnOptions {
    #[serde(default)]
    pub condition: Condition,
    /// Compose's restart-with-dependency flag; accepted, lab never restarts dependents on its own.
    pub restart: Option<bool>,
    pub required: Option<bool>,
}

/// When a dependency counts as ready.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// The dependency's container has started.
    #[default]
    ServiceStarted,
    /// The dependency's healthcheck reports healthy.
    ServiceHealthy,
}

/// `healthcheck:`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Healthcheck {
    pub test: Option<StringOrList>,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub retries: Option<i64>,
    pub start_period: Option<String>,
    pub start_interval: Option<String>,
    #[serde(default)]
    pub disable: bool,
}

/// Top-level network definition.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NetworkDef {
    pub driver: Option<String>,
    #[serde(default)]
    pub internal: bool,
    #[serde(default)]
    pub attachable: bool,
    pub labels: Option<ListOrMap>,
    pub driver_opts: Option<OrderedMap<Text>>,
    #[serde(default)]
    pub external: bool,
    pub name: Option<String>,
}

/// Top-level volume definition.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VolumeDef {
    pub driver: Option<String>,
    pub driver_opts: Option<OrderedMap<Text>>,
    pub labels: Option<ListOrMap>,
    #[serde(default)]
    pub external: bool,
    pub name: Option<String>,
}

/// The keys lab accepts in a service, for error messages.
pub const SERVICE_KEYS: &[&str] = &[
    "image", "command", "entrypoint", "environment", "env_file", "ports", "expose", "volumes", "network_mode", "networks",
    "privileged", "cap_add", "cgroup", "cgroupns", "devices", "depends_on", "healthcheck", "restart", "labels", "mem_limit",
    "cpus", "pids_limit", "hostname", "extra_hosts", "working_dir", "user", "stop_grace_period", "sysctls", "tmpfs",
];

impl StackFile {
    /// Interpolates `text` with `vars` and parses it. `file` names the file in errors.
    pub fn parse(file: &str, text: &str, vars: &dyn Vars) -> Result<StackFile, ContentError> {
        let text = interpolate_text(text, vars).map_err(|e| {
            ContentError::at(file, text, e.line as u64, e.column as u64, e.message.clone())
        })?;
        let stack: StackFile = crate::course::error::yaml_from_str(&text).map_err(|err| explain(file, &text, &err))?;
        if let Some(key) = stack.extensions.keys().find(|k| !k.starts_with("x-")) {
            let line = text.lines().position(|l| l.starts_with(&format!("{key}:"))).map_or(1, |i| i + 1);
            return Err(ContentError::at(file, &text, line as u64, 1, format!("unknown top-level key `{key}`"))
                .with_fix("lab reads name, services, networks, volumes and x-lab (plus any x- extension)"));
        }
        if stack.services.0.is_empty() {
            return Err(ContentError::file(file, "the stack has no services").with_fix("add at least one service under `services:`"));
        }
        Ok(stack)
    }
}

/// Turns a YAML error into a message that names the service and, for unsupported keys,
/// lists what lab supports.
fn explain(file: &str, text: &str, err: &serde_saphyr::Error) -> ContentError {
    let mut error = yaml_error(file, text, 0, err);
    let Some((line, _)) = error.position else { return error };
    let service = service_at_line(text, line as usize);
    if let Some(key) = error.message.strip_prefix("unknown field `").and_then(|r| r.split('`').next()).map(str::to_owned) {
        // serde lists the expected keys; the service body is the struct that expects these two.
        let in_service_body = service.is_some() && error.message.contains("privileged") && error.message.contains("healthcheck");
        error.message = match (&service, in_service_body) {
            (Some(s), true) => format!("service `{s}`: key `{key}` is not supported by lab"),
            (Some(s), false) => format!("service `{s}`: key `{key}` is not supported here"),
            (None, _) => format!("key `{key}` is not supported here"),
        };
        error.fix = Some(if in_service_body {
            format!("remove it or use one of: {}", SERVICE_KEYS.join(", "))
        } else {
            "check the spelling against the Compose specification subset in the lab README".to_owned()
        });
    } else if let Some(s) = service {
        error.message = format!("service `{s}`: {}", error.message);
    }
    error
}

/// The service whose definition contains 1-based `line`, if it is inside `services:`.
fn service_at_line(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let services_at = lines.iter().position(|l| l.trim_end() == "services:")?;
    if line <= services_at + 1 {
        return None;
    }
    let indent_of = |l: &str| l.len() - l.trim_start().len();
    fn is_content(l: &&&str) -> bool {
        !l.trim().is_empty() && !l.trim_start().starts_with('#')
    }
    let service_indent = lines[services_at + 1..].iter().find(is_content).map(|l| indent_of(l))?;
    for l in lines[services_at + 1..line.min(lines.len())].iter().rev().filter(is_content) {
        let indent = indent_of(l);
        if indent == 0 {
            return None;
        }
        if indent == service_indent {
            return l.trim().strip_suffix(':').map(|n| n.trim_matches(['"', '\'']).to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(text: &str) -> Result<StackFile, ContentError> {
        StackFile::parse("stack.yml", text, &HashMap::<String, String>::new())
    }

    #[test]
    fn unsupported_service_keys_name_the_service_and_key() {
        let err = parse("services:\n  web:\n    image: x\n    build: .\n").unwrap_err();
        assert_eq!(err.location(), "stack.yml:4:5");
        assert_eq!(err.message, "service `web`: key `build` is not supported by lab");
        assert!(err.fix.as_deref().unwrap_or("").contains("healthcheck"), "{err}");
    }

    #[test]
    fn nested_unknown_keys_name_the_service_too() {
        let err = parse("services:\n  db:\n    image: x\n    healthcheck:\n      test: [CMD, x]\n      intervall: 5s\n").unwrap_err();
        assert_eq!(err.location(), "stack.yml:6:7");
        assert_eq!(err.message, "service `db`: key `intervall` is not supported here");
    }

    #[test]
    fn unknown_top_level_keys_are_errors_but_extensions_are_fine() {
        let err = parse("services:\n  a: {image: x}\nconfigs: {}\n").unwrap_err();
        assert_eq!(err.location(), "stack.yml:3:1");
        assert!(err.message.contains("`configs`"), "{err}");
        assert!(parse("x-common: &c {image: x}\nservices:\n  a: *c\nversion: '3.8'\n").is_ok());
    }

    #[test]
    fn type_errors_name_the_service() {
        let err = parse("services:\n  a:\n    image: x\n    privileged: maybe\n").unwrap_err();
        assert!(err.message.starts_with("service `a`: "), "{err}");
        assert_eq!(err.position.map(|p| p.0), Some(4));
    }

    #[test]
    fn interpolation_errors_point_at_the_reference() {
        let err = parse("services:\n  a:\n    image: ${IMG:?pick an image}\n").unwrap_err();
        assert_eq!(err.location(), "stack.yml:3:12");
        assert!(err.message.contains("pick an image"));
    }

    #[test]
    fn an_empty_stack_is_an_error() {
        assert!(parse("services: {}\n").is_err());
    }
}
