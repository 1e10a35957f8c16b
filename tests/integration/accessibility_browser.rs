//! Every page passes an axe-core audit with no serious or critical violations, in light and
//! dark mode (WCAG AA contrast included), and is photographed at 1280×800 and 390×844 into
//! `target/test-artifacts/a11y/`. axe-core comes from PyPI (inside the axe-playwright-python
//! wheel; npm is not reachable here): `.ci/install-test-deps` unpacks its `axe.min.js` into
//! `target/test-deps/` (or set `LAB_AXE_JS` to another copy).
//!
//! Pages: solo mode's home, lab overview, every step, the site editor, slides and the
//! presenter view, the printable deck, a 404; in a class, the join page, a student's home, the instructor's
//! board and one student's page.

use chromiumoxide::cdp::browser_protocol::emulation::{MediaFeature, SetDeviceMetricsOverrideParams};
use chromiumoxide::page::{Page, ScreenshotParams};
use std::path::PathBuf;
use std::time::Duration;
use crate::support::browser::{TestBrowser, press};
use crate::support::classroom::ClassApp;
use crate::support::{TestApp, TestServer};

const WAIT: Duration = Duration::from_secs(20);

/// axe-core's script, or `None` (after `skip_or_fail`) when it is not installed.
fn axe_source() -> Option<String> {
    let path = std::env::var_os("LAB_AXE_JS").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-deps/axe.min.js"), PathBuf::from);
    match std::fs::read_to_string(&path) {
        Ok(text) if text.contains("axe") => Some(text),
        _ => {
            crate::support::skip_or_fail("axe-core", &format!("{} is missing; run .ci/install-test-deps", path.display()));
            None
        }
    }
}

/// Runs axe on the page as it is; returns the serious and critical violations, one line each.
async fn audit(page: &Page, axe: &str) -> Vec<String> {
    page.evaluate(axe).await.expect("axe loads");
    let script = "axe.run(document, {resultTypes: ['violations']}).then(r => JSON.stringify(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => v.impact + ' ' + v.id + ': ' + v.help + ' — ' + v.nodes.slice(0, 4).map(n => n.target.join(' ') + (n.failureSummary ? ' (' + n.failureSummary.replace(/\\s+/g, ' ').slice(0, 160) + ')' : '')).join('; '))))";
    let result = page.evaluate(script).await.expect("axe runs");
    let text: String = result.into_value().expect("a string");
    serde_json::from_str(&text).expect("a list")
}

async fn viewport(page: &Page, width: i64, height: i64, mobile: bool) {
    page.execute(SetDeviceMetricsOverrideParams::new(width, height, 1.0, mobile)).await.expect("viewport");
}

async fn scheme(page: &Page, dark: bool) {
    page.emulate_media_features(vec![MediaFeature::new("prefers-color-scheme", if dark { "dark" } else { "light" })]).await.expect("colour scheme");
}

/// Audits `url` in light and dark mode and photographs it at both sizes; returns problems.
async fn check_page(browser: &TestBrowser, axe: &str, name: &str, url: &str) -> Vec<String> {
    let dir = crate::support::artifacts_dir().join("a11y");
    std::fs::create_dir_all(&dir).expect("a11y dir");
    let mut problems = Vec::new();
    for dark in [false, true] {
        for (width, height, mobile) in [(1280, 800, false), (390, 844, true)] {
            // A fresh tab each time: nothing of the last page (its streams, its scripts) stays.
            let tab = browser.browser.new_page("about:blank").await.expect("tab");
            let page = &tab;
            scheme(page, dark).await;
            viewport(page, width, height, mobile).await;
            if let Err(e) = page.goto(url).await {
                panic!("{name} at {url} ({width}px, dark {dark}) did not load: {e}");
            }
            TestBrowser::wait_for_text(page, "document.readyState", WAIT, |s| s == "complete").await;
            let shot = page.screenshot(ScreenshotParams::builder().build()).await.expect("screenshot");
            std::fs::write(dir.join(format!("{name}-{width}x{height}-{}.png", if dark { "dark" } else { "light" })), shot).expect("save");
            // One audit per colour scheme and size: contrast and layout change with both.
            for v in audit(page, axe).await {
                problems.push(format!("{name} ({}, {width}px): {v}", if dark { "dark" } else { "light" }));
            }
            let _ = tab.close().await;
        }
    }
    problems
}

