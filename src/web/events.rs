//! `/events`: a server-sent event stream shared by every page. Pages reload on `reload`, and
//! on reconnecting to a server with a different `hello` id (lab was restarted). Open streams
//! are capped (each holds a connection for as long as the page is open), so that streams can
//! never take every connection from page requests; one over the cap is a 503. In a class,
//! each page hears only its own student's stack, results and deployments; the instructor's
//! pages also hear the board; every class viewer hears where the presenter is (`slide`).

use super::session::Viewer;
use super::{AppState, WebError};
use crate::store::StudentId;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream, StreamExt};
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

/// Something open pages should hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// The course changed: reload the page.
    Reload,
    /// An exercise's result changed; `html` is its rendered status box.
    Progress {
        /// Whose result (`None` in solo mode: the one student's).
        student: Option<StudentId>,
        /// Lab id.
        lab: String,
        /// Exercise id.
        exercise: String,
        /// `passed`, `failed` or `pending`.
        status: String,
        /// The status box, rendered (and escaped) by the server.
        html: String,
    },
    /// A class student's stack changed: its view as JSON and its rendered panel.
    Stack {
        /// Whose stack.
        student: StudentId,
        /// The `StackView` as JSON.
        json: String,
        /// The stack panel, rendered (and escaped) by the server.
        html: String,
    },
    /// A step of a deployment a site editor save started: `{path, app, deployment,
    /// progress}` as JSON (`progress` is an [`crate::editor::DeployProgress`]).
    Deploy {
        /// Whose save (`None` in solo mode: the one student's).
        student: Option<StudentId>,
        /// The step, as JSON.
        json: String,
    },
    /// The instructor's board changed: `{student, row, head, foot, students}` as JSON, the
    /// HTML rendered (and escaped) by the server. Only instructors hear it.
    Board {
        /// The event's data.
        json: String,
    },
    /// In a class, the instructor's presenter view moved to slide `n` of `deck`: students'
    /// slide pages that follow the presenter go there. Every class viewer hears it.
    Slide {
        /// The deck's id.
        deck: String,
        /// The slide's number, from 1.
        n: usize,
    },
    /// The server is stopping: end the stream.
    Shutdown,
}

impl ServerEvent {
    /// Whether a page of `viewer` should hear this.
    fn is_for(&self, viewer: &Viewer) -> bool {
        match self {
            ServerEvent::Progress {
                student: Some(s), ..
            }
            | ServerEvent::Stack { student: s, .. }
            | ServerEvent::Deploy {
                student: Some(s), ..
            } => viewer.student() == Some(*s),
            ServerEvent::Board { .. } => *viewer == Viewer::Instructor,
            ServerEvent::Slide { .. } => matches!(viewer, Viewer::Student { .. } | Viewer::Instructor),
            _ => true,
        }
    }
}

/// `GET /events`: the stream, or 503 when [`AppState::with_stream_limit`] streams are open.
pub async fn stream(State(state): State<AppState>, viewer: Viewer) -> Response {
    let Some(held) = OpenStream::claim(&state.open_streams, state.max_streams) else {
        tracing::debug!("refused an event stream: the limit is reached");
        return WebError::Busy.into_response();
    };
    // A class student's open page keeps their stack from being stopped for idleness.
    let presence = match (&state.mode, viewer.student()) {
        (super::Mode::Classroom(classroom), Some(student)) => Some(classroom.page_open(student)),
        _ => None,
    };
    // The place is freed when the stream is dropped: the page went away or lab stops.
    let events = updates(&state, viewer).map(move |event| {
        let _present = &presence;
        let _held = &held;
        Ok::<_, Infallible>(event)
    });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// An open stream's place under the cap, counted in [`AppState::open_streams`] until dropped.
struct OpenStream {
    count: Arc<AtomicUsize>,
}

impl OpenStream {
    /// A place, unless `max` streams are open already.
    fn claim(count: &Arc<AtomicUsize>, max: usize) -> Option<Self> {
        count.fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| (open < max).then_some(open + 1)).ok()?;
        Some(OpenStream { count: count.clone() })
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The greeting, then every published event until lab shuts down.
fn updates(state: &AppState, viewer: Viewer) -> impl Stream<Item = Event> + use<> {
    // Subscribe before sending the greeting so nothing published in between is lost.
    let updates = BroadcastStream::new(state.events.subscribe());
    let boot_id = state.boot_id.clone();
    let hello = stream::once(async move { Event::default().event("hello").data(&*boot_id) });
    let updates = updates
        .take_while(|msg| std::future::ready(!matches!(msg, Ok(ServerEvent::Shutdown))))
        .filter(move |msg| std::future::ready(msg.as_ref().map_or(true, |e| e.is_for(&viewer))))
        .map(|msg| match msg {
            Ok(ServerEvent::Reload) => Event::default().event("reload").data("content changed"),
            Ok(ServerEvent::Stack { json, html, .. }) => Event::default().event("stack").data(serde_json::json!({"stack": serde_json::from_str::<serde_json::Value>(&json).unwrap_or_default(), "html": html}).to_string()),
            Ok(ServerEvent::Progress { lab, exercise, status, html, .. }) => {
                Event::default().event("progress").data(serde_json::json!({"lab": lab, "exercise": exercise, "status": status, "html": html}).to_string())
            }
            Ok(ServerEvent::Deploy { json, .. }) => Event::default().event("deploy").data(json),
            Ok(ServerEvent::Board { json }) => Event::default().event("board").data(json),
            Ok(ServerEvent::Slide { deck, n }) => Event::default().event("slide").data(serde_json::json!({"deck": deck, "n": n, "url": format!("/slides/{deck}/{n}")}).to_string()),
            // A slow page missed events; reloading shows it the current state.
            Err(BroadcastStreamRecvError::Lagged(_)) => Event::default().event("reload").data("missed events"),
            Ok(ServerEvent::Shutdown) => Event::default().comment("bye"),
        });
    hello.chain(updates)
}
