//! `lab check` as a student runs it: exit codes (0 passed, 1 not passed, 2 could not
//! check), the JSON shape, the text report, `--wait`, `--all`, and results stored only when
//! they change.

use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;
use crate::support::marathon::{MarathonDouble, Shape};

fn demo(instances: u64) -> Value {
    json!({"id": "/demo/webapp", "instances": instances, "container": {"type": "DOCKER", "docker": {"image": "python:3.12-alpine", "network": "HOST"}},
        "ports": [1234], "healthChecks": [{"protocol": "HTTP", "path": "/"}]})
}

fn check(url: &str, dir: &Path, extra: &[&str]) -> Output {
    let site = dir.join("site");
    let db = dir.join("lab.db");
    Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(["check", "--marathon", url, "--mesos", url, "--host", "127.0.0.1"])
        .arg("--site")
        .arg(&site)
        .arg("--db")
        .arg(&db)
        .args(extra)
        .env("LAB_HOME", dir.join("home"))
        .env("LAB_STUDENT", "checker")
        .env_remove("LAB_CONTENT")
        .output()
        .expect("run lab")
}

async fn check_async(url: &str, dir: &Path, extra: &[&str]) -> Output {
    let (url, dir, extra) = (url.to_owned(), dir.to_owned(), extra.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    tokio::task::spawn_blocking(move || check(&url, &dir, &extra.iter().map(String::as_str).collect::<Vec<_>>())).await.unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn workspace(instances: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    crate::support::write_files(dir.path(), &[("site/demo-webapp.yml", &format!("service:\n  id: /demo/webapp\n  instances: {instances}\n"))]);
    dir
}

#[tokio::test]
async fn passing_is_exit_0_with_the_json_shape() {
    let double = MarathonDouble::start(Shape::V15, Duration::from_millis(20)).await;
    double.double.seed(demo(1));
    let dir = workspace(1);
    let out = check_async(&double.url, dir.path(), &["scale-demo", "--json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["exercise"], "scale-demo");
    assert_eq!(v["status"], "passed");
    let criteria = v["criteria"].as_array().unwrap();
    assert!(criteria.len() >= 5, "{v:#}");
    for c in criteria {
        let keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, vec!["name", "status", "message"], "no hint when passed: {c}");
        assert_eq!(c["status"], "passed");
    }
}

#[tokio::test]
async fn failing_is_exit_1_with_marks_and_hints() {
    let double = MarathonDouble::start(Shape::V14, Duration::from_millis(20)).await;
    double.double.seed(demo(3));
    let dir = workspace(3);
    let out = check_async(&double.url, dir.path(), &["scale-demo"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("✗ scale-demo — Scale the demo app down to one instance: NOT YET"), "{t}");
    assert!(t.contains("✗ site/demo-webapp.yml"), "{t}");
    assert!(t.contains("renders with instances is 3 (wanted 1)"), "{t}");
    assert!(t.contains("→ Change instances in site/demo-webapp.yml"), "{t}");
    assert!(t.contains("✓ app exists"), "{t}");
}

#[tokio::test]
async fn results_are_stored_only_when_they_change() {
    let double = MarathonDouble::start(Shape::V14, Duration::from_millis(20)).await;
    double.double.seed(demo(3));
    let dir = workspace(3);
    for _ in 0..3 {
        check_async(&double.url, dir.path(), &["scale-demo"]).await;
    }
    let store = lab::store::Store::open(&lab::store::DbLocation::File(dir.path().join("lab.db"))).await.unwrap();
    let student = store.student("checker").await.unwrap();
    assert_eq!(store.result_count(student, "mesos-marathon", "scale-demo").await.unwrap(), 1, "three identical checks, one row");
    std::fs::write(dir.path().join("site/demo-webapp.yml"), "service:\n  id: /demo/webapp\n  instances: 1\n").unwrap();
    check_async(&double.url, dir.path(), &["scale-demo"]).await;
    assert_eq!(store.result_count(student, "mesos-marathon", "scale-demo").await.unwrap(), 2);
    let latest = store.latest_results(student, "mesos-marathon").await.unwrap();
    assert_eq!(latest[0].exercise, "scale-demo");
}

#[tokio::test]
async fn wait_rechecks_until_it_passes() {
    let double = MarathonDouble::start(Shape::V14, Duration::from_millis(20)).await;
    double.double.seed(demo(3));
    let dir = workspace(1);
    double.double.set_delay(Duration::from_secs(3));
    lab::marathon::Marathon::new(&double.url).put_app("/demo/webapp", &demo(1), false).await.unwrap();
    let started = std::time::Instant::now();
    let out = check_async(&double.url, dir.path(), &["scale-demo", "--wait", "30"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(started.elapsed() >= Duration::from_secs(2), "it waited for the deployment");
    let out = check_async(&double.url, dir.path(), &["wolf3d", "--wait", "1"]).await;
    assert_eq!(out.status.code(), Some(1), "gives up after the time: {}", text(&out));
}

#[tokio::test]
async fn all_checks_every_exercise() {
    let double = MarathonDouble::start(Shape::V14, Duration::from_millis(20)).await;
    double.double.seed(demo(1));
    let dir = workspace(1);
    let out = check_async(&double.url, dir.path(), &["--all", "--json"]).await;
    assert_eq!(out.status.code(), Some(1), "wolf3d is not done: {}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let statuses: Vec<(&str, &str)> = v.as_array().unwrap().iter().map(|r| (r["exercise"].as_str().unwrap(), r["status"].as_str().unwrap())).collect();
    assert_eq!(statuses, vec![("stack-ready", "passed"), ("scale-demo", "passed"), ("wolf3d", "failed")]);
}

#[tokio::test]
async fn unknown_exercises_and_a_down_marathon_are_exit_2() {
    let mut double = MarathonDouble::start(Shape::V14, Duration::from_millis(20)).await;
    let dir = workspace(1);
    let out = check_async(&double.url, dir.path(), &["wolf4d"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no lab has an exercise `wolf4d`; the exercises are: stack-ready, scale-demo, wolf3d"), "{}", text(&out));
    let out = check_async(&double.url, dir.path(), &["wolf4d", "--lab", "mesos-marathon"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("its exercises are: stack-ready, scale-demo, wolf3d"), "{}", text(&out));

    let url = double.url.clone();
    double.stop();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let out = check_async(&url, dir.path(), &["wolf3d"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("Is your stack up?"), "{}", text(&out));
}

#[tokio::test]
async fn a_broken_environment_is_exit_2_and_marathon_alone_defaults_the_rest() {
    let double = MarathonDouble::start(Shape::V14, Duration::from_millis(20)).await;
    double.double.seed(demo(1));
    let dir = workspace(1);
    // Only --marathon: Mesos is looked for on the same host at :5050, where nothing answers.
    let (url, home) = (double.url.clone(), dir.path().to_owned());
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_lab")).args(["check", "scale-demo", "--marathon", &url, "--db", ":memory:"]).env("LAB_HOME", home.join("home")).output().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("environment: Mesos agents"), "{t}");
    assert!(t.contains("the Mesos master does not answer"), "{t}");
    assert!(t.contains("could not check: `stack-ready` does not pass"), "{t}");

    double.double.set_mesos(0, &["marathon"]);
    let out = check_async(&double.url, dir.path(), &["scale-demo", "--json"]).await;
    assert_eq!(out.status.code(), Some(2));
    // One document: the error object, with the results that show why.
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "not_ready", "{v}");
    assert_eq!(v["error"]["results"][0]["blockedBy"], "stack-ready", "{v}");
}

#[test]
fn an_invalid_lab_file_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    crate::support::write_files(dir.path(), &[("labs/x/lab.yml", "title: X\nsummary: s\nsteps: [a]\nexercises:\n  - id: e\n    title: E\n    step: a\n    checks:\n      - kind: http\n"), ("labs/x/steps/a.md", "# A\n")]);
    let out = Command::new(env!("CARGO_BIN_EXE_lab")).args(["check", "e", "--lab", "x", "--marathon", "http://127.0.0.1:9"]).arg("--content").arg(dir.path()).env("LAB_HOME", dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("labs/x/lab.yml:9:15: exercise `e`: a http check needs `service_port`"), "{}", text(&out));
}

#[tokio::test]
async fn a_moved_service_port_is_given_with_service_port() {
    let double = MarathonDouble::start(Shape::V15, Duration::from_millis(20)).await;
    double.double.seed(serde_json::json!({
        "id": "/demo/wolf3d", "instances": 2, "cpus": 0.1, "mem": 64,
        "container": {"type": "DOCKER", "docker": {"image": "srenkens/wolfenstein3d:latest", "network": "BRIDGE",
            "portMappings": [{"containerPort": 80, "servicePort": 8888}]}},
        "healthChecks": [{"protocol": "HTTP", "path": "/", "portIndex": 0}]
    }));
    let gateway = crate::support::gateway::Gateway::start(200).await;
    let dir = workspace(1);
    let (url, home, port) = (double.url.clone(), dir.path().to_owned(), gateway.port);
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_lab"))
            .args(["check", "wolf3d", "--marathon", &url, "--mesos", &url, "--host", "127.0.0.1", "--service-port", &format!("8888={port}"), "--json", "--db", ":memory:"])
            .env("LAB_HOME", home.join("home"))
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let reach = v["criteria"].as_array().unwrap().iter().find(|c| c["name"].as_str().unwrap_or("").starts_with("reachable")).unwrap();
    assert!(reach["message"].as_str().unwrap().contains(&format!(":{}/", gateway.port)), "{reach}");
    let bad = Command::new(env!("CARGO_BIN_EXE_lab")).args(["check", "wolf3d", "--service-port", "8888"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).contains("PORT=PUBLISHED"), "{}", text(&bad));
}

#[tokio::test]
async fn the_report_says_why_from_the_live_system() {
    let double = MarathonDouble::start(Shape::V15, Duration::from_millis(20)).await;
    double.double.seed(demo(1));
    let dir = tempfile::tempdir().unwrap();
    crate::support::write_files(dir.path(), &[("site/demo-webapp.yml", "service:\n  instances: [\n")]);
    let out = check_async(&double.url, dir.path(), &["scale-demo"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    let why = t.lines().find(|l| l.trim_start().starts_with("Why: ")).unwrap_or_else(|| panic!("no Why: line in {t}"));
    assert!(why.contains("site/demo-webapp.yml:2:"), "{t}");
    let json = check_async(&double.url, dir.path(), &["scale-demo", "--json"]).await;
    let v: Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let file = v["criteria"].as_array().unwrap().iter().find(|c| c["name"] == "site/demo-webapp.yml").expect("the file's criterion");
    assert!(file["diagnosis"].as_str().is_some_and(|d| d.starts_with("site/demo-webapp.yml:2:")), "{v:#}");
    assert!(v["criteria"].as_array().unwrap().iter().filter(|c| c["status"] == "passed").all(|c| c.get("diagnosis").is_none()), "{v:#}");
}
