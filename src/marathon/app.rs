//! The Marathon app model: the JSON exactly as Marathon returned it (so nothing a user wrote
//! is lost on a round trip), plus one normalized view over both networking shapes —
//! Marathon ≤1.4 (`container.docker.network`, `container.docker.portMappings`, `ports`) and
//! ≥1.5 (`networks`, `container.portMappings`, `portDefinitions`).

use serde::Serialize;
use serde_json::Value;

/// How an app's tasks are networked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum NetworkMode {
    /// The agent's own network (Marathon's default).
    Host,
    /// Docker's bridge with port mappings.
    Bridge,
    /// A user or container network.
    User,
    /// No network.
    None,
}

impl std::fmt::Display for NetworkMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NetworkMode::Host => "HOST",
            NetworkMode::Bridge => "BRIDGE",
            NetworkMode::User => "USER",
            NetworkMode::None => "NONE",
        })
    }
}

/// A container → host → service port mapping (BRIDGE/USER networking).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortMapping {
    /// Port inside the container.
    pub container_port: u16,
    /// Port on the agent (0 = assigned by Mesos).
    pub host_port: u16,
    /// Port the gateway listens on (0 = assigned by Marathon).
    pub service_port: u16,
    /// `tcp`, `udp` or `udp,tcp` (lowercase, as Marathon wrote it).
    pub protocol: String,
}

impl PortMapping {
    /// Whether the mapping carries `protocol` (`udp,tcp` carries both).
    pub fn carries(&self, protocol: &str) -> bool {
        self.protocol.split(',').any(|p| p.trim().eq_ignore_ascii_case(protocol))
    }
}

/// An image name as Docker resolves it: Docker Hub's spellings (`docker.io/`,
/// `index.docker.io/`, `registry-1.docker.io/`) dropped, and `library/` added to an
/// official image, so `nginx`, `library/nginx` and `docker.io/library/nginx` compare equal.
/// The tag or digest is kept as written.
pub fn canonical_image(image: &str) -> String {
    let mut rest = image.trim();
    for hub in ["docker.io/", "index.docker.io/", "registry-1.docker.io/"] {
        if let Some(stripped) = rest.strip_prefix(hub) {
            rest = stripped;
            break;
        }
    }
    let first = rest.split('/').next().unwrap_or_default();
    let has_registry = rest.contains('/') && (first.contains(['.', ':']) || first == "localhost");
    if has_registry || rest.contains('/') { rest.to_owned() } else { format!("library/{rest}") }
}

/// An HTTP/TCP/command health check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthCheck {
    /// `HTTP`, `MESOS_HTTP`, `TCP`, ... (uppercase).
    pub protocol: String,
    /// HTTP path (Marathon's default `/` when absent).
    pub path: Option<String>,
    /// Which port it probes.
    pub port_index: u32,
}

/// Task counts Marathon reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TaskCounts {
    /// Staged, not yet running.
    pub staged: u64,
    /// Running.
    pub running: u64,
    /// Running with every health check passing.
    pub healthy: u64,
    /// With a failing health check.
    pub unhealthy: u64,
}

/// One task (running instance) of an app.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    /// Task id.
    pub id: String,
    /// The app it belongs to.
    pub app_id: String,
    /// The agent's host name.
    pub host: String,
    /// Host ports, in port-index order.
    pub ports: Vec<u16>,
    /// Service ports, in port-index order.
    pub service_ports: Vec<u16>,
    /// `TASK_RUNNING`, `TASK_STAGING`, ...
    pub state: String,
    /// Alive flag of each health check result.
    pub health: Vec<bool>,
    /// When a health check result is not alive: Marathon's `lastFailureCause` for it (""
    /// when it gives none, as for checks Mesos runs).
    pub health_failure: Option<String>,
}

