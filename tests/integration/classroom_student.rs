//! The instructor's page of one student: who may reach it and its stack controls (only the
//! instructor; students, visitors and solo mode never), what it shows — every criterion with
//! its message and hint, site files saved next to what Marathon runs, the service logs, the
//! student's Marathon apps with deployments and tasks — and start, stop and reset (which
//! asks first), against the provisioner double and a Marathon test double.

use lab::checks::{Criterion, ExerciseResult, Status};
use lab::store::StudentId;
use serde_json::{Value, json};
use std::time::Duration;
use crate::support::classroom::ClassApp;
use crate::support::temp_lab_home;
use crate::support::marathon::{MarathonDouble, Shape};

const LAB: &str = "mesos-marathon";

async fn id_of(app: &ClassApp, cookie: &str) -> StudentId {
    let me: Value = serde_json::from_str(&app.send("GET", "/api/me", Some(cookie), None).await.body).expect("json");
    StudentId(me["student"]["id"].as_i64().expect("an id"))
}

fn failing_wolf3d() -> ExerciseResult {
    ExerciseResult {
        exercise: "wolf3d".into(),
        status: Status::Failed,
        criteria: vec![
            Criterion { name: "app".into(), status: Status::Passed, message: "/wolf3d exists".into(), hint: None, diagnosis: None },
            Criterion { name: "network".into(), status: Status::Failed, message: "network is HOST, not BRIDGE".into(), hint: Some("set container.docker.network: BRIDGE".into()), diagnosis: Some("the app was deployed with HOST".into()) },
        ],
        blocked_by: None,
    }
}

/// (method, path, form, anonymous, student, instructor).
type Route<'a> = (&'a str, String, Option<&'a str>, u16, u16, u16);

/// Every route of the student page × visitor, the student themself, another student and the
/// instructor: (method, path, form, anonymous, student, instructor). A visitor's page request
/// is sent to the join page (303); their API and form requests are refused (401).
#[tokio::test]
async fn only_the_instructor_reaches_a_students_page_and_controls() {
    temp_lab_home();
    let app = ClassApp::start().await;
    let a = app.join("Ann").await;
    let b = app.join("Bob").await;
    let teacher = app.instructor().await;
    let ann = id_of(&app, &a).await.0;
    let routes: Vec<Route> = vec![
        ("GET", format!("/instructor/students/{ann}"), None, 303, 403, 200),
        ("GET", format!("/api/class/students/{ann}"), None, 401, 403, 200),
        ("GET", format!("/instructor/students/{ann}/reset"), None, 303, 403, 200),
        ("POST", format!("/instructor/students/{ann}/start"), None, 401, 403, 303),
        ("POST", format!("/instructor/students/{ann}/stop"), None, 401, 403, 303),
        ("POST", format!("/instructor/students/{ann}/reset"), Some("confirm=no"), 401, 403, 400),
    ];
    for (method, path, form, anon, student, instructor) in &routes {
        for (who, cookie, want) in [("anonymous", None, anon), ("Ann", Some(a.as_str()), student), ("Bob", Some(b.as_str()), student), ("instructor", Some(teacher.as_str()), instructor)] {
            let r = app.send(method, path, cookie, *form).await;
            assert_eq!(r.status.as_u16(), *want, "{who}: {method} {path}: {}", r.body);
            if *want != 200 {
                assert!(!r.body.contains("network is HOST") && !r.body.contains("Service logs"), "{who} sees nothing of the student at {path}");
            }
        }
    }
    // Students that do not exist (or are not numbers) are not found, for the instructor too.
    for path in ["/instructor/students/99999", "/instructor/students/ann", "/api/class/students/-1", "/instructor/students/99999/reset"] {
        assert_eq!(app.send("GET", path, Some(&teacher), None).await.status, 404, "{path}");
    }
    assert_eq!(app.send("POST", "/instructor/students/99999/start", Some(&teacher), None).await.status, 404);
    // Solo mode has no class: no student pages.
    let solo = crate::support::TestApp::builtin().await;
    assert_eq!(solo.get(&format!("/instructor/students/{ann}")).await.status, 404);
    assert_eq!(solo.get(&format!("/api/class/students/{ann}")).await.status, 404);
}

