//! `up`: converge the engine to a plan. Images are built or pulled (with progress), networks
//! and volumes created, and services created and started in dependency order, independent
//! ones concurrently, waiting for health where `depends_on` asks for it. Unchanged
//! containers (same config hash) are kept, changed ones recreated, and containers of
//! services no longer in the file removed. Every step is idempotent, so an interrupted `up`
//! is finished by the next `up` (or cleaned by `down`).

use super::engine::{Engine, StackError, engine_message, is_not_found, project_filter};
use super::file::Condition;
use super::plan::{Plan, ServicePlan, labels};
use super::progress::{Phase, Progress, StackEvent};
use super::lock::LockWait;
use super::objects::{NetworkIds, ensure_networks, ensure_volumes, on_kept_networks, remove_stale_networks};
use bollard::Docker;
use bollard::models::{ContainerSummary, EndpointSettings, HealthStatusEnum, NetworkConnectRequest};
use bollard::query_parameters::{CreateContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder, StopContainerOptionsBuilder};
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tokio::sync::watch;

/// Tuning for `up`.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// How long to wait for a service to become healthy.
    pub health_timeout: Duration,
    /// What to do when another `up` or `down` of the project is running.
    pub lock: LockWait,
}

impl Default for UpOptions {
    fn default() -> Self {
        UpOptions { health_timeout: Duration::from_secs(300), lock: LockWait::FailFast }
    }
}

/// What `up` did to one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Running and unchanged.
    Kept,
    /// Unchanged but was stopped; started.
    Started,
    /// Did not exist; created and started.
    Created,
    /// Its configuration changed (or the service it shares a network with was replaced).
    Recreated,
}

/// The result of `up`.
#[derive(Debug, Clone, Default)]
pub struct UpReport {
    /// Per service, in file order.
    pub actions: Vec<(String, Action)>,
    /// Containers of services no longer in the file, removed.
    pub removed: Vec<String>,
}

/// What to do with one service, decided before anything changes.
#[derive(Debug, Clone)]
enum Decision {
    Keep { id: String, running: bool },
    Create,
    /// Replace the container; `reattach` when its configuration is unchanged and only what
    /// it is attached to (a shared namespace, a network) must be new.
    Recreate { old_id: String, reattach: bool },
}

/// How far a service has come, for its dependents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Readiness {
    Pending,
    Started,
    Healthy,
    Failed,
}

/// Converges the engine to `plan`, holding the project's lock throughout (see [`super::lock`]).
pub async fn up(engine: &Engine, plan: &Plan, progress: &dyn Progress, options: &UpOptions) -> Result<UpReport, StackError> {
    let waiting = |holder: &str| progress.event(StackEvent::WaitingForLock { project: &plan.project, holder });
    let _lock = super::lock::acquire(&super::lock::lock_dir(), engine.host(), &plan.project, "up", options.lock, &waiting).await?;
    let docker = engine.docker();
    let images = super::images::ensure_images(docker, plan, progress).await?;
    let network_ids = ensure_networks(docker, plan).await?;
    ensure_volumes(docker, plan).await?;

    let existing = existing_containers(docker, &plan.project).await?;
    let mut removed = Vec::new();
    for (service, container) in &existing {
        if !plan.services.iter().any(|s| &s.name == service) {
            progress.event(StackEvent::Service { service, phase: Phase::Removing });
            remove_container(docker, container).await?;
            progress.event(StackEvent::Service { service, phase: Phase::Removed });
            removed.push(service.clone());
        }
    }

    let hashes: HashMap<&str, String> = plan
        .services
        .iter()
        .map(|s| {
            let image = &images[&s.image];
            (s.name.as_str(), config_hash(s, &image.id, image.build_hash.as_deref()))
        })
        .collect();
    // What the engine says a container is attached to counts, not only its hash: a sharer
    // whose target was replaced or restarted since it joined, and a container that is not
    // on the network lab keeps under that name, are replaced.
    let mut reattach: HashSet<String> = super::sharing::sharers(docker, &existing).await.into_iter().filter(|(_, s)| s.attachment.is_stale()).map(|(service, _)| service).collect();
    for service in &plan.services {
        if let Some(container) = existing.get(&service.name)
            && is_running(container)
            && !on_kept_networks(container, service, &network_ids)
        {
            reattach.insert(service.name.clone());
        }
    }
    let decisions = decide(plan, &existing, &hashes, &reattach);
    let actions = run(docker, plan, &decisions, &hashes, &network_ids, progress, options).await?;
    remove_stale_networks(docker, plan).await;
    Ok(UpReport { actions, removed })
}

