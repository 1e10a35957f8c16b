//! Students' stacks in a class: the start queue within capacity (places and concurrent
//! starts), each start reported stage by stage, the environment check that makes a stack
//! "ready", live exercise checks per running stack, stop and reset, idle stopping, and
//! picking everything up again after a server restart.

use super::provision::{Endpoints, Observed, ProvisionError, StackRequest, StageSink};
use super::views::{Failure, Link, StackState, StackView};
use super::{ClassError, ClassEvent, Classroom};
use crate::checks::{Status, Target};
use crate::store::StudentId;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::AbortHandle;

/// How long the environment check may take to pass once the services run.
const ENV_CHECK_TIMEOUT: Duration = Duration::from_secs(240);
/// How often running stacks are re-checked besides their event streams.
const CHECK_INTERVAL: Duration = Duration::from_secs(15);
/// Stage updates are sent to pages at most this often (pulls report many times a second).
const STAGE_THROTTLE: Duration = Duration::from_millis(250);

/// In-memory state of every student's stack.
#[derive(Default)]
pub(super) struct Stacks {
    pub(super) live: Mutex<HashMap<StudentId, Live>>,
    queue: Mutex<VecDeque<StudentId>>,
    wake: Notify,
    activity: Mutex<HashMap<StudentId, Activity>>,
}

#[derive(Default)]
pub(super) struct Live {
    pub(super) state: StackState,
    pub(super) stage: Option<String>,
    progress: Option<(u64, u64)>,
    failure: Option<Failure>,
    notice: Option<String>,
    endpoints: Option<Endpoints>,
    pub(super) task: Option<AbortHandle>,
    watcher: Option<AbortHandle>,
    last_publish: Option<Instant>,
}

struct Activity {
    open_pages: usize,
    last_seen: Instant,
}

/// Keeps a student counted as present while one of their pages is open.
pub struct PageGuard {
    classroom: Classroom,
    student: StudentId,
}

impl Drop for PageGuard {
    fn drop(&mut self) {
        let mut activity = self.classroom.inner.stacks.activity.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(a) = activity.get_mut(&self.student) {
            a.open_pages = a.open_pages.saturating_sub(1);
            a.last_seen = Instant::now();
        }
    }
}

impl Classroom {
    pub(super) fn live<R>(&self, student: StudentId, f: impl FnOnce(&mut Live) -> R) -> R {
        let mut live = self.inner.stacks.live.lock().unwrap_or_else(|e| e.into_inner());
        f(live.entry(student).or_default())
    }

    /// Sets the state, keeps it in the store, and tells the student's pages.
    pub(super) async fn set_state(&self, student: StudentId, state: StackState, detail: &str) {
        self.live(student, |l| l.state = state);
        if let Err(e) = self.inner.store.set_stack_state(student, state.as_str(), detail).await {
            tracing::warn!("cannot record stack state: {e}");
        }
        self.publish(ClassEvent::Stack(student));
    }

    /// The request that starts `student`'s stack, creating their record and port block.
    pub(super) async fn request(&self, student: StudentId) -> Result<StackRequest, ClassError> {
        let settings = self.settings();
        let project = format!("lab-{}-{}", self.tag(), student.0);
        let block = self.inner.provisioner.ports_per_stack();
        let record = self.inner.store.allocate_stack(self.id(), student, &project, settings.ports.from, settings.ports.to, block).await?.ok_or(ClassError::NoPorts(settings.ports))?;
        Ok(StackRequest {
            class: self.tag(),
            student: format!("{}-{}", self.tag(), student.0),
            project: record.project.clone(),
            port_base: record.port_base,
            public_host: settings.public_host,
            workspace: crate::stack::project::workspace_dir(&record.project),
        })
    }

