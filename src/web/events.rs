//! `/events`: a server-sent event stream shared by every page. Pages reload on `reload`, and
//! on reconnecting to a server with a different `hello` id (lab was restarted). Open streams
//! are capped (each holds a connection for as long as the page is open), so that streams can
//! never take every connection from page requests; one over the cap is a 503.

use super::{AppState, WebError};
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream, StreamExt};
use std::convert::Infallible;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

/// Something open pages should hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// The course changed: reload the page.
    Reload,
    /// An exercise's result changed; `html` is its rendered status box.
    Progress {
        /// Lab id.
        lab: String,
        /// Exercise id.
        exercise: String,
        /// `passed`, `failed` or `pending`.
        status: String,
        /// The status box, rendered (and escaped) by the server.
        html: String,
    },
    /// The server is stopping: end the stream.
    Shutdown,
}

/// `GET /events`: the stream, or 503 when [`AppState::with_stream_limit`] streams are open.
pub async fn stream(State(state): State<AppState>) -> Response {
    let Ok(slot) = state.stream_slots.clone().try_acquire_owned() else {
        tracing::debug!("refused an event stream: the limit is reached");
        return WebError::Busy.into_response();
    };
    // The slot is freed when the stream is dropped: the page went away or lab stops.
    let events = updates(&state).map(move |event| {
        let _held = &slot;
        Ok::<_, Infallible>(event)
    });
    Sse::new(events).keep_alive(KeepAlive::default()).into_response()
}

/// The greeting, then every published event until lab shuts down.
fn updates(state: &AppState) -> impl Stream<Item = Event> + use<> {
    // Subscribe before sending the greeting so nothing published in between is lost.
    let updates = BroadcastStream::new(state.events.subscribe());
    let boot_id = state.boot_id.clone();
    let hello = stream::once(async move { Event::default().event("hello").data(&*boot_id) });
    let updates = updates
        .take_while(|msg| std::future::ready(!matches!(msg, Ok(ServerEvent::Shutdown))))
        .map(|msg| match msg {
            Ok(ServerEvent::Reload) => Event::default().event("reload").data("content changed"),
            Ok(ServerEvent::Progress { lab, exercise, status, html }) => {
                Event::default().event("progress").data(serde_json::json!({"lab": lab, "exercise": exercise, "status": status, "html": html}).to_string())
            }
            // A slow page missed events; reloading shows it the current state.
            Err(BroadcastStreamRecvError::Lagged(_)) => Event::default().event("reload").data("missed events"),
            Ok(ServerEvent::Shutdown) => Event::default().comment("bye"),
        });
    hello.chain(updates)
}
