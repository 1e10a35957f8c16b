//! What a student (and the JSON API) sees of their stack: its state, the stage it is at,
//! the queue position, its links, and on failure which service failed with the end of its
//! log and what to try.

use serde::Serialize;
use std::collections::BTreeMap;

/// Where a student's stack stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum StackState {
    /// Never started.
    #[default]
    None,
    /// Waiting for a free place.
    Queued,
    /// Being started.
    Starting,
    /// Every service running and healthy, the environment check passed.
    Ready,
    /// Starting failed.
    Failed,
    /// Stopped (by the student, the instructor, or for being idle).
    Stopped,
    /// Was ready; the engine is bringing a lost part back (a deleted pod, a lost node).
    Restarting,
}

impl StackState {
    /// The word stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            StackState::None => "none",
            StackState::Queued => "queued",
            StackState::Starting => "starting",
            StackState::Ready => "ready",
            StackState::Failed => "failed",
            StackState::Stopped => "stopped",
            StackState::Restarting => "restarting",
        }
    }

    /// Parses [`StackState::as_str`].
    pub fn parse(text: &str) -> StackState {
        match text {
            "queued" => StackState::Queued,
            "starting" => StackState::Starting,
            "ready" => StackState::Ready,
            "failed" => StackState::Failed,
            "stopped" => StackState::Stopped,
            "restarting" => StackState::Restarting,
            _ => StackState::None,
        }
    }

    /// Whether the stack takes one of the class's places.
    pub fn holds_a_place(self) -> bool {
        matches!(self, StackState::Starting | StackState::Ready | StackState::Restarting)
    }
}

/// A link for the student.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// What it opens.
    pub label: String,
    /// The URL, with the class's public host.
    pub url: String,
}

/// Why starting failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// What went wrong.
    pub message: String,
    /// The service that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The last lines of its log.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub log_tail: Vec<String>,
    /// What to try.
    pub hint: String,
}

/// A student's stack as shown (`GET /api/me`'s `stack`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct StackView {
    /// none / queued / starting / ready / failed / stopped.
    pub state: StackState,
    /// The current stage while starting (or the last one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// Progress of the stage: (done, total).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<(u64, u64)>,
    /// Place in the queue (1 = next).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_position: Option<usize>,
    /// Project name on the engine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Named ports → host port.
    pub ports: BTreeMap<String, u16>,
    /// Links to the stack's UIs.
    pub links: Vec<Link>,
    /// Why starting failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Something the student should know (stopped for being idle, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// When the stack stops for being idle, if no page opens before (unix ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_stop_at_ms: Option<i64>,
    /// Command lines the student can run on their own machine against this stack.
    pub commands: Vec<String>,
}
