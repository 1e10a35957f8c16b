//! Site files rendered exactly as lighter rendered them (lighter is the YAML deploy tool
//! the course used): YAML 1.1 scalars, `service` + `override` + `variables`, every
//! `globals.yml` from the file's folder up to the site root merged in, `%{name}` /
//! `%{env.NAME}` / `%{lighter.version}`, env values made text, secretary's keys injected
//! for `ENC[...]` values — plus a checksum label so unchanged files are not redeployed,
//! and warnings for fields Marathon does not know. Marathon JSON files pass through with
//! only the checksum added. Where lab differs from lighter on purpose, the README says.

use super::yaml::Node;
use crate::course::ContentError;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// The label lab puts on every app it renders: a hash of the rendered definition.
pub const CHECKSUM_LABEL: &str = "lab.checksum";

/// lighter's `maven:` section changes what is rendered (it fetches the app's template), so
/// a file with it cannot be rendered faithfully and is refused.
const REFUSED: &[(&str, &str)] = &[("maven", "fetching app templates from Maven")];

/// Sections lighter used only around the deploy (notifications, registry logins for
/// `%{lighter.uniqueVersion}`): they never reached Marathon, and lab ignores them with a
/// warning.
const IGNORED: &[(&str, &str)] = &[
    ("hipchat", "HipChat notifications"),
    ("slack", "Slack notifications"),
    ("newrelic", "New Relic deployment notifications"),
    ("datadog", "Datadog deployment events"),
    ("graphite", "Graphite deployment events"),
    ("facts", "deployment facts for notifications"),
    ("docker", "registry logins"),
];

/// Top-level keys lab understands.
const SUPPORTED: &[&str] = &["service", "override", "variables", "marathon", "secretary"];

/// The format of a site file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// lighter YAML, deployed with `PUT /v2/apps/{id}`.
    Yaml,
    /// Marathon JSON, deployed with `POST /v2/apps`.
    Json,
}

/// A site file ready to deploy.
#[derive(Debug, Clone)]
pub struct RenderedApp {
    /// The file, as the student named it.
    pub file: String,
    /// YAML or JSON.
    pub format: Format,
    /// The app id (always starting with `/`).
    pub id: String,
    /// The app definition to send, checksum label included.
    pub app: Value,
    /// The checksum in that label.
    pub checksum: String,
    /// `marathon.url` from the file or its globals.
    pub marathon_url: Option<String>,
    /// Things the student should know (ENC values passed through, ...).
    pub warnings: Vec<String>,
    /// The file's own YAML tree, to map Marathon's complaints back to lines.
    pub source: Node,
    /// The file's text, to quote the offending line.
    pub text: String,
    /// Whether secretary's keys were injected (the app carries `ENC[...]` values).
    pub secrets: bool,
}

/// Environment lookups for `%{env.NAME}` (injectable for tests).
pub trait Env: Send + Sync {
    /// The variable's value.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// One file that took part in rendering, for locating problems.
#[derive(Clone)]
struct Part {
    display: String,
    text: String,
    node: Node,
    /// Its folder (relative key files are read from there).
    dir: PathBuf,
}

/// Renders one site file. `display` is how messages name it (e.g. `site/wolf3d.yml`);
/// `root` is the site root: `globals.yml` files are merged from the file's folder up to it.
pub fn render(path: &Path, display: &str, root: &Path, env: &dyn Env) -> Result<RenderedApp, ContentError> {
    Renderer::default().render(path, display, root, env)
}

/// Renders many files, reading and parsing each `globals.yml` only once.
#[derive(Default)]
pub struct Renderer {
    globals: std::cell::RefCell<std::collections::HashMap<PathBuf, Result<Part, ContentError>>>,
}

impl Renderer {
    /// Renders one site file (see [`render`]).
    pub fn render(&self, path: &Path, display: &str, root: &Path, env: &dyn Env) -> Result<RenderedApp, ContentError> {
        let text = crate::course::files::read_text_file(path, display)?;
        if path.extension().is_some_and(|e| e == "json") {
            render_json(display, &text)
        } else {
            render_yaml(self, path, display, root, &text, env)
        }
    }

