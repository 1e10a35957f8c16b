//! `lab doctor` against this machine's engine, as a newcomer runs it: the JSON structure,
//! a port the test holds itself reported as taken (with the fix), a port held by the
//! student's own running stack counted as fine, missing and present images, the privileged
//! probe leaving nothing behind, and exit 2 when no engine answers.

use serde_json::Value;
use std::process::{Command, Output, Stdio};
use crate::support::docker::{BUSYBOX, ProjectGuard, busybox_image, engine_or_skip};

fn lab(home: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lab"));
    cmd.env("LAB_HOME", home).env("LAB_STUDENT", "doctor").env_remove("LAB_CONTENT").env_remove("LAB_PROJECT");
    cmd
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The check called `name` in a `--json` report.
fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"].as_array().and_then(|c| c.iter().find(|c| c["name"] == name)).unwrap_or_else(|| panic!("no check {name} in {report:#}"))
}

/// A free port, found by binding port 0 (the listener is dropped).
fn free_port() -> u16 {
    std::net::TcpListener::bind("0.0.0.0:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn doctor_json_reports_the_engine_a_taken_port_and_a_missing_image() {
    let Some(engine) = engine_or_skip().await else { return };
    busybox_image(&engine).await;
    let home = tempfile::tempdir().unwrap();
    // Held by this test for as long as doctor runs: someone else's program.
    let held = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let taken = held.local_addr().unwrap().port();
    let free = free_port();
    let stack = home.path().join("stack.yml");
    std::fs::write(
        &stack,
        format!("x-lab:\n  memory: 1m\n  ports: {{web: {taken}, api: {free}}}\nservices:\n  app:\n    image: {BUSYBOX}\n  gone:\n    image: lab-test/not-there:1\n"),
    )
    .unwrap();

    let child = lab(home.path()).args(["doctor", "--json", "--stack"]).arg(&stack).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "a taken port is a problem: {}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    for c in report["checks"].as_array().unwrap() {
        assert!(c["name"].is_string() && c["detail"].is_string(), "{c}");
        assert!(["ok", "warning", "problem"].contains(&c["status"].as_str().unwrap()), "{c}");
        assert_eq!(c["fix"].is_null(), c["status"] == "ok", "a fix exactly when not ok: {c}");
    }

    let docker = check(&report, "docker");
    assert_eq!(docker["status"], "ok");
    let detail = docker["detail"].as_str().unwrap();
    assert!(detail.starts_with("Docker ") && detail.contains(" negotiated"), "{detail}");
    assert!(check(&report, "cgroup")["detail"].as_str().unwrap().starts_with("cgroup v"), "{report:#}");
    let privileged = check(&report, "privileged containers");
    assert_ne!(privileged["status"], "problem", "this stack needs no privileged container: {privileged}");
    assert_eq!(check(&report, "memory")["status"], "ok", "1m fits anywhere: {report:#}");
    assert_eq!(check(&report, "stack file")["status"], "ok");

    let port = check(&report, &format!("port {taken} (web)"));
    assert_eq!(port["status"], "problem", "{port}");
    assert!(port["detail"].as_str().unwrap().contains("taken"), "{port}");
    assert!(port["fix"].as_str().unwrap().contains("--port-base"), "{port}");
    assert_eq!(check(&report, &format!("port {free} (api)"))["status"], "ok");

    let missing = check(&report, "image lab-test/not-there:1");
    assert_eq!(missing["status"], "warning", "{missing}");
    assert!(missing["detail"].as_str().unwrap().starts_with("missing"), "{missing}");
    let fix = missing["fix"].as_str().unwrap();
    assert!(fix.contains("lab pull") && fix.contains("docker load"), "{fix}");
    assert_eq!(check(&report, &format!("image {BUSYBOX}"))["status"], "ok");

    // The privileged probe's container (named after doctor's process) is gone.
    let probe = format!("lab-doctor-privileged-{pid}");
    let found = engine.docker().inspect_container(&probe, None).await;
    assert!(found.as_ref().is_err_and(lab::stack::engine::is_not_found), "{probe} was left behind: {found:?}");
    drop(held);
}

#[tokio::test]
async fn doctor_counts_ports_of_the_students_own_running_stack_as_fine_and_reports_privileged() {
    let Some(engine) = engine_or_skip().await else { return };
    busybox_image(&engine).await;
    let guard = ProjectGuard::new("doctor");
    let home = tempfile::tempdir().unwrap();
    let base = free_port();
    let stack = home.path().join("stack.yml");
    std::fs::write(
        &stack,
        format!("x-lab:\n  ports: {{web: 8000}}\nservices:\n  web:\n    image: {BUSYBOX}\n    command: sleep 600\n    ports: [\"${{LAB_PORT_WEB}}:80\"]\n  box:\n    image: {BUSYBOX}\n    privileged: true\n"),
    )
    .unwrap();
    // Only the web service is started: the box would need a privileged container.
    let web_only = home.path().join("web.yml");
    std::fs::write(&web_only, format!("x-lab:\n  ports: {{web: 8000}}\nservices:\n  web:\n    image: {BUSYBOX}\n    command: sleep 600\n    stop_grace_period: 1s\n    ports: [\"${{LAB_PORT_WEB}}:80\"]\n")).unwrap();
    let base_s = base.to_string();
    let out = lab(home.path()).args(["up", "--project", &guard.project, "--port-base", &base_s, "--stack"]).arg(&web_only).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let out = lab(home.path()).args(["doctor", "--project", &guard.project, "--port-base", &base_s, "--stack"]).arg(&stack).output().unwrap();
    let t = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(t.contains(&format!("✓ port {base} (web)")) && t.contains("your own running stack"), "{}", text(&out));
    assert!(t.lines().next().is_some_and(|l| l.starts_with("✓ docker")), "{t}");
    let privileged = t.lines().find(|l| l.contains("privileged containers")).unwrap_or_default();
    if privileged.starts_with('✗') {
        // This engine refuses them, and the stack's box needs one: the fix says what to use.
        assert_eq!(out.status.code(), Some(1), "{t}");
        assert!(t.contains("box service needs a privileged container") && t.contains("rootful Docker") && t.contains("Kubernetes"), "{t}");
    } else {
        assert!(privileged.starts_with('✓') || privileged.starts_with('!'), "{t}");
    }
    // The other project's port is someone else's: another project sees it taken by that stack.
    let out = lab(home.path()).args(["doctor", "--json", "--project", "someone-else", "--port-base", &base_s, "--stack"]).arg(&web_only).output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    let port = check(&report, &format!("port {base} (web)"));
    assert_eq!(port["status"], "problem", "{port}");
    assert!(port["fix"].as_str().unwrap().contains(&format!("lab down --project {}", guard.project)), "{port}");
}

#[test]
fn doctor_without_an_engine_exits_2_and_says_where_it_looked() {
    let home = tempfile::tempdir().unwrap();
    let out = lab(home.path()).args(["doctor", "--json"]).env("DOCKER_HOST", "unix:///nonexistent/docker.sock").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    let docker = check(&report, "docker");
    assert_eq!(docker["status"], "problem");
    assert!(docker["detail"].as_str().unwrap().contains("unix:///nonexistent/docker.sock (DOCKER_HOST)"), "{docker}");
    assert!(docker["fix"].as_str().unwrap().contains("DOCKER_HOST"), "{docker}");
    assert_eq!(check(&report, "stack file")["status"], "ok", "the lab's own stack file still reads: {report:#}");
}

#[test]
fn a_stack_file_that_does_not_read_is_a_finding_with_its_line() {
    let home = tempfile::tempdir().unwrap();
    let stack = home.path().join("stack.yml");
    std::fs::write(&stack, "x-lab:\n  memory: lots\nservices:\n  a: {image: x}\n").unwrap();
    // Without an engine too: the file's check does not depend on one.
    let out = lab(home.path()).args(["doctor", "--stack"]).arg(&stack).env("DOCKER_HOST", "unix:///nonexistent/docker.sock").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = String::from_utf8_lossy(&out.stdout);
    assert!(t.contains("✗ stack file") && t.contains("stack.yml:2:1: x-lab.memory: `lots` is not a size like 512m or 2g"), "{t}");
    assert!(t.contains("    → write how much memory the stack needs, e.g. `memory: 2g`"), "{t}");
}
