//! Differential test against upstream lighter: every file of the corpus in
//! `tests/fixtures/lighter/corpus/` is rendered by lab and compared, field by field, with
//! what lighter itself rendered for it (`expected/`, recorded by running lighter; see the
//! README there). A file lighter refused must be refused by lab too.
//!
//! The differences lab keeps on purpose are normalised away here, and only these: lighter's
//! checksum label and its appid docker parameter (lab has its own checksum label), the
//! random deploy keys (checked for shape instead), JSON-text env values (compared as JSON,
//! since Python 2's dict order is its hash order), and `.inf`/`.nan` outside env (lighter
//! sent JSON that Marathon cannot parse; lab refuses the file). Two files differ on purpose
//! and are checked for lab's documented behaviour instead (see `DELIBERATE`).

use lab::marathon::site::{self, CHECKSUM_LABEL, Env};
use serde_json::Value;
use std::path::{Path, PathBuf};

struct CorpusEnv;

impl Env for CorpusEnv {
    fn var(&self, name: &str) -> Option<String> {
        (name == "LAB_CORPUS_VAR").then(|| "from-env".to_owned())
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lighter")
}

fn corpus_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).expect("corpus folder").map(|e| e.expect("entry").path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            corpus_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yml") && path.file_name().is_some_and(|n| n != "globals.yml") {
            out.push(path);
        }
    }
}

/// Removes lighter's own additions that lab deliberately does not make.
fn normalise_lighter(mut app: Value) -> Value {
    if let Some(labels) = app.get_mut("labels").and_then(Value::as_object_mut) {
        labels.remove("com.meltwater.lighter.checksum");
        if labels.is_empty() {
            app.as_object_mut().map(|o| o.remove("labels"));
        }
    }
    if let Some(docker) = app.pointer_mut("/container/docker").and_then(Value::as_object_mut)
        && let Some(Value::Array(params)) = docker.get_mut("parameters")
    {
        params.retain(|p| !p["value"].as_str().is_some_and(|v| v.starts_with("com.meltwater.lighter.appid=")));
        if params.is_empty() {
            docker.remove("parameters");
        }
    }
    app
}

fn normalise_lab(mut app: Value) -> Value {
    if let Some(labels) = app.get_mut("labels").and_then(Value::as_object_mut) {
        labels.remove(CHECKSUM_LABEL);
        if labels.is_empty() {
            app.as_object_mut().map(|o| o.remove("labels"));
        }
    }
    app
}

/// Paths where the two differ, with both values.
fn differences(path: &str, lab: &Value, lighter: &Value, out: &mut Vec<String>) {
    match (lab, lighter) {
        (Value::Object(a), Value::Object(b)) => {
            for key in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
                let child = format!("{path}.{key}");
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => differences(&child, x, y, out),
                    (x, y) => out.push(format!("{child}: lab {x:?}, lighter {y:?}")),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                differences(&format!("{path}[{i}]"), x, y, out);
            }
        }
        (Value::String(a), Value::String(b)) if a != b => {
            if b == "<random: 44-char base64 deploy key>" {
                if !(a.len() == 44 && lab::marathon::secrets::decode_key(a).is_ok()) {
                    out.push(format!("{path}: lab {a:?} is not a 44-char base64 key"));
                }
                return;
            }
            // JSON text in env (lists and maps): Python 2's key order was its hash order.
            match (serde_json::from_str::<Value>(a), serde_json::from_str::<Value>(b)) {
                (Ok(x), Ok(y)) if (x.is_object() || x.is_array()) && x == y && a.contains(", ") == b.contains(", ") => {}
                _ => out.push(format!("{path}: lab {a:?}, lighter {b:?}")),
            }
        }
        // The same number, and the same kind (an int stays an int, a float a float).
        (Value::Number(a), Value::Number(b)) if a.is_f64() != b.is_f64() || a.as_f64() != b.as_f64() => out.push(format!("{path}: lab {a}, lighter {b}")),
        (Value::Number(_), Value::Number(_)) => {}
        (a, b) if a != b => out.push(format!("{path}: lab {a}, lighter {b}")),
        _ => {}
    }
}

/// Where lab differs from lighter on purpose (the README's "Where lab differs" lists them).
const DELIBERATE: &[&str] = &[
    // lighter crashed on any image with a digest, even without %{lighter.version}.
    "variables/image-digest.yml",
    // lighter sent 20-digit numbers Marathon cannot read; lab refuses them at their line.
    "yaml11/int-forms.yml",
];

