//! The one small interface through which the classroom reaches an engine: start, stop,
//! remove and observe a student's stack. [`DockerProvisioner`] does it with the same code
//! as `lab up` (plan, converge, copy and deploy the lab's site), reporting every stage as it
//! goes; another engine (Kubernetes) can be added beside it without touching the classroom
//! or the web layer.

use crate::course::ContentSource;
use crate::stack::lock::LockWait;
use crate::stack::{Engine, Phase, Progress, StackEvent};
use futures_util::future::BoxFuture;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// What to start.
#[derive(Debug, Clone)]
pub struct StackRequest {
    /// The class's tag (labels the student's namespace on Kubernetes).
    pub class: String,
    /// The student's internal name (labels, `LAB_STUDENT`).
    pub student: String,
    /// Project name on the engine.
    pub project: String,
    /// First port of the student's block.
    pub port_base: u16,
    /// The host students reach their ports on (`LAB_HOST`).
    pub public_host: String,
    /// The student's workspace (site copy).
    pub workspace: PathBuf,
}

/// A running stack's addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// Named endpoints (`marathon`, `mesos`): URLs the server itself can reach.
    pub endpoints: BTreeMap<String, String>,
    /// Published ports: container port → host port.
    pub ports: BTreeMap<u16, u16>,
    /// Named ports of the stack (`x-lab.ports`) → host port.
    pub named_ports: BTreeMap<String, u16>,
    /// Links for the student (label, URL).
    pub links: Vec<(String, String)>,
    /// The host students reach these ports on, when the engine chose it (a Kubernetes node
    /// address); otherwise the class's public host.
    pub host: Option<String>,
}

/// What the engine shows of a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// Nothing of it exists.
    Absent,
    /// Every service runs (healthy where it has a healthcheck).
    Running(Endpoints),
    /// It exists but is stopped (or partly).
    Stopped,
    /// It is meant to run and the engine is bringing it back (a pod deleted, a node lost):
    /// what it is doing, in words.
    Restarting(String),
}

/// Why a stack could not be started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ProvisionError {
    /// What went wrong, in the student's words.
    pub message: String,
    /// The service that failed, when one did.
    pub service: Option<String>,
    /// The last lines of that service's log.
    pub log_tail: Vec<String>,
    /// What to try.
    pub hint: String,
}

impl ProvisionError {
    pub(super) fn plain(message: impl Into<String>, hint: impl Into<String>) -> ProvisionError {
        ProvisionError { message: message.into(), service: None, log_tail: Vec::new(), hint: hint.into() }
    }
}

/// Receives the stages of a start as they happen.
pub trait StageSink: Send + Sync {
    /// The current stage, with progress (done, total) when it is measurable.
    fn stage(&self, text: String, progress: Option<(u64, u64)>);
}

/// Starts, stops and observes students' stacks on one engine.
pub trait Provisioner: Send + Sync {
    /// Brings the stack up (idempotent: a stopped or half-started stack is finished).
    fn start<'a>(&'a self, request: &'a StackRequest, sink: &'a dyn StageSink) -> BoxFuture<'a, Result<Endpoints, ProvisionError>>;
    /// Stops the stack's containers; everything else stays.
    fn stop<'a>(&'a self, project: &'a str) -> BoxFuture<'a, Result<(), ProvisionError>>;
    /// Removes the stack with its volumes.
    fn remove<'a>(&'a self, project: &'a str) -> BoxFuture<'a, Result<(), ProvisionError>>;
    /// What the engine shows of the stack.
    fn observe<'a>(&'a self, request: &'a StackRequest) -> BoxFuture<'a, Result<Observed, ProvisionError>>;
    /// How many host ports one stack publishes (the size of a port block).
    fn ports_per_stack(&self) -> u16;
    /// The stack's named ports (`x-lab.ports`), in block order.
    fn port_names(&self) -> Vec<String>;
    /// Memory one stack needs, if the lab says (`x-lab.memory`).
    fn memory_per_stack(&self) -> Option<u64>;
    /// The last `lines` lines of each of the stack's services' logs, by service.
    fn logs<'a>(&'a self, project: &'a str, lines: usize) -> BoxFuture<'a, Result<Vec<ServiceLog>, ProvisionError>>;
    /// Projects whose stacks changed on the engine (a pod lost or back), when the engine can
    /// say so without being polled; the classroom then observes that stack again.
    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<String>> {
        None
    }
    /// Whether a stack's ports are its port block (Docker), known before it starts; an
    /// engine that assigns them at start (Kubernetes' node ports) says no.
    fn ports_known_before_start(&self) -> bool {
        true
    }
    /// The memory the engine has for stacks in bytes, when it can say.
    fn capacity<'a>(&'a self) -> BoxFuture<'a, Option<u64>> {
        Box::pin(async { None })
    }
}

