//! Shared helpers for the integration tests: a `TestApp` around the router with a private
//! SQLite database, a real `TestServer` on a loopback port, content fixtures, and the rule
//! for tests that need something from the machine (Docker, chromium).
#![allow(dead_code)] // each test binary uses a different subset

pub mod browser;
pub mod canned;
pub mod dind;
pub mod classroom;
pub mod docker;
pub mod editor;
pub mod gateway;
pub mod kube;
pub mod marathon;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use lab::course::{ContentSource, Course};
use lab::store::{DbLocation, Store};
use lab::web::{self, AppState};
use std::path::Path;
use tower::ServiceExt;

/// A router over some course content with an in-memory database.
pub struct TestApp {
    pub state: AppState,
    pub content_dir: Option<tempfile::TempDir>,
}

/// What a request returned.
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl TestResponse {
    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// lab's data folder (workspaces, locks) for this test process: one temporary folder, fixed
/// through [`lab::paths::use_data_dir`] on first use (the environment is left alone: other
/// tests' threads read it). Every helper that leads into lab (`TestApp`, `ClassApp`,
/// `engine_or_skip`) calls it first, so no test sees the folder change under it.
pub fn temp_lab_home() -> &'static Path {
    static HOME: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    HOME.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp home");
        lab::paths::use_data_dir(dir.path());
        dir
    })
    .path()
}

impl TestApp {
    /// The built-in course.
    pub async fn builtin() -> TestApp {
        let course = Course::load(&ContentSource::Embedded).expect("built-in course");
        TestApp {
            state: state_for(course).await,
            content_dir: None,
        }
    }

    /// A course made of `files` (relative path, contents), written to a temporary folder.
    pub async fn with_files(files: &[(&str, &str)]) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        write_files(dir.path(), files);
        TestApp::from_dir(dir).await
    }

    /// The course in `dir`, as `lab serve --content DIR` would load it.
    pub async fn from_dir(dir: tempfile::TempDir) -> TestApp {
        let course = Course::load(&ContentSource::Dir(dir.path().into())).expect("content");
        TestApp {
            state: state_for(course).await,
            content_dir: Some(dir),
        }
    }

    /// GET `path` through the router.
    pub async fn get(&self, path: &str) -> TestResponse {
        self.request(Request::get(path).body(Body::empty()).expect("request"))
            .await
    }

    /// Sends any request through the router.
    pub async fn request(&self, request: Request<Body>) -> TestResponse {
        send(&self.state, request).await
    }
}

/// Sends a request through the router of `state`.
pub async fn send(state: &AppState, request: Request<Body>) -> TestResponse {
    let response = web::router(state.clone())
        .oneshot(request)
        .await
        .expect("router never fails");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    TestResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn state_for(course: Course) -> AppState {
    temp_lab_home();
    let store = Store::open(&DbLocation::Memory).await.expect("store");
    let student = store.student("tester").await.expect("student");
    AppState::new(course, store, student)
}

/// Writes fixture files below `root`, creating folders.
pub fn write_files(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
}

/// A real server on 127.0.0.1 with a random port; stops when dropped.
pub struct TestServer {
    pub base: String,
    pub state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestServer {
    pub async fn start(state: AppState) -> TestServer {
        TestServer::start_with(state, web::ServerConfig::default()).await
    }

    /// A server with its own limits and host names.
    pub async fn start_with(state: AppState, config: web::ServerConfig) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serve_state = state.clone();
        tokio::spawn(async move {
            let result = web::run(listener, serve_state, config, async move {
                let _ = stopped.await;
            })
            .await;
            result.expect("the test server runs");
        });
        TestServer {
            base,
            state,
            stop: Some(stop),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `127.0.0.1:PORT`, for raw TCP clients.
    pub fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Whether this run is CI, where machine-dependent tests must run rather than skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Called when a test cannot find something it needs. In CI that is a failure; elsewhere the
/// test is skipped with the reason printed. Returns normally only when skipping.
pub fn skip_or_fail(what: &str, reason: &str) {
    if in_ci() {
        panic!("{what} is required in CI (CI=true) but {reason}");
    }
    eprintln!("SKIPPED: {what} unavailable: {reason}");
}

/// Folder for test artifacts (screenshots): `target/test-artifacts`.
pub fn artifacts_dir() -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    dir
}

/// A small valid lab and deck for fixtures.
pub const DEMO_LAB: &[(&str, &str)] = &[
    (
        "labs/demo/lab.yml",
        "title: Demo lab\nsummary: A lab for tests.\ndeck: demo\nsteps:\n  - first\n  - second\nexercises:\n  - id: do-it\n    title: Do the thing\n    step: second\n",
    ),
    (
        "labs/demo/steps/first.md",
        "# First step\n\nRun `lab up`.\n",
    ),
    ("labs/demo/steps/second.md", "# Second step\n\nNow do it.\n"),
    (
        "slides/demo.md",
        "---\ntitle: Demo deck\n---\n# Welcome\nHello.\nNote: say hello\n---\n## Two\nSecond slide\n--\n## Two and a half\nbelow\n---\n## Three\nThe end\nNote: thank them\n",
    ),
];

/// Removes the named projects (containers, networks, volumes) when dropped, also after a
/// failed assertion.
pub struct ClassCleanup(pub Vec<String>);

impl Drop for ClassCleanup {
    fn drop(&mut self) {
        for project in &self.0 {
            drop(docker::ProjectGuard {
                project: project.clone(),
            });
        }
    }
}
