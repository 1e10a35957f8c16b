//! The classroom's web face: who may call each route (a matrix of every route × anonymous,
//! student A, student B, instructor), joining and rejoining, wrong codes (403, then 429),
//! names always escaped, and a student never seeing another's stack, results or updates.

use lab::checks::{Criterion, ExerciseResult, Status};
use serde_json::Value;
use crate::support::classroom::{ClassApp, cookie_of};

const LAB: &str = "mesos-marathon";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    StudentA,
    StudentB,
    Instructor,
}

/// A route and the status each kind of viewer gets: (method, path, form, anonymous,
/// student, instructor).
type Row = (&'static str, &'static str, Option<&'static str>, u16, u16, u16);

/// What each kind of viewer gets from each route.
#[tokio::test]
async fn every_route_answers_only_to_whom_it_should() {
    let app = ClassApp::start().await;
    let a = app.join("Ann").await;
    let b = app.join("Bob").await;
    let teacher = app.instructor().await;
    let cookie = |who: Who| match who {
        Who::Anonymous => None,
        Who::StudentA => Some(a.as_str()),
        Who::StudentB => Some(b.as_str()),
        Who::Instructor => Some(teacher.as_str()),
    };
    // (method, path, form, expected for anonymous, student, instructor)
    let routes: &[Row] = &[
        ("GET", "/", None, 303, 200, 200),
        ("GET", "/labs/mesos-marathon", None, 303, 200, 200),
        ("GET", "/labs/mesos-marathon/steps/1", None, 303, 200, 200),
        ("GET", "/slides/mesos-marathon/1", None, 303, 200, 200),
        ("GET", "/slides/mesos-marathon/1/presenter", None, 303, 200, 200),
        ("GET", "/slides/mesos-marathon/print", None, 303, 200, 200),
        ("GET", "/slides/mesos-marathon/print?notes=1", None, 303, 200, 200),
        ("GET", "/api/me", None, 401, 200, 403),
        ("GET", "/api/labs/mesos-marathon/exercises/wolf3d", None, 401, 200, 403),
        ("POST", "/api/labs/mesos-marathon/exercises/wolf3d/check", None, 401, 503, 403),
        ("POST", "/labs/mesos-marathon/exercises/wolf3d/check", None, 401, 303, 403),
        ("GET", "/instructor", None, 403, 403, 200),
        ("GET", "/stack/reset", None, 303, 200, 403),
        ("POST", "/stack/stop", None, 401, 303, 403),
        ("POST", "/stack/start", None, 401, 303, 403),
        ("POST", "/stack/reset", Some("confirm=yes"), 401, 303, 403),
        ("GET", "/join", None, 200, 303, 303),
        ("GET", "/static/lab.css", None, 200, 200, 200),
        ("GET", "/healthz", None, 200, 200, 200),
    ];
    let mut wrong = Vec::new();
    for who in [Who::Anonymous, Who::StudentA, Who::StudentB, Who::Instructor] {
        for (method, path, form, anon, student, instructor) in routes {
            let want = match who {
                Who::Anonymous => *anon,
                Who::StudentA | Who::StudentB => *student,
                Who::Instructor => *instructor,
            };
            let got = app.send(method, path, cookie(who), *form).await;
            if got.status.as_u16() != want {
                wrong.push(format!("{who:?} {method} {path}: {} (wanted {want}) {}", got.status, &got.body[..got.body.len().min(120)]));
            }
            if who == Who::Anonymous && got.status == 303 {
                assert_eq!(got.headers["location"], "/join", "{method} {path} sends visitors to the join page");
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn a_student_only_ever_sees_their_own_stack_and_results() {
    let app = ClassApp::start().await;
    let a = app.join("Ann").await;
    let b = app.join("Bob").await;
    let me = |c: &str| {
        let c = c.to_owned();
        let app = &app;
        async move { serde_json::from_str::<Value>(&app.send("GET", "/api/me", Some(&c), None).await.body).unwrap() }
    };
    let ann = me(&a).await;
    let bob = me(&b).await;
    assert_eq!((ann["student"]["name"].as_str(), bob["student"]["name"].as_str()), (Some("Ann"), Some("Bob")));

    // Ann starts; Bob's stack is untouched and Bob's pages never name Ann's project.
    let r = app.send("POST", "/stack/start", Some(&a), None).await;
    assert_eq!(r.status, 303);
    for _ in 0..100 {
        if me(&a).await["stack"]["state"] == "ready" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let ann = me(&a).await;
    assert_eq!(ann["stack"]["state"], "ready", "{ann}");
    assert_eq!(ann["stack"]["links"][0]["url"], "http://class.example:21001/", "Ann's links use the public host and her block");
    let bob = me(&b).await;
    assert_eq!(bob["stack"]["state"], "none", "{bob}");
    let project = ann["stack"]["project"].as_str().unwrap().to_owned();
    assert!(!app.send("GET", "/", Some(&b), None).await.body.contains(&project));
    assert!(app.send("GET", "/", Some(&a), None).await.body.contains(&project));

    // Results are per student.
    let ann_id = lab::store::StudentId(ann["student"]["id"].as_i64().unwrap());
    let result = ExerciseResult { exercise: "wolf3d".into(), status: Status::Failed, criteria: vec![Criterion { name: "network".into(), status: Status::Failed, message: "the app uses HOST networking".into(), hint: None, diagnosis: None }], blocked_by: None };
    app.state.store().record_result(ann_id, LAB, &result).await.unwrap();
    let for_ann: Value = serde_json::from_str(&app.send("GET", "/api/labs/mesos-marathon/exercises/wolf3d", Some(&a), None).await.body).unwrap();
    let for_bob: Value = serde_json::from_str(&app.send("GET", "/api/labs/mesos-marathon/exercises/wolf3d", Some(&b), None).await.body).unwrap();
    assert_eq!(for_ann["status"], "failed");
    assert_eq!(for_bob["status"], Value::Null, "Bob never sees Ann's result");
    let step = app.send("GET", "/labs/mesos-marathon/steps/5", Some(&b), None).await.body;
    assert!(!step.contains("HOST networking"), "Bob's step page shows none of Ann's criteria");

    // Each student's pages show their own ports in the course's placeholders.
    let explore = app.send("GET", "/labs/mesos-marathon/steps/2", Some(&a), None).await.body;
    assert!(explore.contains("http://class.example:21001/"), "Ann's Marathon UI link on the step page");
    let explore_b = app.send("GET", "/labs/mesos-marathon/steps/2", Some(&b), None).await.body;
    assert!(explore_b.contains("http://class.example:21005/") && !explore_b.contains(":21001/"), "Bob's own block");
}

#[tokio::test]
async fn wrong_codes_are_refused_then_limited_and_names_are_escaped() {
    let app = ClassApp::start().await;
    let r = app.send("POST", "/join", None, Some("code=WRONG1&name=Eve")).await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("not this class"), "{}", r.body);
    assert!(r.body.contains(r#"value="Eve""#), "the name typed is kept in the form");
    let mut limited = false;
    for _ in 0..40 {
        if app.send("POST", "/join", None, Some("code=WRONG1&name=Eve")).await.status == 429 {
            limited = true;
            break;
        }
    }
    assert!(limited, "many wrong codes from one address are slowed down");
    let r = app.send("POST", "/join", None, Some(&format!("code={}&name=Mallory", app.code))).await;
    assert_eq!(r.status, 429, "even the right code waits out the block: {}", r.body);

    let other = ClassApp::start().await;
    let x = other.join("%3Cscript%3Ealert(1)%3C%2Fscript%3E").await;
    let teacher = other.instructor().await;
    let board = other.send("GET", "/instructor", Some(&teacher), None).await.body;
    assert!(board.contains("&#60;script&#62;alert(1)&#60;/script&#62;") && !board.contains("<script>alert(1)"), "{board}");
    let home = other.send("GET", "/", Some(&x), None).await.body;
    assert!(!home.contains("<script>alert(1)"));
    let taken = other.send("POST", "/join", None, Some(&format!("code={}&name=%3Cscript%3Ealert(1)%3C%2Fscript%3E", other.code))).await;
    assert_eq!(taken.status, 422, "names are unique per class");
}

#[tokio::test]
async fn a_rejoin_link_signs_in_on_another_device_and_sign_out_ends_a_session() {
    let app = ClassApp::start().await;
    let r = app.send("POST", "/join", None, Some(&format!("code={}&name=Ann", app.code))).await;
    let first = cookie_of(&r);
    assert!(r.headers["set-cookie"].to_str().unwrap().contains("HttpOnly") && r.headers["set-cookie"].to_str().unwrap().contains("SameSite=Lax"));
    let home = app.send("GET", "/?welcome=1", Some(&first), None).await.body;
    let link = home.split("href=\"/rejoin?token=").nth(1).and_then(|s| s.split('"').next()).expect("a rejoin link on the home page").to_owned();
    let r = app.send("GET", &format!("/rejoin?token={link}"), None, None).await;
    assert_eq!(r.status, 303);
    let second = cookie_of(&r);
    assert_ne!(second, first);
    let me: Value = serde_json::from_str(&app.send("GET", "/api/me", Some(&second), None).await.body).unwrap();
    assert_eq!(me["student"]["name"], "Ann");
    assert_eq!(app.send("GET", "/rejoin?token=1.forged", None, None).await.status, 403);

    let r = app.send("POST", "/signout", Some(&second), None).await;
    assert_eq!(r.status, 303);
    assert_eq!(app.send("GET", "/api/me", Some(&second), None).await.status, 401, "the signed-out session is gone");
    assert_eq!(app.send("GET", "/api/me", Some(&first), None).await.status, 200, "the other device stays signed in");
    assert_eq!(app.send("GET", "/instructor/login?token=wrong", None, None).await.status, 403);
}

/// Live updates: a student's event stream carries their own stack's changes only.
#[tokio::test]
async fn live_stack_updates_reach_only_their_student() {
    use http_body_util::BodyExt;
    let app = ClassApp::start().await;
    let a = app.join("Ann").await;
    let b = app.join("Bob").await;
    let request = axum::http::Request::get("/events").header("cookie", &a).body(axum::body::Body::empty()).unwrap();
    let response = tower::ServiceExt::oneshot(lab::web::router(app.state.clone()), request).await.unwrap();
    let mut body = response.into_body();
    app.send("POST", "/stack/start", Some(&b), None).await;
    app.send("POST", "/stack/start", Some(&a), None).await;
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !seen.contains("\"state\":\"ready\"") {
        let frame = tokio::time::timeout_at(deadline, body.frame()).await.expect("Ann's ready arrives").expect("stream open").expect("frame");
        if let Ok(data) = frame.into_data() {
            seen.push_str(&String::from_utf8_lossy(&data));
        }
    }
    let ann_project = format!("lab-{}-", app.classroom.tag());
    assert!(seen.contains("event: stack"), "{seen}");
    let projects: Vec<&str> = seen.match_indices(&ann_project).map(|(i, _)| &seen[i..i + ann_project.len() + 1]).collect();
    assert!(projects.iter().all(|p| *p == projects[0]), "only one student's stack on Ann's stream: {projects:?}");
    let me: Value = serde_json::from_str(&app.send("GET", "/api/me", Some(&a), None).await.body).unwrap();
    assert!(seen.contains(me["stack"]["project"].as_str().unwrap()), "it is Ann's");
}
