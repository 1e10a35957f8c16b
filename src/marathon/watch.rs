//! `watch`: deploy a site folder, then redeploy each file when it changes (editors' atomic
//! renames included; a changed `globals.yml` redeploys every file below it), and follow each
//! deployment until Marathon reports it done — from the event stream, with polling as the
//! safety net for missed events and dropped connections. Files that could not be sent
//! because Marathon was down are sent again as soon as it answers, without another save.

use super::client::Marathon;
use super::deploy::{self, FileResult, Outcome, SiteFile};
use super::follow::{Follower, POLL_EVERY, Signal, ended};
use super::site::Env;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

pub use super::follow::{FOLLOW_TIMEOUT, FollowResult};

/// How often lab asks whether Marathon is back, while files wait for it.
pub const RETRY_EVERY: Duration = Duration::from_secs(2);

/// What the watcher reports.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchEvent {
    /// Watching `dir` for changes.
    Watching(PathBuf),
    /// A file was deployed, found unchanged, or failed.
    File(FileResult),
    /// A deployment finished (or lab gave up waiting).
    Followed {
        /// The file it came from.
        file: String,
        /// The app.
        app: String,
        /// The deployment id.
        deployment: String,
        /// How it ended.
        result: FollowResult,
    },
    /// A site file was deleted; its app keeps running in Marathon.
    Removed(String),
    /// The event stream dropped; lab polls until it is back.
    EventsLost(String),
    /// Marathon answers again: the files it missed are being sent (how many).
    MarathonBack(usize),
}

/// Deploys everything in `dir`, then keeps it deployed until `shutdown` resolves.
pub async fn watch(
    dir: &Path,
    marathon: &Marathon,
    env: &dyn Env,
    events: mpsc::Sender<WatchEvent>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    // One spelling of the folder, so that names made from the watcher's paths and from the
    // listing agree (and stay relative to the site folder).
    let canonical = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
    let dir = canonical.as_path();
    // Watch first, so edits made during the first deploy are not lost.
    let (_watcher, mut changes) = crate::course::watch::watch_dir(dir).map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
    let (follow_tx, follow_rx) = mpsc::unbounded_channel::<(String, String, String)>();
    let follower = tokio::spawn(follow(marathon.clone(), follow_rx, events.clone()));
    let _ = events.send(WatchEvent::Watching(dir.to_owned())).await;

    tokio::pin!(shutdown);
    let all = deploy::collect(&[dir.to_owned()])?;
    // Ctrl-C is heard even in the middle of deploying a batch. What Marathon did not
    // receive because it was down waits for it.
    let mut waiting: Vec<SiteFile> = tokio::select! {
        () = &mut shutdown => {
            follower.abort();
            return Ok(());
        }
        missed = deploy_files(&all, marathon, env, &events, &follow_tx) => missed,
    };
    let mut retry = tokio::time::interval(RETRY_EVERY);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            changed = changes.recv() => {
                let Some(changed) = changed else { break };
                let (files, removed) = affected(dir, &changed);
                for file in removed {
                    waiting.retain(|w| w.display != file);
                    let _ = events.send(WatchEvent::Removed(file)).await;
                }
                waiting.retain(|w| !files.iter().any(|f| f.path == w.path));
                tokio::select! {
                    () = &mut shutdown => break,
                    missed = deploy_files(&files, marathon, env, &events, &follow_tx) => waiting.extend(missed),
                }
            }
            _ = retry.tick(), if !waiting.is_empty() => {
                if marathon.ping().await.is_ok() {
                    let files = std::mem::take(&mut waiting);
                    let _ = events.send(WatchEvent::MarathonBack(files.len())).await;
                    tokio::select! {
                        () = &mut shutdown => break,
                        missed = deploy_files(&files, marathon, env, &events, &follow_tx) => waiting = missed,
                    }
                }
            }
        }
    }
    follower.abort();
    Ok(())
}

