//! `down`: removes everything labelled for a project — containers first (gracefully), then
//! networks, and volumes only when asked. Works from a fresh shell; safe to repeat. `stop`
//! only stops the containers (the classroom's Stop button), so `up` resumes them.

use super::engine::{Engine, StackError, is_not_found, project_filter};
use super::lock::LockWait;
use super::progress::{Phase, Progress, StackEvent};
use super::up::{existing_containers, remove_container};
use bollard::query_parameters::{ListNetworksOptionsBuilder, ListVolumesOptionsBuilder, RemoveVolumeOptionsBuilder};

/// What `down` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DownReport {
    /// Services whose containers were removed.
    pub containers: Vec<String>,
    /// Networks removed.
    pub networks: Vec<String>,
    /// Volumes removed.
    pub volumes: Vec<String>,
}

/// Removes `project`'s containers and networks (and volumes if `volumes`); stops at once
/// when another `up` or `down` of the project is running.
pub async fn down(engine: &Engine, project: &str, volumes: bool, progress: &dyn Progress) -> Result<DownReport, StackError> {
    down_waiting(engine, project, volumes, progress, LockWait::FailFast).await
}

/// [`down`], waiting for another `up` or `down` of the project as `wait` says.
pub async fn down_waiting(engine: &Engine, project: &str, volumes: bool, progress: &dyn Progress, wait: LockWait) -> Result<DownReport, StackError> {
    let waiting = |holder: &str| progress.event(StackEvent::WaitingForLock { project, holder });
    let _lock = super::lock::acquire(&super::lock::lock_dir(), engine.host(), project, "down", wait, &waiting).await?;
    let docker = engine.docker();
    let mut report = DownReport::default();
    let containers = existing_containers(docker, project).await?;
    // All at once: the engine lets a container that shares another's network namespace
    // outlive it for the moment both are being stopped, and each stop may wait out its
    // grace period, so doing them in turn would only add those waits up.
    let removals = containers.iter().map(|(service, container)| async move {
        progress.event(StackEvent::Service { service, phase: Phase::Removing });
        remove_container(docker, container).await?;
        progress.event(StackEvent::Service { service, phase: Phase::Removed });
        Ok::<_, StackError>(service.clone())
    });
    for r in futures_util::future::join_all(removals).await {
        report.containers.push(r?);
    }
    report.containers.sort();

    let networks = docker.list_networks(Some(ListNetworksOptionsBuilder::default().filters(&project_filter(project)).build())).await?;
    for net in networks {
        let name = net.name.unwrap_or_default();
        match docker.remove_network(net.id.as_deref().unwrap_or(&name)).await {
            Ok(()) => report.networks.push(name),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if volumes {
        let listed = docker.list_volumes(Some(ListVolumesOptionsBuilder::default().filters(&project_filter(project)).build())).await?;
        for vol in listed.volumes.unwrap_or_default() {
            match docker.remove_volume(&vol.name, Some(RemoveVolumeOptionsBuilder::default().force(true).build())).await {
                Ok(()) => report.volumes.push(vol.name),
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(report)
}

/// Stops `project`'s running containers and keeps everything (a later `up` starts them
/// again). Returns the services stopped.
pub async fn stop(engine: &Engine, project: &str) -> Result<Vec<String>, StackError> {
    use bollard::query_parameters::StopContainerOptionsBuilder;
    let docker = engine.docker();
    let containers = existing_containers(docker, project).await?;
    let stops = containers.iter().filter(|(_, c)| c.state.as_ref().is_some_and(|s| s.to_string() == "running")).map(|(service, container)| async move {
        let Some(id) = container.id.as_deref() else { return Ok::<_, StackError>(None) };
        let grace = container.labels.as_ref().and_then(|l| l.get(super::plan::labels::STOP_GRACE)).and_then(|g| g.parse::<i32>().ok()).unwrap_or(10);
        match docker.stop_container(id, Some(StopContainerOptionsBuilder::default().t(grace).build())).await {
            Ok(()) => Ok(Some(service.clone())),
            Err(e) if is_not_found(&e) => Ok(None),
            // 304: already stopped.
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 304, .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    });
    let mut stopped = Vec::new();
    for r in futures_util::future::join_all(stops).await {
        stopped.extend(r?);
    }
    stopped.sort();
    Ok(stopped)
}