#[test]
fn lab_accepts_digest_images_that_lighter_crashed_on() {
    let root = fixtures().join("corpus");
    let app = site::render(&root.join("variables/image-digest.yml"), "image-digest.yml", &root, &CorpusEnv).expect("renders");
    assert!(app.app["container"]["docker"]["image"].as_str().is_some_and(|i| i.starts_with("nginx@sha256:")));
}

#[test]
fn numbers_past_64_bits_are_refused_and_the_other_integer_forms_match() {
    let root = fixtures().join("corpus");
    let err = site::render(&root.join("yaml11/int-forms.yml"), "int-forms.yml", &root, &CorpusEnv).unwrap_err();
    assert_eq!(err.location(), "int-forms.yml:8:16");
    assert!(err.message.contains("too large"), "{err}");
    // Without the two huge numbers, everything else is lighter's output.
    let copy = tempfile::tempdir().expect("temp dir");
    std::fs::copy(root.join("globals.yml"), copy.path().join("globals.yml")).expect("copy globals");
    let text = std::fs::read_to_string(root.join("yaml11/int-forms.yml")).expect("corpus file");
    let trimmed: String = text.lines().filter(|l| !l.trim_start().starts_with("big")).map(|l| format!("{l}\n")).collect();
    std::fs::create_dir_all(copy.path().join("yaml11")).expect("mkdir");
    std::fs::write(copy.path().join("yaml11/int-forms.yml"), trimmed).expect("write");
    let app = site::render(&copy.path().join("yaml11/int-forms.yml"), "int-forms.yml", copy.path(), &CorpusEnv).expect("renders");
    let expected = std::fs::read_to_string(fixtures().join("expected/yaml11/int-forms.yml.json")).expect("expected");
    let mut lighter: Value = serde_json::from_str(&expected).expect("json");
    for key in ["bigPositive", "bigNegative"] {
        lighter.as_object_mut().map(|o| o.remove(key));
    }
    let mut diffs = Vec::new();
    differences("", &normalise_lab(app.app), &normalise_lighter(lighter), &mut diffs);
    assert!(diffs.is_empty(), "{diffs:#?}");
}

#[test]
fn every_corpus_file_renders_as_lighter_rendered_it() {
    let root = fixtures().join("corpus");
    let mut files = Vec::new();
    corpus_files(&root, &mut files);
    assert!(files.len() >= 60, "the corpus is there ({} files)", files.len());
    let mut failures = Vec::new();
    let mut compared = 0;
    for file in &files {
        let relative = file.strip_prefix(&root).expect("inside the corpus").to_string_lossy().into_owned();
        if DELIBERATE.contains(&relative.as_str()) {
            compared += 1;
            continue;
        }
        let expected_json = fixtures().join("expected").join(format!("{relative}.json"));
        let expected_error = fixtures().join("expected").join(format!("{relative}.error.txt"));
        let rendered = site::render(file, &relative, &root, &CorpusEnv);
        if expected_error.is_file() {
            if let Ok(app) = rendered {
                let why = std::fs::read_to_string(&expected_error).unwrap_or_default();
                failures.push(format!("{relative}: lighter refused it ({}), lab rendered {}", why.trim(), app.app));
            }
            compared += 1;
            continue;
        }
        let text = std::fs::read_to_string(&expected_json).unwrap_or_else(|_| panic!("no expected output for {relative}"));
        let Ok(lighter) = serde_json::from_str::<Value>(&text) else {
            // Only inf-nan.yml: lighter wrote Infinity/NaN tokens Marathon cannot parse.
            assert!(text.contains("Infinity") || text.contains("NaN"), "{relative}: expected output is not JSON");
            match rendered {
                Err(e) => assert!(e.message.contains("cannot be sent to Marathon"), "{relative}: {e}"),
                Ok(app) => failures.push(format!("{relative}: lab rendered non-finite numbers it cannot send: {}", app.app)),
            }
            compared += 1;
            continue;
        };
        match rendered {
            Err(e) => failures.push(format!("{relative}: lighter rendered it, lab refused: {e}")),
            Ok(app) => {
                let mut diffs = Vec::new();
                differences("", &normalise_lab(app.app), &normalise_lighter(lighter), &mut diffs);
                failures.extend(diffs.into_iter().map(|d| format!("{relative}: {d}")));
            }
        }
        compared += 1;
    }
    assert_eq!(compared, files.len());
    assert!(failures.is_empty(), "{} difference(s) from lighter:\n{}", failures.len(), failures.join("\n"));
}
