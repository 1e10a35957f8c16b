//! The site editor's API in solo mode against the Marathon test double: every way a save
//! ends (deployed and followed live over SSE, unchanged, invalid at line:col, refused by
//! Marathon at the field's line, saved while Marathon is down and sent when it is back) and
//! If-Match conflicts.

use axum::body::Body;
use axum::http::Request;
use futures_util::StreamExt;
use lab::web;
use serde_json::Value;
use std::time::Duration;
use crate::support::editor::{DEMO, REJECTED, double, solo};
use crate::support::marathon::{MarathonDouble, Shape};
use tower::ServiceExt;

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
    // Nobody saves again: the waiting file is sent on its own once Marathon answers.
    let mut sent = None;
    for _ in 0..150 {
        sent = back.double.app("/demo/webapp");
        if sent.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sent.expect("sent without another save")["instances"], 1);
    for _ in 0..50 {
        if app.json("GET", "/api/site", &[], "").await.1["pending"] == serde_json::json!([]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Asking for it by hand finds nothing left to send.
    let (status, run) = app.json("POST", "/api/site/redeploy", &[], "").await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["results"], serde_json::json!([]), "{run:#}");
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
