//! Headless chromium on a real `lab` server in solo mode, with the live checker following a
//! Marathon test double: on the "scale the demo" step, the embedded editor opens
//! demo-webapp.yml; the student changes instances to 1 and presses Ctrl-S, sees
//! "deployed", the deployment followed to healthy, and the exercise turn green. Then a
//! broken file: its error line is marked. Screenshots go to `target/test-artifacts/`.

use chromiumoxide::cdp::browser_protocol::input::{DispatchKeyEventParams, DispatchKeyEventType};
use chromiumoxide::page::{Page, ScreenshotParams};
use lab::checks::Target;
use std::time::Duration;
use crate::support::browser::{TestBrowser, press};
use crate::support::marathon::{MarathonDouble, Shape};
use crate::support::{TestApp, TestServer};

const WAIT: Duration = Duration::from_secs(20);
const DEMO: &str = include_str!("../../labs/mesos-marathon/site/demo-webapp.yml");
const BROKEN: &str = "service:\n  id: /demo/broken\n  instances: [2\n  cpus: 0.1\n";
const READY: &str =
    "(document.querySelector('[data-site-editor]') || {dataset: {}}).dataset.ready || ''";
const OUTCOME: &str = "document.querySelector('.se-status').dataset.outcome || ''";
const STATUS: &str = "(document.querySelector('#exercise-scale-demo .exercise-status') || {dataset: {}}).dataset.status || ''";

/// Ctrl-S on whatever has focus.
async fn ctrl_s(page: &Page) {
    let key = DispatchKeyEventParams::builder()
        .key("s")
        .code("KeyS")
        .windows_virtual_key_code(83)
        .native_virtual_key_code(83)
        .modifiers(2);
    page.execute(
        key.clone()
            .r#type(DispatchKeyEventType::RawKeyDown)
            .build()
            .expect("key down"),
    )
    .await
    .expect("key down");
    page.execute(
        key.r#type(DispatchKeyEventType::KeyUp)
            .build()
            .expect("key up"),
    )
    .await
    .expect("key up");
}

async fn shot(page: &Page, name: &str) {
    let png = page
        .screenshot(ScreenshotParams::builder().full_page(true).build())
        .await
        .expect("screenshot");
    std::fs::write(crate::support::artifacts_dir().join(name), png).expect("save screenshot");
}

async fn eval(page: &Page, js: &str) {
    page.evaluate(js)
        .await
        .unwrap_or_else(|e| panic!("{js}: {e}"));
}

#[tokio::test]
async fn saving_the_demo_file_deploys_it_and_turns_the_exercise_green_and_errors_are_marked() {
    let Some(browser) = TestBrowser::launch().await else {
        return;
    };
    let double = MarathonDouble::start(Shape::V15, Duration::from_millis(100)).await;
    let ws = tempfile::tempdir().expect("workspace");
    let site = ws.path().join("site");
    crate::support::write_files(
        &site,
        &[
            ("demo-webapp.yml", DEMO),
            ("globals.yml", "service:\n  labels: {course: lab}\n"),
            ("broken.yml", BROKEN),
        ],
    );
    let target = Target::new(
        &double.url,
        Some(double.url.clone()),
        Some("127.0.0.1".into()),
        Some(site.clone()),
    );
    let state = TestApp::builtin()
        .await
        .state
        .with_checks(lab::web::CheckTarget::Fixed(target));
    lab::web::spawn_live_checks(state.clone(), Duration::from_secs(3600));
    let server = TestServer::start(state).await;

    let course = server.state.course();
    let lab = course
        .lab("mesos-marathon")
        .and_then(|l| l.as_ref().ok())
        .expect("built-in lab");
    let step = lab
        .steps
        .iter()
        .find(|s| Some(s.id.as_str()) == lab.exercise("scale-demo").map(|e| e.step.as_str()))
        .expect("step")
        .number;
    let page = browser
        .browser
        .new_page(server.url(&format!("/labs/mesos-marathon/steps/{step}")))
        .await
        .expect("open step");
    TestBrowser::wait_for_text(&page, READY, WAIT, |r| r == "1").await;
    let path = TestBrowser::wait_for_text(
        &page,
        "document.querySelector('.se-path').innerText",
        WAIT,
        |p| !p.is_empty(),
    )
    .await;
    assert_eq!(path, "demo-webapp.yml");
    assert_ne!(
        TestBrowser::wait_for_text(&page, STATUS, WAIT, |_| true).await,
        "passed"
    );

    // Select the 3 of `instances: 3` in the editor and type 1, as a student would.
    eval(&page, "(() => { const cm = window.labEditor.cm; const line = cm.getValue().split('\\n').findIndex((l) => /^  instances: 3/.test(l)); const ch = cm.getLine(line).indexOf('3'); cm.focus(); cm.setSelection({line, ch}, {line, ch: ch + 1}); })()").await;
    press(&page, "1").await;
    let text = TestBrowser::wait_for_text(&page, "window.labEditor.cm.getValue()", WAIT, |t| {
        t.contains("instances: 1")
    })
    .await;
    assert_eq!(text, DEMO.replace("instances: 3", "instances: 1"));
    ctrl_s(&page).await;
    TestBrowser::wait_for_text(&page, OUTCOME, WAIT, |o| o == "deployed").await;
    let said = TestBrowser::wait_for_text(
        &page,
        "document.querySelector('.se-status').innerText",
        WAIT,
        |t| !t.is_empty(),
    )
    .await;
    assert!(said.to_lowercase().contains("deployed"), "{said}");
    assert_eq!(
        std::fs::read_to_string(site.join("demo-webapp.yml")).expect("saved"),
        text
    );
    let steps = TestBrowser::wait_for_text(
        &page,
        "document.querySelector('.se-deploy').innerText",
        WAIT,
        |t| t.contains("healthy"),
    )
    .await;
    assert!(steps.contains("deploying /demo/webapp"), "{steps}");
    TestBrowser::wait_for_text(&page, STATUS, WAIT, |s| s == "passed").await;
    shot(&page, "editor-deployed.png").await;

    // The rendered app beside the file.
    eval(
        &page,
        "document.querySelector('[data-action=\"app\"]').click()",
    )
    .await;
    let app = TestBrowser::wait_for_text(
        &page,
        "document.querySelector('.se-app').innerText",
        WAIT,
        |t| t.contains("\"instances\""),
    )
    .await;
    assert!(
        app.contains("\"/demo/webapp\"") && app.contains("\"instances\": 1"),
        "{app}"
    );

    // A broken file: opened from the list, saved, its error line marked with the message.
    eval(
        &page,
        "document.querySelector('a[data-file=\"broken.yml\"]').click()",
    )
    .await;
    TestBrowser::wait_for_text(&page, "window.labEditor.cm.getValue()", WAIT, |t| {
        t == BROKEN
    })
    .await;
    eval(&page, "window.labEditor.cm.focus()").await;
    ctrl_s(&page).await;
    TestBrowser::wait_for_text(&page, OUTCOME, WAIT, |o| o == "invalid").await;
    let marked = TestBrowser::wait_for_text(
        &page,
        "Array.from(document.querySelectorAll('.CodeMirror .se-error-line')).map((l) => l.closest('.CodeMirror-code > div').querySelector('.CodeMirror-linenumber').innerText).join(',')",
        WAIT,
        |t| !t.is_empty(),
    )
    .await;
    let errors = TestBrowser::wait_for_text(
        &page,
        "document.querySelector('.se-errors').innerText",
        WAIT,
        |t| !t.is_empty(),
    )
    .await;
    assert!(
        errors.contains(&format!("line {marked}")),
        "the marked line {marked} is the one the message names: {errors}"
    );
    shot(&page, "editor-error-marked.png").await;
}

