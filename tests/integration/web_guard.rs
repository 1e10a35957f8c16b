//! Who may talk to lab (issue 9, point 11): state-changing requests only from lab's own
//! pages (Origin / Sec-Fetch-Site), and only requests naming one of lab's hosts (DNS
//! rebinding), as matrices over the routes and headers.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use lab::web::{HostPolicy, ServerConfig};
use crate::support::{TestApp, TestServer};

/// How a request presents itself.
#[derive(Debug, Clone, Copy)]
enum From {
    /// A browser on lab's own page: `Origin` is lab, `Sec-Fetch-Site: same-origin`.
    SameOrigin,
    /// An older browser on lab's own page: only `Origin`, naming lab.
    SameOriginByOriginOnly,
    /// A form on another site: `Origin` names it (no `Sec-Fetch-Site`).
    CrossSiteOrigin,
    /// A modern browser on another site: `Sec-Fetch-Site: cross-site`.
    CrossSiteFetch,
    /// A sibling subdomain: `Sec-Fetch-Site: same-site`.
    SameSiteFetch,
    /// A sandboxed page or `file:` page: `Origin: null`.
    NullOrigin,
    /// curl, lab's CLI: neither header.
    NoHeaders,
}

const HOST: &str = "127.0.0.1:7070";

fn request(method: &str, path: &str, from: From) -> Request<Body> {
    let builder = Request::builder().method(method).uri(path).header("host", HOST);
    let builder = match from {
        From::SameOrigin => builder.header("origin", format!("http://{HOST}")).header("sec-fetch-site", "same-origin"),
        From::SameOriginByOriginOnly => builder.header("origin", format!("http://{HOST}")),
        From::CrossSiteOrigin => builder.header("origin", "http://evil.example"),
        From::CrossSiteFetch => builder.header("origin", "http://evil.example").header("sec-fetch-site", "cross-site"),
        From::SameSiteFetch => builder.header("origin", "http://other.school.lan").header("sec-fetch-site", "same-site"),
        From::NullOrigin => builder.header("origin", "null"),
        From::NoHeaders => builder,
    };
    builder.body(Body::empty()).expect("request")
}

async fn loopback_app() -> TestApp {
    let mut app = TestApp::builtin().await;
    app.state = app.state.clone().with_hosts(HostPolicy::new(HOST.parse().expect("addr"), &[]).expect("policy"));
    app
}

#[tokio::test]
async fn state_changing_requests_are_accepted_only_from_lab_itself() {
    let app = loopback_app().await;
    let form = "/labs/mesos-marathon/exercises/wolf3d/check";
    let api = "/api/labs/mesos-marathon/exercises/wolf3d/check";
    // Without a stack the form sends the student back to the step (303) and the API says
    // why it could not check (503): both mean the request was let in.
    let cases = [
        (form, From::SameOrigin, StatusCode::SEE_OTHER),
        (form, From::SameOriginByOriginOnly, StatusCode::SEE_OTHER),
        (form, From::NoHeaders, StatusCode::SEE_OTHER),
        (form, From::CrossSiteOrigin, StatusCode::FORBIDDEN),
        (form, From::CrossSiteFetch, StatusCode::FORBIDDEN),
        (form, From::SameSiteFetch, StatusCode::FORBIDDEN),
        (form, From::NullOrigin, StatusCode::FORBIDDEN),
        (api, From::SameOrigin, StatusCode::SERVICE_UNAVAILABLE),
        (api, From::SameOriginByOriginOnly, StatusCode::SERVICE_UNAVAILABLE),
        (api, From::NoHeaders, StatusCode::SERVICE_UNAVAILABLE),
        (api, From::CrossSiteOrigin, StatusCode::FORBIDDEN),
        (api, From::CrossSiteFetch, StatusCode::FORBIDDEN),
        (api, From::SameSiteFetch, StatusCode::FORBIDDEN),
        (api, From::NullOrigin, StatusCode::FORBIDDEN),
    ];
    for (path, from, expected) in cases {
        let res = app.request(request("POST", path, from)).await;
        assert_eq!(res.status, expected, "POST {path} {from:?}: {}", res.body);
    }
}

