//! The instructor's board at `/instructor`: the class's [`Board`] rendered as a table (one
//! row per student, one column per exercise with its summary and the class's most common
//! failing criteria), and the live updates that patch it — an instructor-only `board` event
//! carrying the changed student's row and the column summaries, rendered and escaped here.

use super::session::Viewer;
use super::{AppState, ServerEvent, WebError};
use crate::classroom::Classroom;
use crate::classroom::board::{Board, BoardRow, CellStatus, Stuck, short_duration};
use crate::store::StudentId;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

/// The class, or 404 in solo mode.
pub(super) fn classroom(state: &AppState) -> Result<&Classroom, WebError> {
    state.classroom_handle().ok_or_else(|| WebError::not_found("this server is not running a class", vec![]))
}

/// Only the instructor passes.
pub(super) fn instructor_only(viewer: &Viewer) -> Result<(), WebError> {
    if *viewer != Viewer::Instructor {
        return Err(WebError::Forbidden("This page is for the instructor, who signs in with the link lab serve printed.".into()));
    }
    Ok(())
}

/// One exercise cell as shown.
struct CellView {
    mark: &'static str,
    class: &'static str,
    text: String,
    title: String,
}

#[derive(Template)]
#[template(path = "board_row.html")]
struct RowTemplate {
    id: i64,
    name: String,
    stack_state: &'static str,
    stack_label: String,
    step: Option<String>,
    cells: Vec<CellView>,
    passed: usize,
    on_current: Option<String>,
    last_activity_ms: Option<i64>,
    last_activity: String,
    stuck: Option<String>,
    stuck_ms: i64,
    failing_since_ms: Option<i64>,
    failing: String,
}

impl RowTemplate {
    fn of(row: &BoardRow, now_ms: i64) -> RowTemplate {
        let cells = row
            .cells
            .iter()
            .map(|c| {
                let (class, text, title) = match c.status {
                    CellStatus::Passed => ("passed", c.first_passed_ms.zip(c.first_seen_ms).map(|(p, f)| short_duration(p - f)).unwrap_or_default(), "passed"),
                    CellStatus::Failed => ("failed", String::new(), "failing"),
                    CellStatus::Pending => ("pending", String::new(), "being checked"),
                    CellStatus::NotStarted => ("not-started", String::new(), "not started"),
                };
                let title = if c.attempts > 0 { format!("{title}; {} failing results", c.attempts) } else { title.to_owned() };
                CellView { mark: c.status.mark(), class, text, title }
            })
            .collect();
        RowTemplate {
            id: row.student,
            name: row.name.clone(),
            stack_state: row.stack.as_ref().map_or("none", |s| s.state),
            stack_label: row.stack.as_ref().map_or_else(String::new, |s| s.label.clone()),
            step: row.step.clone(),
            cells,
            passed: row.passed,
            on_current: row.current.as_ref().zip(row.on_current_ms).map(|(e, ms)| format!("{e}: {}", short_duration(ms))),
            last_activity_ms: row.last_activity_ms,
            last_activity: row.last_activity_ms.map_or_else(|| "—".to_owned(), |at| format!("{} ago", short_duration(now_ms - at))),
            stuck: row.stuck.as_ref().map(|s| format!("stuck {} {}", short_duration(s.for_ms), failing_text(s))),
            stuck_ms: row.stuck.as_ref().map_or(0, |s| s.for_ms),
            failing_since_ms: row.failing.as_ref().map(|f| f.since_ms),
            failing: row.failing.as_ref().map_or_else(String::new, failing_text),
        }
    }
}

/// "on criterion: message", and why when the live system told (the student sees the same).
fn failing_text(s: &Stuck) -> String {
    match &s.diagnosis {
        Some(why) => format!("on {}: {} — why: {why}", s.criterion, s.message),
        None => format!("on {}: {}", s.criterion, s.message),
    }
}

#[derive(Template)]
#[template(path = "board_columns.html")]
struct ColumnsTemplate<'a> {
    board: &'a Board,
    head: bool,
}

fn render(t: &impl Template) -> String {
    t.render().unwrap_or_else(|e| {
        tracing::error!("cannot render the board: {e}");
        String::new()
    })
}

/// The board's pieces as HTML: every row, the head and the foot.
struct Rendered {
    rows: Vec<String>,
    head: String,
    foot: String,
}

fn rendered(board: &Board) -> Rendered {
    Rendered {
        rows: board.rows.iter().map(|r| render(&RowTemplate::of(r, board.now_ms))).collect(),
        head: render(&ColumnsTemplate { board, head: true }),
        foot: render(&ColumnsTemplate { board, head: false }),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "instructor.html")]
struct InstructorPage {
    join_code: String,
    public_host: String,
    capacity: usize,
    ports: String,
    idle: String,
    joining_open: bool,
    ended: bool,
    students: usize,
    stuck_after: String,
    stuck_after_ms: i64,
    board: Rendered,
}

/// `GET /instructor`: the board.
pub async fn page(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    let classroom = classroom(&state)?;
    instructor_only(&viewer)?;
    let settings = classroom.settings();
    let board = classroom.board().await.map_err(anyhow::Error::from)?;
    let (joining_open, ended) = classroom.joining();
    Ok(InstructorPage {
        join_code: classroom.join_code(),
        public_host: settings.public_host.clone(),
        capacity: settings.max_stacks,
        ports: classroom.ports_label(),
        idle: crate::classroom::config::show_duration(settings.idle),
        joining_open,
        ended,
        students: board.rows.len(),
        stuck_after: short_duration(board.stuck_after_ms),
        stuck_after_ms: board.stuck_after_ms,
        board: rendered(&board),
    }
    .into_response())
}

/// Sends the instructor's pages the rows of `students` as they are now (or, for none, only
/// the columns), from one computation of the board however many students changed.
pub async fn publish(state: &AppState, classroom: &Classroom, students: &[StudentId]) {
    let board = match classroom.board().await {
        Ok(b) => b,
        Err(e) => return tracing::warn!("cannot compute the board: {e}"),
    };
    let head = render(&ColumnsTemplate { board: &board, head: true });
    let foot = render(&ColumnsTemplate { board: &board, head: false });
    let event = |student: Option<StudentId>| {
        let row = student.and_then(|s| board.row(s)).map(|r| render(&RowTemplate::of(r, board.now_ms)));
        let json = serde_json::json!({"student": student.map(|s| s.0), "row": row, "head": head, "foot": foot, "students": board.rows.len()});
        ServerEvent::Board { json: json.to_string() }
    };
    if students.is_empty() {
        state.publish(event(None));
    }
    for student in students {
        state.publish(event(Some(*student)));
    }
}
