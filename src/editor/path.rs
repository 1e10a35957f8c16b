//! Site paths as the editor receives them from a browser, checked before any file is
//! touched: relative, `/`-separated, no `.`/`..`/empty parts, no absolute or Windows forms,
//! no backslashes, NULs, control characters or `%` (a path is decoded once, by the web
//! layer; a second decoding must never be needed), no hidden or editor-temporary names,
//! and only the extensions `lab deploy` reads. Resolving one on disk follows symlinks only
//! while they stay inside the site folder, for every parent folder as for the file itself.

use super::EditorError;
use std::path::{Path, PathBuf};

/// The extensions of site files: lighter YAML and Marathon JSON.
pub const EXTENSIONS: &[&str] = &["yml", "yaml", "json"];

/// The longest path the editor accepts, in bytes.
const MAX_PATH_LEN: usize = 512;

/// A checked site path: relative to the site folder, parts separated by `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct SitePath(String);

impl SitePath {
    /// Checks `raw` (e.g. `sub/wolf3d.yml`).
    pub fn parse(raw: &str) -> Result<SitePath, EditorError> {
        problem(raw).map_or_else(|| Ok(SitePath(raw.to_owned())), |problem| Err(EditorError::BadPath { path: shown(raw), problem }))
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a `globals.yml` (merged into the files below it, never deployed).
    pub fn is_globals(&self) -> bool {
        crate::marathon::deploy::is_globals(Path::new(&self.0))
    }

    /// The folder part (`sub` for `sub/a.yml`, empty at the top).
    pub fn folder(&self) -> &str {
        self.0.rsplit_once('/').map_or("", |(dir, _)| dir)
    }

    /// The parts, in order.
    pub(super) fn parts(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// A path made from parts already read off the disk below the site folder.
    pub(super) fn from_disk(relative: &Path) -> Option<SitePath> {
        let parts: Option<Vec<&str>> = relative.components().map(|c| c.as_os_str().to_str()).collect();
        SitePath::parse(&parts?.join("/")).ok()
    }
}

impl std::fmt::Display for SitePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A path as it can be shown in a message: control characters escaped, cut when long.
fn shown(raw: &str) -> String {
    let escaped: String = raw.chars().flat_map(char::escape_debug).take(200).collect();
    escaped
}

/// What is wrong with `raw`, if anything.
fn problem(raw: &str) -> Option<String> {
    if raw.is_empty() {
        return Some("the path is empty".into());
    }
    if raw.len() > MAX_PATH_LEN {
        return Some(format!("the path is longer than {MAX_PATH_LEN} bytes"));
    }
    if raw.starts_with('/') || (raw.as_bytes().first().is_some_and(u8::is_ascii_alphabetic) && raw.as_bytes().get(1) == Some(&b':')) {
        return Some("it is an absolute path; name the file relative to the site folder, e.g. `wolf3d.yml`".into());
    }
    if raw.contains('\\') {
        return Some("it contains a backslash; separate folders with `/`".into());
    }
    if raw.chars().any(char::is_control) {
        return Some("it contains a control character".into());
    }
    if raw.contains('%') {
        return Some("it contains `%`: site file names are plain text, never URL-encoded".into());
    }
    for part in raw.split('/') {
        match part {
            "" => return Some("it has an empty part (`//` or a trailing `/`)".into()),
            "." | ".." => return Some(format!("`{part}` is not allowed: the editor works only inside the site folder")),
            _ if crate::course::files::is_ignored(part) => return Some(format!("`{part}` is a hidden or temporary name that lab does not deploy")),
            _ => {}
        }
    }
    let ext = Path::new(raw).extension().and_then(|e| e.to_str()).unwrap_or("");
    if !EXTENSIONS.contains(&ext) {
        return Some(format!("site files end in {}", EXTENSIONS.iter().map(|e| format!(".{e}")).collect::<Vec<_>>().join(", ")));
    }
    None
}

/// Where `path` is on disk below `root` (which must be canonical). Existing parts are
/// resolved one by one: a symlink is followed only when its target stays inside `root`, a
/// file in the middle or a folder at the end is refused. Parts that do not exist yet are
/// appended as written (they are plain names, checked by [`SitePath::parse`]).
pub(super) fn resolve(root: &Path, path: &SitePath) -> Result<PathBuf, EditorError> {
    let refuse = |problem: String| EditorError::BadPath { path: path.to_string(), problem };
    let parts: Vec<&str> = path.parts().collect();
    let mut current = root.to_owned();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let next = current.join(part);
        let so_far = parts[..=i].join("/");
        let meta = match std::fs::symlink_metadata(&next) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(parts[i + 1..].iter().fold(next, |p, rest| p.join(rest)));
            }
            Err(e) => return Err(EditorError::io(&so_far, e)),
        };
        let real = if meta.file_type().is_symlink() {
            let target = std::fs::canonicalize(&next).map_err(|_| refuse(format!("`{so_far}` is a symlink to nothing (or a loop)")))?;
            if !target.starts_with(root) {
                return Err(refuse(format!("`{so_far}` is a symlink that leads out of the site folder")));
            }
            target
        } else {
            next
        };
        let is_dir = std::fs::metadata(&real).map_err(|e| EditorError::io(&so_far, e))?.is_dir();
        match (last, is_dir) {
            (false, false) => return Err(refuse(format!("`{so_far}` is a file, not a folder"))),
            (true, true) => return Err(refuse("it is a folder, not a file".into())),
            _ => {}
        }
        current = real;
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(raw: &str) -> String {
        match SitePath::parse(raw) {
            Err(EditorError::BadPath { problem, .. }) => problem,
            other => panic!("{raw:?} was not refused: {other:?}"),
        }
    }

