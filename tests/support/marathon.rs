//! A Marathon test double: an in-process axum server written from the reference's API facts
//! (docs/reference §6). It keeps apps and their versions, runs deployments that finish after
//! a delay, starts and kills tasks to match `instances`, reports health results when the app
//! has health checks, answers 409 while an app is locked and 422 for invalid definitions in
//! Marathon's error format, fails the tasks of an app told to (`lastTaskFailure`, with the
//! launch backed off), declines every offer for an app told to (the launch queue's offer
//! summary, see `marathon/queue.rs`), fails health checks with a cause, and streams events
//! on `/v2/events`. It answers in either API
//! shape: 1.4 (`container.docker.network`, `docker.portMappings`, `ports`) or 1.5+
//! (`networks`, `container.portMappings`, `portDefinitions`). It also serves a Mesos master's
//! `/master/state` for the stack-ready check.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

// Relative to this file's folder, however this file is included (the benches use #[path]).
#[path = "marathon/queue.rs"]
mod queue;

/// Which Marathon JSON shape the double answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Marathon ≤ 1.4.
    V14,
    /// Marathon ≥ 1.5.
    V15,
}

/// One request the double received.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: Value,
}

#[derive(Debug, Clone)]
struct TaskRecord {
    id: String,
    ports: Vec<u16>,
    state: &'static str,
    version: String,
}

#[derive(Debug, Clone)]
struct AppRecord {
    definition: Value,
    version: String,
    versions: Vec<String>,
    tasks: Vec<TaskRecord>,
    /// Marathon's `lastTaskFailure`, once a task failed.
    last_task_failure: Option<Value>,
}

#[derive(Debug, Clone)]
struct DeploymentRecord {
    app_id: String,
    version: String,
    /// A configuration change: every task is replaced, not just the count adjusted.
    restart: bool,
}

struct Inner {
    shape: Shape,
    delay: Duration,
    healthy: HashMap<String, bool>,
    /// Apps whose new tasks fail, with the message Mesos gives.
    failing: HashMap<String, String>,
    /// Apps no offer fits, with Marathon's reason (`InsufficientMemory`, ...).
    declining: HashMap<String, String>,
    /// Why failing health checks fail, per app (Marathon's `lastFailureCause`).
    health_causes: HashMap<String, String>,
    apps: BTreeMap<String, AppRecord>,
    deployments: BTreeMap<String, DeploymentRecord>,
    requests: Vec<Logged>,
    counter: u64,
    next_host_port: u16,
    next_service_port: u16,
    mesos_agents: u64,
    mesos_frameworks: Vec<String>,
}

/// The shared state behind the routes.
#[derive(Clone)]
pub struct Double {
    inner: Arc<Mutex<Inner>>,
    events: broadcast::Sender<(String, Value)>,
    /// When false, `/v2/events` answers 503 (clients must fall back to polling).
    events_enabled: Arc<std::sync::atomic::AtomicBool>,
}

