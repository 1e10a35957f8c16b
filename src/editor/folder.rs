//! The site folder's files: listing, reading, and every change to them — written atomically
//! (a temporary file in the same folder, fsynced, renamed over the old one), guarded by the
//! ETag the editor last saw (If-Match), and recorded in the history first, so that neither a
//! crash, nor a concurrent save, nor the student's own terminal loses a version. Changes in
//! one workspace are serialised by a lock file in its history folder.

use super::history::{History, Version, VersionKind};
use super::path::{SitePath, resolve};
use super::{EditorError, MAX_FILE_SIZE, bare_etag, etag, unquote};
use serde::Serialize;
use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One student's site folder (`<workspace>/site/`) and its history.
#[derive(Debug, Clone)]
pub struct SiteFolder {
    /// The site folder, canonical: every resolved path must stay below it.
    root: PathBuf,
    pub(super) history: History,
}

/// A site file as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileInfo {
    /// Relative to the site folder.
    pub path: SitePath,
    /// Size in bytes.
    pub size: u64,
    /// Last modified, milliseconds since 1970 (UTC).
    pub modified_ms: u64,
    /// The ETag of its content (quoted); send it back as If-Match to change the file.
    pub etag: String,
    /// Whether it is a `globals.yml`, merged into the files below it.
    pub globals: bool,
}

/// A site file with its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileText {
    /// Path, size, ETag.
    #[serde(flatten)]
    pub info: FileInfo,
    /// The text (a byte-order mark dropped).
    pub text: String,
}

impl SiteFolder {
    /// The site folder at `site` (it must exist); its history goes beside it, in
    /// `.site-history/` of the same parent folder (the workspace).
    pub fn open(site: &Path) -> Result<SiteFolder, EditorError> {
        let shown = site.display().to_string();
        let root = fs::canonicalize(site).map_err(|e| EditorError::io(&shown, e))?;
        if !root.is_dir() {
            return Err(EditorError::BadPath { path: shown, problem: "the site folder is not a folder".into() });
        }
        let Some(workspace) = root.parent() else {
            return Err(EditorError::BadPath { path: shown, problem: "the site folder needs a parent folder to keep its history in".into() });
        };
        let history = History::new(workspace.join(".site-history"));
        Ok(SiteFolder { root, history })
    }

    /// The site folder of a workspace (`<workspace>/site`).
    pub fn for_workspace(workspace: &Path) -> Result<SiteFolder, EditorError> {
        SiteFolder::open(&crate::marathon::workspace::site_dir(workspace))
    }

    /// The site folder (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every site file (`*.yml`, `*.yaml`, `*.json`, `globals.yml` included; hidden and
    /// temporary files left out), sorted by path. Symlinks are listed only when they stay
    /// inside the site folder.
    pub fn list(&self) -> Result<Vec<FileInfo>, EditorError> {
        self.files()?
            .into_iter()
            .filter_map(|(site, real)| {
                let meta = fs::metadata(&real).ok()?;
                // An oversized file cannot be opened, so its ETag need not cost a full read.
                let tag = if meta.len() > MAX_FILE_SIZE { format!("\"size-{}-{}\"", meta.len(), modified_ms(&meta)) } else { etag(&fs::read(&real).ok()?) };
                Some(Ok(FileInfo { globals: site.is_globals(), size: meta.len(), modified_ms: modified_ms(&meta), etag: tag, path: site }))
            })
            .collect()
    }

