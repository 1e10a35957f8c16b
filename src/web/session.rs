//! Who is asking: solo mode has one implicit student; in a classroom the session cookie
//! names a student or the instructor, and anyone else is a visitor who may only see the
//! join page. Every handler that shows or changes a student's things takes the student from
//! here — never from the request's path, query or body.

use super::{AppState, Mode};
use crate::store::StudentId;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use std::convert::Infallible;

/// The session cookie's name.
pub const COOKIE: &str = "lab_session";

/// Who the request is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// Solo mode: the one student.
    Solo(StudentId),
    /// A signed-in student of the class.
    Student {
        /// Their id.
        id: StudentId,
        /// Their display name.
        name: String,
    },
    /// The signed-in instructor.
    Instructor,
    /// Nobody signed in (classroom mode only).
    Anonymous,
}

impl Viewer {
    /// The student whose pages these are, if any.
    pub fn student(&self) -> Option<StudentId> {
        match self {
            Viewer::Solo(id) | Viewer::Student { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// Whether this is a signed-in classroom student.
    pub fn is_class_student(&self) -> bool {
        matches!(self, Viewer::Student { .. })
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Viewer, Infallible> {
        if let Some(viewer) = parts.extensions.get::<Viewer>() {
            return Ok(viewer.clone());
        }
        let viewer = match &state.mode {
            Mode::Solo { student, .. } => Viewer::Solo(*student),
            Mode::Classroom(classroom) => {
                let jar = CookieJar::from_headers(&parts.headers);
                let token = jar.get(COOKIE).map(|c| c.value().to_owned());
                let found = match token {
                    Some(token) => classroom.viewer(&token).await.unwrap_or_else(|e| {
                        tracing::warn!("cannot read a session: {e}");
                        None
                    }),
                    None => None,
                };
                match found {
                    Some(crate::classroom::Viewer::Student { id, name }) => {
                        classroom.touch(id);
                        Viewer::Student { id, name }
                    }
                    Some(crate::classroom::Viewer::Instructor) => Viewer::Instructor,
                    None => Viewer::Anonymous,
                }
            }
        };
        parts.extensions.insert(viewer.clone());
        Ok(viewer)
    }
}

/// The session cookie: HttpOnly, SameSite=Lax, and Secure when the page came over HTTPS
/// (directly, or through a proxy that says so).
pub fn session_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build((COOKIE, token)).path("/").http_only(true).same_site(SameSite::Lax).secure(secure).permanent().build()
}

/// A cookie that removes the session.
pub fn cleared_cookie() -> Cookie<'static> {
    Cookie::build((COOKIE, "")).path("/").http_only(true).same_site(SameSite::Lax).removal().build()
}

/// The session token of a request, if it carries one.
pub fn token(headers: &axum::http::HeaderMap) -> Option<String> {
    CookieJar::from_headers(headers).get(COOKIE).map(|c| c.value().to_owned())
}

/// Whether the request reached lab over HTTPS (a reverse proxy says so in
/// `X-Forwarded-Proto`; lab itself serves plain HTTP).
pub fn over_https(headers: &axum::http::HeaderMap) -> bool {
    headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("https"))
}
