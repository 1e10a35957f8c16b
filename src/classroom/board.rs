//! The instructor's board as plain data: one row per student (stack, step, each exercise,
//! time on the current one, last activity, whether they are stuck and on what), and one
//! column per exercise (how many passed, the class's most common failing criteria). It is
//! computed from the store's result history, so the same numbers feed the page, the live
//! updates, `/api/class`, the CSV export and `lab class export`. No HTTP here.

use super::views::{StackState, StackView};
use super::{ClassError, Classroom};
use crate::checks::Status;
use crate::store::history::{HistoryRow, StepVisit};
use crate::store::{Store, StoreError, StudentId};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// A student failing the same criterion for this long stands out on the board.
pub const STUCK_AFTER_MS: i64 = 10 * 60 * 1000;
/// How many of an exercise's most common failing criteria the board names.
const COMMON_FAILURES: usize = 3;

/// A student's stack in one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackSummary {
    /// `none`, `queued`, `starting`, `ready`, `failed`, `stopped` or `restarting`.
    pub state: &'static str,
    /// What the board shows: "queued #3", "starting: pulling images", "ready", ...
    pub label: String,
}

impl StackSummary {
    /// The summary of a stack view.
    pub fn of(view: &StackView) -> StackSummary {
        let label = match view.state {
            StackState::None => "idle (not started)".to_owned(),
            StackState::Queued => view.queue_position.map_or_else(|| "queued".to_owned(), |p| format!("queued #{p}")),
            StackState::Starting => view.stage.as_ref().map_or_else(|| "starting".to_owned(), |s| format!("starting: {s}")),
            StackState::Ready => "ready".to_owned(),
            StackState::Restarting => view.stage.as_ref().map_or_else(|| "restarting".to_owned(), |s| format!("restarting: {s}")),
            StackState::Failed => view.failure.as_ref().map_or_else(|| "failed".to_owned(), |f| format!("failed: {}", f.message)),
            StackState::Stopped if view.notice.as_deref().is_some_and(|n| n.contains("without an open lab page")) => "stopped (idle)".to_owned(),
            StackState::Stopped => "stopped".to_owned(),
        };
        StackSummary { state: view.state.as_str(), label }
    }
}

/// One student, as the board needs them.
#[derive(Debug, Clone)]
pub struct StudentInput {
    /// The student.
    pub id: StudentId,
    /// Their display name.
    pub name: String,
    /// Their stack (`None` after the class, for exports).
    pub stack: Option<StackSummary>,
    /// The step they opened last.
    pub last_step: Option<StepVisit>,
}

/// Everything the board is computed from.
#[derive(Debug, Clone)]
pub struct BoardInput<'a> {
    /// The lab's exercises in order: (id, title).
    pub exercises: Vec<(String, String)>,
    /// Step id → title.
    pub steps: HashMap<String, String>,
    /// The students, in the order shown.
    pub students: Vec<StudentInput>,
    /// Every result of the class, oldest first.
    pub history: &'a [HistoryRow],
    /// Now (unix ms), injected so that tests control the clock.
    pub now_ms: i64,
    /// How long a criterion must fail before the student counts as stuck.
    pub stuck_after_ms: i64,
}

/// Where a student is on one exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CellStatus {
    /// The latest result passed.
    Passed,
    /// The latest result failed.
    Failed,
    /// The latest result is on its way (a deployment running).
    Pending,
    /// No result yet.
    NotStarted,
}

impl CellStatus {
    /// The word exported.
    pub fn as_str(self) -> &'static str {
        match self {
            CellStatus::Passed => "passed",
            CellStatus::Failed => "failed",
            CellStatus::Pending => "pending",
            CellStatus::NotStarted => "not-started",
        }
    }

    /// The mark shown on the board.
    pub fn mark(self) -> &'static str {
        match self {
            CellStatus::Passed => "✓",
            CellStatus::Failed => "✗",
            CellStatus::Pending => "…",
            CellStatus::NotStarted => "·",
        }
    }
}

