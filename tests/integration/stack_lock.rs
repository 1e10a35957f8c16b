//! Two `lab up` of one project at once: one runs, the other says another is running (or
//! waits for it with --wait); the project is left sound (one network of its name) and the
//! next `up` works; a lock held by a killed `up` blocks nobody; and a duplicate network left
//! by an older race is cleaned up rather than making every `up` fail as "ambiguous".
//! Against the real engine; skips (with the reason) outside CI when none is reachable.

use lab::stack::plan::{ProjectOptions, labels, plan};
use lab::stack::{Engine, Quiet, StackError, UpOptions, up};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use crate::support::docker::{ProjectGuard, busybox_image, engine_or_skip};

/// An `up` of this stack lasts a few seconds: app waits for db, which is healthy after 2s.
const STACK: &str = "services:\n  db:\n    image: lab-test/busybox:2\n    command: sh -c 'sleep 2; touch /tmp/ready; exec sleep 3600'\n    healthcheck: {test: [CMD, test, -f, /tmp/ready], interval: 200ms, retries: 100}\n    stop_grace_period: 1s\n  app:\n    image: lab-test/busybox:2\n    command: sleep 3600\n    depends_on: {db: {condition: service_healthy}}\n    stop_grace_period: 1s\n";

fn lab(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lab"));
    cmd.env("LAB_HOME", home).env("LAB_STUDENT", "cli").env_remove("LAB_CONTENT").env_remove("LAB_PROJECT");
    cmd
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn spawn_up(home: &Path, file: &Path, project: &str, extra: &[&str]) -> Child {
    lab(home).args(["up", "--project", project, "--stack"]).arg(file).args(extra).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("lab up starts")
}

/// Waits until the child holds the project's lock (its pid is in a lock file).
fn wait_for_lock(home: &Path, child: &Child) {
    let mine = format!("pid {},", child.id());
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let held = std::fs::read_dir(home.join("locks")).into_iter().flatten().flatten().any(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains(&mine)));
        if held {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("lab up (pid {}) never took the lock", child.id());
}

async fn networks_named(engine: &Engine, name: &str) -> usize {
    let all = engine.docker().list_networks(None::<bollard::query_parameters::ListNetworksOptions>).await.unwrap();
    all.iter().filter(|n| n.name.as_deref() == Some(name)).count()
}

fn stack_file(dir: &Path) -> PathBuf {
    let file = dir.join("stack.yml");
    std::fs::write(&file, STACK).unwrap();
    file
}

#[tokio::test]
async fn two_ups_at_once_leave_one_running_one_told_and_the_project_sound() {
    let Some(engine) = engine_or_skip().await else { return };
    busybox_image(&engine).await;
    let guard = ProjectGuard::new("lock-cli");
    let p = guard.project.as_str();
    let home = tempfile::tempdir().unwrap();
    let file = stack_file(home.path());

    let (a, b) = (spawn_up(home.path(), &file, p, &[]), spawn_up(home.path(), &file, p, &[]));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let codes = [a.status.code(), b.status.code()];
    assert!(codes.contains(&Some(0)) && codes.contains(&Some(2)), "one runs, one is told: {codes:?}\n{}\n---\n{}", text(&a), text(&b));
    let told = if a.status.code() == Some(2) { &a } else { &b };
    let message = text(told);
    assert!(message.contains(&format!("another lab up or down is running for project {p} (lab up, pid ")), "{message}");
    assert!(message.contains("--wait"), "{message}");
    assert!(!message.contains("already exists"), "no false 'name taken': {message}");
    assert_eq!(networks_named(&engine, &format!("{p}_default")).await, 1, "exactly one network of that name");

    // The next `up` works.
    let third = lab(home.path()).args(["up", "--project", p, "--stack"]).arg(&file).output().unwrap();
    assert_eq!(third.status.code(), Some(0), "{}", text(&third));

    // With --wait, the second waits for the first and then does its own work.
    let changed = STACK.replace("command: sleep 3600\n", "command: sleep 3601\n");
    std::fs::write(&file, &changed).unwrap();
    let first = spawn_up(home.path(), &file, p, &[]);
    wait_for_lock(home.path(), &first);
    let second = lab(home.path()).args(["up", "--wait", "--project", p, "--stack"]).arg(&file).output().unwrap();
    let first = first.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    assert!(text(&second).contains(&format!("waiting for another lab up or down of project {p} to finish (lab up, pid ")), "{}", text(&second));
    assert_eq!(networks_named(&engine, &format!("{p}_default")).await, 1);
}

#[tokio::test]
async fn a_lock_held_by_a_killed_up_does_not_block_the_next() {
    let Some(engine) = engine_or_skip().await else { return };
    busybox_image(&engine).await;
    let guard = ProjectGuard::new("lock-kill");
    let p = guard.project.as_str();
    let home = tempfile::tempdir().unwrap();
    let file = stack_file(home.path());

    let mut victim = spawn_up(home.path(), &file, p, &[]);
    wait_for_lock(home.path(), &victim);
    victim.kill().expect("kill -9 the up holding the lock");
    victim.wait().unwrap();

    let next = lab(home.path()).args(["up", "--project", p, "--stack"]).arg(&file).output().unwrap();
    assert_eq!(next.status.code(), Some(0), "{}", text(&next));
    assert!(!text(&next).contains("another lab up"), "{}", text(&next));
    assert_eq!(networks_named(&engine, &format!("{p}_default")).await, 1);
}

fn options(project: &str) -> ProjectOptions {
    ProjectOptions {
        project: project.to_owned(),
        student: "tess".into(),
        port_base: None,
        stack_dir: ".".into(),
        host: "127.0.0.1".into(),
        lab: None,
        workspace: None,
        env: HashMap::new(),
    }
}

#[tokio::test]
async fn two_ups_in_one_process_are_serialised_too() {
    let Some(engine) = engine_or_skip().await else { return };
    busybox_image(&engine).await;
    let guard = ProjectGuard::new("lock-tasks");
    let plan = plan("stack.yml", STACK, &options(&guard.project)).unwrap();
    let options = UpOptions::default();
    let (a, b) = tokio::join!(up(&engine, &plan, &Quiet, &options), up(&engine, &plan, &Quiet, &options));
    let busy = [&a, &b].iter().filter(|r| matches!(r, Err(StackError::Busy { .. }))).count();
    assert_eq!((busy, a.is_ok() || b.is_ok()), (1, true), "{a:?}\n{b:?}");
    let waiting = UpOptions { lock: lab::stack::lock::LockWait::Wait(Some(Duration::from_secs(120))), ..UpOptions::default() };
    let (a, b) = tokio::join!(up(&engine, &plan, &Quiet, &waiting), up(&engine, &plan, &Quiet, &waiting));
    a.expect("first");
    b.expect("second, after waiting");
}

#[tokio::test]
async fn a_duplicate_network_left_by_a_race_is_removed_and_up_works() {
    let Some(engine) = engine_or_skip().await else { return };
    busybox_image(&engine).await;
    let guard = ProjectGuard::new("lock-dup");
    let p = guard.project.as_str();
    let plan = plan("stack.yml", STACK, &options(p)).unwrap();
    up(&engine, &plan, &Quiet, &UpOptions::default()).await.expect("first up");

    // What two racing `up`s used to leave: a second network of the same name, labelled
    // for the project. The engine makes it (API 1.41 only warns).
    let name = format!("{p}_default");
    let request = bollard::models::NetworkCreateRequest {
        name: name.clone(),
        labels: Some(HashMap::from([(labels::PROJECT.to_owned(), p.to_owned()), (labels::NAME.to_owned(), "default".to_owned())])),
        ..Default::default()
    };
    engine.docker().create_network(request).await.expect("a duplicate network");
    assert_eq!(networks_named(&engine, &name).await, 2);

    let report = up(&engine, &plan, &Quiet, &UpOptions::default()).await.expect("up despite the duplicate");
    assert_eq!(networks_named(&engine, &name).await, 1, "{report:?}");
    assert!(lab::stack::status::status(&engine, p).await.unwrap().all_running());
    // Restarting a container on that name works again (it failed as "ambiguous").
    engine.docker().restart_container(&format!("{p}-app"), None).await.expect("restart on a single network");

    // A container off the network lab keeps (here disconnected by hand; the same as one on
    // a removed duplicate) is recreated, whatever its hash says.
    let request = bollard::models::NetworkDisconnectRequest { container: format!("{p}-app"), force: Some(true) };
    engine.docker().disconnect_network(&name, request).await.expect("disconnect app");
    let report = up(&engine, &plan, &Quiet, &UpOptions::default()).await.expect("up reattaches");
    let app = report.actions.iter().find(|(s, _)| s == "app").map(|(_, a)| *a);
    assert_eq!(app, Some(lab::stack::Action::Recreated), "{report:?}");
    let inspected = engine.docker().inspect_container(&format!("{p}-app"), None).await.unwrap();
    assert!(inspected.network_settings.and_then(|n| n.networks).is_some_and(|n| n.contains_key(&name)), "app is on {name} again");
}
