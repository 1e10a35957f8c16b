//! `/events`: a server-sent event stream shared by every page. Pages reload on `reload`, and
//! on reconnecting to a server with a different `hello` id (lab was restarted).

use super::AppState;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
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

/// `GET /events`.
pub async fn stream(State(state): State<AppState>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // Subscribe before sending the greeting so nothing published in between is lost.
    let updates = BroadcastStream::new(state.events.subscribe());
    let hello = stream::once(async move { Event::default().event("hello").data(&*state.boot_id) });
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
    Sse::new(hello.chain(updates).map(Ok)).keep_alive(KeepAlive::default())
}
