//! A service that shares another's network namespace (`network_mode: service:web`) is
//! always attached to web's *current* container: an `up` cut off after it replaced web,
//! and a `docker restart` of web, both leave the sharer in a namespace of its own; `lab
//! status` says so with what to do, and the next `up` reattaches it. Against the real
//! engine; skips (with the reason) outside CI when none is reachable.

use lab::stack::plan::{ProjectOptions, plan};
use lab::stack::status::status;
use lab::stack::{Action, Engine, Phase, Plan, Progress, Quiet, StackEvent, UpOptions, up};
use std::collections::HashMap;
use std::time::Duration;
use crate::support::docker::{ProjectGuard, busybox_image, engine_or_skip};
use tokio::sync::Notify;

/// web becomes healthy two seconds after it starts; the sidecar waits for that, and serves
/// on port 81 inside web's namespace, published by web.
fn stack(greeting: &str) -> String {
    format!(
        "x-lab:\n  ports: {{side: 18081}}\nservices:\n  web:\n    image: lab-test/busybox:2\n    command: sh -c 'sleep 2; touch /tmp/ready; exec sleep 3600'\n    environment: {{GREETING: {greeting}}}\n    healthcheck: {{test: [CMD, test, -f, /tmp/ready], interval: 200ms, retries: 100}}\n    ports: ['127.0.0.1:${{LAB_PORT_SIDE}}:81']\n    stop_grace_period: 1s\n  sidecar:\n    image: lab-test/busybox:2\n    network_mode: service:web\n    depends_on: {{web: {{condition: service_healthy}}}}\n    command: sh -c 'mkdir -p /www && echo sidecar > /www/index.html && exec httpd -f -p 81 -h /www'\n    stop_grace_period: 1s\n"
    )
}

fn plan_for(text: &str, project: &str, port: u16) -> Plan {
    let options = ProjectOptions {
        project: project.to_owned(),
        student: "tess".into(),
        port_base: Some(port),
        stack_dir: ".".into(),
        host: "127.0.0.1".into(),
        lab: None,
        workspace: None,
        env: HashMap::new(),
    };
    plan("stack.yml", text, &options).unwrap_or_else(|e| panic!("{e}"))
}

/// Wakes the test when a service reaches a phase.
struct WhenPhase {
    service: &'static str,
    phase: Phase,
    reached: Notify,
}

impl Progress for WhenPhase {
    fn event(&self, event: StackEvent<'_>) {
        if let StackEvent::Service { service, phase } = event
            && service == self.service
            && phase == self.phase
        {
            self.reached.notify_one();
        }
    }
}

