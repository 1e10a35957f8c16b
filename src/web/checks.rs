//! Exercise status in the browser: the status box on a step page, the Check button (a plain
//! form, upgraded to fetch by the page script), JSON for the same, and the live re-checks
//! that push every change to open pages over SSE.

use super::error::Link;
use super::pages::find_lab;
use super::session::Viewer;
use super::{AppState, Mode, ServerEvent, WebError};
use crate::store::StudentId;
use crate::checks::target::{Overrides, resolve};
use crate::checks::{Criterion, ExerciseResult, Status, Target, run_exercise};
use crate::course::Lab;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Redirect, Response};
use std::time::Duration;

/// Where the student's stack is, for checks.
#[derive(Clone, Default)]
pub enum CheckTarget {
    /// Checks are off (no stack to check).
    #[default]
    None,
    /// Find the stack of this project through Docker labels each time.
    Project(String),
    /// A fixed target (tests, or explicit endpoints).
    Fixed(Target),
}

impl CheckTarget {
    /// The project, when checks follow one.
    pub fn project(&self) -> Option<&str> {
        match self {
            CheckTarget::Project(p) => Some(p),
            _ => None,
        }
    }

    async fn target(&self) -> Option<Target> {
        match self {
            CheckTarget::None => None,
            CheckTarget::Project(project) => Some(resolve(project, Overrides::default()).await),
            CheckTarget::Fixed(target) => Some(target.clone()),
        }
    }
}

/// The status box of one exercise.
#[derive(Template)]
#[template(path = "exercise_status.html")]
pub struct StatusBox<'a> {
    status: Option<Status>,
    criteria: &'a [Criterion],
    checked_at_ms: Option<i64>,
    problem: Option<&'a str>,
}

impl<'a> StatusBox<'a> {
    /// A box for a result (or none yet).
    pub fn new(status: Option<Status>, criteria: &'a [Criterion], checked_at_ms: Option<i64>) -> Self {
        StatusBox { status, criteria, checked_at_ms, problem: None }
    }

    /// A box saying why checking was not possible.
    pub fn problem(problem: &'a str) -> Self {
        StatusBox { status: None, criteria: &[], checked_at_ms: None, problem: Some(problem) }
    }

    /// Rendered HTML (an empty string only if the template fails, which is logged).
    pub fn html(&self) -> String {
        self.render().unwrap_or_else(|e| {
            tracing::error!("cannot render an exercise status: {e}");
            String::new()
        })
    }

    fn verdict(&self) -> &'static str {
        match self.status {
            Some(Status::Passed) => "Passed",
            Some(Status::Failed) => "Not done yet",
            Some(Status::Pending) => "In progress",
            None => "Not checked yet",
        }
    }

    fn class(&self) -> &'static str {
        self.status.map_or("unknown", Status::as_str)
    }
}

/// Where `viewer`'s exercises are checked, or why they cannot be.
async fn target_for(state: &AppState, viewer: &Viewer) -> Result<(StudentId, Target), String> {
    match (&state.mode, viewer) {
        (Mode::Solo { student, checks }, _) => checks.target().await.map(|t| (*student, t)).ok_or_else(|| "Checks need your stack: start it with `lab up`.".to_owned()),
        (Mode::Classroom(classroom), Viewer::Student { id, .. }) => match classroom.check_target(*id) {
            Some(mut target) => {
                let record = state.store().student_stack(*id).await.ok().flatten();
                target.site_dir = record.map(|r| crate::marathon::workspace::site_dir(&crate::stack::project::workspace_dir(&r.project)));
                Ok((*id, target))
            }
            None => Err("Checks need your stack: press Start on the home page and wait until it is ready.".to_owned()),
        },
        (Mode::Classroom(_), _) => Err("Only students have exercises to check.".to_owned()),
    }
}

/// Runs one check now, records it, tells open pages. `Err` carries a message for the student.
async fn check_now(state: &AppState, viewer: &Viewer, lab: &Lab, exercise: &str) -> Result<ExerciseResult, String> {
    let (student, target) = target_for(state, viewer).await?;
    let result = run_exercise(lab, exercise, &target).await.map_err(|e| e.to_string())?;
    record_and_publish(state, student, &lab.id, &result).await;
    Ok(result)
}

