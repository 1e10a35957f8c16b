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
    /// Memory the whole stack needs on the engine, written like `mem_limit` (`2g`,
    /// `1536m`); `lab doctor` compares it with what the engine and the host have.
    #[serde(default)]
    pub memory: Option<Text>,
}

/// One service. Field meanings follow the Compose specification.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Image reference (lab runs images; `build` is not supported).
    pub image: Option<String>,
    /// Command (a string is split like a shell would split it).
    pub command: Option<StringOrList>,
    /// Entrypoint.
    pub entrypoint: Option<StringOrList>,
    /// Environment, as `KEY=value` list or map; a key without value comes from lab's environment.
    pub environment: Option<ListOrMap>,
    /// `KEY=value` files, relative to the stack file.
    pub env_file: Option<StringOrList>,
    /// Published ports, short or long syntax.
    #[serde(default)]
    pub ports: Vec<ShortOrLong<LongPort>>,
    /// Ports exposed without publishing.
    #[serde(default)]
    pub expose: Vec<Text>,
    /// Mounts: named volumes, bind mounts, anonymous volumes, tmpfs.
    #[serde(default)]
    pub volumes: Vec<ShortOrLong<LongVolume>>,
    /// `host`, `none`, `bridge` or `service:<name>`.
    pub network_mode: Option<String>,
    /// Networks to join, with aliases.
    pub networks: Option<NamesOrMap<ServiceNetwork>>,
    /// Run privileged.
    #[serde(default)]
    pub privileged: bool,
    /// Extra capabilities.
    #[serde(default)]
    pub cap_add: Vec<String>,
    /// Cgroup namespace: `host` or `private`.
    #[serde(alias = "cgroupns")]
    pub cgroup: Option<String>,
    /// Devices, `host[:container[:permissions]]`.
    #[serde(default)]
    pub devices: Vec<String>,
    /// Services to start first, and how ready they must be.
    pub depends_on: Option<NamesOrMap<DependsOnOptions>>,
    /// The container's healthcheck.
    pub healthcheck: Option<Healthcheck>,
    /// `no`, `always`, `on-failure[:N]` or `unless-stopped`.
    pub restart: Option<String>,
    /// Container labels (the `lab.` prefix is lab's own).
    pub labels: Option<ListOrMap>,
    /// Memory limit, e.g. `512m`.
    pub mem_limit: Option<Text>,
    /// CPU limit, e.g. `0.5`.
    pub cpus: Option<Text>,
    /// Process limit.
    pub pids_limit: Option<i64>,
    /// Host name inside the container.
    pub hostname: Option<String>,
    /// Extra `/etc/hosts` entries.
    pub extra_hosts: Option<ListOrMap>,
    /// Working directory.
    pub working_dir: Option<String>,
    /// User (name or uid[:gid]).
    pub user: Option<Text>,
    /// How long `down` waits for a graceful stop, e.g. `10s`.
    pub stop_grace_period: Option<String>,
    /// Kernel parameters.
    pub sysctls: Option<ListOrMap>,
    /// tmpfs mounts, `path[:options]`.
    pub tmpfs: Option<StringOrList>,
}

/// Long port syntax.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LongPort {
    /// Container port.
    pub target: u16,
    /// Host port (a number, or empty for a random one).
    pub published: Option<Text>,
    /// Host address to bind.
    pub host_ip: Option<String>,
    /// `tcp` (default), `udp` or `sctp`.
    pub protocol: Option<String>,
}

/// Long volume syntax.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LongVolume {
    /// `bind`, `volume` or `tmpfs`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Host path (bind) or volume name (volume).
    pub source: Option<String>,
    /// Path in the container.
    pub target: String,
    /// Mount read-only.
    #[serde(default)]
    pub read_only: bool,
    /// Bind mount options.
    pub bind: Option<BindOptions>,
    /// Named volume options.
    pub volume: Option<VolumeOptions>,
    /// tmpfs options.
    pub tmpfs: Option<TmpfsOptions>,
}

/// Options of a bind mount.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BindOptions {
    /// When false, a missing host path is an error instead of being created.
    pub create_host_path: Option<bool>,
    /// Mount propagation: `private`, `rprivate`, `shared`, `rshared`, `slave`, `rslave`.
    pub propagation: Option<String>,
}

/// Options of a named volume mount.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VolumeOptions {
    /// Do not copy the image's files into a new volume.
    pub nocopy: Option<bool>,
}

/// Options of a tmpfs mount.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TmpfsOptions {
    /// Size, e.g. `64m`.
    pub size: Option<Text>,
    /// File mode, written as a YAML octal number, e.g. `0o1777`.
    pub mode: Option<u32>,
}

/// Per-network options of a service.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServiceNetwork {
    /// Extra names the service answers to on that network.
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// `depends_on` map form.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DependsOnOptions {
    /// How ready the dependency must be.
    #[serde(default)]
    pub condition: Condition,
    /// When false, the service starts even if the dependency fails.
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
    /// `[CMD, ...]`, `[CMD-SHELL, "..."]`, `[NONE]`, or a shell string.
    pub test: Option<StringOrList>,
    /// Time between checks.
    pub interval: Option<String>,
    /// Time a check may take.
    pub timeout: Option<String>,
    /// Failures in a row before unhealthy.
    pub retries: Option<i64>,
    /// Grace time after start.
    pub start_period: Option<String>,
    /// Time between checks during the start period.
    pub start_interval: Option<String>,
    /// Turn off the image's healthcheck.
    #[serde(default)]
    pub disable: bool,
}

/// Top-level network definition.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NetworkDef {
    /// Network driver (default bridge).
    pub driver: Option<String>,
    /// No outside connectivity.
    #[serde(default)]
    pub internal: bool,
    /// Other containers may attach.
    #[serde(default)]
    pub attachable: bool,
    /// Network labels.
    pub labels: Option<ListOrMap>,
    /// Driver options.
    pub driver_opts: Option<OrderedMap<Text>>,
    /// Created elsewhere: lab uses it and never creates or removes it.
    #[serde(default)]
    pub external: bool,
    /// The name on the engine (default `<project>_<key>`).
    pub name: Option<String>,
}

/// Top-level volume definition.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VolumeDef {
    /// Volume driver.
    pub driver: Option<String>,
    /// Driver options.
    pub driver_opts: Option<OrderedMap<Text>>,
    /// Volume labels.
    pub labels: Option<ListOrMap>,
    /// Created elsewhere: lab uses it and never creates or removes it.
    #[serde(default)]
    pub external: bool,
    /// The name on the engine (default `<project>_<key>`).
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
    fn compose_keys_lab_cannot_honour_are_refused() {
        for (text, key) in [
            ("services:\n  a:\n    image: x\n    ports:\n      - {target: 80, mode: ingress}\n", "mode"),
            ("services:\n  a:\n    image: x\n    depends_on:\n      b: {restart: true}\n  b: {image: x}\n", "restart"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.message.contains(&format!("key `{key}` is not supported here")), "{err}");
        }
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
