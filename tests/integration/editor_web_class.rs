//! The site editor in a class: who may call each editor route (every route × anonymous,
//! student A, student B, instructor), each student working only on their own workspace (A
//! never sees B's files), and deploy progress reaching only the saving student's pages.


use axum::body::Body;
use axum::http::Request;
use futures_util::StreamExt;
use lab::web::{self, ServerEvent};
use serde_json::Value;
use std::time::Duration;
use crate::support::TestResponse;
use crate::support::classroom::ClassApp;
use crate::support::temp_lab_home;
use tower::ServiceExt;


async fn call(
    app: &ClassApp,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    headers: &[(&str, &str)],
    body: &str,
) -> TestResponse {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(c) = cookie {
        builder = builder.header("cookie", c);
    }
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    crate::support::send(
        &app.state,
        builder.body(Body::from(body.to_owned())).expect("request"),
    )
    .await
}

/// A joined student whose stack started (so they have a workspace), with their site.
struct Student {
    cookie: String,
    id: i64,
    site: std::path::PathBuf,
}

async fn student(app: &ClassApp, name: &str) -> Student {
    let cookie = app.join(name).await;
    assert_eq!(
        app.send("POST", "/stack/start", Some(&cookie), None)
            .await
            .status,
        303
    );
    let mut me = Value::Null;
    for _ in 0..100 {
        me = serde_json::from_str(&app.send("GET", "/api/me", Some(&cookie), None).await.body)
            .expect("json");
        if me["stack"]["state"] == "ready" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(me["stack"]["state"], "ready", "{me:#}");
    let id = me["student"]["id"].as_i64().expect("id");
    let record = app
        .state
        .store()
        .student_stack(lab::store::StudentId(id))
        .await
        .expect("store")
        .expect("a stack record");
    let site =
        lab::marathon::workspace::site_dir(&lab::stack::project::workspace_dir(&record.project));
    assert!(site.starts_with(temp_lab_home()), "{}", site.display());
    crate::support::write_files(
        &site,
        &[(
            "demo-webapp.yml",
            &format!("service:\n  id: /demo/webapp\n  instances: 3\n# {name}\n"),
        )],
    );
    Student { cookie, id, site }
}

/// (method, path, extra headers, body, anonymous, student, instructor)
type Row = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
    u16,
    u16,
    u16,
);