/// Deploys `files`; returns those Marathon was not reached for.
async fn deploy_files(files: &[SiteFile], marathon: &Marathon, env: &dyn Env, events: &mpsc::Sender<WatchEvent>, follow: &mpsc::UnboundedSender<(String, String, String)>) -> Vec<SiteFile> {
    // Each deployment is followed from the moment Marathon accepts it, so its end is not
    // missed while later files are still being sent.
    let mut register = |result: &FileResult| {
        if let (Outcome::Deployed { deployment }, Some(app)) = (&result.outcome, &result.app)
            && !deployment.deployment_id.is_empty()
        {
            let _ = follow.send((deployment.deployment_id.clone(), result.file.clone(), app.clone()));
        }
    };
    let run = deploy::deploy_each(marathon, deploy::render_all(files, env), &mut register).await;
    for result in run.results {
        let _ = events.send(WatchEvent::File(result)).await;
    }
    files.iter().filter(|f| run.not_tried.contains(&f.display)).cloned().collect()
}

/// The site files a burst of changes affects, and the site files that disappeared.
fn affected(dir: &Path, changed: &BTreeSet<PathBuf>) -> (Vec<SiteFile>, Vec<String>) {
    let mut files: BTreeSet<PathBuf> = BTreeSet::new();
    let mut removed = Vec::new();
    for path in changed {
        if deploy::is_globals(path) {
            let folder = path.parent().unwrap_or(dir);
            if let Ok(below) = deploy::collect(&[folder.to_owned()]) {
                files.extend(below.into_iter().map(|f| f.path));
            }
        } else if deploy::is_site_file(path) {
            if path.is_file() {
                files.insert(path.clone());
            } else {
                removed.push(deploy::display_name(dir, path));
            }
        }
    }
    let files = files.into_iter().map(|p| SiteFile { display: deploy::display_name(dir, &p), path: p, root: dir.to_owned() }).collect();
    (files, removed)
}

/// Follows deployments until they leave `/v2/deployments` (success), Marathon reports them
/// failed, or time runs out.
async fn follow(marathon: Marathon, mut incoming: mpsc::UnboundedReceiver<(String, String, String)>, events: mpsc::Sender<WatchEvent>) {
    let mut follower = Follower::new(&marathon, POLL_EVERY);
    let mut pending: HashMap<String, (String, String, Instant)> = HashMap::new();
    // Deployments Marathon reported finished, for registrations that arrive after the event.
    let mut reported: std::collections::VecDeque<(String, FollowResult)> = std::collections::VecDeque::new();
    loop {
        let finished: Vec<(String, FollowResult)> = tokio::select! {
            item = incoming.recv() => {
                let Some((id, file, app)) = item else { return };
                let known = reported.iter().find(|(r, _)| *r == id).map(|(_, result)| result.clone());
                pending.insert(id.clone(), (file, app, Instant::now()));
                known.map(|result| vec![(id, result)]).unwrap_or_default()
            }
            signal = follower.next(!pending.is_empty()) => match signal {
                Some(Signal::Ended(id, result)) => vec![(id, result)],
                Some(Signal::AppChanged(_)) => Vec::new(),
                Some(Signal::EventsLost(reason)) => {
                    let _ = events.send(WatchEvent::EventsLost(reason)).await;
                    Vec::new()
                }
                Some(Signal::Poll) => {
                    let mut done: Vec<(String, FollowResult)> = pending.iter().filter(|(_, (_, _, since))| since.elapsed() > FOLLOW_TIMEOUT).map(|(id, _)| (id.clone(), FollowResult::TimedOut)).collect();
                    if let Some(ended) = ended(&marathon, pending.keys()).await {
                        done.extend(ended.into_iter().map(|id| (id, FollowResult::Succeeded)));
                    }
                    done
                }
                None => return,
            },
        };
        for (id, result) in finished {
            match pending.remove(&id) {
                Some((file, app, _)) => {
                    let _ = events.send(WatchEvent::Followed { file, app, deployment: id, result }).await;
                }
                None => {
                    reported.push_back((id, result));
                    if reported.len() > 256 {
                        reported.pop_front();
                    }
                }
            }
        }
    }
}
