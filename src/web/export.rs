//! The class's results for the instructor: `GET /instructor/export.csv` (a download) and
//! `GET /api/class` (JSON), both computed from the board (see `classroom::export`).

use super::board::{classroom, instructor_only};
use super::session::Viewer;
use super::{AppState, WebError};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Json, Response};

/// `GET /instructor/export.csv`.
pub async fn csv(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    let classroom = classroom(&state)?;
    instructor_only(&viewer)?;
    let board = classroom.board().await.map_err(anyhow::Error::from)?;
    let body = crate::classroom::export::csv(&board).map_err(anyhow::Error::from)?;
    let name = format!("attachment; filename=\"class-{}.csv\"", classroom.lab_id().replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_"));
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, name)], body).into_response())
}

/// `GET /api/class`.
pub async fn json(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    let classroom = classroom(&state)?;
    instructor_only(&viewer)?;
    let board = classroom.board().await.map_err(anyhow::Error::from)?;
    Ok(Json(crate::classroom::export::json(&board, &classroom.lab_id())).into_response())
}
