//! `lab pull` and `lab up` on a machine where nothing can be pulled (no registry is
//! reachable here, and `127.0.0.1:9` refuses at once): images already present are reported
//! as such and never pulled, failures end in one summary or one message naming every image
//! that could not be had and how to bring it in.

use std::process::{Command, Output};
use std::time::{Duration, Instant};
use crate::support::docker::{BUSYBOX, ProjectGuard, busybox_image, engine_or_skip};

/// An image on a registry that refuses connections immediately.
const UNREACHABLE: &str = "127.0.0.1:9/none/x:1";

fn lab(home: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lab"));
    cmd.env("LAB_HOME", home).env("LAB_STUDENT", "pull").env_remove("LAB_CONTENT").env_remove("LAB_PROJECT");
    cmd
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn stack_file(dir: &std::path::Path, images: &[&str]) -> std::path::PathBuf {
    let services: String = images.iter().enumerate().map(|(i, image)| format!("  s{i}:\n    image: {image}\n")).collect();
    let path = dir.join("stack.yml");
    std::fs::write(&path, format!("services:\n{services}")).unwrap();
    path
}

#[tokio::test]
async fn pull_reports_a_present_image_as_already_present() {
    let Some(engine) = engine_or_skip().await else { return };
    busybox_image(&engine).await;
    let home = tempfile::tempdir().unwrap();
    let stack = stack_file(home.path(), &[BUSYBOX]);
    let out = lab(home.path()).args(["pull", "--stack"]).arg(&stack).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("✓ already present  {BUSYBOX}")), "{stdout}");
    assert!(stdout.contains("1 image: 0 pulled, 1 already present, 0 failed"), "{stdout}");
    assert!(stdout.contains(&format!("docker save -o lab-images.tar {BUSYBOX}")), "how to take them offline: {stdout}");
    assert!(!text(&out).contains(&format!("pulling {BUSYBOX}")), "a present image is never pulled: {}", text(&out));
}

#[tokio::test]
async fn pull_from_an_unreachable_registry_fails_fast_naming_the_image() {
    let Some(engine) = engine_or_skip().await else { return };
    busybox_image(&engine).await;
    let home = tempfile::tempdir().unwrap();
    let stack = stack_file(home.path(), &[BUSYBOX, UNREACHABLE]);
    let started = Instant::now();
    let out = lab(home.path()).args(["pull", "--stack"]).arg(&stack).output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("✗ failed           {UNREACHABLE}\n")), "{stdout}");
    assert!(stdout.contains("connection refused"), "the engine's reason: {stdout}");
    assert!(stdout.contains(&format!("✓ already present  {BUSYBOX}")), "{stdout}");
    assert!(stdout.contains("2 images: 0 pulled, 1 already present, 1 failed"), "{stdout}");
    assert!(stdout.contains("No registry could be reached"), "{stdout}");
    assert!(stdout.contains(&format!("docker save -o lab-images.tar {UNREACHABLE}\n")), "{stdout}");
}

#[tokio::test]
async fn up_that_cannot_pull_says_so_once_and_names_every_missing_image() {
    let Some(engine) = engine_or_skip().await else { return };
    busybox_image(&engine).await;
    let guard = ProjectGuard::new("offline");
    let home = tempfile::tempdir().unwrap();
    let second = "127.0.0.1:9/none/y:1";
    let stack = stack_file(home.path(), &[BUSYBOX, UNREACHABLE, second]);
    let out = lab(home.path()).args(["up", "--project", &guard.project, "--stack"]).arg(&stack).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("error:").count(), 1, "one message, not one per image: {stderr}");
    assert!(stderr.contains("cannot get 2 images the stack needs, so nothing was started"), "{stderr}");
    assert!(stderr.contains(&format!("  {UNREACHABLE} (service s1)\n  {second} (service s2)\n")), "{stderr}");
    assert_eq!(stderr.matches("connection refused").count(), 1, "the shared reason is said once: {stderr}");
    assert_eq!(stderr.matches("No registry could be reached").count(), 1, "{stderr}");
    assert!(stderr.contains("`lab pull`") && stderr.contains("docker save") && stderr.contains("docker load -i lab-images.tar"), "{stderr}");
    assert!(!stderr.contains(&format!("pulling {BUSYBOX}")), "the present image is not pulled: {stderr}");
    let status = lab::stack::status::status(&engine, &guard.project).await.unwrap();
    assert!(!status.exists(), "nothing was started: {status:?}");
}
