//! Services with `build:` against the real Docker engine: the image is built offline from a
//! context folder (`FROM` the local busybox test image), the container runs it, a second
//! `up` neither rebuilds nor recreates, a file `.dockerignore` leaves out changes nothing,
//! and a changed file rebuilds and recreates. Skips (with the reason) outside CI when no
//! engine is reachable.

use lab::stack::plan::{ProjectOptions, labels, plan};
use lab::stack::{Action, Engine, Plan, Progress, StackError, StackEvent, UpOptions, up};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;
use crate::support::docker::{ProjectGuard, busybox_image, engine_or_skip};

/// Remembers the build events of one `up`.
#[derive(Default)]
struct Builds(Mutex<Vec<String>>);

impl Progress for Builds {
    fn event(&self, event: StackEvent<'_>) {
        let line = match event {
            StackEvent::Build { image, line, .. } => format!("build {image}: {line}"),
            StackEvent::Built { image, .. } => format!("built {image}"),
            _ => return,
        };
        self.0.lock().unwrap().push(line);
    }
}

impl Builds {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

const DOCKERFILE: &str = "FROM lab-test/busybox:2\nARG GREETING=unset\nCOPY greeting.txt /greeting\nRUN echo \"$GREETING\" > /arg\nCMD [\"sh\", \"-c\", \"cat /greeting /arg; exec sleep 3600\"]\n";

const STACK: &str = "services:\n  app:\n    build:\n      context: app\n      args: {GREETING: bonjour}\n    stop_grace_period: 1s\n";

/// A stack folder with `stack.yml` and the `app` context.
fn stack_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    std::fs::create_dir(&app).unwrap();
    std::fs::write(app.join("Dockerfile"), DOCKERFILE).unwrap();
    std::fs::write(app.join("greeting.txt"), "hello\n").unwrap();
    std::fs::write(app.join(".dockerignore"), "*.log\n").unwrap();
    std::fs::write(app.join("notes.log"), "not sent\n").unwrap();
    std::fs::write(dir.path().join("stack.yml"), STACK).unwrap();
    dir
}

fn plan_in(dir: &Path, project: &str) -> Plan {
    let opts = ProjectOptions {
        project: project.to_owned(),
        student: "tess".into(),
        port_base: None,
        stack_dir: dir.to_owned(),
        host: "127.0.0.1".into(),
        lab: None,
        workspace: None,
        env: HashMap::new(),
    };
    let text = std::fs::read_to_string(dir.join("stack.yml")).unwrap();
    plan("stack.yml", &text, &opts).unwrap_or_else(|e| panic!("{e}"))
}

async fn image_id(engine: &Engine, image: &str) -> String {
    engine.docker().inspect_image(image).await.unwrap().id.unwrap()
}

async fn container_image(engine: &Engine, container: &str) -> String {
    engine.docker().inspect_container(container, None).await.unwrap().image.unwrap()
}