/// The end of one service's log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServiceLog {
    /// The service.
    pub service: String,
    /// Its last lines, oldest first.
    pub lines: Vec<String>,
}

/// Stacks on a Docker engine, from a lab's `stack.yml`.
pub struct DockerProvisioner {
    engine: Engine,
    content: ContentSource,
    lab: String,
    env: std::collections::HashMap<String, String>,
    up: crate::stack::UpOptions,
    /// How long to wait for Marathon before giving up on deploying the site.
    pub marathon_timeout: Duration,
    named_ports: Vec<String>,
    memory: Option<u64>,
}

impl DockerProvisioner {
    /// A provisioner for `lab`'s stack; reads the stack file once to learn its ports and
    /// memory (content reloads are read again at each start).
    pub fn new(engine: Engine, content: ContentSource, lab: &str) -> Result<DockerProvisioner, String> {
        let env: std::collections::HashMap<String, String> = std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))).collect();
        let mut this = DockerProvisioner { engine, content, lab: lab.to_owned(), env, up: crate::stack::UpOptions { lock: LockWait::Wait(Some(Duration::from_secs(600))), ..crate::stack::UpOptions::default() }, marathon_timeout: Duration::from_secs(300), named_ports: Vec::new(), memory: None };
        let probe = StackRequest { class: "probe".into(), student: "probe".into(), project: "lab-probe".into(), port_base: 20000, public_host: "localhost".into(), workspace: std::env::temp_dir() };
        let (plan, _) = this.plan(&probe).map_err(|e| e.message)?;
        this.named_ports = plan.ports.iter().map(|(name, _)| name.clone()).collect();
        this.memory = plan.memory;
        Ok(this)
    }

    /// The lab's stack planned for `request`, with the course files (for the site).
    fn plan(&self, request: &StackRequest) -> Result<(crate::stack::Plan, crate::course::Files), ProvisionError> {
        // Endpoints are for the server (checks, deploys): the engine's own address. The
        // students' links are rewritten to the public host when shown.
        plan_stack(&self.content, &self.lab, &self.env, request, &self.engine.published_host())
    }

    async fn endpoints(&self, request: &StackRequest) -> Result<Observed, ProvisionError> {
        let state = crate::stack::status::status(&self.engine, &request.project).await.map_err(|e| ProvisionError::plain(e.to_string(), "the Docker engine does not answer; tell the instructor"))?;
        if !state.exists() {
            return Ok(Observed::Absent);
        }
        if !state.all_running() {
            return Ok(Observed::Stopped);
        }
        let ports = state.services.iter().flat_map(|s| &s.ports).map(|p| (p.container_port, p.host_port)).collect();
        let engine_host = self.engine.published_host();
        let links = state.links.iter().map(|(label, url)| (label.clone(), url.replacen(&format!("//{engine_host}:"), &format!("//{}:", request.public_host), 1))).collect();
        Ok(Observed::Running(Endpoints { endpoints: state.endpoints.clone(), ports, named_ports: state.ports.clone(), links, host: None }))
    }

    /// The last lines of a service's log.
    async fn log_tail(&self, project: &str, service: &str) -> Vec<String> {
        crate::stack::status::log_tail(&self.engine, project, service, 20).await.unwrap_or_default()
    }

    async fn start_inner(&self, request: &StackRequest, sink: &dyn StageSink) -> Result<Endpoints, ProvisionError> {
        let (plan, files) = self.plan(request)?;
        std::fs::create_dir_all(&request.workspace).map_err(|e| ProvisionError::plain(format!("cannot create the workspace: {e}"), "tell the instructor: the server's disk may be full"))?;
        let progress = SinkProgress { sink, pulls: Mutex::new(BTreeMap::new()), failed: Mutex::new(None) };
        if let Err(e) = crate::stack::up(&self.engine, &plan, &progress, &self.up).await {
            let failed = progress.failed.lock().map(|f| f.clone()).unwrap_or(None);
            let service = failed.or_else(|| match &e {
                crate::stack::StackError::Service { service, .. } | crate::stack::StackError::Refused { service, .. } => Some(service.clone()),
                _ => None,
            });
            let log_tail = match &service {
                Some(s) => self.log_tail(&request.project, s).await,
                None => Vec::new(),
            };
            let hint = match &service {
                Some(s) => format!("its log below says why; Start again retries, and Reset starts {s} from scratch"),
                None => "Start again retries; if it fails the same way, tell the instructor".to_owned(),
            };
            return Err(ProvisionError { message: e.to_string(), service, log_tail, hint });
        }
        sink.stage("copying the lab's site into your workspace".into(), None);
        crate::marathon::workspace::install_site(&files, &self.lab, &request.workspace).map_err(|e| ProvisionError::plain(format!("cannot copy the lab's site: {e}"), "tell the instructor: the server's disk may be full"))?;
        let observed = self.endpoints(request).await?;
        let Observed::Running(endpoints) = observed else {
            return Err(ProvisionError::plain("the stack stopped right after starting", "Start again; if it stops again, Reset it"));
        };
        if let Some(url) = endpoints.endpoints.get("marathon") {
            deploy_site(url, &crate::marathon::workspace::site_dir(&request.workspace), self.marathon_timeout, sink).await?;
        }
        Ok(endpoints)
    }
}

