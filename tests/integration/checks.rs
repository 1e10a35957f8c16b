//! Exercise checks of the built-in course against the Marathon test double and a local
//! HTTP server standing in for the gateway: every criterion passing and failing, both
//! Marathon API shapes, a broken environment, the JSON shape, exit codes, re-checks fired
//! by events, and results stored only when they change.

use lab::checks::{CheckError, ExerciseResult, Status, Target, run_exercise};
use lab::course::{ContentSource, Course, Lab};
use serde_json::{Value, json};
use std::time::Duration;
use crate::support::gateway::{Gateway, silent_port};
use crate::support::marathon::{MarathonDouble, Shape};

fn course_lab() -> Lab {
    let course = Course::load(&ContentSource::Embedded).unwrap();
    course.lab("mesos-marathon").unwrap().as_ref().unwrap().clone()
}

fn wolf3d() -> Value {
    json!({
        "id": "/demo/wolf3d", "instances": 2, "cpus": 0.1, "mem": 64,
        "container": {"type": "DOCKER", "docker": {"image": "srenkens/wolfenstein3d:latest", "network": "BRIDGE",
            "portMappings": [{"containerPort": 80, "servicePort": 8888}]}},
        "healthChecks": [{"protocol": "HTTP", "path": "/", "portIndex": 0}]
    })
}

fn demo(instances: u64) -> Value {
    json!({
        "id": "/demo/webapp", "instances": instances, "cmd": "python3 -m http.server $PORT0",
        "container": {"type": "DOCKER", "docker": {"image": "python:3.12-alpine", "network": "HOST"}},
        "ports": [1234], "healthChecks": [{"protocol": "HTTP", "path": "/", "portIndex": 0}]
    })
}

struct World {
    double: MarathonDouble,
    gateway: Gateway,
    site: tempfile::TempDir,
}

impl World {
    async fn new(shape: Shape) -> World {
        let double = MarathonDouble::start(shape, Duration::from_millis(30)).await;
        let gateway = Gateway::start(200).await;
        let site = tempfile::tempdir().unwrap();
        World { double, gateway, site }
    }

    fn target(&self) -> Target {
        let mut t = Target::new(&self.double.url, Some(self.double.url.clone()), Some("127.0.0.1".into()), Some(self.site.path().to_owned()));
        t.service_ports.insert(8888, self.gateway.port);
        t
    }

    async fn check(&self, exercise: &str) -> ExerciseResult {
        run_exercise(&course_lab(), exercise, &self.target()).await.expect("checkable")
    }
}

fn criterion<'a>(r: &'a ExerciseResult, name: &str) -> &'a lab::checks::Criterion {
    r.criteria.iter().find(|c| c.name.starts_with(name)).unwrap_or_else(|| panic!("no criterion {name}: {r:#?}"))
}

fn assert_all(r: &ExerciseResult, status: Status) {
    for c in &r.criteria {
        assert_eq!(c.status, status, "{c:#?}");
    }
}

#[tokio::test]
async fn wolf3d_passes_in_both_api_shapes() {
    for shape in [Shape::V14, Shape::V15] {
        let world = World::new(shape).await;
        world.double.double.seed(wolf3d());
        let r = world.check("wolf3d").await;
        assert_eq!(r.status, Status::Passed, "{shape:?}: {r:#?}");
        assert_all(&r, Status::Passed);
        let names: Vec<&str> = r.criteria.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "app exists",
                "instances",
                "network",
                "port mapping 80 → 8888",
                "health check HTTP or MESOS_HTTP on /",
                "running tasks",
                "healthy tasks",
                "no pending deployment",
                "reachable on :8888/"
            ]
        );
        assert!(r.criteria.iter().all(|c| c.hint.is_none()), "no hints when passed");
    }
}

