//! The `/api/site` handlers. Each one takes the student from the session (see `access`),
//! checks the site path with [`crate::editor::SitePath`] (through the library calls), and
//! answers JSON; a save's outcome is in the body, with status 200, because a file that
//! does not render or deploy is still saved.

use super::super::AppState;
use super::super::session::Viewer;
use super::access::SiteAccess;
use super::{ApiError, follow_deployments, started_by, started_in};
use crate::editor::{EditorError, MAX_FILE_SIZE, SaveOutcome, SaveReport};
use crate::marathon::Marathon;
use crate::marathon::site::ProcessEnv;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use serde_json::json;
use std::time::Duration;

/// How long a client may take to send a file: site files are small, so a slow trickle is a
/// stuck or hostile client holding a connection.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest JSON body of restore and rename.
const SMALL_BODY: usize = 4096;

/// Where a save goes when the student's stack has no Marathon right now: nothing listens
/// there, so the file is saved and left pending, and sent when Marathon is back.
const NO_MARATHON: &str = "http://127.0.0.1:9";

/// What `/api/site/{*rest}` names: a file, or one of its sub-resources.
#[derive(Debug, PartialEq, Eq)]
enum Target<'a> {
    File(&'a str),
    History(&'a str),
    Version(&'a str, &'a str),
    Restore(&'a str),
    Rename(&'a str),
    Redeploy,
}

/// Site paths end in `.yml`, `.yaml` or `.json`, so the suffixes cannot be taken for files.
fn target(rest: &str) -> Target<'_> {
    if rest == "redeploy" {
        return Target::Redeploy;
    }
    if let Some(path) = rest.strip_suffix("/history") {
        return Target::History(path);
    }
    if let Some((path, id)) = rest.rsplit_once("/history/") {
        return Target::Version(path, id);
    }
    if let Some(path) = rest.strip_suffix("/restore") {
        return Target::Restore(path);
    }
    if let Some(path) = rest.strip_suffix("/rename") {
        return Target::Rename(path);
    }
    Target::File(rest)
}

fn not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "this method is not used on this address; see the site editor's API in the README",
    )
}

/// The If-Match the library takes, and whether the request sent a precondition at all.
/// `If-None-Match: *` means "create": the file must not exist.
fn precondition(headers: &HeaderMap) -> (Option<String>, bool) {
    let value = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .map(str::to_owned)
    };
    match (value(header::IF_MATCH), value(header::IF_NONE_MATCH)) {
        (Some(tag), _) => (Some(tag), true),
        (None, Some(none)) if none == "*" => (None, true),
        _ => (None, false),
    }
}

fn with_etag(mut response: Response, etag: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(header::ETAG, v);
    }
    response
}

/// Reads a body of at most `limit` bytes within [`BODY_TIMEOUT`].
async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
    too_large: impl Fn(u64) -> ApiError,
) -> Result<Vec<u8>, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(size) = declared.filter(|s| *s > limit as u64) {
        return Err(too_large(size));
    }
    match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(bytes.to_vec()),
        Ok(Err(_)) => Err(too_large(limit as u64 + 1)),
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the file did not arrive within {} seconds; save again",
                BODY_TIMEOUT.as_secs()
            ),
        )),
    }
}

/// A file's new text: at most [`MAX_FILE_SIZE`] bytes of UTF-8.
async fn read_text(path: &str, headers: &HeaderMap, body: Body) -> Result<String, ApiError> {
    let limit = usize::try_from(MAX_FILE_SIZE).unwrap_or(usize::MAX);
    let too_large = |size| {
        ApiError::from_editor(
            EditorError::TooLarge {
                path: path.to_owned(),
                size,
                limit: MAX_FILE_SIZE,
            },
            true,
        )
    };
    let bytes = read_body(body, headers, limit, too_large).await?;
    String::from_utf8(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "{path}: the text is not UTF-8 (at byte {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// A small JSON body (restore, rename).
async fn read_json<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
) -> Result<T, ApiError> {
    let bytes = read_body(body, headers, SMALL_BODY, |_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is too large",
        )
    })
    .await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(format!("the body is not the JSON this call takes: {e}"))
    })
}

