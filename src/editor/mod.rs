//! The site editor's library: one student's site folder on the server, as the browser
//! editor (issue 11) sees it. It owns the files of `<workspace>/site/` (listing, reading,
//! atomic writes guarded by ETags, create, rename, delete), their history, and what a save
//! means: the text is written first, then rendered with exactly the code `lab deploy` uses,
//! then deployed, and the deployment followed to its end. Nothing a student typed is ever
//! thrown away: every version is kept, a refused or undeployable file is still saved, and a
//! file that changed on disk since it was opened is never overwritten.
//!
//! History lives in the workspace beside the site, in `<workspace>/.site-history/`, not in
//! the SQLite store: it belongs with the files it protects (a workspace copied, backed up or
//! reset keeps its history next to it), it needs no database to read (`lab serve` may run
//! with `--db :memory:`, and a student can look at it with `ls` and `diff`), and it is plain
//! files that survive a crashed server. Each saved version is one file,
//! `versions/<path>/<unix-ms>-<kind>-<etag>.txt`, so the name is the index: listing a file's
//! history is one `read_dir`. Each file keeps its newest [`MAX_VERSIONS`] versions; older
//! ones are removed as new ones are written.
//!
//! This module sits above `marathon` (site rendering, deploy, events) and below `web`, which
//! turns these calls into `/api/site/...` routes and SSE; it knows nothing of HTTP beyond the
//! ETag and If-Match conventions.

mod folder;
mod history;
mod path;
mod progress;
mod save;

pub use folder::{FileInfo, FileText, SiteFolder};
pub use history::{DeletedFile, MAX_VERSIONS, Version, VersionKind, VersionText};
pub use path::{EXTENSIONS, SitePath};
pub use progress::{DeployProgress, FollowOptions, follow, follow_with};
pub use save::{LineError, PendingRun, SaveOutcome, SaveReport};

/// The largest site file the editor reads or writes. Site files are a few KiB; the limit
/// keeps one request from filling the disk or the server's memory.
pub const MAX_FILE_SIZE: u64 = 256 * 1024;

/// Why an editor operation could not be done. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum EditorError {
    /// The path is not one the editor works on (absolute, `..`, a symlink out, ...).
    #[error("`{path}` cannot be used: {problem}")]
    BadPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The text or the file on disk is larger than [`MAX_FILE_SIZE`].
    #[error("{path} is {size} bytes; the editor takes site files up to {limit} bytes ({} KiB): split it into smaller files", limit / 1024)]
    TooLarge {
        /// The file.
        path: String,
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The file does not exist.
    #[error("{path} does not exist")]
    NotFound {
        /// The file.
        path: String,
    },
    /// A create or rename would overwrite an existing file.
    #[error("{path} already exists; pick another name or open that file")]
    Exists {
        /// The file.
        path: String,
    },
    /// The file changed on disk since it was opened (or was created or deleted meanwhile):
    /// someone else wrote it, e.g. the student in a terminal, or `lab watch`. Nothing was
    /// written.
    #[error("{path} changed since you opened it ({}); nothing was overwritten: reload it, or save your text under another name", match current_etag { Some(_) => "it was saved elsewhere", None => "it was deleted" })]
    Conflict {
        /// The file.
        path: String,
        /// The file's ETag now, `None` when it no longer exists.
        current_etag: Option<String>,
    },
    /// A version id the file's history does not have (never saved, or pruned).
    #[error("{path} has no saved version `{version}`")]
    NoVersion {
        /// The file.
        path: String,
        /// The version id asked for.
        version: String,
    },
    /// The file's bytes are not UTF-8 text.
    #[error("{path} cannot be opened as text: {reason}")]
    NotText {
        /// The file.
        path: String,
        /// Where and why (line:col).
        reason: String,
    },
    /// The file system refused.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl EditorError {
    fn io(path: impl std::fmt::Display, source: std::io::Error) -> EditorError {
        EditorError::Io { path: path.to_string(), source }
    }
}

/// The ETag of a file's bytes: the first 8 bytes of their SHA-256 in hex, quoted as HTTP
/// wants it (`"3f2a..."`). A content hash, so the same text always has the same ETag and a
/// touch without a change does not look like an edit.
pub fn etag(bytes: &[u8]) -> String {
    format!("\"{}\"", bare_etag(bytes))
}

/// The ETag without quotes (as it appears in history file names).
fn bare_etag(bytes: &[u8]) -> String {
    use sha2::Digest;
    crate::digest::hex(&sha2::Sha256::digest(bytes)[..8])
}

/// An If-Match or ETag value without quotes or a weak `W/` prefix.
fn unquote(value: &str) -> &str {
    let v = value.trim();
    let v = v.strip_prefix("W/").unwrap_or(v);
    v.trim_matches('"')
}

/// Milliseconds since 1970 (UTC).
fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_are_quoted_content_hashes() {
        let a = etag(b"service: {}\n");
        assert!(a.starts_with('"') && a.ends_with('"') && a.len() == 18, "{a}");
        assert_eq!(a, etag(b"service: {}\n"));
        assert_ne!(a, etag(b"service: {}\n\n"));
        assert_eq!(unquote(&a), bare_etag(b"service: {}\n"));
        assert_eq!(unquote(&format!("W/{a}")), unquote(&a));
    }

    #[test]
    fn errors_say_what_to_do() {
        let e = EditorError::TooLarge { path: "a.yml".into(), size: 300_000, limit: MAX_FILE_SIZE };
        assert!(e.to_string().contains("256 KiB"), "{e}");
        let e = EditorError::Conflict { path: "a.yml".into(), current_etag: None };
        assert!(e.to_string().contains("deleted") && e.to_string().contains("nothing was overwritten"), "{e}");
    }
}
