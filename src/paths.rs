//! Per-user locations: where lab keeps its database and students' workspaces.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

static CHOSEN_DATA_DIR: OnceLock<PathBuf> = OnceLock::new();

/// Fixes lab's data folder for this process, ahead of `$LAB_HOME`; only the first call
/// counts (returns `false` after). For programs that embed lab, such as the test suite,
/// which would otherwise have to change the environment while other threads read it.
pub fn use_data_dir(path: &Path) -> bool {
    CHOSEN_DATA_DIR.set(path.to_path_buf()).is_ok()
}

/// lab's data folder: the one given to [`use_data_dir`], else `$LAB_HOME` if set, else
/// `<user data dir>/lab` (`~/.local/share/lab` on Linux), else `./.lab` when no home
/// folder is known.
pub fn data_dir() -> PathBuf {
    if let Some(chosen) = CHOSEN_DATA_DIR.get() {
        return chosen.clone();
    }
    if let Some(home) = std::env::var_os("LAB_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home);
    }
    dirs::data_dir().map_or_else(|| PathBuf::from(".lab"), |d| d.join("lab"))
}

/// The solo student's name: `$LAB_STUDENT`, else the login name, else `student`.
pub fn default_student() -> String {
    ["LAB_STUDENT", "USER", "USERNAME"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .map(|name| sanitize(&name))
        .find(|name| !name.is_empty())
        .unwrap_or_else(|| "student".to_owned())
}

/// Lowercases and keeps `[a-z0-9-]`, so the name can be part of Docker object names.
pub fn sanitize(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_made_docker_safe() {
        assert_eq!(super::sanitize("Jane Doe"), "jane-doe");
        assert_eq!(super::sanitize("__x__"), "x");
        assert_eq!(super::sanitize("É"), "");
    }
}
