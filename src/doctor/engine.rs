//! Doctor's checks of the Docker engine itself: whether it answers (where, which version,
//! which API version was negotiated), its cgroup version and driver, whether it runs
//! privileged containers, and which of the stack's images it has.

use super::Check;
use crate::stack::engine::{docker_host, engine_message, is_not_found};
use crate::stack::plan::labels;
use crate::stack::{Engine, Plan, StackError};
use bollard::Docker;
use bollard::errors::Error as DockerError;
use bollard::models::{ContainerCreateBody, HostConfig, SystemInfo};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, ListImagesOptionsBuilder, RemoveContainerOptionsBuilder,
};
use std::collections::HashMap;
use std::time::Duration;

/// The project label on the containers doctor creates, so they can always be found.
pub const DOCTOR_PROJECT: &str = "lab-doctor";

/// How long the privileged probe may take before doctor gives up on it.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether the engine runs on this machine, so host ports and memory are the engine's.
pub fn is_local(host: &str) -> bool {
    host.starts_with("unix://") || host.starts_with("npipe://")
}

/// Which endpoint lab talks to, in words.
fn endpoint(host: &str) -> String {
    let from = if std::env::var("DOCKER_HOST").is_ok_and(|h| !h.is_empty()) { "DOCKER_HOST" } else { "the local socket" };
    format!("{host} ({from})")
}

/// Connects and adds the `docker` check; `None` when no engine answered.
pub async fn connect(checks: &mut Vec<Check>) -> Option<Engine> {
    match Engine::connect().await {
        Ok(engine) => {
            let docker = engine.docker();
            let negotiated = docker.client_version();
            let detail = match docker.version().await {
                Ok(v) => format!(
                    "Docker {} at {}, API {negotiated} negotiated (the engine speaks {}–{})",
                    v.version.unwrap_or_else(|| "?".into()),
                    endpoint(engine.host()),
                    v.min_api_version.unwrap_or_else(|| "?".into()),
                    v.api_version.unwrap_or_else(|| "?".into()),
                ),
                Err(e) => format!("an engine at {} answers (API {negotiated}) but not with its version: {}", endpoint(engine.host()), engine_message(&e)),
            };
            checks.push(Check::ok("docker", detail));
            Some(engine)
        }
        Err(StackError::Unreachable { host, reason }) => {
            checks.push(Check::problem(
                "docker",
                format!("cannot reach the Docker engine at {}: {reason}", endpoint(&host)),
                "start Docker (`sudo systemctl start docker`, or Docker Desktop), or point DOCKER_HOST at your engine",
            ));
            None
        }
        Err(other) => {
            checks.push(Check::problem("docker", format!("cannot use the Docker engine at {}: {other}", endpoint(&docker_host())), "check that DOCKER_HOST names a Docker engine"));
            None
        }
    }
}

/// The engine's cgroup version and driver.
pub fn cgroup_check(info: Result<&SystemInfo, &DockerError>) -> Check {
    let info = match info {
        Ok(info) => info,
        Err(e) => return Check::warning("cgroup", format!("the engine did not describe itself: {}", engine_message(e)), "run `docker info` to see what is wrong"),
    };
    let version = info.cgroup_version.map(|v| v.to_string()).filter(|v| !v.is_empty());
    let driver = info.cgroup_driver.map(|d| d.to_string()).filter(|d| !d.is_empty()).unwrap_or_else(|| "unknown".into());
    match version {
        Some(v) if driver == "none" => Check::warning(
            "cgroup",
            format!("cgroup v{v}, driver none: the engine cannot limit or account containers' resources"),
            "run the engine with cgroups (rootless Docker needs systemd and cgroup v2 for this)",
        ),
        // The default stack (mesos-mini) runs on both; the classic one needs v1 (lab README).
        Some(v) => Check::ok("cgroup", format!("cgroup v{v}, driver {driver}")),
        None => Check::warning(
            "cgroup",
            format!("the engine does not say its cgroup version (driver {driver}); it is probably older than Docker 20.10"),
            "use Docker 20.10 or newer",
        ),
    }
}

/// What happened when doctor tried a privileged container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Privileged {
    /// It started.
    Allowed {
        /// The image tried.
        image: String,
    },
    /// The engine refused: its message.
    Refused(String),
    /// No verdict: why.
    Unknown(String),
}

