//! What a save is: the text is written first (the student's words are never thrown away,
//! even when they do not render or cannot be sent), then rendered with exactly the code
//! `lab deploy` uses and, when it renders, deployed — unchanged when Marathon already runs
//! it, refused with Marathon's complaint at the student's line, or left pending while
//! Marathon cannot be reached. Saving a `globals.yml` redeploys every file below it, as
//! `lab watch` does. Files left pending are listed in `.site-history/pending.json`, so a
//! later [`SiteFolder::redeploy_pending`] (after a restart too) sends them.

use super::folder::{FileInfo, SiteFolder, atomic_write};
use super::history::VersionKind;
use super::path::SitePath;
use super::EditorError;
use crate::course::ContentError;
use crate::marathon::deploy::{self, FileResult, Outcome, SiteFile};
use crate::marathon::site::Env;
use crate::marathon::{DeploymentRef, Marathon};
use serde::Serialize;
use serde_json::Value;
use std::path::Path;

/// How a save ended, for the file saved (for a `globals.yml`: for the files below it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SaveOutcome {
    /// Saved; Marathon already runs exactly this definition.
    Unchanged,
    /// Saved and sent: Marathon started a deployment (follow it with [`super::follow`]).
    Deployed,
    /// Saved, not sent: Marathon could not be reached. It is pending and will be sent by
    /// [`SiteFolder::redeploy_pending`].
    NotDeployed,
    /// Saved, not sent: Marathon refused it (the errors say where); the running version
    /// keeps running.
    Failed,
    /// Saved, not sent: it does not render (the errors say where).
    Invalid,
}

/// A problem at a place in a file, for the editor to mark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineError {
    /// The file it is in, relative to the site folder: the file saved, or a `globals.yml`
    /// merged into it.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// 1-based column, when known.
    pub col: Option<u64>,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub fix: Option<String>,
}

impl LineError {
    fn from_content(e: &ContentError) -> LineError {
        LineError { file: e.file.clone(), line: e.position.map(|p| p.0), col: e.position.map(|p| p.1), message: e.message.clone(), fix: e.fix.clone() }
    }
}

/// What a save did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SaveReport {
    /// How it ended.
    pub outcome: SaveOutcome,
    /// One sentence for the student.
    pub message: String,
    /// Where the file (or a file below a saved `globals.yml`) is wrong.
    pub errors: Vec<LineError>,
    /// Things worth knowing that did not stop the deploy (an unknown field, ...).
    pub warnings: Vec<String>,
    /// The rendered app, as `lab deploy --dry-run` shows it (not for a `globals.yml`).
    pub app: Option<Value>,
    /// The app's id, when it rendered.
    pub app_id: Option<String>,
    /// The deployment Marathon started, to follow.
    pub deployment: Option<DeploymentRef>,
    /// The file as saved, with its new ETag.
    pub file: FileInfo,
    /// For a `globals.yml`: what happened to each file below it.
    pub also_deployed: Vec<FileResult>,
    /// Whether something is waiting for Marathon to answer.
    pub pending: bool,
}

/// What [`SiteFolder::redeploy_pending`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PendingRun {
    /// Each pending file's result.
    pub results: Vec<FileResult>,
    /// What is still waiting (Marathon still unreachable).
    pub still_pending: Vec<SitePath>,
}

/// One file's part of a save.
struct Each {
    site: SitePath,
    outcome: SaveOutcome,
    errors: Vec<LineError>,
    app: Option<Value>,
    result: FileResult,
}

/// Every file of one save, and why Marathon could not be reached (if it could not).
struct Batch {
    files: Vec<Each>,
    unreachable: Option<String>,
}

impl SiteFolder {
    /// Saves `text` to `path` (If-Match as for [`SiteFolder::write`]), then renders and
    /// deploys it to `marathon`. Only a save that could not be written is an `Err`; how the
    /// deploy went is the report's outcome.
    pub async fn save(&self, path: &str, text: &str, if_match: Option<&str>, marathon: &Marathon, env: &dyn Env) -> Result<SaveReport, EditorError> {
        let site = SitePath::parse(path)?;
        let file = self.replace(&site, text.as_bytes(), if_match, VersionKind::Saved)?;
        if site.is_globals() {
            let below = self.below(&site)?;
            if below.is_empty() {
                return Ok(globals_alone(&site, text, file));
            }
            let batch = self.deploy_batch(&below, marathon, env).await?;
            return Ok(globals_report(&site, batch, file));
        }
        let mut batch = self.deploy_batch(std::slice::from_ref(&site), marathon, env).await?;
        let Some(each) = batch.files.pop() else {
            return Err(EditorError::NotFound { path: site.to_string() });
        };
        let deployment = match &each.result.outcome {
            Outcome::Deployed { deployment } => Some(deployment.clone()),
            _ => None,
        };
        Ok(SaveReport {
            outcome: each.outcome,
            message: message(each.outcome, &each.errors, deployment.as_ref(), batch.unreachable.as_deref(), None),
            errors: each.errors,
            warnings: each.result.warnings,
            app: each.app,
            app_id: each.result.app,
            deployment,
            file,
            also_deployed: Vec::new(),
            pending: each.outcome == SaveOutcome::NotDeployed,
        })
    }