#[tokio::test]
async fn the_page_shows_criteria_site_files_logs_and_marathon() {
    temp_lab_home();
    let marathon = MarathonDouble::start(Shape::V15, Duration::from_millis(50)).await;
    let app = ClassApp::start().await;
    *app.provisioner.marathon.lock().unwrap() = Some(marathon.url.clone());
    let a = app.join("Ann").await;
    let teacher = app.instructor().await;
    let ann = id_of(&app, &a).await;
    app.classroom.record_result(ann, LAB, &failing_wolf3d()).await.unwrap();

    // Before a stack: the page says why each live part is missing, and offers Start.
    let page = app.send("GET", &format!("/instructor/students/{}", ann.0), Some(&teacher), None).await;
    assert_eq!(page.status, 200);
    for want in ["network is HOST, not BRIDGE", "set container.docker.network: BRIDGE", "Why: the app was deployed with HOST", "Unavailable: the student has not started a stack yet", "Unavailable: the stack is not running", "Start their stack", "/static/student.js"] {
        assert!(page.body.contains(want), "{want:?} in {}", page.body);
    }

    // Ann's stack starts; her workspace holds four site files in four different states.
    assert_eq!(app.send("POST", "/stack/start", Some(&a), None).await.status, 303);
    let ready = wait_for(|| async { app.classroom.stack_view(ann).await.state == lab::classroom::StackState::Ready }).await;
    assert!(ready, "the double's stack is ready");
    let project = app.classroom.stack_view(ann).await.project.expect("a project");
    let site = lab::marathon::workspace::site_dir(&lab::stack::project::workspace_dir(&project));
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(site.join("same.yml"), "service:\n  id: /demo/same\n  instances: 1\n").unwrap();
    std::fs::write(site.join("edited.yml"), "service:\n  id: /demo/edited\n  instances: 1\n").unwrap();
    std::fs::write(site.join("new.yml"), "service:\n  id: /demo/new\n").unwrap();
    std::fs::write(site.join("broken.yml"), "service:\n  id: /demo/broken\n  instances: [\n").unwrap();
    // What runs: same.yml exactly as saved (rendered by lab's own code), edited.yml from an
    // older text with 3 instances.
    let env = lab::marathon::site::ProcessEnv;
    let same = lab::marathon::site::render(&site.join("same.yml"), "site/same.yml", &site, &env).unwrap();
    marathon.double.seed(same.app.clone());
    std::fs::write(site.join("edited.yml"), "service:\n  id: /demo/edited\n  instances: 3\n").unwrap();
    let old = lab::marathon::site::render(&site.join("edited.yml"), "site/edited.yml", &site, &env).unwrap();
    // Its new tasks fail at once, as when the image cannot be pulled.
    marathon.double.fail_tasks("/demo/edited", "Failed to launch container: image not found");
    lab::marathon::deploy::deploy(&lab::marathon::Marathon::new(&marathon.url), &old).await.unwrap();
    assert!(wait_for(|| async { marathon.double.app("/demo/edited").is_some_and(|a| a["lastTaskFailure"].is_object()) }).await, "the double records the failure");
    std::fs::write(site.join("edited.yml"), "service:\n  id: /demo/edited\n  instances: 1\n").unwrap();
    let held = marathon.double.hold("/demo/same");

    let detail: Value = serde_json::from_str(&app.send("GET", &format!("/api/class/students/{}", ann.0), Some(&teacher), None).await.body).expect("json");
    let files = detail["site"]["value"].as_array().expect("site files shown");
    let state_of = |name: &str| files.iter().find(|f| f["file"] == name).map(|f| f["deployed"].clone()).unwrap_or(Value::Null);
    assert_eq!(state_of("site/same.yml"), json!("same"), "{files:?}");
    assert_eq!(state_of("site/edited.yml"), json!("differs"));
    assert_eq!(state_of("site/new.yml"), json!("not-running"));
    assert_eq!(state_of("site/broken.yml"), json!("does-not-render"));
    let edited = files.iter().find(|f| f["file"] == "site/edited.yml").unwrap();
    assert!(edited["saved"]["value"].as_str().unwrap().contains("instances: 1"), "the saved text");
    assert!(edited["running"].as_str().unwrap().contains("\"instances\": 3"), "what Marathon runs: {edited}");
    let broken = files.iter().find(|f| f["file"] == "site/broken.yml").unwrap();
    assert!(broken["error"].as_str().unwrap().contains("site/broken.yml"), "the render error names the file: {broken}");

    let apps = detail["marathon"]["value"].as_array().expect("apps shown");
    let same_app = apps.iter().find(|a| a["id"] == "/demo/same").expect("/demo/same");
    assert!(same_app["deployments"].as_array().unwrap().iter().any(|d| *d == json!(held)), "the held deployment: {same_app}");
    assert_eq!(same_app["tasks"].as_array().map(Vec::len), Some(1), "{same_app}");
    let edited_app = apps.iter().find(|a| a["id"] == "/demo/edited").expect("/demo/edited");
    assert_eq!(edited_app["last_failure"], json!("Failed to launch container: image not found"));
    let logs = detail["logs"]["value"].as_array().expect("logs shown");
    assert!(logs.iter().any(|l| l["lines"].as_array().unwrap().iter().any(|line| line.as_str().unwrap().contains(&project))), "{logs:?}");

    let page = app.send("GET", &format!("/instructor/students/{}", ann.0), Some(&teacher), None).await.body;
    for want in ["Marathon runs this version", "saved, not deployed", "not running in Marathon", "does not render", "Last task failure: Failed to launch container", "TASK_RUNNING", "Stop their stack", "is running"] {
        assert!(page.contains(want), "{want:?} on the page");
    }
    // The board links each student to this page.
    let board = app.send("GET", "/instructor", Some(&teacher), None).await.body;
    assert!(board.contains(&format!("href=\"/instructor/students/{}\"", ann.0)), "the board links to Ann's page");
}

