//! `lab up`, `lab down`, `lab status`, `lab logs`: the student's stack.

use super::Outcome;
use super::output::{ContentArgs, ContentUnreadable, print_json};
use super::progress::TerminalProgress;
use crate::course::{ContentSource, Files};
use crate::stack::project::{self, StackSource};
use crate::stack::status::{ProjectStatus, logs, status};
use crate::stack::lock::LockWait;
use crate::stack::{Engine, ProjectOptions, UpOptions, down::down_waiting, plan::plan, up};
use anyhow::Context;
use futures_util::StreamExt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Which project, for every stack command.
#[derive(Debug, clap::Args)]
pub struct ProjectArgs {
    /// Project name (default: lab-<student>).
    #[arg(long, env = "LAB_PROJECT")]
    project: Option<String>,
    /// Student name (default: $LAB_STUDENT, else your login name).
    #[arg(long, env = "LAB_STUDENT")]
    student: Option<String>,
}

impl ProjectArgs {
    pub(super) fn student(&self) -> String {
        self.student.as_deref().map(crate::paths::sanitize).filter(|s| !s.is_empty()).unwrap_or_else(crate::paths::default_student)
    }
    pub(super) fn project(&self) -> String {
        self.project.clone().unwrap_or_else(|| project::default_project(&self.student()))
    }
}

/// Which stack file, for the commands that read one (`up`, `doctor`, `pull`).
#[derive(Debug, clap::Args)]
pub struct StackArgs {
    /// The lab whose stack to use (default: the only lab with a stack).
    #[arg(long)]
    lab: Option<String>,
    /// A compose-format stack file to use instead of the lab's stack.yml: a path, or the
    /// name of another stack file in the lab (e.g. stack-classic.yml).
    #[arg(long, value_name = "FILE")]
    stack: Option<PathBuf>,
}

impl StackArgs {
    /// Whether neither `--lab` nor `--stack` was given.
    pub(super) fn is_default(&self) -> bool {
        self.lab.is_none() && self.stack.is_none()
    }

    /// The stack file chosen, and the course files when it belongs to a lab. A lab's
    /// relative paths resolve against `workspace`.
    pub(super) fn select(&self, content: &ContentSource, workspace: &Path) -> anyhow::Result<(StackSource, Option<Files>)> {
        match &self.stack {
            Some(path) if path.exists() || self.lab.is_none() && path.components().count() > 1 => Ok((project::from_file(path)?, None)),
            stack => {
                let files = content.read().map_err(|source| ContentUnreadable { place: content.describe(), source })?;
                let lab = project::choose_lab(&files, self.lab.as_deref())?;
                let name = stack.as_ref().map_or_else(|| "stack.yml".to_owned(), |p| p.display().to_string());
                let source = project::from_lab(&files, &lab, &name, workspace)?;
                Ok((source, Some(files)))
            }
        }
    }
}

/// The options a stack file is planned with, for `project` and its workspace.
pub(super) fn project_options(target: &ProjectArgs, source: &StackSource, port_base: Option<u16>, workspace: &Path) -> ProjectOptions {
    let docker_host = crate::stack::engine::docker_host();
    ProjectOptions {
        project: target.project(),
        student: target.student(),
        port_base,
        stack_dir: source.dir.clone(),
        host: crate::stack::engine::published_host(&docker_host),
        lab: source.lab.clone(),
        workspace: Some(workspace.to_owned()),
        // Variables that are not UTF-8 cannot be interpolated into a YAML file anyway.
        env: std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))).collect(),
    }
}

/// Arguments of `lab up`.
#[derive(Debug, clap::Args)]
pub struct UpArgs {
    #[command(flatten)]
    target: ProjectArgs,
    #[command(flatten)]
    which: StackArgs,
    #[command(flatten)]
    pub(super) content: ContentArgs,
    /// Publish the stack's named ports from this number up, so several projects can share
    /// one engine (default: the ports the course uses, e.g. 5050 and 8080).
    #[arg(long, value_name = "N")]
    port_base: Option<u16>,
    /// Seconds to wait for a service's healthcheck.
    #[arg(long, default_value_t = 300)]
    health_timeout: u64,
    /// Seconds to wait for Marathon before deploying the lab's site.
    #[arg(long, default_value_t = 300)]
    marathon_timeout: u64,
    #[command(flatten)]
    wait: WaitArgs,
    #[command(flatten)]
    engine: super::engine::EngineArgs,
    /// Print what would be created and create nothing (with --engine kubernetes: the
    /// translated manifests as YAML).
    #[arg(long)]
    dry_run: bool,
    /// Print the stack's state (as `lab status --json`) with what was removed and the site
    /// deploy's results as JSON on stdout; progress stays on stderr.
    #[arg(long)]
    pub(super) json: bool,
}

