//! Compose file format v1: no `services:` (and no `version:`), every top-level key is a
//! service, as docker-compose 1.x wrote them and as many courses still ship them. This
//! rewrites such a tree into the `services:` form, keeping every position, so the schema
//! then checks it like any other file:
//!
//! - `net: host | bridge | none` becomes `network_mode`; `net: container:NAME` becomes
//!   `network_mode: service:NAME` when NAME is a service of the file;
//! - `links: [db, db:alias]` becomes `depends_on` plus, for an alias, a network alias of the
//!   linked service on the project's network (visible to every service, not only the
//!   linking one);
//! - `build: DIR` with `dockerfile: FILE` becomes `build: {context: DIR, dockerfile: FILE}`;
//! - `cpu_quota: N` becomes `cpus: N/100000` (docker-compose 1.x left the period at 100 ms);
//! - named volumes in `volumes:` (`data:/path`) are declared for the project, as v1 created
//!   them on first use.
//!
//! Services without `net` join the project's own network rather than Docker's shared
//! default bridge: they still reach each other by name, and students' stacks stay apart.
//! Everything else is read as in the `services:` form, and what lab cannot honour
//! (`volumes_from`, `external_links`, `cpu_shares`, …) is refused there, with the reason.

use super::schema::Problem;
use super::tree::{Key, Node, Value};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Which form a stack file was written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    /// The Compose specification's form, with `services:`.
    #[default]
    Services,
    /// Compose file format v1: services at the top level.
    V1,
}

/// Top-level keys of the `services:` form; seen in a v1 file they are a misunderstanding.
const NEWER_TOP_LEVEL: &[&str] = &["networks", "volumes", "name", "configs", "secrets"];

/// Whether `tree` is a Compose v1 file: a map without `services` and `version`, with at
/// least one key that is not an `x-` extension.
pub fn is_v1(tree: &Node) -> bool {
    tree.entries().is_some_and(|entries| {
        !entries.iter().any(|(k, _)| k.name == "services" || k.name == "version") && entries.iter().any(|(k, _)| !k.name.starts_with("x-"))
    })
}

/// Rewrites a v1 tree into the `services:` form; other trees are returned unchanged.
pub fn read(tree: Node) -> (Node, Format, Vec<Problem>) {
    if !is_v1(&tree) {
        return (tree, Format::Services, Vec::new());
    }
    let (line, column) = (tree.line, tree.column);
    let Value::Map(entries) = tree.value else { unreachable!("is_v1 checked for a map") };
    let names: HashSet<String> = entries.iter().filter(|(k, _)| !k.name.starts_with("x-")).map(|(k, _)| k.name.clone()).collect();
    let mut problems = Vec::new();
    let mut top = Vec::new();
    let mut services = Vec::new();
    let mut links = Vec::new();
    let mut volumes: BTreeMap<String, Key> = BTreeMap::new();
    for (key, value) in entries {
        if key.name.starts_with("x-") {
            top.push((key, value));
            continue;
        }
        let looks_like_service = value.get("image").is_some() || value.get("build").is_some();
        if NEWER_TOP_LEVEL.contains(&key.name.as_str()) && !looks_like_service {
            problems.push(
                Problem::at_key(&key, format!("`{}:` belongs next to `services:`, but this file has no `services:` key, so lab reads it as Compose v1, where every top-level key is a service", key.name))
                    .fix("put the services under `services:` and keep this key at the top level"),
            );
            continue;
        }
        let Value::Map(body) = value.value else {
            problems.push(Problem::at(&value, format!("service `{}` must be a map of its settings, not {} (this file has no `services:` key, so lab reads it as Compose v1, where every top-level key is a service)", key.name, value.describe())));
            continue;
        };
        let body = service(&key, body, &names, &mut links, &mut volumes, &mut problems);
        services.push((key, Node { value: Value::Map(body), line: value.line, column: value.column }));
    }
    apply_links(&mut services, links, &mut problems);
    let at = Key { name: "services".into(), line, column };
    let mut out = vec![(at.clone(), Node::at(&at, Value::Map(services)))];
    if !volumes.is_empty() {
        let declared = volumes.into_iter().map(|(name, key)| (Key { name, ..key.clone() }, Node::at(&key, Value::Null))).collect();
        out.push((Key { name: "volumes".into(), ..at.clone() }, Node::at(&at, Value::Map(declared))));
    }
    out.extend(top);
    (Node { value: Value::Map(out), line, column }, Format::V1, problems)
}

