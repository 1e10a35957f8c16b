//! One student as the instructor sees them (`/instructor/students/{id}`): every criterion of
//! their latest results with its message and hint, their site files as saved next to what
//! Marathon runs from each, the end of each stack service's log, and their Marathon's apps
//! with deployments and tasks. Each part is read live and on its own: a Marathon that does
//! not answer or a stack that is stopped leaves that part "unavailable, because …" and the
//! rest of the page intact. No HTTP here.

use super::views::StackView;
use super::{ClassError, Classroom, ServiceLog};
use crate::marathon::site::{CHECKSUM_LABEL, ProcessEnv};
use crate::marathon::App;
use crate::store::{StoredResult, StudentId};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// How many lines of each service's log the page shows.
pub const LOG_LINES: usize = 40;
/// The largest site file shown (site files are a few KiB; the editor's own limit).
const MAX_SHOWN: u64 = 256 * 1024;
/// How many site files are shown at most (a workspace is a course's handful of files).
const MAX_FILES: usize = 100;

/// A part of the page, or why it cannot be shown right now.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase", tag = "state", content = "value")]
pub enum Section<T> {
    /// Read now.
    Shown(T),
    /// Not available, and why (in the instructor's words).
    Unavailable(String),
}

/// One exercise with the student's latest result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExerciseDetail {
    /// Exercise id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Their latest result (with every criterion, message and hint), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<StoredResult>,
}

/// How a saved site file stands against what Marathon runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Deployed {
    /// Marathon runs exactly what is saved (same checksum).
    Same,
    /// Marathon runs the app, from another version of the file.
    Differs,
    /// Marathon has no app with the file's id.
    NotRunning,
    /// The saved file does not render, so it cannot be deployed.
    DoesNotRender,
    /// Marathon could not be asked.
    Unknown,
}

impl Deployed {
    /// What the page says.
    pub fn label(self) -> &'static str {
        match self {
            Deployed::Same => "deployed: Marathon runs this version",
            Deployed::Differs => "saved, not deployed: Marathon runs another version",
            Deployed::NotRunning => "not running in Marathon",
            Deployed::DoesNotRender => "does not render",
            Deployed::Unknown => "Marathon cannot be asked",
        }
    }

    /// A short word for styling and tests.
    pub fn as_str(self) -> &'static str {
        match self {
            Deployed::Same => "same",
            Deployed::Differs => "differs",
            Deployed::NotRunning => "not-running",
            Deployed::DoesNotRender => "does-not-render",
            Deployed::Unknown => "unknown",
        }
    }
}

/// One site file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteFileDetail {
    /// Its name in the site folder (`site/demo-webapp.yml`).
    pub file: String,
    /// The text as saved (or why it cannot be read).
    pub saved: Section<String>,
    /// The app id it renders to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// Where it stands.
    pub deployed: Deployed,
    /// Why it does not render (file:line and what to do).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The definition Marathon runs for that app, as JSON, when it differs from the saved one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running: Option<String>,
}

/// One task of an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskDetail {
    /// Task id.
    pub id: String,
    /// `TASK_RUNNING`, ...
    pub state: String,
    /// Health: `None` without health checks.
    pub healthy: Option<bool>,
    /// Agent host and ports.
    pub host: String,
    /// Host ports.
    pub ports: Vec<u16>,
}

/// One Marathon app.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AppDetail {
    /// App id.
    pub id: String,
    /// Instances asked for.
    pub instances: u64,
    /// The image, when it is a Docker app.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Task counts.
    pub counts: crate::marathon::app::TaskCounts,
    /// Deployments under way.
    pub deployments: Vec<String>,
    /// Its tasks.
    pub tasks: Vec<TaskDetail>,
    /// Marathon's `lastTaskFailure` message, when a task failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<String>,
}

/// Everything the instructor's page of one student shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudentDetail {
    /// The student.
    pub id: i64,
    /// Their name.
    pub name: String,
    /// Their stack.
    pub stack: StackView,
    /// Each exercise with their latest result.
    pub exercises: Vec<ExerciseDetail>,
    /// Their site files.
    pub site: Section<Vec<SiteFileDetail>>,
    /// The end of each service's log.
    pub logs: Section<Vec<ServiceLog>>,
    /// Their Marathon's apps.
    pub marathon: Section<Vec<AppDetail>>,
}

