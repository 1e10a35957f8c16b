//! Files saved while Marathon was unreachable are sent when it answers again, without
//! waiting for the student's next save: one background task per site folder retries with a
//! growing pause, follows what it deploys (the page sees it live), and ends when nothing
//! is left waiting, the folder is gone, or after [`RETRY_FOR`].

use super::access::SiteAccess;
use crate::marathon::site::ProcessEnv;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

/// The first pause; it doubles up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_secs(1);
/// The longest pause between two tries.
const LONGEST_PAUSE: Duration = Duration::from_secs(30);
/// How long to keep trying. A stack down for longer is started again by its student, and
/// starting a stack deploys the whole site.
const RETRY_FOR: Duration = Duration::from_secs(60 * 60);

/// The site folders with a retry under way (one task each, however many saves failed).
static RETRYING: LazyLock<Mutex<HashSet<PathBuf>>> = LazyLock::new(Default::default);

/// Starts retrying `access`'s waiting files, unless a retry of that folder runs already.
pub(super) fn retry_pending(access: &SiteAccess) {
    let root = access.folder.root().to_owned();
    let fresh = RETRYING.lock().map(|mut set| set.insert(root.clone())).unwrap_or(false);
    if !fresh {
        return;
    }
    let access = access.clone();
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + RETRY_FOR;
        let mut pause = FIRST_PAUSE;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(LONGEST_PAUSE);
            match access.folder.pending() {
                Ok(waiting) if waiting.is_empty() => break,
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!("stopped retrying {}: {e}", access.folder.root().display());
                    break;
                }
            }
            // Looked up each time: a student's stack may come back on another address.
            let Some(marathon) = access.marathon().await else { continue };
            match access.folder.redeploy_pending(&marathon, &ProcessEnv).await {
                Ok(run) => {
                    super::api::follow_run(access.state(), access.student, &marathon, &run);
                    if run.still_pending.is_empty() {
                        break;
                    }
                }
                Err(e) => tracing::warn!("cannot send the files waiting for Marathon: {e}"),
            }
        }
        if let Ok(mut set) = RETRYING.lock() {
            set.remove(&access.folder.root().to_owned());
        }
    });
}