    /// Queues `student`'s stack to start (nothing happens if it is queued, starting or ready).
    pub async fn start(&self, student: StudentId) -> Result<StackView, ClassError> {
        self.request(student).await?;
        let queued = self.live(student, |l| {
            if matches!(l.state, StackState::Queued | StackState::Starting | StackState::Ready | StackState::Restarting) {
                return false;
            }
            l.failure = None;
            l.notice = None;
            l.stage = None;
            l.progress = None;
            true
        });
        if queued {
            self.inner.stacks.queue.lock().unwrap_or_else(|e| e.into_inner()).push_back(student);
            self.set_state(student, StackState::Queued, "").await;
            self.inner.stacks.wake.notify_one();
        }
        Ok(self.stack_view(student).await)
    }

    /// Stops `student`'s stack (or takes it out of the queue); the workspace stays.
    pub async fn stop(&self, student: StudentId) -> Result<StackView, ClassError> {
        self.stop_with(student, None).await
    }

    async fn stop_with(&self, student: StudentId, notice: Option<String>) -> Result<StackView, ClassError> {
        self.inner.stacks.queue.lock().unwrap_or_else(|e| e.into_inner()).retain(|s| *s != student);
        let had = self.live(student, |l| {
            for handle in [l.task.take(), l.watcher.take()].into_iter().flatten() {
                handle.abort();
            }
            l.notice = notice;
            l.stage = None;
            l.progress = None;
            l.endpoints = None;
            l.state
        });
        if let Some(record) = self.inner.store.student_stack(student).await? {
            if had != StackState::None
                && let Err(e) = self.inner.provisioner.stop(&record.project).await
            {
                tracing::warn!("stopping {}: {e}", record.project);
            }
            let state = if had == StackState::None { StackState::None } else { StackState::Stopped };
            self.set_state(student, state, "").await;
        }
        self.inner.stacks.wake.notify_one();
        Ok(self.stack_view(student).await)
    }

    /// Removes `student`'s stack with its volumes, keeps their site as a dated backup, and
    /// starts a fresh one with a fresh copy of the lab's site.
    pub async fn reset(&self, student: StudentId) -> Result<StackView, ClassError> {
        self.stop_with(student, None).await?;
        let request = self.request(student).await?;
        if let Err(e) = self.inner.provisioner.remove(&request.project).await {
            tracing::warn!("removing {}: {e}", request.project);
        }
        let site = crate::marathon::workspace::site_dir(&request.workspace);
        if site.exists() {
            let backup = request.workspace.join(format!("site-backup-{}", crate::store::now_ms()));
            if let Err(e) = std::fs::rename(&site, &backup) {
                tracing::warn!("cannot keep {} as {}: {e}", site.display(), backup.display());
            }
        }
        self.live(student, |l| l.state = StackState::None);
        self.start(student).await
    }

    /// Where `student`'s stack stands, from memory alone (no project, links or commands):
    /// what the board needs for every student on every update, without a query each.
    pub(super) fn stack_state_view(&self, student: StudentId) -> StackView {
        let position = self.inner.stacks.queue.lock().unwrap_or_else(|e| e.into_inner()).iter().position(|s| *s == student).map(|i| i + 1);
        self.live(student, |l| StackView {
            state: l.state,
            stage: l.stage.clone(),
            progress: l.progress,
            queue_position: position.filter(|_| l.state == StackState::Queued),
            failure: l.failure.clone().filter(|_| l.state == StackState::Failed),
            notice: l.notice.clone(),
            ..StackView::default()
        })
    }