/// Waiting for another `up` or `down` of the same project.
#[derive(Debug, clap::Args)]
pub struct WaitArgs {
    /// When another lab up or down is running for this project, wait for it to finish
    /// (at most SECONDS when given) instead of stopping at once with exit code 2.
    #[arg(long, value_name = "SECONDS", num_args = 0..=1, require_equals = true)]
    wait: Option<Option<u64>>,
}

impl WaitArgs {
    fn lock_wait(&self) -> LockWait {
        match self.wait {
            None => LockWait::FailFast,
            Some(limit) => LockWait::Wait(limit.map(Duration::from_secs)),
        }
    }
}

/// Arguments of `lab down`.
#[derive(Debug, clap::Args)]
pub struct DownArgs {
    #[command(flatten)]
    target: ProjectArgs,
    /// Also remove the project's named volumes (pulled task images, data).
    #[arg(long)]
    volumes: bool,
    #[command(flatten)]
    wait: WaitArgs,
    /// Print `{project, containers, networks, volumes}` (what was removed) on stdout.
    #[arg(long)]
    pub(super) json: bool,
}

/// Arguments of `lab status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    target: ProjectArgs,
    /// Print the state as JSON on stdout.
    #[arg(long)]
    pub(super) json: bool,
}

/// Arguments of `lab logs`.
#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    #[command(flatten)]
    target: ProjectArgs,
    /// The service whose logs to show.
    service: String,
    /// Keep following new output.
    #[arg(short, long)]
    follow: bool,
}

pub async fn run_up(args: UpArgs, content: &ContentSource) -> anyhow::Result<Outcome> {
    let project_name = args.target.project();
    let workspace = project::workspace_dir(&project_name);
    let (source, lab_files) = args.which.select(content, &workspace)?;
    std::fs::create_dir_all(&workspace).with_context(|| format!("cannot create the workspace {}", workspace.display()))?;
    let options = project_options(&args.target, &source, args.port_base, &workspace);
    // Check the file before touching the engine, so mistakes show even without Docker.
    let plan = plan(&source.file, &source.text, &options)?;
    if plan.format == crate::stack::v1::Format::V1 {
        eprintln!("{} has no `services:` key: read as a Compose v1 file (each top-level key is a service)", source.file);
    }
    if args.engine.kubernetes() {
        if !args.dry_run {
            anyhow::bail!("on Kubernetes, stacks run for a class (`lab serve --classroom --engine kubernetes`); `lab up --engine kubernetes --dry-run` shows the translation");
        }
        let namespace = crate::stack::kube::names::namespace_for(&args.engine.namespace_prefix, &project_name);
        let options = crate::stack::kube::KubeOptions { namespace, storage_class: args.engine.storage_class.clone(), ..Default::default() };
        let manifests = crate::stack::kube::translate(&plan, &options)?;
        print!("{}", manifests.to_yaml());
        return Ok(Outcome::Success);
    }
    if args.dry_run {
        anyhow::bail!("--dry-run shows a stack's Kubernetes translation: add --engine kubernetes");
    }
    let engine = Engine::connect().await?;
    eprintln!("starting project {project_name} from {} on {}", source.file, engine.host());
    let progress = TerminalProgress::new();
    let up_options = UpOptions { health_timeout: Duration::from_secs(args.health_timeout), lock: args.wait.lock_wait() };
    let report = tokio::select! {
        r = up(&engine, &plan, &progress, &up_options) => r?,
        () = super::serve::shutdown_signal() => {
            anyhow::bail!("interrupted. Nothing is left half-done: run `lab up` again to finish, or `lab down` to remove what was created.");
        }
    };
    for removed in &report.removed {
        eprintln!("removed {removed} (no longer in the stack file)");
    }
    let state = status(&engine, &project_name).await?;
    if !args.json {
        print_status(&state, &workspace);
    }

    // The lab's starting site: copied on the first `up`, deployed once Marathon answers.
    if let (Some(files), Some(lab)) = (&lab_files, &source.lab) {
        let written = crate::marathon::workspace::install_site(files, lab, &workspace)
            .with_context(|| format!("cannot copy the lab's site into {}", workspace.display()))?;
        if !written.is_empty() {
            eprintln!("copied the lab's site into {}", crate::marathon::workspace::site_dir(&workspace).display());
        }
    }
    let site = crate::marathon::workspace::site_dir(&workspace);
    let deployed = match state.endpoints.get("marathon") {
        Some(url) if site.is_dir() => Some((url.clone(), deploy_site(url, &site, Duration::from_secs(args.marathon_timeout)).await?)),
        _ => None,
    };
    if let (Some((_, Some(run))), false) = (&deployed, args.json) {
        super::marathon::report_run(run);
    }
    let outcome = match &deployed {
        Some((_, Some(run))) => super::marathon::exit_for(run, args.json)?,
        Some((_, None)) => Outcome::No,
        None => Outcome::Success,
    };
    if args.json {
        let mut value = status_json(&state, &workspace)?;
        value["removed"] = serde_json::to_value(&report.removed)?;
        value["site"] = match &deployed {
            Some((url, Some(run))) => super::marathon::run_json(url, run)?,
            Some((url, None)) => serde_json::json!({ "marathon": url, "results": null }),
            None => serde_json::Value::Null,
        };
        print_json(&value)?;
    }
    Ok(outcome)
}

