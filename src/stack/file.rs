//! The stack file: the subset of the Compose specification lab implements, in the
//! `services:` form or Compose v1's. Reading one reports every problem at once, each at its
//! line and column: a key outside the subset names the service and the key, and is never
//! silently ignored.

use super::interpolate::{Vars, interpolate_text};
use super::v1::Format;
use super::values::{ListOrMap, NamesOrMap, OrderedMap, ShortOrLong, StringOrList, Text};
use crate::course::error::ContentError;
use serde::Deserialize;
use serde::de::IgnoredAny;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

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
    /// The form the file was written in.
    #[serde(skip)]
    pub format: Format,
    /// Where each service's name is written (line, column), for later errors.
    #[serde(skip)]
    pub positions: HashMap<String, (u64, u64)>,
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
    /// Image reference: the image to run, or the name to give the built image.
    pub image: Option<String>,
    /// Build the image from a folder: its path, or `context`, `dockerfile`, `args`, `target`.
    pub build: Option<ShortOrLong<BuildDef>>,
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

/// `build:` map form.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BuildDef {
    /// The folder sent to the builder, relative to the stack file (default `.`).
    pub context: Option<String>,
    /// The Dockerfile, relative to the context (default `Dockerfile`).
    pub dockerfile: Option<String>,
    /// Build arguments; a name without value comes from lab's environment.
    pub args: Option<ListOrMap>,
    /// The stage of a multi-stage Dockerfile to build.
    pub target: Option<String>,
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
    "image", "build", "command", "entrypoint", "environment", "env_file", "ports", "expose", "volumes", "network_mode",
    "networks", "privileged", "cap_add", "cgroup", "cgroupns", "devices", "depends_on", "healthcheck", "restart", "labels",
    "mem_limit", "cpus", "pids_limit", "hostname", "extra_hosts", "working_dir", "user", "stop_grace_period", "sysctls", "tmpfs",
];

/// Every problem found in one stack file, in file order. One problem displays as itself;
/// several as a count followed by one line each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackFileError {
    /// The problems, each at its file:line:col.
    pub problems: Vec<ContentError>,
}

impl StackFileError {
    /// A single problem.
    pub fn one(problem: ContentError) -> StackFileError {
        StackFileError { problems: vec![problem] }
    }

    /// Problems found in `text` (the file as parsed), sorted by position, repeats removed
    /// (a mistake inside a YAML anchor shows once however often it is used).
    pub(crate) fn at(file: &str, text: &str, mut problems: Vec<super::schema::Problem>) -> StackFileError {
        problems.sort_by(|a, b| (a.line, a.column, &a.message).cmp(&(b.line, b.column, &b.message)));
        problems.dedup();
        let problems = problems
            .into_iter()
            .map(|p| {
                let error = ContentError::at(file, text, p.line, p.column, p.message);
                match p.fix {
                    Some(fix) => error.with_fix(fix),
                    None => error,
                }
            })
            .collect();
        StackFileError { problems }
    }
}

impl fmt::Display for StackFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [] => f.write_str("the stack file is invalid"),
            [one] => write!(f, "{one}"),
            [first, ..] => {
                write!(f, "{} problems in {}:", self.problems.len(), first.file)?;
                for problem in &self.problems {
                    write!(f, "\n  {problem}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for StackFileError {}

impl From<ContentError> for StackFileError {
    fn from(problem: ContentError) -> Self {
        StackFileError::one(problem)
    }
}

/// The named ports of a stack file (`x-lab.ports`) as written, in order, without reading
/// the rest (for showing a solo student the course's own ports).
pub fn default_ports(text: &str) -> Vec<(String, u16)> {
    #[derive(Deserialize, Default)]
    struct Top {
        #[serde(default, rename = "x-lab")]
        x_lab: Option<Ports>,
    }
    #[derive(Deserialize, Default)]
    struct Ports {
        #[serde(default)]
        ports: OrderedMap<u16>,
    }
    crate::course::error::yaml_from_str::<Top>(text).ok().and_then(|t| t.x_lab).map(|p| p.ports.0).unwrap_or_default()
}

impl StackFile {
    /// Interpolates `text` with `vars` and parses it, in either form. `file` names the file
    /// in errors; every problem in the file is reported at once.
    pub fn parse(file: &str, text: &str, vars: &dyn Vars) -> Result<StackFile, StackFileError> {
        let text = interpolate_text(text, vars).map_err(|e| ContentError::at(file, text, e.line as u64, e.column as u64, e.message.clone()))?;
        let tree = super::yaml::read(file, &text)?;
        let (tree, format, mut problems) = super::v1::read(tree);
        let (json, more) = super::schema::check(&tree);
        problems.extend(more);
        let positions: HashMap<String, (u64, u64)> =
            tree.get("services").and_then(|s| s.entries()).unwrap_or_default().iter().map(|(k, _)| (k.name.clone(), (k.line, k.column))).collect();
        if problems.is_empty() && positions.is_empty() {
            let at = tree.get("services").map_or((1, 1), |s| (s.line, s.column));
            return Err(ContentError::at(file, &text, at.0, at.1, "the stack has no services").with_fix("add at least one service under `services:`").into());
        }
        if !problems.is_empty() {
            return Err(StackFileError::at(file, &text, problems));
        }
        // The schema accepts exactly what the types accept; a failure here is lab's bug.
        let mut stack: StackFile = serde_json::from_value(json).map_err(|e| ContentError::file(file, format!("lab could not read the checked file: {e}")))?;
        stack.format = format;
        stack.positions = positions;
        Ok(stack)
    }
}

#[cfg(test)]
mod tests;
