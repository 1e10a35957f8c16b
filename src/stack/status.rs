//! What a project looks like on the engine right now, read from container labels and
//! inspection alone, so it works from a fresh shell and after lab restarts. Also the logs
//! of one service.

use super::engine::{Engine, StackError, project_filter};
use super::plan::labels;
use super::up::existing_containers;
use bollard::query_parameters::{InspectContainerOptions, ListContainersOptionsBuilder, LogsOptionsBuilder};
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A project's state.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProjectStatus {
    /// Project name.
    pub project: String,
    /// Student, from labels.
    pub student: Option<String>,
    /// Lab id, from labels.
    pub lab: Option<String>,
    /// Services, sorted by name.
    pub services: Vec<ServiceStatus>,
    /// Named host ports.
    pub ports: BTreeMap<String, u16>,
    /// Endpoints for later stages.
    pub endpoints: BTreeMap<String, String>,
    /// Links for the student, in file order.
    pub links: Vec<(String, String)>,
}

/// One service's container.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServiceStatus {
    /// Service name.
    pub service: String,
    /// Container name.
    pub container: String,
    /// Image reference.
    pub image: String,
    /// `running`, `exited`, `created`, …
    pub state: String,
    /// `healthy`, `unhealthy`, `starting`, or `None` without a healthcheck.
    pub health: Option<String>,
    /// Published ports.
    pub ports: Vec<PortStatus>,
    /// What is wrong beyond its state, and what to do: a service sharing the network of a
    /// container that was replaced or restarted after it joined.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// One published port.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortStatus {
    /// Host address.
    pub host_ip: String,
    /// Host port.
    pub host_port: u16,
    /// Container port.
    pub container_port: u16,
    /// Protocol.
    pub protocol: String,
}

impl ProjectStatus {
    /// Whether any container of the project exists.
    pub fn exists(&self) -> bool {
        !self.services.is_empty()
    }

    /// Whether every service is running (and healthy where it has a healthcheck), with no
    /// problem to report.
    pub fn all_running(&self) -> bool {
        self.exists() && self.services.iter().all(|s| s.state == "running" && s.health.as_deref().is_none_or(|h| h == "healthy") && s.problem.is_none())
    }
}

/// Reads the state of `project`.
pub async fn status(engine: &Engine, project: &str) -> Result<ProjectStatus, StackError> {
    let docker = engine.docker();
    let containers = existing_containers(docker, project).await?;
    let mut sharers = super::sharing::sharers(docker, &containers).await;
    let mut out = ProjectStatus {
        project: project.to_owned(),
        student: None,
        lab: None,
        services: Vec::new(),
        ports: BTreeMap::new(),
        endpoints: BTreeMap::new(),
        links: Vec::new(),
    };
    for (service, summary) in containers {
        let Some(id) = summary.id.as_deref() else { continue };
        let labels = summary.labels.clone().unwrap_or_default();
        if out.student.is_none() {
            out.student = labels.get(labels::STUDENT).cloned();
            out.lab = labels.get(labels::LAB).cloned();
            out.ports = labels.get(labels::PORTS).and_then(|j| serde_json::from_str::<BTreeMap<String, String>>(j).ok()).map(|m| m.into_iter().filter_map(|(k, v)| Some((k, v.parse().ok()?))).collect()).unwrap_or_default();
            out.endpoints = labels.get(labels::ENDPOINTS).and_then(|j| serde_json::from_str(j).ok()).unwrap_or_default();
            out.links = labels.get(labels::LINKS).and_then(|j| serde_json::from_str(j).ok()).unwrap_or_default();
        }
        // The summary has no health on older engines; inspection always does.
        let inspected = docker.inspect_container(id, None::<InspectContainerOptions>).await.ok();
        let state = inspected.as_ref().and_then(|i| i.state.as_ref());
        let health = state.and_then(|s| s.health.as_ref()).and_then(|h| h.status).map(|h| h.to_string()).filter(|h| !h.is_empty() && h != "none");
        let ports: BTreeSet<PortStatus> = summary
            .ports
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| {
                Some(PortStatus {
                    host_ip: p.ip.unwrap_or_default(),
                    host_port: p.public_port?,
                    container_port: p.private_port,
                    protocol: p.typ.map(|t| t.to_string()).unwrap_or_else(|| "tcp".into()),
                })
            })
            .collect();
        // Engines list a binding once per address family (0.0.0.0 and ::); show it once.
        let mut seen = BTreeSet::new();
        let ports: Vec<PortStatus> = ports.into_iter().filter(|p| seen.insert((p.host_port, p.container_port, p.protocol.clone()))).collect();
        let problem = sharers.remove(&service).and_then(|s| {
            let target = s.target.map_or_else(|| "another container".to_owned(), |t| format!("`{t}`"));
            s.attachment.problem(&service, &target)
        });
        out.services.push(ServiceStatus {
            problem,
            service,
            container: summary.names.and_then(|n| n.first().cloned()).unwrap_or_default().trim_start_matches('/').to_owned(),
            image: summary.image.unwrap_or_default(),
            state: summary.state.map(|s| s.to_string()).unwrap_or_else(|| "unknown".into()),
            health,
            ports,
        });
    }
    out.services.sort_by(|a, b| a.service.cmp(&b.service));
    Ok(out)
}