#[tokio::test]
async fn wolf3d_fails_when_network_is_host() {
    let world = World::new(Shape::V15).await;
    let mut app = wolf3d();
    app["container"]["docker"]["network"] = json!("HOST");
    app["container"]["docker"].as_object_mut().unwrap().remove("portMappings");
    app["ports"] = json!([8888]);
    world.double.double.seed(app);
    let r = world.check("wolf3d").await;
    assert_eq!(r.status, Status::Failed);
    let network = criterion(&r, "network");
    assert_eq!(network.status, Status::Failed);
    assert_eq!(network.message, "the app uses HOST networking (wanted: BRIDGE)");
    assert!(network.hint.as_deref().unwrap().contains("HOST"));
    let mapping = criterion(&r, "port mapping");
    assert_eq!(mapping.status, Status::Failed);
    assert!(mapping.message.contains("only HOST ports [8888]"), "{mapping:?}");
    assert!(!mapping.hint.as_deref().unwrap().contains("containerPort: 80"), "a hint, not the solution");
}

#[tokio::test]
async fn wolf3d_fails_on_a_wrong_service_port() {
    let world = World::new(Shape::V14).await;
    let mut app = wolf3d();
    app["container"]["docker"]["portMappings"][0]["servicePort"] = json!(9999);
    world.double.double.seed(app);
    let r = world.check("wolf3d").await;
    let mapping = criterion(&r, "port mapping");
    assert_eq!(mapping.status, Status::Failed);
    assert!(mapping.message.contains("containerPort 80 → servicePort 9999/tcp"), "{mapping:?}");
    assert!(mapping.hint.as_deref().unwrap().contains("it should be 8888"), "{mapping:?}");
}

#[tokio::test]
async fn wolf3d_fails_with_one_instance() {
    let world = World::new(Shape::V14).await;
    let mut app = wolf3d();
    app["instances"] = json!(1);
    world.double.double.seed(app);
    let r = world.check("wolf3d").await;
    assert_eq!(criterion(&r, "instances").status, Status::Failed);
    assert_eq!(criterion(&r, "instances").message, "instances is 1 (wanted: at least 2)");
    assert_eq!(criterion(&r, "running tasks").status, Status::Failed);
    assert_eq!(r.status, Status::Failed);
}

#[tokio::test]
async fn wolf3d_fails_when_tasks_are_unhealthy() {
    let world = World::new(Shape::V15).await;
    world.double.double.seed(wolf3d());
    world.double.double.set_healthy("/demo/wolf3d", false);
    world.gateway.answer(503);
    let r = world.check("wolf3d").await;
    assert_eq!(criterion(&r, "running tasks").status, Status::Passed);
    let healthy = criterion(&r, "healthy tasks");
    assert_eq!((healthy.status, healthy.message.as_str()), (Status::Failed, "0 healthy tasks (wanted: at least 2)"));
    assert_eq!(criterion(&r, "reachable").status, Status::Failed, "an unhealthy app is not a gateway delay");
}

#[tokio::test]
async fn wolf3d_is_pending_while_a_deployment_runs() {
    let world = World::new(Shape::V14).await;
    world.double.double.seed(wolf3d());
    let held = world.double.double.hold("/demo/wolf3d");
    let r = world.check("wolf3d").await;
    let deployment = criterion(&r, "no pending deployment");
    assert_eq!(deployment.status, Status::Pending);
    assert!(deployment.message.contains(&held));
    assert_eq!(r.status, Status::Pending, "not passed, not failed");
}

#[tokio::test]
async fn wolf3d_waits_for_a_silent_gateway_but_fails_an_unhealthy_app() {
    let world = World::new(Shape::V14).await;
    world.double.double.seed(wolf3d());
    let mut target = world.target();
    target.service_ports.insert(8888, silent_port());
    let r = run_exercise(&course_lab(), "wolf3d", &target).await.unwrap();
    let http = criterion(&r, "reachable");
    assert_eq!(http.status, Status::Pending, "the app is healthy: the gateway is catching up");
    assert!(http.message.contains("does not answer"), "{http:?}");
    assert!(http.hint.as_deref().unwrap().contains("--wait 90"));
    assert_eq!(r.status, Status::Pending);
}

