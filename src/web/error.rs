//! Errors a page can end in, rendered as friendly HTML. Internal details go to the log,
//! never to the browser; content errors are shown in full because they are the author's
//! to fix and name only their own files.

use crate::course::ContentError;
use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// A link offered on an error page.
#[derive(Debug, Clone)]
pub struct Link {
    /// Target URL.
    pub href: String,
    /// Link text.
    pub label: String,
}

impl Link {
    /// A link to `href` labelled `label`.
    pub fn new(href: impl Into<String>, label: impl Into<String>) -> Self {
        Link { href: href.into(), label: label.into() }
    }
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Nothing at this address; `links` suggest where to go instead.
    #[error("not found: {message}")]
    NotFound {
        /// What was missing, in words.
        message: String,
        /// Where to go instead.
        links: Vec<Link>,
    },
    /// The lab or deck exists but its files are broken.
    #[error("content error: {0}")]
    Content(ContentError),
    /// The request names a host lab does not answer to (421): a mistyped address, or a
    /// foreign site's name pointed at this machine (DNS rebinding).
    #[error("wrong host {host:?}")]
    WrongHost {
        /// The host the request named (shortened).
        host: String,
        /// lab's own address, to offer instead.
        suggestion: Option<String>,
    },
    /// A request that changes something came from another site's page (403).
    #[error("cross-site request refused")]
    CrossSite,
    /// lab is at its limit of open event streams (503, try again later).
    #[error("too many open event streams")]
    Busy,
    /// The viewer may not do or see this (403); the message says who may.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The request's values are unusable (422); the message says what to send instead.
    #[error("invalid: {0}")]
    Invalid(String),
    /// Something the request needs is not available right now (503); the message says what.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Anything else; logged, shown only as a generic message.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl WebError {
    /// A 404 with a message and suggested links (home is always offered).
    pub fn not_found(message: impl Into<String>, mut links: Vec<Link>) -> Self {
        links.push(Link::new("/", "All labs"));
        WebError::NotFound { message: message.into(), links }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    heading: &'a str,
    message: &'a str,
    content_error: Option<&'a ContentError>,
    links: &'a [Link],
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let home = [Link::new("/", "All labs")];
        let wrong_host_message;
        let suggested;
        let (status, page) = match &self {
            WebError::NotFound { message, links } => (
                StatusCode::NOT_FOUND,
                ErrorPage { status: 404, heading: "Page not found", message, content_error: None, links },
            ),
            WebError::Content(err) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorPage {
                    status: 500,
                    heading: "This content has an error",
                    message: "lab could not load this page because one of its files is broken. Fix the file and save: the page reloads by itself.",
                    content_error: Some(err),
                    links: &home,
                },
            ),
            WebError::WrongHost { host, suggestion } => {
                wrong_host_message = format!(
                    "lab does not answer to the name “{host}”. Open it with the address it was started with{}.",
                    if suggestion.is_some() { " (below)" } else { "" }
                );
                suggested = suggestion.iter().map(|s| Link::new(s.clone(), s.clone())).collect::<Vec<_>>();
                (
                    StatusCode::MISDIRECTED_REQUEST,
                    ErrorPage { status: 421, heading: "Wrong address for lab", message: &wrong_host_message, content_error: None, links: &suggested },
                )
            }
            WebError::CrossSite => (
                StatusCode::FORBIDDEN,
                ErrorPage {
                    status: 403,
                    heading: "Refused: this request came from another site",
                    message: "lab only accepts changes (such as the Check button) from its own pages. Open lab at its own address and try again from there.",
                    content_error: None,
                    links: &home,
                },
            ),
            WebError::Busy => {
                let page = ErrorPage {
                    status: 503,
                    heading: "lab is busy",
                    message: "Too many pages are following live updates right now. This page works without them; reload in a little while to get them back.",
                    content_error: None,
                    links: &home,
                };
                // Closing the connection gives its slot back at once.
                let headers = [(header::RETRY_AFTER, "10"), (header::CONNECTION, "close")];
                return (StatusCode::SERVICE_UNAVAILABLE, headers, render(&page)).into_response();
            }
            WebError::Forbidden(message) => (
                StatusCode::FORBIDDEN,
                ErrorPage { status: 403, heading: "Not for you", message, content_error: None, links: &home },
            ),
            WebError::Invalid(message) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorPage { status: 422, heading: "Cannot use that", message, content_error: None, links: &home },
            ),
            WebError::Unavailable(message) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorPage { status: 503, heading: "Not possible right now", message, content_error: None, links: &home },
            ),
            WebError::Internal(err) => {
                tracing::error!("request failed: {err:#}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorPage {
                        status: 500,
                        heading: "Something went wrong",
                        message: "lab hit an internal error. The details are in the server log.",
                        content_error: None,
                        links: &home,
                    },
                )
            }
        };
        (status, render(&page)).into_response()
    }
}

/// The page as HTML; a plain word if the template fails (logged).
fn render(page: &ErrorPage<'_>) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(err) => {
            tracing::error!("cannot render the error page: {err}");
            "error".into_response()
        }
    }
}