impl Classroom {
    /// The name of `student`, or `None` if they are not in this class: one query, for the
    /// instructor's actions on a student that need no more than that.
    pub async fn member_name(&self, student: StudentId) -> Result<Option<String>, ClassError> {
        Ok(self.inner.store.member(student).await?.filter(|m| m.class == self.id()).map(|m| m.display_name))
    }

    /// The instructor's view of `student`, or `None` if they are not in this class.
    pub async fn student_detail(&self, student: StudentId) -> Result<Option<StudentDetail>, ClassError> {
        let Some(name) = self.member_name(student).await? else { return Ok(None) };
        let lab_id = self.lab_id();
        let mut results: HashMap<String, StoredResult> = self.inner.store.latest_results(student, &lab_id).await?.into_iter().map(|r| (r.exercise.clone(), r)).collect();
        let exercises = match (self.inner.lab)() {
            Some(lab) => lab.exercises.iter().map(|e| ExerciseDetail { id: e.id.clone(), title: e.title.clone(), result: results.remove(&e.id) }).collect(),
            None => Vec::new(),
        };
        let stack = self.stack_view(student).await;
        let record = self.inner.store.student_stack(student).await?;
        let marathon = self.check_target(student).map(|t| t.marathon);
        let apps = match &marathon {
            Some(m) => m.apps().await.map_err(|e| format!("Marathon does not answer: {e}")),
            None => Err("the stack is not running".to_owned()),
        };
        let site = match &record {
            Some(r) => Section::Shown(site_files(&crate::marathon::workspace::site_dir(&crate::stack::project::workspace_dir(&r.project)), apps.as_ref().ok())),
            None => Section::Unavailable("the student has not started a stack yet, so there is no site folder".into()),
        };
        let logs = match &record {
            Some(r) => match self.inner.provisioner.logs(&r.project, LOG_LINES).await {
                Ok(logs) => Section::Shown(logs),
                Err(e) => Section::Unavailable(format!("the engine did not give the logs: {e}")),
            },
            None => Section::Unavailable("no stack yet".into()),
        };
        let marathon = match apps {
            Ok(apps) => Section::Shown(apps.iter().map(app_detail).collect()),
            Err(why) => Section::Unavailable(why),
        };
        Ok(Some(StudentDetail { id: student.0, name, stack, exercises, site, logs, marathon }))
    }
}

/// Reads and renders each site file of `site` and compares it with the running apps.
fn site_files(site: &Path, apps: Option<&Vec<App>>) -> Vec<SiteFileDetail> {
    let Ok(files) = crate::marathon::deploy::collect(&[site.to_path_buf()]) else { return Vec::new() };
    let renderer = crate::marathon::site::Renderer::default();
    files
        .into_iter()
        .take(MAX_FILES)
        .map(|f| {
            let saved = match std::fs::metadata(&f.path) {
                Ok(m) if m.len() > MAX_SHOWN => Section::Unavailable(format!("{} bytes: too large to show", m.len())),
                _ => match crate::course::files::read_text_file(&f.path, &f.display) {
                    Ok(text) => Section::Shown(text),
                    Err(e) => Section::Unavailable(e.to_string()),
                },
            };
            let rendered = renderer.render(&f.path, &f.display, &f.root, &ProcessEnv);
            let (app, deployed, error, running) = match rendered {
                Err(e) => (None, Deployed::DoesNotRender, Some(e.to_string()), None),
                Ok(r) => {
                    let running = apps.map(|apps| apps.iter().find(|a| crate::marathon::client::normalize_id(a.id()) == r.id));
                    let (deployed, definition) = match running {
                        None => (Deployed::Unknown, None),
                        Some(None) => (Deployed::NotRunning, None),
                        Some(Some(a)) if a.label(CHECKSUM_LABEL) == Some(r.checksum.as_str()) => (Deployed::Same, None),
                        Some(Some(a)) => (Deployed::Differs, Some(definition(a.raw()))),
                    };
                    (Some(r.id), deployed, None, definition)
                }
            };
            SiteFileDetail { file: f.display, saved, app, deployed, error, running }
        })
        .collect()
}

