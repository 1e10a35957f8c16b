//! Headless chromium against a real `lab` server: keyboard navigation through the deck,
//! reload keeping the slide, and `s` opening the presenter view. Screenshots are kept in
//! `target/test-artifacts/`.

use chromiumoxide::page::ScreenshotParams;
use std::time::Duration;
use crate::support::browser::{TestBrowser, press};
use crate::support::{TestApp, TestServer};

const WAIT: Duration = Duration::from_secs(15);
const VISIBLE_TEXT: &str = "document.querySelector('.slide-body').innerText";
const COUNTER: &str = "document.getElementById('slide-counter').innerText";

#[tokio::test]
async fn keyboard_walks_the_deck_reload_keeps_the_slide_and_s_opens_the_presenter() {
    let Some(browser) = TestBrowser::launch().await else { return };
    let app = TestApp::builtin().await;
    let course = app.state.course();
    let Some(Ok(deck)) = course.deck("mesos-marathon") else { panic!("built-in deck") };
    let total = deck.slides.len();
    let server = TestServer::start(app.state.clone()).await;

    let page = browser.browser.new_page(server.url("/slides/mesos-marathon/1")).await.expect("open deck");
    let first_text = TestBrowser::wait_for_text(&page, VISIBLE_TEXT, WAIT, |t| !t.is_empty()).await;
    assert_eq!(TestBrowser::wait_for_text(&page, COUNTER, WAIT, |t| !t.is_empty()).await, format!("1 / {total}"));

    for n in 2..=4 {
        press(&page, "ArrowRight").await;
        TestBrowser::wait_for_url(&page, WAIT, |u| u.ends_with(&format!("/slides/mesos-marathon/{n}"))).await;
        TestBrowser::wait_for_text(&page, COUNTER, WAIT, |t| t == format!("{n} / {total}")).await;
    }
    let fourth_text = TestBrowser::wait_for_text(&page, VISIBLE_TEXT, WAIT, |t| !t.is_empty()).await;
    assert_ne!(first_text, fourth_text, "the visible slide changed");
    let expected_title = &deck.slides[3].title;
    assert!(fourth_text.contains(expected_title.as_str()), "slide 4 shows {expected_title:?}: {fourth_text:?}");

    page.reload().await.expect("reload");
    TestBrowser::wait_for_text(&page, COUNTER, WAIT, |t| t == format!("4 / {total}")).await;
    assert!(page.url().await.expect("url").unwrap_or_default().ends_with("/slides/mesos-marathon/4"));
    let shot = page.screenshot(ScreenshotParams::builder().build()).await.expect("screenshot");
    std::fs::write(crate::support::artifacts_dir().join("slide-4.png"), shot).expect("save screenshot");

    // ← goes back, End jumps to the last slide, Home to the first.
    press(&page, "ArrowLeft").await;
    TestBrowser::wait_for_url(&page, WAIT, |u| u.ends_with("/slides/mesos-marathon/3")).await;
    press(&page, "End").await;
    TestBrowser::wait_for_url(&page, WAIT, |u| u.ends_with(&format!("/slides/mesos-marathon/{total}"))).await;
    press(&page, "Home").await;
    TestBrowser::wait_for_url(&page, WAIT, |u| u.ends_with("/slides/mesos-marathon/1")).await;

    // `s` opens the presenter window for the current slide, with its notes.
    press(&page, "s").await;
    let (presenter, _connection) = find_page(&browser, "/slides/mesos-marathon/1/presenter").await;
    let notes = TestBrowser::wait_for_text(&presenter, "document.querySelector('.notes').innerText", WAIT, |t| t.len() > 20).await;
    let expected_notes = first_words(&deck.slides[0].notes_html);
    assert!(notes.contains(&expected_notes), "presenter shows slide 1's notes ({expected_notes:?}): {notes:?}");
    let timer = TestBrowser::wait_for_text(&presenter, "document.getElementById('elapsed').innerText", WAIT, |t| t.contains(':')).await;
    assert!(timer.starts_with("00:0"), "{timer}");
    let shot = presenter.screenshot(ScreenshotParams::builder().build()).await.expect("screenshot");
    std::fs::write(crate::support::artifacts_dir().join("presenter-1.png"), shot).expect("save screenshot");
}

#[tokio::test]
async fn arrow_keys_move_between_lab_steps() {
    let Some(browser) = TestBrowser::launch().await else { return };
    let app = TestApp::builtin().await;
    let server = TestServer::start(app.state.clone()).await;
    let page = browser.browser.new_page(server.url("/labs/mesos-marathon/steps/2")).await.expect("open step");
    TestBrowser::wait_for_text(&page, "document.querySelector('h1').innerText", WAIT, |t| !t.is_empty()).await;
    press(&page, "ArrowRight").await;
    TestBrowser::wait_for_url(&page, WAIT, |u| u.ends_with("/labs/mesos-marathon/steps/3")).await;
    press(&page, "ArrowLeft").await;
    TestBrowser::wait_for_url(&page, WAIT, |u| u.ends_with("/labs/mesos-marathon/steps/2")).await;
}

