//! Resolves a parsed stack file for one project into a plan: the exact containers,
//! networks and volumes to create, with names, labels and dependencies. Nothing here talks
//! to Docker, so every rule is unit-tested.

use super::file::{Condition, Service, StackFile, StackFileError};
use super::v1::Format;
use super::values::{ListOrMap, ShortOrLong, StringOrList, parse_bytes, parse_duration, split_command};
use crate::course::ContentError;
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, HostConfigCgroupnsModeEnum,
    NetworkingConfig, PortBinding,
};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

/// Label keys lab puts on every object it creates.
pub mod labels {
    /// The project the object belongs to.
    pub const PROJECT: &str = "lab.project";
    /// The service a container runs.
    pub const SERVICE: &str = "lab.service";
    /// Hash of the container's configuration; a different hash means "recreate".
    pub const CONFIG_HASH: &str = "lab.config-hash";
    /// The student the project is for.
    pub const STUDENT: &str = "lab.student";
    /// The lab whose stack this is, if it came from a lab.
    pub const LAB: &str = "lab.lab";
    /// Seconds to wait for a graceful stop.
    pub const STOP_GRACE: &str = "lab.stop-grace";
    /// JSON: named host ports.
    pub const PORTS: &str = "lab.ports";
    /// JSON: endpoints for later stages.
    pub const ENDPOINTS: &str = "lab.endpoints";
    /// JSON: links to show the student.
    pub const LINKS: &str = "lab.links";
    /// The network or volume name in the stack file.
    pub const NAME: &str = "lab.name";
    /// On an image lab built: the digest of its build context, Dockerfile, args and target.
    pub const BUILD_HASH: &str = "lab.build-hash";
    /// On a container that joins another service's network namespace: that service.
    pub const NETWORK_OF: &str = "lab.network-of";
}

/// Who the stack is for and where it runs.
#[derive(Debug, Clone)]
pub struct ProjectOptions {
    /// Project name; prefixes every object name.
    pub project: String,
    /// Student name (`LAB_STUDENT`, label).
    pub student: String,
    /// Renumber the named ports from here (`--port-base`).
    pub port_base: Option<u16>,
    /// Folder that relative bind mounts and `env_file`s resolve against.
    pub stack_dir: PathBuf,
    /// Host name where published ports are reached (`LAB_HOST`).
    pub host: String,
    /// The lab the stack belongs to, if any.
    pub lab: Option<String>,
    /// The student's workspace folder (`LAB_WORKSPACE`).
    pub workspace: Option<PathBuf>,
    /// Variables for interpolation besides `LAB_*` (normally the process environment).
    pub env: HashMap<String, String>,
}

/// Everything to create for one project.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Project name.
    pub project: String,
    /// Services in file order.
    pub services: Vec<ServicePlan>,
    /// Networks lab creates (external ones are not listed).
    pub networks: Vec<NetworkPlan>,
    /// Volumes lab creates.
    pub volumes: Vec<VolumePlan>,
    /// Named host ports (`x-lab.ports`) after `--port-base`.
    pub ports: Vec<(String, u16)>,
    /// Endpoints for later stages, interpolated.
    pub endpoints: Vec<(String, String)>,
    /// Links for the student, interpolated.
    pub links: Vec<(String, String)>,
    /// Memory the stack needs, in bytes (`x-lab.memory`), when the file says.
    pub memory: Option<u64>,
    /// The form the stack file was written in.
    pub format: Format,
}

