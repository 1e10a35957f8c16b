//! The site editor's API in solo mode against the Marathon test double: every way a save
//! ends (deployed and followed live over SSE, unchanged, invalid at line:col, refused by
//! Marathon at the field's line, saved while Marathon is down and sent when it is back),
//! If-Match conflicts, history with diff and restore, delete and restore, path attacks, the
//! size limit, cross-site refusals, and the pages that show the editor.

mod support;

use axum::body::Body;
use axum::http::Request;
use futures_util::StreamExt;
use lab::checks::Target;
use lab::course::{ContentSource, Course};
use lab::store::{DbLocation, Store};
use lab::web::{self, AppState, CheckTarget};
use serde_json::Value;
use std::time::Duration;
use support::TestResponse;
use support::marathon::{MarathonDouble, Shape};
use tower::ServiceExt;

const DEMO: &str = include_str!("../labs/mesos-marathon/site/demo-webapp.yml");
const REJECTED: &str = "service:\n  id: /demo/wolf3d\n  instances: 2\n  container:\n    type: DOCKER\n    docker:\n      image: srenkens/wolfenstein3d\n      network: BRIDGE\n      portMappings:\n        - containerPort: 80\n          servicePort: 88888\n";

/// A solo server over a workspace holding the lab's site, deploying to `marathon`.
struct Solo {
    state: AppState,
    ws: tempfile::TempDir,
}

async fn solo(marathon: &str) -> Solo {
    let ws = tempfile::tempdir().expect("workspace");
    let site = ws.path().join("site");
    support::write_files(
        &site,
        &[
            ("demo-webapp.yml", DEMO),
            ("globals.yml", "service:\n  labels: {course: lab}\n"),
        ],
    );
    let course = Course::load(&ContentSource::Embedded).expect("built-in course");
    let store = Store::open(&DbLocation::Memory).await.expect("store");
    let student = store.student("tester").await.expect("student");
    let target = Target::new(marathon, None, None, Some(site));
    Solo {
        state: AppState::new(course, store, student).with_checks(CheckTarget::Fixed(target)),
        ws,
    }
}

impl Solo {
    async fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> TestResponse {
        let mut builder = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        support::send(
            &self.state,
            builder.body(Body::from(body.to_owned())).expect("request"),
        )
        .await
    }

    async fn json(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, Value) {
        let r = self.call(method, path, headers, body).await;
        (
            r.status.as_u16(),
            serde_json::from_str(&r.body)
                .unwrap_or_else(|_| panic!("{method} {path}: not JSON: {}", r.body)),
        )
    }

    async fn etag(&self, path: &str) -> String {
        let (status, file) = self
            .json("GET", &format!("/api/site/{path}"), &[], "")
            .await;
        assert_eq!(status, 200, "{file}");
        file["etag"].as_str().expect("etag").to_owned()
    }

    fn on_disk(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(self.ws.path().join("site").join(path)).ok()
    }
}

async fn double() -> MarathonDouble {
    MarathonDouble::start(Shape::V15, Duration::from_millis(100)).await
}