/// One student × one exercise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cell {
    /// The exercise.
    pub exercise: String,
    /// Where they are.
    pub status: CellStatus,
    /// The first result (unix ms).
    pub first_seen_ms: Option<i64>,
    /// The first passing result (unix ms).
    pub first_passed_ms: Option<i64>,
    /// Distinct failing results before the first pass (or so far).
    pub attempts: usize,
    /// From the first result to the first pass (or, not passed, to the latest result).
    pub time_spent_ms: Option<i64>,
}

/// A student failing the same criterion for longer than the threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stuck {
    /// The exercise.
    pub exercise: String,
    /// The criterion failing.
    pub criterion: String,
    /// Its latest message.
    pub message: String,
    /// Its latest diagnosis (why, from the live system), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<String>,
    /// Since when it fails (unix ms).
    pub since_ms: i64,
    /// For how long, at the board's time.
    pub for_ms: i64,
}

/// One row of the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoardRow {
    /// The student's id.
    pub student: i64,
    /// Their display name.
    pub name: String,
    /// Their stack.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<StackSummary>,
    /// The title of the step they opened last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// One cell per exercise, in the lab's order.
    pub cells: Vec<Cell>,
    /// How many exercises they passed.
    pub passed: usize,
    /// The exercise they work on: the unfinished one with the latest result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    /// How long since their first result on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_current_ms: Option<i64>,
    /// Their latest step visit or result (unix ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_activity_ms: Option<i64>,
    /// The criterion failing in their current exercise's latest result, and since when,
    /// however short (pages use it to mark a student stuck as time passes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing: Option<Stuck>,
    /// Set when they are stuck: `failing` for at least the threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stuck: Option<Stuck>,
}

/// A criterion failing for several students.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommonFailure {
    /// The criterion.
    pub criterion: String,
    /// Its most frequent message.
    pub message: String,
    /// How many students' latest result fails it.
    pub students: usize,
}

/// One exercise across the class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    /// The exercise id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Students whose latest result passed.
    pub passed: usize,
    /// Students in the class.
    pub total: usize,
    /// The most common failing criteria, most frequent first.
    pub failing: Vec<CommonFailure>,
}

/// The whole board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Board {
    /// One column per exercise.
    pub exercises: Vec<Column>,
    /// One row per student.
    pub rows: Vec<BoardRow>,
    /// When it was computed (unix ms).
    pub now_ms: i64,
    /// The stuck threshold used.
    pub stuck_after_ms: i64,
}

impl Board {
    /// Computes the board.
    pub fn compute(input: &BoardInput<'_>) -> Board {
        let mut by_cell: HashMap<(StudentId, &str), Vec<&HistoryRow>> = HashMap::new();
        for row in input.history {
            by_cell.entry((row.student, row.exercise.as_str())).or_default().push(row);
        }
        let rows: Vec<BoardRow> = input.students.iter().map(|s| student_row(input, s, &by_cell)).collect();
        let exercises = input
            .exercises
            .iter()
            .map(|(id, title)| Column {
                id: id.clone(),
                title: title.clone(),
                passed: rows.iter().filter(|r| r.cells.iter().any(|c| c.exercise == *id && c.status == CellStatus::Passed)).count(),
                total: rows.len(),
                failing: common_failures(input, id, &by_cell),
            })
            .collect();
        Board { exercises, rows, now_ms: input.now_ms, stuck_after_ms: input.stuck_after_ms }
    }

    /// The row of `student`, if they are in the class.
    pub fn row(&self, student: StudentId) -> Option<&BoardRow> {
        self.rows.iter().find(|r| r.student == student.0)
    }
}