/// Waits for Marathon, then deploys the workspace's site (what the course's helper
/// container did); `None` when Marathon did not answer in time (said on stderr).
async fn deploy_site(url: &str, site: &std::path::Path, timeout: Duration) -> anyhow::Result<Option<crate::marathon::deploy::DeployRun>> {
    use crate::marathon::{Marathon, deploy};
    let marathon = Marathon::new(url);
    eprintln!("waiting for Marathon at {url} to deploy your site …");
    let deadline = tokio::time::Instant::now() + timeout;
    while marathon.ping().await.is_err() {
        if tokio::time::Instant::now() >= deadline {
            eprintln!("Marathon did not answer within {}s; deploy later with `lab deploy` (or keep `lab watch` running)", timeout.as_secs());
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let files = deploy::collect(&[site.to_owned()]).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Some(deploy::deploy_all(&marathon, deploy::render_all(&files, &crate::marathon::site::ProcessEnv)).await))
}

/// `lab status --json`: the state, the workspace, and whether every service runs.
fn status_json(state: &ProjectStatus, workspace: &Path) -> anyhow::Result<serde_json::Value> {
    let mut value = serde_json::to_value(state)?;
    value["workspace"] = serde_json::Value::String(workspace.display().to_string());
    value["running"] = serde_json::Value::Bool(state.all_running());
    Ok(value)
}

pub async fn run_down(args: DownArgs) -> anyhow::Result<Outcome> {
    let project_name = args.target.project();
    let engine = Engine::connect().await?;
    let progress = TerminalProgress::new();
    let report = down_waiting(&engine, &project_name, args.volumes, &progress, args.wait.lock_wait()).await?;
    if args.json {
        let value = serde_json::json!({ "project": project_name, "containers": report.containers, "networks": report.networks, "volumes": report.volumes });
        print_json(&value)?;
    } else if report.containers.is_empty() && report.networks.is_empty() && report.volumes.is_empty() {
        eprintln!("project {project_name} has nothing to remove");
    } else {
        eprintln!(
            "removed project {project_name}: {} containers, {} networks, {} volumes",
            report.containers.len(),
            report.networks.len(),
            report.volumes.len()
        );
    }
    Ok(Outcome::Success)
}

pub async fn run_status(args: StatusArgs) -> anyhow::Result<Outcome> {
    let project_name = args.target.project();
    let workspace = project::workspace_dir(&project_name);
    let engine = Engine::connect().await?;
    let state = status(&engine, &project_name).await?;
    if args.json {
        print_json(&status_json(&state, &workspace)?)?;
    } else if state.exists() {
        print_status(&state, &workspace);
    } else {
        println!("project {project_name} is not up. Start it with `lab up`.");
    }
    Ok(if state.all_running() { Outcome::Success } else { Outcome::No })
}

pub async fn run_logs(args: LogsArgs) -> anyhow::Result<Outcome> {
    let engine = Engine::connect().await?;
    let mut stream = Box::pin(logs(&engine, &args.target.project(), &args.service, args.follow).await?);
    let mut out = std::io::stdout().lock();
    while let Some(chunk) = stream.next().await {
        out.write_all(chunk?.as_bytes())?;
    }
    Ok(Outcome::Success)
}

/// The table shown after `up` and by `status`.
fn print_status(state: &ProjectStatus, workspace: &std::path::Path) {
    let rows: Vec<[String; 3]> = state
        .services
        .iter()
        .map(|s| {
            let st = match (&s.health, &s.problem) {
                (_, Some(_)) => format!("{} (cut off, see below)", s.state),
                (Some(h), None) => format!("{} ({h})", s.state),
                (None, None) => s.state.clone(),
            };
            let ports = s.ports.iter().map(|p| format!("{}→{}/{}", p.host_port, p.container_port, p.protocol)).collect::<Vec<_>>().join(", ");
            [s.service.clone(), st, ports]
        })
        .collect();
    let w0 = rows.iter().map(|r| r[0].len()).max().unwrap_or(0).max(7);
    let w1 = rows.iter().map(|r| r[1].chars().count()).max().unwrap_or(0).max(5);
    println!("{:<w0$}  {:<w1$}  PORTS", "SERVICE", "STATE");
    for r in rows {
        println!("{:<w0$}  {:<w1$}  {}", r[0], r[1], r[2]);
    }
    for s in state.services.iter().filter(|s| s.problem.is_some()) {
        println!("! {}: {}", s.service, s.problem.as_deref().unwrap_or_default());
    }
    if !state.links.is_empty() {
        println!();
        let w = state.links.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
        for (label, url) in &state.links {
            println!("{label:<w$}  {url}");
        }
    }
    println!("\nworkspace: {}", workspace.display());
}