/// A running double; stops when dropped.
pub struct MarathonDouble {
    pub url: String,
    pub double: Double,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl MarathonDouble {
    /// Starts a double answering in `shape`, finishing deployments after `delay`.
    pub async fn start(shape: Shape, delay: Duration) -> MarathonDouble {
        Self::start_at("127.0.0.1:0", shape, delay).await
    }

    /// Starts a double on a given address (to come back on the same port after `stop`).
    pub async fn start_at(addr: &str, shape: Shape, delay: Duration) -> MarathonDouble {
        let (events, _) = broadcast::channel(1024);
        let double = Double {
            inner: Arc::new(Mutex::new(Inner {
                shape,
                delay,
                healthy: HashMap::new(),
                failing: HashMap::new(),
                declining: HashMap::new(),
                health_causes: HashMap::new(),
                apps: BTreeMap::new(),
                deployments: BTreeMap::new(),
                requests: Vec::new(),
                counter: 0,
                next_host_port: 31000,
                next_service_port: 10000,
                mesos_agents: 1,
                mesos_frameworks: vec!["marathon".into()],
            })),
            events,
            events_enabled: Arc::new(std::sync::atomic::AtomicBool::new(true)),
        };
        let app = Router::new()
            .route("/ping", get(|| async { "pong" }))
            .route("/v2/info", get(info))
            .route("/v2/apps", get(list_apps).post(post_app))
            .route("/v2/apps/{*id}", get(get_app).put(put_app).delete(delete_app))
            .route("/v2/tasks", get(list_tasks))
            .route("/v2/deployments", get(list_deployments))
            .route("/v2/queue", get(queue::list))
            .route("/v2/deployments/{id}", axum::routing::delete(cancel_deployment))
            .route("/v2/events", get(event_stream))
            .route("/master/state", get(mesos_state))
            .layer(axum::middleware::from_fn_with_state(double.clone(), log_request))
            .with_state(double.clone());
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let events = double.events.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                    // End open event streams so shutdown does not wait on them.
                    let _ = events.send(("__shutdown".into(), Value::Null));
                })
                .await;
        });
        MarathonDouble { url, double, stop: Some(stop) }
    }

    /// Stops answering (Marathon went down).
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for MarathonDouble {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Double {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Logged> {
        self.lock().requests.clone()
    }

    /// Requests that changed apps (PUT/POST/DELETE under /v2/apps).
    pub fn writes(&self) -> Vec<Logged> {
        self.requests().into_iter().filter(|r| r.method != "GET" && r.path.starts_with("/v2/apps")).collect()
    }

    /// Whether tasks of `app` pass their health checks (default: yes).
    pub fn set_healthy(&self, app: &str, healthy: bool) {
        self.lock().healthy.insert(app.to_owned(), healthy);
        let _ = self.events.send(("health_status_changed_event".into(), json!({"eventType": "health_status_changed_event", "appId": app, "alive": healthy})));
    }

    /// Makes the tasks of `app`'s next deployments fail with `message` (as Mesos reports a
    /// container that cannot start): the deployment never finishes, and the app's
    /// `lastTaskFailure` names the failed task of the new version.
    pub fn fail_tasks(&self, app: &str, message: &str) {
        self.lock().failing.insert(app.to_owned(), message.to_owned());
    }

    /// Makes `app`'s health checks fail with `cause`, as Marathon words it: the HTTP status
    /// (`404 Not Found`) or the connection error (`Connection refused`).
    pub fn fail_health(&self, app: &str, cause: &str) {
        self.lock().health_causes.insert(app.to_owned(), cause.to_owned());
        self.set_healthy(app, false);
    }

    /// Makes every offer unfit for `app`'s next deployments, for `reason`: no task starts,
    /// the deployment never finishes, and the launch queue says why.
    pub fn decline_offers(&self, app: &str, reason: &str) {
        self.lock().declining.insert(app.to_owned(), reason.to_owned());
    }

    /// Turns the event stream off (503) or on.
    pub fn set_events(&self, enabled: bool) {
        self.events_enabled.store(enabled, std::sync::atomic::Ordering::SeqCst);
    }

    /// How long new deployments take.
    pub fn set_delay(&self, delay: Duration) {
        self.lock().delay = delay;
    }

    /// The Mesos master's view: how many agents are active, which frameworks are registered.
    pub fn set_mesos(&self, agents: u64, frameworks: &[&str]) {
        let mut inner = self.lock();
        inner.mesos_agents = agents;
        inner.mesos_frameworks = frameworks.iter().map(|f| f.to_string()).collect();
    }

    /// The app as the double would answer `GET /v2/apps/{id}`.
    pub fn app(&self, id: &str) -> Option<Value> {
        let inner = self.lock();
        inner.apps.get(id).map(|a| render_app(&inner, id, a, true))
    }

    /// Puts an app straight into the running state (no deployment), as if deployed long ago.
    pub fn seed(&self, definition: Value) {
        let id = definition["id"].as_str().expect("id").to_owned();
        let mut inner = self.lock();
        let version = next_version(&mut inner);
        let record = AppRecord { definition, version: version.clone(), versions: vec![version.clone()], tasks: Vec::new(), last_task_failure: None };
        inner.apps.insert(id.clone(), record);
        assign_service_ports(&mut inner, &id);
        converge_tasks(&mut inner, &id, &version, false);
    }

    /// Puts `n` of the app's tasks back into TASK_STAGING (waiting for resources or a pull).
    pub fn stage(&self, app: &str, n: usize) {
        if let Some(record) = self.lock().apps.get_mut(app) {
            for task in record.tasks.iter_mut().take(n) {
                task.state = "TASK_STAGING";
            }
        }
    }

    /// Starts a deployment for `app` that never finishes (until forced over).
    pub fn hold(&self, app: &str) -> String {
        let mut inner = self.lock();
        let id = format!("held-{}", next_version(&mut inner));
        let version = inner.apps.get(app).map(|a| a.version.clone()).unwrap_or_default();
        inner.deployments.insert(id.clone(), DeploymentRecord { app_id: app.to_owned(), version, restart: false });
        id
    }

    fn emit(&self, kind: &str, mut data: Value) {
        data["eventType"] = Value::String(kind.to_owned());
        let _ = self.events.send((kind.to_owned(), data));
    }
}

fn next_version(inner: &mut Inner) -> String {
    inner.counter += 1;
    format!("2026-11-24T10:00:{:02}.{:03}Z", inner.counter / 1000 % 60, inner.counter % 1000)
}

async fn log_request(State(d): State<Double>, request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    d.lock().requests.push(Logged {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    });
    next.run(axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes))).await
}

