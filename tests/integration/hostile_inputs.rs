//! The hostile-input corpus (tests/fixtures/hostile, written by its generate.py) through
//! every parser: stack files, site files and their globals, lab.yml, slide decks and
//! Marathon's event stream. For each file: no panic, done well within a bound (a hang
//! guard, not a speed target: budgets make every parser stop early), and when the input is
//! refused, the error names the file. Every failure is collected, so one run lists them all.

use lab::course::{Course, Files};
use lab::marathon::events::SseParser;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A hang guard, far above what any file takes: the slowest, 20 000 keys read by the
/// unoptimised debug build of the YAML readers, take 2-3 s alone and up to 9 s on two busy
/// cores; a runaway (exponential or quadratic work) takes minutes.
const BOUND: Duration = Duration::from_secs(30);

fn corpus(folder: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile").join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).map(|e| e.unwrap().path()).collect();
    files.sort();
    // `HOSTILE_ONLY=keys cargo test --test integration hostile_inputs::` runs the matching files only.
    if let Ok(only) = std::env::var("HOSTILE_ONLY") {
        files.retain(|f| f.to_string_lossy().contains(&only));
    }
    files
}

fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

/// Runs `parse` on every file of `folder`; `parse` returns the error text, if any, and the
/// name the error must contain. Returns the failures.
fn run(folder: &str, parse: impl Fn(&Path) -> (Option<String>, String)) -> Vec<String> {
    let files = corpus(folder);
    assert!(files.len() >= 20 || std::env::var_os("HOSTILE_ONLY").is_some(), "{folder}: the corpus is there ({} files)", files.len());
    let mut failures = Vec::new();
    let mut slowest: Vec<(Duration, String)> = Vec::new();
    for file in &files {
        let started = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| parse(file)));
        let took = started.elapsed();
        let name = format!("{folder}/{}", file.file_name().unwrap().to_string_lossy());
        slowest.push((took, name.clone()));
        match outcome {
            Err(_) => failures.push(format!("{name}: panicked")),
            Ok(_) if took > BOUND => failures.push(format!("{name}: took {took:?}")),
            Ok((Some(error), must_name)) if !error.contains(&must_name) => failures.push(format!("{name}: the error does not name {must_name}: {}", cut(&error))),
            Ok(_) => {}
        }
    }
    slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
    println!("{folder}: {} files; slowest: {:?}", files.len(), &slowest[..3.min(slowest.len())]);
    failures
}

fn cut(text: &str) -> String {
    text.chars().take(300).collect()
}

fn check(failures: Vec<String>) {
    assert!(failures.is_empty(), "{} hostile files were mishandled:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn stack_files() {
    let opts = lab::stack::ProjectOptions {
        project: "hostile".into(),
        student: "hostile".into(),
        port_base: Some(20000),
        stack_dir: std::env::temp_dir(),
        host: "localhost".into(),
        lab: None,
        workspace: None,
        env: HashMap::new(),
    };
    check(run("stack", |file| {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let error = match lab::stack::project::from_file(file) {
            Err(e) => Some(e.to_string()),
            Ok(source) => lab::stack::plan::plan(&source.file, &source.text, &opts).err().map(|e| e.to_string()),
        };
        (error, name)
    }));
}

struct NoEnv;
impl lab::marathon::site::Env for NoEnv {
    fn var(&self, _: &str) -> Option<String> {
        None
    }
}

#[test]
fn site_files() {
    check(run("site", |file| {
        let site = tempfile::tempdir().unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let copy = site.path().join(&name);
        std::fs::copy(file, &copy).unwrap();
        let display = format!("site/{name}");
        (lab::marathon::site::render(&copy, &display, site.path(), &NoEnv).err().map(|e| e.to_string()), display)
    }));
}

#[test]
fn globals_files_beside_a_plain_site_file() {
    check(run("globals", |file| {
        let site = tempfile::tempdir().unwrap();
        std::fs::copy(file, site.path().join("globals.yml")).unwrap();
        let app = site.path().join("app.yml");
        std::fs::write(&app, "service:\n  id: /plain\n  instances: 1\n  container:\n    docker:\n      image: busybox\n").unwrap();
        (lab::marathon::site::render(&app, "site/app.yml", site.path(), &NoEnv).err().map(|e| e.to_string()), "globals.yml".to_owned())
    }));
}

#[test]
fn lab_files() {
    check(run("lab", |file| {
        let id = stem(file);
        let lab_yml = format!("labs/{id}/lab.yml");
        let files = Files::from_entries([
            (lab_yml.clone(), std::fs::read(file).unwrap()),
            (format!("labs/{id}/steps/01-start.md"), b"# Start\n\nText.\n".to_vec()),
        ]);
        let course = Course::from_files(&files);
        let error = match course.lab(&id) {
            Some(Err(e)) => Some(e.to_string()),
            Some(Ok(_)) => None,
            None => Some(format!("lab {id} vanished from the course")),
        };
        // A step named in the file may be the one refused (`labs/<id>/steps/...`).
        (error, format!("labs/{id}/"))
    }));
}

#[test]
fn slide_decks() {
    check(run("deck", |file| {
        let id = stem(file);
        let path = format!("slides/{id}.md");
        let files = Files::from_entries([(path.clone(), std::fs::read(file).unwrap())]);
        let course = Course::from_files(&files);
        let error = match course.deck(&id) {
            Some(Err(e)) => Some(e.to_string()),
            Some(Ok(deck)) => {
                // Rendered slides keep no script an author did not write as text.
                let html: String = deck.slides.iter().map(|s| s.html.as_str()).collect();
                html.contains("<script").then(|| format!("{path}: a <script> element reached the page"))
            }
            None => Some(format!("{path}: deck vanished from the course")),
        };
        (error, path)
    }));
}

#[test]
fn marathon_event_streams() {
    check(run("events", |file| {
        let bytes = std::fs::read(file).unwrap();
        // Chunks of odd sizes, as a network delivers them.
        for chunk in [1usize, 7, 4096] {
            let mut parser = SseParser::default();
            let mut events = 0usize;
            for piece in bytes.chunks(chunk) {
                for event in parser.push(piece) {
                    let _ = (event.app_id(), event.deployment_id());
                    events += 1;
                }
            }
            assert!(events <= bytes.len() / 2 + 1, "no event is made from nothing");
        }
        (None, String::new())
    }));
}