    /// Sends the files left pending because Marathon could not be reached (call it when
    /// Marathon answers again, or now and then). Files deleted meanwhile are dropped.
    pub async fn redeploy_pending(&self, marathon: &Marathon, env: &dyn Env) -> Result<PendingRun, EditorError> {
        let pending = self.pending()?;
        let (there, gone): (Vec<SitePath>, Vec<SitePath>) = pending.into_iter().partition(|s| self.resolve(s).is_ok_and(|p| p.is_file()));
        self.update_pending(&gone, &[])?;
        let batch = self.deploy_batch(&there, marathon, env).await?;
        let still_pending = batch.files.iter().filter(|e| e.outcome == SaveOutcome::NotDeployed).map(|e| e.site.clone()).collect();
        Ok(PendingRun { results: batch.files.into_iter().map(|e| e.result).collect(), still_pending })
    }

    /// Files saved but not yet sent, because Marathon could not be reached.
    pub fn pending(&self) -> Result<Vec<SitePath>, EditorError> {
        let file = self.history.dir().join("pending.json");
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(EditorError::io(file.display(), e)),
        };
        // A damaged list loses only reminders, never text: read what can be read.
        let names: Vec<String> = serde_json::from_str(&text).unwrap_or_default();
        Ok(names.iter().filter_map(|n| SitePath::parse(n).ok()).collect())
    }

    fn update_pending(&self, answered: &[SitePath], missed: &[SitePath]) -> Result<(), EditorError> {
        if answered.is_empty() && missed.is_empty() {
            return Ok(());
        }
        let _lock = self.lock()?;
        let mut list = self.pending()?;
        let before = list.clone();
        list.retain(|s| !answered.contains(s));
        for s in missed {
            if !list.contains(s) {
                list.push(s.clone());
            }
        }
        if list == before {
            return Ok(());
        }
        let file = self.history.dir().join("pending.json");
        let json = serde_json::to_vec(&list).unwrap_or_default();
        atomic_write(&file, &json).map_err(|e| EditorError::io(file.display(), e))
    }

    /// The site files a `globals.yml` applies to: every one in its folder and below.
    fn below(&self, globals: &SitePath) -> Result<Vec<SitePath>, EditorError> {
        let prefix = match globals.folder() {
            "" => String::new(),
            folder => format!("{folder}/"),
        };
        Ok(self.files()?.into_iter().map(|(site, _)| site).filter(|s| !s.is_globals() && s.as_str().starts_with(&prefix)).collect())
    }

    /// Renders `targets` as `lab deploy` does (one renderer, so each `globals.yml` is read
    /// once), deploys those that render, and notes what is left pending.
    async fn deploy_batch(&self, targets: &[SitePath], marathon: &Marathon, env: &dyn Env) -> Result<Batch, EditorError> {
        let files = targets.iter().map(|t| Ok(SiteFile { path: self.resolve(t)?, display: t.to_string(), root: self.root().to_owned() })).collect::<Result<Vec<_>, EditorError>>()?;
        let mut rendered = deploy::render_all(&files, env);
        let mut apps = Vec::with_capacity(rendered.len());
        let mut invalid = Vec::with_capacity(rendered.len());
        for (_, result) in &mut rendered {
            if let Err(e) = result {
                // A globals.yml is named by its absolute path while rendering.
                e.file = relative_name(self.root(), &e.file);
            }
            apps.push(result.as_ref().ok().map(|a| a.app.clone()));
            invalid.push(result.as_ref().err().map(LineError::from_content));
        }
        let run = deploy::deploy_all(marathon, rendered).await;
        let files: Vec<Each> = targets
            .iter()
            .zip(apps)
            .zip(invalid)
            .zip(run.results)
            .map(|(((site, app), invalid), result)| {
                let (outcome, errors) = match (invalid, &result.outcome) {
                    (Some(e), _) => (SaveOutcome::Invalid, vec![e]),
                    (None, Outcome::Deployed { .. }) => (SaveOutcome::Deployed, Vec::new()),
                    (None, Outcome::Unchanged) => (SaveOutcome::Unchanged, Vec::new()),
                    (None, Outcome::Failed { .. }) if run.not_tried.contains(&result.file) => (SaveOutcome::NotDeployed, Vec::new()),
                    (None, Outcome::Failed { error, hint, position, .. }) => {
                        let e = LineError { file: site.to_string(), line: position.map(|p| p.0), col: position.map(|p| p.1), message: error.clone(), fix: hint.clone() };
                        (SaveOutcome::Failed, vec![e])
                    }
                };
                Each { site: site.clone(), outcome, errors, app, result }
            })
            .collect();
        let (missed, answered): (Vec<&Each>, Vec<&Each>) = files.iter().partition(|e| e.outcome == SaveOutcome::NotDeployed);
        let names = |list: Vec<&Each>| list.into_iter().map(|e| e.site.clone()).collect::<Vec<_>>();
        self.update_pending(&names(answered), &names(missed))?;
        Ok(Batch { files, unreachable: run.unreachable })
    }
}