/// `GET /api/site`: the files, the deleted files that can be restored, and the files
/// waiting for Marathon.
pub async fn list(State(state): State<AppState>, viewer: Viewer) -> Result<Response, ApiError> {
    let access = SiteAccess::of(&state, &viewer).await?;
    let files = access
        .folder
        .list()
        .map_err(|e| ApiError::from_editor(e, false))?;
    let pending = access
        .folder
        .pending()
        .map_err(|e| ApiError::from_editor(e, false))?;
    Ok(
        Json(json!({"files": files, "deleted": access.folder.deleted(), "pending": pending}))
            .into_response(),
    )
}

/// `GET /api/site/{path}`, `.../history`, `.../history/{id}`.
pub async fn get(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(rest): Path<String>,
) -> Result<Response, ApiError> {
    let access = SiteAccess::of(&state, &viewer).await?;
    let folder = &access.folder;
    let editor = |e| ApiError::from_editor(e, false);
    match target(&rest) {
        Target::File(path) => {
            let file = folder.read(path).map_err(editor)?;
            let etag = file.info.etag.clone();
            Ok(with_etag(Json(file).into_response(), &etag))
        }
        Target::History(path) => Ok(Json(
            json!({"path": path, "versions": folder.history(path).map_err(editor)?}),
        )
        .into_response()),
        Target::Version(path, id) => {
            let version = folder.version(path, id).map_err(editor)?;
            let diff = folder.diff(path, id).map_err(editor)?;
            Ok(Json(json!({"path": path, "version": version.version, "text": version.text, "diff": diff})).into_response())
        }
        Target::Restore(_) | Target::Rename(_) | Target::Redeploy => Err(not_allowed()),
    }
}

/// `PUT /api/site/{path}`: save = write + render + deploy.
pub async fn put(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(rest): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let Target::File(path) = target(&rest) else {
        return Err(not_allowed());
    };
    let access = SiteAccess::of(&state, &viewer).await?;
    let (if_match, sent) = precondition(&headers);
    let text = read_text(path, &headers, body).await?;
    save(&access, path, &text, if_match.as_deref(), sent).await
}

/// Saves and deploys, follows what was deployed, answers the report.
async fn save(
    access: &SiteAccess,
    path: &str,
    text: &str,
    if_match: Option<&str>,
    sent: bool,
) -> Result<Response, ApiError> {
    let marathon = access.marathon().await;
    let offline = marathon.is_none();
    let marathon =
        marathon.unwrap_or_else(|| Marathon::with_timeout(NO_MARATHON, Duration::from_secs(1)));
    let mut report = access
        .folder
        .save(path, text, if_match, &marathon, &ProcessEnv)
        .await
        .map_err(|e| ApiError::from_editor(e, sent))?;
    if offline && report.outcome == SaveOutcome::NotDeployed {
        report.message = "saved, not deployed: your stack is not running; the file is sent to Marathon when it is".into();
    }
    if report.outcome == SaveOutcome::NotDeployed {
        super::retry::retry_pending(access);
    }
    follow_deployments(
        access.state(),
        access.student,
        &marathon,
        started_by(&report),
    );
    if !offline
        && matches!(
            report.outcome,
            SaveOutcome::Deployed | SaveOutcome::Unchanged
        )
    {
        send_pending_later(access, marathon);
    }
    Ok(report_response(&report))
}

fn report_response(report: &SaveReport) -> Response {
    with_etag(Json(report).into_response(), &report.file.etag)
}

