//! The site editor in the browser (issue 11): `/labs/{lab}/site` and the editor embedded in
//! the steps whose exercises name a file to edit, over the JSON API `/api/site/...` that the
//! page (and tests, and other tools) use. Every call works on the viewer's own site folder
//! (see `access`); the files, their history and what a save means live in
//! [`crate::editor`]. A save that starts a deployment is followed in the background and each
//! step of it is pushed to the saving student's pages as a `deploy` event.
//!
//! API (paths are site paths, e.g. `sub/wolf3d.yml`; only `*.yml`, `*.yaml`, `*.json`):
//! - `GET /api/site`: `{files, deleted, pending}`.
//! - `GET /api/site/{path}`: the file (`text`, `etag`, ...), with an `ETag` header.
//! - `PUT /api/site/{path}`: the body is the new text; `If-Match: <etag>` to replace,
//!   `If-None-Match: *` (or neither, for a new file) to create. Answers the save report:
//!   `{outcome: deployed|unchanged|not_deployed|failed|invalid, message, errors:[{file, line,
//!   col, message, fix}], app, deployment, file, ...}`. A stale ETag is a 412 and a missing
//!   one on an existing file a 428, both with the `current_etag`.
//! - `DELETE /api/site/{path}` with `If-Match`: deleted, restorable.
//! - `GET /api/site/{path}/history`: versions, newest first.
//! - `GET /api/site/{path}/history/{id}`: a version's text and its diff to the current text.
//! - `POST /api/site/{path}/restore` `{"version": id}` (`If-Match` when the file exists):
//!   written back, then deployed like a save.
//! - `POST /api/site/{path}/rename` `{"to": path}` with `If-Match`.
//! - `POST /api/site/redeploy`: sends the files saved while Marathon could not be reached.

mod access;
mod api;
mod page;
mod retry;

pub use page::{EditorPanel, site_page};

use super::{AppState, ServerEvent};
use crate::editor::{EditorError, SaveReport};
use crate::marathon::Marathon;
use crate::marathon::deploy::{FileResult, Outcome};
use crate::store::StudentId;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use futures_util::StreamExt;
use serde_json::json;

/// The editor's API routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/site", get(api::list)).route(
        "/api/site/{*rest}",
        get(api::get)
            .put(api::put)
            .delete(api::delete)
            .post(api::post),
    )
}

/// An API error: a status and `{"error": message, ...}`; never internal details.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: serde_json::Value,
    etag: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: json!({"error": message.into()}),
            etag: None,
        }
    }

    /// The message, for a page.
    pub fn message(&self) -> String {
        self.body["error"].as_str().unwrap_or("").to_owned()
    }

    /// 401: join the class first.
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "join the class first: open / in your browser",
        )
    }

    /// 403 with a message saying who may.
    pub fn forbidden(message: &str) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }

    /// 503: not possible right now, and why.
    pub fn unavailable(message: String) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    /// 400: the request itself is wrong.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 500, logged; the browser learns nothing of the cause.
    pub fn internal(error: &dyn std::fmt::Display) -> ApiError {
        tracing::error!("site editor request failed: {error}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "lab hit an internal error; the details are in the server log",
        )
    }

    /// The answer to an editor error. `sent_precondition`: whether the request said which
    /// version it expects (If-Match or If-None-Match); without one, changing an existing
    /// file is 428 rather than 412.
    pub fn from_editor(error: EditorError, sent_precondition: bool) -> ApiError {
        let message = error.to_string();
        match error {
            EditorError::BadPath { .. } => ApiError::bad_request(message),
            EditorError::TooLarge { .. } => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, message),
            EditorError::NotFound { .. } | EditorError::NoVersion { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, message)
            }
            EditorError::Exists { .. } => ApiError::new(StatusCode::CONFLICT, message),
            EditorError::NotText { .. } => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message),
            EditorError::Conflict { path, current_etag } => {
                let (status, message) = if sent_precondition || current_etag.is_none() {
                    (StatusCode::PRECONDITION_FAILED, message)
                } else {
                    (
                        StatusCode::PRECONDITION_REQUIRED,
                        format!(
                            "{path} exists: send If-Match with the ETag you opened it with (or `*` to overwrite it)"
                        ),
                    )
                };
                ApiError {
                    status,
                    body: json!({"error": message, "path": path, "current_etag": current_etag}),
                    etag: current_etag,
                }
            }
            EditorError::Io { .. } => ApiError::internal(&message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        if let Some(tag) = self.etag.and_then(|t| HeaderValue::from_str(&t).ok()) {
            response.headers_mut().insert(header::ETAG, tag);
        }
        response
    }
}

/// A deployment a save started: the file, its app, the deployment's id.
type Started = (String, String, String);

/// The deployments `report` started (the file's own, and those of the files below a
/// `globals.yml`).
fn started_by(report: &SaveReport) -> Vec<Started> {
    let mut started = Vec::new();
    if let (Some(deployment), Some(app)) = (&report.deployment, &report.app_id) {
        started.push((
            report.file.path.to_string(),
            app.clone(),
            deployment.deployment_id.clone(),
        ));
    }
    started.extend(started_in(&report.also_deployed));
    started
}

/// The deployments among `results`.
fn started_in(results: &[FileResult]) -> Vec<Started> {
    results
        .iter()
        .filter_map(|r| match (&r.outcome, &r.app) {
            (Outcome::Deployed { deployment }, Some(app)) => Some((
                r.file.clone(),
                app.clone(),
                deployment.deployment_id.clone(),
            )),
            _ => None,
        })
        .collect()
}

/// Follows each deployment in the background and pushes every step of it to the pages of
/// `student` (every page in solo mode) as a `deploy` event.
fn follow_deployments(
    state: &AppState,
    student: Option<StudentId>,
    marathon: &Marathon,
    started: Vec<Started>,
) {
    for (path, app, deployment) in started {
        let (state, marathon) = (state.clone(), marathon.clone());
        tokio::spawn(async move {
            let mut progress = std::pin::pin!(crate::editor::follow(&marathon, &deployment, &app));
            while let Some(step) = progress.next().await {
                let json =
                    json!({"path": path, "app": app, "deployment": deployment, "progress": step})
                        .to_string();
                state.publish(ServerEvent::Deploy { student, json });
            }
        });
    }
}
