//! Files are served only from inside the content folder (issue 9, point 12): a symlink in
//! `--content DIR` that leads outside is never served, and `..` in any of its spellings
//! never leaves `/files/` or `/static/`.

use axum::http::StatusCode;
use crate::support::{DEMO_LAB, TestApp, TestServer, write_files};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECRET: &str = "root:x:0:0:secret-marker";

/// A content folder with a real image, a link to it, and links to a file and a folder
/// outside the content folder.
#[cfg(unix)]
async fn app_with_links() -> (TestApp, tempfile::TempDir) {
    let outside = tempfile::tempdir().expect("tempdir");
    std::fs::write(outside.path().join("passwd"), SECRET).expect("write");
    std::fs::create_dir(outside.path().join("pictures")).expect("mkdir");
    std::fs::write(outside.path().join("pictures/leak.svg"), SECRET).expect("write");
    let dir = tempfile::tempdir().expect("tempdir");
    write_files(dir.path(), DEMO_LAB);
    write_files(dir.path(), &[("labs/demo/images/ok.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>")]);
    let images = dir.path().join("labs/demo/images");
    std::os::unix::fs::symlink(outside.path().join("passwd"), images.join("passwd.svg")).expect("link");
    std::os::unix::fs::symlink(outside.path().join("passwd"), images.join("passwd")).expect("link");
    std::os::unix::fs::symlink(outside.path().join("pictures"), images.join("pictures")).expect("link");
    std::os::unix::fs::symlink("ok.svg", images.join("alias.svg")).expect("link");
    (TestApp::from_dir(dir).await, outside)
}

#[cfg(unix)]
#[tokio::test]
async fn a_symlink_leading_out_of_the_content_folder_is_a_404() {
    let (app, _outside) = app_with_links().await;
    for path in ["/files/labs/demo/images/passwd.svg", "/files/labs/demo/images/passwd", "/files/labs/demo/images/pictures/leak.svg"] {
        let res = app.get(path).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!res.body.contains("secret-marker"), "{path}: {}", res.body);
    }
    // Links that stay inside, and real files, are served.
    assert_eq!(app.get("/files/labs/demo/images/ok.svg").await.status, StatusCode::OK);
    let alias = app.get("/files/labs/demo/images/alias.svg").await;
    assert_eq!((alias.status, alias.content_type()), (StatusCode::OK, "image/svg+xml"));
}

#[tokio::test]
async fn dot_dot_in_any_spelling_is_a_404() {
    let app = TestApp::with_files(DEMO_LAB).await;
    let paths = [
        "/files/../Cargo.toml",
        "/files/labs/../../../../etc/passwd",
        "/files/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/files/labs/%2E%2E/%2E%2E/etc/passwd",
        "/files/labs%2f..%2f..%2fetc%2fpasswd",
        "/files/labs/demo/./lab.yml",
        "/files/labs//demo/lab.yml",
        "/files/labs%5c..%5c..%5cetc%5cpasswd",
        "/static/../Cargo.toml",
        "/static/%2e%2e/%2e%2e/Cargo.toml",
        "/static/%2e%2e%2f%2e%2e%2fCargo.toml",
        "/static/..%5c..%5cCargo.toml",
    ];
    for path in paths {
        let res = app.get(path).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}: {}", res.body);
        assert!(!res.body.contains("[package]") && !res.body.contains("root:"), "{path}");
    }
    assert_eq!(app.get("/static/lab.css").await.status, StatusCode::OK, "plain paths still work");
}

#[tokio::test]
async fn dot_dot_sent_raw_to_the_real_server_is_a_404() {
    // Browsers and most clients resolve `..` before sending; an attacker's raw request does not.
    let app = TestApp::with_files(DEMO_LAB).await;
    let server = TestServer::start(app.state.clone()).await;
    for path in ["/files/../../../../etc/passwd", "/static/../../Cargo.toml", "/files/%2e%2e/%2e%2e/etc/passwd"] {
        let mut stream = tokio::net::TcpStream::connect(server.addr()).await.expect("connect");
        let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", server.addr());
        stream.write_all(request.as_bytes()).await.expect("send");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.expect("answer");
        assert!(answer.starts_with("HTTP/1.1 404 "), "{path}: {answer}");
        assert!(!answer.contains("root:") && !answer.contains("[package]"), "{path}");
    }
}