#[tokio::test]
async fn every_unsafe_method_is_checked_and_safe_ones_are_not() {
    let app = loopback_app().await;
    let api = "/api/labs/mesos-marathon/exercises/wolf3d/check";
    for method in ["PUT", "DELETE", "PATCH"] {
        // The route has no such method (405) but a cross-site attempt never gets that far.
        assert_eq!(app.request(request(method, api, From::SameOrigin)).await.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(app.request(request(method, api, From::NoHeaders)).await.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        for from in [From::CrossSiteOrigin, From::CrossSiteFetch, From::SameSiteFetch] {
            assert_eq!(app.request(request(method, api, from)).await.status, StatusCode::FORBIDDEN, "{method} {from:?}");
        }
    }
    // Reading is fine from anywhere: links and images from other sites are normal.
    for from in [From::CrossSiteOrigin, From::CrossSiteFetch] {
        assert_eq!(app.request(request("GET", "/labs/mesos-marathon", from)).await.status, StatusCode::OK, "{from:?}");
    }
}

#[tokio::test]
async fn a_cross_site_form_post_gets_a_clear_403_page() {
    let app = loopback_app().await;
    let res = app.request(request("POST", "/labs/mesos-marathon/exercises/wolf3d/check", From::CrossSiteFetch)).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.content_type(), "text/html; charset=utf-8");
    assert!(res.body.contains("came from another site"), "{}", res.body);
    assert!(res.body.contains("Check button"), "{}", res.body);
}

async fn status_for_host(app: &TestApp, host: Option<&str>) -> StatusCode {
    let mut builder = Request::get("/");
    if let Some(host) = host {
        builder = builder.header("host", host);
    }
    app.request(builder.body(Body::empty()).expect("request")).await.status
}

#[tokio::test]
async fn bound_to_loopback_lab_answers_only_to_loopback_names_with_its_port() {
    let app = loopback_app().await;
    let cases = [
        (Some("localhost:7070"), StatusCode::OK),
        (Some("127.0.0.1:7070"), StatusCode::OK),
        (Some("[::1]:7070"), StatusCode::OK),
        (None, StatusCode::OK),
        (Some("evil.example:7070"), StatusCode::MISDIRECTED_REQUEST),
        (Some("evil.example"), StatusCode::MISDIRECTED_REQUEST),
        (Some("localhost:8080"), StatusCode::MISDIRECTED_REQUEST),
        (Some("localhost"), StatusCode::MISDIRECTED_REQUEST),
        (Some("192.168.1.20:7070"), StatusCode::MISDIRECTED_REQUEST),
        (Some("127.0.0.1.evil.example:7070"), StatusCode::MISDIRECTED_REQUEST),
    ];
    for (host, expected) in cases {
        assert_eq!(status_for_host(&app, host).await, expected, "Host: {host:?}");
    }
    // A request target with a foreign authority is refused even under a good Host.
    let absolute = Request::get("http://evil.example:7070/").header("host", HOST).body(Body::empty()).expect("request");
    assert_eq!(app.request(absolute).await.status, StatusCode::MISDIRECTED_REQUEST);
    // Also for state-changing requests, which would otherwise pass as same-origin.
    let rebound = Request::post("/api/labs/mesos-marathon/exercises/wolf3d/check")
        .header("host", "evil.example:7070")
        .header("origin", "http://evil.example:7070")
        .header("sec-fetch-site", "same-origin")
        .body(Body::empty())
        .expect("request");
    assert_eq!(app.request(rebound).await.status, StatusCode::MISDIRECTED_REQUEST);
}

#[tokio::test]
async fn with_a_public_host_lab_answers_to_it_and_to_loopback_only() {
    let mut app = TestApp::builtin().await;
    let policy = HostPolicy::new("0.0.0.0:7070".parse().expect("addr"), &["lab.school.lan".into(), "10.0.0.5:7070".into()]).expect("policy");
    app.state = app.state.clone().with_hosts(policy);
    let cases = [
        (Some("lab.school.lan:7070"), StatusCode::OK),
        (Some("lab.school.lan"), StatusCode::OK),
        (Some("LAB.school.lan:7070"), StatusCode::OK),
        (Some("10.0.0.5:7070"), StatusCode::OK),
        (Some("localhost:7070"), StatusCode::OK),
        (Some("10.0.0.5:8080"), StatusCode::MISDIRECTED_REQUEST),
        (Some("10.0.0.6:7070"), StatusCode::MISDIRECTED_REQUEST),
        (Some("evil.example:7070"), StatusCode::MISDIRECTED_REQUEST),
        (Some("school.lan:7070"), StatusCode::MISDIRECTED_REQUEST),
    ];
    for (host, expected) in cases {
        assert_eq!(status_for_host(&app, host).await, expected, "Host: {host:?}");
    }
}

#[tokio::test]
async fn a_foreign_host_gets_a_clear_421_page_from_the_real_server() {
    let app = TestApp::builtin().await;
    let server = TestServer::start_with(app.state.clone(), ServerConfig::default()).await;
    let client = lab::net::client_builder().build().expect("client");
    let res = client.get(server.url("/")).header("host", "rebound.evil.example").send().await.expect("answer");
    assert_eq!(res.status(), 421);
    let body = res.text().await.expect("body");
    assert!(body.contains("does not answer to the name “rebound.evil.example”"), "{body}");
    assert!(body.contains(&format!("http://{}/", server.addr())), "the page offers lab's own address: {body}");
    assert_eq!(client.get(server.url("/")).send().await.expect("answer").status(), 200, "lab's own address works");
}

#[test]
fn listening_on_every_interface_needs_a_public_host() {
    let err = HostPolicy::new("0.0.0.0:7070".parse().expect("addr"), &[]).expect_err("refused");
    assert!(err.to_string().contains("--public-host"), "{err}");
}