/// The lab's stack planned for `request` with endpoints on `host`, and the course files.
pub(super) fn plan_stack(content: &ContentSource, lab: &str, env: &std::collections::HashMap<String, String>, request: &StackRequest, host: &str) -> Result<(crate::stack::Plan, crate::course::Files), ProvisionError> {
    let files = content.read().map_err(|e| ProvisionError::plain(format!("cannot read the course: {e}"), "tell the instructor: the server's content folder is unreadable"))?;
    let source = crate::stack::project::from_lab(&files, lab, "stack.yml", &request.workspace).map_err(|e| ProvisionError::plain(e.to_string(), "tell the instructor: the lab's stack file is broken"))?;
    let options = crate::stack::ProjectOptions {
        project: request.project.clone(),
        student: request.student.clone(),
        port_base: Some(request.port_base),
        stack_dir: source.dir.clone(),
        host: host.to_owned(),
        lab: Some(lab.to_owned()),
        workspace: Some(request.workspace.clone()),
        env: env.clone(),
    };
    let plan = crate::stack::plan::plan(&source.file, &source.text, &options).map_err(|e| ProvisionError::plain(e.to_string(), "tell the instructor: the lab's stack file is broken"))?;
    Ok((plan, files))
}

/// Waits for Marathon, then deploys the student's site, as `lab up` does.
pub(super) async fn deploy_site(url: &str, site: &std::path::Path, timeout: Duration, sink: &dyn StageSink) -> Result<(), ProvisionError> {
    use crate::marathon::{Marathon, deploy};
    if !site.is_dir() {
        return Ok(());
    }
    let marathon = Marathon::new(url);
    sink.stage("waiting for Marathon to answer".into(), None);
    let deadline = tokio::time::Instant::now() + timeout;
    while marathon.ping().await.is_err() {
        if tokio::time::Instant::now() >= deadline {
            return Err(ProvisionError::plain(format!("Marathon did not answer within {} s", timeout.as_secs()), "Start again; Marathon sometimes needs longer on a busy machine"));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    sink.stage("deploying your site".into(), None);
    let files = deploy::collect(&[site.to_owned()]).map_err(|e| ProvisionError::plain(e, "check your site folder"))?;
    let run = deploy::deploy_all(&marathon, deploy::render_all(&files, &crate::marathon::site::ProcessEnv)).await;
    if let Some(reason) = run.unreachable {
        return Err(ProvisionError::plain(format!("Marathon stopped answering while the site was deployed: {reason}"), "Start again"));
    }
    // A file that does not render is the student's to fix, not a failed stack.
    Ok(())
}

impl Provisioner for DockerProvisioner {
    fn start<'a>(&'a self, request: &'a StackRequest, sink: &'a dyn StageSink) -> BoxFuture<'a, Result<Endpoints, ProvisionError>> {
        Box::pin(self.start_inner(request, sink))
    }

    fn stop<'a>(&'a self, project: &'a str) -> BoxFuture<'a, Result<(), ProvisionError>> {
        Box::pin(async move { crate::stack::down::stop(&self.engine, project).await.map(|_| ()).map_err(|e| ProvisionError::plain(e.to_string(), "try again")) })
    }

    fn remove<'a>(&'a self, project: &'a str) -> BoxFuture<'a, Result<(), ProvisionError>> {
        Box::pin(async move {
            // A start of the same stack may still be finishing; removing waits for it.
            crate::stack::down::down_waiting(&self.engine, project, true, &crate::stack::Quiet, LockWait::Wait(Some(Duration::from_secs(600))))
                .await
                .map(|_| ())
                .map_err(|e| ProvisionError::plain(e.to_string(), "try again"))
        })
    }

    fn observe<'a>(&'a self, request: &'a StackRequest) -> BoxFuture<'a, Result<Observed, ProvisionError>> {
        Box::pin(self.endpoints(request))
    }

    fn ports_per_stack(&self) -> u16 {
        u16::try_from(self.named_ports.len()).unwrap_or(u16::MAX).max(1)
    }

    fn port_names(&self) -> Vec<String> {
        self.named_ports.clone()
    }

    fn memory_per_stack(&self) -> Option<u64> {
        self.memory
    }

    fn capacity<'a>(&'a self) -> BoxFuture<'a, Option<u64>> {
        Box::pin(async move { self.engine.docker().info().await.ok().and_then(|i| i.mem_total).and_then(|m| u64::try_from(m).ok()) })
    }

    fn logs<'a>(&'a self, project: &'a str, lines: usize) -> BoxFuture<'a, Result<Vec<ServiceLog>, ProvisionError>> {
        Box::pin(async move {
            let tails = crate::stack::status::log_tails(&self.engine, project, lines).await.map_err(|e| ProvisionError::plain(e.to_string(), "is the engine running?"))?;
            Ok(tails.into_iter().map(|(service, lines)| ServiceLog { service, lines }).collect())
        })
    }
}