/// Hash of everything that defines the container; a different hash means "recreate".
/// Maps built from hash maps (labels, env) hash the same every time: keys are sorted. For a
/// built image the build hash counts too, so a changed context always recreates.
pub fn config_hash(service: &ServicePlan, image_id: &str, build_hash: Option<&str>) -> String {
    let body = crate::digest::canonical_json(&serde_json::to_value(&service.create).unwrap_or_default());
    let networks = crate::digest::canonical_json(&serde_json::to_value(&service.extra_networks).unwrap_or_default());
    let mut parts = vec![body.as_str(), networks.as_str(), image_id];
    // Only when present, so that pulled services keep the hashes older versions gave them.
    parts.extend(build_hash);
    crate::digest::short_hash(&parts, 12)
}

/// The project's containers, by service label.
pub async fn existing_containers(docker: &Docker, project: &str) -> Result<HashMap<String, ContainerSummary>, StackError> {
    let list = docker.list_containers(Some(ListContainersOptionsBuilder::default().all(true).filters(&project_filter(project)).build())).await?;
    Ok(list
        .into_iter()
        .filter_map(|c| Some((c.labels.as_ref()?.get(labels::SERVICE)?.clone(), c)))
        .collect())
}

/// Stops (gracefully, as long as the container's grace label says) and removes a container.
pub async fn remove_container(docker: &Docker, container: &ContainerSummary) -> Result<(), StackError> {
    let Some(id) = container.id.as_deref() else { return Ok(()) };
    let grace = container.labels.as_ref().and_then(|l| l.get(labels::STOP_GRACE)).and_then(|g| g.parse::<i32>().ok()).unwrap_or(10);
    match docker.stop_container(id, Some(StopContainerOptionsBuilder::default().t(grace).build())).await {
        Ok(()) => {}
        Err(e) if is_not_found(&e) => return Ok(()),
        // 304: already stopped.
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 304, .. }) => {}
        Err(e) => return Err(e.into()),
    }
    match docker.remove_container(id, Some(RemoveContainerOptionsBuilder::default().force(true).v(true).build())).await {
        Ok(()) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        // Already being removed (e.g. auto-remove): fine.
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 409, .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn is_running(c: &ContainerSummary) -> bool {
    c.state.is_some_and(|s| s == bollard::models::ContainerSummaryStateEnum::RUNNING)
}

/// Decides per service, parents first, so that a service sharing the network of a replaced
/// (or restarted) container is replaced too: its old namespace is gone. `reattach` names
/// the services the engine already shows attached to something other than what they should
/// be (a sharer in a namespace other than its target's, a container off its network).
fn decide(plan: &Plan, existing: &HashMap<String, ContainerSummary>, hashes: &HashMap<&str, String>, reattach: &HashSet<String>) -> HashMap<String, Decision> {
    let mut decisions: HashMap<String, Decision> = HashMap::new();
    let by_name: HashMap<&str, &ServicePlan> = plan.services.iter().map(|s| (s.name.as_str(), s)).collect();
    fn decide_one(
        name: &str,
        by_name: &HashMap<&str, &ServicePlan>,
        existing: &HashMap<String, ContainerSummary>,
        hashes: &HashMap<&str, String>,
        reattach: &HashSet<String>,
        decisions: &mut HashMap<String, Decision>,
    ) {
        if decisions.contains_key(name) {
            return;
        }
        let service = by_name[name];
        let reattach_needed = service.network_parent.as_deref().is_some_and(|p| {
            decide_one(p, by_name, existing, hashes, reattach, decisions);
            !matches!(decisions.get(p), Some(Decision::Keep { running: true, .. }))
        }) || reattach.contains(name);
        let decision = match existing.get(name) {
            None => Decision::Create,
            Some(c) => {
                let id = c.id.clone().unwrap_or_default();
                let same = c.labels.as_ref().and_then(|l| l.get(labels::CONFIG_HASH)) == hashes.get(name);
                // A container that was created but never started may lack the networks an
                // interrupted `up` was about to connect: build it again.
                let never_started = c.state == Some(bollard::models::ContainerSummaryStateEnum::CREATED);
                if same && !reattach_needed && !never_started {
                    Decision::Keep { id, running: is_running(c) }
                } else {
                    Decision::Recreate { old_id: id, reattach: same && reattach_needed && !never_started }
                }
            }
        };
        decisions.insert(name.to_owned(), decision);
    }
    for s in &plan.services {
        decide_one(&s.name, &by_name, existing, hashes, reattach, &mut decisions);
    }
    decisions
}

/// Creates/starts services in dependency order, concurrently where independent.
async fn run(
    docker: &Docker,
    plan: &Plan,
    decisions: &HashMap<String, Decision>,
    hashes: &HashMap<&str, String>,
    network_ids: &NetworkIds,
    progress: &dyn Progress,
    options: &UpOptions,
) -> Result<Vec<(String, Action)>, StackError> {
    let mut senders = HashMap::new();
    let mut receivers = HashMap::new();
    for s in &plan.services {
        let (tx, rx) = watch::channel(Readiness::Pending);
        senders.insert(s.name.as_str(), tx);
        receivers.insert(s.name.as_str(), rx);
    }
    let needs_health: HashSet<&str> = plan
        .services
        .iter()
        .flat_map(|s| s.depends_on.iter().filter(|(_, c)| *c == Condition::ServiceHealthy).map(|(d, _)| d.as_str()))
        .collect();

    let tasks = plan.services.iter().map(|service| {
        let tx = senders.remove(service.name.as_str()).expect("one sender per service");
        let receivers = &receivers;
        let needs_health = needs_health.contains(service.name.as_str());
        async move {
            let result = bring_up(docker, service, &decisions[&service.name], &hashes[service.name.as_str()], network_ids, receivers, &tx, needs_health, progress, options).await;
            if let Err(e) = &result {
                let _ = tx.send(Readiness::Failed);
                progress.event(StackEvent::ServiceFailed { service: &service.name, reason: &e.to_string() });
            }
            result.map(|a| (service.name.clone(), a))
        }
    });
    let results = futures_util::future::join_all(tasks).await;
    let mut actions = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(a) => actions.push(a),
            Err(e) => errors.push(e),
        }
    }
    match errors.len() {
        0 => Ok(actions),
        1 => Err(errors.remove(0)),
        _ => Err(StackError::Several(errors)),
    }
}

