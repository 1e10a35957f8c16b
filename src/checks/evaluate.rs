//! Evaluating the check kinds. One evaluation fetches each thing once (apps, Mesos state,
//! the launch queue) and shares it between the exercise's checks and their diagnosis.

use super::{CheckError, Criterion, ExerciseResult, Status, Target};
use crate::course::Exercise;
use crate::course::checks::{CheckKind, CheckSpec, Count, parse_status_range};
use crate::course::diagnoses::{Diagnoses, Fact, FactKind};
use crate::marathon::queue::QueueEntry;
use crate::marathon::{App, MarathonError, NetworkMode};
use serde_json::Value;
use tokio::sync::OnceCell;

/// Data fetched at most once per evaluation.
pub(super) struct Snapshot<'t> {
    target: &'t Target,
    apps: OnceCell<Result<Vec<App>, String>>,
    mesos: OnceCell<Result<Value, String>>,
    /// Marathon's launch queue, asked only to diagnose (empty when it does not answer).
    queue: OnceCell<Vec<QueueEntry>>,
}

impl<'t> Snapshot<'t> {
    pub(super) fn new(target: &'t Target) -> Snapshot<'t> {
        Snapshot { target, apps: OnceCell::new(), mesos: OnceCell::new(), queue: OnceCell::new() }
    }

    /// What is checked against.
    pub(super) fn target(&self) -> &Target {
        self.target
    }

    /// The launch queue's entry for `app_id`, if it waits there.
    pub(super) async fn queued(&self, app_id: &str) -> Option<&QueueEntry> {
        let queue = self.queue.get_or_init(|| async { self.target.marathon.queue().await.unwrap_or_default() }).await;
        queue.iter().find(|q| q.app_id == app_id)
    }

    pub(super) async fn apps(&self) -> Result<&Vec<App>, CheckError> {
        let apps = self.apps.get_or_init(|| async { self.target.marathon.apps().await.map_err(|e| e.to_string()) }).await;
        apps.as_ref().map_err(|reason| CheckError::MarathonUnreachable { url: self.target.marathon.url().to_owned(), reason: reason.clone() })
    }

    async fn mesos_state(&self) -> &Result<Value, String> {
        self.mesos
            .get_or_init(|| async {
                let Some(url) = &self.target.mesos else { return Err("no Mesos master URL is known (pass --mesos)".to_owned()) };
                let http = crate::net::probe_client().map_err(|e| e.to_string())?;
                let response = http.get(format!("{}/master/state", url.trim_end_matches('/'))).send().await.map_err(|e| crate::net::describe_error(&e))?;
                if !response.status().is_success() {
                    return Err(format!("it answered {}", response.status()));
                }
                response.json::<Value>().await.map_err(|e| e.to_string())
            })
            .await
    }
}


/// Evaluates every check of an exercise, and diagnoses what did not pass with `rules`.
pub(super) async fn exercise(exercise: &Exercise, target: &Target, snapshot: &Snapshot<'_>, rules: &Diagnoses) -> Result<ExerciseResult, CheckError> {
    let mut criteria = Vec::new();
    // Each criterion's `hints:` key, which also tells the diagnosis what it is about.
    let mut keys = Vec::new();
    // What the gateway answered on the service ports that did not pass.
    let mut gateway = Vec::new();
    // Whether the exercise's app is fine or on its way (nothing failed, something checked).
    let mut app_on_track: Option<bool> = None;
    for check in &exercise.checks {
        let mut found = match check.kind.value {
            CheckKind::MarathonUp => marathon_up(target).await?,
            CheckKind::MesosMaster => mesos_master(check, snapshot).await,
            CheckKind::MarathonApp => {
                let c = marathon_app(check, snapshot).await?;
                let fine = c.iter().all(|c| c.status != Status::Failed);
                app_on_track = Some(app_on_track.unwrap_or(true) && fine);
                c
            }
            CheckKind::Http => {
                let (criterion, fact) = http(check, target).await;
                gateway.extend(fact);
                vec![criterion]
            }
            CheckKind::SiteFile => vec![site_file(check, target)],
        };
        for c in &mut found {
            let key = hint_key(check, &c.name);
            if let Some(key) = key
                && let Some(custom) = check.hints.get(key)
                && c.status != Status::Passed
            {
                c.hint = Some(custom.clone());
            }
            keys.push(key);
        }
        criteria.extend(found);
    }
    // The gateway follows Marathon with a delay: when the exercise's app is fine (or still
    // deploying), an unanswered service port is on its way, not wrong.
    if app_on_track == Some(true) {
        for c in criteria.iter_mut().filter(|c| c.name.starts_with("reachable") && c.status == Status::Failed) {
            c.status = Status::Pending;
            c.hint = Some(format!("{} The app looks right; the gateway picks it up within about a minute (use --wait 90).", c.hint.clone().unwrap_or_default()).trim().to_owned());
        }
    }
    if app_on_track != Some(true) {
        gateway.clear();
    }
    super::diagnose::diagnose(&mut criteria, &keys, exercise, snapshot, rules, gateway).await;
    let status = Status::combine(criteria.iter().map(|c| c.status));
    Ok(ExerciseResult { exercise: exercise.id.clone(), status, criteria, blocked_by: None })
}

/// Which `hints:` key a criterion answers to.
fn hint_key(check: &CheckSpec, name: &str) -> Option<&'static str> {
    let keys = crate::course::checks::criterion_keys(check.kind.value);
    let key = match name {
        n if n.starts_with("app") => "app",
        "instances" => "instances",
        "network" => "network",
        n if n.starts_with("port mapping") => "port_mapping",
        n if n.starts_with("health check") => "health_check",
        "running tasks" => "tasks_running",
        "healthy tasks" => "tasks_healthy",
        "staged tasks" => "tasks_staged",
        "no pending deployment" => "deployment",
        n if n.starts_with("reachable") => "http",
        n if n.starts_with("site/") || n.starts_with("site file") => "site_file",
        "Marathon answers" => "marathon",
        "Mesos agents" => "mesos_agents",
        n if n.starts_with("Mesos framework") => "mesos_framework",
        _ => return None,
    };
    keys.contains(&key).then_some(key)
}

