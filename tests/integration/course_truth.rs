//! The course tells the truth: what the slides and steps say about the deployed apps
//! matches the files in `labs/mesos-marathon/site/`, rendered exactly as `lab deploy`
//! renders them. The YAML examples in the text are compared value by value with the
//! rendered apps, the facts stated in prose are checked one by one, the course's own
//! wolf3d solution passes the wolf3d check, and nothing still describes the original
//! course's demo image (see the lab README for why it changed).

use lab::marathon::deploy::{collect, render_all};
use lab::marathon::site::ProcessEnv;
use lab::marathon::yaml::Node;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use crate::support::gateway::Gateway;
use crate::support::marathon::{MarathonDouble, Shape};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_owned()
}

/// The lab's starting site, rendered: app id → app.
fn site() -> BTreeMap<String, Value> {
    let files = collect(&[root().join("labs/mesos-marathon/site")]).expect("the site folder");
    render_all(&files, &ProcessEnv).into_iter().map(|(f, r)| r.unwrap_or_else(|e| panic!("{}: {e}", f.display))).map(|r| (r.id, r.app)).collect()
}

/// Slides and steps: (path, text).
fn course_texts() -> Vec<(String, String)> {
    let mut out = vec![("slides/mesos-marathon.md".to_owned(), std::fs::read_to_string(root().join("slides/mesos-marathon.md")).expect("deck"))];
    let steps = root().join("labs/mesos-marathon/steps");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&steps).expect("steps").map(|e| e.expect("entry").path()).collect();
    names.sort();
    for path in names {
        let shown = format!("labs/mesos-marathon/steps/{}", path.file_name().expect("name").to_string_lossy());
        out.push((shown, std::fs::read_to_string(&path).expect("step")));
    }
    out
}

/// ```yaml blocks of a text (a fence indented inside a list item sets the indentation).
fn yaml_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match &mut current {
            None if trimmed.starts_with("```yaml") => current = Some((indent, String::new())),
            Some((_, block)) if trimmed.starts_with("```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some((fence, block)) => {
                block.push_str(line.get((*fence).min(indent)..).unwrap_or(""));
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// Every leaf of `value` with its JSON pointer.
fn leaves(value: &Value, pointer: String, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| leaves(v, format!("{pointer}/{k}"), out)),
        Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| leaves(v, format!("{pointer}/{i}"), out)),
        other => out.push((pointer, other.clone())),
    }
}

#[test]
fn the_site_deploys_the_apps_the_course_names() {
    let apps = site();
    let ids: Vec<&str> = apps.keys().map(String::as_str).collect();
    assert_eq!(ids, vec!["/demo/webapp", "/myproduct/mysubsystem/rabbitmq"]);
}

