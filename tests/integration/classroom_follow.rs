//! Following the presenter over HTTP: who may announce the presented slide (only the
//! instructor; students 403, visitors 401, solo mode 404), unknown decks and slides (404),
//! the `slide` event reaching students' and the instructor's streams, and a late joiner
//! landing on the presented slide.

use axum::body::Body;
use axum::http::Request;
use serde_json::Value;
use std::time::Duration;
use crate::support::TestApp;
use crate::support::classroom::{ClassApp, read_events};

const DECK: &str = "mesos-marathon";

/// A class with Ann (a student) and the instructor signed in: (app, Ann, instructor).
async fn class() -> (ClassApp, String, String) {
    let app = ClassApp::start().await;
    let ann = app.join("Ann").await;
    let teacher = app.instructor().await;
    (app, ann, teacher)
}

fn presented(app: &ClassApp) -> Option<(String, usize)> {
    app.classroom.presented().map(|p| (p.deck, p.slide))
}

#[tokio::test]
async fn only_the_instructor_may_present_a_slide() {
    let (app, ann, teacher) = class().await;
    let path = format!("/slides/{DECK}/2/present");
    let anonymous = app.send("POST", &path, None, None).await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    let student = app.send("POST", &path, Some(&ann), None).await;
    assert_eq!(student.status, 403, "{}", student.body);
    assert_eq!(presented(&app), None, "a refused request presents nothing");

    let instructor = app.send("POST", &path, Some(&teacher), None).await;
    assert_eq!(instructor.status, 303, "{}", instructor.body);
    assert_eq!(instructor.headers.get("location").and_then(|v| v.to_str().ok()), Some(format!("/slides/{DECK}/2/presenter").as_str()));
    assert_eq!(presented(&app), Some((DECK.into(), 2)));

    let request = Request::post(format!("/slides/{DECK}/3/present")).header("cookie", &teacher).header("accept", "application/json").body(Body::empty()).unwrap();
    let json = crate::support::send(&app.state, request).await;
    assert_eq!(json.status, 200, "{}", json.body);
    let answer: Value = serde_json::from_str(&json.body).expect("json");
    assert_eq!((answer["deck"].as_str(), answer["n"].as_u64(), answer["url"].as_str()), (Some(DECK), Some(3), Some(format!("/slides/{DECK}/3").as_str())));
    assert_eq!(presented(&app), Some((DECK.into(), 3)));

    let again = app.send("POST", &format!("/slides/{DECK}/1/present"), Some(&ann), None).await;
    assert_eq!(again.status, 403);
    assert_eq!(presented(&app), Some((DECK.into(), 3)), "a student cannot move the class");
}

#[tokio::test]
async fn solo_mode_has_no_class_to_present_to() {
    let app = TestApp::builtin().await;
    let res = app.request(Request::post(format!("/slides/{DECK}/2/present")).body(Body::empty()).unwrap()).await;
    assert_eq!(res.status, 404, "{}", res.body);
    let presenter = app.get(&format!("/slides/{DECK}/2/presenter")).await;
    assert_eq!(presenter.status, 200);
    assert!(!presenter.body.contains("data-present="), "the solo presenter window announces nothing");
    let slide = app.get(&format!("/slides/{DECK}/2")).await;
    assert!(!slide.body.contains("follow-toggle") && !slide.body.contains("data-follow"), "solo slides offer no following");
}

#[tokio::test]
async fn presenting_an_unknown_deck_or_slide_is_404() {
    let (app, _ann, teacher) = class().await;
    let total = app.state.course().deck(DECK).and_then(|d| d.as_ref().ok()).map(|d| d.slides.len()).expect("the deck");
    let beyond = format!("/slides/{DECK}/{}/present", total + 1);
    for path in ["/slides/nope/1/present", &format!("/slides/{DECK}/0/present"), &format!("/slides/{DECK}/x/present"), beyond.as_str()] {
        let res = app.send("POST", path, Some(&teacher), None).await;
        assert_eq!(res.status, 404, "{path}: {}", res.body);
    }
    assert_eq!(presented(&app), None);
    let last = app.send("POST", &format!("/slides/{DECK}/{total}/present"), Some(&teacher), None).await;
    assert_eq!(last.status, 303, "the last slide exists");
}