/// What the container printed, once it has printed `expected`.
async fn output_with(engine: &Engine, project: &str, expected: &str) -> String {
    use futures_util::StreamExt;
    let mut text = String::new();
    for _ in 0..50 {
        text.clear();
        let mut stream = Box::pin(lab::stack::status::logs(engine, project, "app", false).await.unwrap());
        while let Some(chunk) = stream.next().await {
            text.push_str(&chunk.unwrap());
        }
        if text.contains(expected) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the container never printed {expected:?}; it printed {text:?}");
}

#[tokio::test]
async fn up_builds_once_and_rebuilds_only_when_the_context_changes() {
    let Some(engine) = engine_or_skip().await else { return };
    busybox_image(&engine).await;
    let guard = ProjectGuard::new("build");
    let dir = stack_dir();
    let tag = format!("{}-app", guard.project);
    let container = format!("{}-app", guard.project);
    let builds = Builds::default();

    // First up: built, labelled with its build hash, and run.
    let plan1 = plan_in(dir.path(), &guard.project);
    assert_eq!(plan1.services[0].image, tag);
    let report = up(&engine, &plan1, &builds, &UpOptions::default()).await.expect("first up");
    assert_eq!(report.actions, vec![("app".to_owned(), Action::Created)]);
    let events = builds.take();
    assert!(events.iter().any(|e| e.starts_with(&format!("build {tag}: Step 1/"))), "{events:#?}");
    assert_eq!(events.last(), Some(&format!("built {tag}")));
    let first = image_id(&engine, &tag).await;
    let inspected = engine.docker().inspect_image(&tag).await.unwrap();
    let image_labels = inspected.config.unwrap().labels.unwrap();
    let expected_hash = lab::stack::build::build_hash(plan1.services[0].build.as_ref().unwrap()).unwrap();
    assert_eq!(image_labels[labels::BUILD_HASH], expected_hash);
    assert_eq!(image_labels[labels::PROJECT], guard.project);
    assert_eq!(container_image(&engine, &container).await, first, "the container runs the built image");
    let printed = output_with(&engine, &guard.project, "bonjour").await;
    assert!(printed.contains("hello"), "{printed}");

    // Second up: nothing to build, nothing to recreate.
    let report = up(&engine, &plan_in(dir.path(), &guard.project), &builds, &UpOptions::default()).await.expect("second up");
    assert_eq!(report.actions, vec![("app".to_owned(), Action::Kept)]);
    assert_eq!(builds.take(), Vec::<String>::new(), "no build progress when the context is unchanged");
    assert_eq!(image_id(&engine, &tag).await, first);

    // A file .dockerignore leaves out is not part of the context.
    std::fs::write(dir.path().join("app/notes.log"), "changed, still not sent\n").unwrap();
    let report = up(&engine, &plan_in(dir.path(), &guard.project), &builds, &UpOptions::default()).await.expect("third up");
    assert_eq!(report.actions, vec![("app".to_owned(), Action::Kept)]);
    assert!(builds.take().is_empty());

    // A changed file: rebuilt, and the container recreated from the new image.
    std::fs::write(dir.path().join("app/greeting.txt"), "hello again\n").unwrap();
    let report = up(&engine, &plan_in(dir.path(), &guard.project), &builds, &UpOptions::default()).await.expect("fourth up");
    assert_eq!(report.actions, vec![("app".to_owned(), Action::Recreated)]);
    assert!(builds.take().iter().any(|e| e == &format!("built {tag}")));
    let second = image_id(&engine, &tag).await;
    assert_ne!(second, first);
    assert_eq!(container_image(&engine, &container).await, second);
    output_with(&engine, &guard.project, "hello again").await;

    // A changed build arg counts too.
    std::fs::write(dir.path().join("stack.yml"), STACK.replace("bonjour", "salut")).unwrap();
    let report = up(&engine, &plan_in(dir.path(), &guard.project), &builds, &UpOptions::default()).await.expect("fifth up");
    assert_eq!(report.actions, vec![("app".to_owned(), Action::Recreated)]);
    output_with(&engine, &guard.project, "salut").await;
}

#[tokio::test]
async fn a_failing_build_names_the_image_the_service_and_the_output() {
    let Some(engine) = engine_or_skip().await else { return };
    busybox_image(&engine).await;
    let guard = ProjectGuard::new("buildfail");
    let dir = stack_dir();
    std::fs::write(dir.path().join("app/Dockerfile"), "FROM lab-test/busybox:2\nRUN echo about to fail && false\n").unwrap();
    let err = up(&engine, &plan_in(dir.path(), &guard.project), &Builds::default(), &UpOptions::default()).await.expect_err("the build fails");
    let StackError::Build { image, service, reason } = &err else { panic!("{err}") };
    assert_eq!((image.as_str(), service.as_str()), (format!("{}-app", guard.project).as_str(), "app"));
    assert!(reason.contains("about to fail"), "the builder's last output is quoted: {reason}");
    let text = err.to_string();
    assert!(text.starts_with(&format!("image {}-app (service app) could not be built: ", guard.project)), "{text}");
}
