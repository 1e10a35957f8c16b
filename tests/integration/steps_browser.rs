//! Step pages in headless chromium at phone size (390×844): no step of the built-in lab is
//! wider than the screen, and the copy button on code blocks copies the code, by mouse and
//! by keyboard. Screenshots are kept in `target/test-artifacts/`.

use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use chromiumoxide::page::ScreenshotParams;
use std::time::Duration;
use crate::support::browser::{TestBrowser, press};
use crate::support::{TestApp, TestServer};

const WAIT: Duration = Duration::from_secs(15);

/// Makes `page` a 390×844 screen (not emulating a mobile browser, which would widen the
/// layout viewport to fit an overflowing page and so hide the problem).
async fn phone(page: &chromiumoxide::Page) {
    let metrics = SetDeviceMetricsOverrideParams::builder().width(390).height(844).device_scale_factor(1.0).mobile(false).build().expect("metrics");
    page.execute(metrics).await.expect("phone size");
}

async fn eval_string(page: &chromiumoxide::Page, js: &str) -> String {
    page.evaluate(js).await.ok().and_then(|r| r.into_value::<String>().ok()).unwrap_or_default()
}

#[tokio::test]
async fn no_step_is_wider_than_a_phone() {
    let Some(browser) = TestBrowser::launch().await else { return };
    let app = TestApp::builtin().await;
    let steps = app.state.course().lab("mesos-marathon").and_then(|l| l.as_ref().ok()).map(|l| l.steps.len()).unwrap_or(0);
    assert!(steps >= 6, "the built-in lab has its steps");
    let server = TestServer::start(app.state.clone()).await;
    let page = browser.browser.new_page("about:blank").await.expect("page");
    for n in 1..=steps {
        page.goto(server.url(&format!("/labs/mesos-marathon/steps/{n}"))).await.expect("open step");
        TestBrowser::wait_for_text(&page, "document.querySelector('h1') ? document.querySelector('h1').innerText : ''", WAIT, |t| !t.is_empty()).await;
        // Sized after navigating (chromiumoxide sizes new documents itself).
        phone(&page).await;
        TestBrowser::wait_for_text(&page, "String(innerWidth)", WAIT, |t| t == "390").await;
        let widths = eval_string(&page, "String(innerWidth) + ' ' + String(document.documentElement.scrollWidth)").await;
        let (inner, scroll) = widths.split_once(' ').map(|(a, b)| (a.parse::<u32>().unwrap_or(0), b.parse::<u32>().unwrap_or(u32::MAX))).unwrap_or((0, u32::MAX));
        assert_eq!(inner, 390, "the page is not phone-sized");
        let wide = eval_string(&page, "Array.from(document.querySelectorAll('body *')).filter((e) => e.getBoundingClientRect().right > innerWidth + 1).slice(0, 5).map((e) => e.tagName + '.' + e.className).join(', ')").await;
        assert!(scroll <= inner, "step {n} is {scroll}px wide at {inner}px: {wide}");
        // The step list is folded away behind its summary.
        TestBrowser::wait_for_text(&page, "String(document.querySelector('details.step-nav').open)", WAIT, |t| t == "false").await;
        // Last: a full-page screenshot resizes the page and then drops the phone size.
        let shot = page.screenshot(ScreenshotParams::builder().full_page(true).build()).await.expect("screenshot");
        std::fs::write(crate::support::artifacts_dir().join(format!("step-{n}-390.png")), shot).expect("save screenshot");
    }
    phone(&page).await;
    TestBrowser::wait_for_text(&page, "String(document.querySelector('details.step-nav').open)", WAIT, |t| t == "false").await;
    // Its summary (a native disclosure, so keyboard-usable) shows and opens the list.
    let shown = eval_string(&page, "String(document.querySelector('details.step-nav > summary').offsetHeight > 0)").await;
    assert_eq!(shown, "true");
    page.find_element("details.step-nav > summary").await.expect("summary").click().await.expect("click");
    TestBrowser::wait_for_text(&page, "String(document.querySelector('details.step-nav').open)", WAIT, |t| t == "true").await;
}

