//! The slide viewer (one slide per page, keyboard navigation, URL = slide number) and the
//! presenter view (current and next slide, speaker notes, timer). In a class the instructor's
//! presenter view announces its slide (`POST /slides/{deck}/{n}/present`); students' slide
//! pages follow it (the `slide` event, and the presented slide in the page for a late
//! joiner), and the deck's start leads to the presented slide.

use super::error::Link;
use super::pages::page_number;
use super::session::Viewer;
use super::{AppState, WebError};
use crate::course::{Course, Deck, Slide};
use askama::Template;
use askama_web::WebTemplate;
use crate::classroom::Presented;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Json, Redirect, Response};

fn find_deck<'c>(course: &'c Course, id: &str) -> Result<&'c Deck, WebError> {
    match course.deck(id) {
        Some(Ok(deck)) => Ok(deck),
        Some(Err(err)) => Err(WebError::Content(err.clone())),
        None => Err(WebError::not_found(format!("there is no slide deck called “{id}”"), vec![])),
    }
}

fn find_slide<'d>(deck: &'d Deck, raw: &str) -> Result<&'d Slide, WebError> {
    page_number(raw).and_then(|n| deck.slide(n)).ok_or_else(|| {
        WebError::not_found(
            format!("“{}” has {} slides; there is no slide {raw}", deck.title, deck.slides.len()),
            vec![
                Link::new(format!("/slides/{}/1", deck.id), "First slide"),
                Link::new(format!("/slides/{}/{}", deck.id, deck.slides.len()), "Last slide"),
            ],
        )
    })
}

/// The lab that uses this deck, for the page header.
fn lab_of<'c>(course: &'c Course, deck: &str) -> Option<(&'c str, &'c str)> {
    course.labs().find_map(|(id, lab)| lab.as_ref().ok().filter(|l| l.deck.as_deref() == Some(deck)).map(|l| (id, l.title.as_str())))
}

/// The lab itself, for per-student values.
fn lab_for_deck<'c>(course: &'c Course, deck: &str) -> Option<&'c crate::course::Lab> {
    course.labs().find_map(|(_, lab)| lab.as_ref().ok().filter(|l| l.deck.as_deref() == Some(deck)))
}

/// `GET /slides/{deck}`: start at the first slide or, in a class, at the slide the presenter
/// shows when it is one of this deck (a late joiner lands where the class is).
pub async fn deck_start(State(state): State<AppState>, Path(id): Path<String>) -> Result<Redirect, WebError> {
    let course = state.course();
    let deck = find_deck(&course, &id)?;
    let start = presented_in(&state, deck).unwrap_or(1);
    Ok(Redirect::to(&format!("/slides/{}/{start}", deck.id)))
}

/// The presented slide's number when the presenter shows a slide of `deck` that still exists
/// (the course may have been reloaded with fewer slides since).
fn presented_in(state: &AppState, deck: &Deck) -> Option<usize> {
    let presented = state.classroom_handle()?.presented()?;
    (presented.deck == deck.id && deck.slide(presented.slide).is_some()).then_some(presented.slide)
}

#[derive(Template, WebTemplate)]
#[template(path = "slide.html")]
struct SlidePage<'a> {
    deck: &'a Deck,
    slide: &'a Slide,
    total: usize,
    lab: Option<(&'a str, &'a str)>,
    /// The slide's HTML with the viewer's own values filled in.
    body: String,
    /// A class student's page: it offers following the presenter.
    follow: bool,
    /// What the presenter shows now (only on pages that follow), so that a page opened late
    /// moves there at once.
    presented: Option<Presented>,
    /// Every slide's number and title, for the overview (`o` or Esc).
    overview: Vec<(usize, &'a str)>,
}

/// The slides' numbers and titles, for the overview grid.
fn overview_of(deck: &Deck) -> Vec<(usize, &str)> {
    deck.slides.iter().map(|s| (s.number, s.title.as_str())).collect()
}

/// `GET /slides/{deck}/{n}`.
pub async fn slide(State(state): State<AppState>, viewer: Viewer, Path((id, n)): Path<(String, String)>) -> Result<Response, WebError> {
    let course = state.course();
    let deck = find_deck(&course, &id)?;
    let slide = find_slide(deck, &n)?;
    let body = super::values::fill(&state, &viewer, lab_for_deck(&course, &deck.id), &slide.html).await;
    let follow = viewer.is_class_student();
    let presented = if follow { state.classroom_handle().and_then(|c| c.presented()) } else { None };
    Ok(SlidePage { deck, slide, total: deck.slides.len(), lab: lab_of(&course, &deck.id), body, follow, presented, overview: overview_of(deck) }.into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "presenter.html")]
