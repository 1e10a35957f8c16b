//! The slide viewer (one slide per page, keyboard navigation, URL = slide number) and the
//! presenter view (current and next slide, speaker notes, timer).

use super::error::Link;
use super::pages::page_number;
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
}

/// `GET /slides/{deck}/{n}`.
pub async fn slide(State(state): State<AppState>, Path((id, n)): Path<(String, String)>) -> Result<Response, WebError> {
    let course = state.course();
    let deck = find_deck(&course, &id)?;
    let slide = find_slide(deck, &n)?;
    Ok(SlidePage { deck, slide, total: deck.slides.len(), lab: lab_of(&course, &deck.id) }.into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "presenter.html")]
struct PresenterPage<'a> {
    deck: &'a Deck,
    slide: &'a Slide,
    next: Option<&'a Slide>,
    total: usize,
}

/// `GET /slides/{deck}/{n}/presenter`.
pub async fn presenter(State(state): State<AppState>, Path((id, n)): Path<(String, String)>) -> Result<Response, WebError> {
    let course = state.course();
    let deck = find_deck(&course, &id)?;
    let slide = find_slide(deck, &n)?;
    Ok(PresenterPage { deck, slide, next: deck.slide(slide.number + 1), total: deck.slides.len() }.into_response())
}
