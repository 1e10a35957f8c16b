//! Two students in two separate browser contexts join a class on a real `lab` server, press
//! Start, and each sees their own stack turn ready on their page (live, without reloading),
//! with their own links — on the real engine, with the busybox test lab; then the instructor,
//! in a third context, sees both on the board, opens Bob's page (his services' logs from the
//! engine) and stops his stack, which Bob's page shows live. Screenshots are kept in
//! `target/test-artifacts/`.

use crate::support::classroom::test_lab_content;
use crate::support::temp_lab_home;

use chromiumoxide::cdp::browser_protocol::target::{CreateBrowserContextParams, CreateTargetParams};
use chromiumoxide::page::{Page, ScreenshotParams};
use lab::classroom::{Classroom, DockerProvisioner, OpenOptions, PortRange, Settings};
use lab::course::Course;
use lab::store::{DbLocation, Store};
use lab::web::AppState;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use crate::support::TestServer;
use crate::support::browser::TestBrowser;
use crate::support::docker::{busybox_image, engine_or_skip};

const WAIT: Duration = Duration::from_secs(60);



async fn join(browser: &TestBrowser, base: &str, name: &str) -> Page {
    let context = browser.browser.create_browser_context(CreateBrowserContextParams::default()).await.expect("context");
    let page = browser.browser.new_page(CreateTargetParams::builder().url(format!("{base}/")).browser_context_id(context).build().expect("target")).await.expect("page");
    TestBrowser::wait_for_url(&page, WAIT, |u| u.ends_with("/join")).await;
    page.find_element("#code").await.expect("code field").click().await.expect("focus").type_str("abc-def").await.expect("type");
    page.find_element("#name").await.expect("name field").click().await.expect("focus").type_str(name).await.expect("type");
    page.find_element("button[type=submit]").await.expect("join button").click().await.expect("join");
    TestBrowser::wait_for_url(&page, WAIT, |u| u.contains("/?welcome=1")).await;
    page
}

const PANEL: &str = "(document.querySelector('[data-live-stack]') || {innerText: ''}).innerText";

