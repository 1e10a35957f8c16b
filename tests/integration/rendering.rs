//! Snapshots of rendered HTML: a slide page and a step page built from fixture content, so a
//! change to Markdown options, anchors or templates shows up as a reviewable diff.
//! Update with `INSTA_UPDATE=always cargo test --test integration rendering::` and review the diff.

use crate::support::TestApp;

const FIXTURE: &[(&str, &str)] = &[
    (
        "labs/fixture/lab.yml",
        "title: Fixture lab\nsummary: Rendering fixture.\ndeck: fixture\nsteps: [only]\nexercises:\n  - id: try-it\n    title: Try it\n    step: only\n  - id: checked\n    title: Checked one\n    step: only\n    checks:\n      - kind: marathon-up\n",
    ),
    (
        "labs/fixture/steps/only.md",
        "# The only step\n\nIntro with a \"quote\" -- and ~~strike~~.\n\n## Run it {#run}\n\n```sh\nlab up\n```\n\n| port | what |\n|---|---|\n| 8080 | Marathon |\n\n- [x] done\n- [ ] todo\n\nA footnote[^1].\n\n[^1]: Footnote text.\n\n![diagram](../images/d.svg)\n",
    ),
    ("labs/fixture/images/d.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
    ("slides/fixture.md", "---\ntitle: Fixture deck\n---\n# Welcome\n\n```yaml\nservice:\n  id: /demo/app\n```\nNote: notes stay out\n---\n## Second\n"),
];

/// The part of a page between `<main` and `</main>`, so the layout chrome does not churn
/// every snapshot.
fn main_of(html: &str) -> &str {
    let start = html.find("<main").expect("main");
    let end = html.find("</main>").expect("/main") + "</main>".len();
    &html[start..end]
}

#[tokio::test]
async fn slide_page_snapshot() {
    let app = TestApp::with_files(FIXTURE).await;
    let res = app.get("/slides/fixture/1").await;
    insta::assert_snapshot!(main_of(&res.body));
}

#[tokio::test]
async fn step_page_snapshot() {
    let app = TestApp::with_files(FIXTURE).await;
    let res = app.get("/labs/fixture/steps/1").await;
    insta::assert_snapshot!(main_of(&res.body));
}