async fn info(State(d): State<Double>) -> Json<Value> {
    let version = if d.lock().shape == Shape::V14 { "1.4.13" } else { "1.11.24" };
    Json(json!({"name": "marathon", "version": version, "elected": true, "leader": "localhost:8080", "frameworkId": "fw-1"}))
}

async fn mesos_state(State(d): State<Double>) -> Json<Value> {
    let inner = d.lock();
    let frameworks: Vec<Value> = inner.mesos_frameworks.iter().map(|f| json!({"name": f, "active": true})).collect();
    Json(json!({"activated_slaves": inner.mesos_agents, "deactivated_slaves": 0, "frameworks": frameworks}))
}

/// Marathon's validation, the part that matters for site files.
fn validate(def: &Value) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    let id = def.get("id").and_then(Value::as_str).unwrap_or("");
    let id_ok = id.trim_start_matches('/').split('/').all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.'));
    if !id_ok {
        errors.push(("/id".into(), "path contains invalid characters (allowed: lowercase letters, digits, hyphens, \".\", \"..\")".into()));
    }
    match def.get("instances") {
        None => {}
        Some(v) if v.as_u64().is_some() => {}
        Some(_) => errors.push(("/instances".into(), "error.expected.jsnumber: must be a non-negative integer".into())),
    }
    if let Some(cpus) = def.get("cpus")
        && cpus.as_f64().is_none_or(|c| c <= 0.0)
    {
        errors.push(("/cpus".into(), "got 0.0, expected greater than 0".into()));
    }
    let docker = def.pointer("/container/docker");
    if def.pointer("/container/type").and_then(Value::as_str).unwrap_or("DOCKER") == "DOCKER" && def.get("container").is_some() && docker.and_then(|d| d.get("image")).is_none() {
        errors.push(("/container/docker/image".into(), "must not be empty".into()));
    }
    if let Some(network) = def.pointer("/container/docker/network").and_then(Value::as_str)
        && !["HOST", "BRIDGE", "USER", "NONE"].contains(&network)
    {
        errors.push(("/container/docker/network".into(), format!("error.expected.validenumvalue: {network} is not one of HOST, BRIDGE, USER, NONE")));
    }
    let mappings = def.pointer("/container/docker/portMappings").or_else(|| def.pointer("/container/portMappings"));
    if let Some(list) = mappings.and_then(Value::as_array) {
        let base = if def.pointer("/container/docker/portMappings").is_some() { "/container/docker/portMappings" } else { "/container/portMappings" };
        for (i, m) in list.iter().enumerate() {
            for key in ["containerPort", "hostPort", "servicePort"] {
                if let Some(v) = m.get(key)
                    && v.as_u64().is_none_or(|p| p > 65535)
                {
                    errors.push((format!("{base}({i})/{key}"), "error.max: must be between 0 and 65535".into()));
                }
            }
        }
    }
    if let Some(checks) = def.get("healthChecks").and_then(Value::as_array) {
        for (i, h) in checks.iter().enumerate() {
            let protocol = h.get("protocol").and_then(Value::as_str).unwrap_or("HTTP");
            if !["HTTP", "HTTPS", "TCP", "COMMAND", "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP"].contains(&protocol) {
                errors.push((format!("/healthChecks({i})/protocol"), format!("error.expected.validenumvalue: {protocol}")));
            }
        }
    }
    errors
}