#[tokio::test]
async fn every_editor_route_answers_only_to_whom_it_should() {
    temp_lab_home();
    let app = ClassApp::start().await;
    let (a, b) = (student(&app, "Ann").await, student(&app, "Bob").await);
    let teacher = app.instructor().await;
    const ANY: &[(&str, &str)] = &[("if-match", "*")];
    const JSON: &[(&str, &str)] = &[("if-match", "*"), ("content-type", "application/json")];
    let rows: &[Row] = &[
        ("GET", "/labs/mesos-marathon/site", &[], "", 303, 200, 403),
        ("GET", "/api/site", &[], "", 401, 200, 403),
        ("GET", "/api/site/demo-webapp.yml", &[], "", 401, 200, 403),
        (
            "GET",
            "/api/site/demo-webapp.yml/history",
            &[],
            "",
            401,
            200,
            403,
        ),
        (
            "GET",
            "/api/site/demo-webapp.yml/history/000000000000001-saved-0000000000000000",
            &[],
            "",
            401,
            404,
            403,
        ),
        (
            "PUT",
            "/api/site/new.yml",
            &[("if-none-match", "*")],
            "service:\n  id: /demo/new\n",
            401,
            200,
            403,
        ),
        (
            "POST",
            "/api/site/new.yml/rename",
            JSON,
            r#"{"to": "renamed.yml"}"#,
            401,
            200,
            403,
        ),
        ("DELETE", "/api/site/renamed.yml", ANY, "", 401, 200, 403),
        (
            "POST",
            "/api/site/demo-webapp.yml/restore",
            JSON,
            r#"{"version": "000000000000001-saved-0000000000000000"}"#,
            401,
            404,
            403,
        ),
        // The provisioner double's stacks have no Marathon: saves are kept, sending waits.
        ("POST", "/api/site/redeploy", &[], "", 401, 503, 403),
        ("GET", "/api/site/../../etc/passwd", &[], "", 401, 400, 403),
    ];
    let mut wrong = Vec::new();
    for (who, cookie) in [
        ("anonymous", None),
        ("Ann", Some(a.cookie.as_str())),
        ("Bob", Some(b.cookie.as_str())),
        ("instructor", Some(teacher.as_str())),
    ] {
        for (method, path, headers, body, anon, student, instructor) in rows {
            let want = match who {
                "anonymous" => *anon,
                "instructor" => *instructor,
                _ => *student,
            };
            let r = call(&app, method, path, cookie, headers, body).await;
            if r.status.as_u16() != want {
                wrong.push(format!(
                    "{who} {method} {path}: {} (wanted {want}) {}",
                    r.status,
                    r.body.chars().take(200).collect::<String>()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    // Each student's save landed in their own workspace only.
    for s in [&a, &b] {
        assert!(
            s.site.join("demo-webapp.yml").is_file()
                && !s.site.join("new.yml").exists()
                && !s.site.join("renamed.yml").exists()
        );
    }
    // The instructor reads the steps without an editor.
    let step = call(
        &app,
        "GET",
        "/labs/mesos-marathon/steps/4",
        Some(&teacher),
        &[],
        "",
    )
    .await;
    assert!(
        step.status == 200 && !step.body.contains("data-site-editor"),
        "{}",
        step.status
    );
    let step = call(
        &app,
        "GET",
        "/labs/mesos-marathon/steps/4",
        Some(&a.cookie),
        &[],
        "",
    )
    .await;
    assert!(
        step.body.contains("data-open=\"demo-webapp.yml\""),
        "{}",
        step.body
    );
}

#[tokio::test]
async fn a_student_never_sees_or_changes_another_students_files() {
    temp_lab_home();
    let app = ClassApp::start().await;
    let (a, b) = (student(&app, "Ann").await, student(&app, "Bob").await);
    assert_ne!(a.site, b.site);
    let r = call(
        &app,
        "PUT",
        "/api/site/only-ann.yml",
        Some(&a.cookie),
        &[("if-none-match", "*")],
        "service:\n  id: /ann/secret\n",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let bob_list: Value = serde_json::from_str(
        &call(&app, "GET", "/api/site", Some(&b.cookie), &[], "")
            .await
            .body,
    )
    .unwrap();
    assert_eq!(
        bob_list["files"].as_array().unwrap().len(),
        1,
        "{bob_list:#}"
    );
    assert!(!bob_list.to_string().contains("only-ann"));
    assert_eq!(
        call(
            &app,
            "GET",
            "/api/site/only-ann.yml",
            Some(&b.cookie),
            &[],
            ""
        )
        .await
        .status,
        404
    );
    let bob_demo = call(
        &app,
        "GET",
        "/api/site/demo-webapp.yml",
        Some(&b.cookie),
        &[],
        "",
    )
    .await
    .body;
    assert!(
        bob_demo.contains("# Bob") && !bob_demo.contains("# Ann"),
        "{bob_demo}"
    );
    // Bob deleting "his" only-ann.yml touches nothing of Ann's.
    assert_eq!(
        call(
            &app,
            "DELETE",
            "/api/site/only-ann.yml",
            Some(&b.cookie),
            &[("if-match", "*")],
            ""
        )
        .await
        .status,
        404
    );
    assert!(a.site.join("only-ann.yml").is_file());
    // No route takes a student from the request: a foreign id in the query changes nothing.
    let r = call(
        &app,
        "GET",
        &format!("/api/site/demo-webapp.yml?student={}", a.id),
        Some(&b.cookie),
        &[],
        "",
    )
    .await;
    assert!(r.body.contains("# Bob"), "{}", r.body);
}

/// Reads an SSE response until its text contains `until` (or panics after 10 s).
async fn read_until(body: Body, until: &str) -> String {
    let mut stream = body.into_data_stream();
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains(until) {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap_or_else(|_| panic!("never saw {until}; saw {seen}"));
        seen.push_str(&String::from_utf8_lossy(
            &chunk.expect("open").expect("chunk"),
        ));
    }
    seen
}

#[tokio::test]
async fn deploy_progress_reaches_only_the_saving_students_pages() {
    temp_lab_home();
    let app = ClassApp::start().await;
    let (a, b) = (student(&app, "Ann").await, student(&app, "Bob").await);
    let open = |cookie: String| {
        let state = app.state.clone();
        async move {
            web::router(state)
                .oneshot(
                    Request::get("/events")
                        .header("cookie", cookie)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap()
                .into_body()
        }
    };
    let (ann_events, bob_events) = (open(a.cookie.clone()).await, open(b.cookie.clone()).await);
    let to = |id: i64, who: &str| ServerEvent::Deploy {
        student: Some(lab::store::StudentId(id)),
        json: format!("{{\"for\":\"{who}\"}}"),
    };
    app.state.publish(to(b.id, "bob"));
    app.state.publish(to(a.id, "ann"));
    app.state.publish(to(b.id, "bob-again"));
    let ann = read_until(ann_events, "\"ann\"").await;
    assert!(
        ann.contains("event: deploy") && !ann.contains("bob"),
        "{ann}"
    );
    let bob = read_until(bob_events, "bob-again").await;
    assert!(!bob.contains("\"ann\""), "{bob}");
}