    /// Site files with their real paths, sorted (see [`SiteFolder::list`]).
    pub(super) fn files(&self) -> Result<Vec<(SitePath, PathBuf)>, EditorError> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        walk(&self.root, &self.root, Path::new(""), &mut out, &mut seen).map_err(|e| EditorError::io(self.root.display(), e))?;
        out.sort();
        Ok(out)
    }

    /// The real path of a site path (checked, symlinks resolved inside the folder).
    pub(super) fn resolve(&self, site: &SitePath) -> Result<PathBuf, EditorError> {
        resolve(&self.root, site)
    }

    /// One file's text and ETag.
    pub fn read(&self, path: &str) -> Result<FileText, EditorError> {
        let site = SitePath::parse(path)?;
        let real = self.resolve(&site)?;
        // The size first: an oversized file is refused without reading it.
        if let Ok(meta) = fs::metadata(&real) {
            check_size(&site, usize::try_from(meta.len()).unwrap_or(usize::MAX))?;
        }
        let bytes = existing(&real, &site)?.ok_or_else(|| EditorError::NotFound { path: site.to_string() })?;
        check_size(&site, bytes.len())?;
        let text = crate::course::files::decode_text(site.as_str(), &bytes).map_err(|e| EditorError::NotText { path: site.to_string(), reason: e.to_string() })?.to_owned();
        Ok(FileText { info: info_of(site, &real, &bytes)?, text })
    }

    /// Writes `text` to `path`, creating it (and its folders) when `if_match` is absent or
    /// `none`, replacing it when `if_match` is its current ETag (or `*`). Anything else is a
    /// [`EditorError::Conflict`] and nothing is written. The text on disk before, when the
    /// editor had not seen it yet (written in a terminal), and the new text go to the
    /// history first.
    pub fn write(&self, path: &str, text: &str, if_match: Option<&str>) -> Result<FileInfo, EditorError> {
        self.replace(&SitePath::parse(path)?, text.as_bytes(), if_match, VersionKind::Saved)
    }

    /// Creates a new file; [`EditorError::Exists`] if there is one.
    pub fn create(&self, path: &str, text: &str) -> Result<FileInfo, EditorError> {
        self.write(path, text, None).map_err(|e| match e {
            EditorError::Conflict { path, current_etag: Some(_) } => EditorError::Exists { path },
            other => other,
        })
    }

    /// The one way files change: under the lock, check the precondition, keep history,
    /// then write atomically.
    pub(super) fn replace(&self, site: &SitePath, bytes: &[u8], if_match: Option<&str>, kind: VersionKind) -> Result<FileInfo, EditorError> {
        check_size(site, bytes.len())?;
        let _lock = self.lock()?;
        let real = self.resolve(site)?;
        let current = existing(&real, site)?;
        precondition(site, if_match, current.as_deref())?;
        if let Some(old) = &current {
            self.history.keep(site, old)?;
        }
        self.history.record(site, bytes, kind)?;
        if current.as_deref() != Some(bytes) {
            atomic_write(&real, bytes).map_err(|e| EditorError::io(site, e))?;
        }
        info_of(site.clone(), &real, bytes)
    }

    /// Renames `from` (whose ETag is `if_match`) to `to`, which must not exist. The history
    /// keeps `from` as deleted (restorable) and starts `to`'s with the moved text.
    pub fn rename(&self, from: &str, to: &str, if_match: Option<&str>) -> Result<FileInfo, EditorError> {
        let (from, to) = (SitePath::parse(from)?, SitePath::parse(to)?);
        let _lock = self.lock()?;
        let (real_from, real_to) = (self.resolve(&from)?, self.resolve(&to)?);
        let bytes = existing(&real_from, &from)?.ok_or_else(|| EditorError::Conflict { path: from.to_string(), current_etag: None })?;
        precondition(&from, if_match, Some(&bytes))?;
        if fs::symlink_metadata(&real_to).is_ok() {
            return Err(EditorError::Exists { path: to.to_string() });
        }
        self.history.keep(&from, &bytes)?;
        if let Some(parent) = real_to.parent() {
            fs::create_dir_all(parent).map_err(|e| EditorError::io(&to, e))?;
        }
        // A hard link fails when the target exists, so a file created meanwhile (in a
        // terminal) is never replaced, as a plain rename would. Where links are not
        // supported, a rename right after the check above is the next best thing.
        match fs::hard_link(&real_from, &real_to) {
            Ok(()) => fs::remove_file(&real_from).map_err(|e| EditorError::io(&from, e))?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(EditorError::Exists { path: to.to_string() }),
            Err(_) => fs::rename(&real_from, &real_to).map_err(|e| EditorError::io(&to, e))?,
        }
        self.history.record(&to, &bytes, VersionKind::Saved)?;
        self.history.record(&from, &bytes, VersionKind::Deleted)?;
        sync_dir(&real_to);
        info_of(to, &real_to, &bytes)
    }

    /// Deletes `path` (whose ETag is `if_match`, or `*`). Its text stays in the history as a
    /// deleted version, which [`SiteFolder::restore`] brings back.
    pub fn delete(&self, path: &str, if_match: Option<&str>) -> Result<Version, EditorError> {
        let site = SitePath::parse(path)?;
        let _lock = self.lock()?;
        let real = self.resolve(&site)?;
        let bytes = existing(&real, &site)?.ok_or_else(|| EditorError::NotFound { path: site.to_string() })?;
        precondition(&site, if_match, Some(&bytes))?;
        self.history.keep(&site, &bytes)?;
        let version = self.history.record(&site, &bytes, VersionKind::Deleted)?;
        fs::remove_file(&real).map_err(|e| EditorError::io(&site, e))?;
        if let Some(parent) = real.parent() {
            sync_dir(parent);
        }
        Ok(version)
    }

    /// Holds the workspace's editor lock until dropped: one change at a time, also across
    /// processes (two `lab serve` on one workspace).
    pub(super) fn lock(&self) -> Result<File, EditorError> {
        let dir = self.history.dir();
        fs::create_dir_all(dir).map_err(|e| EditorError::io(dir.display(), e))?;
        let path = dir.join("lock");
        let file = OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(|e| EditorError::io(path.display(), e))?;
        file.lock().map_err(|e| EditorError::io(path.display(), e))?;
        Ok(file)
    }
}