/// Tries a privileged container (if the engine has an image to try one with) and says
/// whether the stack can have what it asks for.
pub async fn privileged_check(docker: &Docker, plan: Option<&Plan>) -> Check {
    let needed_by: Vec<&str> = plan
        .map(|p| p.services.iter().filter(|s| s.create.host_config.as_ref().and_then(|h| h.privileged) == Some(true)).map(|s| s.name.as_str()).collect())
        .unwrap_or_default();
    remove_leftover_probes(docker).await;
    let name = format!("{DOCTOR_PROJECT}-privileged-{}", std::process::id());
    let outcome = match tokio::time::timeout(PROBE_TIMEOUT, probe_privileged(docker, &name)).await {
        Ok(outcome) => outcome,
        Err(_) => Privileged::Unknown(format!("the engine did not finish the probe within {}s", PROBE_TIMEOUT.as_secs())),
    };
    // Also when the probe was cut short between creating and removing its container.
    let _ = docker.remove_container(&name, Some(RemoveContainerOptionsBuilder::default().force(true).v(true).build())).await;
    privileged_verdict(&outcome, &needed_by, plan.is_some())
}

/// The check for a probe's outcome, given which services need privileged.
pub fn privileged_verdict(outcome: &Privileged, needed_by: &[&str], have_stack: bool) -> Check {
    const NAME: &str = "privileged containers";
    match outcome {
        Privileged::Allowed { image } => Check::ok(NAME, format!("allowed (a privileged container from {image} started)")),
        Privileged::Refused(reason) if !needed_by.is_empty() => Check::problem(
            NAME,
            format!("refused by the engine: {reason}"),
            format!(
                "the stack's {} service needs a privileged container (the Mesos box runs its own Docker daemon): use a Docker engine that allows privileged containers (rootful Docker), or Kubernetes",
                needed_by.join(", ")
            ),
        ),
        Privileged::Refused(reason) if have_stack => Check::warning(NAME, format!("refused by the engine: {reason}"), "this stack does not need them; other labs may"),
        Privileged::Refused(reason) => Check::warning(
            NAME,
            format!("refused by the engine: {reason}"),
            "the course's Mesos box needs them: use a Docker engine that allows privileged containers (rootful Docker), or Kubernetes",
        ),
        Privileged::Unknown(why) => Check::warning(NAME, format!("could not be checked: {why}"), "run `lab pull` (or `docker pull busybox`), then `lab doctor` again"),
    }
}

/// Creates and starts one privileged container (no network, the image's own command) from
/// the smallest image on the engine that has a command, then removes it.
async fn probe_privileged(docker: &Docker, name: &str) -> Privileged {
    let Some(image) = probe_image(docker).await else {
        return Privileged::Unknown("the engine has no image to try one with".into());
    };
    let body = ContainerCreateBody {
        image: Some(image.clone()),
        labels: Some(HashMap::from([(labels::PROJECT.to_owned(), DOCTOR_PROJECT.to_owned()), (labels::SERVICE.to_owned(), "privileged-probe".to_owned())])),
        host_config: Some(HostConfig { privileged: Some(true), network_mode: Some("none".into()), ..Default::default() }),
        ..Default::default()
    };
    let created = match docker.create_container(Some(CreateContainerOptionsBuilder::default().name(name).build()), body).await {
        Ok(c) => c,
        Err(e) => return classify(engine_message(&e), true),
    };
    let started = docker.start_container(&created.id, None).await;
    let _ = docker.remove_container(&created.id, Some(RemoveContainerOptionsBuilder::default().force(true).v(true).build())).await;
    match started {
        Ok(()) => Privileged::Allowed { image },
        Err(e) => classify(engine_message(&e), false),
    }
}

/// A refusal, or a failure that says nothing about privileged containers.
fn classify(message: String, at_create: bool) -> Privileged {
    let m = message.to_ascii_lowercase();
    let unrelated = ["no such image", "no such container", "executable file not found", "no command specified", "conflict"].iter().any(|w| m.contains(w));
    if unrelated || at_create && !m.contains("privileged") {
        Privileged::Unknown(format!("the probe container failed for another reason: {message}"))
    } else {
        Privileged::Refused(message)
    }
}

