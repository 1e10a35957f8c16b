//! The classroom on the real engine, with the small busybox test lab in
//! `tests/fixtures/classroom`: two students start at once and each gets a stack of their
//! own (own ports, own label); stop and start resume; reset starts fresh and keeps the old
//! site; capacity queues; a reopened class finds the running stacks by label.

use crate::support::classroom::test_lab_content;
use crate::support::temp_lab_home;

use lab::classroom::{Classroom, DockerProvisioner, OpenOptions, PortRange, Settings, StackState, StackView};
use lab::store::{DbLocation, Store, StudentId};
use std::sync::Arc;
use std::time::Duration;
use crate::support::docker::{busybox_image, engine_or_skip};



fn settings(from: u16, max_stacks: usize) -> Settings {
    Settings { public_host: "127.0.0.1".into(), max_stacks, max_starting: 2, ports: PortRange { from, to: from + 99 }, idle: None, autostart: false }
}

async fn open(store: &Store, settings: Settings) -> Option<Classroom> {
    let engine = engine_or_skip().await?;
    busybox_image(&engine).await;
    temp_lab_home();
    let provisioner = DockerProvisioner::new(engine, test_lab_content(), "classlab").expect("the test lab's stack plans");
    let options = OpenOptions { lab: "classlab".into(), settings, join_code: None, instructor_token: Some("t".into()) };
    Some(Classroom::open(store.clone(), Arc::new(provisioner), Arc::new(|| None), options).await.expect("opens").classroom)
}

async fn until(c: &Classroom, s: StudentId, want: StackState) -> StackView {
    for _ in 0..600 {
        let view = c.stack_view(s).await;
        if view.state == want {
            return view;
        }
        assert!(!(view.state == StackState::Failed && want != StackState::Failed), "{view:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never {want:?}: {:#?}", c.stack_view(s).await);
}

async fn page(url: &str) -> String {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(3)).build().expect("client");
    for _ in 0..30 {
        if let Ok(r) = client.get(url).send().await
            && let Ok(text) = r.text().await
        {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{url} never answered");
}

/// Removes every project of the class when the test ends, also after a panic.
struct Cleanup(Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for project in &self.0 {
            drop(crate::support::docker::ProjectGuard { project: project.clone() });
        }
    }
}

#[tokio::test]
async fn two_students_get_their_own_stacks_and_control_them() {
    let store = Store::open(&DbLocation::Memory).await.unwrap();
    let Some(c) = open(&store, settings(23100, 5)).await else { return };
    let code = c.join_code();
    let ann = c.join(&code, "Ann").await.unwrap().student;
    let bob = c.join(&code, "Bob").await.unwrap().student;
    let _cleanup = Cleanup(vec![format!("lab-{}-{}", c.tag(), ann.0), format!("lab-{}-{}", c.tag(), bob.0)]);

    let (a, b) = tokio::join!(c.start(ann), c.start(bob));
    a.unwrap();
    b.unwrap();
    let (a, b) = tokio::join!(until(&c, ann, StackState::Ready), until(&c, bob, StackState::Ready));
    assert_ne!(a.ports["web"], b.ports["web"], "each has a port block");
    assert_eq!(a.links[0].url, format!("http://127.0.0.1:{}/", a.ports["web"]));
    assert_eq!(page(&a.links[0].url).await.trim(), format!("hello {}-{}", c.tag(), ann.0), "Ann's page is Ann's");
    assert_eq!(page(&b.links[0].url).await.trim(), format!("hello {}-{}", c.tag(), bob.0));

    // Every container of Ann's project carries her label.
    let engine = lab::stack::Engine::connect().await.unwrap();
    let state = lab::stack::status::status(&engine, a.project.as_deref().unwrap()).await.unwrap();
    assert_eq!(state.services.len(), 2);
    assert_eq!(state.student.as_deref(), Some(format!("{}-{}", c.tag(), ann.0).as_str()));

    // Stop keeps the stack; start resumes it on the same ports.
    c.stop(ann).await.unwrap();
    let stopped = lab::stack::status::status(&engine, a.project.as_deref().unwrap()).await.unwrap();
    assert!(stopped.exists() && !stopped.all_running(), "stopped, not removed");
    c.start(ann).await.unwrap();
    let again = until(&c, ann, StackState::Ready).await;
    assert_eq!(again.ports, a.ports);

    // Reset: a fresh stack and a fresh site; the old site is kept beside it.
    let workspace = lab::stack::project::workspace_dir(a.project.as_deref().unwrap());
    std::fs::write(workspace.join("site/app.yml"), "service:\n  id: /class/app\n  instances: 9\n").unwrap();
    c.reset(ann).await.unwrap();
    until(&c, ann, StackState::Ready).await;
    assert!(std::fs::read_to_string(workspace.join("site/app.yml")).unwrap().contains("instances: 1"), "a fresh site");
    let backups: Vec<_> = std::fs::read_dir(&workspace).unwrap().filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().starts_with("site-backup-")).collect();
    assert_eq!(backups.len(), 1);
    assert!(std::fs::read_to_string(backups[0].path().join("app.yml")).unwrap().contains("instances: 9"), "the student's words are kept");
    assert_eq!(c.stack_view(bob).await.state, StackState::Ready, "Bob never noticed");
}

