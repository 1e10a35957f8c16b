//! Labs: `labs/<id>/lab.yml` (title, summary, deck, ordered steps, exercises) plus one
//! Markdown file per step in `labs/<id>/steps/<step>.md`, and the optional rules that
//! explain failing criteria (`labs/<id>/diagnoses.yml`, see [`super::diagnoses`]).

use super::checks::CheckSpec;
use super::diagnoses::Diagnoses;
use super::error::{ContentError, parse_yaml};
use super::files::Files;
use super::markdown;
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::HashSet;

/// `lab.yml` as an author writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LabFile {
    title: String,
    summary: String,
    #[serde(default)]
    deck: Option<Spanned<String>>,
    steps: Vec<Spanned<String>>,
    #[serde(default)]
    exercises: Vec<ExerciseFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExerciseFile {
    id: Spanned<String>,
    title: String,
    step: Spanned<String>,
    #[serde(default)]
    requires: Option<Spanned<String>>,
    #[serde(default)]
    checks: Vec<CheckSpec>,
    #[serde(default)]
    edit: Option<Spanned<String>>,
    #[serde(default)]
    kind: ExerciseKind,
}

/// What an exercise checks: the student's work, or the environment it runs in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExerciseKind {
    /// A student task (the default): counted in the student's progress.
    #[default]
    Task,
    /// An environment check (`kind: environment`, e.g. `stack-ready`): shown as the
    /// stack's state, never counted among the student's exercises.
    Environment,
}

/// A loaded, rendered lab.
#[derive(Debug, Clone)]
pub struct Lab {
    /// Folder name under `labs/`; used in URLs and on the command line.
    pub id: String,
    /// Human title.
    pub title: String,
    /// One or two sentences, plain text.
    pub summary: String,
    /// Id of the lab's slide deck, if it has one.
    pub deck: Option<String>,
    /// Steps in order.
    pub steps: Vec<Step>,
    /// Exercises, in the order the author listed them.
    pub exercises: Vec<Exercise>,
    /// The rules that explain failing criteria from the live system (`diagnoses.yml`).
    pub diagnoses: Diagnoses,
}

/// One page of the lab guide.
#[derive(Debug, Clone)]
pub struct Step {
    /// Step id (file stem).
    pub id: String,
    /// 1-based position; the number in the URL.
    pub number: usize,
    /// From the step's `# Title` line.
    pub title: String,
    /// The rendered page body (without the title heading).
    pub html: String,
}

/// Something a student must achieve.
#[derive(Debug, Clone)]
pub struct Exercise {
    /// Id used by `lab check <id>`.
    pub id: String,
    /// Human title.
    pub title: String,
    /// Id of the step it belongs to.
    pub step: String,
    /// Another exercise that must pass first (an environment check such as `stack-ready`);
    /// when it fails, that is reported as the environment's problem, not the student's.
    pub requires: Option<String>,
    /// What is checked.
    pub checks: Vec<CheckSpec>,
    /// The site file the student edits for it (`edit: demo-webapp.yml`, relative to the
    /// site folder): the step page shows the site editor beside the instructions with this
    /// file open (created when the student first saves it).
    pub edit: Option<String>,
    /// A student task or an environment check.
    pub kind: ExerciseKind,
}

impl Exercise {
    /// Whether this checks the environment rather than the student's work.
    pub fn is_environment(&self) -> bool {
        self.kind == ExerciseKind::Environment
    }

    /// Whether it counts in the student's progress: a task with checks to pass.
    pub fn counts_as_task(&self) -> bool {
        !self.is_environment() && !self.checks.is_empty()
    }
}