async fn marathon_up(target: &Target) -> Result<Vec<Criterion>, CheckError> {
    match target.marathon.ping().await {
        Ok(()) => Ok(vec![Criterion::new("Marathon answers", Status::Passed, format!("Marathon answers at {}", target.marathon.url()), None)]),
        Err(MarathonError::Unreachable { url, reason }) => Err(CheckError::MarathonUnreachable { url, reason }),
        Err(MarathonError::Client(reason)) => Err(CheckError::MarathonUnreachable { url: target.marathon.url().to_owned(), reason }),
        Err(e) => Ok(vec![Criterion::new("Marathon answers", Status::Failed, format!("Marathon at {} answered: {e}", target.marathon.url()), Some("Marathon may still be starting; `lab logs marathon` shows why.".into()))]),
    }
}

async fn mesos_master(check: &CheckSpec, snapshot: &Snapshot<'_>) -> Vec<Criterion> {
    let state = match snapshot.mesos_state().await {
        Ok(state) => state,
        Err(reason) => {
            return vec![Criterion::new("Mesos agents", Status::Failed, format!("the Mesos master does not answer: {reason}"), Some("The box may still be starting; `lab status` and `lab logs box` tell more.".into()))];
        }
    };
    let mut out = Vec::new();
    let agents = state.get("activated_slaves").and_then(Value::as_f64).unwrap_or(0.0) as u64;
    let min = check.min_agents.unwrap_or(1);
    out.push(Criterion::new(
        "Mesos agents",
        if agents >= min { Status::Passed } else { Status::Failed },
        format!("{agents} active agent(s), at least {min} needed"),
        Some("The Mesos agent has not registered with the master: `lab logs box` shows why (it may still be starting).".into()),
    ));
    let names: Vec<&str> = state.get("frameworks").and_then(Value::as_array).map(|f| f.iter().filter_map(|f| f.get("name").and_then(Value::as_str)).collect()).unwrap_or_default();
    for wanted in &check.frameworks {
        let found = names.iter().any(|n| n.eq_ignore_ascii_case(wanted));
        out.push(Criterion::new(
            format!("Mesos framework {wanted}"),
            if found { Status::Passed } else { Status::Failed },
            if found { format!("{wanted} is registered with the master") } else { format!("{wanted} is not registered (registered: {})", if names.is_empty() { "none".to_owned() } else { names.join(", ") }) },
            Some(format!("{wanted} has not connected to Mesos yet: `lab logs {wanted}` shows why.")),
        ));
    }
    out
}

