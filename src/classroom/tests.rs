//! The classroom against a provisioner double: joining, sessions, the queue within
//! capacity, failures, stop, idle stopping and resuming after a restart. The real engine is
//! exercised by the integration tests.

use super::*;
use crate::store::DbLocation;
use futures_util::future::BoxFuture;
use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

#[derive(Default)]
struct Fake {
    running: Mutex<HashSet<String>>,
    failing: Mutex<HashSet<String>>,
    calls: Mutex<Vec<String>>,
    delay: Duration,
}

impl Provisioner for Fake {
    fn start<'a>(&'a self, request: &'a StackRequest, sink: &'a dyn provision::StageSink) -> BoxFuture<'a, Result<Endpoints, ProvisionError>> {
        Box::pin(async move {
            self.calls.lock().unwrap().push(format!("start {}", request.project));
            sink.stage("pulling image x".into(), Some((1, 2)));
            tokio::time::sleep(self.delay).await;
            if self.failing.lock().unwrap().contains(&request.project) {
                return Err(ProvisionError { message: "service box: exited".into(), service: Some("box".into()), log_tail: vec!["boom".into()], hint: "Reset".into() });
            }
            self.running.lock().unwrap().insert(request.project.clone());
            Ok(Endpoints { named_ports: BTreeMap::from([("web".into(), request.port_base)]), links: vec![("Web".into(), format!("http://{}:{}/", request.public_host, request.port_base))], ..Endpoints::default() })
        })
    }
    fn stop<'a>(&'a self, project: &'a str) -> BoxFuture<'a, Result<(), ProvisionError>> {
        Box::pin(async move {
            self.calls.lock().unwrap().push(format!("stop {project}"));
            self.running.lock().unwrap().remove(project);
            Ok(())
        })
    }
    fn remove<'a>(&'a self, project: &'a str) -> BoxFuture<'a, Result<(), ProvisionError>> {
        Box::pin(async move {
            self.calls.lock().unwrap().push(format!("remove {project}"));
            self.running.lock().unwrap().remove(project);
            Ok(())
        })
    }
    fn observe<'a>(&'a self, request: &'a StackRequest) -> BoxFuture<'a, Result<Observed, ProvisionError>> {
        Box::pin(async move {
            Ok(if self.running.lock().unwrap().contains(&request.project) {
                Observed::Running(Endpoints { named_ports: BTreeMap::from([("web".into(), request.port_base)]), ..Endpoints::default() })
            } else {
                Observed::Absent
            })
        })
    }
    fn ports_per_stack(&self) -> u16 {
        2
    }
    fn port_names(&self) -> Vec<String> {
        vec!["web".into(), "side".into()]
    }
    fn memory_per_stack(&self) -> Option<u64> {
        None
    }
    fn logs<'a>(&'a self, project: &'a str, lines: usize) -> BoxFuture<'a, Result<Vec<provision::ServiceLog>, ProvisionError>> {
        Box::pin(async move {
            let running = self.running.lock().unwrap().contains(project);
            Ok(vec![provision::ServiceLog { service: "box".into(), lines: if running { vec![format!("{project} up")] } else { Vec::new() }.into_iter().take(lines).collect() }])
        })
    }
}

fn settings(max_stacks: usize, idle: Option<Duration>) -> Settings {
    Settings { public_host: "class.example".into(), max_stacks, max_starting: 2, ports: PortRange { from: 21000, to: 21099 }, idle, autostart: false }
}

async fn open(store: &crate::store::Store, fake: Arc<Fake>, settings: Settings, code: Option<&str>) -> Opened {
    Classroom::open(store.clone(), fake, Arc::new(|| None), OpenOptions { lab: "lab".into(), settings, join_code: code.map(str::to_owned), instructor_token: Some("teach".into()) }).await.unwrap()
}