/// Back to a step whose editor holds unsaved text: the browser kept the page, and lab.js
/// listens again without reloading it (a reload would throw the words away).
#[tokio::test]
async fn unsaved_text_survives_leaving_the_step_and_coming_back() {
    let Some(browser) = TestBrowser::launch().await else {
        return;
    };
    let ws = tempfile::tempdir().expect("workspace");
    let site = ws.path().join("site");
    crate::support::write_files(&site, &[("demo-webapp.yml", DEMO)]);
    // Nothing listens there: this test saves nothing and runs no check.
    let target = Target::new("http://127.0.0.1:9", None, Some("127.0.0.1".into()), Some(site.clone()));
    let app = TestApp::builtin().await;
    let state = app.state.clone().with_checks(lab::web::CheckTarget::Fixed(target));
    let server = TestServer::start(state).await;
    let step = {
        let course = server.state.course();
        let lab = course.lab("mesos-marathon").and_then(|l| l.as_ref().ok()).expect("built-in lab");
        let exercise = lab.exercise("scale-demo").expect("exercise");
        lab.steps.iter().find(|s| s.id == exercise.step).expect("step").number
    };
    let page = browser.browser.new_page(server.url(&format!("/labs/mesos-marathon/steps/{step}"))).await.expect("open step");
    TestBrowser::wait_for_text(&page, READY, WAIT, |r| r == "1").await;
    TestBrowser::wait_for_text(&page, "window.labEditor.cm.getValue()", WAIT, |t| t == DEMO).await;
    // Changed by script, not by keys, so the page has no user gesture and leaving it asks nothing.
    eval(&page, "window.labEditor.cm.replaceRange('# my notes\\n', {line: 0, ch: 0})").await;
    page.goto(server.url("/")).await.expect("leave");
    TestBrowser::wait_for_text(&page, "String(window.labEvents.readyState)", WAIT, |s| s == "1").await;
    page.evaluate("history.back()").await.expect("back");
    let text = TestBrowser::wait_for_text(&page, "window.labEditor ? window.labEditor.cm.getValue() : ''", WAIT, |t| !t.is_empty()).await;
    assert_eq!(text, format!("# my notes\n{DEMO}"), "the unsaved words are still there");
    TestBrowser::wait_for_text(&page, "String(window.labEvents.readyState)", WAIT, |s| s == "1").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while app.state.open_streams() != 1 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.state.open_streams(), 1, "the page shown again listens, on one stream");
    let how = page.evaluate("performance.getEntriesByType('navigation')[0].type").await.ok().and_then(|r| r.into_value::<String>().ok());
    assert_eq!(how.as_deref(), Some("navigate"), "the page was not loaded again");
}
