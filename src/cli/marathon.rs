//! `lab deploy` and `lab watch`: the student's site files to their Marathon.

use super::Outcome as Exit;
use super::output::{ErrorKind, Reported, print_json};
use super::stack::ProjectArgs;
use crate::marathon::deploy::{self, DeployRun, FileResult, Outcome};
use crate::marathon::site::ProcessEnv;
use crate::marathon::watch::{FollowResult, WatchEvent, watch};
use crate::marathon::{Marathon, workspace};
use std::path::PathBuf;

/// Arguments of `lab deploy`.
#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    #[command(flatten)]
    target: ProjectArgs,
    /// Marathon's URL (default: your stack's Marathon, else marathon.url in the files, else
    /// http://localhost:8080).
    #[arg(long, env = "LAB_MARATHON")]
    marathon: Option<String>,
    /// Print the rendered app definitions as a JSON array and send nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print `{marathon, results: [...]}` on stdout (the apps sent, one result per file).
    #[arg(long)]
    pub(super) json: bool,
    /// Site files or folders (*.yml lighter format, *.json Marathon apps; globals.yml is
    /// merged, never deployed). Default: your workspace's site folder.
    paths: Vec<PathBuf>,
}

/// Arguments of `lab watch`.
#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    #[command(flatten)]
    target: ProjectArgs,
    /// Marathon's URL (default as for `lab deploy`).
    #[arg(long, env = "LAB_MARATHON")]
    marathon: Option<String>,
    /// The site folder to watch (default: your workspace's site folder).
    site_dir: Option<PathBuf>,
}

/// Marathon's URL: the flag, else the running project's endpoint, else the files' own
/// `marathon.url`, else localhost:8080.
pub(super) async fn marathon_url(explicit: Option<&str>, project: &str, from_files: Option<&str>) -> String {
    if let Some(url) = explicit {
        return url.to_owned();
    }
    if let Ok(engine) = crate::stack::Engine::connect().await
        && let Ok(state) = crate::stack::status::status(&engine, project).await
        && let Some(url) = state.endpoints.get("marathon")
    {
        return url.clone();
    }
    from_files.map_or_else(|| "http://localhost:8080".to_owned(), str::to_owned)
}

fn default_site(target: &ProjectArgs) -> PathBuf {
    workspace::site_dir(&crate::stack::project::workspace_dir(&target.project()))
}

