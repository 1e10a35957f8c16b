//! A class for web tests: the built-in course served in classroom mode, with a provisioner
//! double (stacks "start" at once, on the port block they were given), and helpers to join
//! as a student or sign in as the instructor.

use super::TestResponse;
use axum::body::Body;
use axum::http::Request;
use futures_util::future::BoxFuture;
use lab::classroom::{Classroom, Endpoints, Observed, OpenOptions, PortRange, ProvisionError, Provisioner, Settings, StackRequest};
use lab::course::{ContentSource, Course};
use lab::store::{DbLocation, Store};
use lab::web::AppState;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

/// Stacks that start at once and remember what ran.
#[derive(Default)]
pub struct FakeProvisioner {
    pub running: Mutex<HashSet<String>>,
    /// A Marathon (a test double, which is also their Mesos master) that started stacks
    /// report as theirs.
    pub marathon: Mutex<Option<String>>,
}

impl Provisioner for FakeProvisioner {
    fn start<'a>(&'a self, request: &'a StackRequest, _sink: &'a dyn lab::classroom::provision::StageSink) -> BoxFuture<'a, Result<Endpoints, ProvisionError>> {
        Box::pin(async move {
            self.running.lock().unwrap().insert(request.project.clone());
            // Named ports in block order, as the real stack publishes them: marathon is second.
            let marathon = request.port_base + 1;
            // The double serves Mesos's `/master/state` too, for the environment check.
            let endpoints = self.marathon.lock().unwrap().iter().flat_map(|url| [("marathon".to_owned(), url.clone()), ("mesos".to_owned(), url.clone())]).collect();
            Ok(Endpoints { endpoints, named_ports: BTreeMap::from([("marathon".into(), marathon)]), links: vec![("Marathon UI".into(), format!("http://{}:{marathon}/", request.public_host))], ..Endpoints::default() })
        })
    }
    fn stop<'a>(&'a self, project: &'a str) -> BoxFuture<'a, Result<(), ProvisionError>> {
        Box::pin(async move {
            self.running.lock().unwrap().remove(project);
            Ok(())
        })
    }
    fn remove<'a>(&'a self, project: &'a str) -> BoxFuture<'a, Result<(), ProvisionError>> {
        self.stop(project)
    }
    fn observe<'a>(&'a self, request: &'a StackRequest) -> BoxFuture<'a, Result<Observed, ProvisionError>> {
        Box::pin(async move { Ok(if self.running.lock().unwrap().contains(&request.project) { Observed::Running(Endpoints::default()) } else { Observed::Absent }) })
    }
    fn ports_per_stack(&self) -> u16 {
        4
    }
    fn port_names(&self) -> Vec<String> {
        vec!["mesos".into(), "marathon".into(), "demo".into(), "wolf3d".into()]
    }
    fn memory_per_stack(&self) -> Option<u64> {
        None
    }
    fn logs<'a>(&'a self, project: &'a str, lines: usize) -> BoxFuture<'a, Result<Vec<lab::classroom::ServiceLog>, ProvisionError>> {
        Box::pin(async move {
            let running = self.running.lock().unwrap().contains(project);
            let log = if running { vec![format!("{project}: marathon is running")] } else { Vec::new() };
            Ok(vec![lab::classroom::ServiceLog { service: "marathon".into(), lines: log.into_iter().take(lines).collect() }])
        })
    }
}

/// A class of the built-in course.
pub struct ClassApp {
    pub state: AppState,
    pub classroom: Classroom,
    pub code: String,
    /// The provisioner double, to see which stacks run.
    pub provisioner: Arc<FakeProvisioner>,
}

