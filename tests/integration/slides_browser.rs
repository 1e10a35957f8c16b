//! Headless chromium against a real `lab` server, on the built-in deck: every slide fits its
//! frame at 1280×720 and 1024×768 (scaled down when too tall), the progress bar follows the
//! slide, `o`/Esc open the overview and choosing a slide goes there, moves happen without a
//! page load (a window variable survives) while the URL changes and back/forward and reload
//! work, and the presenter view shows its notes without scrolling and runs a timer with
//! pause and reset and a clock. Screenshots (light and dark) go to `target/test-artifacts/`.

use chromiumoxide::cdp::browser_protocol::emulation::{MediaFeature, SetDeviceMetricsOverrideParams, SetEmulatedMediaParams};
use chromiumoxide::page::{Page, ScreenshotParams};
use std::time::Duration;
use crate::support::browser::{TestBrowser, press};
use crate::support::{TestApp, TestServer};

const WAIT: Duration = Duration::from_secs(15);
const DECK: &str = "mesos-marathon";
const COUNTER: &str = "document.getElementById('slide-counter').innerText";

/// "ok" once the slide's images are loaded and its content lies within its frame (after
/// fitting), else what is wrong.
const FITS: &str = r#"(() => {
  const frame = document.querySelector('main > .slide');
  const body = frame.querySelector('.slide-body');
  const images = Array.from(frame.querySelectorAll('img'));
  if (!images.every((i) => i.complete)) return 'images loading';
  const f = frame.getBoundingClientRect(), b = body.getBoundingClientRect();
  if (b.height > f.height + 1 || b.top < f.top - 1 || b.bottom > f.bottom + 1) return 'content ' + b.top + '..' + b.bottom + ' (' + b.height + ' tall) in frame ' + f.top + '..' + f.bottom;
  if (body.scrollHeight > body.clientHeight + 1 && getComputedStyle(body).overflowY !== 'visible') return 'content scrolls';
  return 'ok';
})()"#;

/// The progress bar's value and how much of its width is filled ("n width%").
const PROGRESS: &str = r#"(() => {
  const bar = document.querySelector('[role=progressbar]');
  const fill = bar.firstElementChild.getBoundingClientRect().width / bar.getBoundingClientRect().width;
  return bar.getAttribute('aria-valuenow') + ' ' + Math.round(fill * 100);
})()"#;

async fn resize(page: &Page, width: i64, height: i64) {
    page.execute(SetDeviceMetricsOverrideParams::new(width, height, 1.0, false)).await.expect("set the viewport");
}

async fn dark(page: &Page, on: bool) {
    let value = if on { "dark" } else { "light" };
    let media = SetEmulatedMediaParams::builder().features(vec![MediaFeature::new("prefers-color-scheme", value)]).build();
    page.execute(media).await.expect("emulate the colour scheme");
}

async fn shot(page: &Page, name: &str) {
    let png = page.screenshot(ScreenshotParams::builder().build()).await.expect("screenshot");
    std::fs::write(crate::support::artifacts_dir().join(name), png).expect("save screenshot");
}

async fn eval_string(page: &Page, js: &str) -> String {
    page.evaluate(js).await.expect("evaluate").into_value::<String>().unwrap_or_default()
}

async fn deck_server() -> (TestServer, usize, Vec<String>) {
    let app = TestApp::builtin().await;
    let course = app.state.course();
    let Some(Ok(deck)) = course.deck(DECK) else { panic!("built-in deck") };
    let titles = deck.slides.iter().map(|s| s.title.clone()).collect();
    let total = deck.slides.len();
    (TestServer::start(app.state.clone()).await, total, titles)
}

#[tokio::test]
async fn every_slide_fits_its_frame_and_the_progress_bar_follows() {
    let Some(browser) = TestBrowser::launch().await else { return };
    let (server, total, _) = deck_server().await;
    for (width, height) in [(1280, 720), (1024, 768)] {
        let page = browser.browser.new_page("about:blank").await.expect("new tab");
        resize(&page, width, height).await;
        dark(&page, width == 1024).await;
        page.goto(server.url(&format!("/slides/{DECK}/1"))).await.expect("open deck");
        for n in 1..=total {
            TestBrowser::wait_for_text(&page, COUNTER, WAIT, |t| t == format!("{n} / {total}")).await;
            let fits = TestBrowser::wait_for_text(&page, FITS, WAIT, |t| t == "ok" || t == "content scrolls" || t.starts_with("content ")).await;
            // Images finish loading and fitting reacts to them: give it a moment before judging.
            let fits = if fits == "ok" { fits } else { tokio::time::sleep(Duration::from_millis(500)).await; eval_string(&page, FITS).await };
            assert_eq!(fits, "ok", "slide {n} at {width}×{height}");
            let progress = eval_string(&page, PROGRESS).await;
            let (value, fill) = progress.split_once(' ').expect("value and fill");
            assert_eq!(value, n.to_string(), "progress value on slide {n}");
            let fill: i64 = fill.parse().expect("fill");
            assert!((fill - (n * 100 / total) as i64).abs() <= 2, "slide {n} of {total}: the bar is {fill}% full");
            if eval_string(&page, "String(document.querySelectorAll('main > .slide img').length)").await != "0" {
                shot(&page, &format!("slide-{n}-{width}x{height}{}.png", if width == 1024 { "-dark" } else { "" })).await;
            }
            if n < total {
                press(&page, "ArrowRight").await;
            }
        }
    }
}