#[tokio::test]
async fn the_instructor_starts_stops_and_resets_a_students_stack() {
    temp_lab_home();
    let app = ClassApp::start().await;
    let a = app.join("Ann").await;
    let teacher = app.instructor().await;
    let ann = id_of(&app, &a).await;
    let base = format!("/instructor/students/{}", ann.0);
    let started = app.send("POST", &format!("{base}/start"), Some(&teacher), None).await;
    assert_eq!(started.status, 303);
    assert_eq!(started.headers.get("location").and_then(|v| v.to_str().ok()), Some(base.as_str()), "back to the student's page");
    assert!(wait_for(|| async { app.classroom.stack_view(ann).await.state == lab::classroom::StackState::Ready }).await);
    let project = app.classroom.stack_view(ann).await.project.expect("project");
    assert!(app.provisioner.running.lock().unwrap().contains(&project));

    let stopped = app.send_json("POST", &format!("{base}/stop"), &teacher).await;
    assert_eq!(stopped["state"], json!("stopped"), "{stopped}");
    assert!(!app.provisioner.running.lock().unwrap().contains(&project));

    // Reset asks first: without the confirmation nothing happens and the question is shown.
    let asked = app.send("POST", &format!("{base}/reset"), Some(&teacher), Some("confirm=no")).await;
    assert_eq!(asked.status, 400);
    assert!(asked.body.contains("Reset Ann") && asked.body.contains("name=\"confirm\" value=\"yes\""), "{}", asked.body);
    assert_eq!(app.classroom.stack_view(ann).await.state, lab::classroom::StackState::Stopped, "nothing was reset");
    let page = app.send("GET", &format!("{base}/reset"), Some(&teacher), None).await;
    assert!(page.body.contains("site-backup-"), "the question says the site is kept");
    let reset = app.send("POST", &format!("{base}/reset"), Some(&teacher), Some("confirm=yes")).await;
    assert_eq!(reset.status, 303);
    assert!(wait_for(|| async { app.classroom.stack_view(ann).await.state == lab::classroom::StackState::Ready }).await, "a fresh stack");
}

/// Polls `check` for up to ten seconds.
async fn wait_for<F, Fut>(check: F) -> bool
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// The whole live path with nothing faked in lab: a change in a student's Marathon (the demo
/// app scaled to 1 through Marathon's API) becomes a Marathon event, the student's live
/// watcher re-checks, and the instructor's board stream gets that student's new row.
#[tokio::test]
async fn a_marathon_event_updates_the_board_live() {
    temp_lab_home();
    let marathon = MarathonDouble::start(Shape::V15, Duration::ZERO).await;
    marathon.double.seed(json!({"id": "/demo/webapp", "instances": 3, "cpus": 0.1, "mem": 64, "container": {"type": "DOCKER", "docker": {"image": "python:3.12-alpine", "network": "BRIDGE", "portMappings": [{"containerPort": 8000, "servicePort": 10000}]}}}));
    let app = ClassApp::start().await;
    *app.provisioner.marathon.lock().unwrap() = Some(marathon.url.clone());
    let a = app.join("Ann").await;
    let teacher = app.instructor().await;
    let ann = id_of(&app, &a).await;
    assert_eq!(app.send("POST", "/stack/start", Some(&a), None).await.status, 303);
    // The first round of checks records "3 instances".
    // The first round of checks: every exercise of Ann's has a result, so nothing from it
    // is still on its way to the board when the change is made.
    let first_round = wait_for(|| async { app.classroom.store().latest_results(ann, LAB).await.is_ok_and(|r| r.len() == 3) }).await;
    assert!(first_round, "the watcher checked Ann's stack");
    let mut board = app.open_stream(&teacher).await;
    let before = crate::support::classroom::read_events(&mut board, "never sent", Duration::from_millis(500)).await;
    assert!(before.contains("event: hello"), "{before}");

    let mut scaled = marathon.double.app("/demo/webapp").expect("the demo app");
    scaled["instances"] = json!(1);
    let put = reqwest::Client::new().put(format!("{}/v2/apps/demo/webapp", marathon.url)).json(&scaled).send().await.expect("Marathon answers");
    assert!(put.status().is_success());
    // Sooner than the watcher's periodic pass (15 s): the event did it.
    let seen = crate::support::classroom::read_events(&mut board, &format!("\"student\":{}", ann.0), Duration::from_secs(10)).await;
    assert!(seen.contains("event: board") && seen.contains(&format!("\"student\":{}", ann.0)), "the board hears of Ann's change: {seen}");
    let latest = app.classroom.store().latest_results(ann, LAB).await.unwrap();
    let scale = latest.iter().find(|r| r.exercise == "scale-demo").expect("a scale-demo result");
    assert!(scale.criteria.iter().any(|c| c.name.contains("instances") && c.status == Status::Passed), "the new result sees 1 instance: {:?}", scale.criteria);
}