/// Stores a result if it changed and, if so, pushes the new status box to open pages.
async fn record_and_publish(state: &AppState, student: StudentId, lab: &str, result: &ExerciseResult) {
    match state.store().record_result(student, lab, result).await {
        Ok(false) => {}
        Ok(true) => {
            publish(state, student, lab, &result.exercise, result.status, &result.criteria, Some(crate::store::now_ms()));
            if let Some(classroom) = state.classroom_handle() {
                super::board::publish(state, classroom, &[student]).await;
            }
        }
        Err(e) => tracing::warn!("cannot record the result: {e}"),
    }
}

/// The student's latest results for `lab`, pushed to their pages (the classroom's live
/// checks store them; this shows them).
pub(super) async fn publish_latest(state: &AppState, student: StudentId, lab: &str) {
    match state.store().latest_results(student, lab).await {
        Ok(results) => {
            for r in results {
                publish(state, student, lab, &r.exercise, r.status, &r.criteria, Some(r.checked_at_ms));
            }
        }
        Err(e) => tracing::warn!("cannot read results: {e}"),
    }
}

fn publish(state: &AppState, student: StudentId, lab: &str, exercise: &str, status: Status, criteria: &[Criterion], at: Option<i64>) {
    let student = matches!(state.mode, Mode::Classroom(_)).then_some(student);
    state.publish(ServerEvent::Progress {
        student,
        lab: lab.to_owned(),
        exercise: exercise.to_owned(),
        status: status.as_str().to_owned(),
        html: StatusBox::new(Some(status), criteria, at).html(),
    });
}

fn exercise_exists(lab: &Lab, id: &str) -> Result<(), WebError> {
    if lab.exercise(id).is_some() {
        Ok(())
    } else {
        Err(WebError::not_found(format!("“{}” has no exercise “{id}”", lab.title), vec![Link::new(format!("/labs/{}", lab.id), lab.title.clone())]))
    }
}

/// `POST /labs/{lab}/exercises/{id}/check`: the form without JavaScript; back to the step.
/// In a class only students check exercises (each their own).
fn students_only(state: &AppState, viewer: &Viewer) -> Result<(), WebError> {
    match (&state.mode, viewer) {
        (Mode::Classroom(_), Viewer::Student { .. }) | (Mode::Solo { .. }, _) => Ok(()),
        _ => Err(WebError::Forbidden("Only students check exercises, each against their own stack.".into())),
    }
}

pub async fn check_form(State(state): State<AppState>, viewer: Viewer, Path((lab_id, id)): Path<(String, String)>) -> Result<Response, WebError> {
    students_only(&state, &viewer)?;
    let course = state.course();
    let lab = find_lab(&course, &lab_id)?;
    exercise_exists(lab, &id)?;
    if let Err(problem) = check_now(&state, &viewer, lab, &id).await {
        // Shown on the step page through the same channel as results.
        let student = viewer.student().filter(|_| matches!(state.mode, Mode::Classroom(_)));
        state.publish(ServerEvent::Progress { student, lab: lab.id.clone(), exercise: id.clone(), status: "unknown".into(), html: StatusBox::problem(&problem).html() });
    }
    let step = lab.exercise(&id).and_then(|e| lab.steps.iter().find(|s| s.id == e.step)).map_or(1, |s| s.number);
    Ok(Redirect::to(&format!("/labs/{}/steps/{step}#exercise-{id}", lab.id)).into_response())
}

/// `POST /api/labs/{lab}/exercises/{id}/check`: JSON with the result and its status box.
pub async fn check_api(State(state): State<AppState>, viewer: Viewer, Path((lab_id, id)): Path<(String, String)>) -> Result<Response, WebError> {
    students_only(&state, &viewer)?;
    let course = state.course();
    let lab = find_lab(&course, &lab_id)?;
    exercise_exists(lab, &id)?;
    Ok(match check_now(&state, &viewer, lab, &id).await {
        Ok(result) => {
            let html = StatusBox::new(Some(result.status), &result.criteria, Some(crate::store::now_ms())).html();
            Json(serde_json::json!({"exercise": result.exercise, "status": result.status, "criteria": result.criteria, "html": html})).into_response()
        }
        Err(problem) => {
            let html = StatusBox::problem(&problem).html();
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"exercise": id, "error": problem, "html": html}))).into_response()
        }
    })
}

