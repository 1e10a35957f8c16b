//! Diagnoses of failing criteria against the Marathon test double, one per case the
//! built-in lab's `diagnoses.yml` explains: an image that cannot be pulled, a task that exits
//! at once, offers that do not fit (memory, ports), health checks refused or answered 404,
//! the gateway lagging behind a healthy app, a site file that does not render; none when
//! passing; and a lab without rules falling back to Marathon's own words.

use lab::checks::{Criterion, ExerciseResult, Status, Target, run_exercise};
use lab::course::{ContentSource, Course, Files, Lab};
use serde_json::{Value, json};
use std::time::Duration;
use crate::support::gateway::{Gateway, silent_port};
use crate::support::marathon::{MarathonDouble, Shape};

const PULL: &str = "Failed to launch container: Failed to run 'docker -H unix:///var/run/docker.sock pull srenkens/wolfenstein3d:nope': exited with status 1; stderr='Error response from daemon: manifest for srenkens/wolfenstein3d:nope not found: manifest unknown: manifest unknown'";
const EXIT: &str = "Container exited with status 1";

fn course_lab(keep: impl Fn(&str) -> bool) -> Lab {
    let files = ContentSource::Embedded.read().unwrap();
    let kept = Files::from_entries(files.paths().filter(|p| keep(p)).filter_map(|p| Some((p.to_owned(), files.bytes(p)?.to_vec()))));
    Course::from_files(&kept).lab("mesos-marathon").unwrap().as_ref().unwrap().clone()
}

fn wolf3d() -> Value {
    json!({
        "id": "/demo/wolf3d", "instances": 2, "cpus": 0.1, "mem": 64,
        "container": {"type": "DOCKER", "docker": {"image": "srenkens/wolfenstein3d:nope", "network": "BRIDGE",
            "portMappings": [{"containerPort": 80, "hostPort": 0, "servicePort": 8888}]}},
        "healthChecks": [{"protocol": "HTTP", "path": "/", "portIndex": 0}]
    })
}

struct World {
    double: MarathonDouble,
    site: tempfile::TempDir,
    gateway_port: u16,
    lab: Lab,
}

impl World {
    async fn new() -> World {
        World::with_lab(course_lab(|_| true)).await
    }

    async fn with_lab(lab: Lab) -> World {
        let double = MarathonDouble::start(Shape::V15, Duration::from_millis(20)).await;
        World { double, site: tempfile::tempdir().unwrap(), gateway_port: silent_port(), lab }
    }

    async fn check(&self, exercise: &str) -> ExerciseResult {
        let mut t = Target::new(&self.double.url, Some(self.double.url.clone()), Some("127.0.0.1".into()), Some(self.site.path().to_owned()));
        t.service_ports.insert(8888, self.gateway_port);
        run_exercise(&self.lab, exercise, &t).await.expect("checkable")
    }

    /// Deploys `app` through Marathon's API and waits until `ready` holds for it.
    async fn deploy(&self, app: Value, ready: impl Fn(&Value) -> bool) {
        let id = app["id"].as_str().unwrap().to_owned();
        lab::marathon::Marathon::new(&self.double.url).put_app(&id, &app, false).await.unwrap();
        for _ in 0..100 {
            if self.double.double.app(&id).is_some_and(|a| ready(&a)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{id} never got ready: {:?}", self.double.double.app(&id));
    }

    async fn deploy_failing(&self, message: &str) {
        self.double.double.fail_tasks("/demo/wolf3d", message);
        self.deploy(wolf3d(), |a| a.get("lastTaskFailure").is_some()).await;
    }
}

fn criterion<'a>(r: &'a ExerciseResult, name: &str) -> &'a Criterion {
    r.criteria.iter().find(|c| c.name.starts_with(name)).unwrap_or_else(|| panic!("no criterion {name}: {r:#?}"))
}

fn why<'a>(r: &'a ExerciseResult, name: &str) -> &'a str {
    let c = criterion(r, name);
    assert_ne!(c.status, Status::Passed, "{c:#?}");
    c.diagnosis.as_deref().unwrap_or_else(|| panic!("no diagnosis: {c:#?}"))
}

#[tokio::test]
async fn an_image_that_cannot_be_pulled() {
    let world = World::new().await;
    world.deploy_failing(PULL).await;
    let r = world.check("wolf3d").await;
    let why = why(&r, "running tasks");
    assert!(why.starts_with("Mesos could not pull the image srenkens/wolfenstein3d:nope: Failed to launch container"), "{why}");
    assert!(why.contains("manifest unknown") && why.contains("Check the image name and tag"), "{why}");
    assert_eq!(r, world.check("wolf3d").await, "read again, the same result: nothing in it counts or ages");
}

#[tokio::test]
async fn a_task_that_exits_right_away() {
    let world = World::new().await;
    world.deploy_failing(EXIT).await;
    let r = world.check("wolf3d").await;
    let why = why(&r, "running tasks");
    assert!(why.starts_with("The container stops as soon as it starts (Container exited with status 1); Marathon keeps restarting it"), "{why}");
    assert!(why.contains("stderr"), "{why}");
}