#[tokio::test]
async fn every_page_passes_axe_in_light_and_dark_mode() {
    let Some(axe) = axe_source() else { return };
    let Some(browser) = TestBrowser::launch().await else { return };
    let mut problems = Vec::new();

    // Solo mode with the built-in course.
    let solo = TestServer::start(TestApp::builtin().await.state).await;
    let mut pages: Vec<(String, String)> = vec![("home".into(), "/".into()), ("lab".into(), "/labs/mesos-marathon".into())];
    for n in 1..=6 {
        pages.push((format!("step-{n}"), format!("/labs/mesos-marathon/steps/{n}")));
    }
    pages.extend([
        ("site-editor".to_owned(), "/labs/mesos-marathon/site".to_owned()),
        ("slide-1".into(), "/slides/mesos-marathon/1".into()),
        ("slide-5".into(), "/slides/mesos-marathon/5".into()),
        ("presenter".into(), "/slides/mesos-marathon/2/presenter".into()),
        ("print".into(), "/slides/mesos-marathon/print?notes=1".into()),
        ("not-found".into(), "/labs/nothing-here".into()),
    ]);
    for (name, path) in &pages {
        problems.extend(check_page(&browser, &axe, name, &solo.url(path)).await);
    }

    // A class: the join page, a student's home, the board and one student's page.
    let class = ClassApp::start().await;
    let server = TestServer::start(class.state.clone()).await;
    let visitor = browser.browser.new_page("about:blank").await.expect("page");
    problems.extend(check_page(&browser, &axe, "join", &server.url("/join")).await);
    let student = class.join("Ann").await;
    let me: serde_json::Value = serde_json::from_str(&class.send("GET", "/api/me", Some(&student), None).await.body).expect("json");
    let id = me["student"]["id"].as_i64().expect("id");
    let rejoin = class.classroom.rejoin_token(lab::store::StudentId(id));
    visitor.goto(server.url(&format!("/rejoin?token={rejoin}"))).await.expect("rejoin");
    TestBrowser::wait_for_url(&visitor, WAIT, |u| !u.contains("/rejoin")).await;
    problems.extend(check_page(&browser, &axe, "student-home", &server.url("/")).await);
    let teacher = browser.browser.new_page(server.url("/instructor/login?token=teach")).await.expect("page");
    TestBrowser::wait_for_url(&teacher, WAIT, |u| u.ends_with("/instructor")).await;
    problems.extend(check_page(&browser, &axe, "board", &server.url("/instructor")).await);
    problems.extend(check_page(&browser, &axe, "student-page", &server.url(&format!("/instructor/students/{id}"))).await);

    assert!(problems.is_empty(), "{} serious or critical accessibility problems:\n{}", problems.len(), problems.join("\n"));
}

/// What the keyboard reaches: every visible control is focused by Tab alone, and each shows
/// where the focus is (an outline or a ring). Returns the problems found.
async fn keyboard_problems(browser: &TestBrowser, name: &str, url: &str) -> Vec<String> {
    let tab = browser.browser.new_page("about:blank").await.expect("tab");
    viewport(&tab, 1280, 800, false).await;
    tab.goto(url).await.expect("page loads");
    TestBrowser::wait_for_text(&tab, "document.readyState", WAIT, |s| s == "complete").await;
    // Every control a mouse user could use, visible and not disabled.
    let controls: i64 = tab
        .evaluate("(window.labControls = Array.from(document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex=\"-1\"])')).filter(e => !e.disabled && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden' && !e.closest('.CodeMirror'))).length")
        .await
        .expect("controls")
        .into_value()
        .expect("a number");
    // Reached: every element that gets the focus. Marked: looked at once each Tab press has
    // been handled (not inside `focusin`, where a busy browser may not have restyled yet).
    tab.evaluate("window.labReached = new Set(); window.labUnmarked = []; document.addEventListener('focusin', (e) => labReached.add(e.target)); window.labLook = () => { const e = document.activeElement; if (!e || e === document.body) return; const s = getComputedStyle(e); const seen = e.outerHTML.slice(0, 80); if ((s.outlineStyle === 'none' || parseFloat(s.outlineWidth) === 0) && s.boxShadow === 'none' && !labUnmarked.includes(seen)) labUnmarked.push(seen); }").await.expect("listener");
    for _ in 0..controls + 5 {
        press(&tab, "Tab").await;
        tab.evaluate("labLook()").await.expect("look at the focus");
    }
    let missed: Vec<String> = serde_json::from_str(&tab.evaluate("JSON.stringify(labControls.filter(e => !labReached.has(e) && !(e.closest('.CodeMirror'))).map(e => e.outerHTML.slice(0, 80)))").await.expect("missed").into_value::<String>().expect("json")).expect("list");
    let unmarked: Vec<String> = serde_json::from_str(&tab.evaluate("JSON.stringify(labUnmarked)").await.expect("unmarked").into_value::<String>().expect("json")).expect("list");
    let reached: i64 = tab.evaluate("labReached.size").await.expect("reached").into_value().expect("a number");
    let _ = tab.close().await;
    eprintln!("{name}: {controls} controls, Tab reached {reached} elements");
    assert!(controls > 0 && reached >= controls, "{name}: Tab reached {reached} of {controls} controls");
    let mut problems: Vec<String> = missed.into_iter().map(|m| format!("{name}: Tab never reaches {m}")).collect();
    problems.extend(unmarked.into_iter().map(|m| format!("{name}: no visible focus on {m}")));
    problems
}

#[tokio::test]
async fn the_keyboard_alone_reaches_every_control_with_visible_focus() {
    let Some(browser) = TestBrowser::launch().await else { return };
    let solo = TestServer::start(TestApp::builtin().await.state).await;
    let mut problems = Vec::new();
    for path in ["/", "/labs/mesos-marathon", "/labs/mesos-marathon/steps/4", "/slides/mesos-marathon/3", "/slides/mesos-marathon/3/presenter", "/labs/mesos-marathon/site"] {
        problems.extend(keyboard_problems(&browser, path, &solo.url(path)).await);
    }
    let class = ClassApp::start().await;
    let server = TestServer::start(class.state.clone()).await;
    class.join("Ann").await;
    let login = browser.browser.new_page(server.url("/instructor/login?token=teach")).await.expect("page");
    TestBrowser::wait_for_url(&login, WAIT, |u| u.ends_with("/instructor")).await;
    problems.extend(keyboard_problems(&browser, "/instructor", &server.url("/instructor")).await);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