pub async fn run_deploy(args: DeployArgs) -> anyhow::Result<Exit> {
    let paths = if args.paths.is_empty() { vec![default_site(&args.target)] } else { args.paths.clone() };
    let files = deploy::collect(&paths).map_err(|e| anyhow::anyhow!("{e}"))?;
    if files.is_empty() {
        anyhow::bail!("no site files (*.yml, *.json) in {}", paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "));
    }
    let rendered = deploy::render_all(&files, &ProcessEnv);
    if args.dry_run {
        let mut apps = Vec::new();
        let mut failed = false;
        for (_, r) in &rendered {
            match r {
                Ok(app) => {
                    apps.push(app.app.clone());
                    for w in &app.warnings {
                        eprintln!("warning: {}: {w}", app.file);
                    }
                }
                Err(e) => {
                    failed = true;
                    print_error(&e.location(), &e.message, e.fix.as_deref(), e.source_line.as_deref());
                }
            }
        }
        println!("{}", serde_json::to_string_pretty(&apps)?);
        return Ok(if failed { Exit::No } else { Exit::Success });
    }
    let hint = rendered.iter().find_map(|(_, r)| r.as_ref().ok().and_then(|a| a.marathon_url.clone()));
    let url = marathon_url(args.marathon.as_deref(), &args.target.project(), hint.as_deref()).await;
    let run = deploy::deploy_all(&Marathon::new(&url), rendered).await;
    if !args.json {
        report_run(&run);
    }
    let exit = exit_for(&run, args.json)?;
    if args.json {
        print_json(&run_json(&url, &run)?)?;
    }
    Ok(exit)
}

/// Whether no file reached Marathon because it never answered: then the one error says so,
/// rather than the same reason once per file and again at the end.
fn nothing_reached(run: &DeployRun) -> Option<&str> {
    run.unreachable.as_deref().filter(|_| !run.reached)
}

/// Exit code of a deploy: 0 all good, 1 some failed, 2 (error) Marathon unreachable. With
/// `json` the error carries the per-file results, for the JSON error object.
pub(super) fn exit_for(run: &DeployRun, json: bool) -> anyhow::Result<Exit> {
    if let Some(reason) = nothing_reached(run) {
        let mut detail = serde_json::Map::new();
        if json {
            detail.insert("results".into(), serde_json::to_value(&run.results)?);
        }
        return Err(Reported { kind: ErrorKind::Unreachable, message: reason.to_owned(), detail }.into());
    }
    Ok(if run.results.iter().all(FileResult::ok) { Exit::Success } else { Exit::No })
}

/// `lab deploy --json` (and the `site` of `lab up --json`).
pub(super) fn run_json(url: &str, run: &DeployRun) -> anyhow::Result<serde_json::Value> {
    Ok(serde_json::json!({ "marathon": url, "results": serde_json::to_value(&run.results)? }))
}

/// One line per file on stderr; files left unsent because Marathon never answered are
/// left to the single error `exit_for` reports.
pub(super) fn report_run(run: &DeployRun) {
    let skip_unsent = nothing_reached(run).is_some();
    for r in run.results.iter().filter(|r| !(skip_unsent && run.not_tried.contains(&r.file))) {
        print_result(r);
    }
}

fn print_result(r: &FileResult) {
    let app = r.app.as_deref().unwrap_or("");
    match &r.outcome {
        Outcome::Deployed { deployment } => eprintln!("✓ deployed   {} → {app} (deployment {})", r.file, deployment.deployment_id),
        Outcome::Unchanged => eprintln!("= unchanged  {} → {app}", r.file),
        Outcome::Failed { location, error, hint, line, .. } => print_error(location, error, hint.as_deref(), line.as_deref()),
    }
    for w in &r.warnings {
        eprintln!("  warning: {w}");
    }
}

fn print_error(location: &str, message: &str, fix: Option<&str>, line: Option<&str>) {
    eprintln!("✗ FAILED     {location}: {message}");
    if let Some(line) = line {
        eprintln!("             | {line}");
    }
    if let Some(fix) = fix {
        eprintln!("             fix: {fix}");
    }
}

pub async fn run_watch(args: WatchArgs) -> anyhow::Result<Exit> {
    let dir = args.site_dir.clone().unwrap_or_else(|| default_site(&args.target));
    if !dir.is_dir() {
        anyhow::bail!("{} is not a folder; run `lab up` to create your workspace, or name the site folder", dir.display());
    }
    let files = deploy::collect(std::slice::from_ref(&dir)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let hint = deploy::render_all(&files, &ProcessEnv).into_iter().find_map(|(_, r)| r.ok().and_then(|a| a.marathon_url));
    let url = marathon_url(args.marathon.as_deref(), &args.target.project(), hint.as_deref()).await;
    let marathon = Marathon::new(&url);
    marathon.ping().await?;
    eprintln!("deploying {} to {url}; saving a file redeploys it (Ctrl-C stops)", dir.display());
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let printer = tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            match event {
                WatchEvent::Watching(dir) => eprintln!("watching {}", dir.display()),
                WatchEvent::File(r) => print_result(&r),
                WatchEvent::Followed { file, app, result, .. } => match result {
                    FollowResult::Succeeded => eprintln!("✓ running    {app} ({file}): deployment finished"),
                    FollowResult::Failed(why) => eprintln!("✗ FAILED     {app} ({file}): {why}"),
                    FollowResult::TimedOut => eprintln!("… waiting    {app} ({file}): still deploying after 5 minutes; look at its tasks in Marathon"),
                },
                WatchEvent::Removed(file) => eprintln!("- removed    {file}: its app keeps running; delete it in Marathon's UI if you want it gone"),
                WatchEvent::EventsLost(why) => eprintln!("  (Marathon's event stream dropped: {why}; polling until it is back)"),
                WatchEvent::MarathonBack(n) => eprintln!("Marathon answers again: sending the {n} file{} it missed", if n == 1 { "" } else { "s" }),
            }
        }
    });
    watch(&dir, &marathon, &ProcessEnv, tx, super::serve::shutdown_signal()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let _ = printer.await;
    eprintln!("stopped watching");
    Ok(Exit::Success)
}