#[tokio::test]
async fn wolf3d_without_the_app_says_what_is_missing() {
    let world = World::new(Shape::V14).await;
    world.double.double.seed(demo(3));
    let r = world.check("wolf3d").await;
    let exists = criterion(&r, "app exists");
    assert_eq!(exists.status, Status::Failed);
    assert_eq!(exists.message, "Marathon has no app running srenkens/wolfenstein3d (it runs: /demo/webapp)", "lists what runs");
    assert!(exists.hint.as_deref().unwrap().contains("site/wolf3d.yml"), "the author's hint replaces the default");
}

#[tokio::test]
async fn scale_demo_needs_the_file_and_the_app() {
    let world = World::new(Shape::V15).await;
    world.double.double.seed(demo(3));
    std::fs::write(world.site.path().join("demo-webapp.yml"), "service:\n  id: /demo/webapp\n  instances: 3\n").unwrap();
    let r = world.check("scale-demo").await;
    assert_eq!(r.status, Status::Failed);
    let file = criterion(&r, "site/demo-webapp.yml");
    assert_eq!((file.status, file.message.as_str()), (Status::Failed, "renders with instances is 3 (wanted 1)"));
    assert!(file.hint.as_deref().unwrap().contains("workspace copy"));
    assert_eq!(criterion(&r, "instances").message, "instances is 3 (wanted: 1)");

    std::fs::write(world.site.path().join("demo-webapp.yml"), "service:\n  id: /demo/webapp\n  instances: 1\n").unwrap();
    world.double.double.set_delay(Duration::from_millis(600));
    lab::marathon::Marathon::new(&world.double.url).put_app("/demo/webapp", &demo(1), false).await.unwrap();
    let pending = world.check("scale-demo").await;
    assert_eq!(pending.status, Status::Pending, "right after the change Marathon is still deploying: {pending:#?}");
    assert_eq!(criterion(&pending, "running tasks").status, Status::Pending, "3 tasks while scaling down is progress, not failure");
    tokio::time::sleep(Duration::from_millis(900)).await;
    let r = world.check("scale-demo").await;
    assert_eq!(r.status, Status::Passed, "{r:#?}");
}

#[tokio::test]
async fn a_broken_environment_is_reported_as_such() {
    let world = World::new(Shape::V14).await;
    world.double.double.seed(wolf3d());
    world.double.double.set_mesos(0, &[]);
    let r = world.check("wolf3d").await;
    assert_eq!(r.status, Status::Failed);
    let env = criterion(&r, "environment: Mesos agents");
    assert_eq!(env.status, Status::Failed);
    assert!(env.hint.as_deref().unwrap().contains("This is your stack, not your work"), "{env:?}");
    assert!(criterion(&r, "environment: Mesos framework marathon").message.contains("not registered"));
    assert_eq!(criterion(&r, "exercise").status, Status::Pending);
    assert_eq!(r.blocked_by.as_deref(), Some("stack-ready"));
    assert!(!r.criteria.iter().any(|c| c.name == "network"), "the student's work is not judged on a broken stack");
}

#[tokio::test]
async fn wolf3d_fails_on_a_wrong_health_check_path() {
    let world = World::new(Shape::V14).await;
    let mut app = wolf3d();
    app["healthChecks"][0]["path"] = json!("/_status");
    world.double.double.seed(app);
    let r = world.check("wolf3d").await;
    let hc = criterion(&r, "health check");
    assert_eq!((hc.status, hc.message.as_str()), (Status::Failed, "found HTTP on /_status"));
    assert!(hc.hint.as_deref().unwrap().contains("a page the app really serves"));
}

#[tokio::test]
async fn staged_tasks_fail_scale_demo() {
    let world = World::new(Shape::V15).await;
    world.double.double.seed(demo(1));
    std::fs::write(world.site.path().join("demo-webapp.yml"), "service:\n  id: /demo/webapp\n  instances: 1\n").unwrap();
    world.double.double.stage("/demo/webapp", 1);
    let r = world.check("scale-demo").await;
    assert_eq!(criterion(&r, "staged tasks").status, Status::Failed);
    assert_eq!(criterion(&r, "staged tasks").message, "1 staged tasks (wanted: 0)");
    assert_eq!(criterion(&r, "running tasks").status, Status::Failed);
}