/// Whether `image` is `wanted` with any tag or digest, whichever way Docker Hub is spelt.
fn image_matches(image: &str, wanted: &str) -> bool {
    let (image, wanted) = (crate::marathon::canonical_image(image), crate::marathon::canonical_image(wanted));
    image == wanted || image.strip_prefix(&wanted).is_some_and(|rest| rest.starts_with(':') || rest.starts_with('@'))
}

/// The apps a marathon-app check selects (by id, or by image), and how to name them.
pub(super) fn selected<'a>(check: &CheckSpec, apps: &'a [App]) -> (String, Vec<&'a App>) {
    match (&check.app, &check.image) {
        (Some(id), _) => {
            let id = crate::marathon::client::normalize_id(id);
            (format!("app {id}"), apps.iter().filter(|a| a.id() == id).collect())
        }
        (None, Some(image)) => (format!("app running {image}"), apps.iter().filter(|a| a.image().is_some_and(|i| image_matches(i, image))).collect()),
        (None, None) => (String::new(), Vec::new()),
    }
}

async fn marathon_app(check: &CheckSpec, snapshot: &Snapshot<'_>) -> Result<Vec<Criterion>, CheckError> {
    let apps = snapshot.apps().await?;
    let (what, candidates) = selected(check, apps);
    if candidates.is_empty() {
        let known: Vec<&str> = apps.iter().map(App::id).collect();
        return Ok(vec![Criterion::new(
            "app exists",
            Status::Failed,
            format!("Marathon has no {what} (it runs: {})", if known.is_empty() { "nothing".to_owned() } else { known.join(", ") }),
            Some("Deploy your site file: save it while `lab watch` runs, or run `lab deploy`.".into()),
        )]);
    }
    // With several matching apps, judge the one that comes closest.
    let best = candidates
        .into_iter()
        .map(|app| app_criteria(check, app))
        .max_by_key(|criteria| criteria.iter().filter(|c| c.status == Status::Passed).count())
        .unwrap_or_default();
    Ok(best)
}