/// One link to apply once every service is read.
struct Link {
    from: String,
    to: String,
    alias: Option<String>,
    at: Node,
}

/// Translates one service's v1 keys, leaving the rest for the schema.
fn service(name: &Key, body: Vec<(Key, Node)>, services: &HashSet<String>, links: &mut Vec<Link>, volumes: &mut BTreeMap<String, Key>, problems: &mut Vec<Problem>) -> Vec<(Key, Node)> {
    let who = format!("service `{}`", name.name);
    let mut out: Vec<(Key, Node)> = Vec::new();
    let mut dockerfile: Option<(Key, Node)> = None;
    for (key, value) in body {
        match key.name.as_str() {
            "net" => match value.scalar_text().as_deref() {
                Some(mode @ ("host" | "bridge" | "none")) => out.push((renamed(&key, "network_mode"), Node { value: Value::Str(mode.to_owned()), ..value })),
                Some(mode) if mode.starts_with("container:") && mode.len() > "container:".len() => {
                    let target = &mode["container:".len()..];
                    let mode = if services.contains(target) { format!("service:{target}") } else { mode.to_owned() };
                    out.push((renamed(&key, "network_mode"), Node { value: Value::Str(mode), ..value }));
                }
                _ => problems.push(Problem::at(&value, format!("{who}: net {} is not one of host, bridge, none or container:<name>", value.describe()))),
            },
            "links" => match &value.value {
                Value::Seq(items) => {
                    for item in items {
                        match item.scalar_text() {
                            Some(spec) => {
                                let (to, alias) = spec.split_once(':').map_or((spec.as_str(), None), |(t, a)| (t, Some(a.to_owned())));
                                links.push(Link { from: name.name.clone(), to: to.to_owned(), alias, at: item.clone() });
                            }
                            None => problems.push(Problem::at(item, format!("{who}: a link must be SERVICE or SERVICE:ALIAS, not {}", item.describe()))),
                        }
                    }
                }
                _ => problems.push(Problem::at(&value, format!("{who}: `links` must be a list of SERVICE or SERVICE:ALIAS, not {}", value.describe()))),
            },
            "dockerfile" => dockerfile = Some((key, value)),
            "cpu_quota" => match &value.value {
                Value::UInt(quota) if *quota > 0 => out.push((renamed(&key, "cpus"), Node { value: Value::Float(*quota as f64 / 100_000.0), ..value })),
                _ => problems.push(Problem::at(&value, format!("{who}: `cpu_quota` must be a positive number of microseconds per 100 ms, not {}", value.describe()))),
            },
            "volumes" => {
                if let Value::Seq(items) = &value.value {
                    for item in items {
                        if let Some(source) = item.scalar_text().as_deref().and_then(|s| s.split_once(':')).map(|(s, _)| s)
                            && !source.is_empty()
                            && !source.starts_with(['/', '.', '~'])
                        {
                            volumes.entry(source.to_owned()).or_insert_with(|| Key { name: source.to_owned(), line: item.line, column: item.column });
                        }
                    }
                }
                out.push((key, value));
            }
            _ => out.push((key, value)),
        }
    }
    if let Some((key, value)) = dockerfile {
        match out.iter_mut().find(|(k, _)| k.name == "build") {
            Some((_, build)) => match &mut build.value {
                Value::Map(entries) if entries.iter().any(|(k, _)| k.name == "dockerfile") => {
                    problems.push(Problem::at_key(&key, format!("{who}: `dockerfile` is given twice, here and under build:; keep one")));
                }
                Value::Map(entries) => entries.push((key, value)),
                _ => {
                    let context = std::mem::replace(&mut build.value, Value::Null);
                    let context_key = Key { name: "context".into(), line: build.line, column: build.column };
                    build.value = Value::Map(vec![(context_key, Node { value: context, line: build.line, column: build.column }), (key, value)]);
                }
            },
            None => problems.push(Problem::at_key(&key, format!("{who}: `dockerfile` names the Dockerfile of a build, but the service has no `build`")).fix("add `build: DIR` (the folder holding the Dockerfile), or remove `dockerfile`")),
        }
    }
    out
}

/// A key with another name at the same place.
fn renamed(key: &Key, name: &str) -> Key {
    Key { name: name.to_owned(), ..key.clone() }
}