#[tokio::test]
async fn the_copy_button_copies_the_code_by_mouse_and_keyboard() {
    let Some(browser) = TestBrowser::launch().await else { return };
    let app = TestApp::builtin().await;
    let server = TestServer::start(app.state.clone()).await;
    let page = browser.browser.new_page(server.url("/labs/mesos-marathon/steps/1")).await.expect("open step");
    TestBrowser::wait_for_text(&page, "String(document.querySelectorAll('.copy-button').length)", WAIT, |t| t.parse::<u32>().unwrap_or(0) > 0).await;
    let blocks = eval_string(&page, "String(document.querySelectorAll('pre > code').length) + ' ' + String(document.querySelectorAll('.code-block > .copy-button').length)").await;
    let (codes, buttons) = blocks.split_once(' ').unwrap_or(("", "x"));
    assert_eq!(codes, buttons, "every code block gets a button");
    // Headless chromium has no clipboard to read back: record what the page writes to it.
    page.evaluate("window.copied = []; Object.defineProperty(navigator, 'clipboard', { value: { writeText: async (t) => { window.copied.push(t); } } }); 'ok'").await.expect("stub clipboard");
    let expected = eval_string(&page, "document.querySelector('.code-block code').innerText").await;
    assert!(!expected.trim().is_empty());
    page.find_element(".code-block .copy-button").await.expect("button").click().await.expect("click");
    let copied = TestBrowser::wait_for_text(&page, "window.copied.length ? window.copied[0] : ''", WAIT, |t| !t.is_empty()).await;
    assert_eq!(copied, expected);
    TestBrowser::wait_for_text(&page, "document.querySelector('.code-block .copy-button').textContent", WAIT, |t| t == "Copied").await;
    // From the keyboard: focus the button and press Enter.
    page.evaluate("document.querySelectorAll('.code-block .copy-button')[1].focus()").await.expect("focus");
    press(&page, "Enter").await;
    let second = TestBrowser::wait_for_text(&page, "window.copied.length > 1 ? window.copied[1] : ''", WAIT, |t| !t.is_empty()).await;
    assert_eq!(second, eval_string(&page, "document.querySelectorAll('.code-block code')[1].innerText").await);
}

/// Waits until lab counts `want` open event streams; returns the count seen last.
async fn open_streams_become(app: &TestApp, want: usize) -> usize {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let open = app.state.open_streams();
        if open == want || tokio::time::Instant::now() >= deadline {
            return open;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A browser keeps pages it leaves for Back/Forward; one that kept its event stream would hold
/// one of the browser's six connections to lab, and a student who had read six pages could
/// load nothing more. Left pages close their stream; one brought back by Back is live again.
#[tokio::test]
async fn pages_left_behind_hold_no_event_stream() {
    let Some(browser) = TestBrowser::launch().await else { return };
    let app = TestApp::builtin().await;
    let server = TestServer::start(app.state.clone()).await;
    let page = browser.browser.new_page("about:blank").await.expect("page");
    let title = "document.querySelector('h1') ? document.querySelector('h1').innerText : ''";
    let mut titles = Vec::new();
    for n in 1..=8 {
        // Eight pages: more than the browser's connections to one server.
        let path = if n <= 6 { format!("/labs/mesos-marathon/steps/{n}") } else { ["/", "/labs/mesos-marathon"][n - 7].to_string() };
        page.goto(server.url(&path)).await.expect("open page");
        titles.push(TestBrowser::wait_for_text(&page, title, WAIT, |t| !t.is_empty()).await);
        TestBrowser::wait_for_text(&page, "String(window.labEvents.readyState)", WAIT, |s| s == "1").await;
        assert_eq!(open_streams_become(&app, 1).await, 1, "after opening {path}, only the page on screen listens");
    }
    // Back: the previous page is shown again (from the browser's cache or loaded anew) and
    // listens again, on one stream.
    page.evaluate("history.back()").await.expect("back");
    TestBrowser::wait_for_text(&page, title, WAIT, |t| t == titles[6]).await;
    TestBrowser::wait_for_text(&page, "String(window.labEvents.readyState)", WAIT, |s| s == "1").await;
    assert_eq!(open_streams_become(&app, 1).await, 1, "after Back, one stream");
    // Chromium kept the page for Back; it missed live updates while away, so lab.js reloaded it.
    assert_eq!(eval_string(&page, "performance.getEntriesByType('navigation')[0].type").await, "reload");
}
