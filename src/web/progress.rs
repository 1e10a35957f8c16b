//! What a student has done in a lab, as the pages show it: each exercise with its latest
//! status, the stack's state (from the lab's environment checks, which are not the
//! student's exercises) and the honest counts ("2 of 2 exercises passed").

use crate::checks::Status;
use crate::course::{Exercise, Lab};
use std::collections::HashMap;

/// One exercise with the student's latest status.
pub(super) struct ExerciseLine<'a> {
    pub exercise: &'a Exercise,
    /// Number of the step it belongs to (1-based).
    pub step: usize,
    /// Latest status; `None` before the first check.
    pub status: Option<Status>,
}

impl ExerciseLine<'_> {
    /// CSS class and `data-status`, as the status box uses.
    pub fn class(&self) -> &'static str {
        self.status.map_or("unknown", Status::as_str)
    }

    /// The mark shown beside it.
    pub fn mark(&self) -> &'static str {
        self.status.map_or("·", Status::mark)
    }

    /// The words for each status, for this kind of exercise (also handed to lab.js, which
    /// swaps them on live updates): `[passed, failed, pending, not checked]`.
    pub fn words(&self) -> [&'static str; 4] {
        if self.exercise.is_environment() {
            ["ready", "not ready", "being checked", "not checked yet"]
        } else {
            ["passed", "not done yet", "in progress", "not checked yet"]
        }
    }

    /// The word for the current status.
    pub fn word(&self) -> &'static str {
        let [passed, failed, pending, unknown] = self.words();
        match self.status {
            Some(Status::Passed) => passed,
            Some(Status::Failed) => failed,
            Some(Status::Pending) => pending,
            None => unknown,
        }
    }
}

/// A lab's exercises for one student, tasks apart from environment checks.
pub(super) struct LabProgress<'a> {
    /// The student's exercises that have checks.
    pub tasks: Vec<ExerciseLine<'a>>,
    /// The environment checks (`kind: environment`), shown as the stack's state.
    pub environment: Vec<ExerciseLine<'a>>,
}

impl<'a> LabProgress<'a> {
    /// Sorts `lab`'s exercises with the latest `statuses` (by exercise id).
    pub fn new(lab: &'a Lab, statuses: &HashMap<String, Status>) -> Self {
        let line = |exercise: &'a Exercise| ExerciseLine {
            exercise,
            step: lab.steps.iter().find(|s| s.id == exercise.step).map_or(1, |s| s.number),
            status: statuses.get(&exercise.id).copied(),
        };
        LabProgress {
            tasks: lab.exercises.iter().filter(|e| e.counts_as_task()).map(line).collect(),
            environment: lab.exercises.iter().filter(|e| e.is_environment()).map(line).collect(),
        }
    }

    /// Tasks passed.
    pub fn passed(&self) -> usize {
        self.tasks.iter().filter(|l| l.status == Some(Status::Passed)).count()
    }

    /// The stack's state in words, when the lab has an environment check: ready when every
    /// one passed, not ready when one failed.
    pub fn stack(&self) -> Option<&'static str> {
        let first = self.environment.first()?;
        if self.environment.iter().all(|l| l.status == Some(Status::Passed)) {
            return Some(first.words()[0]);
        }
        Some(match self.environment.iter().find(|l| l.status != Some(Status::Passed)) {
            Some(line) => line.word(),
            None => first.word(),
        })
    }

    /// CSS class for the stack's state.
    pub fn stack_class(&self) -> &'static str {
        match self.environment.iter().find(|l| l.status != Some(Status::Passed)) {
            Some(line) => line.class(),
            None => "passed",
        }
    }

    /// The lines of one step, environment checks first (they come first in a step too).
    pub fn of_step(&self, step: &str) -> Vec<&ExerciseLine<'a>> {
        self.environment.iter().chain(self.tasks.iter()).filter(|l| l.exercise.step == step).collect()
    }
}