/// The file's bytes, `None` when it does not exist.
pub(super) fn existing(real: &Path, site: &SitePath) -> Result<Option<Vec<u8>>, EditorError> {
    match fs::read(real) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(EditorError::io(site, e)),
    }
}

fn check_size(site: &SitePath, len: usize) -> Result<(), EditorError> {
    let size = u64::try_from(len).unwrap_or(u64::MAX);
    if size > MAX_FILE_SIZE { Err(EditorError::TooLarge { path: site.to_string(), size, limit: MAX_FILE_SIZE }) } else { Ok(()) }
}

/// If-Match as the editor uses it: absent or `none` — the file must not exist; `*` — it
/// must exist; an ETag — the file's content must have exactly that ETag.
fn precondition(site: &SitePath, if_match: Option<&str>, current: Option<&[u8]>) -> Result<(), EditorError> {
    let wanted = if_match.map(unquote).filter(|v| *v != "none");
    let ok = match (wanted, current) {
        (None, None) | (Some("*"), Some(_)) => true,
        (Some(tag), Some(bytes)) => tag == bare_etag(bytes),
        _ => false,
    };
    if ok { Ok(()) } else { Err(EditorError::Conflict { path: site.to_string(), current_etag: current.map(etag) }) }
}

fn info_of(path: SitePath, real: &Path, bytes: &[u8]) -> Result<FileInfo, EditorError> {
    let meta = fs::metadata(real).map_err(|e| EditorError::io(&path, e))?;
    Ok(FileInfo { globals: path.is_globals(), size: meta.len(), modified_ms: modified_ms(&meta), etag: etag(bytes), path })
}

fn modified_ms(meta: &fs::Metadata) -> u64 {
    meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Writes `bytes` to `target` so that a reader (or a crash) sees the old content or the
/// new, never half of it: a temporary file in the same folder (hidden and `.tmp`, so
/// listings and `lab watch` ignore it), fsynced, renamed over `target`. The old file's
/// permissions are kept.
pub(super) fn atomic_write(target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let dir = target.parent().ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no parent folder"))?;
    fs::create_dir_all(dir)?;
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let temp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let written = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).open(&temp)?;
        if let Ok(meta) = fs::metadata(target) {
            file.set_permissions(meta.permissions())?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, target)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written?;
    sync_dir(dir);
    Ok(())
}

/// Makes a rename in `dir` durable. Best effort: some file systems refuse to fsync a folder,
/// and the file's own content is already on disk.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Collects site files below `dir` (real, canonical), named by `logical` (the path from the
/// site root as the student sees it, through symlinked folders).
fn walk(root: &Path, dir: &Path, logical: &Path, out: &mut Vec<(SitePath, PathBuf)>, seen: &mut HashSet<PathBuf>) -> std::io::Result<()> {
    if !seen.insert(dir.to_owned()) {
        return Ok(()); // a symlink loop, or a folder reached twice
    }
    for entry in fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if crate::course::files::is_ignored(name) {
            continue;
        }
        let path = entry.path();
        let real = if entry.file_type().is_ok_and(|t| t.is_symlink()) {
            match fs::canonicalize(&path) {
                Ok(target) if target.starts_with(root) => target,
                _ => continue, // leads out of the site, or to nothing
            }
        } else {
            path
        };
        let Ok(meta) = fs::metadata(&real) else { continue };
        let logical = logical.join(name);
        if meta.is_dir() {
            // A folder that cannot be read is left out rather than hiding the others.
            let _ = walk(root, &real, &logical, out, seen);
        } else if let Some(site) = SitePath::from_disk(&logical) {
            out.push((site, real));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
