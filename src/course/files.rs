//! Where course files come from: compiled into the binary (the built-in course) or a folder
//! on disk (`--content DIR`, for authors). Either way the loader sees one in-memory snapshot
//! of `labs/**` and `slides/**`, keyed by `/`-separated relative paths. Nothing outside the
//! content folder is ever read: a symlink is followed only when its target stays inside
//! the folder (so a course cannot publish `/etc/passwd` through a link in `images/`).

use super::error::ContentError;
use rust_embed::RustEmbed;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(RustEmbed)]
#[folder = "labs/"]
#[prefix = "labs/"]
#[exclude = "*.swp"]
struct EmbeddedLabs;

#[derive(RustEmbed)]
#[folder = "slides/"]
#[prefix = "slides/"]
#[exclude = "*.swp"]
struct EmbeddedSlides;

/// Where to read course content from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentSource {
    /// The course compiled into the binary.
    Embedded,
    /// A folder with `labs/` and `slides/` in it.
    Dir(PathBuf),
}

impl ContentSource {
    /// Reads every content file into a snapshot.
    pub fn read(&self) -> std::io::Result<Files> {
        match self {
            ContentSource::Embedded => Ok(Files::from_entries(
                EmbeddedLabs::iter()
                    .filter_map(|p| EmbeddedLabs::get(&p).map(|f| (p.into_owned(), f.data.into_owned())))
                    .chain(EmbeddedSlides::iter().filter_map(|p| EmbeddedSlides::get(&p).map(|f| (p.into_owned(), f.data.into_owned())))),
            )),
            ContentSource::Dir(root) => {
                if !root.join("labs").is_dir() && !root.join("slides").is_dir() {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        format!("{} has neither a labs/ nor a slides/ folder", root.display()),
                    ));
                }
                // Compared against targets as the OS resolves them (the root may itself be a link).
                let real_root = root.canonicalize()?;
                let mut entries = Vec::new();
                for top in ["labs", "slides"] {
                    walk(&real_root, &real_root.join(top), &mut entries)?;
                }
                let mut files = Files::default();
                for (path, read) in entries {
                    match read {
                        Ok(bytes) => {
                            files.files.insert(path, bytes);
                        }
                        Err(reason) => {
                            files.unreadable.insert(path, reason);
                        }
                    }
                }
                Ok(files)
            }
        }
    }

    /// Human description for logs.
    pub fn describe(&self) -> String {
        match self {
            ContentSource::Embedded => "the built-in course".into(),
            ContentSource::Dir(p) => p.display().to_string(),
        }
    }
}

/// Recursively collects files below `dir`, skipping hidden and editor temporary files and
/// links that lead out of `root` (which must be canonical). Linked folders are not entered.
/// A content file that cannot be read (a symlink loop, a folder named like a file lab
/// reads, no permission) is kept as a problem at its path, so the lab or deck it belongs to
/// shows why instead of vanishing.
fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Result<Vec<u8>, String>)>) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if is_ignored(&name) {
            continue;
        }
        let Ok(rel) = path.strip_prefix(root) else { continue };
        let rel = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
        let content = is_content_file_name(&name);
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if content {
                out.push((rel, Err("it is a folder, not a file".to_owned())));
            } else {
                walk(root, &path, out)?;
            }
            continue;
        }
        // Read what the link resolves to, and only when that is inside the content folder.
        let source = if kind.is_symlink() {
            match path.canonicalize() {
                Ok(target) if !target.starts_with(root) => {
                    tracing::warn!("{rel}: not served: it links to {}, outside the content folder", target.display());
                    continue;
                }
                Ok(target) if target.is_dir() => {
                    if content {
                        out.push((rel, Err("it is a folder, not a file".to_owned())));
                    }
                    continue;
                }
                Ok(target) => target,
                Err(e) => {
                    if content {
                        out.push((rel, Err(describe_io(&e))));
                    }
                    continue;
                }
            }
        } else {
            path
        };
        match std::fs::read(&source) {
            Ok(bytes) => out.push((rel, Ok(bytes))),
            // A file deleted between listing and reading is simply gone from this snapshot.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => out.push((rel, Err(describe_io(&e)))),
        }
    }
    Ok(())
}