#[tokio::test]
async fn an_unparsable_site_file_is_reported_with_its_position() {
    let world = World::new(Shape::V14).await;
    world.double.double.seed(demo(1));
    std::fs::write(world.site.path().join("demo-webapp.yml"), "service:\n  instances: [\n").unwrap();
    let r = world.check("scale-demo").await;
    let file = criterion(&r, "site/demo-webapp.yml");
    assert_eq!(file.status, Status::Failed);
    assert!(file.message.contains("site/demo-webapp.yml:2:"), "{file:?}");
}

#[tokio::test]
async fn scale_demo_judges_the_rendered_app_not_the_raw_keys() {
    let world = World::new(Shape::V15).await;
    world.double.double.seed(demo(1));
    let site = world.site.path();
    // The course's own teaching: an override, or instances from a globals.yml.
    std::fs::write(site.join("demo-webapp.yml"), "service:\n  id: /demo/webapp\n  instances: 3\noverride:\n  instances: 1\n").unwrap();
    let file = criterion(&world.check("scale-demo").await, "site/demo-webapp.yml").clone();
    assert_eq!((file.status, file.message.as_str()), (Status::Passed, "renders with instances = 1"), "{file:?}");

    std::fs::write(site.join("globals.yml"), "service:\n  instances: 1\n").unwrap();
    std::fs::write(site.join("demo-webapp.yml"), "service:\n  id: /demo/webapp\n").unwrap();
    assert_eq!(criterion(&world.check("scale-demo").await, "site/demo-webapp.yml").status, Status::Passed, "instances from globals.yml");

    std::fs::write(site.join("demo-webapp.yml"), "variables: {count: 1}\nservice:\n  id: /demo/webapp\n  instances: \"%{count}\"\n").unwrap();
    assert_eq!(criterion(&world.check("scale-demo").await, "site/demo-webapp.yml").status, Status::Passed, "a typed variable");

    std::fs::write(site.join("demo-webapp.yml"), "service:\n  id: /demo/webapp\n  instances: \"%{count}\"\n").unwrap();
    let file = criterion(&world.check("scale-demo").await, "site/demo-webapp.yml").clone();
    assert_eq!(file.status, Status::Failed);
    assert!(file.message.contains("site/demo-webapp.yml:3:15") && file.message.contains("`%{count}` is not defined"), "a file that does not render names file:line: {file:?}");
}

#[tokio::test]
async fn a_silent_mesos_master_is_an_environment_problem() {
    let world = World::new(Shape::V14).await;
    world.double.double.seed(wolf3d());
    let mut target = world.target();
    target.mesos = Some(format!("http://127.0.0.1:{}", silent_port()));
    let r = run_exercise(&course_lab(), "wolf3d", &target).await.unwrap();
    assert_eq!(r.blocked_by.as_deref(), Some("stack-ready"));
    assert!(criterion(&r, "environment: Mesos agents").message.contains("does not answer"), "{r:#?}");
}

#[tokio::test]
async fn a_redirect_counts_as_an_answer() {
    let world = World::new(Shape::V14).await;
    world.double.double.seed(wolf3d());
    world.gateway.answer(302);
    let r = world.check("wolf3d").await;
    let http = criterion(&r, "reachable");
    assert_eq!((http.status, http.message.contains("answered 302")), (Status::Passed, true), "{http:?}");
}

