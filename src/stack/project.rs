//! Which stack a command works on: a lab's `stack.yml` (from the course content) or a file
//! given with `--stack`, the project name, and the student's workspace folder.

use crate::course::{ContentError, Files};
use std::path::{Path, PathBuf};

/// A stack file's text and where relative paths in it resolve.
#[derive(Debug, Clone)]
pub struct StackSource {
    /// Name used in error messages (`labs/x/stack.yml` or the path given).
    pub file: String,
    /// The file's text.
    pub text: String,
    /// Folder for relative bind mounts and env files.
    pub dir: PathBuf,
    /// The lab it belongs to, if any.
    pub lab: Option<String>,
}

/// The default project name for a student.
pub fn default_project(student: &str) -> String {
    format!("lab-{student}")
}

/// The student's workspace for `project` (their site copy and logs).
pub fn workspace_dir(project: &str) -> PathBuf {
    crate::paths::data_dir().join("workspaces").join(project)
}

/// Picks the lab whose stack to use: the one named, or the only lab that has a stack.
pub fn choose_lab(files: &Files, wanted: Option<&str>) -> Result<String, ContentError> {
    let with_stack: Vec<String> = files.lab_ids().into_iter().filter(|id| files.contains(&format!("labs/{id}/stack.yml"))).collect();
    match wanted {
        Some(id) if with_stack.iter().any(|l| l == id) => Ok(id.to_owned()),
        Some(id) => Err(ContentError::file(format!("labs/{id}/stack.yml"), format!("lab `{id}` has no stack file"))
            .with_fix(format!("labs with a stack: {}", list(&with_stack)))),
        None if with_stack.len() == 1 => Ok(with_stack[0].clone()),
        None => Err(ContentError::file("labs/", "more than one lab (or none) has a stack.yml")
            .with_fix(format!("pick one with --lab; labs with a stack: {}", list(&with_stack)))),
    }
}

fn list(ids: &[String]) -> String {
    if ids.is_empty() { "none".into() } else { ids.join(", ") }
}

/// A stack file of a lab (`stack.yml`, or another name such as `stack-classic.yml`);
/// relative paths resolve against the workspace.
pub fn from_lab(files: &Files, lab: &str, name: &str, workspace: &Path) -> Result<StackSource, ContentError> {
    let file = format!("labs/{lab}/{name}");
    if !files.contains(&file) {
        let known: Vec<&str> = files.paths().filter_map(|p| p.strip_prefix(&format!("labs/{lab}/"))).filter(|p| p.starts_with("stack") && p.ends_with(".yml")).collect();
        return Err(ContentError::file(&file, "no such stack file").with_fix(format!("the lab has: {}", known.join(", "))));
    }
    Ok(StackSource { text: files.text(&file)?.to_owned(), file, dir: workspace.to_owned(), lab: Some(lab.to_owned()) })
}

/// A stack file on disk; relative paths resolve against its folder.
pub fn from_file(path: &Path) -> Result<StackSource, ContentError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ContentError::file(&display, format!("cannot read the stack file: {e}")))?;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), Path::to_owned);
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    Ok(StackSource { file: display, text, dir, lab: None })
}
