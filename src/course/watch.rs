//! Watches a content folder and reports, debounced, that something in it changed.
//! Editors save in bursts (write a temp file, rename it over the original, touch a swap
//! file), so changes are coalesced until the folder has been quiet for a moment.

use notify::{RecursiveMode, Watcher};
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long the folder must be quiet before one change is reported.
pub const QUIET: Duration = Duration::from_millis(150);

/// Keeps the OS watcher alive; changes stop being reported when it is dropped.
pub struct ContentWatcher {
    _watcher: notify::RecommendedWatcher,
}

/// Starts watching `dir` recursively. Returns the watcher and a receiver that yields `()`
/// once per burst of relevant changes.
pub fn watch_dir(dir: &Path) -> notify::Result<(ContentWatcher, mpsc::Receiver<()>)> {
    let (raw_tx, mut raw_rx) = mpsc::unbounded_channel::<()>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if event.kind.is_access() {
            return;
        }
        let relevant = event.paths.iter().any(|p| {
            p.file_name().map(|n| n.to_string_lossy()).is_some_and(|n| !super::files::is_ignored(&n))
        });
        if relevant {
            // The receiver is gone only when the watcher is being dropped.
            let _ = raw_tx.send(());
        }
    })?;
    watcher.watch(dir, RecursiveMode::Recursive)?;

    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(async move {
        while raw_rx.recv().await.is_some() {
            // Swallow the rest of the burst.
            while let Ok(Some(())) = tokio::time::timeout(QUIET, raw_rx.recv()).await {}
            if tx.send(()).await.is_err() {
                break;
            }
        }
    });
    Ok((ContentWatcher { _watcher: watcher }, rx))
}