/// An exercise with only an http check: a silent port is a plain failure (no app to wait for),
/// and body text is checked.
#[tokio::test]
async fn http_only_exercises_fail_plainly_and_check_the_body() {
    let world = World::new(Shape::V14).await;
    let files = lab::course::Files::from_entries([
        ("labs/h/lab.yml".to_owned(), b"title: H
summary: s
steps: [a]
exercises:
  - id: web
    title: Web
    step: a
    checks:
      - kind: http
        service_port: 8888
        body_contains: Wolfenstein
  - id: other
    title: Other
    step: a
    checks:
      - kind: http
        service_port: 8888
        body_contains: Doom
".to_vec()),
        ("labs/h/steps/a.md".to_owned(), b"# A
".to_vec()),
    ]);
    let course = Course::from_files(&files);
    let lab = course.lab("h").unwrap().as_ref().unwrap();
    assert_eq!(run_exercise(lab, "web", &world.target()).await.unwrap().status, Status::Passed);
    let other = run_exercise(lab, "other", &world.target()).await.unwrap();
    assert!(criterion(&other, "reachable").message.contains("without the text “Doom”"), "{other:#?}");
    let mut target = world.target();
    target.service_ports.insert(8888, silent_port());
    let r = run_exercise(lab, "web", &target).await.unwrap();
    assert_eq!(r.status, Status::Failed, "nothing to wait for: {r:#?}");
}

#[tokio::test]
async fn marathon_down_cannot_be_checked() {
    let mut world = World::new(Shape::V14).await;
    world.double.stop();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let err = run_exercise(&course_lab(), "wolf3d", &world.target()).await.unwrap_err();
    assert!(matches!(err, CheckError::MarathonUnreachable { .. }), "{err}");
}

#[tokio::test]
async fn a_change_in_marathon_fires_a_recheck() {
    let world = World::new(Shape::V15).await;
    let (tx, mut rx) = tokio::sync::mpsc::channel(32);
    let lab = course_lab();
    let live = tokio::spawn(lab::checks::watch::run(Box::new(move || Some(lab.clone())), world.target(), Duration::from_secs(3600), tx));
    // The first pass: nothing deployed yet.
    let first = loop {
        let item = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.unwrap().unwrap();
        if item.exercise == "wolf3d" {
            break item.result.unwrap();
        }
    };
    assert_eq!(first.status, Status::Failed);
    // Deploying the app triggers events, and the re-check passes without anyone asking.
    lab::marathon::Marathon::new(&world.double.url).put_app("/demo/wolf3d", &wolf3d(), false).await.unwrap();
    let passed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let item = rx.recv().await.unwrap();
            if item.exercise == "wolf3d" && item.result.as_ref().is_ok_and(|r| r.status == Status::Passed) {
                return;
            }
        }
    })
    .await;
    assert!(passed.is_ok(), "the event-driven re-check saw wolf3d pass");
    live.abort();
}

/// wolf3d against responses shaped like Marathon's documented examples of each era.
async fn wolf3d_against(fixture: &str) -> ExerciseResult {
    let marathon = crate::support::canned::CannedMarathon::start(vec![crate::support::canned::fixture_app(fixture)]).await;
    let gateway = Gateway::start(200).await;
    let mut target = Target::new(&marathon.url, Some(marathon.url.clone()), Some("127.0.0.1".into()), None);
    target.service_ports.insert(8888, gateway.port);
    run_exercise(&course_lab(), "wolf3d", &target).await.expect("checkable")
}

#[tokio::test]
async fn wolf3d_passes_on_documented_responses_of_marathon_0_15_1_4_and_1_5() {
    for fixture in ["app-0.15.json", "app-1.4.json", "app-1.5.json"] {
        let r = wolf3d_against(fixture).await;
        assert_eq!(r.status, Status::Passed, "{fixture}: {r:#?}");
    }
}

#[tokio::test]
async fn a_task_without_state_is_staging_until_it_has_started() {
    let r = wolf3d_against("tasks-without-state.json").await;
    assert_eq!(r.status, Status::Failed, "{r:#?}");
    assert_eq!(criterion(&r, "running tasks").message, "1 running tasks (wanted: at least 2)");
    assert_eq!(criterion(&r, "healthy tasks").message, "1 healthy tasks (wanted: at least 2)");
}

#[tokio::test]
async fn docker_hub_spellings_and_udp_tcp_mappings_still_match() {
    let r = wolf3d_against("app-docker-io-image.json").await;
    assert_eq!(criterion(&r, "app exists").status, Status::Passed, "docker.io/srenkens/wolfenstein3d is the course's image: {r:#?}");
    let r = wolf3d_against("app-udp-tcp.json").await;
    let mapping = criterion(&r, "port mapping");
    assert_eq!(mapping.status, Status::Passed, "udp,tcp still maps 80 → 8888: {mapping:?}");
    assert_eq!(r.status, Status::Passed, "{r:#?}");
}