/// Turns links into dependencies and aliases.
fn apply_links(services: &mut [(Key, Node)], links: Vec<Link>, problems: &mut Vec<Problem>) {
    // Services by name: a file with many links must not search the list for each one.
    let index: HashMap<String, usize> = services.iter().enumerate().map(|(i, (k, _))| (k.name.clone(), i)).collect();
    let network_mode = |services: &[(Key, Node)], name: &str| -> Option<String> {
        index.get(name).and_then(|i| services[*i].1.get("network_mode")).and_then(Node::scalar_text)
    };
    let mut aliases: Vec<(String, String, Node)> = Vec::new();
    for link in links {
        let who = format!("service `{}`", link.from);
        if !index.contains_key(&link.to) {
            problems.push(Problem::at(&link.at, format!("{who}: links to `{}`, which is not a service in this file", link.to)).fix("lab links services of the same file only"));
            continue;
        }
        if let Some(mode) = network_mode(services, &link.from) {
            let fix = if mode == "host" {
                format!("remove the link: with net: host, reach `{}` through localhost and its published ports", link.to)
            } else {
                "remove `net:` so that the service joins the project's network, where links work".to_owned()
            };
            problems.push(Problem::at(&link.at, format!("{who}: links do not work with net: {mode}")).fix(fix));
            continue;
        }
        if let Some((_, body)) = index.get(&link.from).and_then(|i| services.get_mut(*i)) {
            add_dependency(body, &link.to, &link.at);
        }
        if let Some(alias) = link.alias.filter(|a| *a != link.to) {
            aliases.push((link.to, alias, link.at));
        }
    }
    for (target, alias, at) in aliases {
        if let Some(mode) = network_mode(services, &target) {
            problems.push(Problem::at(&at, format!("the link alias `{alias}` cannot be given to `{target}`, which uses net: {mode}")).fix(format!("use the name `{target}`")));
            continue;
        }
        let Some((_, body)) = index.get(&target).and_then(|i| services.get_mut(*i)) else { continue };
        add_alias(body, &alias, &at, problems, &target);
    }
}

fn add_dependency(body: &mut Node, to: &str, at: &Node) {
    let Value::Map(entries) = &mut body.value else { return };
    let name = Node { value: Value::Str(to.to_owned()), ..at.clone() };
    match entries.iter_mut().find(|(k, _)| k.name == "depends_on") {
        Some((_, Node { value: Value::Seq(items), .. })) => {
            if !items.iter().any(|i| i.scalar_text().as_deref() == Some(to)) {
                items.push(name);
            }
        }
        Some((_, Node { value: Value::Map(deps), .. })) => {
            if !deps.iter().any(|(k, _)| k.name == to) {
                deps.push((Key { name: to.to_owned(), line: at.line, column: at.column }, Node { value: Value::Null, ..at.clone() }));
            }
        }
        // Anything else is reported by the schema as it stands.
        Some(_) => {}
        None => entries.push((Key { name: "depends_on".into(), line: at.line, column: at.column }, Node { value: Value::Seq(vec![name]), ..at.clone() })),
    }
}

fn add_alias(body: &mut Node, alias: &str, at: &Node, problems: &mut Vec<Problem>, target: &str) {
    let Value::Map(entries) = &mut body.value else { return };
    let key = |name: &str| Key { name: name.to_owned(), line: at.line, column: at.column };
    let node = |value: Value| Node { value, ..at.clone() };
    let networks = match entries.iter_mut().find(|(k, _)| k.name == "networks") {
        Some((_, networks)) => networks,
        None => {
            entries.push((key("networks"), node(Value::Map(Vec::new()))));
            let Some((_, networks)) = entries.last_mut() else { return };
            networks
        }
    };
    let Value::Map(nets) = &mut networks.value else {
        problems.push(Problem::at(at, format!("the link alias `{alias}` cannot be added to `{target}`, whose networks are a list")).fix("write its networks as a map"));
        return;
    };
    if !nets.iter().any(|(k, _)| k.name == "default") {
        nets.push((key("default"), node(Value::Map(Vec::new()))));
    }
    let Some((_, default)) = nets.iter_mut().find(|(k, _)| k.name == "default") else { return };
    if default.value == Value::Null {
        default.value = Value::Map(Vec::new());
    }
    let Value::Map(options) = &mut default.value else { return };
    if !options.iter().any(|(k, _)| k.name == "aliases") {
        options.push((key("aliases"), node(Value::Seq(Vec::new()))));
    }
    if let Some((_, Node { value: Value::Seq(list), .. })) = options.iter_mut().find(|(k, _)| k.name == "aliases")
        && !list.iter().any(|a| a.scalar_text().as_deref() == Some(alias))
    {
        list.push(node(Value::Str(alias.to_owned())));
    }
}

#[cfg(test)]
mod tests;
