//! One student, for the instructor: `/instructor/students/{id}` (the page),
//! `/api/class/students/{id}` (the same as JSON), and the student's stack controls
//! `POST /instructor/students/{id}/{start,stop,reset}` (reset asks first, on its own page).
//! Instructor only; the page refreshes itself when the board says this student changed.

use super::board::{classroom, instructor_only};
use super::session::Viewer;
use super::{AppState, WebError};
use crate::classroom::Classroom;
use crate::classroom::student::{Section, StudentDetail};
use crate::store::StudentId;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Redirect, Response};

fn missing() -> WebError {
    WebError::not_found("there is no such student in this class", vec![super::error::Link::new("/instructor", "The board")])
}

/// The student `raw` names and their name, if they are in this class (404 otherwise: ids
/// are not secret, but another class's students are not this instructor's business).
async fn member(classroom: &Classroom, raw: &str) -> Result<(StudentId, String), WebError> {
    let id = StudentId(raw.parse().map_err(|_| missing())?);
    let name = classroom.member_name(id).await.map_err(anyhow::Error::from)?.ok_or_else(missing)?;
    Ok((id, name))
}

/// Everything the student's page shows (read live: Marathon, the engine, their files).
async fn detail(classroom: &Classroom, raw: &str) -> Result<StudentDetail, WebError> {
    let (id, _) = member(classroom, raw).await?;
    classroom.student_detail(id).await.map_err(anyhow::Error::from)?.ok_or_else(missing)
}

#[derive(Template, WebTemplate)]
#[template(path = "instructor_student.html")]
struct StudentPage {
    d: StudentDetail,
}

impl StudentPage {
    /// The stack in words, as the board says it ("queued #3", "starting: …", "ready").
    fn stack_label(&self) -> String {
        crate::classroom::board::StackSummary::of(&self.d.stack).label
    }

    fn shown<T>(section: &Section<T>) -> Option<&T> {
        match section {
            Section::Shown(v) => Some(v),
            Section::Unavailable(_) => None,
        }
    }

    fn why<T>(section: &Section<T>) -> &str {
        match section {
            Section::Shown(_) => "",
            Section::Unavailable(why) => why,
        }
    }
}

/// `GET /instructor/students/{id}`.
pub async fn page(State(state): State<AppState>, viewer: Viewer, Path(id): Path<String>) -> Result<Response, WebError> {
    let classroom = classroom(&state)?;
    instructor_only(&viewer)?;
    Ok(StudentPage { d: detail(classroom, &id).await? }.into_response())
}

/// `GET /api/class/students/{id}`.
pub async fn json(State(state): State<AppState>, viewer: Viewer, Path(id): Path<String>) -> Result<Response, WebError> {
    let classroom = classroom(&state)?;
    instructor_only(&viewer)?;
    Ok(Json(detail(classroom, &id).await?).into_response())
}

/// What a stack action answers: JSON for scripts, else back to the student's page.
fn answer(headers: &HeaderMap, id: StudentId, view: &crate::classroom::StackView) -> Response {
    let json = headers.get("accept").and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("application/json"));
    if json { Json(view).into_response() } else { Redirect::to(&format!("/instructor/students/{}", id.0)).into_response() }
}

/// `POST /instructor/students/{id}/start`.
pub async fn start(State(state): State<AppState>, viewer: Viewer, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, WebError> {
    let classroom = classroom(&state)?;
    instructor_only(&viewer)?;
    let (student, _) = member(classroom, &id).await?;
    let view = classroom.start(student).await.map_err(|e| WebError::Unavailable(e.to_string()))?;
    Ok(answer(&headers, student, &view))
}

/// `POST /instructor/students/{id}/stop`.
pub async fn stop(State(state): State<AppState>, viewer: Viewer, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, WebError> {
    let classroom = classroom(&state)?;
    instructor_only(&viewer)?;
    let (student, _) = member(classroom, &id).await?;
    let view = classroom.stop(student).await.map_err(|e| WebError::Unavailable(e.to_string()))?;
    Ok(answer(&headers, student, &view))
}

#[derive(Template, WebTemplate)]
#[template(path = "instructor_reset.html")]
struct ResetPage {
    id: i64,
    name: String,
}

/// `GET /instructor/students/{id}/reset`: asks first.
pub async fn reset_page(State(state): State<AppState>, viewer: Viewer, Path(id): Path<String>) -> Result<Response, WebError> {
    let classroom = classroom(&state)?;
    instructor_only(&viewer)?;
    let (student, name) = member(classroom, &id).await?;
    Ok(ResetPage { id: student.0, name }.into_response())
}

/// `confirm=yes`.
#[derive(serde::Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    confirm: String,
}

/// `POST /instructor/students/{id}/reset` with `confirm=yes`: a fresh stack and site for
/// the student; their site folder is kept beside it.
pub async fn reset(State(state): State<AppState>, viewer: Viewer, headers: HeaderMap, Path(id): Path<String>, axum::Form(form): axum::Form<ResetForm>) -> Result<Response, WebError> {
    let classroom = classroom(&state)?;
    instructor_only(&viewer)?;
    let (student, name) = member(classroom, &id).await?;
    if form.confirm != "yes" {
        return Ok((StatusCode::BAD_REQUEST, ResetPage { id: student.0, name }).into_response());
    }
    let view = classroom.reset(student).await.map_err(|e| WebError::Unavailable(e.to_string()))?;
    Ok(answer(&headers, student, &view))
}