fn invalid(errors: Vec<(String, String)>) -> Response {
    let details: Vec<Value> = errors.into_iter().map(|(path, e)| json!({"path": path, "errors": [e]})).collect();
    (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({"message": "Object is not valid", "details": details}))).into_response()
}

fn normalize_id(raw: &str) -> String {
    format!("/{}", raw.trim_matches('/'))
}

/// Deployments currently touching `app`.
fn locks(inner: &Inner, app: &str) -> Vec<String> {
    inner.deployments.iter().filter(|(_, d)| d.app_id == app).map(|(id, _)| id.clone()).collect()
}

/// Creates or updates an app and starts its deployment.
fn upsert(d: &Double, id: String, mut def: Value, force: bool, created_status: StatusCode) -> Response {
    def["id"] = Value::String(id.clone());
    let errors = validate(&def);
    if !errors.is_empty() {
        return invalid(errors);
    }
    let (deployment_id, version, created) = {
        let mut inner = d.lock();
        let held = locks(&inner, &id);
        if !held.is_empty() && !force {
            let deployments: Vec<Value> = held.iter().map(|h| json!({"id": h})).collect();
            return (
                StatusCode::CONFLICT,
                Json(json!({"message": format!("App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/{}'.", held[0]), "deployments": deployments})),
            )
                .into_response();
        }
        for h in held {
            inner.deployments.remove(&h);
        }
        let version = next_version(&mut inner);
        let created = !inner.apps.contains_key(&id);
        let record = inner.apps.entry(id.clone()).or_insert_with(|| AppRecord { definition: Value::Null, version: String::new(), versions: Vec::new(), tasks: Vec::new(), last_task_failure: None });
        let restart = strip_scaling(&record.definition) != strip_scaling(&def);
        record.definition = def;
        record.version = version.clone();
        record.versions.push(version.clone());
        assign_service_ports(&mut inner, &id);
        let deployment_id = format!("deployment-{}", inner.counter);
        inner.deployments.insert(deployment_id.clone(), DeploymentRecord { app_id: id.clone(), version: version.clone(), restart });
        (deployment_id, version, created)
    };
    d.emit("api_post_event", json!({"appDefinition": {"id": id}}));
    d.emit("deployment_info", json!({"plan": {"id": deployment_id, "affectedApps": [id]}, "currentStep": {"actions": [{"app": id}]}}));
    spawn_deployment(d.clone(), deployment_id.clone(), id, version.clone());
    let status = if created { created_status } else { StatusCode::OK };
    (status, [("Marathon-Deployment-Id", deployment_id.clone())], Json(json!({"deploymentId": deployment_id, "version": version}))).into_response()
}

/// The definition without `instances`, to tell a scale from a restart.
fn strip_scaling(def: &Value) -> Value {
    let mut d = def.clone();
    if let Some(o) = d.as_object_mut() {
        o.remove("instances");
    }
    d
}

fn assign_service_ports(inner: &mut Inner, id: &str) {
    let mut next = inner.next_service_port;
    if let Some(app) = inner.apps.get_mut(id) {
        let def = &mut app.definition;
        for pointer in ["/container/docker/portMappings", "/container/portMappings"] {
            if let Some(list) = def.pointer_mut(pointer).and_then(Value::as_array_mut) {
                for m in list {
                    if m.get("servicePort").and_then(Value::as_u64).unwrap_or(0) == 0 {
                        m["servicePort"] = json!(next);
                        next += 1;
                    }
                }
            }
        }
    }
    inner.next_service_port = next;
}

