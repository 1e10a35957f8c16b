//! The instructor's board and class controls: what the board shows for a class with
//! results, who may reach every instructor route (students never do), the live `board`
//! event reaching the instructor's stream and not a student's, the controls, and exports.

use lab::checks::{Criterion, ExerciseResult, Status};
use lab::store::StudentId;
use serde_json::Value;
use crate::support::classroom::{ClassApp, read_events};

const LAB: &str = "mesos-marathon";

fn result(exercise: &str, status: Status, criteria: &[(&str, Status, &str)]) -> ExerciseResult {
    ExerciseResult {
        exercise: exercise.into(),
        status,
        criteria: criteria.iter().map(|(name, status, message)| Criterion { name: (*name).into(), status: *status, message: (*message).into(), hint: None, diagnosis: None }).collect(),
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
    assert!(bob_row.contains("data-failing-since=") && bob_row.contains("on network: network is HOST"), "pages can mark Bob stuck as time passes: {bob_row}");

    let board = app.classroom.board().await.unwrap();
    let ann = board.rows.iter().find(|r| r.name == "Ann").unwrap();
    assert!(ann.step.is_some(), "Ann's step is known");
    assert_eq!(board.rows.iter().find(|r| r.name == "Bob").unwrap().step, None, "Bob opened no step: none is shown");
    assert_eq!(ann.cells.iter().find(|c| c.exercise == "scale-demo").map(|c| c.attempts), Some(1));
}

#[tokio::test]
async fn a_result_change_reaches_the_instructors_board_and_no_students_stream() {
    let (app, a, b, teacher) = class_with_results().await;
    let mut instructor = app.open_stream(&teacher).await;
    let mut student = app.open_stream(&b).await;
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

/// A route and the status each kind of viewer gets: (method, path, form, anonymous,
/// student, instructor).
type Row = (&'static str, &'static str, Option<&'static str>, u16, u16, u16);

/// Every instructor route × anonymous, student A, student B, instructor: (method, path,
/// form, anonymous, student, instructor). Harmless forms, so the matrix can run in order.
#[tokio::test]
async fn students_never_reach_the_board_controls_or_exports() {
    let (app, a, b, teacher) = class_with_results().await;
    let routes: &[Row] = &[
        ("GET", "/instructor", None, 403, 403, 200),
        ("GET", "/instructor/export.csv", None, 303, 403, 200),
        ("GET", "/api/class", None, 401, 403, 200),
        ("POST", "/instructor/start-all", None, 401, 403, 303),
        ("POST", "/instructor/stop-all", None, 401, 403, 303),
        ("POST", "/instructor/joining", Some("open=yes"), 401, 403, 303),
        ("POST", "/instructor/join-code", Some("code=K7M-P3Q"), 401, 403, 303),
        ("POST", "/instructor/idle", Some("idle=90m"), 401, 403, 303),
        ("POST", "/instructor/end", Some("confirm=no"), 401, 403, 422),
    ];
    let mut wrong = Vec::new();
    for (who, cookie) in [("anonymous", None), ("Ann", Some(a.as_str())), ("Bob", Some(b.as_str())), ("instructor", Some(teacher.as_str()))] {
        for (method, path, form, anon, student, instructor) in routes {
            let want = match who {
                "anonymous" => *anon,
                "instructor" => *instructor,
                _ => *student,
            };
            let got = app.send(method, path, cookie, *form).await;
            if got.status.as_u16() != want {
                wrong.push(format!("{who} {method} {path}: {} (wanted {want})", got.status));
            }
            if who != "instructor" {
                assert!(!got.body.contains("Failing most") && !got.body.contains("network is HOST"), "{who} {path} shows nothing of the class");
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn closing_joining_refuses_new_students_but_not_returning_ones() {
    let app = ClassApp::start().await;
    let a = app.join("Ann").await;
    let teacher = app.instructor().await;
    assert_eq!(app.send("POST", "/instructor/joining", Some(&teacher), Some("open=no")).await.status, 303);
    let r = app.send("POST", "/join", None, Some(&format!("code={}&name=Zed", app.code))).await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("Joining this class is closed"), "{}", r.body);
    assert_eq!(app.send("GET", "/api/me", Some(&a), None).await.status, 200, "Ann stays signed in");
    let ann = id_of(&app, &a).await;
    let link = format!("/rejoin?token={}", app.classroom.rejoin_token(ann));
    assert_eq!(app.send("GET", &link, None, None).await.status, 303, "Ann can still rejoin on another device");
    let record = app.state.store().class(app.classroom.id()).await.unwrap().unwrap();
    assert!(!record.joining_open, "kept in the store");
    assert!(app.send("GET", "/instructor", Some(&teacher), None).await.body.contains("Open joining"));
    assert_eq!(app.send("POST", "/instructor/joining", Some(&teacher), Some("open=yes")).await.status, 303);
    app.join("Zed").await;
}

#[tokio::test]
async fn a_new_join_code_replaces_the_old_one() {
    let app = ClassApp::start().await;
    let teacher = app.instructor().await;
    assert_eq!(app.send("POST", "/instructor/join-code", Some(&teacher), Some("code=no")).await.status, 422, "too short");
    assert_eq!(app.send("POST", "/instructor/join-code", Some(&teacher), Some("code=NEW-C0DE")).await.status, 303);
    assert_eq!(app.send("POST", "/join", None, Some(&format!("code={}&name=Ann", app.code))).await.status, 403, "the old code is refused");
    assert_eq!(app.send("POST", "/join", None, Some("code=newc0de&name=Ann")).await.status, 303, "case and dashes do not matter");
    assert_eq!(app.state.store().class(app.classroom.id()).await.unwrap().unwrap().join_code, "NEW-C0DE");
}

async fn wait_for(app: &ClassApp, cookie: &str, state: &str) -> Value {
    let mut me = Value::Null;
    for _ in 0..200 {
        me = serde_json::from_str(&app.send("GET", "/api/me", Some(cookie), None).await.body).unwrap();
        if me["stack"]["state"] == state {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    me
}

#[tokio::test]
async fn start_all_then_stop_all_runs_and_stops_every_stack_and_end_closes_the_class() {
    let app = ClassApp::start().await;
    let a = app.join("Ann").await;
    let b = app.join("Bob").await;
    let teacher = app.instructor().await;
    assert_eq!(app.send("POST", "/instructor/start-all", Some(&teacher), None).await.status, 303);
    assert_eq!(wait_for(&app, &a, "ready").await["stack"]["state"], "ready");
    assert_eq!(wait_for(&app, &b, "ready").await["stack"]["state"], "ready");
    assert_eq!(app.provisioner.running.lock().unwrap().len(), 2);
    assert_eq!(app.send("POST", "/instructor/stop-all", Some(&teacher), None).await.status, 303);
    assert!(app.provisioner.running.lock().unwrap().is_empty(), "the double runs nothing");
    assert_eq!(wait_for(&app, &a, "stopped").await["stack"]["state"], "stopped");

    assert_eq!(app.send("POST", "/instructor/idle", Some(&teacher), Some("idle=0")).await.status, 303);
    assert_eq!(app.classroom.settings().idle, None);
    assert_eq!(app.send("POST", "/instructor/idle", Some(&teacher), Some("idle=soon")).await.status, 422);

    app.send("POST", "/instructor/start-all", Some(&teacher), None).await;
    wait_for(&app, &a, "ready").await;
    assert_eq!(app.send("POST", "/instructor/end", Some(&teacher), Some("confirm=yes")).await.status, 303);
    assert!(app.provisioner.running.lock().unwrap().is_empty(), "ending stops every stack");
    let record = app.state.store().class(app.classroom.id()).await.unwrap().unwrap();
    assert!(record.ended_at.is_some() && !record.joining_open, "the record stays, closed");
    assert_eq!(app.state.store().members(app.classroom.id()).await.unwrap().len(), 2);
    assert_eq!(app.send("POST", "/join", None, Some(&format!("code={}&name=Cy", app.code))).await.status, 403);
}

#[tokio::test]
async fn the_csv_export_has_a_header_and_a_line_per_student_and_exercise_with_names_quoted() {
    let (app, _a, _b, teacher) = class_with_results().await;
    let odd = app.join("Smith%2C%20%22Jo%22").await;
    let odd_id = id_of(&app, &odd).await;
    app.classroom.record_result(odd_id, LAB, &result("scale-demo", Status::Passed, &[])).await.unwrap();
    for path in ["/instructor/export.csv", "/api/class"] {
        assert_eq!(app.send("GET", path, Some(&odd), None).await.status, 403, "{path} is not for students");
    }
    assert_eq!(app.send("GET", "/instructor/export.csv", None, None).await.status, 303, "visitors are sent to join");
    assert_eq!(app.send("GET", "/api/class", None, None).await.status, 401);
    let r = app.send("GET", "/instructor/export.csv", Some(&teacher), None).await;
    assert_eq!(r.status, 200);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(r.headers["content-disposition"].to_str().unwrap().contains("attachment"));
    let lines: Vec<&str> = r.body.lines().collect();
    assert_eq!(lines[0], "student,exercise,status,first_seen_at,first_passed_at,attempts,time_spent_s");
    assert_eq!(lines.len(), 1 + 3 * 2, "3 students × 2 exercises (the environment check is not one): {}", r.body);
    let ann_scale = lines.iter().find(|l| l.starts_with("Ann,scale-demo,")).expect("Ann's scale-demo");
    let fields: Vec<&str> = ann_scale.split(',').collect();
    assert_eq!((fields[2], fields[5]), ("passed", "1"), "{ann_scale}");
    assert!(fields[3].ends_with('Z') && fields[4].ends_with('Z'), "UTC times: {ann_scale}");
    assert!(lines.contains(&"Bob,scale-demo,not-started,,,0,"), "{}", r.body);
    assert!(!r.body.contains("stack-ready"), "{}", r.body);
    assert!(r.body.contains("\"Smith, \"\"Jo\"\"\",scale-demo,passed,"), "commas and quotes are quoted: {}", r.body);
}

#[tokio::test]
async fn the_json_export_lists_exercises_and_students() {
    let (app, _a, _b, teacher) = class_with_results().await;
    let r = app.send("GET", "/api/class", Some(&teacher), None).await;
    assert_eq!(r.status, 200);
    let v: Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(v["lab"], LAB);
    assert_eq!(v["exercises"].as_array().map(Vec::len), Some(2), "the environment check is not an exercise: {v}");
    assert_eq!(v["exercises"][0], serde_json::json!({"id": "scale-demo", "title": "Scale the demo app down to one instance", "passed": 1, "total": 2}));
    let ann = &v["students"][0];
    assert_eq!(ann["name"], "Ann");
    let scale = &ann["exercises"][0];
    assert_eq!((scale["exercise"].as_str(), scale["status"].as_str(), scale["attempts"].as_u64()), (Some("scale-demo"), Some("passed"), Some(1)));
    assert!(scale["first_passed_at"].as_str().is_some_and(|t| t.ends_with('Z')) && scale["time_spent_s"].is_u64(), "{scale}");
    assert_eq!(v["students"][1]["exercises"][0]["first_passed_at"], Value::Null);
}

#[tokio::test]
async fn lab_class_export_reads_a_class_from_a_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("class.db");
    {
        let store = lab::store::Store::open(&lab::store::DbLocation::File(path.clone())).await.unwrap();
        let class = store.create_class(LAB, "ABC-DEF", "secret", "{}").await.unwrap();
        let jo = store.add_member(class.id, "Smith, \"Jo\"").await.unwrap();
        store.record_result(jo, LAB, &result("wolf3d", Status::Failed, &[("network", Status::Failed, "HOST")])).await.unwrap();
        store.record_result(jo, LAB, &result("wolf3d", Status::Passed, &[])).await.unwrap();
        store.pool().close().await;
    }
    let run = |format: &str| std::process::Command::new(env!("CARGO_BIN_EXE_lab")).env_remove("LAB_CONTENT").args(["class", "export", "--db"]).arg(&path).args(["--format", format]).output().expect("run lab");
    let out = run("csv");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("student,exercise,status,"), "{text}");
    assert!(text.contains("\"Smith, \"\"Jo\"\"\",wolf3d,passed,"), "{text}");
    assert!(text.contains("\"Smith, \"\"Jo\"\"\",scale-demo,not-started,"), "the course's exercises: {text}");
    let out = run("json");
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let wolf = v["students"][0]["exercises"].as_array().unwrap().iter().find(|e| e["exercise"] == "wolf3d").cloned().unwrap();
    assert_eq!((wolf["status"].as_str(), wolf["attempts"].as_u64()), (Some("passed"), Some(1)));
    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_lab")).args(["class", "export", "--db"]).arg(dir.path().join("none.db")).output().unwrap();
    assert_eq!(missing.status.code(), Some(2), "no such file: could not do it");
    assert!(!dir.path().join("none.db").exists(), "and no database is created");
}

#[tokio::test]
async fn a_failing_students_row_says_why_from_the_live_system() {
    let app = ClassApp::start().await;
    let c = app.join("Cy").await;
    let teacher = app.instructor().await;
    let cy = id_of(&app, &c).await;
    let mut failing = result("wolf3d", Status::Failed, &[("running tasks", Status::Failed, "0 running tasks (wanted: at least 2)")]);
    failing.criteria[0].diagnosis = Some("Mesos could not pull the image <nope>".into());
    app.classroom.record_result(cy, LAB, &failing).await.unwrap();
    let body = app.send("GET", "/instructor", Some(&teacher), None).await.body;
    let row = body.split("data-name=\"Cy\"").nth(1).and_then(|s| s.split("</tr>").next()).expect("Cy's row");
    assert!(row.contains("on running tasks: 0 running tasks (wanted: at least 2) — why: Mesos could not pull the image &#60;nope&#62;"), "escaped, beside the criterion: {row}");
}