/// The smallest tagged image whose configuration has a command to run.
async fn probe_image(docker: &Docker) -> Option<String> {
    let mut images = docker.list_images(Some(ListImagesOptionsBuilder::default().build())).await.ok()?;
    images.sort_by_key(|i| i.size);
    for summary in images.iter().take(5) {
        let Some(tag) = summary.repo_tags.iter().find(|t| !t.contains("<none>")) else { continue };
        let Ok(found) = docker.inspect_image(tag).await else { continue };
        let config = found.config.unwrap_or_default();
        if config.cmd.is_some_and(|c| !c.is_empty()) || config.entrypoint.is_some_and(|e| !e.is_empty()) {
            return Some(tag.clone());
        }
    }
    None
}

/// Removes probe containers an interrupted doctor left behind. Only old ones: a younger one
/// may be another doctor's probe, running right now.
async fn remove_leftover_probes(docker: &Docker) {
    let filter = crate::stack::engine::project_filter(DOCTOR_PROJECT);
    let Ok(list) = docker.list_containers(Some(ListContainersOptionsBuilder::default().all(true).filters(&filter).build())).await else { return };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    for c in list {
        let old = c.created.is_some_and(|t| now - t > 2 * PROBE_TIMEOUT.as_secs() as i64);
        if let (true, Some(id)) = (old, c.id) {
            let _ = docker.remove_container(&id, Some(RemoveContainerOptionsBuilder::default().force(true).v(true).build())).await;
        }
    }
}

/// One check per image the stack names: present, or missing with how to get it.
pub async fn image_checks(docker: &Docker, plan: &Plan) -> Vec<Check> {
    let wanted = crate::stack::images::pulled_images(plan);
    let lookups = wanted.iter().map(|(image, services)| async move {
        let name = format!("image {image}");
        match docker.inspect_image(image).await {
            Ok(found) => {
                let size = found.size.and_then(|s| u64::try_from(s).ok()).map_or_else(String::new, |s| format!(", {}", super::host::format_bytes(s)));
                Check::ok(name, format!("present{size}"))
            }
            Err(e) if is_not_found(&e) => Check::warning(
                name,
                format!("missing (needed by {}); `lab up` pulls it, which needs a registry", services.join(", ")),
                "run `lab pull` now while online; offline, `lab pull` and `docker save` it on a connected machine, then `docker load` it here",
            ),
            Err(e) => Check::warning(name, format!("could not be looked up: {}", engine_message(&e)), "run `docker image inspect` on it to see what is wrong"),
        }
    });
    futures_util::future::join_all(lookups).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_privileged_container_is_a_problem_only_when_the_stack_needs_one() {
        let refused = Privileged::Refused("unable to apply caps: operation not permitted".into());
        let check = privileged_verdict(&refused, &["box"], true);
        assert_eq!(check.status, super::super::Status::Problem);
        assert!(check.detail.contains("unable to apply caps"), "{check:?}");
        let fix = check.fix.unwrap_or_default();
        assert!(fix.contains("box service") && fix.contains("rootful Docker") && fix.contains("Kubernetes"), "{fix}");
        assert_eq!(privileged_verdict(&refused, &[], true).status, super::super::Status::Warning);
        assert_eq!(privileged_verdict(&refused, &[], false).status, super::super::Status::Warning);
        let allowed = privileged_verdict(&Privileged::Allowed { image: "busybox:1".into() }, &["box"], true);
        assert_eq!((allowed.status, allowed.fix), (super::super::Status::Ok, None));
        let unknown = privileged_verdict(&Privileged::Unknown("the engine has no image to try one with".into()), &["box"], true);
        assert_eq!(unknown.status, super::super::Status::Warning);
        assert!(unknown.detail.starts_with("could not be checked"), "{unknown:?}");
    }

    #[test]
    fn probe_failures_unrelated_to_privileges_give_no_verdict() {
        let runc = "failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: unable to apply caps: operation not permitted: unknown";
        assert_eq!(classify(runc.into(), false), Privileged::Refused(runc.into()));
        assert!(matches!(classify("exec: \"sh\": executable file not found in $PATH".into(), false), Privileged::Unknown(_)));
        assert!(matches!(classify("No such image: x:1".into(), true), Privileged::Unknown(_)));
        assert!(matches!(classify("authorization denied by plugin: privileged containers are not allowed".into(), true), Privileged::Refused(_)));
    }

    #[test]
    fn local_engines_are_the_socket_ones() {
        assert!(is_local("unix:///var/run/docker.sock"));
        assert!(!is_local("tcp://10.0.0.5:2376"));
    }
}