/// After the delay, converge tasks to the new version; the deployment ends when every task
/// is running (and healthy, when the app has health checks).
fn spawn_deployment(d: Double, deployment_id: String, app: String, version: String) {
    tokio::spawn(async move {
        let delay = d.lock().delay;
        tokio::time::sleep(delay).await;
        let (started, finished) = {
            let mut inner = d.lock();
            let Some(restart) = inner.deployments.get(&deployment_id).map(|dep| dep.restart) else {
                return; // replaced by a forced deployment
            };
            if inner.declining.contains_key(&app) {
                return; // waits in the launch queue for an offer that never fits
            }
            if let Some(message) = inner.failing.get(&app).cloned() {
                let task = format!("{}.failed-{}", app.trim_start_matches('/').replace('/', "_"), inner.counter);
                let timestamp = next_version(&mut inner);
                let failure = json!({"appId": app, "taskId": task, "state": "TASK_FAILED", "message": message, "host": "localhost", "slaveId": "agent-1", "timestamp": timestamp, "version": version});
                if let Some(record) = inner.apps.get_mut(&app) {
                    record.last_task_failure = Some(failure);
                }
                drop(inner);
                d.emit("status_update_event", json!({"appId": app, "taskId": task, "taskStatus": "TASK_FAILED", "message": message, "version": version}));
                return;
            }
            let started = converge_tasks(&mut inner, &app, &version, restart);
            let record = inner.apps.get(&app);
            let needs_health = record.is_some_and(|r| r.definition.get("healthChecks").and_then(Value::as_array).is_some_and(|h| !h.is_empty()));
            let healthy = inner.healthy.get(&app).copied().unwrap_or(true);
            let finished = !needs_health || healthy;
            if finished {
                inner.deployments.remove(&deployment_id);
            }
            (started, finished)
        };
        for task in started {
            d.emit("status_update_event", json!({"appId": app, "taskId": task, "taskStatus": "TASK_RUNNING", "version": version}));
            d.emit("health_status_changed_event", json!({"appId": app, "taskId": task, "alive": d.lock().healthy.get(&app).copied().unwrap_or(true)}));
        }
        if finished {
            d.emit("deployment_success", json!({"id": deployment_id, "plan": {"id": deployment_id, "affectedApps": [app]}}));
        }
    });
}

/// Kills surplus tasks (all old ones on a restart), starts new ones; returns new task ids.
fn converge_tasks(inner: &mut Inner, app: &str, version: &str, restart: bool) -> Vec<String> {
    let mut port = inner.next_host_port;
    let mut started = Vec::new();
    if let Some(record) = inner.apps.get_mut(app) {
        if restart {
            record.tasks.clear();
        }
        let want = record.definition.get("instances").and_then(Value::as_u64).unwrap_or(1) as usize;
        record.tasks.truncate(want);
        let ports_per_task = port_count(&record.definition);
        while record.tasks.len() < want {
            let id = format!("{}.{}", app.trim_start_matches('/').replace('/', "_"), port);
            let ports = (0..ports_per_task).map(|i| port + i as u16).collect();
            port += ports_per_task.max(1) as u16;
            record.tasks.push(TaskRecord { id: id.clone(), ports, state: "TASK_RUNNING", version: version.to_owned() });
            started.push(id);
        }
    }
    inner.next_host_port = port;
    started
}