#[tokio::test]
async fn beyond_capacity_students_queue_and_a_reopened_class_finds_running_stacks() {
    let store = Store::open(&DbLocation::File(temp_lab_home().join("queue.db"))).await.unwrap();
    let Some(c) = open(&store, settings(23300, 1)).await else { return };
    let code = c.join_code();
    let ann = c.join(&code, "Ann").await.unwrap().student;
    let bob = c.join(&code, "Bob").await.unwrap().student;
    let _cleanup = Cleanup(vec![format!("lab-{}-{}", c.tag(), ann.0), format!("lab-{}-{}", c.tag(), bob.0)]);
    c.start(ann).await.unwrap();
    let queued = c.start(bob).await.unwrap();
    assert_eq!((queued.state, queued.queue_position), (StackState::Queued, Some(1)));
    until(&c, ann, StackState::Ready).await;
    assert_eq!(c.stack_view(bob).await.state, StackState::Queued, "one place, taken");
    c.stop(ann).await.unwrap();
    let bob_view = until(&c, bob, StackState::Ready).await;

    // The server restarts: the class, its students and Bob's running stack are found again.
    drop(c);
    let Some(c) = open(&store, settings(23300, 1)).await else { return };
    assert_eq!(c.stack_view(bob).await.state, StackState::Ready);
    assert_eq!(c.stack_view(bob).await.ports, bob_view.ports);
    assert_eq!(c.stack_view(ann).await.state, StackState::Stopped);
}

/// The instructor's class controls, through their routes, on the real engine: start every
/// stack (pre-warming within capacity), stop all, and end the class (stops everything,
/// closes joining, keeps the record); a student's page of the instructor shows their
/// services' logs from the engine.
#[tokio::test]
async fn the_instructors_class_controls_drive_real_stacks() {
    let store = Store::open(&DbLocation::Memory).await.unwrap();
    let Some(c) = open(&store, settings(23700, 5)).await else { return };
    let course = lab::course::Course::load(&test_lab_content()).expect("the test lab loads");
    let state = lab::web::AppState::classroom(course, store.clone(), c.clone());
    state.spawn_class_events();
    let app = |method: &str, path: &str, form: Option<&str>, cookie: &str| {
        let mut request = axum::http::Request::builder().method(method).uri(path).header("cookie", cookie).header("accept", "application/json");
        if form.is_some() {
            request = request.header("content-type", "application/x-www-form-urlencoded");
        }
        let request = request.body(axum::body::Body::from(form.unwrap_or("").to_owned())).expect("request");
        crate::support::send(&state, request)
    };
    let login = crate::support::send(&state, axum::http::Request::get("/instructor/login?token=t").body(axum::body::Body::empty()).unwrap()).await;
    let teacher = crate::support::classroom::cookie_of(&login);
    let code = c.join_code();
    let ann = c.join(&code, "Ann").await.unwrap().student;
    let bob = c.join(&code, "Bob").await.unwrap().student;
    let projects = [format!("lab-{}-{}", c.tag(), ann.0), format!("lab-{}-{}", c.tag(), bob.0)];
    let _cleanup = Cleanup(projects.to_vec());
    let engine = lab::stack::Engine::connect().await.unwrap();

    // Start all: nobody pressed Start, yet both stacks come up and serve their student.
    let r = app("POST", "/instructor/start-all", None, &teacher).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("\"queued\":2"), "{}", r.body);
    let (a, b) = tokio::join!(until(&c, ann, StackState::Ready), until(&c, bob, StackState::Ready));
    assert_eq!(page(&a.links[0].url).await.trim(), format!("hello {}-{}", c.tag(), ann.0));
    assert_eq!(page(&b.links[0].url).await.trim(), format!("hello {}-{}", c.tag(), bob.0));
    for project in &projects {
        assert!(lab::stack::status::status(&engine, project).await.unwrap().all_running(), "{project} runs");
    }
    // The student's page shows the end of each service's log, read from the engine.
    let detail: serde_json::Value = serde_json::from_str(&app("GET", &format!("/api/class/students/{}", ann.0), None, &teacher).await.body).expect("json");
    let logs = detail["logs"]["value"].as_array().expect("logs shown");
    assert!(!logs.is_empty() && logs.iter().all(|l| l["service"].is_string()), "{detail}");

    // Stop all: every container stops, nothing is removed.
    let r = app("POST", "/instructor/stop-all", None, &teacher).await;
    assert!(r.body.contains("\"stopped\":2"), "{}", r.body);
    for (student, project) in [ann, bob].iter().zip(&projects) {
        assert_eq!(c.stack_view(*student).await.state, StackState::Stopped);
        let status = lab::stack::status::status(&engine, project).await.unwrap();
        assert!(status.exists() && !status.all_running(), "{project} stopped, not removed");
    }

    // Start all again, then end the class: every stack stops, joining closes, the record stays.
    app("POST", "/instructor/start-all", None, &teacher).await;
    until(&c, ann, StackState::Ready).await;
    until(&c, bob, StackState::Ready).await;
    let r = app("POST", "/instructor/end", Some("confirm=yes"), &teacher).await;
    assert_eq!(r.status, 200, "{}", r.body);
    for project in &projects {
        assert!(!lab::stack::status::status(&engine, project).await.unwrap().all_running(), "{project} stopped at the end");
    }
    assert_eq!(c.joining(), (false, true), "joining closed, class ended");
    assert!(c.join(&code, "Cy").await.is_err(), "nobody joins an ended class");
    assert_eq!(store.members(c.id()).await.unwrap().len(), 2, "the record stays");
    let r = app("POST", "/instructor/start-all", None, &teacher).await;
    assert_eq!(r.status, 503, "an ended class starts nothing: {}", r.body);
}
