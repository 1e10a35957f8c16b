//! `lab deploy` against the Marathon test double: mixed good and broken files, unchanged
//! files left alone, JSON apps created then updated, 409 retried with force, 422 mapped to
//! the student's line, dry runs, and an unreachable Marathon.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;
use crate::support::marathon::{MarathonDouble, Shape};

fn lab(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(args)
        .current_dir(cwd)
        .env("LAB_HOME", cwd.join(".home"))
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env_remove("LAB_MARATHON")
        .output()
        .expect("run lab")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const GOOD: &str = "service:\n  id: /demo/webapp\n  instances: 3\n  cpus: 0.1\n  container:\n    docker: {image: \"python:3.12-alpine\", network: HOST}\n  ports: [1234]\n";
const REJECTED: &str = "service:\n  id: /demo/wolf3d\n  instances: 2\n  container:\n    type: DOCKER\n    docker:\n      image: srenkens/wolfenstein3d\n      network: BRIDGE\n      portMappings:\n        - containerPort: 80\n          servicePort: 88888\n";
const BROKEN: &str = "service:\n  id: /demo/broken\n  instances: [\n";
const JSON_APP: &str = r#"{"id": "/myproduct/rabbitmq", "instances": 1, "cpus": 0.2, "container": {"type": "DOCKER", "docker": {"image": "rabbitmq:3"}}}"#;

fn site(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    crate::support::write_files(dir.path(), files);
    dir
}

#[tokio::test]
async fn one_broken_or_rejected_file_never_blocks_the_others() {
    let double = MarathonDouble::start(Shape::V14, Duration::from_millis(20)).await;
    let dir = site(&[
        ("site/globals.yml", "service:\n  labels: {course: test}\n"),
        ("site/a-broken.yml", BROKEN),
        ("site/b-rejected.yml", REJECTED),
        ("site/c-good.yml", GOOD),
        ("site/d-rabbit.json", JSON_APP),
    ]);
    let out = tokio::task::spawn_blocking({
        let (url, path) = (double.url.clone(), dir.path().to_owned());
        move || lab(&["deploy", "--marathon", &url, "--json", "site"], &path)
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "some files failed: {}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("--json output");
    assert_eq!(doc["marathon"], double.url.as_str());
    let results = doc["results"].as_array().unwrap();
    let summary: Vec<(&str, &str)> = results.iter().map(|r| (r["file"].as_str().unwrap(), r["outcome"].as_str().unwrap())).collect();
    assert_eq!(
        summary,
        vec![("site/a-broken.yml", "failed"), ("site/b-rejected.yml", "failed"), ("site/c-good.yml", "deployed"), ("site/d-rabbit.json", "deployed")],
        "globals.yml is never a target; folders expand sorted"
    );
    assert!(results[0]["location"].as_str().unwrap().starts_with("site/a-broken.yml:3:"), "{}", results[0]);
    assert_eq!(results[1]["location"], "site/b-rejected.yml:11:24", "the 422 points at servicePort: 88888");
    assert!(results[1]["error"].as_str().unwrap().contains("container.docker.portMappings[0].servicePort"), "{}", results[1]);
    assert_eq!(results[1]["line"], "          servicePort: 88888", "the offending line is quoted");
    assert_eq!(results[0]["line"], "  instances: [", "{}", results[0]);
    assert!(results[2]["deploymentId"].as_str().is_some_and(|d| !d.is_empty()));

    let writes = double.double.writes();
    let calls: Vec<(String, String)> = writes.iter().map(|w| (w.method.clone(), w.path.clone())).collect();
    assert_eq!(
        calls,
        vec![("PUT".into(), "/v2/apps/demo/wolf3d".into()), ("PUT".into(), "/v2/apps/demo/webapp".into()), ("POST".into(), "/v2/apps".into())],
        "the broken file is never sent; YAML uses PUT, JSON uses POST"
    );
    assert_eq!(writes[1].body["labels"]["course"], "test", "globals were merged");
    assert!(writes[1].body["labels"]["lab.checksum"].is_string());
}

#[tokio::test]
async fn unchanged_files_are_not_redeployed_and_json_apps_update_in_place() {
    let double = MarathonDouble::start(Shape::V15, Duration::from_millis(20)).await;
    let dir = site(&[("site/app.yml", GOOD), ("site/rabbit.json", JSON_APP)]);
    let run = |dir: &Path, url: &str| lab(&["deploy", "--marathon", url, "site"], dir);
    let (url, path) = (double.url.clone(), dir.path().to_owned());
    let first = tokio::task::spawn_blocking({
        let (u, p) = (url.clone(), path.clone());
        move || run(&p, &u)
    })
    .await
    .unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    tokio::time::sleep(Duration::from_millis(100)).await;

    let second = tokio::task::spawn_blocking({
        let (u, p) = (url.clone(), path.clone());
        move || run(&p, &u)
    })
    .await
    .unwrap();
    assert_eq!(second.status.code(), Some(0));
    assert_eq!(stderr(&second).matches("= unchanged").count(), 2, "{}", stderr(&second));
    assert_eq!(double.double.writes().len(), 2, "nothing new was sent");

    std::fs::write(path.join("site/rabbit.json"), JSON_APP.replace("\"instances\": 1", "\"instances\": 2")).unwrap();
    let third = tokio::task::spawn_blocking(move || run(&path, &url)).await.unwrap();
    assert_eq!(third.status.code(), Some(0), "{}", stderr(&third));
    let writes = double.double.writes();
    let last_two: Vec<(String, String)> = writes[2..].iter().map(|w| (w.method.clone(), w.path.clone())).collect();
    assert_eq!(last_two, vec![("POST".into(), "/v2/apps".into()), ("PUT".into(), "/v2/apps/myproduct/rabbitmq".into())], "POST finds it exists, so it is updated");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(double.double.app("/myproduct/rabbitmq").unwrap()["instances"], 2);
}

#[tokio::test]
async fn a_locked_app_is_retried_with_force() {
    let double = MarathonDouble::start(Shape::V14, Duration::from_millis(20)).await;
    double.double.seed(serde_json::json!({"id": "/demo/webapp", "instances": 3}));
    double.double.hold("/demo/webapp");
    let dir = site(&[("site/app.yml", GOOD)]);
    let (url, path) = (double.url.clone(), dir.path().to_owned());
    let out = tokio::task::spawn_blocking(move || lab(&["deploy", "--marathon", &url, "site/app.yml"], &path)).await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let queries: Vec<String> = double.double.writes().iter().map(|w| w.query.clone()).collect();
    assert_eq!(queries, vec!["".to_owned(), "force=true".to_owned()]);
}

#[tokio::test]
async fn a_rejected_change_keeps_the_running_version() {
    let double = MarathonDouble::start(Shape::V14, Duration::from_millis(20)).await;
    let good = REJECTED.replace("88888", "8888");
    let dir = site(&[("site/wolf3d.yml", &good)]);
    let (url, path) = (double.url.clone(), dir.path().to_owned());
    let out = tokio::task::spawn_blocking({
        let (u, p) = (url.clone(), path.clone());
        move || lab(&["deploy", "--marathon", &u, "site"], &p)
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::write(path.join("site/wolf3d.yml"), REJECTED.replace("instances: 2", "instances: 5")).unwrap();
    let out = tokio::task::spawn_blocking(move || lab(&["deploy", "--marathon", &url, "site"], &path)).await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("site/wolf3d.yml:11:24: Marathon rejected container.docker.portMappings[0].servicePort"), "{}", stderr(&out));
    assert_eq!(double.double.app("/demo/wolf3d").unwrap()["instances"], 2, "the running version stays");
}

#[tokio::test]
async fn dry_run_prints_rendered_apps_in_argument_order_and_sends_nothing() {
    let double = MarathonDouble::start(Shape::V14, Duration::from_millis(20)).await;
    let dir = site(&[("site/globals.yml", "variables: {n: 2}\n"), ("site/b.yml", "service: {id: /b, instances: \"%{n}\"}\n"), ("site/a.yml", "service: {id: /a}\n"), ("z.json", r#"{"id": "/z"}"#)]);
    let (url, path) = (double.url.clone(), dir.path().to_owned());
    let out = tokio::task::spawn_blocking(move || lab(&["deploy", "--marathon", &url, "--dry-run", "z.json", "site"], &path)).await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let apps: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = apps.as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["/z", "/a", "/b"]);
    assert_eq!(apps[2]["instances"], 2);
    assert!(double.double.requests().is_empty(), "a dry run sends nothing");
}

#[test]
fn an_unreachable_marathon_is_exit_2_with_the_reason() {
    let dir = site(&[("site/app.yml", GOOD)]);
    let out = lab(&["deploy", "--marathon", "http://127.0.0.1:9", "site"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot reach Marathon at http://127.0.0.1:9"), "{}", stderr(&out));
    assert!(stderr(&out).contains("lab up"), "{}", stderr(&out));
    let out = lab(&["deploy", "--marathon", "http://127.0.0.1:9", "nothing-here"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nothing-here does not exist"), "{}", stderr(&out));
}