    /// What `student` sees of their stack.
    pub async fn stack_view(&self, student: StudentId) -> StackView {
        let record = self.inner.store.student_stack(student).await.ok().flatten();
        let position = self.inner.stacks.queue.lock().unwrap_or_else(|e| e.into_inner()).iter().position(|s| *s == student).map(|i| i + 1);
        let idle_stop_at_ms = self.idle_stop_at(student);
        let public_host = self.settings().public_host;
        let lab = (self.inner.lab)();
        self.live(student, |l| {
            let endpoints = l.endpoints.clone().unwrap_or_default();
            StackView {
                state: l.state,
                stage: l.stage.clone(),
                progress: l.progress,
                queue_position: position.filter(|_| l.state == StackState::Queued),
                project: record.as_ref().map(|r| r.project.clone()),
                ports: endpoints.named_ports.clone(),
                links: endpoints.links.iter().map(|(label, url)| Link { label: label.clone(), url: url.clone() }).collect(),
                failure: l.failure.clone().filter(|_| l.state == StackState::Failed),
                notice: l.notice.clone(),
                idle_stop_at_ms: idle_stop_at_ms.filter(|_| l.state.holds_a_place()),
                commands: if l.state == StackState::Ready { commands(&endpoints, &public_host, lab.as_ref()) } else { Vec::new() },
            }
        })
    }

    /// What `{{ url:NAME }}` and friends show `student` (or, for `None`, anyone): the class's
    /// public host and the student's own port block.
    pub async fn placeholder_values(&self, student: Option<StudentId>) -> crate::course::placeholders::Values {
        let settings = self.settings();
        let base = match student {
            Some(s) => self.request(s).await.ok().map(|r| r.port_base),
            None => None,
        };
        let names = self.inner.provisioner.port_names();
        // Where the engine chose the ports (Kubernetes' node ports), the running stack says.
        let live = student.and_then(|s| self.live(s, |l| l.endpoints.clone())).filter(|e| !e.named_ports.is_empty());
        if let Some(endpoints) = live {
            return crate::course::placeholders::Values { host: endpoints.host.unwrap_or(settings.public_host), ports: endpoints.named_ports.into_iter().collect() };
        }
        // Node ports are not known before the stack runs: placeholders stay as written.
        if !self.inner.provisioner.ports_known_before_start() {
            return crate::course::placeholders::Values { host: settings.public_host, ports: Default::default() };
        }
        let ports = match base {
            Some(base) => names.into_iter().enumerate().filter_map(|(i, n)| Some((n, base.checked_add(u16::try_from(i).ok()?)?))).collect(),
            None => Default::default(),
        };
        crate::course::placeholders::Values { host: settings.public_host, ports }
    }

    /// Where `student`'s exercises are checked, while their stack runs.
    pub fn check_target(&self, student: StudentId) -> Option<Target> {
        let endpoints = self.live(student, |l| l.endpoints.clone())?;
        target_for(&endpoints, None)
    }

    /// Counts one open page of `student` until the guard is dropped.
    pub fn page_open(&self, student: StudentId) -> PageGuard {
        let mut activity = self.inner.stacks.activity.lock().unwrap_or_else(|e| e.into_inner());
        let a = activity.entry(student).or_insert(Activity { open_pages: 0, last_seen: Instant::now() });
        a.open_pages += 1;
        a.last_seen = Instant::now();
        PageGuard { classroom: self.clone(), student }
    }

    /// Notes that `student` did something (opened a page, pressed a button).
    pub fn touch(&self, student: StudentId) {
        let mut activity = self.inner.stacks.activity.lock().unwrap_or_else(|e| e.into_inner());
        activity.entry(student).or_insert(Activity { open_pages: 0, last_seen: Instant::now() }).last_seen = Instant::now();
    }

    /// When an idle student's stack will be stopped, if nobody comes back (unix ms).
    fn idle_stop_at(&self, student: StudentId) -> Option<i64> {
        let idle = self.settings().idle?;
        let activity = self.inner.stacks.activity.lock().unwrap_or_else(|e| e.into_inner());
        let a = activity.get(&student)?;
        if a.open_pages > 0 {
            return None;
        }
        let left = idle.saturating_sub(a.last_seen.elapsed());
        Some(crate::store::now_ms() + i64::try_from(left.as_millis()).unwrap_or(i64::MAX))
    }
}

/// The URL of a named endpoint.
fn endpoint<'a>(endpoints: &'a Endpoints, name: &str) -> Option<&'a str> {
    endpoints.endpoints.get(name).map(String::as_str)
}