/// `path` relative to the site folder when it lies inside it.
fn relative_name(root: &Path, path: &str) -> String {
    Path::new(path).strip_prefix(root).ok().and_then(SitePath::from_disk).map_or_else(|| path.to_owned(), |s| s.to_string())
}

/// A `globals.yml` with no file below it: only its YAML can be checked.
fn globals_alone(site: &SitePath, text: &str, file: FileInfo) -> SaveReport {
    let errors: Vec<LineError> = crate::marathon::yaml::Node::parse(site.as_str(), text).err().iter().map(LineError::from_content).collect();
    let outcome = if errors.is_empty() { SaveOutcome::Unchanged } else { SaveOutcome::Invalid };
    let message = if errors.is_empty() { format!("saved; no site file below {site} uses it yet") } else { message(outcome, &errors, None, None, None) };
    SaveReport { outcome, message, errors, warnings: Vec::new(), app: None, app_id: None, deployment: None, file, also_deployed: Vec::new(), pending: false }
}

/// A `globals.yml` save: the worst outcome among the files below it (invalid, refused,
/// not sent, deployed, unchanged), each file's result, every distinct error.
fn globals_report(site: &SitePath, batch: Batch, file: FileInfo) -> SaveReport {
    let outcome = batch.files.iter().map(|e| e.outcome).max().unwrap_or(SaveOutcome::Unchanged);
    let mut errors: Vec<LineError> = Vec::new();
    let mut warnings = Vec::new();
    for each in &batch.files {
        for e in &each.errors {
            // One mistake in the globals.yml shows in every file below it: say it once.
            if !errors.contains(e) {
                errors.push(e.clone());
            }
        }
        warnings.extend(each.result.warnings.iter().cloned());
    }
    let count = Some((site, batch.files.len()));
    SaveReport {
        outcome,
        message: message(outcome, &errors, None, batch.unreachable.as_deref(), count),
        errors,
        warnings,
        app: None,
        app_id: None,
        deployment: None,
        file,
        pending: outcome == SaveOutcome::NotDeployed || batch.files.iter().any(|e| e.outcome == SaveOutcome::NotDeployed),
        also_deployed: batch.files.into_iter().map(|e| e.result).collect(),
    }
}