/// One container to run.
#[derive(Debug, Clone)]
pub struct ServicePlan {
    /// Service name in the stack file.
    pub name: String,
    /// Container name on the engine.
    pub container: String,
    /// Image reference (for a built service, the tag it is built as).
    pub image: String,
    /// How to build the image, for a service with `build:`.
    pub build: Option<BuildPlan>,
    /// The create request, labels included except the config hash.
    pub create: ContainerCreateBody,
    /// Services to wait for, and how.
    pub depends_on: Vec<(String, Condition)>,
    /// Dependencies whose failure does not stop this service (`required: false`).
    pub optional_deps: Vec<String>,
    /// The service whose network namespace this one joins (`network_mode: service:x`).
    pub network_parent: Option<String>,
    /// Networks to connect after creation (the first one is in `create`): name, aliases.
    pub extra_networks: Vec<(String, Vec<String>)>,
    /// Whether the container has a healthcheck to wait for.
    pub has_healthcheck: bool,
    /// Published ports: (host ip, host port or None for random, container port/proto).
    pub published: Vec<Published>,
    /// Where the service is written, to point the engine's rejections at their line.
    pub origin: super::rejection::ServiceOrigin,
}

/// One published port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// Host address, empty for all.
    pub host_ip: String,
    /// Host port; `None` lets the engine pick.
    pub host_port: Option<u16>,
    /// Container port.
    pub container_port: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
}

/// A network to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkPlan {
    /// Name in the stack file.
    pub key: String,
    /// Name on the engine.
    pub name: String,
    /// Driver (default bridge).
    pub driver: Option<String>,
    /// No outside connectivity.
    pub internal: bool,
    /// Extra labels.
    pub labels: HashMap<String, String>,
    /// Driver options.
    pub options: HashMap<String, String>,
    /// Other containers may attach.
    pub attachable: bool,
}

/// A volume to create.
#[derive(Debug, Clone, PartialEq)]
pub struct VolumePlan {
    /// Name in the stack file.
    pub key: String,
    /// Name on the engine.
    pub name: String,
    /// Driver.
    pub driver: Option<String>,
    /// Driver options.
    pub options: HashMap<String, String>,
    /// Extra labels.
    pub labels: HashMap<String, String>,
}

/// Named host ports, in declaration order.
pub type NamedPorts = Vec<(String, u16)>;

/// The variables lab supplies, from the options and the file's named ports.
pub fn lab_variables(file: &str, text: &str, opts: &ProjectOptions) -> Result<(HashMap<String, String>, NamedPorts), ContentError> {
    let declared = declared_ports(file, text)?;
    let mut ports = Vec::with_capacity(declared.len());
    for (i, (name, port)) in declared.into_iter().enumerate() {
        let port = match opts.port_base {
            Some(base) => u16::try_from(usize::from(base) + i)
                .map_err(|_| ContentError::file(file, format!("--port-base {base} leaves no room for port `{name}`")))?,
            None => port,
        };
        ports.push((name, port));
    }
    let mut vars = opts.env.clone();
    vars.insert("LAB_PROJECT".into(), opts.project.clone());
    vars.insert("LAB_STUDENT".into(), opts.student.clone());
    vars.insert("LAB_HOST".into(), opts.host.clone());
    vars.insert("LAB_STACK_DIR".into(), opts.stack_dir.display().to_string());
    if let Some(ws) = &opts.workspace {
        vars.insert("LAB_WORKSPACE".into(), ws.display().to_string());
    }
    for (name, port) in &ports {
        vars.insert(format!("LAB_PORT_{}", env_name(name)), port.to_string());
    }
    Ok((vars, ports))
}

/// `x-lab.ports`, read before interpolation (the port variables depend on it), from the
/// same positioned tree as the rest of the file. A shape other than a map is left to the
/// schema, which reports it with every other problem.
fn declared_ports(file: &str, text: &str) -> Result<NamedPorts, ContentError> {
    let tree = super::yaml::read(file, text)?;
    let Some(entries) = tree.get("x-lab").and_then(|x| x.get("ports")).and_then(|p| p.entries()) else { return Ok(Vec::new()) };
    entries
        .iter()
        .map(|(key, node)| match &node.value {
            super::tree::Value::UInt(port) if *port <= u64::from(u16::MAX) => Ok((key.name.clone(), *port as u16)),
            _ => Err(ContentError::at(file, text, node.line, node.column, format!("x-lab.ports `{}` must be a port number (0-65535), not {}", key.name, node.describe()))),
        })
        .collect()
}

