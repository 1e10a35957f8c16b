//! `lab up`, `lab status`, `lab logs` and `lab down` as a student runs them, including the
//! exit codes, the message when no engine answers, every problem of a broken stack file,
//! and Compose v1 files with built services.

use std::process::{Command, Output};
use crate::support::docker::{busybox_image, engine_or_skip, ProjectGuard};

fn lab(home: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lab"));
    cmd.env("LAB_HOME", home).env("LAB_STUDENT", "cli").env_remove("LAB_CONTENT").env_remove("LAB_PROJECT");
    cmd
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/stack/stack.yml");

#[tokio::test]
async fn up_status_logs_down_round_trip() {
    let Some(engine) = engine_or_skip().await else { return };
    busybox_image(&engine).await;
    let guard = ProjectGuard::new("cli");
    let home = tempfile::tempdir().unwrap();
    let p = guard.project.as_str();

    let out = lab(home.path()).args(["up", "--stack", FIXTURE, "--project", p, "--port-base", "22100"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("db       running (healthy)"), "{stdout}");
    assert!(stdout.contains("22100→80/tcp, 22101→81/tcp"), "{stdout}");
    assert!(stdout.contains("Web page  http://localhost:22100/"), "{stdout}");
    assert!(stdout.contains(&format!("workspace: {}", home.path().join("workspaces").join(p).display())), "{stdout}");

    let out = lab(home.path()).args(["status", "--project", p, "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status --json is JSON");
    assert_eq!(json["running"], true);
    assert_eq!(json["student"], "cli");
    assert_eq!(json["services"].as_array().unwrap().len(), 4);
    assert_eq!(json["endpoints"]["web"], "http://localhost:22100");

    let out = lab(home.path()).args(["logs", "--project", p, "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("has no service nope (it has: "), "{}", text(&out));
    let out = lab(home.path()).args(["logs", "--project", p, "db"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // A second `up` from a fresh process keeps everything; with --json its progress stays
    // on stderr and stdout is one document: the state as `status --json`, plus `removed`.
    let out = lab(home.path()).args(["up", "--stack", FIXTURE, "--project", p, "--port-base", "22100", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).matches("unchanged").count() >= 4, "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("up --json is one JSON document");
    assert_eq!(json["project"], p);
    assert_eq!(json["running"], true);
    assert_eq!(json["services"].as_array().unwrap().len(), 4);
    assert_eq!(json["endpoints"]["web"], "http://localhost:22100");
    assert_eq!(json["removed"], serde_json::json!([]));
    assert!(json["site"].is_null(), "a stack file without a lab deploys no site: {json}");
    assert!(json["workspace"].as_str().is_some_and(|w| w.ends_with(p)), "{json}");

    let out = lab(home.path()).args(["down", "--project", p, "--volumes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("4 containers, 1 networks, 1 volumes"), "{}", text(&out));

    let out = lab(home.path()).args(["status", "--project", p]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "not up is a 'no'");
    assert!(text(&out).contains("is not up. Start it with `lab up`"), "{}", text(&out));

    let out = lab(home.path()).args(["down", "--project", p, "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("down --json is JSON");
    assert_eq!(json, serde_json::json!({"project": p, "containers": [], "networks": [], "volumes": []}), "a second down removes nothing");
    let out = lab(home.path()).args(["status", "--project", p, "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status --json is JSON");
    assert_eq!((json["project"].as_str(), json["running"].as_bool(), json["services"].as_array().map(Vec::len)), (Some(p), Some(false), Some(0)), "{json}");
}

#[test]
fn no_engine_means_exit_2_and_what_to_do() {
    let home = tempfile::tempdir().unwrap();
    for args in [vec!["up", "--stack", FIXTURE], vec!["status"], vec!["down"]] {
        let out = lab(home.path()).args(&args).env("DOCKER_HOST", "unix:///nonexistent/docker.sock").output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let t = text(&out);
        assert!(t.contains("cannot reach the Docker engine at unix:///nonexistent/docker.sock"), "{t}");
        assert!(t.contains("Is Docker running?"), "{t}");
    }
}

#[test]
fn an_invalid_stack_file_reports_every_problem_with_its_position() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("stack.yml");
    std::fs::write(&file, "services:\n  web:\n    image: x\n    colour: blue\n    restart: sometimes\n  db:\n    image: y\n    healthcheck: {intervall: 5s}\n").unwrap();
    let out = lab(home.path()).args(["up", "--stack"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let t = text(&out);
    assert!(t.contains("3 problems in "), "{t}");
    for line in [
        "stack.yml:4:5: service `web`: key `colour` is not supported by lab",
        "stack.yml:5:14: service `web`: restart `sometimes` is not one of",
        "stack.yml:8:19: service `db`: key `intervall` is not supported here",
    ] {
        assert_eq!(t.lines().filter(|l| l.contains(line)).count(), 1, "{line:?} on a line of its own:\n{t}");
    }
}

#[test]
fn the_courses_original_v1_file_is_accepted() {
    let home = tempfile::tempdir().unwrap();
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/stack/cursus-docker/docker-compose.yml");
    let out = lab(home.path()).args(["up", "--stack", file]).env("DOCKER_HOST", "unix:///nonexistent/docker.sock").output().unwrap();
    let t = text(&out);
    assert!(t.contains("docker-compose.yml has no `services:` key: read as a Compose v1 file"), "{t}");
    assert!(t.contains("cannot reach the Docker engine"), "the file is sound; only the engine is missing: {t}");
    assert_eq!(out.status.code(), Some(2));
}

/// A Compose v1 file with a built service that links to another under an alias.
const V1_STACK: &str = "x-lab:\n  ports:\n    web: 18090\nweb:\n  build: web\n  dockerfile: Dockerfile.lab\n  links: ['db:database']\n  ports: ['${LAB_PORT_WEB}:80']\n  stop_grace_period: 1s\ndb:\n  image: lab-test/busybox:2\n  command: sh -c 'mkdir -p /www && echo from db > /www/index.html && exec httpd -f -p 80 -h /www'\n  stop_grace_period: 1s\n";

const V1_DOCKERFILE: &str = "FROM lab-test/busybox:2\nCOPY page.txt /page.txt\nCMD [\"sh\", \"-c\", \"mkdir -p /www; for i in $(seq 50); do wget -qO /www/db.txt http://database/ && break; sleep 0.2; done; cat /page.txt /www/db.txt > /www/index.html; exec httpd -f -p 80 -h /www\"]\n";

async fn http_get(url: &str) -> String {
    let client = lab::net::client_builder().timeout(std::time::Duration::from_secs(5)).build().unwrap();
    for _ in 0..100 {
        if let Ok(res) = client.get(url).send().await
            && res.status().is_success()
        {
            return res.text().await.unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{url} did not answer");
}

#[tokio::test]
async fn a_v1_file_with_build_and_links_comes_up() {
    let Some(engine) = engine_or_skip().await else { return };
    busybox_image(&engine).await;
    let guard = ProjectGuard::new("cliv1");
    let home = tempfile::tempdir().unwrap();
    let stack = tempfile::tempdir().unwrap();
    std::fs::create_dir(stack.path().join("web")).unwrap();
    std::fs::write(stack.path().join("web/Dockerfile.lab"), V1_DOCKERFILE).unwrap();
    std::fs::write(stack.path().join("web/page.txt"), "web page\n").unwrap();
    let file = stack.path().join("docker-compose.yml");
    std::fs::write(&file, V1_STACK).unwrap();
    let p = guard.project.as_str();

    let out = lab(home.path()).args(["up", "--project", p, "--port-base", "22300", "--stack"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("read as a Compose v1 file"), "{stderr}");
    assert!(stderr.contains(&format!("building {p}-web for service web")), "{stderr}");
    assert!(stderr.contains(" : FROM lab-test/busybox:2"), "{stderr}");
    assert!(stderr.contains(&format!("built {p}-web")), "{stderr}");
    assert_eq!(http_get("http://127.0.0.1:22300/").await, "web page\nfrom db\n", "built image, published port, link alias");

    let out = lab(home.path()).args(["up", "--project", p, "--port-base", "22300", "--stack"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("building"), "an unchanged context is not rebuilt: {stderr}");
    assert!(stderr.matches("unchanged").count() >= 2, "{stderr}");

    let out = lab(home.path()).args(["down", "--project", p]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}
