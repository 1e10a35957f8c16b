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
                Ok(Files::from_entries(entries))
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
fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
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
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(root, &path, out)?;
            continue;
        }
        let Ok(rel) = path.strip_prefix(root) else { continue };
        let rel = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
        // Read what the link resolves to, and only when that is inside the content folder.
        let source = if kind.is_symlink() {
            match path.canonicalize() {
                Ok(target) if target.starts_with(root) && target.is_file() => target,
                Ok(target) if !target.starts_with(root) => {
                    tracing::warn!("{rel}: not served: it links to {}, outside the content folder", target.display());
                    continue;
                }
                _ => continue,
            }
        } else {
            path
        };
        // A file deleted between listing and reading is simply gone from this snapshot.
        if let Ok(bytes) = std::fs::read(&source) {
            out.push((rel, bytes));
        }
    }
    Ok(())
}

/// Hidden files and the temporary files editors write next to the real one.
pub fn is_ignored(name: &str) -> bool {
    name.starts_with('.') || name.ends_with('~') || name.ends_with(".swp") || name.ends_with(".tmp") || name.starts_with("#")
}

/// A snapshot of content files.
#[derive(Debug, Default, Clone)]
pub struct Files {
    files: BTreeMap<String, Vec<u8>>,
}

impl Files {
    /// Builds a snapshot from `(path, bytes)` pairs.
    pub fn from_entries(entries: impl IntoIterator<Item = (String, Vec<u8>)>) -> Self {
        Files { files: entries.into_iter().collect() }
    }

    /// Whether `path` exists.
    pub fn contains(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    /// Raw bytes of `path`.
    pub fn bytes(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    /// `path` as UTF-8 text, or an error naming the file.
    pub fn text(&self, path: &str) -> Result<&str, ContentError> {
        let bytes = self.bytes(path).ok_or_else(|| ContentError::file(path, "file not found"))?;
        std::str::from_utf8(bytes).map_err(|e| {
            ContentError::file(path, format!("not valid UTF-8 (byte {})", e.valid_up_to())).with_fix("save the file as UTF-8")
        })
    }

    /// All paths, sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
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
    fn a_folder_without_content_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(ContentSource::Dir(dir.path().into()).read().is_err());
    }
}
