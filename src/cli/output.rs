//! What the commands share about output: the course-content flag, the `--json` document
//! (one per run, on stdout) and the JSON error object a failed `--json` run prints, with
//! its kind worked out from the error chain.

use crate::checks::CheckError;
use crate::course::{ContentError, ContentSource, Course};
use crate::marathon::client::MarathonError;
use crate::stack::{StackError, StackFileError};
use serde::Serialize;
use std::path::PathBuf;

/// `--content` for the commands that read the course (all but `serve`, which has its own
/// wording since it also reloads).
#[derive(Debug, Clone, clap::Args)]
pub struct ContentArgs {
    /// Read the course from this folder (with labs/ and slides/) instead of the built-in
    /// course.
    #[arg(long, env = "LAB_CONTENT", value_name = "DIR")]
    pub content: Option<PathBuf>,
}

impl ContentArgs {
    /// The course to read: this flag, else the one given before the subcommand (the
    /// spelling `lab --content DIR labs` keeps working), else the built-in course.
    pub fn source(&self, before: Option<PathBuf>) -> ContentSource {
        content_source(self.content.clone().or(before))
    }
}

/// A folder, else the built-in course.
pub fn content_source(dir: Option<PathBuf>) -> ContentSource {
    dir.map_or(ContentSource::Embedded, ContentSource::Dir)
}

/// The course, or an error of kind `content` naming where it was looked for.
pub fn load_course(content: &ContentSource) -> anyhow::Result<Course> {
    Course::load(content).map_err(|source| ContentUnreadable { place: content.describe(), source }.into())
}

/// The course content could not be read at all.
#[derive(Debug, thiserror::Error)]
#[error("cannot read course content from {place}")]
pub struct ContentUnreadable {
    /// The folder (or "the built-in course").
    pub place: String,
    /// What reading it said.
    #[source]
    pub source: std::io::Error,
}

/// What kind of failure a JSON error object reports, so scripts can branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The command line was wrong (unknown flag, missing argument, unknown exercise).
    Usage,
    /// The course content or a stack or site file is unreadable or invalid.
    Content,
    /// Docker or Marathon did not answer.
    Unreachable,
    /// Another `lab up` or `down` of the project holds it.
    Busy,
    /// The stack is not ready, so the exercise could not be checked.
    NotReady,
    /// Anything else.
    Other,
}

/// An error that already knows its kind and carries data for the JSON error object
/// (e.g. the per-file results of a deploy that reached no Marathon).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Reported {
    /// Its kind.
    pub kind: ErrorKind,
    /// The message, as printed after `error:`.
    pub message: String,
    /// Extra fields merged into the error object.
    pub detail: serde_json::Map<String, serde_json::Value>,
}

/// The kind of the first error in the chain that says what it is.
pub fn classify(err: &anyhow::Error) -> ErrorKind {
    for cause in err.chain() {
        if let Some(r) = cause.downcast_ref::<Reported>() {
            return r.kind;
        }
        if let Some(e) = cause.downcast_ref::<StackError>() {
            return match e {
                StackError::Unreachable { .. } => ErrorKind::Unreachable,
                StackError::Busy { .. } => ErrorKind::Busy,
                StackError::Stack(_) | StackError::StackFile(_) => ErrorKind::Content,
                _ => ErrorKind::Other,
            };
        }
        if let Some(e) = cause.downcast_ref::<CheckError>() {
            return match e {
                CheckError::UnknownExercise { .. } => ErrorKind::Usage,
                CheckError::MarathonUnreachable { .. } => ErrorKind::Unreachable,
            };
        }
        if let Some(MarathonError::Unreachable { .. }) = cause.downcast_ref::<MarathonError>() {
            return ErrorKind::Unreachable;
        }
        if cause.is::<ContentError>() || cause.is::<StackFileError>() || cause.is::<ContentUnreadable>() {
            return ErrorKind::Content;
        }
    }
    ErrorKind::Other
}

/// `{"error": {"message": ..., "kind": ..., ...detail}}`.
pub fn error_object(err: &anyhow::Error) -> serde_json::Value {
    let mut fields = serde_json::Map::new();
    fields.insert("message".into(), format!("{err:#}").into());
    fields.insert("kind".into(), serde_json::to_value(classify(err)).unwrap_or_default());
    if let Some(r) = err.chain().find_map(|c| c.downcast_ref::<Reported>()) {
        for (k, v) in &r.detail {
            fields.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    serde_json::json!({ "error": fields })
}

/// A usage error from clap as a JSON error object: its message up to the usage line,
/// without the `error:` prefix, on one line.
pub fn usage_error_object(err: &clap::Error) -> serde_json::Value {
    let text = err.render().to_string();
    let message: Vec<&str> = text.lines().take_while(|l| !l.trim().is_empty()).map(str::trim).collect();
    let message = message.join(" ").trim_start_matches("error:").trim().to_owned();
    serde_json::json!({ "error": { "message": message, "kind": ErrorKind::Usage } })
}

/// Prints one JSON document on stdout.
pub fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_comes_from_the_first_error_that_says_what_it_is() {
        let unreachable = anyhow::Error::new(StackError::Unreachable { host: "unix:///x".into(), reason: "gone".into() }).context("cannot start");
        assert_eq!(classify(&unreachable), ErrorKind::Unreachable);
        let unreadable = anyhow::Error::new(ContentUnreadable { place: "/x".into(), source: std::io::Error::other("no") });
        assert_eq!(classify(&unreadable), ErrorKind::Content);
        assert_eq!(classify(&anyhow::anyhow!("something else")), ErrorKind::Other);
    }

    #[test]
    fn the_error_object_has_message_kind_and_detail() {
        let mut detail = serde_json::Map::new();
        detail.insert("results".into(), serde_json::json!([1]));
        let err = anyhow::Error::new(Reported { kind: ErrorKind::NotReady, message: "not ready".into(), detail });
        assert_eq!(error_object(&err), serde_json::json!({"error": {"message": "not ready", "kind": "not_ready", "results": [1]}}));
    }
}
