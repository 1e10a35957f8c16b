//! The printable deck over HTTP: every slide once, one per page (the print stylesheet breaks
//! pages), with the same per-viewer values as the slide pages, notes only with `?notes=1`, a
//! link from the deck, and who may see it (solo: anyone; a class: students and the
//! instructor, visitors are sent to the join page).

use axum::http::StatusCode;
use crate::support::TestApp;
use crate::support::classroom::ClassApp;

const DECK: &str = "mesos-marathon";

/// The filled-in body of a slide page (what lies inside its `.slide-body`).
fn slide_body(page: &str) -> &str {
    let start = page.find(r#"<div class="slide-body">"#).expect("slide body") + r#"<div class="slide-body">"#.len();
    let end = start + page[start..].find("</article>").expect("end of the slide");
    let inner = &page[start..end];
    inner[..inner.rfind("</div>").expect("closing div")].trim()
}

#[tokio::test]
async fn the_printable_deck_has_every_slide_once_with_notes_only_when_asked() {
    let app = TestApp::builtin().await;
    let course = app.state.course();
    let Some(Ok(deck)) = course.deck(DECK) else { panic!("built-in deck") };
    let total = deck.slides.len();

    let print = app.get(&format!("/slides/{DECK}/print")).await;
    assert_eq!(print.status, StatusCode::OK, "{}", print.body);
    assert!(print.content_type().starts_with("text/html"), "{}", print.content_type());
    assert_eq!(print.body.matches(r#"<section class="print-page""#).count(), total, "one page per slide");
    for slide in &deck.slides {
        let page = app.get(&format!("/slides/{DECK}/{}", slide.number)).await;
        let body = slide_body(&page.body);
        assert!(!body.is_empty(), "slide {}", slide.number);
        assert_eq!(print.body.matches(body).count(), 1, "slide {} is printed once, as the slide page shows it", slide.number);
        assert!(print.body.contains(&format!("{} / {total}", slide.number)), "slide {} is numbered", slide.number);
    }
    assert!(!print.body.contains("{{ url:"), "values are filled in");
    assert!(!print.body.contains("print-notes"), "no notes unless asked for");
    let with_notes_text = deck.slides.iter().find(|s| s.notes_html.len() > 40 && !s.notes_html.contains("{{")).expect("a slide with notes");
    assert!(!print.body.contains(&with_notes_text.notes_html), "no notes unless asked for");
    assert!(print.body.contains(&format!(r#"href="/slides/{DECK}/print?notes=1""#)), "offers the notes");

    let notes = app.get(&format!("/slides/{DECK}/print?notes=1")).await;
    assert_eq!(notes.status, StatusCode::OK);
    assert_eq!(notes.body.matches(r#"<aside class="print-notes""#).count(), total, "notes under every slide");
    assert!(notes.body.contains(&with_notes_text.notes_html), "slide {}'s notes", with_notes_text.number);
    assert_eq!(notes.body.matches(r#"<section class="print-page""#).count(), total);
    let off = app.get(&format!("/slides/{DECK}/print?notes=0")).await;
    assert!(!off.body.contains("print-notes"), "notes=0 leaves them out");

    // The print stylesheet puts each slide on its own page.
    let css = app.get("/static/lab.css").await;
    assert!(css.body.contains("@page") && css.body.contains("break-after: page"), "print rules");
}

#[tokio::test]
async fn the_deck_links_to_its_printable_version_and_unknown_decks_are_404() {
    let app = TestApp::builtin().await;
    let slide = app.get(&format!("/slides/{DECK}/3")).await;
    assert!(slide.body.contains(&format!(r#"href="/slides/{DECK}/print""#)), "a Print link");
    let missing = app.get("/slides/nope/print").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("no slide deck called “nope”"), "{}", missing.body);
}

#[tokio::test]
async fn in_a_class_students_print_their_own_values_and_visitors_are_sent_to_join() {
    let app = ClassApp::start().await;
    let ann = app.join("Ann").await;
    let teacher = app.instructor().await;
    // Ann asks for her stack: her pages then carry her own port block.
    let started = app.send("POST", "/stack/start", Some(&ann), None).await;
    assert_eq!(started.status, 303, "{}", started.body);
    let path = format!("/slides/{DECK}/print");
    let visitor = app.send("GET", &path, None, None).await;
    assert_eq!(visitor.status, 303);
    assert_eq!(visitor.headers["location"], "/join");
    for cookie in [&ann, &teacher] {
        let print = app.send("GET", &path, Some(cookie), None).await;
        assert_eq!(print.status, StatusCode::OK, "{}", print.body);
        // A slide with per-viewer values reads the same as on the viewer's own slide page.
        let course = app.state.course();
        let Some(Ok(deck)) = course.deck(DECK) else { panic!("built-in deck") };
        let valued = deck.slides.iter().find(|s| s.html.contains("{{ url:")).expect("a slide with values");
        let page = app.send("GET", &format!("/slides/{DECK}/{}", valued.number), Some(cookie), None).await;
        let body = slide_body(&page.body);
        if cookie == &ann {
            assert!(!body.contains("{{ url:") && body.contains("class.example:"), "Ann's own values: {body}");
        }
        assert!(print.body.contains(body), "slide {} as this viewer sees it", valued.number);
    }
}
