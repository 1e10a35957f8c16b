//! The browser face of lab (axum + askama): the home page, labs and their steps, the slide
//! viewer and presenter view, the site editor and its API, content assets, and a server-sent
//! event stream that tells open pages to reload when the course changes. `server` runs it on a socket with timeouts and
//! connection caps, `guard` keeps foreign hosts and other sites' pages out.

mod assets;
mod board;
mod checks;
mod class;
mod controls;
mod editor;
mod error;
mod events;
mod export;
mod guard;
mod limits;
mod pages;
mod progress;
mod server;
mod session;
mod slides;
mod student;
mod values;

pub use checks::{CheckTarget, spawn_live_checks};
pub use error::WebError;
pub use events::ServerEvent;
pub use guard::{HostPolicy, HostPolicyError};
pub use limits::{DEFAULT_HEADER_TIMEOUT, FdLimit, Limits, raise_fd_limit};
pub use server::{ServerConfig, run};
pub use session::Viewer;

use crate::course::{ContentSource, Course};
use crate::store::{Store, StudentId};
use axum::Router;
use axum::routing::{get, post};
use std::sync::{Arc, RwLock};
use tokio::sync::broadcast;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

/// Whose course this server shows.
#[derive(Clone)]
pub enum Mode {
    /// One implicit student, whose stack the CLI starts.
    Solo {
        /// The student.
        student: StudentId,
        /// Where their exercises are checked.
        checks: CheckTarget,
    },
    /// A class: students sign in, and each has a stack the classroom runs.
    Classroom(crate::classroom::Classroom),
}

/// Shared state of the web server; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    course: Arc<RwLock<Arc<Course>>>,
    store: Store,
    mode: Mode,
    events: broadcast::Sender<ServerEvent>,
    boot_id: Arc<str>,
    hosts: Arc<HostPolicy>,
    /// Event streams allowed at once.
    max_streams: usize,
    /// Event streams open now, shared by every clone of this state.
    open_streams: Arc<std::sync::atomic::AtomicUsize>,
    join_limiter: Arc<class::JoinLimiter>,
}

/// Event streams allowed before [`AppState::with_stream_limit`] says otherwise.
const DEFAULT_MAX_STREAMS: usize = 64;

impl AppState {
    /// State for serving `course` to the solo `student`. Exercise checks are off until
    /// [`AppState::with_checks`] says where the student's stack is.
    pub fn new(course: Course, store: Store, student: StudentId) -> Self {
        Self::with_mode(
            course,
            store,
            Mode::Solo {
                student,
                checks: CheckTarget::None,
            },
        )
    }

    /// State for serving `course` to a class. Its events (stacks, results) reach the
    /// students' pages once [`AppState::spawn_class_events`] runs.
    pub fn classroom(course: Course, store: Store, classroom: crate::classroom::Classroom) -> Self {
        Self::with_mode(course, store, Mode::Classroom(classroom))
    }

    fn with_mode(course: Course, store: Store, mode: Mode) -> Self {
        let (events, _) = broadcast::channel(1024);
        let boot_id = format!("{:x}", crate::store::now_ms());
        AppState {
            course: Arc::new(RwLock::new(Arc::new(course))),
            store,
            mode,
            events,
            boot_id: boot_id.into(),
            hosts: Arc::new(HostPolicy::loopback()),
            max_streams: DEFAULT_MAX_STREAMS,
            open_streams: Arc::default(),
            join_limiter: Arc::new(class::JoinLimiter::new()),
        }
    }

    /// The class, in classroom mode.
    pub fn classroom_handle(&self) -> Option<&crate::classroom::Classroom> {
        match &self.mode {
            Mode::Classroom(c) => Some(c),
            Mode::Solo { .. } => None,
        }
    }

    /// Forwards the class's changes (stacks, results) to the students' open pages.
    pub fn spawn_class_events(&self) {
        class::spawn_events(self.clone());
    }

    /// Answers only to the host names of `hosts` (until then: the loopback names).
    pub fn with_hosts(mut self, hosts: HostPolicy) -> Self {
        self.hosts = Arc::new(hosts);
        self
    }

    /// Allows at most `max` open event streams (at least one).
    pub fn with_stream_limit(mut self, max: usize) -> Self {
        self.max_streams = max.max(1);
        self
    }