fn cell(exercise: &str, rows: &[&HistoryRow]) -> Cell {
    let Some(first) = rows.first() else {
        return Cell { exercise: exercise.to_owned(), status: CellStatus::NotStarted, first_seen_ms: None, first_passed_ms: None, attempts: 0, time_spent_ms: None };
    };
    let pass = rows.iter().position(|r| r.status == Status::Passed);
    let before = &rows[..pass.unwrap_or(rows.len())];
    // A result counts as another attempt when what was found changed; a diagnosis alone
    // (the live system's explanation, which may come and go) does not make one.
    let mut failing = Vec::new();
    for r in before.iter().filter(|r| r.status == Status::Failed) {
        let attempt: Vec<_> = r.criteria.iter().map(|c| (&c.name, c.status, &c.message, &c.hint)).collect();
        if !failing.contains(&attempt) {
            failing.push(attempt);
        }
    }
    let first_passed_ms = pass.map(|i| rows[i].checked_at_ms);
    let last = rows.last().map_or(first.checked_at_ms, |r| r.checked_at_ms);
    let status = match rows.last().map(|r| r.status) {
        Some(Status::Passed) => CellStatus::Passed,
        Some(Status::Failed) => CellStatus::Failed,
        _ => CellStatus::Pending,
    };
    Cell {
        exercise: exercise.to_owned(),
        status,
        first_seen_ms: Some(first.checked_at_ms),
        first_passed_ms,
        attempts: failing.len(),
        time_spent_ms: Some(first_passed_ms.unwrap_or(last) - first.checked_at_ms),
    }
}

fn student_row(input: &BoardInput<'_>, student: &StudentInput, by_cell: &HashMap<(StudentId, &str), Vec<&HistoryRow>>) -> BoardRow {
    let cells: Vec<Cell> = input.exercises.iter().map(|(id, _)| cell(id, rows_of(by_cell, student.id, id))).collect();
    // The unfinished exercise with the latest result is the one they work on.
    let current = input
        .exercises
        .iter()
        .filter_map(|(id, _)| {
            let rows = rows_of(by_cell, student.id, id);
            let last = rows.last()?;
            (last.status != Status::Passed).then_some((id, rows, last.checked_at_ms))
        })
        .max_by_key(|(_, _, at)| *at);
    let failing = current.and_then(|(id, rows, _)| stuck_on(id, rows, input.now_ms));
    let stuck = failing.clone().filter(|s| s.for_ms >= input.stuck_after_ms);
    let last_result = input.history.iter().filter(|r| r.student == student.id).map(|r| r.checked_at_ms).max();
    let last_step = student.last_step.as_ref().map(|v| v.at_ms);
    BoardRow {
        student: student.id.0,
        name: student.name.clone(),
        stack: student.stack.clone(),
        step: student.last_step.as_ref().map(|v| input.steps.get(&v.step).cloned().unwrap_or_else(|| v.step.clone())),
        passed: cells.iter().filter(|c| c.status == CellStatus::Passed).count(),
        cells,
        current: current.map(|(id, _, _)| id.clone()),
        on_current_ms: current.and_then(|(_, rows, _)| rows.first()).map(|r| input.now_ms - r.checked_at_ms),
        last_activity_ms: last_result.max(last_step),
        failing,
        stuck,
    }
}