impl Lab {
    /// Loads lab `id` from `files`; `decks` are the deck ids that exist.
    pub fn load(id: &str, files: &Files, decks: &HashSet<String>) -> Result<Lab, ContentError> {
        let path = format!("labs/{id}/lab.yml");
        if !is_valid_id(id) {
            return Err(
                ContentError::file(&path, format!("`{id}` is not a valid lab id"))
                    .with_fix("name the folder with lowercase letters, digits and dashes"),
            );
        }
        let text = files.text(&path)?;
        let file: LabFile = parse_yaml(&path, text, 0)?;
        let at = |spanned: &Spanned<String>, message: String| {
            ContentError::at(
                &path,
                text,
                spanned.referenced.line(),
                spanned.referenced.column(),
                message,
            )
        };

        if let Some(deck) = &file.deck
            && !decks.contains(&deck.value)
        {
            return Err(
                at(deck, format!("deck `{}` does not exist", deck.value)).with_fix(format!(
                    "create slides/{}.md or correct the name",
                    deck.value
                )),
            );
        }

        let mut steps = Vec::with_capacity(file.steps.len());
        let mut seen = HashSet::new();
        for (i, step) in file.steps.iter().enumerate() {
            if !seen.insert(step.value.as_str()) {
                return Err(at(step, format!("step `{}` is listed twice", step.value)));
            }
            let step_path = format!("labs/{id}/steps/{}.md", step.value);
            if !files.contains(&step_path) {
                return Err(at(
                    step,
                    format!("step `{}` has no file {step_path}", step.value),
                )
                .with_fix("create the file or correct the step id"));
            }
            steps.push(load_step(
                &step.value,
                i + 1,
                &step_path,
                files.text(&step_path)?,
            )?);
        }
        if steps.is_empty() {
            return Err(ContentError::file(&path, "the lab has no steps")
                .with_fix("list at least one step under `steps:`"));
        }

        let mut exercises = Vec::with_capacity(file.exercises.len());
        let mut exercise_ids = HashSet::new();
        for ex in &file.exercises {
            if !is_valid_id(&ex.id.value) {
                return Err(at(
                    &ex.id,
                    format!("`{}` is not a valid exercise id", ex.id.value),
                )
                .with_fix("use lowercase letters, digits and dashes"));
            }
            if !exercise_ids.insert(ex.id.value.as_str()) {
                return Err(at(
                    &ex.id,
                    format!("exercise `{}` is defined twice", ex.id.value),
                ));
            }
            if !seen.contains(ex.step.value.as_str()) {
                return Err(at(
                    &ex.step,
                    format!(
                        "exercise `{}` belongs to step `{}`, which is not in `steps:`",
                        ex.id.value, ex.step.value
                    ),
                )
                .with_fix(format!(
                    "use one of: {}",
                    file.steps
                        .iter()
                        .map(|s| s.value.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            for check in &ex.checks {
                check.validate(&|c: &CheckSpec, message: String| {
                    ContentError::at(
                        &path,
                        text,
                        c.kind.referenced.line(),
                        c.kind.referenced.column(),
                        format!("exercise `{}`: {message}", ex.id.value),
                    )
                })?;
            }
            if let Some(edit) = &ex.edit
                && ex.kind == ExerciseKind::Environment
            {
                return Err(at(edit, format!("exercise `{}` checks the environment (`kind: environment`); it has no site file to edit", ex.id.value))
                    .with_fix("remove `edit:`, or make it a student task by removing `kind: environment`"));
            }
            if let Some(edit) = &ex.edit
                && let Some(problem) = edit_problem(&edit.value)
            {
                return Err(at(
                    edit,
                    format!(
                        "exercise `{}`: `edit: {}` {problem}",
                        ex.id.value, edit.value
                    ),
                )
                .with_fix(
                    "name a site file relative to the site folder, e.g. `edit: wolf3d.yml`",
                ));
            }
            exercises.push(Exercise {
                id: ex.id.value.clone(),
                title: ex.title.clone(),
                step: ex.step.value.clone(),
                requires: ex.requires.as_ref().map(|r| r.value.clone()),
                checks: ex.checks.clone(),
                edit: ex.edit.as_ref().map(|e| e.value.clone()),
                kind: ex.kind,
            });
        }
        for ex in &file.exercises {
            if let Some(req) = &ex.requires
                && (!exercise_ids.contains(req.value.as_str()) || req.value == ex.id.value)
            {
                return Err(at(
                    req,
                    format!(
                        "exercise `{}` requires `{}`, which is not another exercise of this lab",
                        ex.id.value, req.value
                    ),
                ));
            }
        }

        let diagnoses = Diagnoses::load(id, files)?;
        Ok(Lab {
            id: id.to_owned(),
            title: file.title,
            summary: file.summary.trim().to_owned(),
            deck: file.deck.map(|d| d.value),
            steps,
            exercises,
            diagnoses,
        })
    }

    /// The step with 1-based `number`.
    pub fn step(&self, number: usize) -> Option<&Step> {
        number.checked_sub(1).and_then(|i| self.steps.get(i))
    }

    /// The site file the step's exercises ask the student to edit, if one does.
    pub fn edit_of(&self, step_id: &str) -> Option<&str> {
        self.exercises
            .iter()
            .filter(|e| e.step == step_id)
            .find_map(|e| e.edit.as_deref())
    }

    /// The exercises that belong to `step_id`.
    pub fn exercises_of<'a>(&'a self, step_id: &'a str) -> impl Iterator<Item = &'a Exercise> + 'a {
        self.exercises.iter().filter(move |e| e.step == step_id)
    }

    /// The exercise with `id`.
    pub fn exercise(&self, id: &str) -> Option<&Exercise> {
        self.exercises.iter().find(|e| e.id == id)
    }
}

/// Renders a step file; its first line must be the `# Title` heading.
fn load_step(id: &str, number: usize, path: &str, text: &str) -> Result<Step, ContentError> {
    let first = text.lines().position(|l| !l.trim().is_empty());
    let title = first
        .and_then(|i| text.lines().nth(i))
        .and_then(|l| l.strip_prefix("# "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let (Some(first), Some(title)) = (first, title) else {
        return Err(ContentError::at(
            path,
            text,
            first.map_or(1, |i| i as u64 + 1),
            1,
            "a step must start with a `# Title` line",
        )
        .with_fix("add a level-one heading as the first line"));
    };
    let body: String = text
        .lines()
        .skip(first + 1)
        .flat_map(|l| [l, "\n"])
        .collect();
    let base = path.rsplit_once('/').map_or("", |(dir, _)| dir);
    let title = markdown::render(&format!("# {title}"), base)
        .first_heading
        .unwrap_or_else(|| title.to_owned());
    Ok(Step {
        id: id.to_owned(),
        number,
        title,
        html: markdown::render(&body, base).html,
    })
}

/// Ids used in URLs and on the command line: `[a-z0-9][a-z0-9-]*`.
pub fn is_valid_id(id: &str) -> bool {
    id.chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Why `edit:` cannot name a site file: it must be a plain relative path (no `.`, `..`,
/// empty parts, backslashes or leading `/`) ending in `.yml`, `.yaml` or `.json`.
fn edit_problem(path: &str) -> Option<&'static str> {
    let plain = !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && path
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != ".." && !p.starts_with('.'));
    let site = [".yml", ".yaml", ".json"]
        .iter()
        .any(|ext| path.ends_with(ext));
    match (plain, site) {
        (false, _) => Some("is not a plain path inside the site folder"),
        (true, false) => Some("is not a site file (.yml, .yaml or .json)"),
        (true, true) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(entries: &[(&str, &str)]) -> Files {
        Files::from_entries(
            entries
                .iter()
                .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec())),
        )
    }

    fn decks() -> HashSet<String> {
        HashSet::from(["intro".to_owned()])
    }

    const GOOD: &str = "title: Demo\nsummary: A demo lab.\ndeck: intro\nsteps:\n  - start\n  - finish\nexercises:\n  - id: do-it\n    title: Do it\n    step: finish\n";

    #[test]
    fn loads_steps_in_order_with_titles_and_exercises() {
        let f = files(&[
            ("labs/demo/lab.yml", GOOD),
            ("labs/demo/steps/start.md", "# Start *here*\n\nHello.\n"),
            ("labs/demo/steps/finish.md", "\n# Finish\nBye.\n"),
        ]);
        let lab = Lab::load("demo", &f, &decks()).unwrap();
        assert_eq!(
            lab.steps
                .iter()
                .map(|s| (s.number, s.title.as_str()))
                .collect::<Vec<_>>(),
            vec![(1, "Start here"), (2, "Finish")]
        );
        assert!(lab.steps[0].html.contains("<p>Hello.</p>"));
        assert!(
            !lab.steps[0].html.contains("<h1"),
            "title is not repeated in the body"
        );
        assert_eq!(
            lab.exercises_of("finish")
                .map(|e| e.id.as_str())
                .collect::<Vec<_>>(),
            vec!["do-it"]
        );
        assert_eq!(lab.deck.as_deref(), Some("intro"));
    }

    #[test]
    fn unknown_keys_are_reported_with_position() {
        let f = files(&[("labs/demo/lab.yml", "title: T\nsumary: x\nsteps: [a]\n")]);
        let err = Lab::load("demo", &f, &decks()).unwrap_err();
        assert_eq!(err.location(), "labs/demo/lab.yml:2:1");
        assert!(err.message.contains("unknown field `sumary`"), "{err}");
    }

    #[test]
    fn a_missing_step_file_points_at_the_step_entry() {
        let f = files(&[
            ("labs/demo/lab.yml", GOOD),
            ("labs/demo/steps/start.md", "# S\n"),
        ]);
        let err = Lab::load("demo", &f, &decks()).unwrap_err();
        assert_eq!(err.location(), "labs/demo/lab.yml:6:5");
        assert!(err.message.contains("labs/demo/steps/finish.md"), "{err}");
        assert_eq!(err.source_line.as_deref(), Some("  - finish"));
    }

    #[test]
    fn an_exercise_on_an_unknown_step_is_an_error() {
        let text = GOOD.replace("step: finish", "step: nowhere");
        let f = files(&[
            ("labs/demo/lab.yml", &text),
            ("labs/demo/steps/start.md", "# S\n"),
            ("labs/demo/steps/finish.md", "# F\n"),
        ]);
        let err = Lab::load("demo", &f, &decks()).unwrap_err();
        assert_eq!(err.location(), "labs/demo/lab.yml:10:11");
        assert!(
            err.fix.as_deref().unwrap_or("").contains("start, finish"),
            "{err}"
        );
    }

    #[test]
    fn environment_exercises_are_marked_and_validated() {
        let text = "title: T\nsummary: s\nsteps: [a]\nexercises:\n  - id: ready\n    title: R\n    step: a\n    kind: environment\n    checks:\n      - kind: marathon-up\n  - id: x\n    title: X\n    step: a\n    requires: ready\n    checks:\n      - kind: marathon-up\n";
        let f = files(&[("labs/demo/lab.yml", text), ("labs/demo/steps/a.md", "# A\n")]);
        let lab = Lab::load("demo", &f, &decks()).expect("loads");
        let kinds: Vec<(bool, bool)> = lab.exercises.iter().map(|e| (e.is_environment(), e.counts_as_task())).collect();
        assert_eq!(kinds, [(true, false), (false, true)]);
        let typo = text.replace("kind: environment", "kind: enviroment");
        let f = files(&[("labs/demo/lab.yml", &typo), ("labs/demo/steps/a.md", "# A\n")]);
        assert!(Lab::load("demo", &f, &decks()).is_err());
        let edits = text.replace("kind: environment", "kind: environment\n    edit: x.yml");
        let f = files(&[("labs/demo/lab.yml", &edits), ("labs/demo/steps/a.md", "# A\n")]);
        let err = Lab::load("demo", &f, &decks()).unwrap_err();
        assert!(err.message.contains("checks the environment"), "{err}");
    }

    #[test]
    fn an_unknown_deck_is_an_error() {
        let f = files(&[
            ("labs/demo/lab.yml", GOOD),
            ("labs/demo/steps/start.md", "# S\n"),
            ("labs/demo/steps/finish.md", "# F\n"),
        ]);
        let err = Lab::load("demo", &f, &HashSet::new()).unwrap_err();
        assert_eq!(err.location(), "labs/demo/lab.yml:3:7");
    }

    #[test]
    fn a_step_without_title_is_an_error() {
        let f = files(&[
            ("labs/demo/lab.yml", GOOD),
            ("labs/demo/steps/start.md", "Hello\n"),
            ("labs/demo/steps/finish.md", "# F\n"),
        ]);
        let err = Lab::load("demo", &f, &decks()).unwrap_err();
        assert_eq!(err.location(), "labs/demo/steps/start.md:1:1");
    }

    #[test]
    fn duplicate_exercise_ids_are_rejected() {
        let text = format!("{GOOD}  - id: do-it\n    title: Again\n    step: start\n");
        let f = files(&[
            ("labs/demo/lab.yml", &text),
            ("labs/demo/steps/start.md", "# S\n"),
            ("labs/demo/steps/finish.md", "# F\n"),
        ]);
        let err = Lab::load("demo", &f, &decks()).unwrap_err();
        assert!(err.message.contains("defined twice"), "{err}");
        assert_eq!(err.position.map(|p| p.0), Some(11));
    }

    #[test]
    fn checks_are_read_and_validated_with_positions() {
        let text = "title: T\nsummary: s\nsteps: [a]\nexercises:\n  - id: ready\n    title: R\n    step: a\n    checks:\n      - kind: marathon-up\n  - id: x\n    title: X\n    step: a\n    requires: ready\n    checks:\n      - kind: marathon-app\n        image: nginx\n        instances: {min: 2}\n        hints: {network: Use BRIDGE.}\n      - kind: http\n        service_port: 8888\n";
        let f = files(&[
            ("labs/demo/lab.yml", text),
            ("labs/demo/steps/a.md", "# A\n"),
        ]);
        let lab = Lab::load("demo", &f, &decks()).unwrap();
        let x = lab.exercise("x").unwrap();
        assert_eq!(x.requires.as_deref(), Some("ready"));
        assert_eq!(x.checks.len(), 2);
        assert_eq!(x.checks[0].instances.unwrap().min, Some(2));

        let bad = text.replace("        service_port: 8888\n", "        path: /\n");
        let err = Lab::load(
            "demo",
            &files(&[
                ("labs/demo/lab.yml", &bad),
                ("labs/demo/steps/a.md", "# A\n"),
            ]),
            &decks(),
        )
        .unwrap_err();
        assert_eq!(err.location(), "labs/demo/lab.yml:19:15");
        assert!(
            err.message
                .contains("exercise `x`: a http check needs `service_port`"),
            "{err}"
        );

        let bad = text.replace("hints: {network:", "hints: {netwrk:");
        let err = Lab::load(
            "demo",
            &files(&[
                ("labs/demo/lab.yml", &bad),
                ("labs/demo/steps/a.md", "# A\n"),
            ]),
            &decks(),
        )
        .unwrap_err();
        assert!(err.message.contains("hint `netwrk`"), "{err}");

        let bad = text.replace("requires: ready", "requires: nothing");
        let err = Lab::load(
            "demo",
            &files(&[
                ("labs/demo/lab.yml", &bad),
                ("labs/demo/steps/a.md", "# A\n"),
            ]),
            &decks(),
        )
        .unwrap_err();
        assert_eq!(err.position.map(|p| p.0), Some(13), "{err}");

        let bad = text.replace(
            "        service_port: 8888\n",
            "        service_port: 8888\n        instances: 2\n",
        );
        let err = Lab::load(
            "demo",
            &files(&[
                ("labs/demo/lab.yml", &bad),
                ("labs/demo/steps/a.md", "# A\n"),
            ]),
            &decks(),
        )
        .unwrap_err();
        assert!(
            err.message
                .contains("`instances` does not apply to a http check"),
            "{err}"
        );

        let bad = text.replace("kind: http", "kind: ftp");
        let err = Lab::load(
            "demo",
            &files(&[
                ("labs/demo/lab.yml", &bad),
                ("labs/demo/steps/a.md", "# A\n"),
            ]),
            &decks(),
        )
        .unwrap_err();
        assert_eq!(err.position.map(|p| p.0), Some(19), "{err}");
    }

    #[test]
    fn ids_are_url_safe() {
        assert!(is_valid_id("mesos-marathon") && is_valid_id("wolf3d"));
        assert!(
            !is_valid_id("Wolf") && !is_valid_id("-x") && !is_valid_id("") && !is_valid_id("a/b")
        );
    }

    #[test]
    fn an_exercise_names_the_site_file_its_step_edits() {
        let text = "title: T\nsummary: s\nsteps: [a, b]\nexercises:\n  - id: x\n    title: X\n    step: a\n    edit: sub/wolf3d.yml\n";
        let f = files(&[
            ("labs/demo/lab.yml", text),
            ("labs/demo/steps/a.md", "# A\n"),
            ("labs/demo/steps/b.md", "# B\n"),
        ]);
        let lab = Lab::load("demo", &f, &decks()).unwrap();
        assert_eq!(
            lab.exercise("x").unwrap().edit.as_deref(),
            Some("sub/wolf3d.yml")
        );
        assert_eq!(
            (lab.edit_of("a"), lab.edit_of("b")),
            (Some("sub/wolf3d.yml"), None)
        );
        for bad in [
            "../x.yml",
            "/etc/x.yml",
            "a\\\\b.yml",
            "x.txt",
            ".hidden.yml",
            "a//b.yml",
        ] {
            let f = files(&[
                (
                    "labs/demo/lab.yml",
                    &text.replace("sub/wolf3d.yml", &format!("'{bad}'")),
                ),
                ("labs/demo/steps/a.md", "# A\n"),
                ("labs/demo/steps/b.md", "# B\n"),
            ]);
            let err = Lab::load("demo", &f, &decks()).unwrap_err();
            assert!(err.message.contains("`edit:"), "{bad}: {err}");
            assert_eq!(err.position.map(|p| p.0), Some(8), "{bad}");
        }
    }
}
