//! A Marathon that answers with recorded responses: the apps of a fixture file, served
//! as-is on `/v2/apps` and `/v2/apps/{id}`, plus a Mesos master with one agent and
//! Marathon registered. For checking how lab reads responses shaped like each Marathon
//! version's documented examples (`tests/fixtures/marathon/`).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};
use std::sync::Arc;

/// A running canned Marathon; stops when dropped.
pub struct CannedMarathon {
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

/// The app object of a fixture file (`{"app": {...}}`).
pub fn fixture_app(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/marathon").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    doc["app"].clone()
}

impl CannedMarathon {
    /// Serves `apps` exactly as given.
    pub async fn start(apps: Vec<Value>) -> CannedMarathon {
        let apps = Arc::new(apps);
        let app = Router::new()
            .route("/ping", get(|| async { "pong" }))
            .route("/v2/apps", get(|State(apps): State<Arc<Vec<Value>>>| async move { axum::Json(json!({"apps": *apps})) }))
            .route(
                "/v2/apps/{*id}",
                get(|State(apps): State<Arc<Vec<Value>>>, Path(id): Path<String>| async move {
                    let id = format!("/{}", id.trim_matches('/'));
                    match apps.iter().find(|a| a["id"] == id.as_str()) {
                        Some(found) => axum::Json(json!({"app": found})).into_response(),
                        None => (StatusCode::NOT_FOUND, axum::Json(json!({"message": format!("App '{id}' does not exist")}))).into_response(),
                    }
                }),
            )
            .route("/v2/deployments", get(|| async { axum::Json(json!([])) }))
            .route("/master/state", get(|| async { axum::Json(json!({"activated_slaves": 1, "frameworks": [{"name": "marathon"}]})) }))
            .with_state(apps);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        CannedMarathon { url, task }
    }
}

impl Drop for CannedMarathon {
    fn drop(&mut self) {
        self.task.abort();
    }
}