fn app_criteria(check: &CheckSpec, app: &App) -> Vec<Criterion> {
    let mut out = vec![Criterion::new("app exists", Status::Passed, format!("{} is in Marathon", app.id()), None)];
    let deploying = !app.deployments().is_empty();
    // While a deployment runs, unmet counts are on their way rather than wrong.
    let unmet = if deploying { Status::Pending } else { Status::Failed };

    if let Some(expected) = check.instances {
        let n = app.instances();
        out.push(Criterion::new(
            "instances",
            if expected.matches(n) { Status::Passed } else { Status::Failed },
            format!("instances is {n} (wanted: {expected})"),
            Some(format!("Set `instances` in the app's site file ({expected}) and save it.")),
        ));
    }
    if let Some(network) = &check.network {
        let wanted = network.to_ascii_uppercase();
        let mode = app.network_mode();
        out.push(Criterion::new(
            "network",
            if mode.to_string() == wanted { Status::Passed } else { Status::Failed },
            format!("the app uses {mode} networking (wanted: {wanted})"),
            Some(match mode {
                NetworkMode::Host => format!("The app still uses HOST networking; the exercise asks for {wanted}: look at `network` under service.container.docker."),
                _ => format!("Set the Docker network mode to {wanted}."),
            }),
        ));
    }
    if let Some(expect) = &check.port_mapping {
        let mappings = app.port_mappings();
        let protocol = expect.protocol.clone().unwrap_or_else(|| "tcp".into()).to_ascii_lowercase();
        let name = match (expect.container_port, expect.service_port) {
            (Some(c), Some(s)) => format!("port mapping {c} → {s}"),
            (Some(c), None) => format!("port mapping from {c}"),
            (None, Some(s)) => format!("port mapping to {s}"),
            (None, None) => "port mapping".to_owned(),
        };
        let ok = mappings.iter().any(|m| {
            expect.container_port.is_none_or(|c| c == m.container_port) && expect.service_port.is_none_or(|s| s == m.service_port) && m.carries(&protocol)
        });
        let found = if mappings.is_empty() {
            let ports = app.port_definitions();
            if ports.is_empty() { "the app has no port mappings".to_owned() } else { format!("the app has no port mappings, only HOST ports {ports:?}") }
        } else {
            format!("found {}", mappings.iter().map(|m| format!("containerPort {} → servicePort {}/{}", m.container_port, m.service_port, m.protocol)).collect::<Vec<_>>().join(", "))
        };
        let hint = match (expect.container_port, expect.service_port, mappings.iter().find(|m| expect.container_port == Some(m.container_port))) {
            (_, Some(s), Some(m)) if m.service_port != s => format!("The container port is right, but the gateway listens on the servicePort: it should be {s}."),
            _ if mappings.is_empty() => "In BRIDGE mode, ports are described with portMappings (containerPort, servicePort) under service.container.docker; Marathon's ports page explains them.".to_owned(),
            _ => "Check containerPort (where the app listens inside the container) and servicePort (where the gateway listens).".to_owned(),
        };
        out.push(Criterion::new(name, if ok { Status::Passed } else { Status::Failed }, found, Some(hint)));
    }
    if let Some(expect) = &check.health_check {
        let checks = app.health_checks();
        let path = expect.path.clone();
        let ok = checks.iter().any(|h| {
            (expect.protocol.is_empty() || expect.protocol.iter().any(|p| p.eq_ignore_ascii_case(&h.protocol)))
                && path.as_ref().is_none_or(|p| h.path.as_deref().unwrap_or("/") == p)
        });
        let found = if checks.is_empty() {
            "the app has no health checks".to_owned()
        } else {
            format!("found {}", checks.iter().map(|h| format!("{} on {}", h.protocol, h.path.as_deref().unwrap_or("/"))).collect::<Vec<_>>().join(", "))
        };
        let wanted = format!("{} on {}", if expect.protocol.is_empty() { "any protocol".to_owned() } else { expect.protocol.join(" or ") }, path.as_deref().unwrap_or("any path"));
        out.push(Criterion::new(
            format!("health check {wanted}"),
            if ok { Status::Passed } else { Status::Failed },
            found,
            Some(format!("Add a health check ({wanted}) under healthChecks; it must ask for a page the app really serves.")),
        ));
    }
    if let Some(tasks) = &check.tasks {
        let list = app.tasks();
        let counts = app.counts();
        let running = app.running();
        let healthy = if list.is_empty() { counts.healthy } else { list.iter().filter(|t| t.is_running() && t.is_healthy()).count() as u64 };
        let staged = counts.staged;
        let mut count = |name: &str, expected: Option<Count>, n: u64, hint: String| {
            if let Some(expected) = expected {
                let status = if expected.matches(n) { Status::Passed } else { unmet };
                let extra = if deploying && status != Status::Passed { " (a deployment is still running)" } else { "" };
                out.push(Criterion::new(name, status, format!("{n} {name} (wanted: {expected}){extra}"), Some(hint)));
            }
        };
        count("running tasks", tasks.running, running, "Tasks that do not start are usually a wrong image name or too little memory: open the app in Marathon and look at its last task failure.".into());
        count(
            "healthy tasks",
            tasks.healthy,
            healthy,
            "Running but not healthy means the health check fails: does it ask for a path and port the app really serves?".into(),
        );
        count("staged tasks", tasks.staged, staged, "Staged tasks are waiting for resources or an image pull; give it a moment, or lower cpus/mem.".into());
    }
    if check.no_pending_deployment {
        let ids = app.deployments();
        out.push(Criterion::new(
            "no pending deployment",
            if ids.is_empty() { Status::Passed } else { Status::Pending },
            if ids.is_empty() { "no deployment is running".to_owned() } else { format!("deployment {} is still running", ids.join(", ")) },
            Some("Marathon is still rolling out your change; a deployment that never ends usually means tasks that never become healthy.".into()),
        ));
    }
    out
}

/// The criterion, and when it did not pass, what the gateway did (a `gateway` fact).
async fn http(check: &CheckSpec, target: &Target) -> (Criterion, Option<Fact>) {
    let port = check.service_port.unwrap_or(80);
    let path = check.path.as_deref().unwrap_or("/");
    let (low, high) = check.status.as_deref().and_then(parse_status_range).unwrap_or((200, 399));
    let url = target.service_url(port, path);
    let name = format!("reachable on :{port}{path}");
    let hint = Some(format!("Nothing good answers on service port {port} yet: the gateway forwards it only to healthy tasks of an app whose servicePort is {port}."));
    // Redirects count as an answer (3xx), so they are not followed.
    let http = match crate::net::probe_client() {
        Ok(http) => http,
        Err(e) => return (Criterion::new(name, Status::Failed, format!("{url} was not tried: {e}"), None), None),
    };
    let fact = |problem: String| Some(Fact::new(FactKind::Gateway).with("problem", problem).with("port", port.to_string()).with("path", path));
    let response = http.get(&url).header("Connection", "close").send().await;
    match response {
        Err(e) => {
            let problem = crate::net::describe_error(&e);
            (Criterion::new(name, Status::Failed, format!("{url} does not answer ({problem})"), hint), fact(problem))
        }
        Ok(r) => {
            let code = r.status().as_u16();
            let in_range = (low..=high).contains(&code);
            let body_ok = match &check.body_contains {
                None => true,
                Some(text) => r.text().await.is_ok_and(|b| b.contains(text.as_str())),
            };
            let status = if in_range && body_ok { Status::Passed } else { Status::Failed };
            let (message, problem) = match (&check.body_contains, body_ok) {
                (Some(text), false) => (format!("{url} answered {code} without the text “{text}”"), format!("it answered {code} without the text “{text}”")),
                _ => (format!("{url} answered {code} (wanted {low}–{high})"), format!("it answered {code}")),
            };
            let fact = if status == Status::Passed { None } else { fact(problem) };
            (Criterion::new(name, status, message, hint), fact)
        }
    }
}