/// Names lab reads as files (so a folder with such a name is a mistake to report).
fn is_content_file_name(name: &str) -> bool {
    [".yml", ".yaml", ".md", ".json"].iter().any(|ext| name.ends_with(ext))
}

fn describe_io(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(40) => "it is a symlink loop".to_owned(),
        _ if e.kind() == std::io::ErrorKind::NotFound => "it is a symlink to nothing".to_owned(),
        _ if e.kind() == std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    }
}

/// UTF-8 text of a file's bytes, without a leading byte-order mark. Bytes that are not
/// UTF-8 are an error at their line and column.
pub fn decode_text<'a>(display: &str, bytes: &'a [u8]) -> Result<&'a str, ContentError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() as u64 + 1;
        let line_start = valid.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&valid[line_start..]).chars().count() as u64 + 1;
        let text = String::from_utf8_lossy(bytes);
        ContentError::at(display, &text, line, column, format!("this is not UTF-8 text (byte {} cannot be read)", e.valid_up_to())).with_fix("save the file as UTF-8")
    })
}

/// Reads a file from disk as text, like [`Files::text`]: the BOM dropped, bad bytes at
/// their line and column, a folder or a symlink loop said as such.
pub fn read_text_file(path: &Path, display: &str) -> Result<String, ContentError> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => return Err(ContentError::file(display, "cannot be read: it is a folder, not a file")),
        Err(e) => return Err(ContentError::file(display, format!("cannot be read: {}", describe_io(&e)))),
        Ok(_) => {}
    }
    let bytes = std::fs::read(path).map_err(|e| ContentError::file(display, format!("cannot be read: {}", describe_io(&e))))?;
    decode_text(display, &bytes).map(str::to_owned)
}

/// Hidden files and the temporary files editors write next to the real one.
pub fn is_ignored(name: &str) -> bool {
    name.starts_with('.') || name.ends_with('~') || name.ends_with(".swp") || name.ends_with(".tmp") || name.starts_with("#")
}

/// A snapshot of content files.
#[derive(Debug, Default, Clone)]
pub struct Files {
    files: BTreeMap<String, Vec<u8>>,
    /// Paths that exist but could not be read, with the reason.
    unreadable: BTreeMap<String, String>,
}

impl Files {
    /// Builds a snapshot from `(path, bytes)` pairs.
    pub fn from_entries(entries: impl IntoIterator<Item = (String, Vec<u8>)>) -> Self {
        Files { files: entries.into_iter().collect(), unreadable: BTreeMap::new() }
    }

    /// Whether `path` exists (readable or not).
    pub fn contains(&self, path: &str) -> bool {
        self.files.contains_key(path) || self.unreadable.contains_key(path)
    }

    /// Raw bytes of `path`.
    pub fn bytes(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    /// `path` as UTF-8 text (a byte-order mark dropped), or an error naming the file and,
    /// for bytes that are not UTF-8, their line and column.
    pub fn text(&self, path: &str) -> Result<&str, ContentError> {
        if let Some(reason) = self.unreadable.get(path) {
            return Err(ContentError::file(path, format!("cannot be read: {reason}")).with_fix("make it a plain file lab can read"));
        }
        let bytes = self.bytes(path).ok_or_else(|| ContentError::file(path, "file not found"))?;
        decode_text(path, bytes)
    }

    /// All paths, sorted (unreadable ones included).
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        let mut all: Vec<&str> = self.files.keys().chain(self.unreadable.keys()).map(String::as_str).collect();
        all.sort_unstable();
        all.dedup();
        all.into_iter()
    }

    /// Lab ids: folders under `labs/` that hold a `lab.yml`.
    pub fn lab_ids(&self) -> Vec<String> {
        self.paths()
            .filter_map(|p| p.strip_prefix("labs/")?.strip_suffix("/lab.yml"))
            .filter(|id| !id.contains('/'))
            .map(str::to_owned)
            .collect()
    }