/// The sentence the student reads after a save.
fn message(outcome: SaveOutcome, errors: &[LineError], deployment: Option<&DeploymentRef>, unreachable: Option<&str>, globals: Option<(&SitePath, usize)>) -> String {
    let what = globals.map_or_else(String::new, |(site, n)| format!(" ({n} file{} below {site})", if n == 1 { "" } else { "s" }));
    let problems = match errors.len() {
        1 => "1 problem".to_owned(),
        n => format!("{n} problems"),
    };
    match outcome {
        SaveOutcome::Deployed => match deployment {
            Some(d) => format!("saved and sent to Marathon (deployment {})", d.deployment_id),
            None => format!("saved and sent to Marathon{what}"),
        },
        SaveOutcome::Unchanged => format!("saved; Marathon already runs this definition{what}"),
        SaveOutcome::Invalid => format!("saved, not deployed{what}: {problems} to fix first"),
        SaveOutcome::Failed => format!("saved, not deployed{what}: Marathon refused it ({problems}); the running version keeps running"),
        SaveOutcome::NotDeployed => format!("saved, not deployed{what}: {}; it will be sent when Marathon answers", unreachable.unwrap_or("Marathon could not be reached")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marathon::site::ProcessEnv;

    fn folder() -> (tempfile::TempDir, SiteFolder) {
        let ws = tempfile::tempdir().unwrap();
        std::fs::create_dir(ws.path().join("site")).unwrap();
        let folder = SiteFolder::for_workspace(ws.path()).unwrap();
        (ws, folder)
    }

    /// Nothing listens on port 9 of the loopback: Marathon is down.
    fn down() -> Marathon {
        Marathon::with_timeout("http://127.0.0.1:9", std::time::Duration::from_secs(2))
    }

    #[tokio::test]
    async fn an_invalid_file_is_saved_with_its_line_and_never_sent() {
        let (_ws, folder) = folder();
        let text = "service:\n  id: /demo/a\n  instances: [\n";
        let report = folder.save("a.yml", text, None, &down(), &ProcessEnv).await.unwrap();
        assert_eq!(report.outcome, SaveOutcome::Invalid);
        assert_eq!(std::fs::read_to_string(folder.root().join("a.yml")).unwrap(), text, "the text is written first");
        let e = &report.errors[0];
        assert_eq!((e.file.as_str(), e.line), ("a.yml", Some(3)), "{e:?}");
        assert!(!report.pending, "an invalid file is not waiting for Marathon");
        assert!(report.message.contains("not deployed"), "{}", report.message);
    }

    #[tokio::test]
    async fn an_error_in_globals_names_the_globals_file_relative_to_the_site() {
        let (_ws, folder) = folder();
        folder.create("sub/globals.yml", "variables: {n: 1}\nservice:\n  instances: \"%{missing}\"\n").unwrap();
        let report = folder.save("sub/a.yml", "service:\n  id: /demo/a\n", None, &down(), &ProcessEnv).await.unwrap();
        assert_eq!(report.outcome, SaveOutcome::Invalid);
        assert_eq!(report.errors[0].file, "sub/globals.yml", "{:?}", report.errors);
        assert_eq!(report.errors[0].line, Some(3));
    }

    #[tokio::test]
    async fn unreachable_marathon_leaves_the_file_saved_and_pending() {
        let (_ws, folder) = folder();
        let report = folder.save("a.yml", "service:\n  id: /demo/a\n", None, &down(), &ProcessEnv).await.unwrap();
        assert_eq!(report.outcome, SaveOutcome::NotDeployed);
        assert!(report.pending && report.message.contains("cannot reach Marathon"), "{}", report.message);
        assert_eq!(report.app.as_ref().and_then(|a| a["id"].as_str()), Some("/demo/a"), "the rendered app is shown");
        assert_eq!(folder.pending().unwrap(), vec![SitePath::parse("a.yml").unwrap()]);
        // Still down: it stays pending; deleted meanwhile: it is dropped.
        let run = folder.redeploy_pending(&down(), &ProcessEnv).await.unwrap();
        assert_eq!(run.still_pending.len(), 1);
        let etag = report.file.etag.clone();
        folder.delete("a.yml", Some(&etag)).unwrap();
        let run = folder.redeploy_pending(&down(), &ProcessEnv).await.unwrap();
        assert!(run.results.is_empty() && run.still_pending.is_empty());
        assert!(folder.pending().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_globals_file_alone_is_checked_as_yaml() {
        let (_ws, folder) = folder();
        let ok = folder.save("globals.yml", "service:\n  labels: {a: b}\n", None, &down(), &ProcessEnv).await.unwrap();
        assert_eq!(ok.outcome, SaveOutcome::Unchanged);
        let bad = folder.save("globals.yml", "service: [\n", Some(&ok.file.etag), &down(), &ProcessEnv).await.unwrap();
        assert_eq!(bad.outcome, SaveOutcome::Invalid);
        assert_eq!(bad.errors[0].file, "globals.yml");
    }

    #[tokio::test]
    async fn a_conflicting_save_writes_nothing() {
        let (_ws, folder) = folder();
        folder.create("a.yml", "one").unwrap();
        let err = folder.save("a.yml", "two", Some("\"0000000000000000\""), &down(), &ProcessEnv).await.unwrap_err();
        assert!(matches!(err, EditorError::Conflict { current_etag: Some(_), .. }), "{err:?}");
        assert_eq!(std::fs::read_to_string(folder.root().join("a.yml")).unwrap(), "one");
    }
}