async fn answers(url: &str) -> bool {
    let client = lab::net::client_builder().timeout(Duration::from_secs(2)).build().unwrap();
    for _ in 0..30 {
        if let Ok(res) = client.get(url).send().await
            && res.status().is_success()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

async fn setup(prefix: &str) -> Option<(Engine, ProjectGuard)> {
    let engine = engine_or_skip().await?;
    busybox_image(&engine).await;
    Some((engine, ProjectGuard::new(prefix)))
}

fn action(report: &lab::stack::UpReport, service: &str) -> Action {
    report.actions.iter().find(|(s, _)| s == service).map(|(_, a)| *a).unwrap_or_else(|| panic!("{service} in {report:?}"))
}

/// What the sidecar's container is attached to, as the engine says.
async fn sidecar_joined(engine: &Engine, project: &str) -> (String, String) {
    let docker = engine.docker();
    let web = docker.inspect_container(&format!("{project}-web"), None).await.unwrap();
    let sidecar = docker.inspect_container(&format!("{project}-sidecar"), None).await.unwrap();
    (web.id.unwrap(), sidecar.host_config.unwrap().network_mode.unwrap())
}

#[tokio::test]
async fn a_sharer_left_behind_by_a_cut_off_up_is_reported_and_reattached() {
    let Some((engine, guard)) = setup("share-cut").await else { return };
    let p = guard.project.as_str();
    up(&engine, &plan_for(&stack("hello"), p, 23000), &Quiet, &UpOptions::default()).await.expect("first up");
    assert!(answers("http://127.0.0.1:23000/").await, "the sidecar serves through web's namespace");

    // Change web, and cut `up` off once the new web waits for its health: the sidecar,
    // which waits for that, still sits in the old web's namespace.
    let changed = plan_for(&stack("bonjour"), p, 23000);
    let progress = WhenPhase { service: "web", phase: Phase::WaitingHealthy, reached: Notify::new() };
    let options = UpOptions::default();
    tokio::select! {
        r = up(&engine, &changed, &progress, &options) => panic!("up was to be cut off, but ended: {r:?}"),
        () = progress.reached.notified() => {}
        () = tokio::time::sleep(Duration::from_secs(120)) => panic!("web never waited for its health"),
    }
    let (web_id, joined) = sidecar_joined(&engine, p).await;
    assert_ne!(joined, format!("container:{web_id}"), "the engine shows the sidecar in a removed container's namespace");

    let state = status(&engine, p).await.unwrap();
    let sidecar = state.services.iter().find(|s| s.service == "sidecar").unwrap();
    assert_eq!(sidecar.state, "running", "the engine alone would call it fine");
    let problem = sidecar.problem.as_deref().unwrap_or_default();
    assert!(problem.contains("shares the network of `web`, whose container was replaced or removed") && problem.contains("Run `lab up`"), "{problem:?}");
    assert!(!state.all_running());

    // The next `up` of the same file sees it from the engine, not from the hash.
    let report = up(&engine, &changed, &Quiet, &UpOptions::default()).await.expect("up again");
    assert_eq!(action(&report, "web"), Action::Kept);
    assert_eq!(action(&report, "sidecar"), Action::Recreated, "{report:?}");
    let (web_id, joined) = sidecar_joined(&engine, p).await;
    assert_eq!(joined, format!("container:{web_id}"));
    assert!(answers("http://127.0.0.1:23000/").await, "the sidecar serves again");
    assert!(status(&engine, p).await.unwrap().all_running());
}

#[tokio::test]
async fn a_sharer_of_a_restarted_service_is_reported_and_reattached() {
    let Some((engine, guard)) = setup("share-restart").await else { return };
    let p = guard.project.as_str();
    let plan = plan_for(&stack("hello"), p, 23010);
    up(&engine, &plan, &Quiet, &UpOptions::default()).await.expect("first up");
    assert!(answers("http://127.0.0.1:23010/").await);

    // A restart keeps web's id but gives it a new namespace; the sidecar keeps the old one.
    engine.docker().restart_container(&format!("{p}-web"), None).await.expect("docker restart web");
    let (web_id, joined) = sidecar_joined(&engine, p).await;
    assert_eq!(joined, format!("container:{web_id}"), "same id: only the start times tell");
    assert!(!answers("http://127.0.0.1:23010/").await, "the sidecar no longer answers on web's address");
    let state = status(&engine, p).await.unwrap();
    let problem = state.services.iter().find(|s| s.service == "sidecar").and_then(|s| s.problem.clone()).unwrap_or_default();
    assert!(problem.contains("shares the network of `web`, which restarted after sidecar joined it"), "{problem:?}");

    let report = up(&engine, &plan, &Quiet, &UpOptions::default()).await.expect("up after the restart");
    assert_eq!(action(&report, "web"), Action::Kept);
    assert_eq!(action(&report, "sidecar"), Action::Recreated, "{report:?}");
    assert!(answers("http://127.0.0.1:23010/").await, "the sidecar serves again");
    let state = status(&engine, p).await.unwrap();
    assert!(state.services.iter().all(|s| s.problem.is_none()), "{state:?}");

    // And an `up` with nothing to do keeps everything.
    let again = up(&engine, &plan, &Quiet, &UpOptions::default()).await.expect("third up");
    assert!(again.actions.iter().all(|(_, a)| *a == Action::Kept), "{again:?}");
}
