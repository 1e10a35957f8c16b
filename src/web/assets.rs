//! Static files: the UI's own CSS/JS (compiled in) and course images (`/files/...`), both
//! with strong ETags so browsers revalidate cheaply. Compression is applied by the router.
//! Requested paths are plain relative paths or nothing: `..`, `.`, empty segments and
//! backslashes are a 404 before any lookup (rust-embed reads from disk in debug builds).

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
    let asset = safe_path(&file).and_then(Static::get).ok_or_else(|| WebError::not_found(format!("no static file `{file}`"), vec![]))?;
    let etag = format!("\"{}\"", crate::digest::hex(&asset.metadata.sha256_hash()[..12]));
    Ok(respond(&headers, &etag, asset.metadata.mimetype(), asset.data.into_owned()))
}

/// `GET /files/{*path}`: images that course pages link to.
pub async fn content_file(State(state): State<AppState>, Path(path): Path<String>, headers: HeaderMap) -> Result<Response, WebError> {
    let course = state.course();
    let asset = safe_path(&path).and_then(|p| course.asset(p)).ok_or_else(|| WebError::not_found(format!("no course file `{path}`"), vec![]))?;
    Ok(respond(&headers, &asset.etag, asset.mime, asset.bytes.to_vec()))
}

/// `path` when it is a plain relative path (segments that are neither empty, `.` nor `..`,
/// no backslash or control character); `None` otherwise. The router has already decoded
/// `%2e%2e` and `%2f`, so this sees what a file lookup would.
fn safe_path(path: &str) -> Option<&str> {
    let plain = |segment: &str| !segment.is_empty() && segment != "." && segment != "..";
    let clean = !path.contains('\\') && !path.chars().any(char::is_control);
    (clean && path.split('/').all(plain)).then_some(path)
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

#[cfg(test)]
mod tests {
    use super::safe_path;

    #[test]
    fn only_plain_relative_paths_are_looked_up() {
        for ok in ["lab.css", "slides/images/stack.svg", "labs/a/images/x..y.png", ".well"] {
            assert_eq!(safe_path(ok), Some(ok), "{ok}");
        }
        for bad in ["", "/etc/passwd", "../Cargo.toml", "labs/../../etc/passwd", "labs/./x.svg", "labs//x.svg", "labs/x/", "..", "a\\..\\b", "a\0b"] {
            assert_eq!(safe_path(bad), None, "{bad:?}");
        }
    }
}
