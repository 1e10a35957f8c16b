//! The instructor's board and class controls: what the board shows for a class with
//! results, who may reach every instructor route (students never do), the live `board`
//! event reaching the instructor's stream and not a student's, the controls, and exports.

mod support;

use http_body_util::BodyExt;
use lab::checks::{Criterion, ExerciseResult, Status};
use lab::store::StudentId;
use serde_json::Value;
use support::classroom::ClassApp;

const LAB: &str = "mesos-marathon";

fn result(exercise: &str, status: Status, criteria: &[(&str, Status, &str)]) -> ExerciseResult {
    ExerciseResult {
        exercise: exercise.into(),
        status,
        criteria: criteria.iter().map(|(name, status, message)| Criterion { name: (*name).into(), status: *status, message: (*message).into(), hint: None }).collect(),
        blocked_by: None,
    }
}

async fn id_of(app: &ClassApp, cookie: &str) -> StudentId {
    let me: Value = serde_json::from_str(&app.send("GET", "/api/me", Some(cookie), None).await.body).expect("json");
    StudentId(me["student"]["id"].as_i64().expect("an id"))
}

/// Ann passed scale-demo and fails wolf3d on the network; Bob fails wolf3d the same way.
async fn class_with_results() -> (ClassApp, String, String, String) {
    let app = ClassApp::start().await;
    let a = app.join("Ann").await;
    let b = app.join("Bob").await;
    let teacher = app.instructor().await;
    let (ann, bob) = (id_of(&app, &a).await, id_of(&app, &b).await);
    let host = ("network", Status::Failed, "network is HOST, not BRIDGE");
    app.classroom.record_result(ann, LAB, &result("scale-demo", Status::Failed, &[("instances", Status::Failed, "3 instances, not 1")])).await.unwrap();
    app.classroom.record_result(ann, LAB, &result("scale-demo", Status::Passed, &[("instances", Status::Passed, "1 instance")])).await.unwrap();
    app.classroom.record_result(ann, LAB, &result("wolf3d", Status::Failed, &[host])).await.unwrap();
    app.classroom.record_result(bob, LAB, &result("wolf3d", Status::Failed, &[host, ("port", Status::Failed, "no port 8888")])).await.unwrap();
    assert_eq!(app.send("GET", "/labs/mesos-marathon/steps/2", Some(&a), None).await.status, 200);
    (app, a, b, teacher)
}

#[tokio::test]
async fn the_board_shows_each_student_their_exercises_and_the_class_summaries() {
    let (app, a, _b, teacher) = class_with_results().await;
    app.send("POST", "/stack/start", Some(&a), None).await;
    let page = app.send("GET", "/instructor", Some(&teacher), None).await;
    assert_eq!(page.status, 200);
    let body = page.body;
    for want in ["Ann", "Bob", "1/2 passed", "0/2 passed", "2 students:</strong> network — network is HOST, not BRIDGE", "1 student:</strong> port", "data-sort=\"stuck\"", "/static/board.js"] {
        assert!(body.contains(want), "the board shows {want:?}: {body}");
    }
    let ann_row = body.split("data-name=\"Ann\"").nth(1).and_then(|s| s.split("</tr>").next()).expect("Ann's row");
    assert!(ann_row.contains("class=\"cell passed\"") && ann_row.contains("class=\"cell failed\""), "{ann_row}");
    assert!(ann_row.contains("data-progress=\"1\""), "{ann_row}");
    assert!(ann_row.contains("wolf3d: 0s"), "time on the current exercise: {ann_row}");
    assert!(!ann_row.contains("muted\">—</span></td>\n  <td class=\"cell"), "Ann opened a step: it is named");
    let bob_row = body.split("data-name=\"Bob\"").nth(1).and_then(|s| s.split("</tr>").next()).expect("Bob's row");
    assert!(bob_row.contains("idle (not started)") && bob_row.contains("data-progress=\"0\""), "{bob_row}");

    let board = app.classroom.board().await.unwrap();
    let ann = board.rows.iter().find(|r| r.name == "Ann").unwrap();
    assert!(ann.step.is_some(), "Ann's step is known");
    assert_eq!(board.rows.iter().find(|r| r.name == "Bob").unwrap().step, None, "Bob opened no step: none is shown");
    assert_eq!(ann.cells.iter().find(|c| c.exercise == "scale-demo").map(|c| c.attempts), Some(1));
}

/// Reads the stream until `until` is seen or `wait` passes; returns what arrived.
async fn read_events(body: &mut axum::body::Body, until: &str, wait: std::time::Duration) -> String {
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + wait;
    while !seen.contains(until) {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    seen.push_str(&String::from_utf8_lossy(&data));
                }
            }
            _ => break,
        }
    }
    seen
}

async fn open_stream(app: &ClassApp, cookie: &str) -> axum::body::Body {
    let request = axum::http::Request::get("/events").header("cookie", cookie).body(axum::body::Body::empty()).unwrap();
    tower::ServiceExt::oneshot(lab::web::router(app.state.clone()), request).await.unwrap().into_body()
}

#[tokio::test]
async fn a_result_change_reaches_the_instructors_board_and_no_students_stream() {
    let (app, a, b, teacher) = class_with_results().await;
    let mut instructor = open_stream(&app, &teacher).await;
    let mut student = open_stream(&app, &b).await;
    let ann = id_of(&app, &a).await;
    app.classroom.record_result(ann, LAB, &result("wolf3d", Status::Passed, &[("network", Status::Passed, "BRIDGE")])).await.unwrap();
    let seen = read_events(&mut instructor, r#"data-progress=\"2\""#, std::time::Duration::from_secs(10)).await;
    assert!(seen.contains("event: board"), "{seen}");
    let data = seen.rsplit("event: board\ndata: ").next().and_then(|s| s.lines().next()).expect("board data");
    let event: Value = serde_json::from_str(data).expect("json");
    assert_eq!(event["student"], ann.0);
    assert!(event["row"].as_str().unwrap().contains("data-progress=\"2\""), "{event}");
    assert!(event["head"].as_str().unwrap().contains("1/2 passed"), "{event}");
    let other = read_events(&mut student, "event: board", std::time::Duration::from_millis(500)).await;
    assert!(!other.contains("event: board") && !other.contains("Ann"), "a student never hears the board: {other}");
}