impl Task {
    /// Reads a task object.
    pub fn from_json(v: &Value) -> Task {
        let ports = |key: &str| v.get(key).and_then(Value::as_array).map(|a| a.iter().filter_map(|p| p.as_u64().and_then(|p| u16::try_from(p).ok())).collect()).unwrap_or_default();
        Task {
            id: str_of(v, "id"),
            app_id: str_of(v, "appId"),
            host: str_of(v, "host"),
            ports: ports("ports"),
            service_ports: ports("servicePorts"),
            state: match v.get("state").and_then(Value::as_str) {
                Some(state) => state.to_owned(),
                // Marathon ≤ 1.2 wrote no state (and ≤ 1.3 none before Mesos reported one): a
                // task is running once it has started, staging until then.
                None if v.get("startedAt").is_some_and(|s| s.as_str().is_some_and(|s| !s.is_empty())) => "TASK_RUNNING".to_owned(),
                None => "TASK_STAGING".to_owned(),
            },
            health: v
                .get("healthCheckResults")
                .and_then(Value::as_array)
                .map(|r| r.iter().map(|h| h.get("alive").and_then(Value::as_bool).unwrap_or(false)).collect())
                .unwrap_or_default(),
            health_failure: v
                .get("healthCheckResults")
                .and_then(Value::as_array)
                .and_then(|r| r.iter().find(|h| !h.get("alive").and_then(Value::as_bool).unwrap_or(false)))
                .map(|h| h.get("lastFailureCause").and_then(Value::as_str).unwrap_or_default().to_owned()),
        }
    }

    /// Healthy as Marathon counts it: at least one result, all alive.
    pub fn is_healthy(&self) -> bool {
        !self.health.is_empty() && self.health.iter().all(|h| *h)
    }

    /// Running (not staged, not being killed). A task without a state counts once started.
    pub fn is_running(&self) -> bool {
        self.state == "TASK_RUNNING"
    }
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// An app's `lastTaskFailure`: the last task of the app that ended badly, in Marathon's
/// and Mesos's words (an image that cannot be pulled, a command that exits).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskFailure {
    /// The failed task.
    pub task_id: String,
    /// Why it ended, as Mesos reported it.
    pub message: String,
    /// Its last state (`TASK_FAILED`, `TASK_KILLED`, ...).
    pub state: Option<String>,
    /// When it failed.
    pub timestamp: String,
    /// The app version the task ran, when Marathon names it.
    pub version: Option<String>,
}

impl TaskFailure {
    /// Reads a `lastTaskFailure` object.
    pub fn from_json(v: &Value) -> Option<TaskFailure> {
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        v.is_object().then(|| TaskFailure {
            task_id: text("taskId").unwrap_or_default(),
            message: text("message").unwrap_or_default(),
            state: text("state"),
            timestamp: text("timestamp").unwrap_or_default(),
            version: text("version"),
        })
    }

    /// Whether the failed task ran `version` (a failure that names no version may have).
    pub fn of_version(&self, version: Option<&str>) -> bool {
        match (self.version.as_deref(), version) {
            (Some(failed), Some(current)) => failed == current,
            _ => true,
        }
    }
}

/// An app as Marathon returned it.
#[derive(Debug, Clone, PartialEq)]
pub struct App {
    raw: Value,
}

impl App {
    /// Wraps an app object.
    pub fn new(raw: Value) -> App {
        App { raw }
    }

    /// The JSON exactly as received.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// Unwraps the JSON.
    pub fn into_raw(self) -> Value {
        self.raw
    }

    /// The app id.
    pub fn id(&self) -> &str {
        self.raw.get("id").and_then(Value::as_str).unwrap_or_default()
    }

    /// The app's current version.
    pub fn version(&self) -> Option<&str> {
        self.raw.get("version").and_then(Value::as_str)
    }

    /// The app's `lastTaskFailure`, if a task has failed.
    pub fn last_task_failure(&self) -> Option<TaskFailure> {
        self.raw.get("lastTaskFailure").and_then(TaskFailure::from_json)
    }