/// Judges the app exactly as `lab deploy` would send it (globals, variables, override and
/// all), not the file's raw keys: `override: {instances: 1}` scales the demo as surely as
/// `instances: 1` does.
fn site_file(check: &CheckSpec, target: &Target) -> Criterion {
    let file = check.file.clone().unwrap_or_default();
    let shown = format!("site/{file}");
    let hint = Some("Edit your own copy in the workspace's site folder (`lab status` shows where) and save it.".to_owned());
    let Some(dir) = &target.site_dir else {
        return Criterion::new(shown, Status::Failed, "your site folder was not found".to_owned(), Some("Run `lab up` to create your workspace, or pass --site DIR.".into()));
    };
    let path = dir.join(&file);
    if !path.is_file() {
        return Criterion::new(shown.clone(), Status::Failed, format!("{} does not exist", path.display()), hint);
    }
    let rendered = match crate::marathon::site::render(&path, &shown, dir, &crate::marathon::site::ProcessEnv) {
        Ok(r) => r,
        Err(e) => {
            let fix = e.fix.clone().map_or_else(|| "Fix the file at that line".to_owned(), |f| format!("Fix it: {f}"));
            let hint = format!("{fix}; `lab deploy --dry-run {shown}` shows the same.");
            return Criterion::new(shown, Status::Failed, format!("it does not render: {e}"), Some(hint));
        }
    };
    let mut wrong = Vec::new();
    for (dotted, expected) in &check.values {
        let actual = rendered.app.pointer(&app_pointer(dotted));
        if actual != Some(expected) {
            let found = actual.map_or_else(|| "missing".to_owned(), Value::to_string);
            wrong.push(format!("{} is {found} (wanted {expected})", app_path(dotted)));
        }
    }
    if wrong.is_empty() {
        let values: Vec<String> = check.values.iter().map(|(k, v)| format!("{} = {v}", app_path(k))).collect();
        Criterion::new(shown, Status::Passed, format!("renders with {}", values.join(", ")), None)
    } else {
        Criterion::new(shown, Status::Failed, format!("renders with {}", wrong.join("; ")), hint)
    }
}

/// A `values:` path names a field of the rendered app; `service.` in front is allowed,
/// since that is where the student writes it.
fn app_path(dotted: &str) -> &str {
    dotted.strip_prefix("service.").unwrap_or(dotted)
}

fn app_pointer(dotted: &str) -> String {
    app_path(dotted).split('.').fold(String::new(), |mut p, segment| {
        p.push('/');
        p.push_str(&segment.replace('~', "~0").replace('/', "~1"));
        p
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn images_match_with_any_tag_or_digest() {
        assert!(super::image_matches("srenkens/wolfenstein3d:latest", "srenkens/wolfenstein3d"));
        assert!(super::image_matches("srenkens/wolfenstein3d", "srenkens/wolfenstein3d"));
        assert!(super::image_matches("srenkens/wolfenstein3d@sha256:ab", "srenkens/wolfenstein3d"));
        assert!(!super::image_matches("srenkens/wolfenstein3d-fork:1", "srenkens/wolfenstein3d"));
        assert!(super::image_matches("docker.io/srenkens/wolfenstein3d:latest", "srenkens/wolfenstein3d"));
        assert!(super::image_matches("index.docker.io/srenkens/wolfenstein3d", "docker.io/srenkens/wolfenstein3d"));
        assert!(super::image_matches("docker.io/library/nginx:1.25", "nginx"));
    }
}
