//! Following the presenter in two browser contexts on a real `lab` server running a class (a
//! provisioner double: no stacks are needed). The instructor's presenter view moves with the
//! keyboard and its Next button, and the student's slide page follows live without the
//! student doing anything; a slide the student reaches by hand stays until the presenter
//! moves again; the student switches following off with the keyboard, the instructor moves,
//! and the student's page stays (also after a reload). Screenshots go to
//! `target/test-artifacts/`.

use chromiumoxide::cdp::browser_protocol::target::{CreateBrowserContextParams, CreateTargetParams};
use chromiumoxide::page::{Page, ScreenshotParams};
use std::time::Duration;
use crate::support::TestServer;
use crate::support::browser::{TestBrowser, press};
use crate::support::classroom::ClassApp;

const WAIT: Duration = Duration::from_secs(20);
const DECK: &str = "mesos-marathon";
const NOTE: &str = "(function () { const n = document.getElementById('follow-note'); return n && !n.hidden ? n.textContent : ''; })()";
const TOGGLE: &str = "(function () { const box = document.getElementById('follow'), t = document.getElementById('follow-toggle'); return box && !box.hidden ? String(t.checked) : 'absent'; })()";

/// A page in a browser context of its own (its own cookies and storage).
async fn fresh_page(browser: &TestBrowser, url: String) -> Page {
    let context = browser.browser.create_browser_context(CreateBrowserContextParams::default()).await.expect("context");
    browser.browser.new_page(CreateTargetParams::builder().url(url).browser_context_id(context).build().expect("target")).await.expect("page")
}

/// Waits until `page`'s event stream is open, so that it hears the next move.
async fn listening(page: &Page) {
    TestBrowser::wait_for_text(page, "String(window.labEvents ? window.labEvents.readyState : -1)", WAIT, |s| s == "1").await;
}

fn slide_url(n: usize) -> impl Fn(&str) -> bool {
    move |u: &str| u.ends_with(&format!("/slides/{DECK}/{n}"))
}

/// Waits until the class's presented slide is `n` (the presenter view announced it).
async fn presented(app: &ClassApp, n: usize) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while app.classroom.presented().map(|p| (p.deck, p.slide)) != Some((DECK.into(), n)) {
        assert!(tokio::time::Instant::now() < deadline, "the presenter never announced slide {n}: {:?}", app.classroom.presented());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn shot(page: &Page, name: &str) {
    let png = page.screenshot(ScreenshotParams::builder().build()).await.expect("screenshot");
    std::fs::write(crate::support::artifacts_dir().join(name), png).expect("save screenshot");
}

#[tokio::test]
async fn the_students_slides_follow_the_presenter_until_they_switch_following_off() {
    let Some(browser) = TestBrowser::launch().await else { return };
    let app = ClassApp::start().await;
    let server = TestServer::start(app.state.clone()).await;

    // The instructor signs in and opens the presenter view on slide 1.
    let teacher = fresh_page(&browser, server.url("/instructor/login?token=teach")).await;
    TestBrowser::wait_for_url(&teacher, WAIT, |u| u.ends_with("/instructor")).await;
    teacher.goto(server.url(&format!("/slides/{DECK}/1/presenter"))).await.expect("presenter view");
    TestBrowser::wait_for_text(&teacher, "(document.getElementById('present-status') || {}).textContent || ''", WAIT, |t| t.contains("follows")).await;
    presented(&app, 1).await;

    // A student joins and opens the deck's start: the presented slide, following on.
    let student = fresh_page(&browser, server.url("/join")).await;
    TestBrowser::wait_for_url(&student, WAIT, |u| u.ends_with("/join")).await;
    student.find_element("#code").await.expect("code field").click().await.expect("focus").type_str(&app.code).await.expect("type");
    student.find_element("#name").await.expect("name field").click().await.expect("focus").type_str("Ann").await.expect("type");
    student.find_element("button[type=submit]").await.expect("join button").click().await.expect("join");
    TestBrowser::wait_for_url(&student, WAIT, |u| u.contains("/?welcome=1")).await;
    student.goto(server.url(&format!("/slides/{DECK}"))).await.expect("deck");
    TestBrowser::wait_for_url(&student, WAIT, slide_url(1)).await;
    assert_eq!(TestBrowser::wait_for_text(&student, TOGGLE, WAIT, |t| t != "absent").await, "true", "following is on by default");
    listening(&student).await;

    // The instructor moves with the keyboard, then with the Next button: the student follows.
    press(&teacher, "ArrowRight").await;
    TestBrowser::wait_for_url(&teacher, WAIT, |u| u.ends_with(&format!("/slides/{DECK}/2/presenter"))).await;
    TestBrowser::wait_for_url(&student, WAIT, slide_url(2)).await;
    listening(&student).await;
    teacher.find_element("a[rel=next]").await.expect("next button").click().await.expect("next");
    TestBrowser::wait_for_url(&teacher, WAIT, |u| u.ends_with(&format!("/slides/{DECK}/3/presenter"))).await;
    TestBrowser::wait_for_url(&student, WAIT, slide_url(3)).await;
    listening(&student).await;

    // The student goes ahead by hand: the page stays there, and says where the presenter is.
    press(&student, "ArrowRight").await;
    TestBrowser::wait_for_url(&student, WAIT, slide_url(4)).await;
    assert_eq!(TestBrowser::wait_for_text(&student, NOTE, WAIT, |t| !t.is_empty()).await, "Presenter is on slide 3");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(slide_url(4)(&student.url().await.expect("url").unwrap_or_default()), "a slide reached by hand is not taken away");
    // Until the presenter moves again.
    listening(&student).await;
    press(&teacher, "ArrowLeft").await;
    TestBrowser::wait_for_url(&student, WAIT, slide_url(2)).await;
    listening(&student).await;

    // The student switches following off with the keyboard (Space on the toggle).
    student.evaluate("document.getElementById('follow-toggle').focus()").await.expect("focus the toggle");
    press(&student, " ").await;
    assert_eq!(TestBrowser::wait_for_text(&student, TOGGLE, WAIT, |t| t == "false").await, "false");

    // The instructor moves; the student's page hears it and stays.
    press(&teacher, "ArrowRight").await;
    TestBrowser::wait_for_url(&teacher, WAIT, |u| u.ends_with(&format!("/slides/{DECK}/3/presenter"))).await;
    presented(&app, 3).await;
    assert_eq!(TestBrowser::wait_for_text(&student, NOTE, WAIT, |t| t.contains('3')).await, "Presenter is on slide 3");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(slide_url(2)(&student.url().await.expect("url").unwrap_or_default()), "with following off the page stays");
    shot(&student, "follow-off.png").await;

    // The choice is remembered: a reload keeps following off and the page where it is.
    student.reload().await.expect("reload");
    assert_eq!(TestBrowser::wait_for_text(&student, TOGGLE, WAIT, |t| t != "absent").await, "false");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(slide_url(2)(&student.url().await.expect("url").unwrap_or_default()), "still on slide 2 after a reload");
    shot(&teacher, "follow-presenter.png").await;
}