struct PresenterPage<'a> {
    deck: &'a Deck,
    slide: &'a Slide,
    next: Option<&'a Slide>,
    total: usize,
    body: String,
    next_body: String,
    notes: String,
    /// Where the page announces its slide to the class (the instructor's, in a class only).
    present: Option<String>,
}

/// `GET /slides/{deck}/{n}/presenter`.
pub async fn presenter(State(state): State<AppState>, viewer: Viewer, Path((id, n)): Path<(String, String)>) -> Result<Response, WebError> {
    let course = state.course();
    let deck = find_deck(&course, &id)?;
    let slide = find_slide(deck, &n)?;
    let lab = lab_for_deck(&course, &deck.id);
    let next = deck.slide(slide.number + 1);
    let body = super::values::fill(&state, &viewer, lab, &slide.html).await;
    let next_body = match next {
        Some(n) => super::values::fill(&state, &viewer, lab, &n.html).await,
        None => String::new(),
    };
    let notes = super::values::fill(&state, &viewer, lab, &slide.notes_html).await;
    let present = (state.classroom_handle().is_some() && viewer == Viewer::Instructor).then(|| format!("/slides/{}/{}/present", deck.id, slide.number));
    Ok(PresenterPage { deck, slide, next, total: deck.slides.len(), body, next_body, notes, present }.into_response())
}

/// `POST /slides/{deck}/{n}/present`: the instructor's presenter view shows this slide, and
/// students' slide pages follow. The instructor's session only (students 403; visitors are
/// stopped by the class gate); in solo mode there is no class to tell (404), the presenter
/// window follows the audience window in the browser instead. Answers JSON `{deck, n, url}`
/// for `Accept: application/json`, else leads back to the presenter view.
pub async fn present(State(state): State<AppState>, viewer: Viewer, headers: HeaderMap, Path((id, n)): Path<(String, String)>) -> Result<Response, WebError> {
    let classroom = super::board::classroom(&state)?;
    super::board::instructor_only(&viewer)?;
    let course = state.course();
    let deck = find_deck(&course, &id)?;
    let slide = find_slide(deck, &n)?;
    classroom.present(&deck.id, slide.number).map_err(|e| WebError::Invalid(e.to_string()))?;
    let url = format!("/slides/{}/{}", deck.id, slide.number);
    let json = headers.get("accept").and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("application/json"));
    if json {
        Ok(Json(serde_json::json!({"deck": deck.id, "n": slide.number, "url": url})).into_response())
    } else {
        Ok(Redirect::to(&format!("{url}/presenter")).into_response())
    }
}

/// One slide of the printable deck, its values filled in for the viewer.
struct PrintedSlide {
    number: usize,
    body: String,
    notes: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "print.html")]
struct PrintPage<'a> {
    deck: &'a Deck,
    slides: Vec<PrintedSlide>,
    notes: bool,
}

/// The query of the printable deck: `?notes=1` adds each slide's speaker notes.
#[derive(Debug, Default, serde::Deserialize)]
pub struct PrintQuery {
    notes: Option<String>,
}

/// `GET /slides/{deck}/print`: every slide one per page (the print stylesheet breaks pages),
/// for handouts and "Save as PDF". Open to whoever may see the slides.
pub async fn print(State(state): State<AppState>, viewer: Viewer, Path(id): Path<String>, Query(query): Query<PrintQuery>) -> Result<Response, WebError> {
    let course = state.course();
    let deck = find_deck(&course, &id)?;
    let lab = lab_for_deck(&course, &deck.id);
    let notes = matches!(query.notes.as_deref(), Some("1" | "true" | "on" | "yes"));
    let mut slides = Vec::with_capacity(deck.slides.len());
    for slide in &deck.slides {
        let body = super::values::fill(&state, &viewer, lab, &slide.html).await;
        let notes_html = if notes { super::values::fill(&state, &viewer, lab, &slide.notes_html).await } else { String::new() };
        slides.push(PrintedSlide { number: slide.number, body, notes: notes_html });
    }
    Ok(PrintPage { deck, slides, notes }.into_response())
}