/// The part of an app Marathon runs that a site file defines: without the status Marathon
/// adds (tasks, counts, deployments, versions, failures).
fn definition(raw: &Value) -> String {
    const STATUS: [&str; 11] = ["tasks", "tasksRunning", "tasksStaged", "tasksHealthy", "tasksUnhealthy", "deployments", "version", "versionInfo", "lastTaskFailure", "readinessCheckResults", "taskStats"];
    let mut app = raw.clone();
    if let Some(map) = app.as_object_mut() {
        for key in STATUS {
            map.remove(key);
        }
    }
    serde_json::to_string_pretty(&app).unwrap_or_default()
}

fn app_detail(app: &App) -> AppDetail {
    AppDetail {
        id: app.id().to_owned(),
        instances: app.instances(),
        image: app.image().map(str::to_owned),
        counts: app.counts(),
        deployments: app.deployments(),
        tasks: app
            .tasks()
            .into_iter()
            .map(|t| TaskDetail { healthy: (!t.health.is_empty()).then(|| t.is_healthy()), id: t.id, state: t.state, host: t.host, ports: t.ports })
            .collect(),
        last_failure: app.raw().get("lastTaskFailure").and_then(|f| f.get("message")).and_then(Value::as_str).filter(|m| !m.is_empty()).map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn each_site_file_says_whether_marathon_runs_it() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site");
        std::fs::create_dir(&site).unwrap();
        write(&site, "a.yml", "service:\n  id: /demo/a\n  instances: 1\n");
        write(&site, "b.yml", "service:\n  id: /demo/b\n  instances: 2\n");
        write(&site, "c.yml", "service:\n  id: /demo/c\n");
        write(&site, "broken.yml", "service: [\n");
        let renderer = crate::marathon::site::Renderer::default();
        let a = renderer.render(&site.join("a.yml"), "site/a.yml", &site, &ProcessEnv).unwrap();
        let apps = vec![
            App::new(json!({"id": "/demo/a", "instances": 1, "labels": {CHECKSUM_LABEL: a.checksum}})),
            App::new(json!({"id": "/demo/b", "instances": 3, "labels": {CHECKSUM_LABEL: "old"}, "tasks": [{"id": "t1"}]})),
        ];
        let files = site_files(&site, Some(&apps));
        let by_name: HashMap<&str, &SiteFileDetail> = files.iter().map(|f| (f.file.as_str(), f)).collect();
        assert_eq!(by_name["site/a.yml"].deployed, Deployed::Same);
        assert_eq!(by_name["site/a.yml"].running, None);
        assert_eq!(by_name["site/b.yml"].deployed, Deployed::Differs);
        let running = by_name["site/b.yml"].running.as_deref().unwrap();
        assert!(running.contains("\"instances\": 3") && !running.contains("tasks"), "{running}");
        assert_eq!(by_name["site/c.yml"].deployed, Deployed::NotRunning);
        assert_eq!(by_name["site/broken.yml"].deployed, Deployed::DoesNotRender);
        assert!(by_name["site/broken.yml"].error.as_deref().unwrap().contains("site/broken.yml"), "{:?}", by_name["site/broken.yml"].error);
        assert_eq!(by_name["site/broken.yml"].saved, Section::Shown("service: [\n".into()));
        // Without Marathon, nothing is claimed about what runs.
        assert!(site_files(&site, None).iter().filter(|f| f.deployed != Deployed::DoesNotRender).all(|f| f.deployed == Deployed::Unknown));
    }

    #[test]
    fn apps_show_their_tasks_health_and_last_failure() {
        let app = App::new(json!({
            "id": "/wolf3d", "instances": 2, "container": {"type": "DOCKER", "docker": {"image": "srenkens/wolfenstein3d"}},
            "deployments": [{"id": "d1"}],
            "tasks": [{"id": "t1", "state": "TASK_RUNNING", "host": "agent", "ports": [31000], "healthCheckResults": [{"alive": false}]},
                      {"id": "t2", "state": "TASK_STAGING", "host": "agent", "ports": [31001]}],
            "lastTaskFailure": {"message": "Failed to launch container", "state": "TASK_FAILED"}
        }));
        let d = app_detail(&app);
        assert_eq!(d.deployments, vec!["d1".to_owned()]);
        assert_eq!(d.tasks[0].healthy, Some(false));
        assert_eq!(d.tasks[1].healthy, None);
        assert_eq!(d.last_failure.as_deref(), Some("Failed to launch container"));
        assert_eq!(d.image.as_deref(), Some("srenkens/wolfenstein3d"));
    }
}
