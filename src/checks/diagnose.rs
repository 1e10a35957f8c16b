//! Diagnosis: for each criterion that did not pass, the facts from the live system that can
//! explain it — the app's last task failure, the offers Marathon declines, failing health
//! checks, the gateway, the site files that define the app — gathered once per evaluation
//! and only when something failed, then put into words by the lab's `diagnoses.yml`.
//! Which facts can explain which criterion is decided here; what they mean is the rules'.

use super::evaluate::{Snapshot, selected};
use super::{Criterion, Status};
use crate::course::Exercise;
use crate::course::checks::CheckKind;
use crate::course::diagnoses::{Diagnoses, Fact, FactKind};
use crate::marathon::{App, NetworkMode};
use serde_json::Value;

/// The facts that can explain a criterion with `hints:` key `key`, most telling first.
fn relevant(key: &str) -> &'static [FactKind] {
    use FactKind::*;
    match key {
        "app" | "site_file" => &[SiteFile],
        "tasks_running" | "tasks_staged" | "deployment" => &[TaskFailure, OfferRejected, HealthFailure],
        "tasks_healthy" => &[HealthFailure, TaskFailure, OfferRejected],
        "http" => &[TaskFailure, OfferRejected, HealthFailure, Gateway],
        _ => &[],
    }
}

/// Sets the diagnosis of every criterion that did not pass and that a fact explains.
/// `keys` are the criteria's `hints:` keys, `gateway` what the gateway did on the ports
/// that failed (already dropped by the caller when the app itself is not right).
pub(super) async fn diagnose(criteria: &mut [Criterion], keys: &[Option<&'static str>], exercise: &Exercise, snapshot: &Snapshot<'_>, rules: &Diagnoses, gateway: Vec<Fact>) {
    let mut facts: Option<Facts> = None;
    for (criterion, key) in criteria.iter_mut().zip(keys) {
        let kinds = key.map_or(&[][..], relevant);
        if criterion.status == Status::Passed || kinds.is_empty() {
            continue;
        }
        if facts.is_none() {
            facts = Some(Facts::gather(exercise, snapshot, &gateway).await);
        }
        let Some(facts) = &facts else { continue };
        let wanted: Vec<Fact> = kinds.iter().flat_map(|k| facts.of(*k)).cloned().collect();
        criterion.diagnosis = rules.diagnose(&wanted);
    }
}

/// Everything known about the exercise's app and files.
struct Facts {
    all: Vec<Fact>,
}

impl Facts {
    fn of(&self, kind: FactKind) -> impl Iterator<Item = &Fact> {
        self.all.iter().filter(move |f| f.kind == kind)
    }

    async fn gather(exercise: &Exercise, snapshot: &Snapshot<'_>, gateway: &[Fact]) -> Facts {
        let mut all = site_files(exercise, snapshot);
        let app = match snapshot.apps().await {
            Ok(apps) => exercise.checks.iter().filter(|c| c.kind.value == CheckKind::MarathonApp).find_map(|c| selected(c, apps).1.into_iter().next()),
            Err(_) => None,
        };
        if let Some(app) = app {
            all.extend(app_facts(app, snapshot).await);
            all.extend(gateway.iter().map(|g| g.clone().with("app", app.id())));
        }
        Facts { all }
    }
}

/// The site files the exercise is about (the one it edits, the ones it checks) that do
/// not render, with `file:line:column`, as `lab deploy` would report them.
fn site_files(exercise: &Exercise, snapshot: &Snapshot<'_>) -> Vec<Fact> {
    let Some(dir) = &snapshot.target().site_dir else { return Vec::new() };
    let mut files: Vec<&str> = Vec::new();
    for file in exercise.edit.iter().map(String::as_str).chain(exercise.checks.iter().filter_map(|c| c.file.as_deref())) {
        if !files.contains(&file) {
            files.push(file);
        }
    }
    files
        .into_iter()
        .filter_map(|file| {
            let path = dir.join(file);
            if !path.is_file() {
                return None;
            }
            let shown = format!("site/{file}");
            let error = crate::marathon::site::render(&path, &shown, dir, &crate::marathon::site::ProcessEnv).err()?;
            Some(Fact::new(FactKind::SiteFile).with("error", &error.message).with("file", &shown).with("location", error.location()).with("fix", error.fix.as_deref().unwrap_or_default()))
        })
        .collect()
}

/// What Marathon knows about why `app` is not running as asked.
async fn app_facts(app: &App, snapshot: &Snapshot<'_>) -> Vec<Fact> {
    let mut out = Vec::new();
    let queued = snapshot.queued(app.id()).await;
    // A failure is news only while tasks are missing, and only of the version asked for.
    if let Some(failure) = app.last_task_failure().filter(|f| f.of_version(app.version()) && app.running() < app.instances()) {
        let backoff = if queued.is_some_and(|q| q.backed_off()) { "yes" } else { "no" };
        out.push(
            Fact::new(FactKind::TaskFailure)
                .with("message", &failure.message)
                .with("state", failure.state.as_deref().unwrap_or_default())
                .with("app", app.id())
                .with("image", app.image().unwrap_or_default())
                .with("backoff", backoff),
        );
    }
    for reason in queued.into_iter().flat_map(|q| q.declined_reasons()) {
        let resource = |k: &str| app.raw().get(k).and_then(Value::as_f64).map(|v| v.to_string()).unwrap_or_default();
        out.push(
            Fact::new(FactKind::OfferRejected)
                .with("reason", reason)
                .with("app", app.id())
                .with("cpus", resource("cpus"))
                .with("mem", resource("mem"))
                .with("disk", resource("disk"))
                .with("ports", fixed_host_ports(app)),
        );
    }
    if let Some(cause) = app.tasks().into_iter().find_map(|t| t.health_failure) {
        let check = app.health_checks().into_iter().next();
        out.push(
            Fact::new(FactKind::HealthFailure)
                .with("cause", cause)
                .with("app", app.id())
                .with("protocol", check.as_ref().map_or("", |h| h.protocol.as_str()))
                .with("path", check.as_ref().map_or("/", |h| h.path.as_deref().unwrap_or("/"))),
        );
    }
    out
}

/// The host ports `app` insists on (a fixed `hostPort`, or its ports with `requirePorts`),
/// which only an agent with those ports free can give; `none` when any free port will do.
fn fixed_host_ports(app: &App) -> String {
    let ports: Vec<u16> = match app.network_mode() {
        NetworkMode::Host if app.raw().get("requirePorts").and_then(Value::as_bool).unwrap_or(false) => app.port_definitions(),
        NetworkMode::Host => Vec::new(),
        _ => app.port_mappings().into_iter().map(|m| m.host_port).filter(|p| *p != 0).collect(),
    };
    if ports.is_empty() { "none".to_owned() } else { ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", ") }
}
