//! A small Marathon REST client (reqwest): what deploying and checking need, with errors a
//! student can act on — an unreachable Marathon says "is your stack up?", a 409 says which
//! deployments hold the app, a 422 carries Marathon's per-field details.

use super::app::{App, Deployment, Task};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::Duration;

/// Why a Marathon call failed.
#[derive(Debug, thiserror::Error)]
pub enum MarathonError {
    /// Nothing answered at the URL.
    #[error("cannot reach Marathon at {url}: {reason}. Is your stack up? (`lab up`)")]
    Unreachable {
        /// Marathon's base URL.
        url: String,
        /// The connection error.
        reason: String,
    },
    /// A deployment holds the app (409 without force).
    #[error("app is locked by deployment(s) {}", .deployments.join(", "))]
    Locked {
        /// The deployments in the way.
        deployments: Vec<String>,
    },
    /// The app already exists (409 on POST).
    #[error("{message}")]
    Exists {
        /// Marathon's message.
        message: String,
    },
    /// Marathon rejected the definition (400/422).
    #[error("Marathon rejected the app: {message}")]
    Invalid {
        /// Marathon's summary.
        message: String,
        /// Per-field problems: (path as Marathon wrote it, messages).
        details: Vec<(String, Vec<String>)>,
    },
    /// An app id that is not a Marathon path (it could address other endpoints).
    #[error("app id `{id}` is not valid: {problem}")]
    BadId {
        /// The id.
        id: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A success status whose body is not what Marathon sends (a proxy, another server).
    #[error("the answer from {url} is not Marathon's ({status}: {body}); is that URL your Marathon?")]
    Unexpected {
        /// Marathon's base URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// Response body (shortened).
        body: String,
    },
    /// lab could not set up its HTTP client, so nothing was sent.
    #[error("{0}")]
    Client(String),
    /// Anything else Marathon answered with.
    #[error("Marathon answered {status}: {body}")]
    Http {
        /// HTTP status.
        status: u16,
        /// Response body (shortened).
        body: String,
    },
}

/// lab could not set up its HTTP client (see [`crate::net::ClientError`]).
impl From<crate::net::ClientError> for MarathonError {
    fn from(err: crate::net::ClientError) -> Self {
        MarathonError::Client(err.to_string())
    }
}

/// What a deployment-creating call returns.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentRef {
    /// The deployment's id.
    pub deployment_id: String,
    /// The app version it deploys.
    pub version: Option<String>,
}

/// A Marathon endpoint. Requests go through the process's shared client.
#[derive(Debug, Clone)]
pub struct Marathon {
    base: String,
    timeout: Duration,
}

impl Marathon {
    /// A client for the Marathon at `url` (e.g. `http://localhost:8080`).
    pub fn new(url: &str) -> Marathon {
        Marathon::with_timeout(url, Duration::from_secs(10))
    }

    /// A client whose requests give up after `timeout`.
    pub fn with_timeout(url: &str, timeout: Duration) -> Marathon {
        Marathon { base: url.trim_end_matches('/').to_owned(), timeout }
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<(StatusCode, reqwest::header::HeaderMap, Value), MarathonError> {
        let mut request = crate::net::http_client()?.request(method, format!("{}{path}", self.base)).timeout(self.timeout);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| MarathonError::Unreachable { url: self.base.clone(), reason: reason(&e) })?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.map_err(|e| MarathonError::Unreachable { url: self.base.clone(), reason: reason(&e) })?;
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, headers, json))
    }

    /// `GET /ping`.
    pub async fn ping(&self) -> Result<(), MarathonError> {
        let (status, _, body) = self.call(Method::GET, "/ping", None).await?;
        if status.is_success() { Ok(()) } else { Err(http_error(status, &body)) }
    }

    /// `GET /v2/info`.
    pub async fn info(&self) -> Result<Value, MarathonError> {
        self.get_json("/v2/info").await
    }

    async fn get_json(&self, path: &str) -> Result<Value, MarathonError> {
        let (status, _, body) = self.call(Method::GET, path, None).await?;
        if status.is_success() { Ok(body) } else { Err(http_error(status, &body)) }
    }

    /// `GET /v2/apps?embed=apps.tasks&embed=apps.counts&embed=apps.deployments`.
    pub async fn apps(&self) -> Result<Vec<App>, MarathonError> {
        let body = self.get_json("/v2/apps?embed=apps.tasks&embed=apps.counts&embed=apps.deployments").await?;
        match body.get("apps").and_then(Value::as_array) {
            Some(apps) => Ok(apps.iter().cloned().map(App::new).collect()),
            None => Err(self.unexpected(StatusCode::OK, &body)),
        }
    }

    fn unexpected(&self, status: StatusCode, body: &Value) -> MarathonError {
        MarathonError::Unexpected { url: self.base.clone(), status: status.as_u16(), body: short(body) }
    }

    /// `GET /v2/apps/{id}` with tasks, counts and deployments; `None` if it does not exist.
    pub async fn app(&self, id: &str) -> Result<Option<App>, MarathonError> {
        let (status, _, body) = self.call(Method::GET, &format!("/v2/apps{}?embed=app.tasks&embed=app.counts&embed=app.deployments", app_path(id)?), None).await?;
        match status {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => match body.get("app").filter(|a| a.is_object()) {
                Some(app) => Ok(Some(App::new(app.clone()))),
                None => Err(self.unexpected(s, &body)),
            },
            s => Err(http_error(s, &body)),
        }
    }

    /// `PUT /v2/apps/{id}`: create or update.
    pub async fn put_app(&self, id: &str, app: &Value, force: bool) -> Result<DeploymentRef, MarathonError> {
        let path = format!("/v2/apps{}{}", app_path(id)?, if force { "?force=true" } else { "" });
        let (status, headers, body) = self.call(Method::PUT, &path, Some(app)).await?;
        deployment_result(status, &headers, &body, &self.base)
    }

    /// `POST /v2/apps`: create.
    pub async fn post_app(&self, app: &Value) -> Result<DeploymentRef, MarathonError> {
        let (status, headers, body) = self.call(Method::POST, "/v2/apps", Some(app)).await?;
        deployment_result(status, &headers, &body, &self.base)
    }

    /// `DELETE /v2/apps/{id}`.
    pub async fn delete_app(&self, id: &str) -> Result<DeploymentRef, MarathonError> {
        let (status, headers, body) = self.call(Method::DELETE, &format!("/v2/apps{}?force=true", app_path(id)?), None).await?;
        deployment_result(status, &headers, &body, &self.base)
    }

    /// `GET /v2/tasks`.
    pub async fn tasks(&self) -> Result<Vec<Task>, MarathonError> {
        let body = self.get_json("/v2/tasks").await?;
        Ok(body.get("tasks").and_then(Value::as_array).map(|t| t.iter().map(Task::from_json).collect()).unwrap_or_default())
    }

    /// `GET /v2/queue`: the apps with instances still to launch (see [`super::queue`]).
    pub async fn queue(&self) -> Result<Vec<super::queue::QueueEntry>, MarathonError> {
        let body = self.get_json("/v2/queue").await?;
        super::queue::parse(&body).ok_or_else(|| self.unexpected(StatusCode::OK, &body))
    }

    /// `GET /v2/deployments`.
    pub async fn deployments(&self) -> Result<Vec<Deployment>, MarathonError> {
        let body = self.get_json("/v2/deployments").await?;
        Ok(body.as_array().map(|d| d.iter().map(Deployment::from_json).collect()).unwrap_or_default())
    }
}

