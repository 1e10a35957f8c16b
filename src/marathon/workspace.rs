//! The student's copy of a lab's site: `lab up` puts it in the workspace the first time, so
//! the student edits their own files and a later `up` never overwrites their work.

use crate::course::Files;
use std::path::{Path, PathBuf};

/// The site folder inside a workspace.
pub fn site_dir(workspace: &Path) -> PathBuf {
    workspace.join("site")
}

/// Copies `labs/<lab>/site/**` into `<workspace>/site` unless that folder already exists.
/// Returns the files written (empty when the site was already there or the lab has none).
pub fn install_site(files: &Files, lab: &str, workspace: &Path) -> std::io::Result<Vec<PathBuf>> {
    let target = site_dir(workspace);
    let prefix = format!("labs/{lab}/site/");
    let sources: Vec<(&str, &[u8])> = files.paths().filter_map(|p| Some((p.strip_prefix(&prefix)?, files.bytes(p)?))).collect();
    if target.exists() || sources.is_empty() {
        return Ok(Vec::new());
    }
    // Written next to the target, then renamed into place: an interrupted first `up` leaves
    // no half-copied site that a later `up` would take for the student's own.
    let staging = workspace.join(format!(".site-{}", std::process::id()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging)?;
    }
    for (relative, bytes) in &sources {
        let path = staging.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, bytes)?;
    }
    std::fs::rename(&staging, &target)?;
    Ok(sources.iter().map(|(relative, _)| target.join(relative)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_site_is_copied_once_and_never_overwritten() {
        let files = Files::from_entries([
            ("labs/l/site/globals.yml".to_owned(), b"a: 1".to_vec()),
            ("labs/l/site/sub/app.yml".to_owned(), b"b: 2".to_vec()),
            ("labs/l/lab.yml".to_owned(), b"x".to_vec()),
        ]);
        let ws = tempfile::tempdir().unwrap();
        let written = install_site(&files, "l", ws.path()).unwrap();
        assert_eq!(written.len(), 2);
        assert_eq!(std::fs::read_to_string(ws.path().join("site/sub/app.yml")).unwrap(), "b: 2");
        std::fs::write(ws.path().join("site/sub/app.yml"), "edited").unwrap();
        assert!(install_site(&files, "l", ws.path()).unwrap().is_empty());
        assert_eq!(std::fs::read_to_string(ws.path().join("site/sub/app.yml")).unwrap(), "edited");
        assert!(install_site(&files, "other", tempfile::tempdir().unwrap().path()).unwrap().is_empty());
    }
}