    fn globals(&self, path: &Path) -> Result<Part, ContentError> {
        self.globals
            .borrow_mut()
            .entry(path.to_owned())
            .or_insert_with(|| {
                let shown = path.display().to_string();
                let text = crate::course::files::read_text_file(path, &shown)?;
                let node = Node::parse(&shown, &text)?;
                let part = Part { display: shown, text, node, dir: path.parent().map(Path::to_owned).unwrap_or_default() };
                check_keys(&part)?;
                Ok(part)
            })
            .clone()
    }
}

fn render_json(display: &str, text: &str) -> Result<RenderedApp, ContentError> {
    let app: Value = serde_json::from_str(text).map_err(|e| {
        ContentError::at(display, text, e.line() as u64, e.column() as u64, format!("invalid JSON: {e}"))
            .with_fix("check commas, quotes and brackets near that position")
    })?;
    let source = Node::parse(display, text)?;
    if !app.is_object() {
        return Err(ContentError::at(display, text, 1, 1, "a Marathon app file must be one JSON object"));
    }
    finish(display, Format::Json, app, None, Vec::new(), source, text, &[])
}

fn render_yaml(renderer: &Renderer, path: &Path, display: &str, root: &Path, text: &str, env: &dyn Env) -> Result<RenderedApp, ContentError> {
    let own = Part { display: display.to_owned(), text: text.to_owned(), node: Node::parse(display, text)?, dir: path.parent().map(Path::to_owned).unwrap_or_default() };
    let mut warnings = check_keys(&own)?;
    let mut parts = vec![own];
    for globals in globals_for(path, root) {
        parts.push(renderer.globals(&globals)?);
    }
    for part in &parts {
        env::check_names(part)?;
    }

    // lighter's order (`parse_service`): globals merged in, nearest first, the file
    // winning; variables over the whole document; `service` + `override`; variables again,
    // strictly, with the image's built-ins; env values made text; secretary's keys.
    let mut document = parts[0].node.to_json();
    for part in &parts[1..] {
        document = merge(part.node.to_json(), document).map_err(|e| e.locate(&parts, &[]))?;
    }
    if !document.get("service").is_some_and(Value::is_object) {
        return Err(ContentError::at(display, text, 1, 1, "the file has no `service:` map").with_fix("put the Marathon app definition under `service:`"));
    }
    let fixed = document.get("variables").and_then(Value::as_object).cloned().unwrap_or_default();
    let locate = |name: &str| locate_reference(&parts, name);
    let mut budget = vars::Budget::default();
    let first = Variables { fixed: &fixed, env, image: None };
    substitute(&mut document, &first, false, false, &mut budget).map_err(|e| vars::error(e, &fixed, &locate))?;
    let service = document.get("service").cloned().unwrap_or(Value::Null);
    let image = service.pointer("/container/docker/image").and_then(Value::as_str).filter(|i| !i.is_empty()).map(str::to_owned);
    let override_ = document.get("override").cloned().unwrap_or(Value::Null);
    let mut config = merge(service, override_).map_err(|e| e.locate(&parts, &["override"]))?;
    let second = Variables { fixed: &fixed, env, image };
    substitute(&mut config, &second, true, true, &mut budget).map_err(|e| vars::error(e, &fixed, &locate))?;

    env::coerce(&mut config, &parts)?;
    env::refuse_specials(&config, &parts)?;
    let injected = secretary::apply(&document, &mut config, &parts)?;
    warnings.extend(injected.warnings);
    warnings.extend(unknown_field_warnings(&config, &parts[0]));
    let marathon_url = document.pointer("/marathon/url").and_then(Value::as_str).map(str::to_owned);
    let source = parts.swap_remove(0).node;
    let mut rendered = finish(display, Format::Yaml, config, marathon_url, warnings, source, text, &injected.volatile)?;
    rendered.secrets = !injected.volatile.is_empty();
    Ok(rendered)
}

/// "line 5: `instnces` is not a field of a Marathon app (did you mean `instances`?)"
fn unknown_field_warnings(config: &Value, own: &Part) -> Vec<String> {
    let roots: Vec<&Node> = ["override", "service"].iter().filter_map(|k| own.node.get(k)).collect();
    fields::unknown_fields(config)
        .into_iter()
        .map(|u| {
            let at = fields::locate(&roots, &u.path).map_or_else(|| own.display.clone(), |(l, c)| format!("{}:{l}:{c}", own.display));
            let path = display_path(&u.path);
            match u.suggestion {
                Some(s) => format!("{at}: `{path}` is not a field of a Marathon app (did you mean `{s}`?)"),
                None => format!("{at}: `{path}` is not a field of a Marathon app; Marathon will ignore or refuse it"),
            }
        })
        .collect()
}

/// Validates the id, adds the checksum label.
#[allow(clippy::too_many_arguments)]
fn finish(display: &str, format: Format, mut app: Value, marathon_url: Option<String>, warnings: Vec<String>, source: Node, text: &str, volatile_env: &[&str]) -> Result<RenderedApp, ContentError> {
    let id_node = source.get("service").and_then(|s| s.get("id")).or_else(|| source.get("id"));
    let (line, col) = id_node.map_or((1, 1), |n| (n.line, n.column));
    let Some(raw_id) = app.get("id").and_then(Value::as_str).map(str::to_owned) else {
        return Err(ContentError::at(display, text, line, col, "the app has no `id`").with_fix("add an id such as \"/demo/wolf3d\""));
    };
    let id = crate::marathon::client::normalize_id(&raw_id);
    if let Err(problem) = check_app_id(&id) {
        return Err(ContentError::at(display, text, line, col, format!("app id `{id}` is not valid: {problem}"))
            .with_fix("use lowercase letters, digits, dashes and dots, with / between groups, e.g. /demo/wolf3d"));
    }
    app["id"] = Value::String(id.clone());
    if let Some(labels) = app.get_mut("labels").and_then(Value::as_object_mut) {
        labels.remove(CHECKSUM_LABEL);
    }
    // Fresh deploy keys on every render must not make an unchanged file look changed
    // (lighter hashed them as a constant too).
    let checksum = checksum(&without_env(&app, volatile_env));
    let labels = app.as_object_mut().map(|o| o.entry("labels").or_insert_with(|| Value::Object(Map::new())));
    match labels {
        Some(Value::Object(labels)) => {
            labels.insert(CHECKSUM_LABEL.into(), Value::String(checksum.clone()));
        }
        _ => {
            let at = ["override", "service"].iter().find_map(|k| source.get(k).and_then(|s| s.entry("labels"))).or_else(|| source.entry("labels"));
            let (line, column) = at.map_or((1, 1), |(k, _)| (k.line, k.column));
            return Err(ContentError::at(display, text, line, column, "`labels` must be a map of names to text").with_fix("write each label as `name: value` under `labels:`"));
        }
    }
    Ok(RenderedApp { file: display.to_owned(), format, id, app, checksum, marathon_url, warnings, source, text: text.to_owned(), secrets: false })
}

/// `app` with the named env entries set to a constant.
fn without_env(app: &Value, names: &[&str]) -> Value {
    let mut copy = app.clone();
    if let Some(env) = copy.get_mut("env").and_then(Value::as_object_mut) {
        for name in names {
            if let Some(v) = env.get_mut(*name) {
                *v = Value::String("secretary-deploy-key".into());
            }
        }
    }
    copy
}

pub use crate::marathon::client::check_app_id;

/// A stable hash of an app definition (object keys sorted).
pub fn checksum(app: &Value) -> String {
    crate::digest::short_hash(&[&crate::digest::canonical_json(app)], 10)
}

/// `globals.yml` files from `file`'s folder up to `root`, nearest first. A file outside
/// `root` gets only its own folder's.
fn globals_for(file: &Path, root: &Path) -> Vec<PathBuf> {
    let absolute = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned());
    let file = absolute(file);
    let root = absolute(root);
    let mut out = Vec::new();
    let mut dir = file.parent().map(Path::to_owned);
    while let Some(d) = dir {
        let candidate = d.join("globals.yml");
        // A folder or a symlink loop named globals.yml is reported when it is read.
        if candidate.symlink_metadata().is_ok() && candidate != file {
            out.push(candidate);
        }
        if d == root || !d.starts_with(&root) {
            break;
        }
        dir = d.parent().map(Path::to_owned);
    }
    out
}

