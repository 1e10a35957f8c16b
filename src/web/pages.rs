//! Home, lab overview and lab step pages, and the catch-all 404.

use super::error::Link;
use super::{AppState, WebError};
use crate::course::{ContentError, Course, Exercise, Lab, Step};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use std::collections::HashSet;

/// Looks up a lab for a page: 404 if there is no such lab, the content error if it is broken.
pub(super) fn find_lab<'c>(course: &'c Course, id: &str) -> Result<&'c Lab, WebError> {
    match course.lab(id) {
        Some(Ok(lab)) => Ok(lab),
        Some(Err(err)) => Err(WebError::Content(err.clone())),
        None => Err(WebError::not_found(format!("there is no lab called “{id}”"), vec![])),
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
    deck: Option<&'a str>,
    error: Option<&'a ContentError>,
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
struct HomePage<'a> {
    labs: Vec<LabCard<'a>>,
    decks: Vec<(&'a str, String)>,
    resume: Option<(String, String)>,
}

/// `GET /`: every lab and deck, and where the student left off.
pub async fn home(State(state): State<AppState>) -> Result<Response, WebError> {
    let course = state.course();
    let mut labs = Vec::new();
    for (id, lab) in course.labs() {
        labs.push(match lab {
            Ok(lab) => {
                let visited = state.store().visited_steps(state.student, id).await.map_err(anyhow::Error::from)?;
                LabCard {
                    id,
                    title: &lab.title,
                    summary: &lab.summary,
                    steps: lab.steps.len(),
                    visited: lab.steps.iter().filter(|s| visited.contains(&s.id)).count(),
                    deck: lab.deck.as_deref(),
                    error: None,
                }
            }
            Err(err) => LabCard { id, title: id, summary: "", steps: 0, visited: 0, deck: None, error: Some(err) },
        });
    }
    let decks = course
        .decks()
        .map(|(id, deck)| (id, deck.as_ref().map_or_else(|e| format!("{id} (broken: {})", e.location()), |d| d.title.clone())))
        .collect();
    let resume = match state.store().last_visit(state.student).await.map_err(anyhow::Error::from)? {
        Some(visit) => match course.lab(&visit.lab) {
            Some(Ok(lab)) => lab
                .steps
                .iter()
                .find(|s| s.id == visit.step)
                .map(|s| (format!("/labs/{}/steps/{}", lab.id, s.number), format!("{}: {}", lab.title, s.title))),
            _ => None,
        },
        None => None,
    };
    Ok(HomePage { labs, decks, resume }.into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "lab.html")]
struct LabPage<'a> {
    lab: &'a Lab,
    visited: HashSet<String>,
}

impl LabPage<'_> {
    fn step_of(&self, exercise: &Exercise) -> usize {
        self.lab.steps.iter().find(|s| s.id == exercise.step).map_or(1, |s| s.number)
    }
}

/// `GET /labs/{lab}`: overview with steps and exercises.
pub async fn lab(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, WebError> {
    let course = state.course();
    let lab = find_lab(&course, &id)?;
    let visited = state.store().visited_steps(state.student, &lab.id).await.map_err(anyhow::Error::from)?;
    Ok(LabPage { lab, visited: visited.into_iter().collect() }.into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "step.html")]
struct StepPage<'a> {
    lab: &'a Lab,
    step: &'a Step,
    exercises: Vec<&'a Exercise>,
    prev: Option<&'a Step>,
    next: Option<&'a Step>,
    visited: HashSet<String>,
}

/// `GET /labs/{lab}/steps/{n}`.
pub async fn step(State(state): State<AppState>, Path((id, n)): Path<(String, String)>) -> Result<Response, WebError> {
    let course = state.course();
    let lab = find_lab(&course, &id)?;
    let step = page_number(&n).and_then(|n| lab.step(n)).ok_or_else(|| {
        WebError::not_found(
            format!("“{}” has {} steps; there is no step {n}", lab.title, lab.steps.len()),
            vec![Link::new(format!("/labs/{}", lab.id), format!("{} — overview", lab.title)), Link::new(format!("/labs/{}/steps/1", lab.id), "Step 1")],
        )
    })?;
    // A failed write must not cost the student the page.
    if let Err(err) = state.store().record_step_visit(state.student, &lab.id, &step.id).await {
        tracing::warn!("cannot record the visit: {err}");
    }
    let visited = state.store().visited_steps(state.student, &lab.id).await.unwrap_or_default();
    Ok(StepPage {
        lab,
        step,
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