    /// How many event streams are open now: one per page that listens for live updates. Every
    /// clone of this state counts the same streams.
    pub fn open_streams(&self) -> usize {
        self.open_streams.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Checks exercises against `target` (solo mode).
    pub fn with_checks(mut self, target: CheckTarget) -> Self {
        if let Mode::Solo { checks, .. } = &mut self.mode {
            *checks = target;
        }
        self
    }

    /// The current course snapshot.
    pub fn course(&self) -> Arc<Course> {
        // A poisoned lock only means a reload panicked; the last snapshot is still whole.
        self.course
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Swaps in a freshly loaded course and tells open pages to reload.
    pub fn replace_course(&self, course: Course) {
        *self.course.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(course);
        self.publish(ServerEvent::Reload);
    }

    /// Sends an event to every open page. Having no listeners is normal.
    pub fn publish(&self, event: ServerEvent) {
        let _ = self.events.send(event);
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }
}

/// All routes. Exposed so tests can drive the router without a socket. Every request must
/// name one of lab's hosts, and every one that changes something must come from lab's own
/// pages (see `guard`).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/labs/{lab}", get(pages::lab))
        .route("/labs/{lab}/steps/{n}", get(pages::step))
        .route("/labs/{lab}/site", get(editor::site_page))
        .route("/slides/{deck}", get(slides::deck_start))
        .route("/slides/{deck}/print", get(slides::print))
        .route("/slides/{deck}/{n}", get(slides::slide))
        .route("/slides/{deck}/{n}/presenter", get(slides::presenter))
        .route("/slides/{deck}/{n}/present", post(slides::present))
        .route("/labs/{lab}/exercises/{id}/check", post(checks::check_form))
        .route(
            "/api/labs/{lab}/exercises/{id}/check",
            post(checks::check_api),
        )
        .route("/api/labs/{lab}/exercises/{id}", get(checks::latest_api))
        .route("/events", get(events::stream))
        .route("/static/{*file}", get(assets::static_file))
        .route("/files/{*path}", get(assets::content_file))
        .route("/healthz", get(|| async { "ok" }))
        .route("/join", get(class::join_page).post(class::join))
        .route("/rejoin", get(class::rejoin))
        .route("/signout", post(class::sign_out))
        .route("/instructor/login", get(class::instructor_login))
        .route("/instructor", get(board::page))
        .route("/instructor/start-all", post(controls::start_all))
        .route("/instructor/stop-all", post(controls::stop_all))
        .route("/instructor/joining", post(controls::joining))
        .route("/instructor/join-code", post(controls::join_code))
        .route("/instructor/idle", post(controls::idle))
        .route("/instructor/end", post(controls::end))
        .route("/instructor/students/{id}", get(student::page))
        .route("/instructor/students/{id}/start", post(student::start))
        .route("/instructor/students/{id}/stop", post(student::stop))
        .route("/instructor/students/{id}/reset", get(student::reset_page).post(student::reset))
        .route("/api/class/students/{id}", get(student::json))
        .route("/instructor/export.csv", get(export::csv))
        .route("/api/class", get(export::json))
        .route("/stack/start", post(class::stack_start))
        .route("/stack/stop", post(class::stack_stop))
        .route(
            "/stack/reset",
            get(class::reset_page).post(class::stack_reset),
        )
        .route("/api/me", get(class::me))
        .merge(editor::routes())
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            class::gate,
        ))
        .layer(guard::same_origin_layer())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::check_host,
        ))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Reloads the course whenever a file under `dir` changes. Runs until the process ends.
pub fn spawn_reloader(state: AppState, source: ContentSource) -> notify::Result<()> {
    let ContentSource::Dir(dir) = &source else {
        return Ok(());
    };
    let (watcher, mut changes) = crate::course::watch::watch_dir(dir)?;
    tokio::spawn(async move {
        let _watcher = watcher;
        while changes.recv().await.is_some() {
            let source = source.clone();
            match tokio::task::spawn_blocking(move || Course::load(&source)).await {
                Ok(Ok(course)) => {
                    for err in course.errors() {
                        tracing::warn!("{err}");
                    }
                    tracing::info!("content changed; reloaded");
                    state.replace_course(course);
                }
                Ok(Err(err)) => tracing::warn!("cannot reload content: {err}"),
                Err(err) => tracing::error!("content reload panicked: {err}"),
            }
        }
    });
    Ok(())
}