/// The `slide` event's data in what a stream delivered.
fn slide_event(seen: &str) -> Value {
    let data = seen.rsplit("event: slide\ndata: ").next().and_then(|s| s.lines().next()).expect("slide data");
    serde_json::from_str(data).expect("json")
}

#[tokio::test]
async fn a_presented_slide_reaches_the_students_and_the_instructors_streams() {
    let (app, ann, teacher) = class().await;
    let mut student = app.open_stream(&ann).await;
    let mut instructor = app.open_stream(&teacher).await;
    // The streams are open once they greet.
    assert!(read_events(&mut student, "event: hello", Duration::from_secs(5)).await.contains("event: hello"));
    assert!(read_events(&mut instructor, "event: hello", Duration::from_secs(5)).await.contains("event: hello"));

    assert_eq!(app.send("POST", &format!("/slides/{DECK}/4/present"), Some(&teacher), None).await.status, 303);
    let seen = read_events(&mut student, "event: slide", Duration::from_secs(10)).await;
    assert!(seen.contains("event: slide"), "the student hears the move: {seen}");
    let event = slide_event(&seen);
    assert_eq!((event["deck"].as_str(), event["n"].as_u64(), event["url"].as_str()), (Some(DECK), Some(4), Some(format!("/slides/{DECK}/4").as_str())));
    let heard = read_events(&mut instructor, "event: slide", Duration::from_secs(10)).await;
    assert_eq!(slide_event(&heard)["n"], 4, "the instructor's pages hear it too");

    // Showing the same slide again (another presenter tab) is no move.
    assert_eq!(app.send("POST", &format!("/slides/{DECK}/4/present"), Some(&teacher), None).await.status, 303);
    let quiet = read_events(&mut student, "event: slide", Duration::from_millis(500)).await;
    assert!(!quiet.contains("event: slide"), "{quiet}");
}

#[tokio::test]
async fn a_late_joiner_lands_on_the_presented_slide() {
    let (app, ann, teacher) = class().await;
    let start = app.send("GET", &format!("/slides/{DECK}"), Some(&ann), None).await;
    assert_eq!(start.headers.get("location").and_then(|v| v.to_str().ok()), Some(format!("/slides/{DECK}/1").as_str()), "nothing presented: the first slide");

    assert_eq!(app.send("POST", &format!("/slides/{DECK}/3/present"), Some(&teacher), None).await.status, 303);
    let late = app.join("Lou").await;
    let start = app.send("GET", &format!("/slides/{DECK}"), Some(&late), None).await;
    assert_eq!(start.status, 303);
    assert_eq!(start.headers.get("location").and_then(|v| v.to_str().ok()), Some(format!("/slides/{DECK}/3").as_str()));

    // A slide page opened elsewhere in the deck carries the presented slide, for lab.js to go there.
    let page = app.send("GET", &format!("/slides/{DECK}/1"), Some(&late), None).await;
    assert_eq!(page.status, 200);
    for want in ["data-follow=\"1\"", &format!("data-presented-deck=\"{DECK}\""), "data-presented-slide=\"3\"", "id=\"follow-toggle\"", "Follow the presenter"] {
        assert!(page.body.contains(want), "the student's page has {want:?}");
    }
    // The instructor's audience view does not follow itself; only their presenter view announces.
    let audience = app.send("GET", &format!("/slides/{DECK}/1"), Some(&teacher), None).await;
    assert!(!audience.body.contains("follow-toggle") && !audience.body.contains("data-presented-slide"), "{}", audience.body);
    let presenter = app.send("GET", &format!("/slides/{DECK}/3/presenter"), Some(&teacher), None).await;
    assert!(presenter.body.contains(&format!("data-present=\"/slides/{DECK}/3/present\"")));
    let students_presenter = app.send("GET", &format!("/slides/{DECK}/3/presenter"), Some(&ann), None).await;
    assert!(!students_presenter.body.contains("data-present="), "a student's presenter view announces nothing");
}
