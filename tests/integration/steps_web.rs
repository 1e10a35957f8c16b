//! Step pages, the lab overview and the home page tell the student's progress truthfully:
//! each step's exercise status near the top, every exercise's status on the overview, the
//! environment check shown as the stack's state and never counted as an exercise, steps
//! opened as plain text. Highlighted code keeps per-student values fillable.

use lab::checks::{ExerciseResult, Status};
use crate::support::TestApp;

const LAB: &str = "mesos-marathon";

/// Records `status` for `exercise` as the solo student's latest result.
async fn record(app: &TestApp, exercise: &str, status: Status) {
    let student = app.state.store().student("tester").await.expect("student");
    let result = ExerciseResult { exercise: exercise.into(), status, criteria: Vec::new(), blocked_by: None };
    app.state.store().record_result(student, LAB, &result).await.expect("recorded");
}

/// The compact summary of a step page (panics when there is none).
fn summary(body: &str) -> &str {
    let start = body.find(r#"<ul class="exercise-summary""#).unwrap_or_else(|| panic!("no summary in {body}"));
    let end = body[start..].find("</ul>").map_or(body.len(), |e| start + e);
    &body[start..end]
}

#[tokio::test]
async fn each_step_shows_its_exercises_status_near_the_top() {
    let app = TestApp::builtin().await;
    let page = app.get("/labs/mesos-marathon/steps/5").await;
    let top = summary(&page.body);
    assert!(top.contains(r##"href="#exercise-wolf3d""##), "{top}");
    assert!(top.contains("Run wolf3d in BRIDGE mode on port 8888: <span class=\"word\">not checked yet</span>"), "{top}");
    // Near the top: before the step's text, not only in the box at the bottom.
    let summary_at = page.body.find("exercise-summary").unwrap_or(usize::MAX);
    let first_paragraph = page.body.find("<h1>").and_then(|h| page.body[h..].find("<p>").map(|p| h + p)).unwrap_or(0);
    assert!(summary_at < first_paragraph, "the summary comes after the step text");
    assert!(summary_at < page.body.find(r#"class="exercises""#).unwrap_or(0));

    record(&app, "wolf3d", Status::Failed).await;
    let page = app.get("/labs/mesos-marathon/steps/5").await;
    let top = summary(&page.body);
    assert!(top.contains(r#"<li class="failed""#), "{top}");
    assert!(top.contains("not done yet"), "{top}");
    assert!(top.contains(r#"data-passed="passed""#), "lab.js needs the words: {top}");

    // The environment check is the stack's state, in words about the stack.
    let first = app.get("/labs/mesos-marathon/steps/1").await;
    assert!(summary(&first.body).contains("Your stack: <span class=\"word\">not checked yet</span>"), "{}", summary(&first.body));
    record(&app, "stack-ready", Status::Passed).await;
    let first = app.get("/labs/mesos-marathon/steps/1").await;
    assert!(summary(&first.body).contains("Your stack: <span class=\"word\">ready</span>"), "{}", summary(&first.body));
    assert!(summary(&first.body).contains(r#"data-passed="ready""#));

    // A step without exercises has no summary.
    let wrap_up = app.get("/labs/mesos-marathon/steps/6").await;
    assert!(!wrap_up.body.contains("exercise-summary"));
}

#[tokio::test]
async fn the_overview_lists_each_exercise_with_its_status() {
    let app = TestApp::builtin().await;
    record(&app, "scale-demo", Status::Passed).await;
    record(&app, "wolf3d", Status::Pending).await;
    record(&app, "stack-ready", Status::Failed).await;
    let page = app.get("/labs/mesos-marathon").await;
    let body = &page.body;
    let list_start = body.find(r#"<ul class="exercise-list">"#).expect("exercise list");
    let list = &body[list_start..body[list_start..].find("</ul>").map_or(body.len(), |e| list_start + e)];
    let item = |id: &str| {
        let at = list.find(&format!(r#"data-exercise="{id}""#)).unwrap_or_else(|| panic!("{id} missing from {list}"));
        &list[at..list[at..].find("</li>").map_or(list.len(), |e| at + e)]
    };
    assert!(item("scale-demo").contains(r#"ex-status passed"#), "{}", item("scale-demo"));
    assert!(item("wolf3d").contains(r#"ex-status pending"#), "{}", item("wolf3d"));
    assert!(!list.contains("stack-ready"), "the environment check is not a student exercise: {list}");
    assert!(body.contains("1 of 2 exercises passed"), "{body}");
    assert!(body.contains(r#"<p class="stack-state failed">Your stack: <strong>not ready</strong>"#), "{body}");
}

#[tokio::test]
async fn home_counts_only_student_exercises_and_steps_as_text() {
    let app = TestApp::builtin().await;
    let home = app.get("/").await;
    assert!(home.body.contains("0 of 2 exercises passed"), "{}", home.body);
    assert!(home.body.contains("0 of 6 steps opened"), "{}", home.body);
    assert!(home.body.contains("Your stack: not checked yet"), "{}", home.body);

    app.get("/labs/mesos-marathon/steps/1").await;
    record(&app, "stack-ready", Status::Passed).await;
    let home = app.get("/").await;
    // A ready stack is not an exercise passed.
    assert!(home.body.contains("0 of 2 exercises passed"), "{}", home.body);
    assert!(home.body.contains("Your stack: ready"), "{}", home.body);
    assert!(home.body.contains("1 of 6 steps opened"), "{}", home.body);
    assert!(!home.body.contains(r#"class="progress""#), "steps opened is not a progress bar: {}", home.body);

    record(&app, "wolf3d", Status::Passed).await;
    let home = app.get("/").await;
    assert!(home.body.contains("1 of 2 exercises passed"), "{}", home.body);
}

#[tokio::test]
async fn highlighted_code_keeps_values_fillable_and_unknown_code_escaped() {
    let app = TestApp::with_files(&[
        ("labs/demo/lab.yml", "title: Demo\nsummary: s\nsteps: [a]\n"),
        ("labs/demo/steps/a.md", "# A\n\n```yaml\nmarathon: \"http://{{ host }}:8080/\"\n```\n\n```bash\ncurl http://{{host}}:8080/v2/apps # list\n```\n\n```nosuchlang\n<script>alert(1)</script>\n```\n"),
    ])
    .await;
    let page = app.get("/labs/demo/steps/1").await;
    let body = &page.body;
    assert!(body.contains(r#"<code class="language-yaml highlighted"><span class="hl-"#), "{body}");
    assert!(body.contains(r#"<code class="language-bash highlighted">"#), "{body}");
    assert!(!body.contains("{{ host }}") && !body.contains("{{host}}"), "a placeholder was not filled: {body}");
    assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{body}");
    assert!(!body.contains("<script>alert(1)"), "{body}");
}