#[test]
fn yaml_examples_of_the_demo_show_what_the_site_deploys() {
    let apps = site();
    let demo = &apps["/demo/webapp"];
    let raw = Node::parse("demo-webapp.yml", &std::fs::read_to_string(root().join("labs/mesos-marathon/site/demo-webapp.yml")).expect("file")).expect("parses").to_json();
    let mut compared = 0;
    let mut wrong = Vec::new();
    for (file, text) in course_texts() {
        for block in yaml_blocks(&text).into_iter().filter(|b| b.contains("/demo/webapp")) {
            let shown = Node::parse(&file, &block).unwrap_or_else(|e| panic!("a YAML example in {file} does not parse: {e}")).to_json();
            let mut found = Vec::new();
            leaves(&shown, String::new(), &mut found);
            for (pointer, value) in found {
                // Shortened values ("... exec python3 ...") and elided sections are not claims.
                if value.is_null() || value.as_str().is_some_and(|s| s.contains("...")) {
                    continue;
                }
                let actual = match pointer.strip_prefix("/service") {
                    Some(rest) => demo.pointer(rest),
                    None => raw.pointer(&pointer),
                };
                compared += 1;
                if actual != Some(&value) {
                    wrong.push(format!("{file}: {pointer} is {value} in the text, {} in the site", actual.map_or("missing".into(), Value::to_string)));
                }
            }
        }
    }
    assert!(compared >= 12, "the slides and the step both show the demo's file ({compared} values compared)");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn facts_stated_in_prose_hold_for_the_rendered_site() {
    let apps = site();
    let demo = &apps["/demo/webapp"];
    let texts: BTreeMap<String, String> = course_texts().into_iter().collect();
    let groups: Vec<&str> = apps.keys().filter_map(|id| id.split('/').nth(1)).collect();
    let facts: Vec<(&str, &str, bool)> = vec![
        ("slides/mesos-marathon.md", "Three instances, HTTP health check, HOST networking", demo["instances"] == 3 && demo["healthChecks"][0]["protocol"] == "HTTP" && demo["container"]["docker"]["network"] == "HOST"),
        ("slides/mesos-marathon.md", "a health check on `/`", demo["healthChecks"][0]["path"] == "/"),
        ("slides/mesos-marathon.md", "change `instances: 3` to `instances: 1`", demo["instances"] == 3),
        ("slides/mesos-marathon.md", "{{ url:demo }} | the demo app", demo["ports"] == serde_json::json!([1234])),
        ("labs/mesos-marathon/steps/explore-the-uis.md", "two groups: `demo` and `myproduct`", groups == ["demo", "myproduct"]),
        ("labs/mesos-marathon/steps/explore-the-uis.md", "**service port** 1234", demo["ports"] == serde_json::json!([1234])),
        (
            "labs/mesos-marathon/steps/explore-the-uis.md",
            "`Hello from the demo app: task",
            demo["cmd"].as_str().is_some_and(|c| c.contains("Hello from the demo app: task $MESOS_TASK_ID on port $PORT0")),
        ),
        ("labs/mesos-marathon/steps/find-the-site-file.md", "one JSON file: the `/myproduct/...` app", apps.keys().any(|id| id.starts_with("/myproduct/"))),
        ("labs/mesos-marathon/steps/find-the-site-file.md", "`instances: 3`: three copies", demo["instances"] == 3),
        ("labs/mesos-marathon/steps/find-the-site-file.md", "`ports: [1234]`: this is the **service port**", demo["ports"] == serde_json::json!([1234])),
        ("labs/mesos-marathon/steps/scale-the-demo.md", "Find `instances: 3`", demo["instances"] == 3),
        ("labs/mesos-marathon/steps/deploy-wolf3d.md", "Keep the health check on path `/`", demo["healthChecks"][0]["path"] == "/"),
        ("labs/mesos-marathon/steps/deploy-wolf3d.md", "Remove `cmd` and `variables`", demo.get("cmd").is_some()),
    ];
    for (file, phrase, holds) in facts {
        let text = texts.get(file).unwrap_or_else(|| panic!("no {file}"));
        assert!(text.contains(phrase), "{file} no longer says “{phrase}”: update this test with the text");
        assert!(holds, "{file} says “{phrase}”, which the site does not deploy");
    }
}

#[test]
fn no_course_text_describes_the_original_demo_image() {
    for (file, text) in course_texts() {
        for stale in ["mesos-demo-webapp", "Hello world", "/_status", "database password is stored", "decrypted database password"] {
            assert!(!text.contains(stale), "{file} still describes the original demo (“{stale}”); the site deploys python:3.12-alpine");
        }
    }
}

#[tokio::test]
async fn the_courses_wolf3d_solutions_pass_the_wolf3d_check() {
    let course = lab::course::Course::load(&lab::course::ContentSource::Embedded).expect("course");
    let lab = course.lab("mesos-marathon").expect("lab").as_ref().expect("valid").clone();
    let mut solutions = 0;
    for (file, text) in course_texts() {
        for block in yaml_blocks(&text).into_iter().filter(|b| b.contains("/demo/wolf3d")) {
            // Rendered as the student's file would be: inside a copy of the lab's site.
            let dir = tempfile::tempdir().expect("temp");
            std::fs::copy(root().join("labs/mesos-marathon/site/globals.yml"), dir.path().join("globals.yml")).expect("globals");
            std::fs::write(dir.path().join("wolf3d.yml"), &block).expect("write");
            let rendered = lab::marathon::site::render(&dir.path().join("wolf3d.yml"), "site/wolf3d.yml", dir.path(), &ProcessEnv).unwrap_or_else(|e| panic!("the wolf3d solution in {file} does not render: {e}"));
            let double = MarathonDouble::start(Shape::V14, std::time::Duration::from_millis(20)).await;
            double.double.seed(rendered.app.clone());
            let gateway = Gateway::start(200).await;
            let mut target = lab::checks::Target::new(&double.url, Some(double.url.clone()), Some("127.0.0.1".into()), None);
            target.service_ports.insert(8888, gateway.port);
            let result = lab::checks::run_exercise(&lab, "wolf3d", &target).await.expect("checkable");
            assert_eq!(result.status, lab::checks::Status::Passed, "the wolf3d solution in {file} does not pass the check: {result:#?}");
            solutions += 1;
        }
    }
    assert!(solutions >= 1, "the lab shows a wolf3d solution");
}