/// Refuses a `maven:` section; warns about sections lab ignores and about keys lighter
/// ignored (a misspelt `overide:` changes nothing, so it deserves a word).
fn check_keys(part: &Part) -> Result<Vec<String>, ContentError> {
    let super::yaml::NodeValue::Map(entries) = &part.node.value else {
        return Err(ContentError::at(&part.display, &part.text, part.node.line, part.node.column, "a site file must be a YAML map"));
    };
    let mut warnings = Vec::new();
    for (key, _) in entries {
        let name = key.text.as_str();
        let at = format!("{}:{}:{}", part.display, key.line, key.column);
        if let Some((_, what)) = REFUSED.iter().find(|(k, _)| *k == name) {
            return Err(ContentError::at(&part.display, &part.text, key.line, key.column, format!("`{name}` ({what}) is not supported by lab"))
                .with_fix(format!("write the app under `service:` instead; lab supports {}", SUPPORTED.join(", "))));
        }
        if let Some((_, what)) = IGNORED.iter().find(|(k, _)| *k == name) {
            warnings.push(format!("{at}: `{name}` ({what}) is ignored: lab does not do that part of lighter's job"));
        } else if !SUPPORTED.contains(&name) {
            let near = SUPPORTED.iter().find(|s| fields::distance(name, s) <= 2);
            warnings.push(match near {
                Some(s) => format!("{at}: `{name}` is not a lighter section and is ignored (did you mean `{s}`?)"),
                None => format!("{at}: `{name}` is not a lighter section and is ignored (fine if it only holds YAML anchors)"),
            });
        }
    }
    Ok(warnings)
}