impl ClassApp {
    pub async fn start() -> ClassApp {
        super::temp_lab_home();
        let course = Course::load(&ContentSource::Embedded).expect("built-in course");
        let store = Store::open(&DbLocation::Memory).await.expect("store");
        let settings = Settings { public_host: "class.example".into(), max_stacks: 10, max_starting: 2, ports: PortRange { from: 21000, to: 21999 }, idle: None, autostart: false };
        let options = OpenOptions { lab: "mesos-marathon".into(), settings, join_code: Some("K7M-P3Q".into()), instructor_token: Some("teach".into()) };
        let holder: Arc<std::sync::OnceLock<AppState>> = Arc::new(std::sync::OnceLock::new());
        let source = {
            let holder = holder.clone();
            Arc::new(move || holder.get().and_then(|s| s.course().lab("mesos-marathon").and_then(|l| l.as_ref().ok()).cloned()))
        };
        let provisioner = Arc::new(FakeProvisioner::default());
        let opened = Classroom::open(store.clone(), provisioner.clone(), source, options).await.expect("class");
        let state = AppState::classroom(course, store, opened.classroom.clone());
        let _ = holder.set(state.clone());
        state.spawn_class_events();
        ClassApp { state, classroom: opened.classroom, code: opened.join_code, provisioner }
    }

    /// Sends a request with `cookie` (a `lab_session=...` pair, or none).
    pub async fn send(&self, method: &str, path: &str, cookie: Option<&str>, form: Option<&str>) -> TestResponse {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(c) = cookie {
            builder = builder.header("cookie", c);
        }
        let body = match form {
            Some(f) => {
                builder = builder.header("content-type", "application/x-www-form-urlencoded");
                Body::from(f.to_owned())
            }
            None => Body::empty(),
        };
        super::send(&self.state, builder.body(body).expect("request")).await
    }

    /// Sends an empty request asking for JSON with `cookie`; the answer, parsed.
    #[allow(dead_code)]
    pub async fn send_json(&self, method: &str, path: &str, cookie: &str) -> serde_json::Value {
        let request = Request::builder().method(method).uri(path).header("cookie", cookie).header("accept", "application/json").body(Body::empty()).expect("request");
        let r = super::send(&self.state, request).await;
        serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{method} {path} answered {}: {e}: {}", r.status, r.body))
    }

    /// Joins as `name`; returns the session cookie pair.
    pub async fn join(&self, name: &str) -> String {
        let r = self.send("POST", "/join", None, Some(&format!("code={}&name={name}", self.code))).await;
        assert_eq!(r.status, 303, "{}", r.body);
        cookie_of(&r)
    }

    /// Signs in as the instructor; returns the session cookie pair.
    pub async fn instructor(&self) -> String {
        let r = self.send("GET", "/instructor/login?token=teach", None, None).await;
        assert_eq!(r.status, 303, "{}", r.body);
        cookie_of(&r)
    }
}

/// The `lab_session=...` pair a response sets.
pub fn cookie_of(r: &TestResponse) -> String {
    let set = r.headers.get("set-cookie").and_then(|v| v.to_str().ok()).expect("a session cookie");
    set.split(';').next().expect("pair").to_owned()
}

/// The small busybox test lab (`tests/fixtures/classroom`).
pub fn test_lab_content() -> lab::course::ContentSource {
    lab::course::ContentSource::Dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/classroom"))
}

impl ClassApp {
    /// Opens `/events` with `cookie`; read it with [`read_events`].
    pub async fn open_stream(&self, cookie: &str) -> Body {
        let request = Request::get("/events").header("cookie", cookie).body(Body::empty()).expect("request");
        tower::ServiceExt::oneshot(lab::web::router(self.state.clone()), request).await.expect("router never fails").into_body()
    }
}

/// Reads an event stream until `until` is seen or `wait` passes; returns what arrived.
pub async fn read_events(body: &mut Body, until: &str, wait: std::time::Duration) -> String {
    use http_body_util::BodyExt;
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + wait;
    while !seen.contains(until) {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    seen.push_str(&String::from_utf8_lossy(&data));
                }
            }
            _ => break,
        }
    }
    seen
}