/// `GET /api/labs/{lab}/exercises/{id}`: the latest recorded result.
pub async fn latest_api(State(state): State<AppState>, viewer: Viewer, Path((lab_id, id)): Path<(String, String)>) -> Result<Response, WebError> {
    let course = state.course();
    let lab = find_lab(&course, &lab_id)?;
    exercise_exists(lab, &id)?;
    let Some(student) = viewer.student() else {
        return Err(WebError::Forbidden("only a student has results".into()));
    };
    let latest = state.store().latest_results(student, &lab.id).await.map_err(anyhow::Error::from)?;
    Ok(match latest.into_iter().find(|r| r.exercise == id) {
        Some(r) => Json(serde_json::json!({"exercise": r.exercise, "status": r.status, "criteria": r.criteria, "checkedAt": r.checked_at_ms})).into_response(),
        None => Json(serde_json::json!({"exercise": id, "status": null, "criteria": []})).into_response(),
    })
}

/// Keeps every lab's exercises checked while the server runs: once the student's Marathon
/// answers, its event stream drives re-checks (see `checks::watch`), and every change is
/// recorded and pushed to open pages. Until then it retries every 10 s.
pub fn spawn_live_checks(state: AppState, interval: Duration) {
    let Mode::Solo { student, checks } = state.mode.clone() else { return };
    tokio::spawn(async move {
        let target = loop {
            let Some(target) = checks.target().await else { return };
            if target.marathon.ping().await.is_ok() {
                break target;
            }
            tokio::time::sleep(Duration::from_secs(10)).await;
        };
        tracing::info!("live checks follow Marathon at {}", target.marathon.url());
        let labs: Vec<String> = state.course().labs().filter(|(_, l)| l.as_ref().is_ok_and(|l| !l.exercises.is_empty())).map(|(id, _)| id.to_owned()).collect();
        for lab_id in labs {
            let (tx, mut rx) = tokio::sync::mpsc::channel(64);
            let source_state = state.clone();
            let source_lab = lab_id.clone();
            let source: crate::checks::watch::LabSource = Box::new(move || source_state.course().lab(&source_lab).and_then(|l| l.as_ref().ok()).cloned());
            tokio::spawn(crate::checks::watch::run(source, target.clone(), interval, tx));
            let state = state.clone();
            tokio::spawn(async move {
                // A check that cannot run (the stack went down) must not leave an old green
                // box on the page; say so once, until it can run again.
                let mut failing: std::collections::HashSet<String> = std::collections::HashSet::new();
                while let Some(item) = rx.recv().await {
                    match item.result {
                        Ok(result) => {
                            if failing.remove(&item.exercise) {
                                let at = Some(crate::store::now_ms());
                                publish(&state, student, &lab_id, &item.exercise, result.status, &result.criteria, at);
                            }
                            record_and_publish(&state, student, &lab_id, &result).await;
                        }
                        Err(problem) => {
                            if failing.insert(item.exercise.clone()) {
                                let html = StatusBox::problem(&problem).html();
                                state.publish(ServerEvent::Progress { student: None, lab: lab_id.clone(), exercise: item.exercise, status: "unknown".into(), html });
                            }
                        }
                    }
                }
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_box_says_why_before_what_to_do_escaped() {
        let c = Criterion { name: "running tasks".into(), status: Status::Failed, message: "0 running tasks".into(), hint: Some("look".into()), diagnosis: Some("pull failed: <manifest unknown>".into()) };
        let html = StatusBox::new(Some(Status::Failed), std::slice::from_ref(&c), None).html();
        assert!(html.contains(r#"<div class="diagnosis">Why: pull failed: &#60;manifest unknown&#62;</div><div class="hint">"#), "{html}");
        let passed = Criterion { status: Status::Passed, diagnosis: None, ..c };
        assert!(!StatusBox::new(Some(Status::Passed), std::slice::from_ref(&passed), None).html().contains("Why:"));
    }
}