#[allow(clippy::too_many_arguments)]
async fn bring_up(
    docker: &Docker,
    service: &ServicePlan,
    decision: &Decision,
    hash: &str,
    network_ids: &NetworkIds,
    receivers: &HashMap<&str, watch::Receiver<Readiness>>,
    tx: &watch::Sender<Readiness>,
    needs_health: bool,
    progress: &dyn Progress,
    options: &UpOptions,
) -> Result<Action, StackError> {
    let fail = |reason: String| StackError::Service { service: service.name.clone(), reason };
    for (dep, condition) in &service.depends_on {
        let mut rx = receivers[dep.as_str()].clone();
        let wanted = |r: &Readiness| match condition {
            Condition::ServiceStarted => matches!(r, Readiness::Started | Readiness::Healthy | Readiness::Failed),
            Condition::ServiceHealthy => matches!(r, Readiness::Healthy | Readiness::Failed),
        };
        let reached = rx.wait_for(wanted).await.map(|r| *r).unwrap_or(Readiness::Failed);
        if reached == Readiness::Failed && !service.optional_deps.contains(dep) {
            return Err(fail(format!("not started because {dep}, which it depends on, failed")));
        }
    }

    let name = service.name.as_str();
    let action = match decision {
        Decision::Keep { running: true, .. } => {
            progress.event(StackEvent::Service { service: name, phase: Phase::Kept });
            Action::Kept
        }
        Decision::Keep { id, running: false } => {
            progress.event(StackEvent::Service { service: name, phase: Phase::Starting });
            docker.start_container(id, None).await.map_err(|e| refused(service, "start the container", &e))?;
            Action::Started
        }
        Decision::Create | Decision::Recreate { .. } => {
            if let Decision::Recreate { old_id, reattach } = decision {
                let phase = if *reattach { Phase::Reattaching } else { Phase::Recreating };
                progress.event(StackEvent::Service { service: name, phase });
                let old = ContainerSummary { id: Some(old_id.clone()), labels: service.create.labels.clone(), ..Default::default() };
                remove_container(docker, &old).await?;
            } else {
                progress.event(StackEvent::Service { service: name, phase: Phase::Creating });
            }
            create_and_start(docker, service, hash, network_ids).await?;
            if matches!(decision, Decision::Create) { Action::Created } else { Action::Recreated }
        }
    };
    let _ = tx.send(Readiness::Started);
    if needs_health && service.has_healthcheck {
        progress.event(StackEvent::Service { service: name, phase: Phase::WaitingHealthy });
        wait_healthy(docker, &service.container, options.health_timeout).await.map_err(fail)?;
        let _ = tx.send(Readiness::Healthy);
    } else if needs_health {
        return Err(fail("a dependent waits for it to be healthy, but it has no healthcheck".into()));
    }
    progress.event(StackEvent::Service { service: name, phase: Phase::Running });
    Ok(action)
}

