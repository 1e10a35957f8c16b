//! Watches a folder and reports, debounced, which files in it changed.
//! Editors save in bursts (write a temp file, rename it over the original, touch a swap
//! file), so changes are coalesced until the folder has been quiet for a moment.

use notify::{RecursiveMode, Watcher};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;

/// How long the folder must be quiet before one change is reported.
pub const QUIET: Duration = Duration::from_millis(150);

/// Keeps the OS watcher alive; changes stop being reported when it is dropped.
pub struct ContentWatcher {
    _watcher: notify::RecommendedWatcher,
}

/// Starts watching `dir` recursively. Returns the watcher and a receiver that yields the
/// set of changed paths once per burst of changes (editors' atomic renames included).
pub fn watch_dir(dir: &Path) -> notify::Result<(ContentWatcher, mpsc::Receiver<BTreeSet<PathBuf>>)> {
    let (raw_tx, mut raw_rx) = mpsc::unbounded_channel::<Vec<PathBuf>>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if event.kind.is_access() {
            return;
        }
        let relevant: Vec<PathBuf> = event
            .paths
            .into_iter()
            .filter(|p| p.file_name().map(|n| n.to_string_lossy()).is_some_and(|n| !super::files::is_ignored(&n)))
            .collect();
        if !relevant.is_empty() {
            // The receiver is gone only when the watcher is being dropped.
            let _ = raw_tx.send(relevant);
        }
    })?;
    watcher.watch(dir, RecursiveMode::Recursive)?;

    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(async move {
        while let Some(first) = raw_rx.recv().await {
            let mut changed: BTreeSet<PathBuf> = first.into_iter().collect();
            // Collect the rest of the burst.
            while let Ok(Some(more)) = tokio::time::timeout(QUIET, raw_rx.recv()).await {
                changed.extend(more);
            }
            if tx.send(changed).await.is_err() {
                break;
            }
        }
    });
    Ok((ContentWatcher { _watcher: watcher }, rx))
}
