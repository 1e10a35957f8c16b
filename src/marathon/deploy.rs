//! Deploying site files: YAML with `PUT /v2/apps/{id}`, Marathon JSON with `POST /v2/apps`
//! (an existing app is updated). Unlike lighter, one broken or rejected file never blocks
//! the others, and a file whose rendered app already runs (same checksum) is left alone.

use super::client::{DeploymentRef, Marathon, MarathonError};
use super::site::{self, CHECKSUM_LABEL, Env, Format, RenderedApp};
use super::yaml::{display_path, parse_path};
use crate::course::ContentError;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum Outcome {
    /// Marathon accepted it and started a deployment.
    Deployed {
        /// The deployment.
        #[serde(flatten)]
        deployment: DeploymentRef,
    },
    /// The app already runs this exact definition.
    Unchanged,
    /// It could not be rendered, or Marathon refused it; the running version stays.
    Failed {
        /// Where (file, and line:col when known).
        location: String,
        /// Why.
        error: String,
        /// What to do.
        #[serde(skip_serializing_if = "Option::is_none")]
        hint: Option<String>,
        /// The offending line of the file, when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        line: Option<String>,
        /// The 1-based line and column that `location` names, when it names one (for
        /// callers that mark the line, such as the site editor; JSON output has `location`).
        #[serde(skip)]
        position: Option<(u64, u64)>,
    },
}

/// The result for one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileResult {
    /// The file as the student named it.
    pub file: String,
    /// The app id, when the file rendered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// What happened.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Warnings from rendering.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl FileResult {
    fn failed(file: &str, app: Option<String>, error: &ContentError) -> FileResult {
        FileResult {
            file: file.to_owned(),
            app,
            outcome: Outcome::Failed { location: error.location(), error: error.message.clone(), hint: error.fix.clone(), line: error.source_line.clone(), position: error.position },
            warnings: Vec::new(),
        }
    }

    /// Whether the file ended up deployed or unchanged.
    pub fn ok(&self) -> bool {
        !matches!(self.outcome, Outcome::Failed { .. })
    }
}

/// A site file to deploy: where it is, how to name it, and its site root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteFile {
    /// Path on disk.
    pub path: PathBuf,
    /// Name in messages (the path as given, or relative to the folder given).
    pub display: String,
    /// The site root: `globals.yml` files are merged from the file's folder up to here.
    pub root: PathBuf,
}

/// Expands the arguments into site files: files as given, folders recursively
/// (`*.yml`, `*.yaml`, `*.json`, sorted), never `globals.yml`. Errors name missing paths.
/// A folder argument is its files' site root; a file given directly has the current folder
/// as its root when it lies below it (so `lab deploy site/sub/x.yml` merges
/// `site/globals.yml` too), else its own folder.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<SiteFile>, String> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            found.sort();
            out.extend(found.into_iter().map(|p| SiteFile { display: display_name(path, &p), path: p, root: path.clone() }));
        } else if path.is_file() {
            if !is_globals(path) {
                let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
                let root = if absolute.starts_with(&cwd) { cwd.clone() } else { absolute.parent().map_or_else(|| cwd.clone(), Path::to_owned) };
                out.push(SiteFile { path: path.clone(), display: path.display().to_string(), root });
            }
        } else {
            return Err(format!("{} does not exist", path.display()));
        }
    }
    Ok(out)
}

/// How to name a file found in folder `dir`: relative to the folder's parent, so that a
/// file in `~/ws/site` reads `site/app.yml`.
pub fn display_name(dir: &Path, path: &Path) -> String {
    let base = dir.parent().unwrap_or(dir);
    path.strip_prefix(base).unwrap_or(path).display().to_string()
}

/// Whether `path` is a file lab deploys.
pub fn is_site_file(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    matches!(ext, "yml" | "yaml" | "json") && !is_globals(path) && path.file_name().is_some_and(|n| !crate::course::files::is_ignored(&n.to_string_lossy()))
}

/// Whether `path` is a `globals.yml`.
pub fn is_globals(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "globals.yml" || n == "globals.yaml")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        if crate::course::files::is_ignored(&name.to_string_lossy()) {
            continue;
        }
        if entry.file_type()?.is_dir() {
            walk(&path, out)?;
        } else if is_site_file(&path) {
            out.push(path);
        }
    }
    Ok(())
}

/// Renders every file, keeping failures alongside successes.
pub fn render_all(files: &[SiteFile], env: &dyn Env) -> Vec<(SiteFile, Result<RenderedApp, ContentError>)> {
    let renderer = site::Renderer::default();
    files.iter().map(|f| (f.clone(), renderer.render(&f.path, &f.display, &f.root, env))).collect()
}

/// Deploys one rendered app. Only an unreachable Marathon (or no HTTP client) is an `Err`:
/// every other problem is this file's `Failed` outcome.
pub async fn deploy(marathon: &Marathon, rendered: &RenderedApp) -> Result<FileResult, MarathonError> {
    let result = |outcome| FileResult { file: rendered.file.clone(), app: Some(rendered.id.clone()), outcome, warnings: rendered.warnings.clone() };
    match marathon.app(&rendered.id).await {
        Ok(Some(running)) if running.label(CHECKSUM_LABEL) == Some(rendered.checksum.as_str()) => return Ok(result(Outcome::Unchanged)),
        Ok(_) => {}
        Err(e @ (MarathonError::Unreachable { .. } | MarathonError::Client(_))) => return Err(e),
        Err(e) => return Ok(result(failure(rendered, &e))),
    }
    let attempt = match rendered.format {
        Format::Yaml => put_with_force_retry(marathon, rendered).await,
        Format::Json => match marathon.post_app(&rendered.app).await {
            Err(MarathonError::Exists { .. }) => put_with_force_retry(marathon, rendered).await,
            other => other,
        },
    };
    match attempt {
        Ok(deployment) => Ok(result(Outcome::Deployed { deployment })),
        Err(e @ (MarathonError::Unreachable { .. } | MarathonError::Client(_))) => Err(e),
        Err(e) => Ok(result(failure(rendered, &e))),
    }
}