/// Why two documents could not be merged, and where (the path of the patching map).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeError {
    /// Where, in the document that patches.
    pub path: Vec<super::yaml::PathSegment>,
    /// What is wrong.
    pub message: String,
}

impl MergeError {
    /// The error at the line that wrote the patch: the first part (the file, then its
    /// globals) that has something at `path` below `section`.
    fn locate(self, parts: &[Part], section: &[&str]) -> ContentError {
        let fix = "an override map with numbers patches the list items with those numbers (0 is the first)";
        for part in parts {
            let root = section.iter().try_fold(&part.node, |node, key| node.get(key));
            if let Some(root) = root {
                let (node, depth) = root.locate(&self.path);
                if depth == self.path.len() {
                    let (line, column) = match (depth.checked_sub(1).map(|d| root.locate(&self.path[..d]).0), self.path.last()) {
                        (Some(parent), Some(super::yaml::PathSegment::Key(k))) => parent.entry(k).map_or((node.line, node.column), |(key, _)| (key.line, key.column)),
                        _ => (node.line, node.column),
                    };
                    return ContentError::at(&part.display, &part.text, line, column, self.message).with_fix(fix);
                }
            }
        }
        ContentError::file(parts.first().map_or("site", |p| p.display.as_str()), self.message).with_fix(fix)
    }
}

/// lighter's merge: maps deep-merge, lists append, a map over a list patches the items its
/// integer keys name, and otherwise the non-null `over` wins.
pub fn merge(base: Value, over: Value) -> Result<Value, MergeError> {
    use super::yaml::PathSegment;
    let within = |key: PathSegment| move |mut e: MergeError| {
        e.path.insert(0, key.clone());
        e
    };
    match (base, over) {
        (Value::Object(mut b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) => *existing = merge(std::mem::take(existing), v).map_err(within(PathSegment::Key(k.clone())))?,
                    None => {
                        b.insert(k, v);
                    }
                }
            }
            Ok(Value::Object(b))
        }
        (Value::Array(mut b), Value::Array(o)) => {
            b.extend(o);
            Ok(Value::Array(b))
        }
        (Value::Array(mut b), Value::Object(o)) => {
            for (k, v) in o {
                let len = b.len();
                let at = vec![PathSegment::Key(k.clone())];
                let index: usize = k
                    .trim()
                    .trim_start_matches('+')
                    .parse()
                    .map_err(|_| MergeError { path: at.clone(), message: format!("`{k}` cannot patch an item of a list: write the item's number (0 is the first)") })?;
                let slot = b.get_mut(index).ok_or_else(|| MergeError { path: at.clone(), message: format!("this patches item {index} of a list that has {len} items") })?;
                *slot = merge(std::mem::take(slot), v).map_err(within(PathSegment::Key(k.clone())))?;
            }
            Ok(Value::Array(b))
        }
        (base, Value::Null) => Ok(base),
        (_, over) => Ok(over),
    }
}

mod env;
mod fields;
mod secretary;
mod vars;

use super::yaml::display_path;
use vars::{Variables, locate_reference, substitute};

#[cfg(test)]
mod tests;
