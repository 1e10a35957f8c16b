//! The instructor's class controls, as `POST /instructor/...` forms on the board (each
//! answers with the board again, or JSON for `Accept: application/json`): start or stop
//! every stack, open or close joining, a new join code, idle stopping, end the class. Only
//! the instructor's session may use them; the router's same-origin guard stops other sites.

use super::board::{classroom, instructor_only};
use super::session::Viewer;
use super::{AppState, WebError};
use crate::classroom::controls::ControlError;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Json, Redirect, Response};

fn done(headers: &HeaderMap, what: serde_json::Value) -> Response {
    let json = headers.get("accept").and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("application/json"));
    if json { Json(what).into_response() } else { Redirect::to("/instructor").into_response() }
}

fn refused(e: ControlError) -> WebError {
    match e {
        ControlError::BadCode => WebError::Invalid(e.to_string()),
        ControlError::Ended => WebError::Unavailable(e.to_string()),
        ControlError::Class(e) => WebError::Unavailable(e.to_string()),
    }
}

/// `POST /instructor/start-all`: every student's stack is queued (within capacity).
pub async fn start_all(State(state): State<AppState>, viewer: Viewer, headers: HeaderMap) -> Result<Response, WebError> {
    let classroom = classroom(&state)?;
    instructor_only(&viewer)?;
    let n = classroom.start_all().await.map_err(refused)?;
    Ok(done(&headers, serde_json::json!({"queued": n})))
}

/// `POST /instructor/stop-all`.
pub async fn stop_all(State(state): State<AppState>, viewer: Viewer, headers: HeaderMap) -> Result<Response, WebError> {
    let classroom = classroom(&state)?;
    instructor_only(&viewer)?;
    let n = classroom.stop_all().await.map_err(refused)?;
    Ok(done(&headers, serde_json::json!({"stopped": n})))
}

/// `open=yes|no`.
#[derive(serde::Deserialize)]
pub struct JoiningForm {
    open: String,
}

/// `POST /instructor/joining`: opens (`open=yes`) or closes joining.
pub async fn joining(State(state): State<AppState>, viewer: Viewer, headers: HeaderMap, axum::Form(form): axum::Form<JoiningForm>) -> Result<Response, WebError> {
    let classroom = classroom(&state)?;
    instructor_only(&viewer)?;
    let open = match form.open.as_str() {
        "yes" => true,
        "no" => false,
        _ => return Err(WebError::Invalid("send open=yes or open=no".into())),
    };
    classroom.set_joining(open).await.map_err(refused)?;
    Ok(done(&headers, serde_json::json!({"joining_open": open})))
}

/// `code=...`.
#[derive(serde::Deserialize)]
pub struct CodeForm {
    code: String,
}

/// `POST /instructor/join-code`: a new join code for students still to join.
pub async fn join_code(State(state): State<AppState>, viewer: Viewer, headers: HeaderMap, axum::Form(form): axum::Form<CodeForm>) -> Result<Response, WebError> {
    let classroom = classroom(&state)?;
    instructor_only(&viewer)?;
    let code = classroom.set_join_code(&form.code).await.map_err(refused)?;
    Ok(done(&headers, serde_json::json!({"join_code": code})))
}

/// `idle=60m` (`0`: never).
#[derive(serde::Deserialize)]
pub struct IdleForm {
    idle: String,
}

/// `POST /instructor/idle`: extends, shortens or disables idle stopping.
pub async fn idle(State(state): State<AppState>, viewer: Viewer, headers: HeaderMap, axum::Form(form): axum::Form<IdleForm>) -> Result<Response, WebError> {
    let classroom = classroom(&state)?;
    instructor_only(&viewer)?;
    let idle = crate::classroom::config::parse_duration(&form.idle).map_err(WebError::Invalid)?;
    classroom.set_idle(idle).await.map_err(refused)?;
    Ok(done(&headers, serde_json::json!({"idle": crate::classroom::config::show_duration(idle)})))
}

/// `confirm=yes`.
#[derive(serde::Deserialize)]
pub struct EndForm {
    #[serde(default)]
    confirm: String,
}

/// `POST /instructor/end` with `confirm=yes`: stops every stack and closes the class.
pub async fn end(State(state): State<AppState>, viewer: Viewer, headers: HeaderMap, axum::Form(form): axum::Form<EndForm>) -> Result<Response, WebError> {
    let classroom = classroom(&state)?;
    instructor_only(&viewer)?;
    if form.confirm != "yes" {
        return Err(WebError::Invalid("tick the box to confirm that the class ends (every stack stops; the records stay)".into()));
    }
    classroom.end().await.map_err(refused)?;
    Ok(done(&headers, serde_json::json!({"ended": true})))
}