/// Where checks reach a stack from the server; `site` is the student's site folder.
fn target_for(endpoints: &Endpoints, site: Option<std::path::PathBuf>) -> Option<Target> {
    let marathon = endpoint(endpoints, "marathon")?;
    let mut target = Target::new(marathon, endpoint(endpoints, "mesos").map(str::to_owned), None, site);
    target.service_ports = endpoints.ports.iter().map(|(k, v)| (*k, *v)).collect();
    Some(target)
}

/// The command lines a student can run on their own machine against their stack.
fn commands(endpoints: &Endpoints, public_host: &str, lab: Option<&crate::course::Lab>) -> Vec<String> {
    let public_host = endpoints.host.as_deref().unwrap_or(public_host);
    let public = |url: &str| -> String {
        let host = crate::net::host_of(url);
        url.replacen(&format!("//{host}:"), &format!("//{public_host}:"), 1)
    };
    let Some(marathon) = endpoint(endpoints, "marathon").map(public) else { return Vec::new() };
    let mut flags = format!("--marathon {marathon}");
    if let Some(mesos) = endpoint(endpoints, "mesos") {
        flags.push_str(&format!(" --mesos {}", public(mesos)));
    }
    flags.push_str(&format!(" --host {public_host}"));
    for (service, published) in &endpoints.ports {
        if service != published {
            flags.push_str(&format!(" --service-port {service}={published}"));
        }
    }
    let environment: Vec<&str> = lab.map(|l| l.exercises.iter().filter_map(|e| e.requires.as_deref()).collect()).unwrap_or_default();
    let mut out = vec![format!("lab deploy --marathon {marathon} site/")];
    if let Some(lab) = lab {
        out.extend(lab.exercises.iter().filter(|e| !environment.contains(&e.id.as_str())).map(|e| format!("lab check {} {flags} --site site/", e.id)));
    }
    out
}

/// Picks up the class's stacks after a restart: running ones are ready again, those that
/// were being started start again, the rest keep their state.
pub(super) async fn resume(classroom: &Classroom) -> Result<(), ClassError> {
    for record in classroom.inner.store.class_stacks(classroom.id()).await? {
        let student = record.student;
        match StackState::parse(&record.state) {
            StackState::Ready | StackState::Restarting => {
                let request = classroom.request(student).await?;
                match classroom.inner.provisioner.observe(&request).await {
                    Ok(Observed::Running(endpoints)) => become_ready(classroom, student, endpoints).await,
                    // The engine brings it back; the change watch makes it ready then.
                    Ok(Observed::Restarting(what)) => {
                        classroom.live(student, |l| l.state = StackState::Ready);
                        super::recovery::restarting(classroom, student, what).await;
                    }
                    _ => {
                        classroom.live(student, |l| l.notice = Some("the server restarted and your stack was not running any more: Start resumes it".into()));
                        classroom.set_state(student, StackState::Stopped, "").await;
                    }
                }
            }
            StackState::Queued | StackState::Starting => {
                classroom.live(student, |l| l.state = StackState::Stopped);
                classroom.start(student).await?;
            }
            other => classroom.live(student, |l| l.state = other),
        }
    }
    Ok(())
}

/// The start queue and the idle watch, for as long as the class runs.
pub(super) fn spawn_background(classroom: &Classroom) {
    let weak = std::sync::Arc::downgrade(&classroom.inner);
    tokio::spawn(async move {
        loop {
            let Some(inner) = weak.upgrade() else { return };
            let classroom = Classroom { inner };
            admit(&classroom);
            stop_idle(&classroom).await;
            let wake = async { classroom.inner.stacks.wake.notified().await };
            let _ = tokio::time::timeout(Duration::from_secs(5), wake).await;
        }
    });
}

