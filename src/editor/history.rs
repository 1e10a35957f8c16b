//! Every version of every site file, kept in `<workspace>/.site-history/versions/<path>/` as
//! one plain file per version named `<unix-ms>-<kind>-<etag>.txt` (the name is the index),
//! newest [`MAX_VERSIONS`] per file. Versions are listed newest first, read, compared with
//! the current text as a unified diff (the `similar` crate), and restored — a restore is
//! itself a new version, and restoring a deleted file brings it back.

use super::folder::{FileInfo, SiteFolder, atomic_write, existing};
use super::path::SitePath;
use super::{EditorError, bare_etag, now_ms};
use serde::Serialize;
use std::fs;
use std::path::{Path, PathBuf};

/// How many versions of one file are kept; older ones are removed as new ones come.
pub const MAX_VERSIONS: usize = 200;

/// How a version came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VersionKind {
    /// Saved by the editor (or the text a rename moved here).
    Saved,
    /// The text the file had when it was deleted (or renamed away).
    Deleted,
    /// Written back from an older version.
    Restored,
    /// Found on disk before an editor change: written outside the editor (a terminal,
    /// another tool, `lab up`'s first copy) and kept so that it is not lost.
    External,
}

impl VersionKind {
    fn name(self) -> &'static str {
        match self {
            VersionKind::Saved => "saved",
            VersionKind::Deleted => "deleted",
            VersionKind::Restored => "restored",
            VersionKind::External => "external",
        }
    }

    fn from_name(name: &str) -> Option<VersionKind> {
        [VersionKind::Saved, VersionKind::Deleted, VersionKind::Restored, VersionKind::External].into_iter().find(|k| k.name() == name)
    }
}

/// One kept version of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Version {
    /// The version's id (`<unix-ms>-<kind>-<etag>`), to read, diff or restore it.
    pub id: String,
    /// When it was kept, milliseconds since 1970 (UTC).
    pub time_ms: u64,
    /// Size in bytes.
    pub size: u64,
    /// The ETag its text had (quoted, as files' ETags are).
    pub etag: String,
    /// Saved, deleted, restored or external.
    pub kind: VersionKind,
}

impl Version {
    /// Reads an id; `None` when it is not one.
    fn parse(id: &str, size: u64) -> Option<Version> {
        let mut parts = id.splitn(3, '-');
        let (ms, kind, tag) = (parts.next()?, parts.next()?, parts.next()?);
        let ok = ms.len() == 15 && ms.bytes().all(|b| b.is_ascii_digit()) && tag.len() == 16 && tag.bytes().all(|b| b.is_ascii_hexdigit());
        ok.then_some(())?;
        Some(Version { id: id.to_owned(), time_ms: ms.parse().ok()?, size, etag: format!("\"{tag}\""), kind: VersionKind::from_name(kind)? })
    }
}

/// A version with its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionText {
    /// Which version.
    #[serde(flatten)]
    pub version: Version,
    /// Its text.
    pub text: String,
}

/// A file that was deleted (or renamed away) and can be restored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeletedFile {
    /// Where it was.
    pub path: SitePath,
    /// Its last version: the text it had when deleted.
    pub version: Version,
}

/// The history folder of one workspace.
#[derive(Debug, Clone)]
pub(super) struct History {
    dir: PathBuf,
}

impl History {
    pub(super) fn new(dir: PathBuf) -> History {
        History { dir }
    }

    /// `<workspace>/.site-history`.
    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    fn versions_root(&self) -> PathBuf {
        self.dir.join("versions")
    }

    /// Where one file's versions are. Site paths are checked plain names, so joining them
    /// cannot leave the history folder.
    fn file_dir(&self, site: &SitePath) -> PathBuf {
        site.parts().fold(self.versions_root(), |p, part| p.join(part))
    }

    /// The file's versions, newest first.
    pub(super) fn versions(&self, site: &SitePath) -> Result<Vec<Version>, EditorError> {
        read_versions(&self.file_dir(site)).map_err(|e| EditorError::io(site, e))
    }

    /// Keeps `current` (the text on disk before a change) unless it already is the newest
    /// version: it was written outside the editor.
    pub(super) fn keep(&self, site: &SitePath, current: &[u8]) -> Result<(), EditorError> {
        let newest = self.versions(site)?.into_iter().next();
        let known = newest.is_some_and(|v| v.kind != VersionKind::Deleted && super::unquote(&v.etag) == bare_etag(current));
        if !known {
            self.record(site, current, VersionKind::External)?;
        }
        Ok(())
    }

    /// Keeps `bytes` as a new version. Saving the text the newest version already has adds
    /// nothing (a save without a change), but a delete or a restore always counts.
    pub(super) fn record(&self, site: &SitePath, bytes: &[u8], kind: VersionKind) -> Result<Version, EditorError> {
        let dir = self.file_dir(site);
        let versions = self.versions(site)?;
        let tag = bare_etag(bytes);
        if let Some(newest) = versions.first()
            && matches!(kind, VersionKind::Saved | VersionKind::External)
            && newest.kind != VersionKind::Deleted
            && super::unquote(&newest.etag) == tag
        {
            return Ok(newest.clone());
        }
        // Strictly after the newest, so ids sort in the order versions were made even when
        // two saves share a millisecond or the clock steps back.
        let ms = versions.first().map_or(0, |v| v.time_ms + 1).max(now_ms());
        let id = format!("{ms:015}-{}-{tag}", kind.name());
        atomic_write(&dir.join(format!("{id}.txt")), bytes).map_err(|e| EditorError::io(site, e))?;
        for old in versions.iter().skip(MAX_VERSIONS - 1) {
            let _ = fs::remove_file(dir.join(format!("{}.txt", old.id)));
        }
        Ok(Version { id, time_ms: ms, size: u64::try_from(bytes.len()).unwrap_or(u64::MAX), etag: format!("\"{tag}\""), kind })
    }

