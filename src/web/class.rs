//! The classroom in the browser: the join page (the only thing a visitor sees), rejoin
//! links, the instructor's login, a student's Start / Stop / Reset and `GET /api/me`, and
//! the bridge that turns the class's changes into live updates for each student's pages.
//! In solo mode none of these routes exist (404).

use super::session::{self, Viewer};
use super::{AppState, ServerEvent, WebError};
use crate::classroom::{Classroom, JoinError, StackView};
use crate::store::StudentId;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Json, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The peer address of a connection, put into each request by the server.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// Wrong join codes per network address: a whole class behind one NAT typing the code
/// stays far below the budget; guessing a code from a space of 148 million does not.
pub struct JoinLimiter {
    wrong: DefaultKeyedRateLimiter<IpAddr>,
    blocked: Mutex<HashMap<IpAddr, Instant>>,
}

impl JoinLimiter {
    /// 30 wrong codes a minute per address.
    pub fn new() -> JoinLimiter {
        let quota = Quota::per_minute(NonZeroU32::new(30).unwrap_or(NonZeroU32::MIN));
        JoinLimiter { wrong: RateLimiter::keyed(quota), blocked: Mutex::new(HashMap::new()) }
    }

    /// How long `ip` must wait, if it is blocked.
    fn blocked_for(&self, ip: IpAddr) -> Option<Duration> {
        let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        blocked.retain(|_, until| *until > Instant::now());
        blocked.get(&ip).map(|until| until.saturating_duration_since(Instant::now()))
    }

    /// Counts a wrong code; blocks `ip` when it runs out.
    fn wrong_code(&self, ip: IpAddr) {
        if let Err(not_until) = self.wrong.check_key(&ip) {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default())).max(Duration::from_secs(10));
            self.blocked.lock().unwrap_or_else(|e| e.into_inner()).insert(ip, Instant::now() + wait);
        }
    }
}

impl Default for JoinLimiter {
    fn default() -> Self {
        Self::new()
    }
}

fn classroom(state: &AppState) -> Result<&Classroom, WebError> {
    state.classroom_handle().ok_or_else(|| WebError::not_found("this server is not running a class", vec![]))
}

/// Visitors of a class may only reach the join page (and static files); everything else
/// asks them to join first.
pub async fn gate(State(state): State<AppState>, viewer: Viewer, request: Request, next: Next) -> Response {
    if state.classroom_handle().is_none() || viewer != Viewer::Anonymous {
        return next.run(request).await;
    }
    let path = request.uri().path();
    let open = matches!(path, "/join" | "/rejoin" | "/instructor/login" | "/instructor" | "/healthz" | "/signout") || path.starts_with("/static/");
    if open {
        return next.run(request).await;
    }
    if request.method() != Method::GET || path.starts_with("/api/") || path == "/events" {
        return (StatusCode::UNAUTHORIZED, Json(serde_json::json!({"error": "join the class first: open / in your browser"}))).into_response();
    }
    Redirect::to("/join").into_response()
}

#[derive(Template, WebTemplate)]
#[template(path = "join.html")]
struct JoinPage {
    message: Option<String>,
    name: String,
}

fn join_page_with(status: StatusCode, message: Option<String>, name: String) -> Response {
    (status, JoinPage { message, name }).into_response()
}

/// `GET /join`.
pub async fn join_page(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    classroom(&state)?;
    if viewer != Viewer::Anonymous {
        return Ok(Redirect::to("/").into_response());
    }
    Ok(join_page_with(StatusCode::OK, None, String::new()))
}

/// The join form.
#[derive(serde::Deserialize)]
pub struct JoinForm {
    code: String,
    name: String,
}

/// `POST /join`: the code and a name; a session cookie and the way in.
pub async fn join(State(state): State<AppState>, peer: Option<axum::Extension<Peer>>, headers: HeaderMap, axum::Form(form): axum::Form<JoinForm>) -> Result<Response, WebError> {
    let classroom = classroom(&state)?;
    let ip = peer.map_or(IpAddr::from([0, 0, 0, 0]), |p| p.0.0.ip());
    if let Some(wait) = state.join_limiter.blocked_for(ip) {
        let message = format!("Too many wrong codes came from your network. Wait {} seconds, then try again.", wait.as_secs().max(1));
        return Ok(join_page_with(StatusCode::TOO_MANY_REQUESTS, Some(message), form.name));
    }
    match classroom.join(&form.code, &form.name).await {
        Ok(joined) => {
            let jar = CookieJar::new().add(session::session_cookie(joined.session, session::over_https(&headers)));
            Ok((jar, Redirect::to("/?welcome=1")).into_response())
        }
        Err(JoinError::WrongCode) => {
            state.join_limiter.wrong_code(ip);
            Ok(join_page_with(StatusCode::FORBIDDEN, Some("That is not this class's join code. Check it with your instructor (letters and digits; dashes and case do not matter).".into()), form.name))
        }
        Err(JoinError::Closed) => Ok(join_page_with(StatusCode::FORBIDDEN, Some("Joining this class is closed. Ask your instructor.".into()), form.name)),
        Err(e @ (JoinError::BadName(_) | JoinError::NameTaken(_))) => Ok(join_page_with(StatusCode::UNPROCESSABLE_ENTITY, Some(e.to_string()), form.name)),
        Err(e) => Err(anyhow::anyhow!("joining failed: {e}").into()),
    }
}