/// Starts queued stacks while there are places and start slots.
fn admit(classroom: &Classroom) {
    let settings = classroom.settings();
    loop {
        let next = {
            let live = classroom.inner.stacks.live.lock().unwrap_or_else(|e| e.into_inner());
            let places = live.values().filter(|l| l.state.holds_a_place()).count();
            let starting = live.values().filter(|l| l.state == StackState::Starting).count();
            if places >= settings.max_stacks || starting >= settings.max_starting {
                None
            } else {
                classroom.inner.stacks.queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front()
            }
        };
        let Some(student) = next else { break };
        classroom.live(student, |l| l.state = StackState::Starting);
        let task = tokio::spawn(run_start(classroom.clone(), student));
        classroom.live(student, |l| l.task = Some(task.abort_handle()));
        // Everyone behind moved up one place.
        for s in classroom.inner.stacks.queue.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            classroom.publish(ClassEvent::Stack(*s));
        }
    }
}

/// Stage updates from a start, kept for the student's view.
struct LiveSink {
    classroom: Classroom,
    student: StudentId,
}

impl StageSink for LiveSink {
    fn stage(&self, text: String, progress: Option<(u64, u64)>) {
        let send = self.classroom.live(self.student, |l| {
            l.stage = Some(text);
            l.progress = progress;
            let due = l.last_publish.is_none_or(|t| t.elapsed() >= STAGE_THROTTLE);
            if due {
                l.last_publish = Some(Instant::now());
            }
            due
        });
        if send {
            self.classroom.publish(ClassEvent::Stack(self.student));
        }
    }
}

async fn run_start(classroom: Classroom, student: StudentId) {
    if let Err(e) = classroom.inner.store.set_stack_state(student, StackState::Starting.as_str(), "").await {
        tracing::warn!("cannot record stack state: {e}");
    }
    classroom.publish(ClassEvent::Stack(student));
    let outcome = start_and_check(&classroom, student).await;
    finish_start(&classroom, student, outcome).await;
}

/// Starts (or finishes, or brings back) the stack, then waits for the environment check.
pub(super) async fn start_and_check(classroom: &Classroom, student: StudentId) -> Result<Endpoints, ProvisionError> {
    match classroom.request(student).await {
        Err(e) => Err(ProvisionError { message: e.to_string(), service: None, log_tail: Vec::new(), hint: "tell the instructor".into() }),
        Ok(request) => {
            let sink = LiveSink { classroom: classroom.clone(), student };
            match classroom.inner.provisioner.start(&request, &sink).await {
                Ok(endpoints) => {
                    sink.stage("checking that your environment works".into(), None);
                    environment_check(classroom, &endpoints, &request).await.map(|()| endpoints)
                }
                Err(e) => Err(e),
            }
        }
    }
}

/// Ready, or failed with what went wrong.
pub(super) async fn finish_start(classroom: &Classroom, student: StudentId, outcome: Result<Endpoints, ProvisionError>) {
    match outcome {
        Ok(endpoints) => become_ready(classroom, student, endpoints).await,
        Err(e) => {
            let failure = Failure { message: e.message.clone(), service: e.service.clone(), log_tail: e.log_tail.clone(), hint: e.hint.clone() };
            classroom.live(student, |l| {
                l.failure = Some(failure);
                l.task = None;
            });
            classroom.set_state(student, StackState::Failed, &e.message).await;
        }
    }
    classroom.inner.stacks.wake.notify_one();
}