/// lighter deploys with force; lab asks politely first and forces only when a deployment
/// holds the app (409), which replaces that deployment.
async fn put_with_force_retry(marathon: &Marathon, rendered: &RenderedApp) -> Result<DeploymentRef, MarathonError> {
    match marathon.put_app(&rendered.id, &rendered.app, false).await {
        Err(MarathonError::Locked { .. }) => marathon.put_app(&rendered.id, &rendered.app, true).await,
        other => other,
    }
}

/// Turns Marathon's refusal into an outcome that points at the student's own line.
fn failure(rendered: &RenderedApp, err: &MarathonError) -> Outcome {
    let MarathonError::Invalid { message, details } = err else {
        return Outcome::Failed { location: rendered.file.clone(), error: err.to_string(), hint: None, line: None, position: None };
    };
    let Some((path, errors)) = details.first() else {
        return Outcome::Failed { location: rendered.file.clone(), error: format!("Marathon rejected the app: {message}"), hint: None, line: None, position: None };
    };
    let segments = parse_path(path);
    // In a YAML file the app lives under `service:` (or `override:`); in JSON at the top.
    let roots: Vec<&super::yaml::Node> = match rendered.format {
        Format::Yaml => ["override", "service"].iter().filter_map(|k| rendered.source.get(k)).collect(),
        Format::Json => vec![&rendered.source],
    };
    let best = roots.iter().map(|root| root.locate(&segments)).max_by_key(|(_, depth)| *depth);
    let (location, line, position) = match best {
        Some((node, depth)) if depth > 0 || segments.is_empty() => (
            format!("{}:{}:{}", rendered.file, node.line, node.column),
            usize::try_from(node.line).ok().and_then(|l| rendered.text.lines().nth(l.saturating_sub(1))).map(|l| crate::course::error::quote_line(l, node.column)),
            Some((node.line, node.column)),
        ),
        _ => (rendered.file.clone(), None, None),
    };
    let field = if segments.is_empty() { "the app".to_owned() } else { display_path(&segments) };
    let mut error = format!("Marathon rejected {field}: {}", errors.join("; "));
    if details.len() > 1 {
        let others: Vec<String> = details[1..].iter().map(|(p, e)| format!("{}: {}", display_path(&parse_path(p)), e.join("; "))).collect();
        error.push_str(&format!(" (also: {})", others.join(", ")));
    }
    Outcome::Failed { location, error, hint: Some("fix the value and save again; the running version keeps running".into()), line, position }
}

/// The results of deploying several files.
#[derive(Debug, Clone, Default)]
pub struct DeployRun {
    /// One result per file, in order.
    pub results: Vec<FileResult>,
    /// Set when Marathon could not be reached; files after that point were not tried.
    pub unreachable: Option<String>,
    /// Whether Marathon answered for at least one file.
    pub reached: bool,
    /// Files that rendered but were not sent because Marathon could not be reached (by
    /// display name): `lab watch` sends them again once Marathon answers.
    pub not_tried: Vec<String>,
}

/// Deploys the rendered files in order. A file that fails never stops the others; once
/// Marathon turns out unreachable, the remaining files are reported as not tried.
pub async fn deploy_all(marathon: &Marathon, rendered: Vec<(SiteFile, Result<RenderedApp, ContentError>)>) -> DeployRun {
    deploy_each(marathon, rendered, &mut |_| {}).await
}

/// [`deploy_all`], calling `each` with every result as soon as it is known (a watcher starts
/// following a deployment before the next file is sent).
pub async fn deploy_each(marathon: &Marathon, rendered: Vec<(SiteFile, Result<RenderedApp, ContentError>)>, each: &mut (dyn FnMut(&FileResult) + Send)) -> DeployRun {
    let mut run = DeployRun::default();
    for (file, app) in rendered {
        let result = match (app, &run.unreachable) {
            (Err(e), _) => FileResult::failed(&file.display, None, &e),
            (Ok(app), Some(reason)) => {
                run.not_tried.push(file.display.clone());
                not_tried(&app, reason)
            }
            (Ok(app), None) => match deploy(marathon, &app).await {
                Ok(r) => {
                    run.reached = true;
                    r
                }
                Err(e) => {
                    let reason = e.to_string();
                    let result = not_tried(&app, &reason);
                    run.not_tried.push(file.display.clone());
                    run.unreachable = Some(reason);
                    result
                }
            },
        };
        each(&result);
        run.results.push(result);
    }
    run
}

fn not_tried(app: &RenderedApp, reason: &str) -> FileResult {
    FileResult {
        file: app.file.clone(),
        app: Some(app.id.clone()),
        outcome: Outcome::Failed { location: app.file.clone(), error: format!("not deployed: {reason}"), hint: None, line: None, position: None },
        warnings: app.warnings.clone(),
    }
}