#[tokio::test]
async fn no_offer_has_the_memory() {
    let world = World::new().await;
    world.double.double.decline_offers("/demo/wolf3d", "InsufficientMemory");
    let mut app = wolf3d();
    app["mem"] = json!(4096);
    world.deploy(app, |a| !a["deployments"].as_array().unwrap().is_empty()).await;
    let r = world.check("wolf3d").await;
    let why = why(&r, "running tasks");
    assert!(why.starts_with("No agent has 4096 MB of memory free for a task of /demo/wolf3d"), "{why}");
    assert_eq!(criterion(&r, "healthy tasks").diagnosis.as_deref(), Some(why), "the same cause for every count that is short");
}

#[tokio::test]
async fn no_offer_has_the_ports() {
    let world = World::new().await;
    world.double.double.decline_offers("/demo/wolf3d", "InsufficientPorts");
    let mut app = wolf3d();
    app["container"]["docker"]["portMappings"][0]["hostPort"] = json!(8080);
    world.deploy(app, |a| !a["deployments"].as_array().unwrap().is_empty()).await;
    let why = why(&world.check("wolf3d").await, "running tasks").to_owned();
    assert!(why.contains("host ports it asks for (fixed: 8080)"), "{why}");
}

#[tokio::test]
async fn a_health_check_that_gets_no_connection() {
    let world = World::new().await;
    world.double.double.seed(wolf3d());
    world.double.double.fail_health("/demo/wolf3d", "Tcp command [Connect(localhost:31000,None,List(),Some(20 seconds),true)] failed because of java.net.ConnectException: Connection refused");
    let r = world.check("wolf3d").await;
    let why = why(&r, "healthy tasks");
    assert!(why.starts_with("The health check on / gets no connection"), "{why}");
    assert!(criterion(&r, "reachable").diagnosis.as_deref().is_some_and(|d| d.contains("no connection")), "the service port fails for the same reason: {r:#?}");
}

#[tokio::test]
async fn a_health_check_answered_404_on_its_path() {
    let world = World::new().await;
    let mut app = wolf3d();
    app["healthChecks"][0]["path"] = json!("/health");
    world.double.double.seed(app);
    world.double.double.fail_health("/demo/wolf3d", "404 Not Found");
    let r = world.check("wolf3d").await;
    assert!(why(&r, "healthy tasks").starts_with("The health check asks for /health, and the app answers 404 Not Found there."), "{r:#?}");
    assert_eq!(criterion(&r, "health check").diagnosis, None, "a wrong definition is the message's to say, not the live system's");
}

#[tokio::test]
async fn the_gateway_not_serving_the_port_yet_while_the_app_is_healthy() {
    let mut world = World::new().await;
    world.double.double.seed(wolf3d());
    let r = world.check("wolf3d").await;
    let reachable = criterion(&r, "reachable");
    assert_eq!(reachable.status, Status::Pending);
    let why = reachable.diagnosis.as_deref().unwrap_or_default();
    assert!(why.starts_with("Your app is healthy, but the gateway does not serve port 8888 yet (connection refused)."), "{why}");

    let gateway = Gateway::start(502).await;
    world.gateway_port = gateway.port;
    let why = criterion(&world.check("wolf3d").await, "reachable").diagnosis.clone().unwrap_or_default();
    assert!(why.contains("does not serve port 8888 yet (it answered 502)"), "{why}");
}

#[tokio::test]
async fn a_site_file_that_does_not_render() {
    let world = World::new().await;
    std::fs::write(world.site.path().join("demo-webapp.yml"), "service:\n  instances: [\n").unwrap();
    let file = why(&world.check("scale-demo").await, "site/demo-webapp.yml").to_owned();
    assert!(file.starts_with("site/demo-webapp.yml:2:") && file.contains("lab deploy --dry-run site/demo-webapp.yml"), "{file}");

    std::fs::write(world.site.path().join("wolf3d.yml"), "service:\n  id: /demo/wolf3d\n  instances: \"%{count}\"\n").unwrap();
    let r = world.check("wolf3d").await;
    let app = why(&r, "app exists");
    assert!(app.starts_with("site/wolf3d.yml:3:") && app.contains("`%{count}` is not defined"), "the file that would create the app: {app}");
}

#[tokio::test]
async fn no_diagnosis_when_the_criterion_passes() {
    let mut world = World::new().await;
    let gateway = Gateway::start(200).await;
    world.gateway_port = gateway.port;
    world.double.double.seed(wolf3d());
    let r = world.check("wolf3d").await;
    assert_eq!(r.status, Status::Passed, "{r:#?}");
    assert!(r.criteria.iter().all(|c| c.diagnosis.is_none()), "{r:#?}");
    let requests = world.double.double.requests();
    assert!(requests.iter().all(|q| q.path != "/v2/queue"), "the queue is asked only to diagnose");
}

#[tokio::test]
async fn a_lab_without_rules_falls_back_to_marathons_words() {
    let lab = course_lab(|p| !p.ends_with("/diagnoses.yml"));
    assert!(lab.diagnoses.rules.is_empty());
    let world = World::with_lab(lab).await;
    world.deploy_failing(PULL).await;
    let r = world.check("wolf3d").await;
    assert_eq!(why(&r, "running tasks"), format!("Marathon's last task failure (TASK_FAILED): {PULL}"));
}