    /// Deck ids: `slides/<id>.md`.
    pub fn deck_ids(&self) -> Vec<String> {
        self.paths()
            .filter_map(|p| p.strip_prefix("slides/")?.strip_suffix(".md"))
            .filter(|id| !id.contains('/'))
            .map(str::to_owned)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_course_is_embedded() {
        let files = ContentSource::Embedded.read().unwrap();
        assert!(files.lab_ids().contains(&"mesos-marathon".to_owned()));
        assert!(files.deck_ids().contains(&"mesos-marathon".to_owned()));
    }

    #[test]
    fn a_directory_is_read_recursively_without_hidden_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("labs/a/steps")).unwrap();
        std::fs::create_dir_all(dir.path().join("slides")).unwrap();
        std::fs::write(dir.path().join("labs/a/lab.yml"), "x").unwrap();
        std::fs::write(dir.path().join("labs/a/steps/one.md"), "x").unwrap();
        std::fs::write(dir.path().join("labs/a/steps/.one.md.swp"), "x").unwrap();
        std::fs::write(dir.path().join("slides/d.md"), "x").unwrap();
        let files = ContentSource::Dir(dir.path().into()).read().unwrap();
        assert_eq!(files.paths().collect::<Vec<_>>(), vec!["labs/a/lab.yml", "labs/a/steps/one.md", "slides/d.md"]);
        assert_eq!(files.lab_ids(), vec!["a"]);
        assert_eq!(files.deck_ids(), vec!["d"]);
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_only_inside_the_content_folder() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), "secret").unwrap();
        std::fs::create_dir(outside.path().join("dir")).unwrap();
        std::fs::write(outside.path().join("dir/x.svg"), "secret").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let images = dir.path().join("labs/a/images");
        std::fs::create_dir_all(&images).unwrap();
        std::fs::write(images.join("real.svg"), "<svg/>").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.txt"), images.join("passwd.svg")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("dir"), images.join("linked")).unwrap();
        std::os::unix::fs::symlink("../../../labs/a/images/real.svg", images.join("alias.svg")).unwrap();
        std::os::unix::fs::symlink("../images/../../../../nowhere", images.join("dangling.svg")).unwrap();
        let files = ContentSource::Dir(dir.path().into()).read().unwrap();
        assert_eq!(files.paths().collect::<Vec<_>>(), vec!["labs/a/images/alias.svg", "labs/a/images/real.svg"]);
        assert_eq!(files.bytes("labs/a/images/alias.svg"), Some(&b"<svg/>"[..]));
    }

    #[test]
    fn unreadable_entries_are_kept_as_errors_not_dropped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("labs/dir/lab.yml")).unwrap();
        std::fs::create_dir_all(dir.path().join("labs/loop")).unwrap();
        std::os::unix::fs::symlink("lab.yml", dir.path().join("labs/loop/lab.yml")).unwrap();
        std::fs::create_dir_all(dir.path().join("slides")).unwrap();
        std::os::unix::fs::symlink("../slides", dir.path().join("slides/again")).unwrap();
        std::fs::write(dir.path().join("slides/d.md"), "\u{feff}# Deck\n").unwrap();
        let files = ContentSource::Dir(dir.path().into()).read().unwrap();
        assert_eq!(files.lab_ids(), vec!["dir", "loop"], "both labs are still listed");
        assert!(files.text("labs/dir/lab.yml").unwrap_err().message.contains("a folder, not a file"));
        assert!(files.text("labs/loop/lab.yml").unwrap_err().message.contains("symlink loop"));
        assert_eq!(files.text("slides/d.md").unwrap(), "# Deck\n", "the BOM is dropped");
        assert_eq!(files.deck_ids(), vec!["d"], "a symlinked folder back to slides/ is read once");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_reported_at_their_line_and_column() {
        let err = decode_text("labs/a/lab.yml", b"title: ok\nsummary: caf\xe9\n").unwrap_err();
        assert_eq!(err.location(), "labs/a/lab.yml:2:13");
        assert!(err.fix.is_some());
    }

    #[test]
    fn a_folder_without_content_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(ContentSource::Dir(dir.path().into()).read().is_err());
    }
}