/// The environment each running container of `project` was started with, by service
/// (`lab secrets encrypt` reads the keys of the stack's secretary from it).
pub async fn environments(engine: &Engine, project: &str) -> Result<Vec<(String, Vec<String>)>, StackError> {
    let docker = engine.docker();
    let mut out = Vec::new();
    for (service, summary) in existing_containers(docker, project).await? {
        let running = summary.state.as_ref().is_some_and(|s| s.to_string() == "running");
        let Some(id) = summary.id.as_deref().filter(|_| running) else { continue };
        let inspected = docker.inspect_container(id, None::<InspectContainerOptions>).await?;
        out.push((service, inspected.config.and_then(|c| c.env).unwrap_or_default()));
    }
    out.sort();
    Ok(out)
}

/// The log stream of one service's container (`follow` keeps it open).
pub async fn logs(
    engine: &Engine,
    project: &str,
    service: &str,
    follow: bool,
) -> Result<impl Stream<Item = Result<String, StackError>> + use<>, StackError> {
    logs_from(engine, project, service, follow, None).await
}

/// The last `lines` lines of every service's log, by service name.
pub async fn log_tails(engine: &Engine, project: &str, lines: usize) -> Result<Vec<(String, Vec<String>)>, StackError> {
    let list = engine
        .docker()
        .list_containers(Some(ListContainersOptionsBuilder::default().all(true).filters(&project_filter(project)).build()))
        .await?;
    let mut services: Vec<String> = list.iter().filter_map(|c| c.labels.as_ref()?.get(labels::SERVICE).cloned()).collect();
    services.sort();
    services.dedup();
    let mut out = Vec::new();
    for service in services {
        let tail = log_tail(engine, project, &service, lines).await?;
        out.push((service, tail));
    }
    Ok(out)
}

/// The last `lines` lines of one service's log. The engine cuts the log (`tail`), so a
/// long-running Marathon's megabytes of log are never read to show twenty lines.
pub async fn log_tail(engine: &Engine, project: &str, service: &str, lines: usize) -> Result<Vec<String>, StackError> {
    let stream = logs_from(engine, project, service, false, Some(lines)).await?;
    let chunks: Vec<String> = stream.filter_map(|l| async move { l.ok() }).collect().await;
    let text = chunks.concat();
    let all: Vec<&str> = text.lines().collect();
    Ok(all[all.len().saturating_sub(lines)..].iter().map(|l| (*l).to_owned()).collect())
}

async fn logs_from(
    engine: &Engine,
    project: &str,
    service: &str,
    follow: bool,
    tail: Option<usize>,
) -> Result<impl Stream<Item = Result<String, StackError>> + use<>, StackError> {
    let docker = engine.docker().clone();
    let list = docker
        .list_containers(Some(ListContainersOptionsBuilder::default().all(true).filters(&project_filter(project)).build()))
        .await?;
    let known: Vec<String> = list.iter().filter_map(|c| c.labels.as_ref()?.get(labels::SERVICE).cloned()).collect();
    let Some(id) = list.iter().find(|c| c.labels.as_ref().and_then(|l| l.get(labels::SERVICE)).is_some_and(|s| s == service)).and_then(|c| c.id.clone())
    else {
        return Err(StackError::UnknownService {
            project: project.to_owned(),
            service: service.to_owned(),
            known: if known.is_empty() { "no services; is the stack up?".into() } else { known.join(", ") },
        });
    };
    let tail = tail.map_or_else(|| "all".to_owned(), |n| n.to_string());
    let options = LogsOptionsBuilder::default().stdout(true).stderr(true).follow(follow).tail(&tail).build();
    Ok(docker.logs(&id, Some(options)).map(|item| item.map(|out| out.to_string()).map_err(StackError::from)))
}
