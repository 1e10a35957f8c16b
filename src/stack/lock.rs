//! One `up` or `down` at a time per project. Two at once used to race on the engine (the
//! engine creates two networks of one name when asked twice, after which every `up` failed
//! as "ambiguous"), so each takes a lock first.
//!
//! The lock is a kernel file lock (`flock`) on a file under lab's data folder, one file
//! per engine and project. The kernel releases it when the holder exits in any way,
//! `kill -9` included, so a crashed `up` never blocks the next one and there is no
//! staleness rule to get wrong. Its scope is the user's lab on this machine: every `up`
//! of a solo student, and every `up` a classroom's `lab serve` runs (one process, where
//! each request takes the lock through its own open file, which `flock` treats as a
//! separate holder). Commands run against the same engine from another machine or user
//! are not serialised by it; for them the engine objects are made race-proof instead:
//! networks are found by label and id (a duplicate made by a race is left unused and
//! removed, the oldest one wins everywhere), volume and container names are unique on the
//! engine, and a container name taken by the same project is reported as another `up` at
//! work rather than as a name belonging to someone else.

use super::engine::StackError;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What to do when another `up` or `down` holds the project's lock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LockWait {
    /// Stop at once with [`StackError::Busy`].
    #[default]
    FailFast,
    /// Wait until it is free, at most this long (`None`: as long as it takes).
    Wait(Option<Duration>),
}

/// The project's lock, held until dropped.
#[derive(Debug)]
pub struct ProjectLock {
    // Closing the file releases the lock; the file itself stays (removing it would let a
    // waiter lock a file that a newcomer no longer sees).
    _file: File,
}

/// How often a waiting `up` tries again.
const RETRY: Duration = Duration::from_millis(200);

/// The folder holding the lock files.
pub fn lock_dir() -> PathBuf {
    crate::paths::data_dir().join("locks")
}

/// The lock file of `project` on the engine at `engine_host`.
pub fn lock_path(dir: &Path, engine_host: &str, project: &str) -> PathBuf {
    // Readable, but never a path: keep safe characters and tell projects apart by digest.
    let readable: String = project.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).take(64).collect();
    let digest = crate::digest::short_hash(&[engine_host, project], 12);
    dir.join(format!("{readable}-{digest}.lock"))
}

/// Takes the lock of `project` on the engine at `engine_host`, for `command` (`up`,
/// `down`). `waiting` is told, once, who holds it when lab waits.
pub async fn acquire(dir: &Path, engine_host: &str, project: &str, command: &str, wait: LockWait, waiting: &(dyn Fn(&str) + Sync)) -> Result<ProjectLock, StackError> {
    let io = |e: std::io::Error| StackError::Lock { path: dir.display().to_string(), reason: e.to_string() };
    std::fs::create_dir_all(dir).map_err(io)?;
    let path = lock_path(dir, engine_host, project);
    let io = |e: std::io::Error| StackError::Lock { path: path.display().to_string(), reason: e.to_string() };
    let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
    let started = tokio::time::Instant::now();
    let mut told = false;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let holder = holder_settled(&path).await;
        let busy = || StackError::Busy { project: project.to_owned(), holder: holder.clone(), waited: (wait != LockWait::FailFast).then(|| started.elapsed()) };
        match wait {
            LockWait::FailFast => return Err(busy()),
            LockWait::Wait(Some(limit)) if started.elapsed() >= limit => return Err(busy()),
            LockWait::Wait(_) => {}
        }
        if !told {
            waiting(&holder);
            told = true;
        }
        tokio::time::sleep(RETRY).await;
    }
    // Who holds it, for anyone who finds it taken.
    let since = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let note = format!("lab {command}, pid {}, on {}, since {since}\n", std::process::id(), host_name());
    file.set_len(0).and_then(|()| file.write_all(note.as_bytes())).and_then(|()| file.flush()).map_err(io)?;
    Ok(ProjectLock { _file: file })
}

/// [`holder`], given the holder a moment to write its note: it takes the lock first and
/// writes who it is just after, so a reader in between would find the file empty.
async fn holder_settled(path: &Path) -> String {
    for _ in 0..20 {
        let note = std::fs::read_to_string(path).unwrap_or_default();
        if note.ends_with('\n') && note.contains(", since ") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    holder(path)
}

/// Who holds the lock at `path`, in words: "lab up, pid 4242, on pc-12, for 35s".
fn holder(path: &Path) -> String {
    let note = std::fs::read_to_string(path).unwrap_or_default();
    let Some((who, since)) = note.trim().rsplit_once(", since ") else { return "another process".into() };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    match since.parse::<u64>() {
        Ok(since) => format!("{who}, for {}s", now.saturating_sub(since)),
        Err(_) => who.to_owned(),
    }
}

/// This machine's name, for the note in the lock file.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "this machine".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noop(_: &str) {}

    #[tokio::test]
    async fn a_second_holder_fails_fast_or_waits_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path(), "unix:///s", "p", "up", LockWait::FailFast, &noop).await.expect("free");
        let err = acquire(dir.path(), "unix:///s", "p", "up", LockWait::FailFast, &noop).await.expect_err("taken");
        let text = err.to_string();
        assert!(text.starts_with("another lab up or down is running for project p (lab up, pid "), "{text}");
        assert!(text.contains("--wait"), "{text}");
        let err = acquire(dir.path(), "unix:///s", "p", "up", LockWait::Wait(Some(Duration::from_millis(300))), &noop).await.expect_err("still taken");
        assert!(err.to_string().contains("waited"), "{err}");

        // Another project, or the same name on another engine, is another lock.
        acquire(dir.path(), "unix:///s", "q", "up", LockWait::FailFast, &noop).await.expect("other project");
        acquire(dir.path(), "tcp://h:2375", "p", "up", LockWait::FailFast, &noop).await.expect("other engine");

        let told = std::sync::Mutex::new(Vec::new());
        let record = |h: &str| told.lock().unwrap().push(h.to_owned());
        let release = async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            drop(first);
        };
        let (second, ()) = tokio::join!(acquire(dir.path(), "unix:///s", "p", "down", LockWait::Wait(None), &record), release);
        second.expect("free once the first is dropped");
        let told = told.into_inner().unwrap();
        assert_eq!(told.len(), 1, "told once: {told:?}");
        assert!(told[0].starts_with("lab up, pid "), "{told:?}");
    }

    #[test]
    fn lock_files_are_named_safely() {
        let a = lock_path(Path::new("/l"), "unix:///s", "../x y");
        assert_eq!(a.parent(), Some(Path::new("/l")));
        assert!(a.file_name().unwrap().to_string_lossy().starts_with("..xy-"), "{a:?}");
        assert_ne!(lock_path(Path::new("/l"), "unix:///s", "p"), lock_path(Path::new("/l"), "tcp://h", "p"));
    }
}