fn port_count(def: &Value) -> usize {
    def.pointer("/container/docker/portMappings")
        .or_else(|| def.pointer("/container/portMappings"))
        .or_else(|| def.get("portDefinitions"))
        .or_else(|| def.get("ports"))
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

/// The app in the configured shape, with counts, deployments and (optionally) tasks.
fn render_app(inner: &Inner, id: &str, record: &AppRecord, with_tasks: bool) -> Value {
    let mut app = record.definition.clone();
    let network = app.pointer("/container/docker/network").and_then(Value::as_str).unwrap_or("HOST").to_owned();
    let mappings = app.pointer("/container/docker/portMappings").or_else(|| app.pointer("/container/portMappings")).cloned();
    let host_ports: Vec<u16> = app
        .get("portDefinitions")
        .and_then(Value::as_array)
        .map(|d| d.iter().filter_map(|p| p.get("port").and_then(Value::as_u64)).map(|p| p as u16).collect())
        .or_else(|| app.get("ports").and_then(Value::as_array).map(|p| p.iter().filter_map(Value::as_u64).map(|p| p as u16).collect()))
        .unwrap_or_default();
    let service_ports: Vec<u16> = match (&mappings, network.as_str()) {
        (Some(m), "BRIDGE" | "USER") => m.as_array().map(|m| m.iter().map(|x| x.get("servicePort").and_then(Value::as_u64).unwrap_or(0) as u16).collect()).unwrap_or_default(),
        _ => host_ports.clone(),
    };
    match inner.shape {
        Shape::V14 => {
            if app.pointer("/container/docker").is_some() {
                app["container"]["docker"]["network"] = json!(network);
            }
            app["ports"] = json!(service_ports);
        }
        Shape::V15 => {
            let mode = match network.as_str() {
                "BRIDGE" => "container/bridge",
                "USER" => "container",
                _ => "host",
            };
            app["networks"] = json!([{"mode": mode}]);
            if let Some(docker) = app.pointer_mut("/container/docker").and_then(Value::as_object_mut) {
                docker.remove("network");
                docker.remove("portMappings");
            }
            if let Some(m) = mappings.filter(|_| mode != "host") {
                app["container"]["portMappings"] = m;
            }
            app.as_object_mut().map(|o| o.remove("ports"));
            let defs: Vec<Value> = if mode == "host" { service_ports.iter().map(|p| json!({"port": p, "protocol": "tcp"})).collect() } else { Vec::new() };
            app["portDefinitions"] = json!(defs);
        }
    }
    let has_checks = app.get("healthChecks").and_then(Value::as_array).is_some_and(|h| !h.is_empty());
    let healthy = inner.healthy.get(id).copied().unwrap_or(true);
    let running: Vec<&TaskRecord> = record.tasks.iter().filter(|t| t.state == "TASK_RUNNING").collect();
    app["version"] = json!(record.version);
    app["tasksRunning"] = json!(running.len());
    app["tasksStaged"] = json!(record.tasks.iter().filter(|t| t.state == "TASK_STAGING").count());
    app["tasksHealthy"] = json!(if has_checks && healthy { running.len() } else { 0 });
    app["tasksUnhealthy"] = json!(if has_checks && !healthy { running.len() } else { 0 });
    app["deployments"] = json!(locks(inner, id).into_iter().map(|id| json!({"id": id})).collect::<Vec<_>>());
    if let Some(failure) = &record.last_task_failure {
        app["lastTaskFailure"] = failure.clone();
    }
    if with_tasks {
        let cause = inner.health_causes.get(id).map(String::as_str);
        app["tasks"] = json!(record.tasks.iter().map(|t| task_json(id, t, &service_ports, has_checks, healthy, cause)).collect::<Vec<_>>());
    }
    app
}

fn task_json(app: &str, t: &TaskRecord, service_ports: &[u16], has_checks: bool, healthy: bool, cause: Option<&str>) -> Value {
    let mut task = json!({"id": t.id, "appId": app, "host": "localhost", "ports": t.ports, "servicePorts": service_ports, "state": t.state, "version": t.version, "slaveId": "agent-1"});
    if has_checks {
        // Marathon writes the HTTP status or the connection error of the last failed check.
        let (last_failure, cause) = if healthy { (Value::Null, Value::Null) } else { (json!(t.version), cause.map_or(Value::Null, |c| json!(c))) };
        task["healthCheckResults"] = json!([{"alive": healthy, "consecutiveFailures": if healthy { 0 } else { 3 }, "firstSuccess": Value::Null, "lastFailure": last_failure,
            "lastSuccess": Value::Null, "lastFailureCause": cause, "taskId": t.id}]);
    }
    task
}

async fn list_apps(State(d): State<Double>, uri: Uri) -> Json<Value> {
    let with_tasks = uri.query().unwrap_or("").contains("apps.tasks");
    let inner = d.lock();
    let apps: Vec<Value> = inner.apps.iter().map(|(id, a)| render_app(&inner, id, a, with_tasks)).collect();
    Json(json!({"apps": apps}))
}

async fn get_app(State(d): State<Double>, Path(raw): Path<String>) -> Response {
    let inner = d.lock();
    if let Some(app_part) = raw.strip_suffix("/tasks") {
        let id = normalize_id(app_part);
        return match inner.apps.get(&id) {
            Some(a) => Json(json!({"tasks": render_app(&inner, &id, a, true)["tasks"]})).into_response(),
            None => not_found(&id),
        };
    }
    if let Some((app_part, _)) = raw.split_once("/versions") {
        let id = normalize_id(app_part);
        return match inner.apps.get(&id) {
            Some(a) => Json(json!({"versions": a.versions})).into_response(),
            None => not_found(&id),
        };
    }
    let id = normalize_id(&raw);
    match inner.apps.get(&id) {
        Some(a) => Json(json!({"app": render_app(&inner, &id, a, true)})).into_response(),
        None => not_found(&id),
    }
}

fn not_found(id: &str) -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"message": format!("App '{id}' does not exist")}))).into_response()
}