/// An app id with its leading `/` (Marathon accepts both spellings).
pub fn normalize_id(id: &str) -> String {
    if id.starts_with('/') { id.to_owned() } else { format!("/{id}") }
}

/// The id as a URL path, refused unless it is a valid Marathon app id: a `..` segment or
/// a `?` would make the request address another endpoint.
fn app_path(id: &str) -> Result<String, MarathonError> {
    let id = normalize_id(id);
    check_app_id(&id).map_err(|problem| MarathonError::BadId { id: id.clone(), problem })?;
    Ok(id)
}

/// Marathon's path id rule for an app: segments of lowercase letters, digits, `-` and `.`,
/// not starting or ending with `-`, and never `.` or `..` (lab only deploys absolute ids).
pub fn check_app_id(id: &str) -> Result<(), String> {
    let segments: Vec<&str> = id.trim_start_matches('/').split('/').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err("it has an empty segment".into());
    }
    for s in segments {
        if s == "." || s == ".." {
            return Err(format!("`{s}` is not allowed as a part of an app id"));
        }
        if !s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.') {
            return Err(format!("`{s}` may only contain lowercase letters, digits, dashes and dots"));
        }
        if s.starts_with('-') || s.ends_with('-') {
            return Err(format!("`{s}` may not start or end with a dash"));
        }
    }
    Ok(())
}

fn reason(err: &reqwest::Error) -> String {
    crate::net::describe_error(err)
}

fn deployment_result(status: StatusCode, headers: &reqwest::header::HeaderMap, body: &Value, url: &str) -> Result<DeploymentRef, MarathonError> {
    if !status.is_success() {
        return Err(http_error(status, body));
    }
    // A 2xx that does not name a deployment is not a deploy (a proxy's page, another server).
    let names_one = body.get("deploymentId").is_some_and(Value::is_string) || headers.contains_key("Marathon-Deployment-Id") || body.pointer("/deployments/0/id").is_some_and(Value::is_string);
    if !body.is_object() || !names_one {
        return Err(MarathonError::Unexpected { url: url.to_owned(), status: status.as_u16(), body: short(body) });
    }
    let header = headers.get("Marathon-Deployment-Id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let deployment_id = body
        .get("deploymentId")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or(header)
        .or_else(|| body.pointer("/deployments/0/id").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default();
    Ok(DeploymentRef { deployment_id, version: body.get("version").and_then(Value::as_str).map(str::to_owned) })
}

fn http_error(status: StatusCode, body: &Value) -> MarathonError {
    let message = body.get("message").and_then(Value::as_str).map(str::to_owned).unwrap_or_else(|| short(body));
    match status.as_u16() {
        409 if message.contains("locked") => MarathonError::Locked {
            deployments: body.get("deployments").and_then(Value::as_array).map(|d| d.iter().filter_map(|d| d.get("id").and_then(Value::as_str).map(str::to_owned)).collect()).unwrap_or_default(),
        },
        409 => MarathonError::Exists { message },
        400 | 422 => MarathonError::Invalid {
            message,
            details: body
                .get("details")
                .and_then(Value::as_array)
                .map(|d| {
                    d.iter()
                        .map(|e| {
                            let path = e.get("path").and_then(Value::as_str).unwrap_or("/").to_owned();
                            let errors = e.get("errors").and_then(Value::as_array).map(|x| x.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()).unwrap_or_default();
                            (path, errors)
                        })
                        .collect()
                })
                .unwrap_or_default(),
        },
        code => MarathonError::Http { status: code, body: short(body) },
    }
}

fn short(body: &Value) -> String {
    let text = match body {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    text.chars().take(300).collect()
}