    #[test]
    fn plain_relative_site_files_are_accepted() {
        for ok in ["a.yml", "sub/b.yaml", "deep/er/c.json", "globals.yml", "with space.yml", "ünï.yml"] {
            assert_eq!(SitePath::parse(ok).unwrap().as_str(), ok);
        }
        assert!(SitePath::parse("sub/globals.yml").unwrap().is_globals());
        assert_eq!(SitePath::parse("sub/x/b.yml").unwrap().folder(), "sub/x");
        assert_eq!(SitePath::parse("b.yml").unwrap().folder(), "");
    }

    #[test]
    fn path_attacks_are_refused_with_a_reason() {
        assert!(refused("../a.yml").contains("`..`"));
        assert!(refused("sub/../../a.yml").contains("`..`"));
        assert!(refused("./a.yml").contains("`.`"));
        assert!(refused("/etc/passwd.yml").contains("absolute"));
        assert!(refused("C:/x.yml").contains("absolute"));
        assert!(refused("sub\\..\\a.yml").contains("backslash"));
        assert!(refused("a\0.yml").contains("control"));
        assert!(refused("%2e%2e/a.yml").contains("URL-encoded"));
        assert!(refused("..%2fa.yml").contains("URL-encoded"));
        assert!(refused("sub//a.yml").contains("empty part"));
        assert!(refused("").contains("empty"));
        assert!(refused("a.txt").contains(".yml"));
        assert!(refused("a.yml.sh").contains(".yml"));
        assert!(refused("noext").contains(".yml"));
        assert!(refused(".hidden.yml").contains("hidden"));
        assert!(refused(".git/config.yml").contains("hidden"));
        assert!(refused("a.yml~").contains("temporary"));
        assert!(refused(&format!("{}.yml", "a".repeat(600))).contains("longer"));
    }

    #[test]
    fn symlinks_out_of_the_site_are_refused_for_files_and_parent_folders() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.yml"), "x").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/real.yml"), "x").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.yml"), root.join("out.yml")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("outdir")).unwrap();
        std::os::unix::fs::symlink(root.join("sub/real.yml"), root.join("inside.yml")).unwrap();
        std::os::unix::fs::symlink(root.join("nothing.yml"), root.join("dangling.yml")).unwrap();
        let resolve = |raw: &str| resolve(&root, &SitePath::parse(raw).unwrap());
        let problem = |raw: &str| match resolve(raw) {
            Err(EditorError::BadPath { problem, .. }) => problem,
            other => panic!("{raw} was not refused: {other:?}"),
        };
        assert!(problem("out.yml").contains("leads out"));
        assert!(problem("outdir/secret.yml").contains("leads out"), "a parent folder that leads out");
        assert!(problem("outdir/new.yml").contains("leads out"), "also for a file that does not exist yet");
        assert!(problem("dangling.yml").contains("to nothing"));
        assert!(problem("sub/real.yml/x.yml").contains("not a folder"));
        std::fs::create_dir(root.join("folder.yml")).unwrap();
        assert!(problem("folder.yml").contains("is a folder"));
        assert_eq!(resolve("inside.yml").unwrap(), root.join("sub/real.yml"), "a symlink within the site is followed");
        assert_eq!(resolve("new/deeper/n.yml").unwrap(), root.join("new/deeper/n.yml"));
    }
}