#[tokio::test]
async fn moves_without_reload_keep_the_url_and_the_overview_jumps() {
    let Some(browser) = TestBrowser::launch().await else { return };
    let (server, total, titles) = deck_server().await;
    let page = browser.browser.new_page(server.url(&format!("/slides/{DECK}/1"))).await.expect("open deck");
    TestBrowser::wait_for_text(&page, COUNTER, WAIT, |t| t == format!("1 / {total}")).await;
    page.evaluate("window.labMarker = 'still here'").await.expect("mark the window");
    const MARKER: &str = "String(window.labMarker)";
    let at = |n: usize| move |u: &str| u.ends_with(&format!("/slides/{DECK}/{n}"));

    // The key, then the → link: both move in place.
    press(&page, "ArrowRight").await;
    TestBrowser::wait_for_url(&page, WAIT, at(2)).await;
    TestBrowser::wait_for_text(&page, COUNTER, WAIT, |t| t == format!("2 / {total}")).await;
    page.evaluate("document.querySelector('.deck-bar a.next').click()").await.expect("click next");
    TestBrowser::wait_for_url(&page, WAIT, at(3)).await;
    TestBrowser::wait_for_text(&page, COUNTER, WAIT, |t| t == format!("3 / {total}")).await;
    assert_eq!(eval_string(&page, MARKER).await, "still here", "no page load");
    let text = eval_string(&page, "document.querySelector('main > .slide').innerText").await;
    assert!(text.contains(titles[2].as_str()), "slide 3 shows {:?}: {text:?}", titles[2]);
    assert!(eval_string(&page, "document.title").await.starts_with(titles[2].as_str()), "the title follows");

    // Back and forward.
    page.evaluate("history.back()").await.expect("back");
    TestBrowser::wait_for_text(&page, COUNTER, WAIT, |t| t == format!("2 / {total}")).await;
    TestBrowser::wait_for_url(&page, WAIT, at(2)).await;
    page.evaluate("history.forward()").await.expect("forward");
    TestBrowser::wait_for_text(&page, COUNTER, WAIT, |t| t == format!("3 / {total}")).await;
    TestBrowser::wait_for_url(&page, WAIT, at(3)).await;
    assert_eq!(eval_string(&page, MARKER).await, "still here", "no page load");

    // `o` opens the overview on the current slide; arrows and Enter choose another.
    const OVERVIEW: &str = "getComputedStyle(document.getElementById('overview')).display";
    assert_eq!(eval_string(&page, OVERVIEW).await, "none");
    press(&page, "o").await;
    TestBrowser::wait_for_text(&page, OVERVIEW, WAIT, |t| t != "none").await;
    assert_eq!(eval_string(&page, "document.activeElement.dataset.n").await, "3", "focus starts on the current slide");
    let listed = eval_string(&page, "String(document.querySelectorAll('#overview a[data-n]').length)").await;
    assert_eq!(listed, total.to_string(), "the overview lists every slide");
    press(&page, "ArrowRight").await;
    press(&page, "ArrowRight").await;
    press(&page, "Enter").await;
    TestBrowser::wait_for_url(&page, WAIT, at(5)).await;
    TestBrowser::wait_for_text(&page, COUNTER, WAIT, |t| t == format!("5 / {total}")).await;
    TestBrowser::wait_for_text(&page, OVERVIEW, WAIT, |t| t == "none").await;
    assert_eq!(eval_string(&page, MARKER).await, "still here", "no page load");
    assert_eq!(eval_string(&page, "document.querySelector('#overview [aria-current]').dataset.n").await, "5");

    // Esc opens it too and closes it again, staying put.
    press(&page, "Escape").await;
    TestBrowser::wait_for_text(&page, OVERVIEW, WAIT, |t| t != "none").await;
    shot(&page, "overview.png").await;
    press(&page, "Escape").await;
    TestBrowser::wait_for_text(&page, OVERVIEW, WAIT, |t| t == "none").await;
    press(&page, "ArrowLeft").await;
    TestBrowser::wait_for_url(&page, WAIT, at(4)).await;

    // A reload shows the same slide (and is a real page load).
    page.reload().await.expect("reload");
    TestBrowser::wait_for_text(&page, COUNTER, WAIT, |t| t == format!("4 / {total}")).await;
    assert_eq!(eval_string(&page, MARKER).await, "undefined", "a reload is a fresh page");
    assert!(page.url().await.expect("url").unwrap_or_default().ends_with(&format!("/slides/{DECK}/4")));

    // Keys pressed faster than slides load add up.
    for _ in 0..3 {
        press(&page, "ArrowRight").await;
    }
    TestBrowser::wait_for_url(&page, WAIT, at(7)).await;
    TestBrowser::wait_for_text(&page, COUNTER, WAIT, |t| t == format!("7 / {total}")).await;
    page.evaluate("history.back()").await.expect("back");
    // Back lands on an earlier slide (each slide shown, or the one before a burst of keys),
    // and the page shows the slide its URL names.
    let counter = TestBrowser::wait_for_text(&page, COUNTER, WAIT, |t| t != format!("7 / {total}")).await;
    let shown: usize = counter.split(" / ").next().and_then(|n| n.parse().ok()).expect("a slide number");
    assert!(shown < 7, "{counter}");
    assert!(eval_string(&page, "location.pathname").await.ends_with(&format!("/slides/{DECK}/{shown}")), "the URL names slide {shown}");
}