/// `?token=...`
#[derive(serde::Deserialize)]
pub struct TokenQuery {
    token: String,
}

/// `GET /rejoin?token=T`: the personal link that signs a student in on another device.
pub async fn rejoin(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<TokenQuery>) -> Result<Response, WebError> {
    let classroom = classroom(&state)?;
    match classroom.rejoin(&q.token).await.map_err(anyhow::Error::from)? {
        Some((_, session)) => {
            let jar = CookieJar::new().add(session::session_cookie(session, session::over_https(&headers)));
            Ok((jar, Redirect::to("/")).into_response())
        }
        None => Ok(join_page_with(StatusCode::FORBIDDEN, Some("That rejoin link is not valid for this class. Join again with the code and your name, or ask your instructor.".into()), String::new())),
    }
}

/// `POST /signout`.
pub async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, WebError> {
    let classroom = classroom(&state)?;
    if let Some(token) = session::token(&headers) {
        classroom.sign_out(&token).await.map_err(anyhow::Error::from)?;
    }
    Ok((CookieJar::new().add(session::cleared_cookie()), Redirect::to("/join")).into_response())
}

/// `GET /instructor/login?token=T`: exchanges the printed token for an instructor session.
pub async fn instructor_login(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<TokenQuery>) -> Result<Response, WebError> {
    let classroom = classroom(&state)?;
    match classroom.instructor_login(&q.token).await.map_err(anyhow::Error::from)? {
        Some(session) => {
            let jar = CookieJar::new().add(session::session_cookie(session, session::over_https(&headers)));
            Ok((jar, Redirect::to("/instructor")).into_response())
        }
        None => Err(WebError::Forbidden("That instructor link is not valid (it changes each time lab serve starts, unless --instructor-token is set). Use the link lab serve printed.".into())),
    }
}

/// The signed-in student, for routes that act on their stack.
fn student_of(viewer: &Viewer) -> Result<StudentId, WebError> {
    match viewer {
        Viewer::Student { id, .. } => Ok(*id),
        Viewer::Instructor => Err(WebError::Forbidden("The instructor has no stack of their own; students start theirs on their pages.".into())),
        _ => Err(WebError::Forbidden("Join the class first.".into())),
    }
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers.get("accept").and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("application/json"))
}

fn stack_answer(headers: &HeaderMap, view: StackView) -> Response {
    if wants_json(headers) { Json(serde_json::json!({"stack": view})).into_response() } else { Redirect::to("/#stack").into_response() }
}

/// `POST /stack/start`.
pub async fn stack_start(State(state): State<AppState>, viewer: Viewer, headers: HeaderMap) -> Result<Response, WebError> {
    let classroom = classroom(&state)?;
    let student = student_of(&viewer)?;
    let view = classroom.start(student).await.map_err(|e| WebError::Unavailable(e.to_string()))?;
    Ok(stack_answer(&headers, view))
}

/// `POST /stack/stop`.
pub async fn stack_stop(State(state): State<AppState>, viewer: Viewer, headers: HeaderMap) -> Result<Response, WebError> {
    let classroom = classroom(&state)?;
    let student = student_of(&viewer)?;
    let view = classroom.stop(student).await.map_err(|e| WebError::Unavailable(e.to_string()))?;
    Ok(stack_answer(&headers, view))
}

#[derive(Template, WebTemplate)]
#[template(path = "reset.html")]
struct ResetPage;

/// `GET /stack/reset`: asks first.
pub async fn reset_page(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    classroom(&state)?;
    student_of(&viewer)?;
    Ok(ResetPage.into_response())
}

/// The reset confirmation.
#[derive(serde::Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    confirm: String,
}

/// `POST /stack/reset` with `confirm=yes`: a fresh stack and site; the old site is kept.
pub async fn stack_reset(State(state): State<AppState>, viewer: Viewer, headers: HeaderMap, axum::Form(form): axum::Form<ResetForm>) -> Result<Response, WebError> {
    let classroom = classroom(&state)?;
    let student = student_of(&viewer)?;
    if form.confirm != "yes" {
        return Ok((StatusCode::BAD_REQUEST, ResetPage).into_response());
    }
    let view = classroom.reset(student).await.map_err(|e| WebError::Unavailable(e.to_string()))?;
    Ok(stack_answer(&headers, view))
}

