//! The Kubernetes engine from the command line, without a cluster: `lab up --engine
//! kubernetes --dry-run` prints the translated manifests (or the refusals at their lines,
//! exit 2), and the flags that only make sense together say so.

use std::process::{Command, Output};

fn lab(args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_lab"))
        .env("LAB_HOME", home.path())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("LAB_CONTENT")
        .env_remove("LAB_ENGINE")
        .env_remove("LAB_PROJECT")
        .args(args)
        .output()
        .expect("run lab")
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

#[test]
fn dry_run_prints_the_course_stack_as_manifests() {
    let out = lab(&["up", "--engine", "kubernetes", "--dry-run", "--project", "lab-ann", "--namespace-prefix", "course-"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let yaml = text(&out.stdout);
    let kinds: Vec<&str> = yaml.lines().filter_map(|l| l.strip_prefix("kind: ")).collect();
    assert_eq!(kinds, ["Namespace", "Service", "Service", "Service", "Service", "Service", "NetworkPolicy", "Deployment"], "{yaml}");
    assert!(yaml.contains("name: course-lab-ann"), "the namespace has the prefix: {yaml}");
    assert!(yaml.contains("privileged: true") && yaml.contains("type: NodePort") && yaml.contains("name: box-published"), "{yaml}");
    // Nothing was sent anywhere: the kubeconfig does not exist.
}

#[test]
fn a_stack_with_no_translation_is_refused_at_its_lines_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stack.yml");
    std::fs::write(&file, "services:\n  web:\n    image: nginx\n    network_mode: host\n  db:\n    image: postgres\n    volumes:\n      - /srv/db:/var/lib/postgresql\n").unwrap();
    let out = lab(&["up", "--engine", "kubernetes", "--dry-run", "--stack", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("stack.yml:4:5") && err.contains("network_mode host"), "{err}");
    assert!(err.contains("stack.yml:7:5") && err.contains("bind-mounts `/srv/db`"), "both problems, each at its line: {err}");
    assert!(text(&out.stdout).is_empty(), "no half translation printed");
}

#[test]
fn the_flags_that_only_go_together_say_so() {
    let out = lab(&["up", "--dry-run"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("add --engine kubernetes"), "{}", text(&out.stderr));
    let out = lab(&["up", "--engine", "kubernetes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("lab serve --classroom --engine kubernetes"), "{}", text(&out.stderr));
    let out = lab(&["serve", "--engine", "kubernetes", "--addr", "127.0.0.1:0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("add --classroom"), "{}", text(&out.stderr));
}

#[test]
fn doctor_without_a_cluster_says_so_with_exit_2() {
    let out = lab(&["doctor", "--engine", "kubernetes", "--json", "--kubeconfig", "/nonexistent/kubeconfig"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_str(&text(&out.stdout)).expect("one JSON document");
    assert_eq!(report["checks"][0]["name"], "kubernetes");
    assert_eq!(report["checks"][0]["status"], "problem");
    assert!(report["checks"][0]["detail"].as_str().unwrap().contains("/nonexistent/kubeconfig"), "{report}");
}
