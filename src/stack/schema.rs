//! The Compose subset lab reads, written down as data: for each level of a stack file, the
//! keys lab knows and the shape of each value. Walking the positioned tree against it finds
//! every unknown key, wrong type and unsupported value in one pass, each at its own line
//! and column, and lowers what is valid to plain JSON for the typed structs in `file`.
//!
//! The typed structs stay the single source of meaning; this table must accept exactly what
//! they accept (a unit test deserializes a file using every key through both).

use super::tree::{Key, Node, Value};
use checks::{
    MAX_PIDS, check_cgroup, check_condition, check_context, check_cpus, check_health_time, check_image, check_mem_limit, check_network_mode,
    check_propagation, check_protocol, check_published, check_restart, check_short_port, check_size, check_stop_grace, check_volume_type,
};
use serde_json::{Map, Value as Json};

/// One problem, at the position of the offending key or value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
    /// What is wrong, naming the service and key.
    pub message: String,
    /// What to do about it.
    pub fix: Option<String>,
}

impl Problem {
    /// A problem at a value.
    pub fn at(node: &Node, message: String) -> Problem {
        Problem { line: node.line, column: node.column, message, fix: None }
    }

    /// A problem at a key.
    pub fn at_key(key: &Key, message: String) -> Problem {
        Problem { line: key.line, column: key.column, message, fix: None }
    }

    /// Adds the fix.
    pub fn fix(mut self, fix: impl Into<String>) -> Problem {
        self.fix = Some(fix.into());
        self
    }
}

/// Checks a value's text; the error is a whole sentence without the service.
type Check = fn(&str) -> Result<(), String>;