    /// Desired instance count.
    pub fn instances(&self) -> u64 {
        self.raw.get("instances").and_then(Value::as_u64).unwrap_or(1)
    }

    /// Docker image, if it is a Docker app.
    pub fn image(&self) -> Option<&str> {
        self.raw.pointer("/container/docker/image").and_then(Value::as_str)
    }

    /// A label's value.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.raw.get("labels").and_then(|l| l.get(key)).and_then(Value::as_str)
    }

    /// Network mode from either shape; HOST when nothing says otherwise (Marathon's default).
    pub fn network_mode(&self) -> NetworkMode {
        if let Some(mode) = self.raw.pointer("/container/docker/network").and_then(Value::as_str) {
            return match mode.to_ascii_uppercase().as_str() {
                "BRIDGE" => NetworkMode::Bridge,
                "USER" => NetworkMode::User,
                "NONE" => NetworkMode::None,
                _ => NetworkMode::Host,
            };
        }
        match self.raw.pointer("/networks/0/mode").and_then(Value::as_str) {
            Some("container/bridge") => NetworkMode::Bridge,
            Some("container") => NetworkMode::User,
            _ => NetworkMode::Host,
        }
    }

    /// Port mappings from either shape.
    pub fn port_mappings(&self) -> Vec<PortMapping> {
        let list = self.raw.pointer("/container/docker/portMappings").or_else(|| self.raw.pointer("/container/portMappings"));
        list.and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|m| {
                        let port = |k: &str| m.get(k).and_then(Value::as_u64).and_then(|p| u16::try_from(p).ok()).unwrap_or(0);
                        PortMapping {
                            container_port: port("containerPort"),
                            host_port: port("hostPort"),
                            service_port: port("servicePort"),
                            protocol: m.get("protocol").and_then(Value::as_str).unwrap_or("tcp").to_ascii_lowercase(),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Service ports of HOST networking (`portDefinitions` or the old `ports`).
    pub fn port_definitions(&self) -> Vec<u16> {
        if let Some(defs) = self.raw.get("portDefinitions").and_then(Value::as_array) {
            return defs.iter().filter_map(|d| d.get("port").and_then(Value::as_u64).and_then(|p| u16::try_from(p).ok())).collect();
        }
        self.raw.get("ports").and_then(Value::as_array).map(|p| p.iter().filter_map(|p| p.as_u64().and_then(|p| u16::try_from(p).ok())).collect()).unwrap_or_default()
    }

    /// All service ports, whichever networking the app uses.
    pub fn service_ports(&self) -> Vec<u16> {
        match self.network_mode() {
            NetworkMode::Host => self.port_definitions(),
            _ => self.port_mappings().into_iter().map(|m| m.service_port).collect(),
        }
    }

    /// Health checks.
    pub fn health_checks(&self) -> Vec<HealthCheck> {
        self.raw
            .get("healthChecks")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|h| HealthCheck {
                        protocol: h.get("protocol").and_then(Value::as_str).unwrap_or("HTTP").to_ascii_uppercase(),
                        path: h.get("path").and_then(Value::as_str).map(str::to_owned),
                        port_index: h.get("portIndex").and_then(Value::as_u64).and_then(|i| u32::try_from(i).ok()).unwrap_or(0),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Task counts.
    pub fn counts(&self) -> TaskCounts {
        let n = |k: &str| self.raw.get(k).and_then(Value::as_u64).unwrap_or(0);
        TaskCounts { staged: n("tasksStaged"), running: n("tasksRunning"), healthy: n("tasksHealthy"), unhealthy: n("tasksUnhealthy") }
    }

    /// Tasks (present when embedded).
    pub fn tasks(&self) -> Vec<Task> {
        self.raw.get("tasks").and_then(Value::as_array).map(|t| t.iter().map(Task::from_json).collect()).unwrap_or_default()
    }

    /// Running tasks: counted from the embedded tasks when there are any (their states are
    /// current), else Marathon's count.
    pub fn running(&self) -> u64 {
        let tasks = self.tasks();
        if tasks.is_empty() { self.counts().running } else { tasks.iter().filter(|t| t.is_running()).count() as u64 }
    }

    /// Ids of deployments touching the app.
    pub fn deployments(&self) -> Vec<String> {
        self.raw
            .get("deployments")
            .and_then(Value::as_array)
            .map(|d| d.iter().filter_map(|d| d.get("id").and_then(Value::as_str).map(str::to_owned)).collect())
            .unwrap_or_default()
    }
}

/// A deployment in `/v2/deployments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deployment {
    /// Deployment id.
    pub id: String,
    /// App ids it touches.
    pub affected_apps: Vec<String>,
}

impl Deployment {
    /// Reads a deployment object.
    pub fn from_json(v: &Value) -> Deployment {
        Deployment {
            id: str_of(v, "id"),
            affected_apps: v.get("affectedApps").and_then(Value::as_array).map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn old_shape() -> Value {
        json!({
            "id": "/demo/wolf3d", "instances": 2, "unknownField": {"kept": true},
            "container": {"type": "DOCKER", "docker": {"image": "srenkens/wolfenstein3d:latest", "network": "BRIDGE",
                "portMappings": [{"containerPort": 80, "hostPort": 0, "servicePort": 8888, "protocol": "tcp"}]}},
            "ports": [8888],
            "healthChecks": [{"protocol": "HTTP", "path": "/", "portIndex": 0}],
            "tasksStaged": 0, "tasksRunning": 2, "tasksHealthy": 2, "tasksUnhealthy": 0,
            "deployments": [],
            "tasks": [{"id": "t1", "appId": "/demo/wolf3d", "host": "localhost", "ports": [31005], "servicePorts": [8888], "state": "TASK_RUNNING",
                "healthCheckResults": [{"alive": true}]}]
        })
    }

    fn new_shape() -> Value {
        json!({
            "id": "/demo/wolf3d", "instances": 2,
            "networks": [{"mode": "container/bridge"}],
            "container": {"type": "DOCKER", "docker": {"image": "srenkens/wolfenstein3d:latest"},
                "portMappings": [{"containerPort": 80, "hostPort": 0, "servicePort": 8888, "protocol": "tcp", "labels": {}}]},
            "portDefinitions": [],
            "healthChecks": [{"protocol": "MESOS_HTTP", "path": "/", "portIndex": 0}],
            "deployments": [{"id": "d-1"}]
        })
    }

    #[test]
    fn both_network_shapes_read_the_same() {
        for raw in [old_shape(), new_shape()] {
            let app = App::new(raw);
            assert_eq!(app.network_mode(), NetworkMode::Bridge);
            let m = &app.port_mappings()[0];
            assert_eq!((m.container_port, m.service_port, m.protocol.as_str()), (80, 8888, "tcp"));
            assert_eq!(app.service_ports(), vec![8888]);
            assert_eq!(app.image(), Some("srenkens/wolfenstein3d:latest"));
            assert_eq!(app.health_checks()[0].path.as_deref(), Some("/"));
        }
    }

    #[test]
    fn host_networking_in_both_shapes() {
        let old = App::new(json!({"id": "/a", "container": {"docker": {"network": "HOST"}}, "ports": [1234]}));
        let new = App::new(json!({"id": "/a", "networks": [{"mode": "host"}], "portDefinitions": [{"port": 1234, "protocol": "tcp"}]}));
        let bare = App::new(json!({"id": "/a"}));
        for app in [old, new, bare] {
            assert_eq!(app.network_mode(), NetworkMode::Host);
        }
        assert_eq!(App::new(json!({"portDefinitions": [{"port": 1234}]})).service_ports(), vec![1234]);
    }

    #[test]
    fn counts_tasks_and_deployments() {
        let app = App::new(old_shape());
        assert_eq!(app.counts(), TaskCounts { staged: 0, running: 2, healthy: 2, unhealthy: 0 });
        let t = &app.tasks()[0];
        assert!(t.is_healthy() && t.is_running());
        assert_eq!(t.health_failure, None);
        let failing = Task::from_json(&json!({"healthCheckResults": [{"alive": true}, {"alive": false, "consecutiveFailures": 3, "lastFailureCause": "404 Not Found"}]}));
        assert_eq!(failing.health_failure.as_deref(), Some("404 Not Found"));
        let silent = Task::from_json(&json!({"healthCheckResults": [{"alive": false}]}));
        assert_eq!(silent.health_failure.as_deref(), Some(""));
        assert_eq!((t.ports.clone(), t.service_ports.clone()), (vec![31005], vec![8888]));
        assert_eq!(App::new(new_shape()).deployments(), vec!["d-1"]);
    }

    #[test]
    fn the_last_task_failure_knows_its_version() {
        let app = App::new(json!({"version": "v2", "lastTaskFailure": {"taskId": "t", "message": "pull failed", "state": "TASK_FAILED", "timestamp": "1", "version": "v1"}}));
        let failure = app.last_task_failure().unwrap();
        assert_eq!((failure.message.as_str(), failure.state.as_deref()), ("pull failed", Some("TASK_FAILED")));
        assert!(!failure.of_version(app.version()) && failure.of_version(Some("v1")));
        assert!(TaskFailure { version: None, ..failure }.of_version(Some("v2")));
        assert_eq!(App::new(json!({"lastTaskFailure": null})).last_task_failure(), None);
    }

    #[test]
    fn tasks_without_a_state_are_staging_until_started() {
        let started = Task::from_json(&json!({"id": "a", "startedAt": "2014-09-13T00:24:46.959Z"}));
        let staging = Task::from_json(&json!({"id": "b", "startedAt": null, "stagedAt": "2014-09-13T00:24:46.959Z"}));
        let bare = Task::from_json(&json!({"id": "c"}));
        assert!(started.is_running());
        assert!(!staging.is_running() && !bare.is_running());
        assert_eq!(staging.state, "TASK_STAGING");
        assert_eq!(Task::from_json(&json!({"state": "TASK_KILLING", "startedAt": "x"})).state, "TASK_KILLING", "a state, when written, wins");
    }

    #[test]
    fn image_spellings_of_docker_hub_are_the_same_image() {
        for (a, b) in [
            ("docker.io/srenkens/wolfenstein3d:latest", "srenkens/wolfenstein3d:latest"),
            ("index.docker.io/srenkens/wolfenstein3d", "srenkens/wolfenstein3d"),
            ("nginx:1.25", "library/nginx:1.25"),
            ("docker.io/library/nginx:1.25", "nginx:1.25"),
        ] {
            assert_eq!(canonical_image(a), canonical_image(b), "{a} vs {b}");
        }
        assert_ne!(canonical_image("quay.io/srenkens/wolfenstein3d"), canonical_image("srenkens/wolfenstein3d"));
        assert_eq!(canonical_image("localhost:5000/app:1"), "localhost:5000/app:1");
    }

    #[test]
    fn a_udp_tcp_mapping_carries_tcp() {
        let app = App::new(json!({"container": {"docker": {"network": "BRIDGE", "portMappings": [{"containerPort": 80, "servicePort": 8888, "protocol": "udp,tcp"}]}}}));
        let m = &app.port_mappings()[0];
        assert!(m.carries("tcp") && m.carries("udp") && !m.carries("sctp"));
    }

    #[test]
    fn the_raw_json_is_kept_as_received() {
        let app = App::new(old_shape());
        assert_eq!(app.raw()["unknownField"], json!({"kept": true}));
        assert_eq!(app.into_raw(), old_shape());
    }
}
