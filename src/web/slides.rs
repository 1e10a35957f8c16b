//! The slide viewer (one slide per page, keyboard navigation, URL = slide number) and the
//! presenter view (current and next slide, speaker notes, timer).

use super::error::Link;
use super::pages::page_number;
use super::session::Viewer;
use super::{AppState, WebError};
use crate::course::{Course, Deck, Slide};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

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

/// `GET /slides/{deck}`: start at the first slide.
pub async fn deck_start(State(state): State<AppState>, Path(id): Path<String>) -> Result<Redirect, WebError> {
    let course = state.course();
    let deck = find_deck(&course, &id)?;
    Ok(Redirect::to(&format!("/slides/{}/1", deck.id)))
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
}

/// `GET /slides/{deck}/{n}`.
pub async fn slide(State(state): State<AppState>, viewer: Viewer, Path((id, n)): Path<(String, String)>) -> Result<Response, WebError> {
    let course = state.course();
    let deck = find_deck(&course, &id)?;
    let slide = find_slide(deck, &n)?;
    let body = super::values::fill(&state, &viewer, lab_for_deck(&course, &deck.id), &slide.html).await;
    Ok(SlidePage { deck, slide, total: deck.slides.len(), lab: lab_of(&course, &deck.id), body }.into_response())
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
    Ok(PresenterPage { deck, slide, next, total: deck.slides.len(), body, next_body, notes }.into_response())
}
