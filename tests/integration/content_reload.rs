//! `lab serve --content DIR`: broken files show their error without taking the rest down,
//! and saving a file reloads the course and tells open pages over SSE.

use axum::http::StatusCode;
use futures_util::StreamExt;
use lab::course::ContentSource;
use std::time::Duration;
use crate::support::{DEMO_LAB, TestApp, TestServer};

fn with_broken(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    DEMO_LAB.iter().copied().chain(extra.iter().copied()).collect()
}

#[tokio::test]
async fn a_broken_lab_shows_its_error_and_the_others_still_work() {
    let files = with_broken(&[("labs/broken/lab.yml", "title: Broken\nsummary: x\nsteps:\n  - one\n  extra: [\n")]);
    let app = TestApp::with_files(&files).await;

    let res = app.get("/labs/broken").await;
    assert_eq!(res.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(res.body.contains("labs/broken/lab.yml:5:"), "{}", res.body);
    let res = app.get("/labs/broken/steps/1").await;
    assert!(res.body.contains("labs/broken/lab.yml:5:"), "steps of a broken lab show the error too");

    let home = app.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("labs/broken/lab.yml:5:"), "home names the broken file");
    assert!(home.body.contains(r#"href="/labs/demo""#), "and still lists the good lab");
    assert_eq!(app.get("/labs/demo/steps/1").await.status, StatusCode::OK);
    assert_eq!(app.get("/slides/demo/1").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_broken_deck_shows_its_error_and_its_lab_still_works() {
    let files: Vec<_> = DEMO_LAB
        .iter()
        .map(|&(p, t)| if p == "slides/demo.md" { (p, "---\ntitle: x\nseparator: dots\n---\n# a\n") } else { (p, t) })
        .collect();
    let app = TestApp::with_files(&files).await;
    let res = app.get("/slides/demo/1").await;
    assert_eq!(res.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(res.body.contains("slides/demo.md:3:"), "{}", res.body);
    assert!(res.body.contains("separator: dots"), "the offending line is shown");
    assert_eq!(app.get("/labs/demo/steps/2").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_lab_pointing_at_a_missing_step_file_names_the_line() {
    let files = with_broken(&[("labs/gap/lab.yml", "title: Gap\nsummary: x\nsteps:\n  - here\n  - missing\n"), ("labs/gap/steps/here.md", "# Here\n")]);
    let app = TestApp::with_files(&files).await;
    let res = app.get("/labs/gap").await;
    assert!(res.body.contains("labs/gap/lab.yml:5:5"), "{}", res.body);
    assert!(res.body.contains("labs/gap/steps/missing.md"));
}

#[tokio::test]
async fn saving_a_file_reloads_the_course_and_tells_open_pages() {
    let app = TestApp::with_files(DEMO_LAB).await;
    let dir = app.content_dir.as_ref().expect("content dir").path().to_owned();
    lab::web::spawn_reloader(app.state.clone(), ContentSource::Dir(dir.clone())).expect("watch");
    let server = TestServer::start(app.state.clone()).await;

    let client = lab::net::client_builder().build().expect("client");
    let mut events = client.get(server.url("/events")).send().await.expect("events").bytes_stream();
    let mut seen = String::new();
    let mut next_chunk = async || -> String {
        let chunk = tokio::time::timeout(Duration::from_secs(10), events.next()).await.expect("an event in time");
        String::from_utf8_lossy(&chunk.expect("stream open").expect("chunk")).into_owned()
    };
    while !seen.contains("event: hello") {
        seen.push_str(&next_chunk().await);
    }

    std::fs::write(dir.join("labs/demo/steps/first.md"), "# First step, revised\n\nNew text.\n").expect("write");
    while !seen.contains("event: reload") {
        seen.push_str(&next_chunk().await);
    }
    let page = client.get(server.url("/labs/demo/steps/1")).send().await.expect("page").text().await.expect("text");
    assert!(page.contains("First step, revised"), "{page}");

    // Breaking the lab keeps serving, now with the error.
    std::fs::write(dir.join("labs/demo/lab.yml"), "title: [\n").expect("write");
    seen.clear();
    while !seen.contains("event: reload") {
        seen.push_str(&next_chunk().await);
    }
    let res = client.get(server.url("/labs/demo")).send().await.expect("page");
    assert_eq!(res.status(), 500);
    assert!(res.text().await.expect("text").contains("labs/demo/lab.yml:1:"));
}
