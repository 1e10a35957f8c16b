//! Home, lab overview and lab step pages, and the catch-all 404.

use super::checks::StatusBox;
use super::error::Link;
use super::progress::LabProgress;
use super::session::Viewer;
use super::{AppState, Mode, WebError};
use crate::course::{ContentError, Course, Exercise, Lab, Step};
use crate::checks::Status;
use crate::store::StoredResult;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use std::collections::{HashMap, HashSet};

/// Looks up a lab for a page: 404 if there is no such lab, the content error if it is broken.
pub(super) fn find_lab<'c>(course: &'c Course, id: &str) -> Result<&'c Lab, WebError> {
    match course.lab(id) {
        Some(Ok(lab)) => Ok(lab),
        Some(Err(err)) => Err(WebError::Content(err.clone())),
        None => Err(WebError::not_found(
            format!("there is no lab called “{id}”"),
            vec![],
        )),
    }
}

/// Parses a 1-based page number from the URL.
pub(super) fn page_number(raw: &str) -> Option<usize> {
    raw.parse::<usize>().ok().filter(|n| *n >= 1)
}

struct LabCard<'a> {
    id: &'a str,
    title: &'a str,
    summary: &'a str,
    steps: usize,
    visited: usize,
    /// The student's exercises passed, and those with checks (environment checks apart).
    passed: usize,
    exercises: usize,
    /// The stack's state from the lab's environment check, if it has one.
    stack: Option<&'static str>,
    deck: Option<&'a str>,
    error: Option<&'a ContentError>,
}