/// `GET /api/me`: the signed-in student and their stack.
pub async fn me(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    let classroom = classroom(&state)?;
    let Viewer::Student { id, name } = &viewer else {
        return Err(WebError::Forbidden("only a student has a stack".into()));
    };
    let stack = classroom.stack_view(*id).await;
    Ok(Json(serde_json::json!({"student": {"id": id.0, "name": name}, "stack": stack})).into_response())
}

#[derive(Template)]
#[template(path = "stack_panel.html")]
/// A student's stack panel (home page, and pushed live over SSE).
pub struct StackPanel<'a> {
    /// The stack.
    pub view: &'a StackView,
    /// The student's rejoin link.
    pub rejoin: String,
    /// Show the rejoin link prominently (just joined).
    pub welcome: bool,
}

impl StackPanel<'_> {
    /// Rendered HTML (empty if the template fails, which is logged).
    pub fn html(&self) -> String {
        self.render().unwrap_or_else(|e| {
            tracing::error!("cannot render a stack panel: {e}");
            String::new()
        })
    }

    fn percent(&self) -> Option<u64> {
        self.view.progress.filter(|(_, total)| *total > 0).map(|(done, total)| done * 100 / total)
    }
}

/// The rejoin URL of `student` (relative: the browser adds the host it used).
pub fn rejoin_link(classroom: &Classroom, student: StudentId) -> String {
    format!("/rejoin?token={}", classroom.rejoin_token(student))
}

/// Forwards the class's changes to the students' pages: a stack's new state (as JSON and
/// as its rendered panel) and exercise results, and the instructor's board. Changes that
/// queue up while one batch is sent are sent together: the board is computed once per batch,
/// so a class pressing Start at once (or a round of checks) costs one board, not hundreds.
pub fn spawn_events(state: AppState) {
    use tokio::sync::broadcast::error::{RecvError, TryRecvError};
    let Some(classroom) = state.classroom_handle().cloned() else { return };
    let mut events = classroom.subscribe();
    tokio::spawn(async move {
        loop {
            let mut batch = Batch::default();
            match events.recv().await {
                Ok(e) => batch.add(e),
                Err(RecvError::Lagged(_)) => batch.everyone = true,
                Err(RecvError::Closed) => return,
            }
            loop {
                match events.try_recv() {
                    Ok(e) => batch.add(e),
                    Err(TryRecvError::Lagged(_)) => batch.everyone = true,
                    Err(TryRecvError::Empty | TryRecvError::Closed) => break,
                }
            }
            send(&state, &classroom, batch).await;
        }
    });
}

/// The changes of one round, each student once.
#[derive(Default)]
struct Batch {
    stacks: Vec<StudentId>,
    results: Vec<StudentId>,
    board: Vec<StudentId>,
    class: bool,
    presented: bool,
    /// Events were missed (the loop fell behind): everyone's pages are brought up to date.
    everyone: bool,
}

impl Batch {
    fn add(&mut self, event: crate::classroom::ClassEvent) {
        use crate::classroom::ClassEvent;
        let once = |list: &mut Vec<StudentId>, s: StudentId| {
            if !list.contains(&s) {
                list.push(s);
            }
        };
        match event {
            ClassEvent::Stack(s) => once(&mut self.stacks, s),
            ClassEvent::Results(s) => once(&mut self.results, s),
            ClassEvent::Joined(_) | ClassEvent::Class => {}
            ClassEvent::Presented => self.presented = true,
        }
        match event {
            ClassEvent::Stack(s) | ClassEvent::Results(s) | ClassEvent::Joined(s) => once(&mut self.board, s),
            ClassEvent::Class => self.class = true,
            ClassEvent::Presented => {}
        }
    }
}

async fn send(state: &AppState, classroom: &Classroom, mut batch: Batch) {
    if batch.everyone {
        match classroom.store().members(classroom.id()).await {
            Ok(members) => {
                let all: Vec<StudentId> = members.into_iter().map(|m| m.student).collect();
                batch.stacks = all.clone();
                batch.results = all.clone();
                batch.board = all;
            }
            Err(e) => tracing::warn!("cannot list the class to catch up: {e}"),
        }
    }
    for &student in &batch.stacks {
        let view = classroom.stack_view(student).await;
        let html = StackPanel { view: &view, rejoin: rejoin_link(classroom, student), welcome: false }.html();
        let json = serde_json::to_string(&view).unwrap_or_default();
        state.publish(ServerEvent::Stack { student, json, html });
    }
    for &student in &batch.results {
        super::checks::publish_latest(state, student, &classroom.lab_id()).await;
    }
    if !batch.board.is_empty() || batch.class {
        super::board::publish(state, classroom, &batch.board).await;
    }
    if batch.presented
        && let Some(p) = classroom.presented()
    {
        state.publish(ServerEvent::Slide { deck: p.deck, n: p.slide });
    }
}