/// What a value may look like.
#[derive(Clone, Copy)]
enum Shape {
    /// Text (a number is read as its text), optionally checked.
    Text(Option<Check>),
    /// Text, number or boolean, read as text, optionally checked.
    Scalar(Option<Check>),
    /// Text or a number, read as text and checked; the check's message follows the key's
    /// path (`healthcheck.interval`: …), for checks shared by several keys.
    Keyed(Check),
    /// `true` or `false`.
    Bool,
    /// A whole number within bounds.
    Int { min: i128, max: i128, what: &'static str },
    /// `echo hi` or `[echo, hi]`.
    StrOrList,
    /// `[A=1]` or `{A: 1}` (values may be null).
    ListOrMap,
    /// A list of values of one shape.
    List(&'static Shape),
    /// A map with the author's keys, values of one shape.
    MapOf(&'static Shape, Option<&'static str>),
    /// A list of names, or a map from name to options (of this shape).
    NamesOrMap(&'static Shape),
    /// A short string form (checked) or the long map form.
    ShortOrLong(Option<Check>, &'static Struct),
    /// A map with known keys.
    Struct(&'static Struct),
    /// The shape, or null.
    Nullable(&'static Shape),
}

/// A map with known keys.
struct Struct {
    /// Where this map is, for "not supported here" fixes: `healthcheck`, `a long port`.
    what: &'static str,
    fields: &'static [(&'static str, Shape)],
    required: &'static [&'static str],
}

const TEXT: Shape = Shape::Text(None);
const SCALAR: Shape = Shape::Scalar(None);
const HEALTH_TIME: Shape = Shape::Keyed(check_health_time);
const PORT: Shape = Shape::Int { min: 0, max: 65535, what: "a port number (0-65535)" };

static TOP: Struct = Struct {
    what: "the top level",
    fields: &[
        ("name", TEXT),
        ("version", SCALAR),
        ("services", Shape::MapOf(&Shape::Struct(&SERVICE), Some("service"))),
        ("networks", Shape::MapOf(&Shape::Nullable(&Shape::Struct(&NETWORK)), Some("network"))),
        ("volumes", Shape::MapOf(&Shape::Nullable(&Shape::Struct(&VOLUME)), Some("volume"))),
        ("x-lab", Shape::Struct(&X_LAB)),
    ],
    required: &["services"],
};

static X_LAB: Struct = Struct {
    what: "x-lab",
    fields: &[("ports", Shape::MapOf(&PORT, None)), ("endpoints", Shape::MapOf(&TEXT, None)), ("links", Shape::MapOf(&TEXT, None)), ("memory", SCALAR)],
    required: &[],
};

/// The service keys, in the order the README lists them.
static SERVICE: Struct = Struct {
    what: "a service",
    fields: &[
        ("image", Shape::Text(Some(check_image))),
        ("build", Shape::ShortOrLong(Some(check_context), &BUILD)),
        ("command", Shape::StrOrList),
        ("entrypoint", Shape::StrOrList),
        ("environment", Shape::ListOrMap),
        ("env_file", Shape::StrOrList),
        ("ports", Shape::List(&Shape::ShortOrLong(Some(check_short_port), &LONG_PORT))),
        ("expose", Shape::List(&SCALAR)),
        ("volumes", Shape::List(&Shape::ShortOrLong(None, &LONG_VOLUME))),
        ("network_mode", Shape::Text(Some(check_network_mode))),
        ("networks", Shape::NamesOrMap(&Shape::Nullable(&Shape::Struct(&SERVICE_NETWORK)))),
        ("privileged", Shape::Bool),
        ("cap_add", Shape::List(&TEXT)),
        ("cgroup", Shape::Text(Some(check_cgroup))),
        ("cgroupns", Shape::Text(Some(check_cgroup))),
        ("devices", Shape::List(&TEXT)),
        ("depends_on", Shape::NamesOrMap(&Shape::Nullable(&Shape::Struct(&DEPENDS_ON)))),
        ("healthcheck", Shape::Struct(&HEALTHCHECK)),
        ("restart", Shape::Text(Some(check_restart))),
        ("labels", Shape::ListOrMap),
        ("mem_limit", Shape::Scalar(Some(check_mem_limit))),
        ("cpus", Shape::Scalar(Some(check_cpus))),
        ("pids_limit", Shape::Int { min: -1, max: MAX_PIDS, what: "a process limit from 1 to 4194304 (0 or -1: no limit)" }),
        ("hostname", TEXT),
        ("extra_hosts", Shape::ListOrMap),
        ("working_dir", TEXT),
        ("user", SCALAR),
        ("stop_grace_period", Shape::Keyed(check_stop_grace)),
        ("sysctls", Shape::ListOrMap),
        ("tmpfs", Shape::StrOrList),
    ],
    required: &[],
};

static BUILD: Struct = Struct {
    what: "build",
    fields: &[("context", Shape::Text(Some(check_context))), ("dockerfile", TEXT), ("args", Shape::ListOrMap), ("target", TEXT)],
    required: &[],
};

static LONG_PORT: Struct = Struct {
    what: "a long-syntax port",
    fields: &[("target", PORT), ("published", Shape::Scalar(Some(check_published))), ("host_ip", TEXT), ("protocol", Shape::Text(Some(check_protocol)))],
    required: &["target"],
};

static LONG_VOLUME: Struct = Struct {
    what: "a long-syntax volume",
    fields: &[
        ("type", Shape::Text(Some(check_volume_type))),
        ("source", TEXT),
        ("target", TEXT),
        ("read_only", Shape::Bool),
        ("bind", Shape::Struct(&BIND)),
        ("volume", Shape::Struct(&VOLUME_OPTIONS)),
        ("tmpfs", Shape::Struct(&TMPFS)),
    ],
    required: &["type", "target"],
};

static BIND: Struct = Struct {
    what: "bind",
    fields: &[("create_host_path", Shape::Bool), ("propagation", Shape::Text(Some(check_propagation)))],
    required: &[],
};

static VOLUME_OPTIONS: Struct = Struct { what: "volume", fields: &[("nocopy", Shape::Bool)], required: &[] };

static TMPFS: Struct = Struct {
    what: "tmpfs",
    fields: &[("size", Shape::Keyed(check_size)), ("mode", Shape::Int { min: 0, max: u32::MAX as i128, what: "a file mode such as 0o1777" })],
    required: &[],
};

static SERVICE_NETWORK: Struct = Struct { what: "a service's network", fields: &[("aliases", Shape::List(&TEXT))], required: &[] };

static DEPENDS_ON: Struct = Struct {
    what: "depends_on",
    fields: &[("condition", Shape::Text(Some(check_condition))), ("required", Shape::Bool)],
    required: &[],
};

static HEALTHCHECK: Struct = Struct {
    what: "healthcheck",
    fields: &[
        ("test", Shape::StrOrList),
        ("interval", HEALTH_TIME),
        ("timeout", HEALTH_TIME),
        ("retries", Shape::Int { min: 0, max: i32::MAX as i128, what: "a number of retries from 0 to 2147483647" }),
        ("start_period", HEALTH_TIME),
        ("start_interval", HEALTH_TIME),
        ("disable", Shape::Bool),
    ],
    required: &[],
};

static NETWORK: Struct = Struct {
    what: "a network",
    fields: &[
        ("driver", TEXT),
        ("internal", Shape::Bool),
        ("attachable", Shape::Bool),
        ("labels", Shape::ListOrMap),
        ("driver_opts", Shape::MapOf(&SCALAR, None)),
        ("external", Shape::Bool),
        ("name", TEXT),
    ],
    required: &[],
};

static VOLUME: Struct = Struct {
    what: "a volume",
    fields: &[("driver", TEXT), ("driver_opts", Shape::MapOf(&SCALAR, None)), ("labels", Shape::ListOrMap), ("external", Shape::Bool), ("name", TEXT)],
    required: &[],
};

/// The keys the table accepts in a service.
#[cfg(test)]
pub fn service_keys() -> impl Iterator<Item = &'static str> {
    SERVICE.fields.iter().map(|(k, _)| *k)
}

/// Compose service keys lab refuses, with the reason; other unknown keys get the list of
/// supported ones.
const REFUSED: &[(&str, &str)] = &[
    ("container_name", "lab names every container <project>-<service>, so that several stacks can share one engine"),
    ("links", "services reach each other by name on the project's network: list the service under depends_on for start order, and give it another name with networks: {default: {aliases: [...]}}"),
    ("external_links", "a lab stack is self-contained: containers outside the project are not on its network"),
    ("volumes_from", "share data through a named volume mounted in each service (NAME:/path; in the services: form, declare it under top-level volumes:)"),
    ("deploy", "these are Swarm settings and lab runs plain containers: use mem_limit, cpus and restart"),
    ("profiles", "lab starts every service in the file"),
    ("extends", "lab reads one file: repeat the keys, or share them with a YAML anchor and <<"),
    ("secrets", "Swarm secrets are not available to plain containers: mount the file with volumes"),
    ("configs", "Swarm configs are not available to plain containers: mount the file with volumes"),
    ("logging", "lab leaves logging to the engine's default driver so that `lab logs` works"),
    ("log_driver", "lab leaves logging to the engine's default driver so that `lab logs` works"),
    ("log_opt", "lab leaves logging to the engine's default driver so that `lab logs` works"),
    ("cpu_shares", "a relative weight lab does not set: remove it, or set a limit with cpus"),
    ("scale", "lab runs one container per service"),
    ("dockerfile", "give it inside build: build: {context: DIR, dockerfile: FILE}"),
];

/// Walks `tree` against the subset: every problem, and the tree lowered to JSON.
pub fn check(tree: &Node) -> (Json, Vec<Problem>) {
    let mut walk = Walk { problems: Vec::new() };
    let json = match &tree.value {
        Value::Map(_) => walk.structure(tree, &TOP, &Ctx::top()),
        _ => {
            walk.problems.push(Problem::at(tree, format!("a stack file must be a map of keys such as services:, not {}", tree.describe())));
            Json::Null
        }
    };
    (json, walk.problems)
}

/// Where the walk is: what owns the value (a service, network or volume), and the key
/// path inside it.
#[derive(Clone)]
struct Ctx {
    owner: Option<String>,
    path: String,
    top: bool,
}

impl Ctx {
    fn top() -> Ctx {
        Ctx { owner: None, path: String::new(), top: true }
    }
    fn key(&self, key: &str) -> Ctx {
        let path = if self.path.is_empty() { key.to_owned() } else { format!("{}.{key}", self.path) };
        Ctx { owner: self.owner.clone(), path, top: false }
    }
    fn item(&self, i: usize) -> Ctx {
        Ctx { owner: self.owner.clone(), path: format!("{}[{i}]", self.path), top: false }
    }
    fn owned(label: &str, name: &str) -> Ctx {
        Ctx { owner: Some(format!("{label} `{name}`")), path: String::new(), top: false }
    }
    /// "service `web`: " or nothing.
    fn prefix(&self) -> String {
        self.owner.as_ref().map(|o| format!("{o}: ")).unwrap_or_default()
    }
    /// What the value is called: "service `web`: `ports[0]`", or "service `web`".
    fn subject(&self) -> String {
        match (&self.owner, self.path.is_empty()) {
            (Some(owner), true) => owner.clone(),
            (_, false) => format!("{}`{}`", self.prefix(), self.path),
            (None, true) => "the value".into(),
        }
    }
}

struct Walk {
    problems: Vec<Problem>,
}

impl Walk {
    fn wrong(&mut self, node: &Node, ctx: &Ctx, expected: &str) -> Json {
        let message = format!("{} must be {expected}, not {}", ctx.subject(), node.describe());
        self.problems.push(Problem::at(node, message));
        Json::Null
    }

    fn checked(&mut self, node: &Node, ctx: &Ctx, text: String, check: Option<Check>) -> Json {
        if let Some(check) = check
            && let Err(message) = check(&text)
        {
            self.problems.push(Problem::at(node, format!("{}{message}", ctx.prefix())));
        }
        Json::String(text)
    }

    fn value(&mut self, node: &Node, shape: &Shape, ctx: &Ctx) -> Json {
        match (shape, &node.value) {
            (Shape::Nullable(_), Value::Null) => Json::Null,
            (Shape::Nullable(inner), _) => self.value(node, inner, ctx),
            (Shape::Text(check), Value::Str(_) | Value::Int(_) | Value::UInt(_) | Value::Float(_))
            | (Shape::Scalar(check), Value::Str(_) | Value::Int(_) | Value::UInt(_) | Value::Float(_) | Value::Bool(_)) => {
                let text = node.scalar_text().unwrap_or_default();
                self.checked(node, ctx, text, *check)
            }
            (Shape::Keyed(check), Value::Str(_) | Value::Int(_) | Value::UInt(_) | Value::Float(_)) => {
                let text = node.scalar_text().unwrap_or_default();
                if let Err(message) = check(&text) {
                    self.problems.push(Problem::at(node, format!("{}`{}`: {message}", ctx.prefix(), ctx.path)));
                }
                Json::String(text)
            }
            (Shape::Text(_) | Shape::Keyed(_), _) => self.wrong(node, ctx, "text"),
            (Shape::Scalar(_), _) => self.wrong(node, ctx, "a text, number or boolean"),
            (Shape::Bool, Value::Bool(b)) => Json::Bool(*b),
            (Shape::Bool, _) => self.wrong(node, ctx, "true or false"),
            (Shape::Int { min, max, what }, v) => {
                let n = match v {
                    Value::Int(i) => Some(i128::from(*i)),
                    Value::UInt(u) => Some(i128::from(*u)),
                    _ => None,
                };
                match n {
                    Some(n) if n >= *min && n <= *max => {
                        if n < 0 { Json::from(n as i64) } else { Json::from(n as u64) }
                    }
                    _ => self.wrong(node, ctx, what),
                }
            }
            (Shape::StrOrList, Value::Seq(items)) => Json::Array(items.iter().enumerate().map(|(i, item)| self.value(item, &SCALAR, &ctx.item(i))).collect()),
            (Shape::StrOrList, Value::Str(_) | Value::Int(_) | Value::UInt(_) | Value::Float(_)) => Json::String(node.scalar_text().unwrap_or_default()),
            (Shape::StrOrList, _) => self.wrong(node, ctx, "a string or a list of strings"),
            (Shape::ListOrMap, Value::Seq(items)) => Json::Array(items.iter().enumerate().map(|(i, item)| self.value(item, &SCALAR, &ctx.item(i))).collect()),
            (Shape::ListOrMap, Value::Map(entries)) => {
                let map = entries.iter().map(|(k, v)| (k.name.clone(), self.value(v, &Shape::Nullable(&SCALAR), &ctx.key(&k.name)))).collect();
                Json::Object(map)
            }
            (Shape::ListOrMap, _) => self.wrong(node, ctx, "a list of KEY=value strings or a map"),
            (Shape::List(inner), Value::Seq(items)) => Json::Array(items.iter().enumerate().map(|(i, item)| self.value(item, inner, &ctx.item(i))).collect()),
            (Shape::List(_), _) => self.wrong(node, ctx, "a list"),
            (Shape::MapOf(_, _), Value::Null) => Json::Object(Map::new()),
            (Shape::MapOf(inner, label), Value::Map(entries)) => {
                let mut map = Map::new();
                for (k, v) in entries {
                    let inner_ctx = match label {
                        Some(label) => Ctx::owned(label, &k.name),
                        None => ctx.key(&k.name),
                    };
                    map.insert(k.name.clone(), self.value(v, inner, &inner_ctx));
                }
                Json::Object(map)
            }
            (Shape::MapOf(_, _), _) => self.wrong(node, ctx, "a map"),
            (Shape::NamesOrMap(_), Value::Seq(items)) => Json::Array(items.iter().enumerate().map(|(i, item)| self.value(item, &TEXT, &ctx.item(i))).collect()),
            (Shape::NamesOrMap(inner), Value::Map(entries)) => {
                let map = entries.iter().map(|(k, v)| (k.name.clone(), self.value(v, inner, &ctx.key(&k.name)))).collect();
                Json::Object(map)
            }
            (Shape::NamesOrMap(_), _) => self.wrong(node, ctx, "a list of names or a map"),
            (Shape::ShortOrLong(_, inner), Value::Map(_)) | (Shape::Struct(inner), Value::Map(_)) => self.structure(node, inner, ctx),
            (Shape::ShortOrLong(check, _), Value::Str(_) | Value::Int(_) | Value::UInt(_)) => {
                let text = node.scalar_text().unwrap_or_default();
                self.checked(node, ctx, text, *check)
            }
            (Shape::ShortOrLong(_, _), _) => self.wrong(node, ctx, "a string or a map"),
            (Shape::Struct(_), _) => self.wrong(node, ctx, "a map"),
        }
    }

    fn structure(&mut self, node: &Node, def: &Struct, ctx: &Ctx) -> Json {
        let entries = node.entries().unwrap_or_default();
        let mut out = Map::new();
        for (key, value) in entries {
            match def.fields.iter().find(|(k, _)| *k == key.name) {
                // A null value is the key left empty: the default, as if it were absent.
                Some(_) if value.value == Value::Null => {}
                Some((_, shape)) => {
                    let lowered = self.value(value, shape, &ctx.key(&key.name));
                    out.insert(key.name.clone(), lowered);
                }
                None if ctx.top && key.name.starts_with("x-") => {
                    out.insert(key.name.clone(), value.to_json());
                }
                None => self.problems.push(self.unknown(key, def, ctx)),
            }
        }
        if out.contains_key("cgroup") && out.contains_key("cgroupns") {
            let key = entries.iter().rev().find(|(k, _)| k.name == "cgroupns" || k.name == "cgroup").map(|(k, _)| k);
            if let Some(key) = key {
                self.problems.push(Problem::at_key(key, format!("{}sets both cgroup and cgroupns, which are the same setting; keep one", ctx.prefix())));
            }
        }
        if let Some(cgroupns) = out.remove("cgroupns") {
            out.insert("cgroup".into(), cgroupns);
        }
        for required in def.required {
            if !entries.iter().any(|(k, v)| k.name == *required && v.value != Value::Null) {
                if ctx.top {
                    let problem = Problem::at(node, "the stack has no services".into());
                    self.problems.push(problem.fix("list them under `services:` (a file without `services:` and `version:` is read as Compose v1, a service per top-level key)"));
                    continue;
                }
                let at = if ctx.path.is_empty() { String::new() } else { format!(" in `{}`", ctx.path) };
                self.problems.push(Problem::at(node, format!("{}{} needs `{required}`{at}", ctx.prefix(), def.what)));
            }
        }
        Json::Object(out)
    }

    fn unknown(&self, key: &Key, def: &Struct, ctx: &Ctx) -> Problem {
        let name = &key.name;
        if ctx.top {
            return Problem::at_key(key, format!("unknown top-level key `{name}`"))
                .fix("lab reads name, services, networks, volumes and x-lab (plus any x- extension)");
        }
        let known = def.fields.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ");
        if std::ptr::eq(def, &SERVICE) {
            let problem = Problem::at_key(key, format!("{}key `{name}` is not supported by lab", ctx.prefix()));
            return match REFUSED.iter().find(|(k, _)| k == name) {
                Some((_, reason)) => problem.fix(*reason),
                None => problem.fix(format!("remove it or use one of: {known}")),
            };
        }
        let here = if ctx.path.is_empty() { def.what.to_owned() } else { format!("`{}`", ctx.path) };
        Problem::at_key(key, format!("{}key `{name}` is not supported here", ctx.prefix())).fix(format!("lab reads these keys in {here}: {known}"))
    }
}

mod checks;
#[cfg(test)]
mod tests;
