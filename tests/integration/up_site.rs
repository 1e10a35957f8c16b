//! `lab up` for a lab with a site: the site is copied into the workspace on the first run
//! (never overwritten later) and deployed as soon as Marathon answers; `lab deploy` and
//! `lab watch` then find that Marathon and that site from the project's labels alone.

use std::process::{Command, Output};
use std::time::Duration;
use crate::support::docker::{ProjectGuard, busybox_image, engine_or_skip};
use crate::support::marathon::{MarathonDouble, Shape};

const LAB: &[(&str, &str)] = &[
    ("labs/t/lab.yml", "title: T\nsummary: t\nsteps: [s]\n"),
    ("labs/t/steps/s.md", "# S\n"),
    (
        "labs/t/stack.yml",
        "x-lab:\n  endpoints:\n    marathon: \"${TEST_MARATHON_URL}\"\nservices:\n  idle:\n    image: lab-test/busybox:2\n    command: sleep 3600\n    stop_grace_period: 1s\n",
    ),
    ("labs/t/site/globals.yml", "service:\n  labels: {course: t}\n"),
    ("labs/t/site/app.yml", "service:\n  id: /demo/app\n  instances: 1\n"),
    ("labs/t/site/other.json", r#"{"id": "/other/thing", "instances": 1}"#),
];

fn lab(home: &std::path::Path, content: &std::path::Path, url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(args)
        .env("LAB_HOME", home)
        .env("LAB_CONTENT", content)
        .env("LAB_STUDENT", "siteuser")
        .env("TEST_MARATHON_URL", url)
        .env_remove("LAB_MARATHON")
        .output()
        .expect("run lab")
}

#[tokio::test]
async fn up_installs_and_deploys_the_site_then_deploy_finds_it_again() {
    let Some(engine) = engine_or_skip().await else { return };
    busybox_image(&engine).await;
    let guard = ProjectGuard::new("site");
    let double = MarathonDouble::start(Shape::V15, Duration::from_millis(20)).await;
    let home = tempfile::tempdir().unwrap();
    let content = tempfile::tempdir().unwrap();
    crate::support::write_files(content.path(), LAB);
    let (h, c, url, p) = (home.path().to_owned(), content.path().to_owned(), double.url.clone(), guard.project.clone());
    let run = move |args: Vec<String>| {
        let (h, c, url) = (h.clone(), c.clone(), url.clone());
        async move { tokio::task::spawn_blocking(move || lab(&h, &c, &url, &args.iter().map(String::as_str).collect::<Vec<_>>())).await.unwrap() }
    };
    let text = |o: &Output| format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));

    let out = run(vec!["up".into(), "--lab".into(), "t".into(), "--project".into(), p.clone(), "--marathon-timeout".into(), "20".into()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let site = home.path().join("workspaces").join(&p).join("site");
    assert!(text(&out).contains(&format!("copied the lab's site into {}", site.display())), "{}", text(&out));
    assert_eq!(text(&out).matches("✓ deployed").count(), 2, "{}", text(&out));
    assert!(site.join("globals.yml").is_file() && site.join("app.yml").is_file());
    assert_eq!(double.double.app("/demo/app").unwrap()["labels"]["course"], "t");
    assert!(double.double.app("/other/thing").is_some());

    // The student's edits survive another `up`, which deploys them.
    std::fs::write(site.join("app.yml"), "service:\n  id: /demo/app\n  instances: 2\n").unwrap();
    let out = run(vec!["up".into(), "--lab".into(), "t".into(), "--project".into(), p.clone()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains("copied the lab's site"));
    assert!(std::fs::read_to_string(site.join("app.yml")).unwrap().contains("instances: 2"));
    assert!(text(&out).contains("✓ deployed   site/app.yml → /demo/app"), "{}", text(&out));
    assert!(text(&out).contains("= unchanged  site/other.json → /other/thing"), "{}", text(&out));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(double.double.app("/demo/app").unwrap()["instances"], 2);

    // `lab deploy` with no arguments: the workspace's site, the stack's Marathon.
    let out = run(vec!["deploy".into(), "--project".into(), p.clone()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(text(&out).matches("= unchanged").count(), 2, "{}", text(&out));
}