/// Waits for a browser tab whose URL ends with `suffix` (for example a window the page
/// opened). chromiumoxide does not attach to windows a page opens by itself, so a second CDP
/// connection, which discovers every existing tab, is used to reach it.
async fn find_page(browser: &TestBrowser, suffix: &str) -> (chromiumoxide::Page, TestBrowser) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let second = TestBrowser::connect(browser.browser.websocket_address()).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        for page in second.browser.pages().await.expect("pages") {
            if page.url().await.ok().flatten().is_some_and(|u| u.ends_with(suffix)) {
                return (page, second);
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "no tab opened at {suffix}");
    }
}

/// The first few words of an HTML fragment's text, for a containment check.
fn first_words(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().take(4).collect::<Vec<_>>().join(" ")
}

/// The deploy-wolf3d step page while the live checker follows a Marathon test double: the
/// Check button swaps in a fresh result, and deploying the app turns the exercise green
/// over SSE without a reload.
#[tokio::test]
async fn the_step_page_updates_live_when_an_exercise_passes() {
    use lab::checks::Target;
    use crate::support::gateway::Gateway;
    use crate::support::marathon::{MarathonDouble, Shape};
    let Some(browser) = TestBrowser::launch().await else { return };
    let double = MarathonDouble::start(Shape::V15, Duration::from_millis(50)).await;
    let gateway = Gateway::start(200).await;
    let site = tempfile::tempdir().unwrap();
    let mut target = Target::new(&double.url, Some(double.url.clone()), Some("127.0.0.1".into()), Some(site.path().to_owned()));
    target.service_ports.insert(8888, gateway.port);
    let app = TestApp::builtin().await;
    let state = app.state.clone().with_checks(lab::web::CheckTarget::Fixed(target));
    lab::web::spawn_live_checks(state.clone(), Duration::from_secs(3600));
    let server = TestServer::start(state).await;

    let page = browser.browser.new_page(server.url("/labs/mesos-marathon/steps/5")).await.expect("open step");
    let status = "(document.querySelector('#exercise-wolf3d .exercise-status') || {dataset: {}}).dataset.status || ''";
    TestBrowser::wait_for_text(&page, status, WAIT, |s| !s.is_empty()).await;

    // The Check button: fetch, then the fresh result replaces the box.
    page.evaluate("document.querySelector('#exercise-wolf3d .status-slot').innerHTML = ''").await.expect("clear");
    page.evaluate("document.querySelector('#exercise-wolf3d form.check-form button').click()").await.expect("click");
    TestBrowser::wait_for_text(&page, status, WAIT, |s| s == "failed").await;
    let text = TestBrowser::wait_for_text(&page, "document.querySelector('#exercise-wolf3d .status-slot').innerText", WAIT, |t| t.contains("app exists")).await;
    assert!(text.contains("Marathon has no app running srenkens/wolfenstein3d"), "{text}");
    assert!(page.url().await.unwrap().unwrap_or_default().ends_with("/labs/mesos-marathon/steps/5"), "no page load");

    // Deploying the app: Marathon's events drive a re-check, and SSE brings it to the page.
    let wolf3d = serde_json::json!({
        "id": "/demo/wolf3d", "instances": 2,
        "container": {"type": "DOCKER", "docker": {"image": "srenkens/wolfenstein3d:latest", "network": "BRIDGE", "portMappings": [{"containerPort": 80, "servicePort": 8888}]}},
        "healthChecks": [{"protocol": "HTTP", "path": "/", "portIndex": 0}]
    });
    lab::marathon::Marathon::new(&double.url).put_app("/demo/wolf3d", &wolf3d, false).await.unwrap();
    TestBrowser::wait_for_text(&page, status, WAIT, |s| s == "passed").await;
    let text = TestBrowser::wait_for_text(&page, "document.querySelector('#exercise-wolf3d .status-slot').innerText", WAIT, |t| t.contains("Passed")).await;
    assert!(text.contains("reachable on :8888/"), "{text}");
    // The summary near the top follows the same event.
    let summary = "(document.querySelector('[data-summary-exercise=\"wolf3d\"]') || {className: ''}).className + ' ' + ((document.querySelector('[data-summary-exercise=\"wolf3d\"] .word') || {}).textContent || '')";
    TestBrowser::wait_for_text(&page, summary, WAIT, |s| s == "passed passed").await;
    let shot = page.screenshot(ScreenshotParams::builder().full_page(true).build()).await.expect("screenshot");
    std::fs::write(crate::support::artifacts_dir().join("step-wolf3d-passed.png"), shot).expect("save screenshot");
}