async fn until_state(c: &Classroom, s: StudentId, want: StackState) -> StackView {
    for _ in 0..200 {
        let view = c.stack_view(s).await;
        if view.state == want {
            return view;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("never {want:?}: {:?}", c.stack_view(s).await);
}

#[tokio::test]
async fn students_join_with_the_code_and_a_unique_name() {
    let store = crate::store::Store::open(&DbLocation::Memory).await.unwrap();
    let opened = open(&store, Arc::new(Fake::default()), settings(5, None), Some("K7M-P3Q")).await;
    let c = opened.classroom;
    assert!(matches!(c.join("nope", "Ann").await, Err(JoinError::WrongCode)));
    let ann = c.join("k7m p3q", "  Ann   Lee ").await.unwrap();
    assert!(matches!(c.join("K7M-P3Q", "ann lee").await, Err(JoinError::NameTaken(_))));
    assert!(matches!(c.join("K7M-P3Q", "").await, Err(JoinError::BadName(_))));
    assert!(matches!(c.join("K7M-P3Q", "x\u{202e}y").await, Err(JoinError::BadName(_))));
    assert_eq!(c.viewer(&ann.session).await.unwrap(), Some(Viewer::Student { id: ann.student, name: "Ann Lee".into() }));
    assert_eq!(c.viewer("forged").await.unwrap(), None);

    let (student, session) = c.rejoin(&ann.rejoin).await.unwrap().unwrap();
    assert_eq!(student, ann.student);
    assert_ne!(session, ann.session, "another device gets its own session");
    assert!(c.rejoin("1.forged").await.unwrap().is_none());

    assert!(c.instructor_login("wrong").await.unwrap().is_none());
    let teacher = c.instructor_login("teach").await.unwrap().unwrap();
    assert_eq!(c.viewer(&teacher).await.unwrap(), Some(Viewer::Instructor));
}

#[tokio::test]
async fn stacks_queue_beyond_capacity_and_a_stop_frees_the_place() {
    let store = crate::store::Store::open(&DbLocation::Memory).await.unwrap();
    let fake = Arc::new(Fake { delay: Duration::from_millis(50), ..Fake::default() });
    let c = open(&store, fake.clone(), settings(1, None), None).await.classroom;
    let code = c.join_code();
    let a = c.join(&code, "a").await.unwrap().student;
    let b = c.join(&code, "b").await.unwrap().student;
    c.start(a).await.unwrap();
    let ready = until_state(&c, a, StackState::Ready).await;
    assert_eq!(ready.links[0].url, "http://class.example:21000/", "links use the class's public host");
    let queued = c.start(b).await.unwrap();
    assert_eq!((queued.state, queued.queue_position), (StackState::Queued, Some(1)));
    assert_eq!(c.start(a).await.unwrap().state, StackState::Ready, "starting a ready stack changes nothing");

    c.stop(a).await.unwrap();
    assert_eq!(c.stack_view(a).await.state, StackState::Stopped);
    let b_ready = until_state(&c, b, StackState::Ready).await;
    assert_eq!(b_ready.ports.get("web"), Some(&21002), "each student has a port block of their own");
    assert!(fake.calls.lock().unwrap().contains(&format!("stop lab-{}-{}", c.tag(), a.0)));
}

#[tokio::test]
async fn a_failed_start_says_which_service_and_shows_its_log() {
    let store = crate::store::Store::open(&DbLocation::Memory).await.unwrap();
    let fake = Arc::new(Fake::default());
    let c = open(&store, fake.clone(), settings(5, None), None).await.classroom;
    let a = c.join(&c.join_code(), "a").await.unwrap().student;
    fake.failing.lock().unwrap().insert(format!("lab-{}-{}", c.tag(), a.0));
    c.start(a).await.unwrap();
    let failed = until_state(&c, a, StackState::Failed).await;
    let failure = failed.failure.unwrap();
    assert_eq!((failure.service.as_deref(), failure.log_tail.as_slice()), (Some("box"), &["boom".to_owned()][..]));
    fake.failing.lock().unwrap().clear();
    c.reset(a).await.unwrap();
    until_state(&c, a, StackState::Ready).await;
    assert!(fake.calls.lock().unwrap().iter().any(|call| call.starts_with("remove ")), "reset removes the old stack");
}

#[tokio::test]
async fn idle_stacks_stop_with_a_notice_but_open_pages_keep_them() {
    let store = crate::store::Store::open(&DbLocation::Memory).await.unwrap();
    let c = open(&store, Arc::new(Fake::default()), settings(5, Some(Duration::from_millis(300))), None).await.classroom;
    let code = c.join_code();
    let a = c.join(&code, "a").await.unwrap().student;
    let b = c.join(&code, "b").await.unwrap().student;
    let _page = c.page_open(b);
    c.touch(a);
    c.start(a).await.unwrap();
    c.start(b).await.unwrap();
    until_state(&c, a, StackState::Ready).await;
    until_state(&c, b, StackState::Ready).await;
    let stopped = until_state(&c, a, StackState::Stopped).await;
    assert!(stopped.notice.as_deref().unwrap_or("").contains("without an open lab page"), "{stopped:?}");
    assert_eq!(c.stack_view(b).await.state, StackState::Ready, "an open page keeps the stack");
}

#[tokio::test]
async fn a_restarted_server_finds_the_class_and_its_running_stacks() {
    let store = crate::store::Store::open(&DbLocation::Memory).await.unwrap();
    let fake = Arc::new(Fake::default());
    let first = open(&store, fake.clone(), settings(5, None), None).await;
    let c = first.classroom;
    let joined = c.join(&first.join_code, "a").await.unwrap();
    c.start(joined.student).await.unwrap();
    until_state(&c, joined.student, StackState::Ready).await;
    drop(c);

    let again = open(&store, fake.clone(), settings(5, None), None).await;
    assert!(again.resumed);
    assert_eq!(again.join_code, first.join_code, "the code stays");
    let c = again.classroom;
    assert!(matches!(c.viewer(&joined.session).await.unwrap(), Some(Viewer::Student { .. })), "students stay signed in");
    assert_eq!(c.stack_view(joined.student).await.state, StackState::Ready, "the running stack is found again");
    assert!(c.instructor_login("teach").await.unwrap().is_some());
}

#[tokio::test]
async fn nothing_is_presented_until_the_presenter_shows_a_slide() {
    let store = crate::store::Store::open(&DbLocation::Memory).await.unwrap();
    let c = open(&store, Arc::new(Fake::default()), settings(5, None), None).await.classroom;
    assert_eq!(c.presented(), None);
    assert_eq!(c.present("intro", 3), Ok(true));
    assert_eq!(c.presented(), Some(Presented { deck: "intro".into(), slide: 3 }));
}

#[tokio::test]
async fn each_move_of_the_presenter_is_announced_once() {
    let store = crate::store::Store::open(&DbLocation::Memory).await.unwrap();
    let c = open(&store, Arc::new(Fake::default()), settings(5, None), None).await.classroom;
    let mut events = c.subscribe();
    assert_eq!(c.present("intro", 1), Ok(true));
    assert_eq!(c.present("intro", 1), Ok(false), "a second tab showing the same slide is no move");
    assert_eq!(c.present("intro", 2), Ok(true));
    assert_eq!(c.present("other", 2), Ok(true), "another deck is a move too");
    let mut heard = Vec::new();
    while let Ok(event) = events.try_recv() {
        heard.push(event);
    }
    assert_eq!(heard, vec![ClassEvent::Presented; 3]);
    assert_eq!(c.presented(), Some(Presented { deck: "other".into(), slide: 2 }), "the latest move wins");
}

#[tokio::test]
async fn slide_zero_or_no_deck_cannot_be_presented() {
    let store = crate::store::Store::open(&DbLocation::Memory).await.unwrap();
    let c = open(&store, Arc::new(Fake::default()), settings(5, None), None).await.classroom;
    c.present("intro", 4).unwrap();
    let mut events = c.subscribe();
    assert_eq!(c.present("intro", 0), Err(PresentError::NoSuchSlide));
    assert_eq!(c.present("", 1), Err(PresentError::NoSuchSlide));
    assert!(events.try_recv().is_err(), "a refused move is not announced");
    assert_eq!(c.presented(), Some(Presented { deck: "intro".into(), slide: 4 }), "and changes nothing");
}

#[tokio::test]
async fn the_store_keeps_every_stack_state() {
    // The store's CHECK constraint lists the states; a state it refuses would only be logged.
    let store = Store::open(&DbLocation::Memory).await.unwrap();
    let class = store.create_class("lab", "ABC-DEF", "secret", "{}").await.unwrap();
    let student = store.add_member(class.id, "ann").await.unwrap();
    store.allocate_stack(class.id, student, "p1", 20000, 20010, 1).await.unwrap().unwrap();
    for state in [StackState::None, StackState::Queued, StackState::Starting, StackState::Ready, StackState::Failed, StackState::Stopped, StackState::Restarting] {
        store.set_stack_state(student, state.as_str(), "").await.unwrap_or_else(|e| panic!("{state:?}: {e}"));
        let stored = store.student_stack(student).await.unwrap().unwrap().state;
        assert_eq!(StackState::parse(&stored), state);
    }
}