#[allow(clippy::result_large_err)] // a test double; the response is the error
fn parse_body(body: &Bytes) -> Result<Value, Response> {
    serde_json::from_slice(body).map_err(|e| invalid(vec![("/".into(), format!("Invalid JSON: {e}"))]))
}

async fn put_app(State(d): State<Double>, Path(raw): Path<String>, Query(q): Query<HashMap<String, String>>, body: Bytes) -> Response {
    let def = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let force = q.get("force").is_some_and(|f| f == "true");
    upsert(&d, normalize_id(&raw), def, force, StatusCode::CREATED)
}

async fn post_app(State(d): State<Double>, body: Bytes) -> Response {
    let def = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let id = normalize_id(def.get("id").and_then(Value::as_str).unwrap_or(""));
    if d.lock().apps.contains_key(&id) {
        return (StatusCode::CONFLICT, Json(json!({"message": format!("An app with id [{id}] already exists.")}))).into_response();
    }
    upsert(&d, id, def, false, StatusCode::CREATED)
}

async fn delete_app(State(d): State<Double>, Path(raw): Path<String>) -> Response {
    let id = normalize_id(&raw);
    let removed = d.lock().apps.remove(&id);
    match removed {
        Some(_) => {
            let deployment = format!("delete-{}", next_version(&mut d.lock()));
            d.emit("deployment_success", json!({"id": deployment, "plan": {"id": deployment, "affectedApps": [id]}}));
            Json(json!({"deploymentId": deployment, "version": "now"})).into_response()
        }
        None => not_found(&id),
    }
}

async fn list_tasks(State(d): State<Double>) -> Json<Value> {
    let inner = d.lock();
    let tasks: Vec<Value> = inner.apps.iter().flat_map(|(id, a)| render_app(&inner, id, a, true)["tasks"].as_array().cloned().unwrap_or_default()).collect();
    Json(json!({"tasks": tasks}))
}

async fn list_deployments(State(d): State<Double>) -> Json<Value> {
    let inner = d.lock();
    let list: Vec<Value> = inner
        .deployments
        .iter()
        .map(|(id, dep)| json!({"id": id, "version": dep.version, "affectedApps": [dep.app_id], "affectedPods": [], "currentStep": 1, "totalSteps": 1}))
        .collect();
    Json(json!(list))
}

async fn cancel_deployment(State(d): State<Double>, Path(id): Path<String>) -> Response {
    match d.lock().deployments.remove(&id) {
        Some(_) => StatusCode::ACCEPTED.into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"message": format!("DeploymentPlan {id} does not exist")}))).into_response(),
    }
}

async fn event_stream(State(d): State<Double>) -> Response {
    if !d.events_enabled.load(std::sync::atomic::Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "event stream disabled").into_response();
    }
    let stream = BroadcastStream::new(d.events.subscribe())
        .filter_map(|m| m.ok())
        .take_while(|(kind, _)| kind != "__shutdown")
        .map(|(kind, data)| Ok::<_, Infallible>(Event::default().event(kind).data(data.to_string())));
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}