#[tokio::test]
async fn a_save_is_deployed_and_its_progress_reaches_the_page_live() {
    let double = double().await;
    let app = solo(&double.url).await;
    let events = web::router(app.state.clone())
        .oneshot(Request::get("/events").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let mut stream = events.into_body().into_data_stream();

    let files = app.json("GET", "/api/site", &[], "").await.1;
    let names: Vec<&str> = files["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["demo-webapp.yml", "globals.yml"]);
    let r = app.call("GET", "/api/site/demo-webapp.yml", &[], "").await;
    let etag = r
        .headers
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .expect("an ETag header")
        .to_owned();
    let file: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        (file["text"].as_str(), file["etag"].as_str()),
        (Some(DEMO), Some(etag.as_str()))
    );

    let text = DEMO.replace("instances: 3", "instances: 1");
    let r = app
        .call(
            "PUT",
            "/api/site/demo-webapp.yml",
            &[("if-match", &etag)],
            &text,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let report: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(report["outcome"], "deployed", "{report:#}");
    assert_eq!(report["app"]["instances"], 1);
    assert_eq!(
        report["app"]["labels"]["course"], "lab",
        "globals.yml is merged, as lab deploy does"
    );
    assert!(
        report["deployment"]["deploymentId"].is_string(),
        "{report:#}"
    );
    assert_eq!(
        r.headers.get("etag").and_then(|v| v.to_str().ok()),
        report["file"]["etag"].as_str()
    );
    assert_eq!(
        app.on_disk("demo-webapp.yml").as_deref(),
        Some(text.as_str())
    );
    assert_eq!(
        double.double.app("/demo/webapp").expect("deployed")["instances"],
        1
    );

    // deploying → running → healthy, as `deploy` events on the page's stream.
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !seen.contains("\"state\":\"healthy\"") {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap_or_else(|_| panic!("no healthy event; saw {seen}"));
        seen.push_str(&String::from_utf8_lossy(
            &chunk.expect("open").expect("chunk"),
        ));
    }
    assert!(
        seen.contains("event: deploy")
            && seen.contains("\"state\":\"deploying\"")
            && seen.contains("\"path\":\"demo-webapp.yml\""),
        "{seen}"
    );

    // The same text again: Marathon already runs it.
    let new_etag = report["file"]["etag"].as_str().unwrap().to_owned();
    let (_, again) = app
        .json(
            "PUT",
            "/api/site/demo-webapp.yml",
            &[("if-match", &new_etag)],
            &text,
        )
        .await;
    assert_eq!(again["outcome"], "unchanged", "{again:#}");
}

#[tokio::test]
async fn an_invalid_file_is_saved_and_its_error_has_line_and_column() {
    let double = double().await;
    let app = solo(&double.url).await;
    let etag = app.etag("demo-webapp.yml").await;
    let broken = DEMO.replace("  instances: 3\n", "  instances: [3\n");
    let (status, report) = app
        .json(
            "PUT",
            "/api/site/demo-webapp.yml",
            &[("if-match", &etag)],
            &broken,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(report["outcome"], "invalid", "{report:#}");
    let e = &report["errors"][0];
    assert!(
        e["line"].as_u64().is_some() && e["col"].as_u64().is_some() && e["message"].is_string(),
        "{report:#}"
    );
    assert_eq!(e["file"], "demo-webapp.yml");
    assert_eq!(
        app.on_disk("demo-webapp.yml").as_deref(),
        Some(broken.as_str()),
        "the student's words are kept"
    );
    assert!(double.double.writes().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn a_file_marathon_refuses_is_marked_at_the_field_line() {
    let double = double().await;
    let app = solo(&double.url).await;
    let (status, report) = app
        .json(
            "PUT",
            "/api/site/wolf3d.yml",
            &[("if-none-match", "*")],
            REJECTED,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(report["outcome"], "failed", "{report:#}");
    assert_eq!(
        report["errors"][0]["line"], 11,
        "servicePort is on line 11: {report:#}"
    );
    assert_eq!(app.on_disk("wolf3d.yml").as_deref(), Some(REJECTED));
}

#[tokio::test]
async fn a_save_while_marathon_is_down_is_kept_and_sent_when_it_is_back() {
    let mut first = double().await;
    let address = first.url.trim_start_matches("http://").to_owned();
    first.stop();
    let app = solo(&first.url).await;
    let etag = app.etag("demo-webapp.yml").await;
    let text = DEMO.replace("instances: 3", "instances: 1");
    let mut report = Value::Null;
    for _ in 0..50 {
        report = app
            .json(
                "PUT",
                "/api/site/demo-webapp.yml",
                &[("if-match", "*")],
                &text,
            )
            .await
            .1;
        if report["outcome"] == "not_deployed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await; // the double is still stopping
    }
    assert_eq!(report["outcome"], "not_deployed", "{report:#}");
    assert_ne!(report["file"]["etag"].as_str(), Some(etag.as_str()));
    assert_eq!(
        app.json("GET", "/api/site", &[], "").await.1["pending"],
        serde_json::json!(["demo-webapp.yml"])
    );

    let back = MarathonDouble::start_at(&address, Shape::V15, Duration::from_millis(1)).await;
    let (status, run) = app.json("POST", "/api/site/redeploy", &[], "").await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["results"][0]["outcome"], "deployed", "{run:#}");
    assert_eq!(
        back.double.app("/demo/webapp").expect("sent")["instances"],
        1
    );
    assert_eq!(
        app.json("GET", "/api/site", &[], "").await.1["pending"],
        serde_json::json!([])
    );
}

#[tokio::test]
async fn a_stale_or_missing_if_match_is_refused_with_the_current_etag() {
    let double = double().await;
    let app = solo(&double.url).await;
    let etag = app.etag("demo-webapp.yml").await;
    // Someone else (a terminal) changed the file meanwhile.
    std::fs::write(
        app.ws.path().join("site/demo-webapp.yml"),
        "service:\n  id: /demo/webapp\n",
    )
    .unwrap();
    let current = app.etag("demo-webapp.yml").await;
    let (status, body) = app
        .json(
            "PUT",
            "/api/site/demo-webapp.yml",
            &[("if-match", &etag)],
            "mine",
        )
        .await;
    assert_eq!(
        (status, body["current_etag"].as_str()),
        (412, Some(current.as_str())),
        "{body}"
    );
    let (status, body) = app
        .json("PUT", "/api/site/demo-webapp.yml", &[], "mine")
        .await;
    assert_eq!(status, 428, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("If-Match"),
        "{body}"
    );
    let (status, _) = app
        .json(
            "PUT",
            "/api/site/demo-webapp.yml",
            &[("if-none-match", "*")],
            "mine",
        )
        .await;
    assert_eq!(status, 412, "create refuses an existing file");
    assert_eq!(
        app.on_disk("demo-webapp.yml").as_deref(),
        Some("service:\n  id: /demo/webapp\n"),
        "nothing was overwritten"
    );
    // The choice the page offers: overwrite with the current ETag.
    let (status, report) = app
        .json(
            "PUT",
            "/api/site/demo-webapp.yml",
            &[("if-match", &current)],
            DEMO,
        )
        .await;
    assert_eq!(
        (status, report["outcome"].as_str()),
        (200, Some("deployed")),
        "{report}"
    );
}

#[tokio::test]
async fn history_shows_versions_with_a_diff_and_restores_one() {
    let double = double().await;
    let app = solo(&double.url).await;
    let first = app.etag("demo-webapp.yml").await;
    let second = DEMO.replace("instances: 3", "instances: 2");
    app.json(
        "PUT",
        "/api/site/demo-webapp.yml",
        &[("if-match", &first)],
        &second,
    )
    .await;
    let (status, history) = app
        .json("GET", "/api/site/demo-webapp.yml/history", &[], "")
        .await;
    assert_eq!(status, 200);
    let versions = history["versions"].as_array().unwrap();
    assert_eq!(
        versions.len(),
        2,
        "the text found on disk and the save: {history:#}"
    );
    let oldest = versions[1]["id"].as_str().unwrap();
    let (status, version) = app
        .json(
            "GET",
            &format!("/api/site/demo-webapp.yml/history/{oldest}"),
            &[],
            "",
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(version["text"], DEMO);
    assert!(
        version["diff"]
            .as_str()
            .unwrap()
            .contains("-  instances: 3\n+  instances: 2"),
        "{version:#}"
    );
    let now = app.etag("demo-webapp.yml").await;
    let body = format!("{{\"version\": \"{oldest}\"}}");
    let (status, report) = app
        .json(
            "POST",
            "/api/site/demo-webapp.yml/restore",
            &[("if-match", &now), ("content-type", "application/json")],
            &body,
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(app.on_disk("demo-webapp.yml").as_deref(), Some(DEMO));
    assert_eq!(
        report["outcome"], "deployed",
        "a restore is deployed like a save: {report:#}"
    );
    let (status, _) = app
        .json(
            "GET",
            "/api/site/demo-webapp.yml/history/001-saved-nothing",
            &[],
            "",
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_deleted_file_is_listed_and_restored_and_a_rename_keeps_the_old_name() {
    let double = double().await;
    let app = solo(&double.url).await;
    let (status, _) = app
        .json("DELETE", "/api/site/demo-webapp.yml", &[], "")
        .await;
    assert_eq!(status, 428, "a delete must say which version it deletes");
    let etag = app.etag("demo-webapp.yml").await;
    let (status, deleted) = app
        .json(
            "DELETE",
            "/api/site/demo-webapp.yml",
            &[("if-match", &etag)],
            "",
        )
        .await;
    assert_eq!(status, 200, "{deleted}");
    assert!(app.on_disk("demo-webapp.yml").is_none());
    let list = app.json("GET", "/api/site", &[], "").await.1;
    assert_eq!(list["deleted"][0]["path"], "demo-webapp.yml", "{list:#}");
    let id = list["deleted"][0]["version"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, report) = app
        .json(
            "POST",
            "/api/site/demo-webapp.yml/restore",
            &[],
            &format!("{{\"version\":\"{id}\"}}"),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(app.on_disk("demo-webapp.yml").as_deref(), Some(DEMO));

    let etag = app.etag("demo-webapp.yml").await;
    let (status, moved) = app
        .json(
            "POST",
            "/api/site/demo-webapp.yml/rename",
            &[("if-match", &etag)],
            r#"{"to": "apps/demo.yml"}"#,
        )
        .await;
    assert_eq!(
        (status, moved["path"].as_str()),
        (200, Some("apps/demo.yml")),
        "{moved}"
    );
    assert_eq!(app.on_disk("apps/demo.yml").as_deref(), Some(DEMO));
    let list = app.json("GET", "/api/site", &[], "").await.1;
    assert_eq!(
        list["deleted"][0]["path"], "demo-webapp.yml",
        "the old name can be restored: {list:#}"
    );
}

#[tokio::test]
async fn paths_outside_the_site_or_not_site_files_are_refused() {
    let double = double().await;
    let app = solo(&double.url).await;
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.yml"), "TOP-SECRET-CONTENT").unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.yml"),
        app.ws.path().join("site/out.yml"),
    )
    .unwrap();
    for path in [
        "..%2Fsecret.yml",
        "%2e%2e/x.yml",
        "sub/..%2F..%2Fx.yml",
        "%2Fetc%2Fpasswd.yml",
        "a%5C..%5Cb.yml",
        "out.yml",
        "notes.txt",
        "a.yml%00",
        ".hidden.yml",
        "%252e%252e/x.yml",
    ] {
        for method in ["GET", "PUT", "DELETE"] {
            let r = app
                .call(
                    method,
                    &format!("/api/site/{path}"),
                    &[("if-match", "*")],
                    "x",
                )
                .await;
            assert!(
                matches!(r.status.as_u16(), 400 | 404),
                "{method} {path}: {} {}",
                r.status,
                r.body
            );
            assert!(
                !r.body.contains("TOP-SECRET"),
                "{method} {path}: {}",
                r.body
            );
        }
    }
    assert_eq!(
        std::fs::read_to_string(outside.path().join("secret.yml")).unwrap(),
        "TOP-SECRET-CONTENT"
    );
    assert!(
        app.call("GET", "/api/site/out.yml", &[], "")
            .await
            .body
            .contains("leads out of the site folder")
    );
    assert!(
        app.call("GET", "/api/site/notes.txt", &[], "")
            .await
            .body
            .contains(".yml")
    );
    let big = "#".repeat(300 * 1024);
    let r = app
        .call("PUT", "/api/site/big.yml", &[("if-none-match", "*")], &big)
        .await;
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(r.body.contains("256 KiB"), "{}", r.body);
    assert!(app.on_disk("big.yml").is_none());
}

#[tokio::test]
async fn changes_from_other_sites_are_refused() {
    let double = double().await;
    let app = solo(&double.url).await;
    let etag = app.etag("demo-webapp.yml").await;
    for from in [
        [
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://evil.example"),
        ],
        [("origin", "https://evil.example"), ("x-nothing", "")],
    ] {
        let mut headers = vec![("host", "127.0.0.1:7070"), ("if-match", etag.as_str())];
        headers.extend(from);
        for (method, path) in [
            ("PUT", "/api/site/demo-webapp.yml"),
            ("DELETE", "/api/site/demo-webapp.yml"),
            ("POST", "/api/site/demo-webapp.yml/rename"),
            ("POST", "/api/site/redeploy"),
        ] {
            let r = app.call(method, path, &headers, "service: {}\n").await;
            assert_eq!(r.status, 403, "{method} {path} from {from:?}");
        }
    }
    assert_eq!(app.on_disk("demo-webapp.yml").as_deref(), Some(DEMO));
    let same = [
        ("host", "127.0.0.1:7070"),
        ("origin", "http://127.0.0.1:7070"),
        ("sec-fetch-site", "same-origin"),
        ("if-match", etag.as_str()),
    ];
    assert_eq!(
        app.call("PUT", "/api/site/demo-webapp.yml", &same, DEMO)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn the_site_page_and_the_step_that_edits_a_file_show_the_editor() {
    let double = double().await;
    let app = solo(&double.url).await;
    let page = app.call("GET", "/labs/mesos-marathon/site", &[], "").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("data-site-editor") && page.body.contains("data-file=\"globals.yml\""),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("/static/vendor/codemirror/codemirror.js")
    );
    let course = Course::load(&ContentSource::Embedded).unwrap();
    let lab = course.lab("mesos-marathon").unwrap().as_ref().unwrap();
    for (exercise, file) in [("scale-demo", "demo-webapp.yml"), ("wolf3d", "wolf3d.yml")] {
        let step = lab
            .steps
            .iter()
            .find(|s| s.id == lab.exercise(exercise).unwrap().step)
            .unwrap();
        let page = app
            .call(
                "GET",
                &format!("/labs/mesos-marathon/steps/{}", step.number),
                &[],
                "",
            )
            .await;
        assert!(
            page.body.contains(&format!("data-open=\"{file}\"")),
            "{exercise}: {}",
            page.body
        );
    }
    let first = app
        .call("GET", "/labs/mesos-marathon/steps/1", &[], "")
        .await;
    assert!(
        !first.body.contains("data-site-editor"),
        "steps without a file to edit have no editor"
    );
    assert_eq!(
        app.call("GET", "/static/vendor/codemirror/LICENSE", &[], "")
            .await
            .status,
        200
    );
}
