//! What every command shares, as a script or a person meets it: `--json` documents and the
//! JSON error object, help that shows each command's own options, `lab check`'s usage,
//! exit 2 for broken content, one message per failure, no colour codes in piped logs, and
//! the generated shell completions and man pages.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;
use crate::support::marathon::{MarathonDouble, Shape};

/// Nothing answers on the discard port of loopback.
const DEAD_MARATHON: &str = "http://127.0.0.1:9";

/// lab with a temporary home, no engine and no inherited course or log settings.
fn lab(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lab"));
    cmd.env("LAB_HOME", home)
        .env("LAB_STUDENT", "conventions")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env_remove("LAB_CONTENT")
        .env_remove("LAB_MARATHON")
        .env_remove("LAB_PROJECT")
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR");
    cmd
}

fn run(args: &[&str]) -> (Output, tempfile::TempDir) {
    let home = tempfile::tempdir().unwrap();
    let out = lab(home.path()).args(args).output().expect("run lab");
    (out, home)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// stdout as exactly one JSON document (serde_json refuses trailing documents).
fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {}\nstderr: {}", stdout(o), stderr(o)))
}

/// The demo course with a lab whose lab.yml has a misspelt key.
fn broken_course() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    crate::support::write_files(dir.path(), crate::support::DEMO_LAB);
    crate::support::write_files(dir.path(), &[("labs/bad/lab.yml", "title: x\nsumary: y\nsteps: [a]\n")]);
    dir
}

/// A site folder with one lighter-format app.
fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    crate::support::write_files(dir.path(), &[("site/web.yml", "service:\n  id: /demo/web\n  instances: 1\n  cpus: 0.1\n  container:\n    docker: {image: \"nginx:alpine\", network: BRIDGE}\n")]);
    dir
}

/// The error object: `{"error": {"message", "kind", ...}}`, and nothing else at the top.
fn error_of(o: &Output) -> serde_json::Map<String, Value> {
    let doc = json(o);
    let top = doc.as_object().expect("an object");
    assert_eq!(top.keys().collect::<Vec<_>>(), vec!["error"], "{doc}");
    let error = top["error"].as_object().expect("error is an object").clone();
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{doc}");
    error
}

#[test]
fn labs_json_lists_labs_with_their_exercises() {
    let (out, _home) = run(&["labs", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["errors"], serde_json::json!([]));
    let labs = doc["labs"].as_array().expect("labs is an array");
    let lab = labs.iter().find(|l| l["id"] == "mesos-marathon").expect("the built-in lab is listed");
    assert!(lab["title"].as_str().is_some_and(|t| !t.is_empty()), "{lab}");
    assert!(lab["steps"].as_u64().is_some_and(|n| n > 0), "{lab}");
    assert!(lab.get("deck").is_some(), "{lab}");
    let exercises: Vec<&str> = lab["exercises"].as_array().unwrap().iter().filter_map(|e| e["id"].as_str()).collect();
    assert!(exercises.contains(&"scale-demo") && exercises.contains(&"wolf3d"), "{exercises:?}");
}

#[test]
fn labs_on_broken_content_exits_2_with_the_problem_listed_once() {
    let course = broken_course();
    let content = course.path().to_str().unwrap();
    let (out, _home) = run(&["labs", "--content", content, "--json"]);
    assert_eq!(out.status.code(), Some(2), "broken content is 'could not do it'");
    let doc = json(&out);
    assert_eq!(doc["errors"].as_array().map(Vec::len), Some(1), "{doc}");
    assert_eq!(doc["errors"][0]["what"], "lab");
    assert_eq!(doc["errors"][0]["id"], "bad");
    assert!(doc["errors"][0]["message"].as_str().unwrap().contains("labs/bad/lab.yml:2:1: unknown field `sumary`"), "{doc}");
    assert_eq!(doc["labs"][0]["id"], "demo", "the good lab is still listed: {doc}");

    let (out, _home) = run(&["labs", "--content", content]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out).matches("unknown field `sumary`").count(), 1, "{}", stdout(&out));
    assert!(stderr(&out).contains("the course has 1 broken file"), "{}", stderr(&out));
}