/// Marathon answered: whatever was left waiting for it goes too, in the background.
fn send_pending_later(access: &SiteAccess, marathon: Marathon) {
    if access.folder.pending().map_or(true, |p| p.is_empty()) {
        return;
    }
    let (folder, state, student) = (
        access.folder.clone(),
        access.state().clone(),
        access.student,
    );
    tokio::spawn(async move {
        match folder.redeploy_pending(&marathon, &ProcessEnv).await {
            Ok(run) => follow_run(&state, student, &marathon, &run),
            Err(e) => tracing::warn!("cannot send the files waiting for Marathon: {e}"),
        }
    });
}

pub(super) fn follow_run(
    state: &AppState,
    student: Option<crate::store::StudentId>,
    marathon: &Marathon,
    run: &crate::editor::PendingRun,
) {
    follow_deployments(state, student, marathon, started_in(&run.results));
}

/// `DELETE /api/site/{path}` with `If-Match`: the file goes to the deleted files.
pub async fn delete(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(rest): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Target::File(path) = target(&rest) else {
        return Err(not_allowed());
    };
    let access = SiteAccess::of(&state, &viewer).await?;
    let (if_match, sent) = precondition(&headers);
    let version = access
        .folder
        .delete(path, if_match.as_deref())
        .map_err(|e| ApiError::from_editor(e, sent))?;
    Ok(Json(json!({"path": path, "deleted": version})).into_response())
}

/// `{"version": id}`.
#[derive(serde::Deserialize)]
struct RestoreBody {
    version: String,
}

/// `{"to": path}`.
#[derive(serde::Deserialize)]
struct RenameBody {
    to: String,
}

/// `POST /api/site/{path}/restore`, `.../rename`, `/api/site/redeploy`.
pub async fn post(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(rest): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let access = SiteAccess::of(&state, &viewer).await?;
    let (if_match, sent) = precondition(&headers);
    match target(&rest) {
        Target::Restore(path) => {
            let RestoreBody { version } = read_json(&headers, body).await?;
            let restored = access
                .folder
                .restore(path, &version, if_match.as_deref())
                .map_err(|e| ApiError::from_editor(e, sent))?;
            // A restore is a save: the text goes to Marathon like any other.
            let text = access
                .folder
                .read(path)
                .map_err(|e| ApiError::from_editor(e, true))?
                .text;
            save(&access, path, &text, Some(&restored.etag), true).await
        }
        Target::Rename(path) => {
            let RenameBody { to } = read_json(&headers, body).await?;
            let info = access
                .folder
                .rename(path, &to, if_match.as_deref())
                .map_err(|e| ApiError::from_editor(e, sent))?;
            let etag = info.etag.clone();
            Ok(with_etag(Json(info).into_response(), &etag))
        }
        Target::Redeploy => {
            let marathon = access.marathon().await.ok_or_else(|| {
                ApiError::unavailable(
                    "Your stack is not running, so there is no Marathon to send the files to."
                        .into(),
                )
            })?;
            let run = access
                .folder
                .redeploy_pending(&marathon, &ProcessEnv)
                .await
                .map_err(|e| ApiError::from_editor(e, true))?;
            follow_run(access.state(), access.student, &marathon, &run);
            Ok(
                Json(json!({"results": run.results, "still_pending": run.still_pending}))
                    .into_response(),
            )
        }
        Target::File(_) | Target::History(_) | Target::Version(..) => Err(not_allowed()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_name_sub_resources_and_never_files() {
        assert_eq!(target("a.yml"), Target::File("a.yml"));
        assert_eq!(target("sub/a.yml/history"), Target::History("sub/a.yml"));
        assert_eq!(
            target("a.yml/history/001-saved-x"),
            Target::Version("a.yml", "001-saved-x")
        );
        assert_eq!(target("a.yml/restore"), Target::Restore("a.yml"));
        assert_eq!(target("a.yml/rename"), Target::Rename("a.yml"));
        assert_eq!(target("redeploy"), Target::Redeploy);
        assert_eq!(
            target("history"),
            Target::File("history"),
            "refused later: not a site file name"
        );
    }
}