fn rows_of<'m>(by_cell: &'m HashMap<(StudentId, &'m str), Vec<&'m HistoryRow>>, student: StudentId, exercise: &'m str) -> &'m [&'m HistoryRow] {
    by_cell.get(&(student, exercise)).map_or(&[], |rows| rows.as_slice())
}

/// The criterion failing in the latest result and since when it has failed without a break.
fn stuck_on(exercise: &str, rows: &[&HistoryRow], now_ms: i64) -> Option<Stuck> {
    let last = rows.last().filter(|r| r.status == Status::Failed)?;
    let failing = last.criteria.iter().find(|c| c.status == Status::Failed)?;
    let fails = |r: &HistoryRow| r.status == Status::Failed && r.criteria.iter().any(|c| c.name == failing.name && c.status == Status::Failed);
    let streak = rows.iter().rev().take_while(|r| fails(r)).count();
    let since_ms = rows[rows.len() - streak].checked_at_ms;
    Some(Stuck { exercise: exercise.to_owned(), criterion: failing.name.clone(), message: failing.message.clone(), diagnosis: failing.diagnosis.clone(), since_ms, for_ms: now_ms - since_ms })
}

/// Per criterion failing in students' latest results: how many students, and its most
/// frequent message.
fn common_failures(input: &BoardInput<'_>, exercise: &str, by_cell: &HashMap<(StudentId, &str), Vec<&HistoryRow>>) -> Vec<CommonFailure> {
    let mut counts: BTreeMap<&str, (usize, BTreeMap<&str, usize>)> = BTreeMap::new();
    for student in &input.students {
        let Some(last) = by_cell.get(&(student.id, exercise)).and_then(|rows| rows.last()) else { continue };
        if last.status != Status::Failed {
            continue;
        }
        let mut seen: Vec<&str> = Vec::new();
        for c in last.criteria.iter().filter(|c| c.status == Status::Failed) {
            if seen.contains(&c.name.as_str()) {
                continue;
            }
            seen.push(&c.name);
            let entry = counts.entry(&c.name).or_default();
            entry.0 += 1;
            *entry.1.entry(&c.message).or_default() += 1;
        }
    }
    let mut common: Vec<CommonFailure> = counts
        .into_iter()
        .map(|(criterion, (students, messages))| {
            let message = messages.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map(|(m, _)| (*m).to_owned()).unwrap_or_default();
            CommonFailure { criterion: criterion.to_owned(), message, students }
        })
        .collect();
    common.sort_by(|a, b| b.students.cmp(&a.students).then(a.criterion.cmp(&b.criterion)));
    common.truncate(COMMON_FAILURES);
    common
}

/// A duration for the board: `45s`, `12m`, `1h05m`.
pub fn short_duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

/// Reads a class's board from the store alone (after the class: no stacks), with the
/// lab's exercises and steps when the course is at hand, else the exercises in the order
/// results first name them.
pub async fn from_store(store: &Store, class: crate::store::classroom::ClassId, lab_id: &str, lab: Option<&crate::course::Lab>, stacks: &HashMap<StudentId, StackSummary>, now_ms: i64) -> Result<Board, StoreError> {
    let history = store.class_history(class, lab_id).await?;
    let mut last_steps: HashMap<StudentId, StepVisit> = store.class_last_steps(class, lab_id).await?.into_iter().map(|v| (v.student, v)).collect();
    let students = store
        .members(class)
        .await?
        .into_iter()
        .map(|m| StudentInput { id: m.student, name: m.display_name, stack: stacks.get(&m.student).cloned(), last_step: last_steps.remove(&m.student) })
        .collect();
    let exercises = match lab {
        // The environment check is the stack's state (shown in its own column), not an
        // exercise the students work on.
        Some(lab) => lab.exercises.iter().filter(|e| !e.is_environment()).map(|e| (e.id.clone(), e.title.clone())).collect(),
        None => {
            let mut seen: Vec<(String, String)> = Vec::new();
            for r in &history {
                if !seen.iter().any(|(id, _)| *id == r.exercise) {
                    seen.push((r.exercise.clone(), r.exercise.clone()));
                }
            }
            seen
        }
    };
    let steps = lab.map(|l| l.steps.iter().map(|s| (s.id.clone(), s.title.clone())).collect()).unwrap_or_default();
    Ok(Board::compute(&BoardInput { exercises, steps, students, history: &history, now_ms, stuck_after_ms: STUCK_AFTER_MS }))
}

impl Classroom {
    /// The board now: the store's history with every student's live stack.
    pub async fn board(&self) -> Result<Board, ClassError> {
        let mut stacks = HashMap::new();
        for member in self.inner.store.members(self.id()).await? {
            stacks.insert(member.student, StackSummary::of(&self.stack_state_view(member.student)));
        }
        let lab = (self.inner.lab)();
        Ok(from_store(&self.inner.store, self.id(), &self.lab_id(), lab.as_ref(), &stacks, crate::store::now_ms()).await?)
    }
}

#[cfg(test)]
#[path = "board_tests.rs"]
mod tests;