#[test]
fn content_before_the_command_still_works() {
    let course = broken_course();
    let home = tempfile::tempdir().unwrap();
    let out = lab(home.path()).arg("--content").arg(course.path()).arg("labs").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stdout(&out).contains("demo  Demo lab"), "{}", stdout(&out));
}

#[test]
fn each_command_shows_only_its_own_options() {
    let help = |args: &[&str]| {
        let (out, _home) = run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    for command in [&["down"][..], &["status"], &["logs"], &["deploy"], &["watch"], &["secrets"], &["completions"], &["man"]] {
        let text = help(&[command, &["--help"]].concat());
        assert!(!text.contains("--content"), "{command:?} does not read the course: {text}");
    }
    for command in [&["labs"][..], &["up"], &["doctor"], &["pull"], &["check"], &["class", "export"]] {
        let text = help(&[command, &["--help"]].concat());
        assert!(text.contains("--content <DIR>"), "{command:?} reads the course: {text}");
        assert!(!text.contains("Serve course content"), "{command:?} serves nothing: {text}");
    }
    let serve = help(&["serve", "--help"]);
    assert!(serve.contains("--content <DIR>") && serve.contains("Serve course content"), "{serve}");
    for command in ["labs", "up", "down", "status", "deploy", "check", "doctor"] {
        assert!(help(&[command, "--help"]).contains("--json"), "{command} has --json");
    }
}

#[test]
fn check_usage_names_all() {
    let (out, _home) = run(&["check", "--help"]);
    assert!(stdout(&out).contains("Usage: lab check [OPTIONS] <EXERCISE|--all>"), "{}", stdout(&out));
    let (out, _home) = run(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("<EXERCISE|--all>"), "{}", stderr(&out));
}

#[test]
fn json_failures_print_an_error_object_with_the_same_exit_code() {
    // A usage error.
    let (out, _home) = run(&["check", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let error = error_of(&out);
    assert_eq!(error["kind"], "usage");
    assert!(error["message"].as_str().unwrap().contains("required arguments were not provided: <EXERCISE"), "{error:?}");

    // No Docker engine.
    for command in [&["status", "--json"][..], &["down", "--json"]] {
        let (plain, _home) = run(&command[..1]);
        let (out, _home) = run(command);
        assert_eq!(out.status.code(), plain.status.code(), "{command:?}");
        assert_eq!(out.status.code(), Some(2), "{command:?}");
        let error = error_of(&out);
        assert_eq!(error["kind"], "unreachable", "{command:?}");
        assert!(error["message"].as_str().unwrap().contains("cannot reach the Docker engine"), "{error:?}");
    }

    // An invalid stack file: found before any engine is asked.
    let dir = tempfile::tempdir().unwrap();
    crate::support::write_files(dir.path(), &[("stack.yml", "services:\n  web:\n    image: nginx\n    ports: [\"not a port\"]\n")]);
    let stack = dir.path().join("stack.yml");
    let home = tempfile::tempdir().unwrap();
    let out = lab(home.path()).args(["up", "--json", "--stack"]).arg(&stack).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(error_of(&out)["kind"], "content", "{}", stdout(&out));

    // Unreachable Marathon, for check and deploy (which also carries the per-file results).
    let (out, _home) = run(&["check", "scale-demo", "--marathon", DEAD_MARATHON, "--db", ":memory:", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(error_of(&out)["kind"], "unreachable");
    let site = site();
    let home = tempfile::tempdir().unwrap();
    let out = lab(home.path()).args(["deploy", "--marathon", DEAD_MARATHON, "--json"]).arg(site.path().join("site")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let error = error_of(&out);
    assert_eq!(error["kind"], "unreachable");
    assert_eq!(error["results"].as_array().map(Vec::len), Some(1), "{error:?}");
}

#[tokio::test]
async fn deploy_json_is_marathon_and_results_and_dry_run_is_the_apps() {
    let double = MarathonDouble::start(Shape::V14, Duration::from_millis(10)).await;
    let site = site();
    let (url, dir) = (double.url.clone(), site.path().join("site"));
    let out = tokio::task::spawn_blocking(move || {
        let home = tempfile::tempdir().unwrap();
        lab(home.path()).args(["deploy", "--marathon", &url, "--json"]).arg(&dir).output().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["marathon"], double.url.as_str());
    let results = doc["results"].as_array().expect("results");
    assert_eq!(results.len(), 1);
    assert_eq!((results[0]["app"].as_str(), results[0]["outcome"].as_str()), (Some("/demo/web"), Some("deployed")), "{doc}");

    let home = tempfile::tempdir().unwrap();
    let out = lab(home.path()).args(["deploy", "--dry-run", "--json"]).arg(site.path().join("site")).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let apps = json(&out);
    assert_eq!(apps.as_array().map(|a| a.iter().map(|app| app["id"].clone()).collect::<Vec<_>>()), Some(vec![Value::from("/demo/web")]), "{apps}");
}

#[test]
fn an_unreachable_marathon_is_reported_once() {
    let site = site();
    crate::support::write_files(site.path(), &[("site/other.yml", "service:\n  id: /demo/other\n  instances: 1\n  container:\n    docker: {image: \"nginx:alpine\"}\n")]);
    let needle = format!("cannot reach Marathon at {DEAD_MARATHON}");
    let home = tempfile::tempdir().unwrap();
    let out = lab(home.path()).args(["deploy", "--marathon", DEAD_MARATHON]).arg(site.path().join("site")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out).matches(&needle).count(), 1, "{}", stderr(&out));
    assert_eq!(stdout(&out), "", "deploy reports on stderr");

    let (out, _home) = run(&["check", "scale-demo", "--marathon", DEAD_MARATHON, "--db", ":memory:"]);
    assert_eq!(out.status.code(), Some(2));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert_eq!(all.matches(&format!("Marathon at {DEAD_MARATHON}")).count(), 1, "{all}");
}

#[test]
fn logs_carry_no_colour_codes_when_stderr_is_piped() {
    let course = broken_course();
    let home = tempfile::tempdir().unwrap();
    // Choosing a lab warns about the broken one through the log.
    let out = lab(home.path()).args(["check", "--all", "--marathon", DEAD_MARATHON, "--content"]).arg(course.path()).output().unwrap();
    let err = stderr(&out);
    assert!(err.contains("WARN") && err.contains("unknown field `sumary`"), "a log line is written: {err}");
    assert!(!err.contains("\x1b["), "no ANSI escapes: {err:?}");
}

#[test]
fn completions_for_bash_zsh_and_fish_know_the_commands() {
    for shell in ["bash", "zsh", "fish"] {
        let (out, _home) = run(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        for word in ["deploy", "check", "--json", "--all"] {
            assert!(script.contains(word), "{shell} completion mentions {word}");
        }
    }
    let (out, _home) = run(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2), "an unknown shell is a usage error");
}

#[test]
fn the_man_pages_are_roff_that_renders() {
    let (out, _home) = run(&["man"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let page = stdout(&out);
    assert!(page.starts_with(".ie") || page.contains(".TH lab"), "{}", &page[..page.len().min(300)]);
    assert!(page.contains(".SH NAME") && page.contains("deploy") && page.contains("completions"), "{page}");

    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = lab(home.path()).args(["man", "--out"]).arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let check = std::fs::read_to_string(dir.path().join("lab-check.1")).expect("a page per command");
    assert!(check.contains("EXERCISE") && check.contains("\\-\\-all"), "{check}");
    assert!(dir.path().join("lab.1").is_file() && dir.path().join("lab-class-export.1").is_file());

    match Command::new("groff").args(["-man", "-Tutf8", "-z", "-ww"]).arg(dir.path().join("lab-check.1")).output() {
        Ok(rendered) => {
            assert!(rendered.status.success(), "{}", String::from_utf8_lossy(&rendered.stderr));
            assert_eq!(String::from_utf8_lossy(&rendered.stderr), "", "groff has no warnings");
        }
        Err(e) => crate::support::skip_or_fail("groff", &e.to_string()),
    }
}
