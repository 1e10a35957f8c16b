//! Every route through the router: status, content type and the content that matters.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use crate::support::{DEMO_LAB, TestApp};

#[tokio::test]
async fn home_lists_the_builtin_lab_and_deck() {
    let app = TestApp::builtin().await;
    let res = app.get("/").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.content_type(), "text/html; charset=utf-8");
    assert!(res.body.contains(r#"href="/labs/mesos-marathon""#), "{}", res.body);
    assert!(res.body.contains(r#"href="/slides/mesos-marathon/1""#));
    assert!(res.body.contains("0 of 6 steps opened"));
}

#[tokio::test]
async fn lab_overview_lists_steps_and_exercises() {
    let app = TestApp::builtin().await;
    let res = app.get("/labs/mesos-marathon").await;
    assert_eq!(res.status, StatusCode::OK);
    for needle in ["/labs/mesos-marathon/steps/1", "/labs/mesos-marathon/steps/6", "lab check scale-demo", "lab check wolf3d"] {
        assert!(res.body.contains(needle), "missing {needle}");
    }
}

#[tokio::test]
async fn step_pages_link_their_neighbours_and_list_their_exercises() {
    let app = TestApp::with_files(DEMO_LAB).await;
    let first = app.get("/labs/demo/steps/1").await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(first.body.contains("<h1>First step</h1>"), "{}", first.body);
    assert!(first.body.contains(r#"rel="next" href="/labs/demo/steps/2""#));
    assert!(!first.body.contains(r#"rel="prev""#));
    assert!(!first.body.contains("Do the thing"), "the exercise belongs to step 2");

    let second = app.get("/labs/demo/steps/2").await;
    assert!(second.body.contains(r#"rel="prev" href="/labs/demo/steps/1""#));
    assert!(second.body.contains(r#"id="exercise-do-it""#));
    assert!(second.body.contains("lab check do-it"));
}

#[tokio::test]
async fn visiting_steps_shows_on_the_home_page_and_overview() {
    let app = TestApp::with_files(DEMO_LAB).await;
    app.get("/labs/demo/steps/2").await;
    let home = app.get("/").await;
    assert!(home.body.contains("1 of 2 steps opened"), "{}", home.body);
    assert!(home.body.contains(r#"href="/labs/demo/steps/2">Continue: Demo lab: Second step"#), "{}", home.body);
    let overview = app.get("/labs/demo").await;
    assert!(overview.body.contains(r#"<li class="visited">"#));
}

#[tokio::test]
async fn slide_pages_carry_number_navigation_and_fall_back_to_links() {
    let app = TestApp::with_files(DEMO_LAB).await;
    let res = app.get("/slides/demo/2").await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.contains(r#"data-slide="2" data-total="4""#), "{}", res.body);
    assert!(res.body.contains("2 / 4"));
    assert!(res.body.contains(r#"rel="prev" href="/slides/demo/1""#));
    assert!(res.body.contains(r#"rel="next" href="/slides/demo/3""#));
    assert!(res.body.contains("Second slide"));
    assert!(!res.body.contains("say hello"), "notes never reach the audience view");
    assert!(res.body.contains(r#"href="/labs/demo">Demo lab</a>"#), "the deck links back to its lab");
}

#[tokio::test]
async fn the_deck_root_redirects_to_the_first_slide() {
    let app = TestApp::with_files(DEMO_LAB).await;
    let res = app.get("/slides/demo").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.headers.get("location").unwrap(), "/slides/demo/1");
}

#[tokio::test]
async fn presenter_view_shows_notes_and_the_next_slide() {
    let app = TestApp::with_files(DEMO_LAB).await;
    let res = app.get("/slides/demo/1/presenter").await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.contains("say hello"));
    assert!(res.body.contains("Second slide"), "next slide preview");
    assert!(res.body.contains(r#"id="elapsed""#));
    let last = app.get("/slides/demo/4/presenter").await;
    assert!(last.body.contains("End of the deck."));
    assert!(last.body.contains("thank them"));
}

#[tokio::test]
async fn a_slide_past_the_end_is_a_404_with_a_way_back() {
    let app = TestApp::with_files(DEMO_LAB).await;
    for path in ["/slides/demo/5", "/slides/demo/0", "/slides/demo/x", "/slides/demo/5/presenter"] {
        let res = app.get(path).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(res.content_type(), "text/html; charset=utf-8");
        assert!(res.body.contains("has 4 slides"), "{path}: {}", res.body);
        assert!(res.body.contains(r#"href="/slides/demo/1""#));
        assert!(res.body.contains(r#"href="/slides/demo/4""#));
    }
}

#[tokio::test]
async fn unknown_pages_get_the_helpful_404() {
    let app = TestApp::with_files(DEMO_LAB).await;
    for (path, text) in [
        ("/nothing/here", "nothing lives at /nothing/here"),
        ("/labs/nope", "there is no lab called “nope”"),
        ("/labs/demo/steps/3", "has 2 steps"),
        ("/slides/nope/1", "no slide deck called “nope”"),
        ("/files/labs/demo/lab.yml", "no course file"),
        ("/static/nope.js", "no static file"),
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
        assert!(res.body.contains(text), "{path}: {}", res.body);
        assert!(res.body.contains(r#"href="/""#), "every 404 links home");
    }
}

#[tokio::test]
async fn static_assets_have_etags_and_revalidate() {
    let app = TestApp::builtin().await;
    let res = app.get("/static/lab.js").await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.content_type().contains("javascript"), "{}", res.content_type());
    let etag = res.headers.get("etag").expect("etag").clone();
    let again = app.request(Request::get("/static/lab.js").header("if-none-match", etag).body(Body::empty()).unwrap()).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    assert_eq!(app.get("/static/lab.css").await.content_type(), "text/css");
}

#[tokio::test]
async fn text_responses_are_gzipped_when_asked() {
    let app = TestApp::builtin().await;
    let res = app.request(Request::get("/static/lab.css").header("accept-encoding", "gzip").body(Body::empty()).unwrap()).await;
    assert_eq!(res.headers.get("content-encoding").map(|v| v.to_str().unwrap()), Some("gzip"));
    let page = app.request(Request::get("/labs/mesos-marathon").header("accept-encoding", "gzip").body(Body::empty()).unwrap()).await;
    assert_eq!(page.headers.get("content-encoding").map(|v| v.to_str().unwrap()), Some("gzip"));
}

#[tokio::test]
async fn course_images_are_served_with_their_type() {
    let app = TestApp::builtin().await;
    let res = app.get("/files/slides/images/stack.svg").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.content_type(), "image/svg+xml");
    assert!(res.headers.contains_key("etag"));
    // Some slide links to it through the rewritten path.
    let course = app.state.course();
    let Some(Ok(deck)) = course.deck("mesos-marathon") else { panic!("deck") };
    assert!(deck.slides.iter().any(|s| s.html.contains(r#"src="/files/slides/images/stack.svg""#)));
}

#[tokio::test]
async fn health_endpoint_answers() {
    let app = TestApp::builtin().await;
    let res = app.get("/healthz").await;
    assert_eq!((res.status, res.body.as_str()), (StatusCode::OK, "ok"));
}

#[tokio::test]
async fn every_builtin_slide_and_step_renders() {
    let app = TestApp::builtin().await;
    let course = app.state.course();
    let Some(Ok(deck)) = course.deck("mesos-marathon") else { panic!("deck") };
    for slide in &deck.slides {
        let res = app.get(&format!("/slides/mesos-marathon/{}", slide.number)).await;
        assert_eq!(res.status, StatusCode::OK, "slide {}", slide.number);
    }
    let Some(Ok(lab)) = course.lab("mesos-marathon") else { panic!("lab") };
    for step in &lab.steps {
        let res = app.get(&format!("/labs/mesos-marathon/steps/{}", step.number)).await;
        assert_eq!(res.status, StatusCode::OK, "step {}", step.number);
    }
}

#[tokio::test]
async fn text_a_student_could_influence_is_escaped() {
    // Paths are echoed on the 404 page: they must come back escaped.
    let app = TestApp::builtin().await;
    let res = app.get("/%3Cscript%3Ealert(1)%3C/script%3E").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(!res.body.contains("<script>alert(1)"), "{}", res.body);
}

#[tokio::test]
async fn step_pages_show_exercise_status_and_a_check_form() {
    let app = TestApp::builtin().await;
    let res = app.get("/labs/mesos-marathon/steps/5").await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.contains(r#"id="exercise-wolf3d" data-exercise="wolf3d" data-lab="mesos-marathon""#), "{}", res.body);
    assert!(res.body.contains("Not checked yet"));
    assert!(res.body.contains(r#"<form class="check-form" method="post" action="/labs/mesos-marathon/exercises/wolf3d/check""#));
}

#[tokio::test]
async fn checking_without_a_stack_says_so_and_returns_to_the_step() {
    let app = TestApp::builtin().await;
    let res = app.request(Request::post("/labs/mesos-marathon/exercises/wolf3d/check").body(Body::empty()).unwrap()).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.headers.get("location").unwrap(), "/labs/mesos-marathon/steps/5#exercise-wolf3d");
    let api = app.request(Request::post("/api/labs/mesos-marathon/exercises/wolf3d/check").body(Body::empty()).unwrap()).await;
    assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE);
    let v: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert!(v["error"].as_str().unwrap().contains("lab up"), "{v}");
    assert!(v["html"].as_str().unwrap().contains("Could not check"));
    let missing = app.request(Request::post("/api/labs/mesos-marathon/exercises/nope/check").body(Body::empty()).unwrap()).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}
