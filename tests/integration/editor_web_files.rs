//! The site editor's files in solo mode: history with diff and restore, delete and
//! restore, rename, path attacks and the size limit, cross-site refusals, and the pages that
//! show the editor.

use lab::course::{ContentSource, Course};
use crate::support::editor::{DEMO, double, solo};

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