#[tokio::test]
async fn the_presenter_view_shows_the_notes_without_scrolling_and_runs_a_timer() {
    let Some(browser) = TestBrowser::launch().await else { return };
    let (server, total, _) = deck_server().await;
    let page = browser.browser.new_page("about:blank").await.expect("new tab");
    resize(&page, 1280, 800).await;
    page.goto(server.url(&format!("/slides/{DECK}/1/presenter"))).await.expect("open the presenter view");
    page.evaluate("window.labMarker = 'still here'").await.expect("mark the window");
    const LAYOUT: &str = r#"(() => {
      const notes = document.querySelector('.notes');
      if (notes.scrollHeight > notes.clientHeight + 1 || notes.scrollWidth > notes.clientWidth + 1) return 'notes scroll';
      const px = parseFloat(getComputedStyle(notes).fontSize);
      if (px < 14) return 'notes in ' + px + 'px';
      const current = document.querySelector('.current .slide').getBoundingClientRect();
      const next = document.querySelector('.upcoming .slide');
      if (next && next.getBoundingClientRect().width * 1.4 > current.width) return 'the current slide is not the large one';
      if (current.bottom > innerHeight || notes.getBoundingClientRect().bottom > innerHeight) return 'below the window';
      return 'ok';
    })()"#;
    for n in 1..=total {
        TestBrowser::wait_for_text(&page, "document.querySelector('.current .pane-title').innerText", WAIT, |t| t.contains(&format!("{n} / {total}"))).await;
        assert_eq!(TestBrowser::wait_for_text(&page, LAYOUT, WAIT, |_| true).await, "ok", "presenter view of slide {n}");
        if n == 7 {
            shot(&page, "presenter-7.png").await;
        }
        if n < total {
            press(&page, "ArrowRight").await;
            TestBrowser::wait_for_url(&page, WAIT, |u| u.ends_with(&format!("/slides/{DECK}/{}/presenter", n + 1))).await;
        }
    }
    assert_eq!(eval_string(&page, "String(window.labMarker)").await, "still here", "no page load");

    // The wall clock, and the timer: pause holds it, start runs it again, reset zeroes it.
    let clock = TestBrowser::wait_for_text(&page, "document.getElementById('clock').innerText", WAIT, |t| !t.is_empty()).await;
    assert!(clock.len() == 5 && clock.as_bytes()[2] == b':', "{clock}");
    const ELAPSED: &str = "document.getElementById('elapsed').innerText";
    page.evaluate("document.getElementById('toggle-timer').click()").await.expect("pause");
    assert_eq!(eval_string(&page, "document.getElementById('toggle-timer').innerText").await, "Start");
    let paused = eval_string(&page, ELAPSED).await;
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(eval_string(&page, ELAPSED).await, paused, "a paused timer stands still");
    page.evaluate("document.getElementById('reset-timer').click()").await.expect("reset");
    assert_eq!(eval_string(&page, ELAPSED).await, "00:00");
    page.evaluate("document.getElementById('toggle-timer').click()").await.expect("start");
    TestBrowser::wait_for_text(&page, ELAPSED, WAIT, |t| t == "00:02").await;
}

