//! The instructor's board and one student's page in a browser, on a real `lab` server running
//! a class (a provisioner double: no stacks are needed). New results patch the board's rows
//! live, without a reload, and the sort chosen with the keyboard holds across updates; the
//! student's name opens their page, which refreshes itself when their result changes.
//! Screenshots go to `target/test-artifacts/`.

use chromiumoxide::page::ScreenshotParams;
use lab::checks::{Criterion, ExerciseResult, Status};
use lab::store::StudentId;
use serde_json::Value;
use std::time::Duration;
use crate::support::TestServer;
use crate::support::browser::{TestBrowser, press};
use crate::support::classroom::ClassApp;

const WAIT: Duration = Duration::from_secs(20);
const LAB: &str = "mesos-marathon";
/// The board's rows, top to bottom, as `name:passed`.
const ROWS: &str = "Array.from(document.querySelectorAll('#board-rows tr')).map(r => r.dataset.name + ':' + r.dataset.progress).join(',')";

fn result(exercise: &str, status: Status, message: &str) -> ExerciseResult {
    ExerciseResult {
        exercise: exercise.into(),
        status,
        criteria: vec![Criterion { name: "instances".into(), status, message: message.into(), hint: None, diagnosis: None }],
        blocked_by: None,
    }
}

async fn id_of(app: &ClassApp, cookie: &str) -> StudentId {
    let me: Value = serde_json::from_str(&app.send("GET", "/api/me", Some(cookie), None).await.body).expect("json");
    StudentId(me["student"]["id"].as_i64().expect("an id"))
}

#[tokio::test]
async fn the_board_and_a_students_page_update_live_in_the_browser() {
    let Some(browser) = TestBrowser::launch().await else { return };
    let app = ClassApp::start().await;
    let server = TestServer::start(app.state.clone()).await;
    let ann = app.join("Ann").await;
    let bob = app.join("Bob").await;
    let (ann, bob) = (id_of(&app, &ann).await, id_of(&app, &bob).await);

    let page = browser.browser.new_page(server.url("/instructor/login?token=teach")).await.expect("page");
    TestBrowser::wait_for_url(&page, WAIT, |u| u.ends_with("/instructor")).await;
    TestBrowser::wait_for_text(&page, "String(window.labEvents ? window.labEvents.readyState : -1)", WAIT, |s| s == "1").await;
    assert_eq!(TestBrowser::wait_for_text(&page, ROWS, WAIT, |r| !r.is_empty()).await, "Ann:0,Bob:0", "sorted by name");
    // A mark that a reload would erase.
    page.evaluate("window.stillHere = 'yes'").await.expect("mark");

    // Sort by progress with the keyboard, then Bob passes scale-demo: his row turns ✓ live
    // and moves to the top, the page never reloads.
    page.evaluate("document.querySelector('.board-sort button[data-sort=progress]').focus()").await.expect("focus");
    press(&page, "Enter").await;
    TestBrowser::wait_for_text(&page, "document.querySelector('.board-sort button[data-sort=progress]').getAttribute('aria-pressed')", WAIT, |p| p == "true").await;
    app.classroom.record_result(bob, LAB, &result("scale-demo", Status::Passed, "1 instance")).await.unwrap();
    assert_eq!(TestBrowser::wait_for_text(&page, ROWS, WAIT, |r| r == "Bob:1,Ann:0").await, "Bob:1,Ann:0");
    let bob_cell = format!("document.querySelector('#student-{} .cell.passed') ? 'passed' : 'no'", bob.0);
    assert_eq!(TestBrowser::wait_for_text(&page, &bob_cell, WAIT, |s| s == "passed").await, "passed");
    assert_eq!(TestBrowser::wait_for_text(&page, "String(window.stillHere)", WAIT, |_| true).await, "yes", "no reload");
    let png = page.screenshot(ScreenshotParams::builder().build()).await.expect("screenshot");
    std::fs::write(crate::support::artifacts_dir().join("board-live.png"), png).expect("save screenshot");

    // Ann's name opens her page; a new result of hers appears there without a reload.
    page.evaluate(format!("document.querySelector('#student-{} th a').click()", ann.0)).await.expect("open Ann");
    TestBrowser::wait_for_url(&page, WAIT, |u| u.ends_with(&format!("/instructor/students/{}", ann.0))).await;
    TestBrowser::wait_for_text(&page, "String(window.labEvents ? window.labEvents.readyState : -1)", WAIT, |s| s == "1").await;
    page.evaluate("window.stillHere = 'student page'").await.expect("mark");
    let text = "document.getElementById('student-detail').innerText";
    assert!(!TestBrowser::wait_for_text(&page, text, WAIT, |_| true).await.contains("5 instances, not 1"));
    app.classroom.record_result(ann, LAB, &result("scale-demo", Status::Failed, "5 instances, not 1")).await.unwrap();
    TestBrowser::wait_for_text(&page, text, WAIT, |t| t.contains("5 instances, not 1")).await;
    assert_eq!(TestBrowser::wait_for_text(&page, "String(window.stillHere)", WAIT, |_| true).await, "student page", "refreshed in place");
    let png = page.screenshot(ScreenshotParams::builder().build()).await.expect("screenshot");
    std::fs::write(crate::support::artifacts_dir().join("board-student.png"), png).expect("save screenshot");
}