/// The solo student's stack, as the home page shows it.
struct StackPanel {
    project: String,
    summary: String,
    up: bool,
    links: Vec<(String, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
struct HomePage<'a> {
    labs: Vec<LabCard<'a>>,
    decks: Vec<(&'a str, String)>,
    resume: Option<(String, String)>,
    stack: Option<StackPanel>,
    /// A class student's stack panel, rendered (it is also pushed live).
    class_panel: Option<String>,
    /// The viewer is the class's instructor.
    instructor: bool,
    /// The signed-in student's name (classroom).
    name: Option<String>,
}

/// `?welcome=1` right after joining.
#[derive(serde::Deserialize, Default)]
pub struct HomeQuery {
    #[serde(default)]
    welcome: Option<String>,
}

/// Reads the project's state from Docker, briefly; `None` when there is no project.
async fn stack_panel(state: &AppState) -> Option<StackPanel> {
    let Mode::Solo { checks, .. } = &state.mode else {
        return None;
    };
    let project = checks.project()?.to_owned();
    let read = async {
        let engine = crate::stack::Engine::connect()
            .await
            .map_err(|e| e.to_string())?;
        crate::stack::status::status(&engine, &project)
            .await
            .map_err(|e| e.to_string())
    };
    let panel = match tokio::time::timeout(std::time::Duration::from_secs(2), read).await {
        Ok(Ok(status)) if status.exists() => {
            let running = status
                .services
                .iter()
                .filter(|s| s.state == "running")
                .count();
            StackPanel {
                summary: format!(
                    "{running} of {} services running{}",
                    status.services.len(),
                    if status.all_running() {
                        ""
                    } else {
                        " (details: “lab status”)"
                    }
                ),
                up: status.all_running(),
                links: status.links.clone(),
                project,
            }
        }
        Ok(Ok(_)) => StackPanel {
            project,
            summary: "not started yet: run “lab up” in a terminal".into(),
            up: false,
            links: Vec::new(),
        },
        Ok(Err(e)) => StackPanel {
            project,
            summary: format!("unknown: {e}"),
            up: false,
            links: Vec::new(),
        },
        Err(_) => StackPanel {
            project,
            summary: "unknown: Docker did not answer in time".into(),
            up: false,
            links: Vec::new(),
        },
    };
    Some(panel)
}

/// `GET /`: every lab and deck, and where the student left off.
pub async fn home(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::extract::Query(query): axum::extract::Query<HomeQuery>,
) -> Result<Response, WebError> {
    let course = state.course();
    let student = viewer.student();
    let mut labs = Vec::new();
    for (id, lab) in course.labs() {
        labs.push(match lab {
            Ok(lab) => {
                let (visited, results) = match student {
                    Some(s) => (
                        state
                            .store()
                            .visited_steps(s, id)
                            .await
                            .map_err(anyhow::Error::from)?,
                        state
                            .store()
                            .latest_results(s, id)
                            .await
                            .map_err(anyhow::Error::from)?,
                    ),
                    None => (Vec::new(), Vec::new()),
                };
                let progress = LabProgress::new(lab, &statuses(results));
                LabCard {
                    id,
                    title: &lab.title,
                    summary: &lab.summary,
                    steps: lab.steps.len(),
                    visited: lab.steps.iter().filter(|s| visited.contains(&s.id)).count(),
                    passed: progress.passed(),
                    exercises: progress.tasks.len(),
                    stack: progress.stack(),
                    deck: lab.deck.as_deref(),
                    error: None,
                }
            }
            Err(err) => LabCard {
                id,
                title: id,
                summary: "",
                steps: 0,
                visited: 0,
                passed: 0,
                exercises: 0,
                stack: None,
                deck: None,
                error: Some(err),
            },
        });
    }
    let decks = course
        .decks()
        .map(|(id, deck)| {
            (
                id,
                deck.as_ref().map_or_else(
                    |e| format!("{id} (broken: {})", e.location()),
                    |d| d.title.clone(),
                ),
            )
        })
        .collect();
    let last = match student {
        Some(s) => state
            .store()
            .last_visit(s)
            .await
            .map_err(anyhow::Error::from)?,
        None => None,
    };
    let resume = match last {
        Some(visit) => match course.lab(&visit.lab) {
            Some(Ok(lab)) => lab.steps.iter().find(|s| s.id == visit.step).map(|s| {
                (
                    format!("/labs/{}/steps/{}", lab.id, s.number),
                    format!("{}: {}", lab.title, s.title),
                )
            }),
            _ => None,
        },
        None => None,
    };
    let stack = stack_panel(&state).await;
    let (class_panel, name) = match (&state.mode, &viewer) {
        (Mode::Classroom(classroom), Viewer::Student { id, name }) => {
            let view = classroom.stack_view(*id).await;
            let welcome = query.welcome.is_some();
            let html = super::class::StackPanel {
                view: &view,
                rejoin: super::class::rejoin_link(classroom, *id),
                welcome,
            }
            .html();
            (Some(html), Some(name.clone()))
        }
        _ => (None, None),
    };
    Ok(HomePage {
        labs,
        decks,
        resume,
        stack,
        class_panel,
        instructor: viewer == Viewer::Instructor,
        name,
    }
    .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "lab.html")]
struct LabPage<'a> {
    lab: &'a Lab,
    visited: HashSet<String>,
    progress: LabProgress<'a>,
}

/// Latest status by exercise id.
fn statuses(results: Vec<StoredResult>) -> HashMap<String, Status> {
    results.into_iter().map(|r| (r.exercise, r.status)).collect()
}

/// `GET /labs/{lab}`: overview with steps and exercises.
pub async fn lab(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let course = state.course();
    let lab = find_lab(&course, &id)?;
    let (visited, results) = match viewer.student() {
        Some(s) => (
            state
                .store()
                .visited_steps(s, &lab.id)
                .await
                .map_err(anyhow::Error::from)?,
            state
                .store()
                .latest_results(s, &lab.id)
                .await
                .map_err(anyhow::Error::from)?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    Ok(LabPage {
        lab,
        visited: visited.into_iter().collect(),
        progress: LabProgress::new(lab, &statuses(results)),
    }
    .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "step.html")]
struct StepPage<'a> {
    lab: &'a Lab,
    step: &'a Step,
    /// The step's HTML with the viewer's own values filled in.
    body: String,
    exercises: Vec<&'a Exercise>,
    prev: Option<&'a Step>,
    next: Option<&'a Step>,
    visited: HashSet<String>,
    results: HashMap<String, StoredResult>,
    /// The site editor, when an exercise of this step names a file to edit.
    editor: Option<String>,
    /// The lab's exercises with their status (the summary near the top shows this step's).
    progress: LabProgress<'a>,
}

impl StepPage<'_> {
    /// The exercise's status box from its latest recorded result.
    fn status_html(&self, exercise: &str) -> String {
        match self.results.get(exercise) {
            Some(r) => StatusBox::new(Some(r.status), &r.criteria, Some(r.checked_at_ms)).html(),
            None => StatusBox::new(None, &[], None).html(),
        }
    }
}

/// `GET /labs/{lab}/steps/{n}`.
pub async fn step(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, n)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let course = state.course();
    let lab = find_lab(&course, &id)?;
    let step = page_number(&n).and_then(|n| lab.step(n)).ok_or_else(|| {
        WebError::not_found(
            format!(
                "“{}” has {} steps; there is no step {n}",
                lab.title,
                lab.steps.len()
            ),
            vec![
                Link::new(
                    format!("/labs/{}", lab.id),
                    format!("{} — overview", lab.title),
                ),
                Link::new(format!("/labs/{}/steps/1", lab.id), "Step 1"),
            ],
        )
    })?;
    let (visited, results) = match viewer.student() {
        Some(student) => {
            // A failed write must not cost the student the page.
            if let Err(err) = state
                .store()
                .record_step_visit(student, &lab.id, &step.id)
                .await
            {
                tracing::warn!("cannot record the visit: {err}");
            }
            let visited = state
                .store()
                .visited_steps(student, &lab.id)
                .await
                .unwrap_or_default();
            let results = state
                .store()
                .latest_results(student, &lab.id)
                .await
                .unwrap_or_default()
                .into_iter()
                .map(|r| (r.exercise.clone(), r))
                .collect();
            (visited, results)
        }
        None => (Vec::new(), HashMap::new()),
    };
    let progress = LabProgress::new(lab, &results.iter().map(|(id, r): (&String, &StoredResult)| (id.clone(), r.status)).collect());
    let body = super::values::fill(&state, &viewer, Some(lab), &step.html).await;
    // The instructor reads the steps but has no site of their own to edit.
    let editor = match lab.edit_of(&step.id) {
        Some(file) if viewer != Viewer::Instructor => Some(
            super::editor::EditorPanel::for_viewer(&state, &viewer, &lab.id, Some(file))
                .await
                .html(),
        ),
        _ => None,
    };
    Ok(StepPage {
        progress,
        editor,
        results,
        lab,
        step,
        body,
        exercises: lab.exercises_of(&step.id).collect(),
        prev: step.number.checked_sub(1).and_then(|n| lab.step(n)),
        next: lab.step(step.number + 1),
        visited: visited.into_iter().collect(),
    }
    .into_response())
}

/// Any other address.
pub async fn not_found(uri: Uri) -> WebError {
    WebError::not_found(format!("nothing lives at {}", uri.path()), vec![])
}
