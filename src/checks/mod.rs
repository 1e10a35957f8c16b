//! Exercise checks: evaluate an exercise's declared checks against a student's stack and
//! say, per criterion, what was found and what to do — never the whole solution.
//!
//! A criterion that does not pass carries a diagnosis when the live system tells why
//! (see `diagnose`).
//!
//! `run_exercise` is the library API the CLI, the web UI and the live watcher share.

mod diagnose;
mod evaluate;
pub mod target;
pub mod watch;

pub use target::Target;

use crate::course::{Exercise, Lab};
use serde::Serialize;

/// How a criterion (or a whole exercise) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Done.
    Passed,
    /// Not done, and it will not become done without a change.
    Failed,
    /// Not done yet, but on its way (a deployment running, the gateway catching up).
    Pending,
}

impl Status {
    /// The mark shown next to a criterion.
    pub fn mark(self) -> &'static str {
        match self {
            Status::Passed => "✓",
            Status::Failed => "✗",
            Status::Pending => "…",
        }
    }

    /// Lower-case word.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Pending => "pending",
        }
    }

    /// Parses [`Status::as_str`] output.
    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "passed" => Some(Status::Passed),
            "failed" => Some(Status::Failed),
            "pending" => Some(Status::Pending),
            _ => None,
        }
    }

    /// All passed → passed; any failed → failed; otherwise pending.
    pub fn combine(statuses: impl IntoIterator<Item = Status>) -> Status {
        let mut out = Status::Passed;
        for s in statuses {
            match s {
                Status::Failed => return Status::Failed,
                Status::Pending => out = Status::Pending,
                Status::Passed => {}
            }
        }
        out
    }
}

/// One thing checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Criterion {
    /// What was checked.
    pub name: String,
    /// Its status.
    pub status: Status,
    /// What was found.
    pub message: String,
    /// What to do about it (absent when passed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Why it is not passed, from the live system (a task failure, declined offers, a
    /// failing health check...) as the lab's `diagnoses.yml` explains it; absent when
    /// passed or when nothing is known. Never holds times or counters, so a result read
    /// again without a change compares equal. Results stored before it existed read as none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<String>,
}

impl Criterion {
    fn new(name: impl Into<String>, status: Status, message: impl Into<String>, hint: Option<String>) -> Criterion {
        let hint = if status == Status::Passed { None } else { hint };
        Criterion { name: name.into(), status, message: message.into(), hint, diagnosis: None }
    }
}

/// The result of checking one exercise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ExerciseResult {
    /// The exercise id.
    pub exercise: String,
    /// Overall status.
    pub status: Status,
    /// Each criterion.
    pub criteria: Vec<Criterion>,
    /// Set when the environment check it requires did not pass: the student's work was not
    /// judged, and the problem is the stack's.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "blockedBy")]
    pub blocked_by: Option<String>,
}

/// Why an exercise could not be checked at all.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// No such exercise in the lab.
    #[error("lab {lab} has no exercise `{exercise}`; its exercises are: {known}")]
    UnknownExercise {
        /// The lab.
        lab: String,
        /// What was asked for.
        exercise: String,
        /// What exists.
        known: String,
    },
    /// Marathon did not answer.
    #[error("cannot check: Marathon at {url} does not answer ({reason}). Is your stack up? (`lab up`, then `lab status`)")]
    MarathonUnreachable {
        /// Marathon's URL.
        url: String,
        /// Why.
        reason: String,
    },
}

/// Checks `exercise_id` of `lab` against `target`. An exercise that `requires` another
/// (an environment check) reports that one's failure as the environment's.
pub async fn run_exercise(lab: &Lab, exercise_id: &str, target: &Target) -> Result<ExerciseResult, CheckError> {
    let exercise = find(lab, exercise_id)?;
    let snapshot = evaluate::Snapshot::new(target);
    if let Some(required) = &exercise.requires {
        let env = evaluate::exercise(find(lab, required)?, target, &snapshot, &lab.diagnoses).await?;
        if env.status != Status::Passed {
            let mut criteria: Vec<Criterion> = env
                .criteria
                .into_iter()
                .map(|mut c| {
                    c.name = format!("environment: {}", c.name);
                    if c.status != Status::Passed {
                        c.hint = Some(format!(
                            "{} This is your stack, not your work: check `lab status` and `lab logs box`, or run `lab up` again.",
                            c.hint.unwrap_or_default()
                        ).trim().to_owned());
                    }
                    c
                })
                .collect();
            criteria.push(Criterion::new(
                "exercise",
                Status::Pending,
                format!("not checked until `{required}` passes"),
                Some("fix the environment first; then check again".into()),
            ));
            return Ok(ExerciseResult { exercise: exercise.id.clone(), status: env.status, criteria, blocked_by: Some(required.clone()) });
        }
    }
    evaluate::exercise(exercise, target, &snapshot, &lab.diagnoses).await
}

/// The exercise `id` of `lab`, or the error that lists the valid ones.
pub fn find<'a>(lab: &'a Lab, id: &str) -> Result<&'a Exercise, CheckError> {
    lab.exercise(id).ok_or_else(|| CheckError::UnknownExercise {
        lab: lab.id.clone(),
        exercise: id.to_owned(),
        known: lab.exercises.iter().map(|e| e.id.as_str()).collect::<Vec<_>>().join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::Status;

    #[test]
    fn statuses_combine_worst_first() {
        assert_eq!(Status::combine([Status::Passed, Status::Passed]), Status::Passed);
        assert_eq!(Status::combine([Status::Passed, Status::Pending]), Status::Pending);
        assert_eq!(Status::combine([Status::Pending, Status::Failed, Status::Passed]), Status::Failed);
        assert_eq!(Status::combine([]), Status::Passed);
    }
}