    /// One version's text.
    pub(super) fn text(&self, site: &SitePath, id: &str) -> Result<VersionText, EditorError> {
        let missing = || EditorError::NoVersion { path: site.to_string(), version: id.chars().take(80).collect() };
        // The id is checked before it is used as a file name.
        Version::parse(id, 0).ok_or_else(missing)?;
        let file = self.file_dir(site).join(format!("{id}.txt"));
        let bytes = match fs::read(&file) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(missing()),
            Err(e) => return Err(EditorError::io(site, e)),
        };
        let version = Version::parse(id, u64::try_from(bytes.len()).unwrap_or(u64::MAX)).ok_or_else(missing)?;
        let text = String::from_utf8(bytes).map_err(|e| EditorError::NotText { path: site.to_string(), reason: format!("version {id}: {e}") })?;
        Ok(VersionText { version, text })
    }

    /// Files whose newest version is a deletion, for which `exists` says no file is there.
    fn deleted(&self, exists: impl Fn(&SitePath) -> bool) -> Vec<DeletedFile> {
        let mut out = Vec::new();
        collect_deleted(&self.versions_root(), Path::new(""), &exists, &mut out);
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out
    }
}

fn read_versions(dir: &Path) -> std::io::Result<Vec<Version>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound || e.kind() == std::io::ErrorKind::NotADirectory => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut versions: Vec<Version> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name();
            let id = name.to_str()?.strip_suffix(".txt")?.to_owned();
            Version::parse(&id, e.metadata().ok()?.len())
        })
        .collect();
    versions.sort_by(|a, b| b.id.cmp(&a.id));
    Ok(versions)
}

fn collect_deleted(dir: &Path, logical: &Path, exists: &dyn Fn(&SitePath) -> bool, out: &mut Vec<DeletedFile>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.filter_map(Result::ok) {
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let logical = logical.join(entry.file_name());
        // A folder is a file's history when it holds versions; it may also hold the
        // histories of files in a folder that later took the same name.
        if let (Some(site), Ok(versions)) = (SitePath::from_disk(&logical), read_versions(&entry.path()))
            && let Some(newest) = versions.into_iter().next()
            && newest.kind == VersionKind::Deleted
            && !exists(&site)
        {
            out.push(DeletedFile { path: site, version: newest });
        }
        collect_deleted(&entry.path(), &logical, exists, out);
    }
}

impl SiteFolder {
    /// The versions of `path`, newest first (also for a deleted file).
    pub fn history(&self, path: &str) -> Result<Vec<Version>, EditorError> {
        self.history.versions(&SitePath::parse(path)?)
    }

    /// One version's text.
    pub fn version(&self, path: &str, id: &str) -> Result<VersionText, EditorError> {
        self.history.text(&SitePath::parse(path)?, id)
    }

    /// A unified diff from version `id` to the current text (to nothing when the file is
    /// deleted); empty when they are the same.
    pub fn diff(&self, path: &str, id: &str) -> Result<String, EditorError> {
        let site = SitePath::parse(path)?;
        let old = self.history.text(&site, id)?;
        let current = existing(&self.resolve(&site)?, &site)?;
        let new = current.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
        let now = if current.is_some() { "current" } else { "deleted" };
        let diff = similar::TextDiff::from_lines(old.text.as_str(), new.as_ref());
        Ok(diff.unified_diff().context_radius(3).header(&format!("{site} ({id})"), &format!("{site} ({now})")).to_string())
    }

    /// Writes version `id` back as the file's text, a new version of kind restored. The
    /// precondition is the same as for [`SiteFolder::write`]: the current ETag, or absent
    /// (or `none`) to bring back a deleted file.
    pub fn restore(&self, path: &str, id: &str, if_match: Option<&str>) -> Result<FileInfo, EditorError> {
        let site = SitePath::parse(path)?;
        let old = self.history.text(&site, id)?;
        self.replace(&site, old.text.as_bytes(), if_match, VersionKind::Restored)
    }

    /// Deleted files that can be restored, by path.
    pub fn deleted(&self) -> Vec<DeletedFile> {
        self.history.deleted(|site| self.resolve(site).is_ok_and(|p| p.exists()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ids_are_read_strictly() {
        let v = Version::parse("001700000000123-restored-0123456789abcdef", 7).unwrap();
        assert_eq!((v.time_ms, v.kind, v.etag.as_str(), v.size), (1_700_000_000_123, VersionKind::Restored, "\"0123456789abcdef\"", 7));
        for bad in ["1700000000123-saved-0123456789abcdef", "001700000000123-kept-0123456789abcdef", "001700000000123-saved-0123", "001700000000123-saved-../../../x", "../001700000000123-saved-0123456789abcdef", ""] {
            assert!(Version::parse(bad, 0).is_none(), "{bad}");
        }
    }

    #[test]
    fn versions_of_a_file_never_seen_are_none() {
        let dir = tempfile::tempdir().unwrap();
        let history = History::new(dir.path().join(".site-history"));
        assert!(history.versions(&SitePath::parse("a.yml").unwrap()).unwrap().is_empty());
        assert!(history.deleted(|_| false).is_empty());
    }
}