/// `game-ui` → `GAME_UI`.
pub fn env_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}

/// Parses, interpolates and resolves a stack file for a project, reporting every problem
/// it finds (all of the file's, or all of the services' when the file itself is sound).
pub fn plan(file: &str, text: &str, opts: &ProjectOptions) -> Result<Plan, StackFileError> {
    let (vars, ports) = lab_variables(file, text, opts)?;
    let stack = StackFile::parse(file, text, &vars)?;
    let service_names = stack.services.keys().collect();
    let lines = text.lines().collect();
    let resolver = Resolver { file, text, lines, opts, vars: &vars, stack: &stack, service_names };
    resolver.resolve(ports).map_err(|mut problems| {
        problems.sort_by_key(|p| p.position);
        StackFileError { problems }
    })
}

struct Resolver<'a> {
    file: &'a str,
    text: &'a str,
    /// The text's lines, split once, to quote them.
    lines: Vec<&'a str>,
    opts: &'a ProjectOptions,
    vars: &'a HashMap<String, String>,
    stack: &'a StackFile,
    /// The services' names, to look them up without walking the list each time.
    service_names: HashSet<&'a str>,
}

impl Resolver<'_> {
    /// An error about a service, at the line and column where its name is written.
    fn error(&self, service: Option<&str>, message: String) -> ContentError {
        let position = service.and_then(|s| self.stack.positions.get(s));
        let message = match service {
            Some(s) => format!("service `{s}`: {message}"),
            None => message,
        };
        match position {
            Some((line, column)) => ContentError::at(self.file, self.text, *line, *column, message),
            None => ContentError::file(self.file, message),
        }
    }

    fn resolve(&self, ports: Vec<(String, u16)>) -> Result<Plan, Vec<ContentError>> {
        let project = &self.opts.project;
        let interpolate = |s: &str| super::interpolate::interpolate(s, self.vars).map_err(|(_, m)| vec![self.error(None, m)]);
        let endpoints = self.stack.x_lab.endpoints.0.iter().map(|(k, v)| Ok((k.clone(), interpolate(v)?))).collect::<Result<Vec<_>, Vec<ContentError>>>()?;
        let links = self.stack.x_lab.links.0.iter().map(|(k, v)| Ok((k.clone(), interpolate(v)?))).collect::<Result<Vec<_>, Vec<ContentError>>>()?;
        let memory = self.memory().map_err(|e| vec![e])?;

        let mut networks = Vec::new();
        let mut network_names = HashMap::new();
        for (key, def) in &self.stack.networks.0 {
            let def = def.clone().unwrap_or_default();
            let name = def.name.clone().unwrap_or_else(|| format!("{project}_{key}"));
            network_names.insert(key.clone(), name.clone());
            if !def.external {
                networks.push(NetworkPlan {
                    key: key.clone(),
                    name,
                    driver: def.driver.clone(),
                    internal: def.internal,
                    attachable: def.attachable,
                    labels: pairs_to_map(def.labels.as_ref(), '='),
                    options: def.driver_opts.map(|o| o.0.into_iter().map(|(k, v)| (k, v.0)).collect()).unwrap_or_default(),
                });
            }
        }
        let mut volumes = Vec::new();
        let mut volume_names = HashMap::new();
        for (key, def) in &self.stack.volumes.0 {
            let def = def.clone().unwrap_or_default();
            let name = def.name.clone().unwrap_or_else(|| format!("{project}_{key}"));
            volume_names.insert(key.clone(), name.clone());
            if !def.external {
                volumes.push(VolumePlan {
                    key: key.clone(),
                    name,
                    driver: def.driver.clone(),
                    options: def.driver_opts.map(|o| o.0.into_iter().map(|(k, v)| (k, v.0)).collect()).unwrap_or_default(),
                    labels: pairs_to_map(def.labels.as_ref(), '='),
                });
            }
        }

        let common_labels = self.common_labels(&ports, &endpoints, &links);
        let mut services = Vec::new();
        let mut errors = Vec::new();
        let mut uses_default = false;
        for (name, service) in &self.stack.services.0 {
            // One problem per service, but every service: a course author fixes them in one go.
            let plan = match self.service(name, service, &network_names, &volume_names, &common_labels) {
                Ok(plan) => plan,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            uses_default |= plan.create.networking_config.as_ref().is_some_and(|n| {
                n.endpoints_config.as_ref().is_some_and(|e| e.contains_key(&format!("{project}_default")))
            });
            services.push(plan);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        check_shared_tags(&services).map_err(|(s, m)| vec![self.error(Some(&s), m)])?;
        if uses_default && !network_names.contains_key("default") {
            networks.insert(0, NetworkPlan {
                key: "default".into(),
                name: format!("{project}_default"),
                driver: None,
                internal: false,
                attachable: false,
                labels: HashMap::new(),
                options: HashMap::new(),
            });
        }
        check_dependencies(&services).map_err(|(s, m)| vec![self.error(Some(&s), m)])?;
        Ok(Plan { project: project.clone(), services, networks, volumes, ports, endpoints, links, memory, format: self.stack.format })
    }

    /// Where service `name` and its keys are written, with their lines quoted.
    fn origin(&self, name: &str) -> super::rejection::ServiceOrigin {
        use super::rejection::{ServiceOrigin, Written};
        let name_at = self.stack.positions.get(name).map(|(line, column)| Written::in_lines(&self.lines, *line, *column));
        let keys = self.stack.key_positions.get(name).map(Vec::as_slice).unwrap_or_default();
        ServiceOrigin {
            file: self.file.to_owned(),
            name: name_at,
            keys: keys.iter().map(|(key, line, column)| (key.clone(), Written::in_lines(&self.lines, *line, *column))).collect(),
        }
    }

    /// `x-lab.memory` in bytes; a bad size points at its line.
    fn memory(&self) -> Result<Option<u64>, ContentError> {
        let Some(text) = &self.stack.x_lab.memory else { return Ok(None) };
        parse_bytes(&text.0).map(|b| Some(b.unsigned_abs())).map_err(|m| {
            let lines: Vec<&str> = self.text.lines().collect();
            let after = lines.iter().position(|l| l.starts_with("x-lab:")).unwrap_or(0);
            let line = lines.iter().skip(after).position(|l| l.trim_start().starts_with("memory:")).map(|i| after + i + 1);
            let message = format!("x-lab.memory: {m}");
            match line {
                Some(line) => ContentError::at(self.file, self.text, line as u64, 1, message),
                None => ContentError::file(self.file, message),
            }
            .with_fix("write how much memory the stack needs, e.g. `memory: 2g`")
        })
    }

    fn common_labels(&self, ports: &[(String, u16)], endpoints: &[(String, String)], links: &[(String, String)]) -> HashMap<String, String> {
        let mut l = HashMap::from([
            (labels::PROJECT.to_owned(), self.opts.project.clone()),
            (labels::STUDENT.to_owned(), self.opts.student.clone()),
        ]);
        if let Some(lab) = &self.opts.lab {
            l.insert(labels::LAB.into(), lab.clone());
        }
        let to_json = |pairs: &[(String, String)]| {
            serde_json::to_string(&pairs.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<BTreeMap<_, _>>()).unwrap_or_default()
        };
        let ports: Vec<(String, String)> = ports.iter().map(|(k, v)| (k.clone(), v.to_string())).collect();
        l.insert(labels::PORTS.into(), to_json(&ports));
        l.insert(labels::ENDPOINTS.into(), to_json(endpoints));
        l.insert(labels::LINKS.into(), serde_json::to_string(links).unwrap_or_default());
        l
    }

    fn service(
        &self,
        name: &str,
        s: &Service,
        network_names: &HashMap<String, String>,
        volume_names: &HashMap<String, String>,
        common_labels: &HashMap<String, String>,
    ) -> Result<ServicePlan, ContentError> {
        let err = |m: String| self.error(Some(name), m);
        let project = &self.opts.project;
        let build = s.build.as_ref().map(|b| self.build_plan(b)).transpose().map_err(&err)?;
        let image = match (&s.image, &build) {
            (Some(image), _) => image.clone(),
            // Compose's name for a built image without `image:`.
            (None, Some(_)) => format!("{project}-{name}").to_ascii_lowercase(),
            (None, None) => return Err(err("has no `image` and no `build`: give the image to run, or the folder to build it from".into())),
        };
        let words = |v: &Option<StringOrList>, what: &str| -> Result<Option<Vec<String>>, ContentError> {
            match v {
                None => Ok(None),
                Some(StringOrList::One(line)) => split_command(line).map(Some).map_err(|e| err(format!("{what}: {e}"))),
                Some(StringOrList::Many(list)) => Ok(Some(list.clone())),
            }
        };

        // Environment: env files first, then `environment:` wins.
        let mut env: Vec<(String, String)> = Vec::new();
        let mut set_env = |k: String, v: Option<String>| {
            let v = v.or_else(|| self.vars.get(&k).cloned());
            env.retain(|(key, _)| *key != k);
            if let Some(v) = v {
                env.push((k, v));
            }
        };
        for env_file in s.env_file.clone().map(StringOrList::into_list).unwrap_or_default() {
            let path = self.opts.stack_dir.join(&env_file);
            let text = std::fs::read_to_string(&path).map_err(|e| err(format!("cannot read env_file {}: {e}", path.display())))?;
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
                let line = line.strip_prefix("export ").unwrap_or(line);
                match line.split_once('=') {
                    Some((k, v)) => set_env(k.trim().to_owned(), Some(unquote(v.trim()).to_owned())),
                    None => set_env(line.to_owned(), None),
                }
            }
        }
        for (k, v) in s.environment.as_ref().map(|e| e.pairs('=')).unwrap_or_default() {
            set_env(k, v);
        }

        // Networking.
        let mut network_parent = None;
        let mut network_mode = None;
        let mut endpoints: Vec<(String, Vec<String>)> = Vec::new();
        match s.network_mode.as_deref() {
            Some(mode) if mode.starts_with("service:") => {
                let parent = &mode["service:".len()..];
                if !self.service_names.contains(parent) {
                    return Err(err(format!("network_mode points at service `{parent}`, which does not exist")));
                }
                network_parent = Some(parent.to_owned());
                network_mode = Some(format!("container:{project}-{parent}"));
            }
            Some(mode @ ("host" | "none" | "bridge")) => network_mode = Some(mode.to_owned()),
            Some(mode) if mode.starts_with("container:") => network_mode = Some(mode.to_owned()),
            Some(mode) => return Err(err(format!("network_mode `{mode}` is not supported (use host, none, bridge or service:<name>)"))),
            None => {
                let attached = s.networks.clone().unwrap_or_default().0;
                if attached.is_empty() {
                    endpoints.push((format!("{project}_default"), vec![name.to_owned()]));
                }
                for (net, opts) in attached {
                    let full = if net == "default" && !network_names.contains_key("default") {
                        format!("{project}_default")
                    } else {
                        network_names.get(&net).cloned().ok_or_else(|| err(format!("uses network `{net}`, which is not defined under top-level `networks:`")))?
                    };
                    let mut aliases = vec![name.to_owned()];
                    aliases.extend(opts.map(|o| o.aliases).unwrap_or_default());
                    endpoints.push((full, aliases));
                }
            }
        }
        if network_mode.is_some() && s.networks.is_some() {
            return Err(err("sets both network_mode and networks; keep one".into()));
        }

        // Ports.
        let mut published = Vec::new();
        for port in &s.ports {
            match port {
                ShortOrLong::Short(spec) => published.extend(parse_short_port(spec).map_err(&err)?),
                ShortOrLong::Long(long) => published.push(long_port(long).map_err(&err)?),
            }
        }
        if !published.is_empty() && network_parent.is_some() {
            return Err(err("publishes ports but shares another service's network; publish them on that service".into()));
        }
        if !published.is_empty() && matches!(network_mode.as_deref(), Some("host" | "none")) {
            return Err(err("publishes ports with network_mode host or none, where publishing has no effect; remove `ports`".into()));
        }
        let mut exposed: Vec<String> = published.iter().map(|p| format!("{}/{}", p.container_port, p.protocol)).collect();
        for e in &s.expose {
            let e = &e.0;
            exposed.push(if e.contains('/') { e.clone() } else { format!("{e}/tcp") });
        }
        exposed.sort();
        exposed.dedup();
        let mut port_bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
        for p in &published {
            port_bindings.entry(format!("{}/{}", p.container_port, p.protocol)).or_insert_with(|| Some(Vec::new())).get_or_insert_with(Vec::new).push(PortBinding {
                host_ip: (!p.host_ip.is_empty()).then(|| p.host_ip.clone()),
                host_port: Some(p.host_port.map(|h| h.to_string()).unwrap_or_default()),
            });
        }

        // Volumes and tmpfs.
        let mut binds = Vec::new();
        let mut anonymous = Vec::new();
        let mut tmpfs: HashMap<String, String> = HashMap::new();
        for v in &s.volumes {
            match v {
                ShortOrLong::Short(spec) => match self.short_volume(spec, volume_names).map_err(&err)? {
                    Mount::Bind(b) => binds.push(b),
                    Mount::Anonymous(t) => anonymous.push(t),
                },
                ShortOrLong::Long(long) => match self.long_volume(long, volume_names).map_err(&err)? {
                    LongMount::Bind(b) => binds.push(b),
                    LongMount::Anonymous(t) => anonymous.push(t),
                    LongMount::Tmpfs(path, opts) => {
                        tmpfs.insert(path, opts);
                    }
                },
            }
        }
        for t in s.tmpfs.clone().map(StringOrList::into_list).unwrap_or_default() {
            let (path, opts) = t.split_once(':').map_or((t.as_str(), ""), |(p, o)| (p, o));
            tmpfs.insert(path.to_owned(), opts.to_owned());
        }

        // Health, restart, limits.
        let healthcheck = match &s.healthcheck {
            None => None,
            Some(h) if h.disable => Some(HealthConfig { test: Some(vec!["NONE".into()]), ..Default::default() }),
            Some(h) => {
                let test = match &h.test {
                    None => None,
                    Some(StringOrList::One(cmd)) => Some(vec!["CMD-SHELL".to_owned(), cmd.clone()]),
                    Some(StringOrList::Many(list)) => {
                        if !matches!(list.first().map(String::as_str), Some("CMD" | "CMD-SHELL" | "NONE")) {
                            return Err(err("healthcheck test must start with CMD, CMD-SHELL or NONE".into()));
                        }
                        Some(list.clone())
                    }
                };
                let ns = |d: &Option<String>| -> Result<Option<i64>, ContentError> {
                    d.as_deref()
                        .map(|d| {
                            let nanos = parse_duration(d).map_err(|m| err(format!("healthcheck: {m}")))?.as_nanos();
                            // The schema refuses longer times; never wrap around.
                            i64::try_from(nanos).map_err(|_| err(format!("healthcheck: `{d}` is longer than the engine can hold")))
                        })
                        .transpose()
                };
                Some(HealthConfig {
                    test,
                    interval: ns(&h.interval)?,
                    timeout: ns(&h.timeout)?,
                    retries: h.retries,
                    start_period: ns(&h.start_period)?,
                    start_interval: ns(&h.start_interval)?,
                })
            }
        };
        let has_healthcheck = healthcheck.as_ref().is_some_and(|h| h.test.as_ref().is_none_or(|t| t.first().is_none_or(|f| f != "NONE")));
        let restart_policy = s.restart.as_deref().map(|r| restart(r).map_err(&err)).transpose()?;
        let memory = s.mem_limit.as_ref().map(|m| parse_bytes(&m.0).map_err(|e| err(format!("mem_limit: {e}")))).transpose()?;
        let nano_cpus = s
            .cpus
            .as_ref()
            .map(|c| c.0.parse::<f64>().map(|c| (c * 1e9) as i64).map_err(|_| err(format!("cpus: `{}` is not a number", c.0))))
            .transpose()?;
        let stop_grace = s.stop_grace_period.as_deref().map(|d| parse_duration(d).map_err(|m| err(format!("stop_grace_period: {m}")))).transpose()?;
        let cgroupns_mode = match s.cgroup.as_deref() {
            None => None,
            Some("host") => Some(HostConfigCgroupnsModeEnum::HOST),
            Some("private") => Some(HostConfigCgroupnsModeEnum::PRIVATE),
            Some(other) => return Err(err(format!("cgroup must be host or private, not `{other}`"))),
        };
        let devices = s.devices.iter().map(|d| device(d)).collect::<Vec<_>>();
        let extra_hosts = s
            .extra_hosts
            .as_ref()
            .map(|h| match h {
                ListOrMap::List(items) => items.iter().map(|i| i.replacen('=', ":", 1)).collect(),
                ListOrMap::Map(pairs) => pairs.iter().map(|(k, v)| format!("{k}:{}", v.clone().unwrap_or_default())).collect(),
            });

        let mut container_labels = common_labels.clone();
        for (k, v) in s.labels.as_ref().map(|l| l.pairs('=')).unwrap_or_default() {
            if k.starts_with("lab.") {
                return Err(err(format!("label `{k}` uses the reserved prefix `lab.`")));
            }
            container_labels.insert(k, v.unwrap_or_default());
        }
        container_labels.insert(labels::SERVICE.into(), name.to_owned());
        if let Some(parent) = &network_parent {
            container_labels.insert(labels::NETWORK_OF.into(), parent.clone());
        }
        if let Some(g) = stop_grace {
            container_labels.insert(labels::STOP_GRACE.into(), g.as_secs().to_string());
        }

        let first = endpoints.first().cloned();
        let networking_config = first.as_ref().map(|(net, aliases)| NetworkingConfig {
            endpoints_config: Some(HashMap::from([(net.clone(), EndpointSettings { aliases: Some(aliases.clone()), ..Default::default() })])),
        });
        let create = ContainerCreateBody {
            image: Some(image.clone()),
            cmd: words(&s.command, "command")?,
            entrypoint: words(&s.entrypoint, "entrypoint")?,
            env: (!env.is_empty()).then(|| env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
            volumes: (!anonymous.is_empty()).then_some(anonymous),
            hostname: s.hostname.clone(),
            working_dir: s.working_dir.clone(),
            user: s.user.as_ref().map(|u| u.0.clone()),
            labels: Some(container_labels),
            healthcheck,
            stop_timeout: stop_grace.map(|g| g.as_secs() as i64),
            networking_config,
            host_config: Some(HostConfig {
                network_mode: network_mode.or_else(|| first.map(|(net, _)| net)),
                port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
                binds: (!binds.is_empty()).then_some(binds),
                tmpfs: (!tmpfs.is_empty()).then_some(tmpfs),
                privileged: s.privileged.then_some(true),
                cap_add: (!s.cap_add.is_empty()).then(|| s.cap_add.clone()),
                cgroupns_mode,
                devices: (!devices.is_empty()).then_some(devices),
                restart_policy,
                memory,
                nano_cpus,
                pids_limit: s.pids_limit,
                extra_hosts,
                sysctls: s.sysctls.as_ref().map(|x| x.pairs('=').into_iter().map(|(k, v)| (k, v.unwrap_or_default())).collect()),
                ..Default::default()
            }),
            ..Default::default()
        };

        let declared = s.depends_on.clone().unwrap_or_default().0;
        let optional_deps: Vec<String> = declared.iter().filter(|(_, o)| o.as_ref().and_then(|o| o.required) == Some(false)).map(|(d, _)| d.clone()).collect();
        let mut depends_on: Vec<(String, Condition)> = declared.into_iter().map(|(dep, opts)| (dep, opts.map(|o| o.condition).unwrap_or_default())).collect();
        if let Some(parent) = &network_parent
            && !depends_on.iter().any(|(d, _)| d == parent)
        {
            depends_on.push((parent.clone(), Condition::ServiceStarted));
        }
        for (dep, _) in &depends_on {
            if !self.service_names.contains(dep.as_str()) {
                return Err(err(format!("depends on `{dep}`, which is not a service in this file")));
            }
        }

        Ok(ServicePlan {
            name: name.to_owned(),
            container: format!("{project}-{name}"),
            image,
            build,
            create,
            depends_on,
            optional_deps,
            network_parent,
            extra_networks: endpoints.into_iter().skip(1).collect(),
            has_healthcheck,
            published,
            origin: self.origin(name),
        })
    }
}

/// Services that build the same image name must build it the same way.
fn check_shared_tags(services: &[ServicePlan]) -> Result<(), (String, String)> {
    // The first service that builds each image name, and how.
    let mut first: HashMap<&str, (&str, &BuildPlan)> = HashMap::new();
    for s in services {
        let Some(build) = &s.build else { continue };
        match first.get(s.image.as_str()) {
            Some((other, b)) if *b != build => {
                return Err((s.name.clone(), format!("builds the image `{}` differently from service `{other}`; give one of them another `image:` name", s.image)));
            }
            Some(_) => {}
            None => {
                first.insert(&s.image, (&s.name, build));
            }
        }
    }
    Ok(())
}

/// Every dependency exists and there is no cycle. Errors carry the service to blame.
fn check_dependencies(services: &[ServicePlan]) -> Result<(), (String, String)> {
    let healthless: HashSet<&str> = services.iter().filter(|s| !s.has_healthcheck).map(|s| s.name.as_str()).collect();
    for s in services {
        for (dep, condition) in &s.depends_on {
            let healthless = healthless.contains(dep.as_str());
            if *condition == Condition::ServiceHealthy && healthless {
                return Err((s.name.clone(), format!("waits for `{dep}` to be healthy, but `{dep}` has no healthcheck")));
            }
        }
    }
    let deps: HashMap<&str, Vec<&str>> = services.iter().map(|s| (s.name.as_str(), s.depends_on.iter().map(|(d, _)| d.as_str()).collect())).collect();
    // Depth-first, with an explicit stack: a chain of thousands of services must not
    // overflow the thread's stack, and each service is visited once.
    let mut done: HashSet<&str> = HashSet::new();
    for s in services {
        let mut path: Vec<(&str, usize)> = vec![(s.name.as_str(), 0)];
        let mut on_path: HashSet<&str> = HashSet::from([s.name.as_str()]);
        while let Some((node, next)) = path.last_mut() {
            let node = *node;
            if done.contains(node) {
                path.pop();
                on_path.remove(node);
                continue;
            }
            match deps.get(node).and_then(|d| d.get(*next)) {
                Some(dep) => {
                    *next += 1;
                    if on_path.contains(dep) {
                        let start = path.iter().position(|(p, _)| p == dep).unwrap_or(0);
                        let cycle = path[start..].iter().map(|(p, _)| *p).chain(std::iter::once(*dep)).collect::<Vec<_>>().join(" → ");
                        return Err(((*dep).to_owned(), format!("dependency cycle: {cycle}")));
                    }
                    if !done.contains(dep) {
                        path.push((dep, 0));
                        on_path.insert(dep);
                    }
                }
                None => {
                    done.insert(node);
                    on_path.remove(node);
                    path.pop();
                }
            }
        }
    }
    Ok(())
}

mod build;
mod mounts;
mod parse;

pub use build::BuildPlan;
pub use parse::parse_short_port;
pub(crate) use parse::restart;
use mounts::{LongMount, Mount};
use parse::{device, long_port, pairs_to_map, unquote};

#[cfg(test)]
mod tests;
