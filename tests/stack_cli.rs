//! `lab up`, `lab status`, `lab logs` and `lab down` as a student runs them, including the
//! exit codes and the message when no engine answers.

mod support;

use std::process::{Command, Output};
use support::docker::{busybox_image, engine_or_skip, ProjectGuard};

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

    // A second `up` from a fresh process keeps everything.
    let out = lab(home.path()).args(["up", "--stack", FIXTURE, "--project", p, "--port-base", "22100"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).matches("unchanged").count() >= 4, "{}", text(&out));

    let out = lab(home.path()).args(["down", "--project", p, "--volumes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("4 containers, 1 networks, 1 volumes"), "{}", text(&out));

    let out = lab(home.path()).args(["status", "--project", p]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "not up is a 'no'");
    assert!(text(&out).contains("is not up. Start it with `lab up`"), "{}", text(&out));
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
fn an_invalid_stack_file_is_exit_2_with_its_position() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("stack.yml");
    std::fs::write(&file, "services:\n  web:\n    image: x\n    build: .\n").unwrap();
    let out = lab(home.path()).args(["up", "--stack"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let t = text(&out);
    assert!(t.contains("stack.yml:4:5: service `web`: key `build` is not supported by lab"), "{t}");
}