#[tokio::test]
async fn two_students_each_see_only_their_own_stack_turn_ready() {
    let Some(engine) = engine_or_skip().await else { return };
    let Some(browser) = TestBrowser::launch().await else { return };
    busybox_image(&engine).await;
    temp_lab_home();
    let course = Course::load(&test_lab_content()).expect("test lab");
    let store = Store::open(&DbLocation::Memory).await.expect("store");
    let provisioner = DockerProvisioner::new(engine, test_lab_content(), "classlab").expect("plan");
    let settings = Settings { public_host: "127.0.0.1".into(), max_stacks: 4, max_starting: 2, ports: PortRange { from: 23500, to: 23599 }, idle: None, autostart: false };
    let holder: Arc<OnceLock<AppState>> = Arc::new(OnceLock::new());
    let source = {
        let holder = holder.clone();
        Arc::new(move || holder.get().and_then(|s| s.course().lab("classlab").and_then(|l| l.as_ref().ok()).cloned()))
    };
    let options = OpenOptions { lab: "classlab".into(), settings, join_code: Some("ABC-DEF".into()), instructor_token: Some("teach-engine".into()) };
    let opened = Classroom::open(store.clone(), Arc::new(provisioner), source, options).await.expect("class");
    let classroom = opened.classroom.clone();
    let state = AppState::classroom(course, store, classroom.clone());
    let _ = holder.set(state.clone());
    state.spawn_class_events();
    let server = TestServer::start(state).await;
    let base = server.url("");
    let base = base.trim_end_matches('/');

    let ann = join(&browser, base, "Ann").await;
    let bob = join(&browser, base, "Bob").await;
    let members = classroom.store().members(classroom.id()).await.expect("members");
    let cleanup = crate::support::ClassCleanup(members.iter().map(|m| format!("lab-{}-{}", classroom.tag(), m.student.0)).collect());

    for page in [&ann, &bob] {
        TestBrowser::wait_for_text(page, PANEL, WAIT, |t| t.contains("Not started")).await;
        page.find_element("[data-live-stack] form[action='/stack/start'] button").await.expect("start button").click().await.expect("start");
    }
    let ann_panel = TestBrowser::wait_for_text(&ann, PANEL, WAIT, |t| t.contains("Ready")).await;
    let bob_panel = TestBrowser::wait_for_text(&bob, PANEL, WAIT, |t| t.contains("Ready")).await;
    let (ann_project, bob_project) = (format!("lab-{}-{}", classroom.tag(), members[0].student.0), format!("lab-{}-{}", classroom.tag(), members[1].student.0));
    assert!(ann_panel.contains(&ann_project) && !ann_panel.contains(&bob_project), "{ann_panel}");
    assert!(bob_panel.contains(&bob_project) && !bob_panel.contains(&ann_project), "{bob_panel}");

    // Each page links to its own student's web page, which names that student.
    for (page, project) in [(&ann, &ann_project), (&bob, &bob_project)] {
        let href = TestBrowser::wait_for_text(page, "document.querySelector('[data-live-stack] .links a').href", WAIT, |h| h.starts_with("http://127.0.0.1:")).await;
        let body = reqwest::get(&href).await.expect("the link answers").text().await.expect("text");
        let student = project.trim_start_matches("lab-");
        assert_eq!(body.trim(), format!("hello {student}"), "{href}");
    }
    for (page, name) in [(&ann, "ann"), (&bob, "bob")] {
        let shot = page.screenshot(ScreenshotParams::builder().build()).await.expect("screenshot");
        std::fs::write(crate::support::artifacts_dir().join(format!("classroom-{name}-ready.png")), shot).expect("save screenshot");
    }

    // The instructor, in a third context: the board shows both stacks ready; Bob's page shows
    // his services' logs read from the engine; Stop there stops his stack, live on his page.
    let context = browser.browser.create_browser_context(CreateBrowserContextParams::default()).await.expect("context");
    let teacher = browser.browser.new_page(CreateTargetParams::builder().url(format!("{base}/instructor/login?token=teach-engine")).browser_context_id(context).build().expect("target")).await.expect("page");
    TestBrowser::wait_for_url(&teacher, WAIT, |u| u.ends_with("/instructor")).await;
    let stacks = "Array.from(document.querySelectorAll('#board-rows tr')).map(r => r.dataset.name + ':' + r.querySelector('.stack').textContent.trim()).join(',')";
    assert_eq!(TestBrowser::wait_for_text(&teacher, stacks, WAIT, |t| t == "Ann:ready,Bob:ready").await, "Ann:ready,Bob:ready");
    teacher.evaluate(format!("document.querySelector('#student-{} th a').click()", members[1].student.0)).await.expect("open Bob");
    TestBrowser::wait_for_url(&teacher, WAIT, |u| u.contains("/instructor/students/")).await;
    let logs = TestBrowser::wait_for_text(&teacher, "Array.from(document.querySelectorAll('.service-log summary')).map(s => s.textContent).join(',')", WAIT, |t| !t.is_empty()).await;
    assert!(logs.contains("web"), "Bob's services' logs: {logs}");
    teacher.find_element("form[action$='/stop'] button").await.expect("stop button").click().await.expect("stop");
    TestBrowser::wait_for_text(&bob, PANEL, WAIT, |t| t.contains("Stopped")).await;
    assert!(TestBrowser::wait_for_text(&ann, PANEL, WAIT, |_| true).await.contains("Ready"), "Ann's stack runs on");
    // The stop form leads back to Bob's page, which says so.
    TestBrowser::wait_for_text(&teacher, "document.readyState + ' ' + ((document.querySelector('.stack-state') || {}).textContent || '')", WAIT, |t| t.starts_with("complete") && t.contains("stopped")).await;
    let shot = teacher.screenshot(ScreenshotParams::builder().build()).await.expect("screenshot");
    std::fs::write(crate::support::artifacts_dir().join("classroom-instructor-bob.png"), shot).expect("save screenshot");
    drop(cleanup);
}