/// Per layer of one image: (done, total) bytes.
type LayerBytes = BTreeMap<String, (u64, u64)>;

/// Stack progress turned into stages for the student.
struct SinkProgress<'a> {
    sink: &'a dyn StageSink,
    /// Per image: its layers seen so far.
    pulls: Mutex<BTreeMap<String, LayerBytes>>,
    failed: Mutex<Option<String>>,
}

impl Progress for SinkProgress<'_> {
    fn event(&self, event: StackEvent<'_>) {
        match event {
            StackEvent::Pull { image, layer, current, total, .. } => {
                let Ok(mut pulls) = self.pulls.lock() else { return };
                let layers = pulls.entry(image.to_owned()).or_default();
                if let (Some(layer), Some(total)) = (layer, total) {
                    layers.insert(layer.to_owned(), (current.unwrap_or(0).min(total), total));
                }
                let (done, all) = layers.values().fold((0, 0), |(d, t), (c, n)| (d + c, t + n));
                self.sink.stage(format!("pulling image {image}"), (all > 0).then_some((done, all)));
            }
            StackEvent::Pulled { image } => self.sink.stage(format!("pulled image {image}"), None),
            StackEvent::Build { image, .. } => self.sink.stage(format!("building image {image}"), None),
            StackEvent::Service { service, phase } => {
                let text = match phase {
                    Phase::Running | Phase::Kept => format!("{service} is running"),
                    Phase::WaitingHealthy => format!("{service} started, waiting until it is healthy"),
                    other => format!("{service}: {}", other.describe()),
                };
                self.sink.stage(text, None);
            }
            StackEvent::ServiceFailed { service, .. } => {
                if let Ok(mut failed) = self.failed.lock() {
                    failed.get_or_insert_with(|| service.to_owned());
                }
            }
            _ => {}
        }
    }
}