async fn create_and_start(docker: &Docker, service: &ServicePlan, hash: &str, network_ids: &NetworkIds) -> Result<(), StackError> {
    let mut body = service.create.clone();
    body.labels.get_or_insert_with(HashMap::new).insert(labels::CONFIG_HASH.into(), hash.to_owned());
    let options = CreateContainerOptionsBuilder::default().name(&service.container).build();
    let created = match docker.create_container(Some(options), body).await {
        Ok(c) => c,
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 409, .. }) => {
            let project = service.create.labels.as_ref().and_then(|l| l.get(labels::PROJECT)).cloned().unwrap_or_default();
            // The project's own label on it: another `up` of this project (from another
            // machine or user on this engine, which the lock does not reach) made it first.
            let owner = docker.inspect_container(&service.container, None).await.ok().and_then(|c| c.config?.labels?.get(labels::PROJECT).cloned());
            if owner.as_deref() == Some(project.as_str()) {
                let holder = format!("it created the container {} first, from another machine or user on this engine", service.container);
                return Err(StackError::Busy { project, holder, waited: None });
            }
            return Err(StackError::NameTaken { kind: "container", name: service.container.clone(), project });
        }
        Err(e) => return Err(refused(service, "create the container", &e)),
    };
    for (network, aliases) in &service.extra_networks {
        // By id: the one network lab keeps under that name.
        docker
            .connect_network(network_ids.get(network).unwrap_or(network), NetworkConnectRequest {
                container: created.id.clone(),
                endpoint_config: Some(EndpointSettings { aliases: Some(aliases.clone()), ..Default::default() }),
            })
            .await
            .map_err(|e| refused(service, &format!("join network {network}"), &e))?;
    }
    docker.start_container(&created.id, None).await.map_err(|e| refused(service, "start the container", &e))?;
    Ok(())
}

/// The engine's refusal of `service`, at the line of the stack file it is about.
fn refused(service: &ServicePlan, doing: &str, err: &bollard::errors::Error) -> StackError {
    StackError::Refused { service: service.name.clone(), error: Box::new(service.origin.locate(&service.name, doing, &engine_message(err))) }
}

/// Polls the container until its healthcheck says healthy; fails fast when it turns
/// unhealthy or the container stops.
async fn wait_healthy(docker: &Docker, container: &str, timeout: Duration) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let info = docker.inspect_container(container, None).await.map_err(|e| engine_message(&e))?;
        let state = info.state.unwrap_or_default();
        let health = state.health.unwrap_or_default();
        let last_output = || {
            health.log.as_ref().and_then(|l| l.last()).and_then(|r| r.output.clone()).map(|o| o.trim().to_owned()).unwrap_or_default()
        };
        match health.status {
            Some(HealthStatusEnum::HEALTHY) => return Ok(()),
            Some(HealthStatusEnum::UNHEALTHY) => return Err(format!("its healthcheck failed: {}", last_output())),
            _ => {}
        }
        if state.running == Some(false) {
            return Err(format!("the container stopped (exit code {}) before becoming healthy", state.exit_code.unwrap_or(-1)));
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("not healthy after {}s; last check said: {}", timeout.as_secs(), last_output()));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_hash_is_stable_and_sensitive() {
        let opts = super::super::plan::ProjectOptions {
            project: "p".into(),
            student: "s".into(),
            port_base: None,
            stack_dir: ".".into(),
            host: "localhost".into(),
            lab: None,
            workspace: None,
            env: HashMap::new(),
        };
        let text = "services:\n  a:\n    image: x\n    environment: {A: 1, B: 2, C: 3}\n    labels: {x: 1, y: 2, z: 3}\n";
        let p1 = super::super::plan::plan("s.yml", text, &opts).unwrap();
        let p2 = super::super::plan::plan("s.yml", text, &opts).unwrap();
        let hash = |p: &super::super::plan::Plan, image: &str| config_hash(&p.services[0], image, None);
        assert_eq!(hash(&p1, "img1"), hash(&p2, "img1"), "hash maps do not change the hash");
        assert_ne!(hash(&p1, "img1"), hash(&p1, "img2"), "a new image changes it");
        let p3 = super::super::plan::plan("s.yml", &text.replace("C: 3", "C: 4"), &opts).unwrap();
        assert_ne!(hash(&p1, "img1"), hash(&p3, "img1"));
        let built = |build_hash: &str| config_hash(&p1.services[0], "img1", Some(build_hash));
        assert_eq!(built("b1"), built("b1"));
        assert_ne!(built("b1"), built("b2"), "a new build hash changes it, even for the same image id");
        assert_ne!(built("b1"), hash(&p1, "img1"));
    }
}