/// Solo mode: an audience tab and a presenter tab of the same browser move together both
/// ways, in place.
#[tokio::test]
async fn the_audience_and_presenter_windows_move_together() {
    let Some(browser) = TestBrowser::launch().await else { return };
    let (server, total, _) = deck_server().await;
    let audience = browser.browser.new_page(server.url(&format!("/slides/{DECK}/2"))).await.expect("audience tab");
    TestBrowser::wait_for_text(&audience, COUNTER, WAIT, |t| t == format!("2 / {total}")).await;
    let presenter = browser.browser.new_page(server.url(&format!("/slides/{DECK}/2/presenter"))).await.expect("presenter tab");
    TestBrowser::wait_for_text(&presenter, "document.querySelector('.current .pane-title').innerText", WAIT, |t| t.contains("2 /")).await;
    audience.evaluate("window.labMarker = 'still here'").await.expect("mark the window");

    press(&presenter, "ArrowRight").await;
    TestBrowser::wait_for_url(&presenter, WAIT, |u| u.ends_with(&format!("/slides/{DECK}/3/presenter"))).await;
    TestBrowser::wait_for_url(&audience, WAIT, |u| u.ends_with(&format!("/slides/{DECK}/3"))).await;
    TestBrowser::wait_for_text(&audience, COUNTER, WAIT, |t| t == format!("3 / {total}")).await;

    press(&audience, "ArrowRight").await;
    TestBrowser::wait_for_url(&presenter, WAIT, |u| u.ends_with(&format!("/slides/{DECK}/4/presenter"))).await;
    TestBrowser::wait_for_text(&presenter, "document.querySelector('.current .pane-title').innerText", WAIT, |t| t.contains("4 /")).await;
    assert_eq!(eval_string(&audience, "String(window.labMarker)").await, "still here", "no page load");
}

/// The printable deck, laid out for print: every slide fits its frame and each one ends a
/// page.
#[tokio::test]
async fn the_printable_deck_fits_every_slide_on_its_page() {
    let Some(browser) = TestBrowser::launch().await else { return };
    let (server, total, _) = deck_server().await;
    let page = browser.browser.new_page("about:blank").await.expect("new tab");
    page.execute(SetEmulatedMediaParams::builder().media("print").build()).await.expect("print media");
    page.goto(server.url(&format!("/slides/{DECK}/print?notes=1"))).await.expect("open the printable deck");
    const PRINTED: &str = r#"(() => {
      const pages = Array.from(document.querySelectorAll('.print-page'));
      if (!Array.from(document.images).every((i) => i.complete)) return 'images loading';
      const wrong = pages.map((p, i) => {
        const f = p.querySelector('.slide').getBoundingClientRect(), b = p.querySelector('.slide-body').getBoundingClientRect();
        if (b.top < f.top - 1 || b.bottom > f.bottom + 1) return 'slide ' + (i + 1) + ' overflows';
        if (i + 1 < pages.length && getComputedStyle(p).breakAfter !== 'page') return 'slide ' + (i + 1) + ' does not end its page';
        return '';
      }).filter((w) => w);
      return pages.length + ' ' + (wrong.join('; ') || 'ok');
    })()"#;
    let result = TestBrowser::wait_for_text(&page, PRINTED, WAIT, |t| t.ends_with(" ok")).await;
    assert_eq!(result, format!("{total} ok"));
    shot(&page, "print-with-notes.png").await;
}

/// Without JavaScript nothing is scaled: a slide taller than its frame scrolls inside it
/// rather than being cut off.
#[tokio::test]
async fn without_javascript_a_tall_slide_scrolls_in_its_frame() {
    use chromiumoxide::cdp::browser_protocol::emulation::SetScriptExecutionDisabledParams;
    let Some(browser) = TestBrowser::launch().await else { return };
    let (server, _, _) = deck_server().await;
    let page = browser.browser.new_page("about:blank").await.expect("new tab");
    resize(&page, 1024, 768).await;
    page.execute(SetScriptExecutionDisabledParams::new(true)).await.expect("no scripts");
    // Slide 4 (a heading and a large diagram) is a little taller than its frame at this size.
    page.goto(server.url(&format!("/slides/{DECK}/4"))).await.expect("open slide 4");
    const SCROLLS: &str = r#"(() => {
      const body = document.querySelector('main > .slide .slide-body');
      if (!body || !Array.from(document.images).every((i) => i.complete)) return 'loading';
      if (document.documentElement.dataset.ready) return 'the script ran';
      return getComputedStyle(body).overflowY + ' ' + (body.scrollHeight > body.clientHeight) + ' ' + (body.style.transform || 'none');
    })()"#;
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut state = String::new();
    while tokio::time::Instant::now() < deadline {
        state = eval_string(&page, SCROLLS).await;
        if state != "loading" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(state, "auto true none", "the frame scrolls, unscaled");
}