/// Waits until the lab's environment checks (the exercises others require) pass.
async fn environment_check(classroom: &Classroom, endpoints: &Endpoints, request: &StackRequest) -> Result<(), ProvisionError> {
    let Some(lab) = (classroom.inner.lab)() else { return Ok(()) };
    let mut required: Vec<String> = lab.exercises.iter().filter_map(|e| e.requires.clone()).collect();
    required.sort();
    required.dedup();
    let Some(target) = target_for(endpoints, Some(crate::marathon::workspace::site_dir(&request.workspace))) else { return Ok(()) };
    let deadline = tokio::time::Instant::now() + ENV_CHECK_TIMEOUT;
    for exercise in required {
        loop {
            let last = crate::checks::run_exercise(&lab, &exercise, &target).await;
            match &last {
                Ok(r) if r.status == Status::Passed => break,
                _ if tokio::time::Instant::now() < deadline => tokio::time::sleep(Duration::from_secs(3)).await,
                Ok(r) => {
                    let failing: Vec<String> = r.criteria.iter().filter(|c| c.status != Status::Passed).map(|c| format!("{}: {}", c.name, c.message)).collect();
                    return Err(ProvisionError { message: format!("the stack runs, but the environment check `{exercise}` does not pass: {}", failing.join("; ")), service: None, log_tail: Vec::new(), hint: "Start again in a minute; if it still fails, Reset the stack".into() });
                }
                Err(e) => return Err(ProvisionError { message: format!("the environment check `{exercise}` cannot run: {e}"), service: None, log_tail: Vec::new(), hint: "Start again in a minute".into() }),
            }
        }
    }
    Ok(())
}

/// Marks a stack ready and starts checking the student's exercises live.
async fn become_ready(classroom: &Classroom, student: StudentId, endpoints: Endpoints) {
    let site = classroom.inner.store.student_stack(student).await.ok().flatten().map(|r| crate::marathon::workspace::site_dir(&crate::stack::project::workspace_dir(&r.project)));
    let target = target_for(&endpoints, site);
    classroom.live(student, |l| {
        l.endpoints = Some(endpoints);
        l.task = None;
        l.stage = None;
        l.progress = None;
    });
    if let Some(target) = target {
        let watcher = tokio::spawn(watch_checks(classroom.clone(), student, target));
        classroom.live(student, |l| {
            if let Some(old) = l.watcher.replace(watcher.abort_handle()) {
                old.abort();
            }
        });
    }
    classroom.set_state(student, StackState::Ready, "").await;
}

/// Checks the student's exercises on every change of their Marathon; stores and announces
/// results that changed.
async fn watch_checks(classroom: Classroom, student: StudentId, target: Target) {
    let lab_source = classroom.inner.lab.clone();
    let lab_id = classroom.lab_id();
    let (tx, mut rx) = tokio::sync::mpsc::channel(32);
    let runner = tokio::spawn(crate::checks::watch::run(Box::new(move || lab_source()), target, CHECK_INTERVAL, tx));
    while let Some(live) = rx.recv().await {
        let Ok(result) = live.result else { continue };
        if let Err(e) = classroom.record_result(student, &lab_id, &result).await {
            tracing::warn!("cannot store a check result: {e}");
        }
    }
    runner.abort();
}

/// Stops the stacks of students who have had no page open for the class's idle time.
async fn stop_idle(classroom: &Classroom) {
    let Some(idle) = classroom.settings().idle else { return };
    let idle_students: Vec<StudentId> = {
        let live = classroom.inner.stacks.live.lock().unwrap_or_else(|e| e.into_inner());
        let activity = classroom.inner.stacks.activity.lock().unwrap_or_else(|e| e.into_inner());
        live.iter()
            .filter(|(_, l)| matches!(l.state, StackState::Queued | StackState::Starting | StackState::Ready | StackState::Restarting))
            .filter(|(s, _)| activity.get(s).is_none_or(|a| a.open_pages == 0 && a.last_seen.elapsed() >= idle))
            .map(|(s, _)| *s)
            .collect()
    };
    for student in idle_students {
        // A student never seen since a restart gets the full idle time from now.
        if classroom.inner.stacks.activity.lock().unwrap_or_else(|e| e.into_inner()).get(&student).is_none() {
            classroom.touch(student);
            continue;
        }
        let notice = format!("stopped after {} without an open lab page; Start resumes it (nothing in your workspace is lost)", super::config::show_duration(Some(idle)));
        if let Err(e) = classroom.stop_with(student, Some(notice)).await {
            tracing::warn!("cannot stop an idle stack: {e}");
        }
    }
}
