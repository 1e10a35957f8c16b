//! Static files: the UI's own CSS/JS (compiled in) and course images (`/files/...`), both
//! with strong ETags so browsers revalidate cheaply. Compression is applied by the router.

use super::{AppState, WebError};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "templates/static/"]
struct Static;

/// `GET /static/{*file}`.
pub async fn static_file(Path(file): Path<String>, headers: HeaderMap) -> Result<Response, WebError> {
    let asset = Static::get(&file).ok_or_else(|| WebError::not_found(format!("no static file `{file}`"), vec![]))?;
    let etag = format!("\"{}\"", crate::digest::hex(&asset.metadata.sha256_hash()[..12]));
    Ok(respond(&headers, &etag, asset.metadata.mimetype(), asset.data.into_owned()))
}

/// `GET /files/{*path}`: images that course pages link to.
pub async fn content_file(State(state): State<AppState>, Path(path): Path<String>, headers: HeaderMap) -> Result<Response, WebError> {
    let course = state.course();
    let asset = course.asset(&path).ok_or_else(|| WebError::not_found(format!("no course file `{path}`"), vec![]))?;
    Ok(respond(&headers, &asset.etag, asset.mime, asset.bytes.to_vec()))
}

/// 304 when the browser already has this version, else the bytes.
fn respond(request: &HeaderMap, etag: &str, mime: &str, body: Vec<u8>) -> Response {
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag || tag.trim() == "*"));
    let etag = HeaderValue::from_str(etag).unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
    let cache = HeaderValue::from_static("no-cache");
    if fresh {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag), (header::CACHE_CONTROL, cache)]).into_response();
    }
    let mime = HeaderValue::from_str(mime).unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    ([(header::CONTENT_TYPE, mime), (header::ETAG, etag), (header::CACHE_CONTROL, cache)], body).into_response()
}
