//! Following one deployment for the editor, as a stream the web layer turns into SSE:
//! deploying → running (n of m tasks) → healthy; or failed, with the reason Marathon
//! recorded in the app's `lastTaskFailure` (a task of the new version died: an image that
//! cannot be pulled, a command that exits); or waiting, when nothing moves for a while
//! (no agent has the CPU, memory or ports the tasks ask for). Events and polls come from
//! [`crate::marathon::follow::Follower`], as for `lab watch`.

use crate::marathon::follow::{FOLLOW_TIMEOUT, FollowResult, Follower, POLL_EVERY, Signal};
use crate::marathon::{App, Marathon, TaskFailure};
use futures_util::Stream;
use serde::Serialize;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

/// One step of a followed deployment. The last item of a stream is final
/// ([`DeployProgress::is_final`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DeployProgress {
    /// Marathon accepted the app and is deploying it.
    Deploying {
        /// The deployment.
        deployment_id: String,
        /// The app.
        app_id: String,
    },
    /// Tasks are starting (sent whenever the counts change).
    Running {
        /// Tasks running.
        running: u64,
        /// Tasks running and passing their health checks.
        healthy: u64,
        /// Tasks staged, not running yet.
        staged: u64,
        /// Tasks wanted.
        instances: u64,
        /// Whether the app has health checks (else `healthy` stays 0).
        health_checks: bool,
    },
    /// Nothing moved for a while; the deployment is still on.
    Waiting {
        /// How long nothing has moved.
        seconds: u64,
        /// Why, as far as the counts tell.
        message: String,
    },
    /// The deployment finished: every task runs (and passes its health checks). Final.
    Healthy {
        /// Tasks running.
        running: u64,
        /// Tasks healthy.
        healthy: u64,
        /// Tasks wanted.
        instances: u64,
    },
    /// A task of the new version failed, or Marathon failed the deployment. Final.
    Failed {
        /// Marathon's reason (`lastTaskFailure.message`), or what lab saw.
        message: String,
        /// The failed task's last state (`TASK_FAILED`, `TASK_KILLED`, ...), when known.
        task_state: Option<String>,
    },
    /// A newer deployment replaced this one (another save); follow that one. Final.
    Replaced {
        /// The deployments now running for the app.
        by: Vec<String>,
    },
    /// Still deploying when lab stopped following. Final.
    TimedOut {
        /// How long lab followed it.
        seconds: u64,
    },
}

impl DeployProgress {
    /// Whether this ends the stream.
    pub fn is_final(&self) -> bool {
        !matches!(self, DeployProgress::Deploying { .. } | DeployProgress::Running { .. } | DeployProgress::Waiting { .. })
    }
}

/// How closely to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowOptions {
    /// How often to look at the app when no event comes.
    pub poll_every: Duration,
    /// After how long without a change a [`DeployProgress::Waiting`] is sent.
    pub waiting_after: Duration,
    /// When to give up.
    pub timeout: Duration,
}

impl Default for FollowOptions {
    fn default() -> FollowOptions {
        FollowOptions { poll_every: POLL_EVERY, waiting_after: Duration::from_secs(30), timeout: FOLLOW_TIMEOUT }
    }
}

/// Follows `deployment_id` of `app_id` with the default options (see [`follow_with`]).
pub fn follow(marathon: &Marathon, deployment_id: &str, app_id: &str) -> impl Stream<Item = DeployProgress> + Send + 'static {
    follow_with(marathon, deployment_id, app_id, FollowOptions::default())
}

/// Follows a deployment until it ends: the stream yields [`DeployProgress::Deploying`]
/// first, then changes, and ends after a final item. Dropping the stream stops following.
pub fn follow_with(marathon: &Marathon, deployment_id: &str, app_id: &str, options: FollowOptions) -> impl Stream<Item = DeployProgress> + Send + 'static {
    let state = Tracker {
        marathon: marathon.clone(),
        deployment: deployment_id.to_owned(),
        app: crate::marathon::client::normalize_id(app_id),
        options,
        follower: None,
        queue: VecDeque::new(),
        done: false,
        started: Instant::now(),
        last_change: Instant::now(),
        counts: None,
        baseline: None,
        waiting_said: false,
    };
    futures_util::stream::unfold(state, |mut tracker| async move { tracker.next().await.map(|item| (item, tracker)) })
}

/// The counts a [`DeployProgress::Running`] reports, to tell when they change.
type Counts = (u64, u64, u64, u64);

/// A `lastTaskFailure` told apart from another (task id and time).
type FailureId = Option<(String, String)>;

struct Tracker {
    marathon: Marathon,
    deployment: String,
    app: String,
    options: FollowOptions,
    /// Subscribed on the first item, inside the caller's runtime.
    follower: Option<Follower>,
    queue: VecDeque<DeployProgress>,
    done: bool,
    started: Instant,
    last_change: Instant,
    counts: Option<Counts>,
    /// The `lastTaskFailure` the app had before this deployment (`None` until first seen).
    baseline: Option<FailureId>,
    waiting_said: bool,
}

impl Tracker {
    async fn next(&mut self) -> Option<DeployProgress> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                if item.is_final() {
                    self.done = true;
                    self.queue.clear();
                }
                return Some(item);
            }
            if self.done {
                return None;
            }
            let Some(follower) = self.follower.as_mut() else {
                // Subscribe before the first look, so no event between the two is missed.
                self.follower = Some(Follower::new(&self.marathon, self.options.poll_every));
                self.queue.push_back(DeployProgress::Deploying { deployment_id: self.deployment.clone(), app_id: self.app.clone() });
                self.look().await;
                continue;
            };
            match follower.next(true).await {
                Some(Signal::Ended(id, result)) if id == self.deployment => self.ended(result).await,
                Some(Signal::AppChanged(Some(app))) if app != self.app => {}
                Some(Signal::AppChanged(_) | Signal::Poll) => self.look().await,
                // The event stream's task ended: keep looking at the pace of polls.
                None => {
                    tokio::time::sleep(self.options.poll_every).await;
                    self.look().await;
                }
                Some(Signal::Ended(..) | Signal::EventsLost(_)) => {}
            }
            if !self.done && self.queue.iter().all(|i| !i.is_final()) && self.started.elapsed() >= self.options.timeout {
                self.queue.push_back(DeployProgress::TimedOut { seconds: self.started.elapsed().as_secs() });
            }
        }
    }

    /// Marathon says the deployment ended: how, in the app's own words.
    async fn ended(&mut self, result: FollowResult) {
        let app = self.marathon.app(&self.app).await.ok().flatten();
        match result {
            FollowResult::Failed(why) => {
                let failure = app.as_ref().and_then(App::last_task_failure);
                self.queue.push_back(failed(failure.as_ref(), &why));
            }
            _ => match app {
                Some(app) => {
                    self.counts_changed(&app);
                    let c = app.counts();
                    self.queue.push_back(DeployProgress::Healthy { running: c.running, healthy: c.healthy, instances: app.instances() });
                }
                None => self.queue.push_back(DeployProgress::Failed { message: format!("the app {} is no longer in Marathon", self.app), task_state: None }),
            },
        }
    }

    /// Looks at the app: a new task failure, changed counts, the deployment gone, or a
    /// stall. An unanswered look says nothing; the next one will.
    async fn look(&mut self) {
        let app = match self.marathon.app(&self.app).await {
            Ok(Some(app)) => app,
            Ok(None) => {
                self.queue.push_back(DeployProgress::Failed { message: format!("the app {} is no longer in Marathon (deleted?)", self.app), task_state: None });
                return;
            }
            Err(_) => return,
        };
        if let Some(failure) = self.new_failure(&app) {
            self.queue.push_back(failed(Some(&failure), "a task of the new version failed"));
            return;
        }
        self.counts_changed(&app);
        let deployments = app.deployments();
        if !deployments.contains(&self.deployment) {
            let c = app.counts();
            self.queue.push_back(if deployments.is_empty() {
                DeployProgress::Healthy { running: c.running, healthy: c.healthy, instances: app.instances() }
            } else {
                DeployProgress::Replaced { by: deployments }
            });
            return;
        }
        let still = self.last_change.elapsed();
        if !self.waiting_said && still >= self.options.waiting_after {
            self.waiting_said = true;
            self.queue.push_back(DeployProgress::Waiting { seconds: still.as_secs(), message: stall_reason(&app) });
        }
    }

    /// Queues a [`DeployProgress::Running`] when the counts changed.
    fn counts_changed(&mut self, app: &App) {
        let c = app.counts();
        let counts = (c.running, c.healthy, c.staged, app.instances());
        if self.counts != Some(counts) {
            self.counts = Some(counts);
            self.last_change = Instant::now();
            self.waiting_said = false;
            self.queue.push_back(DeployProgress::Running { running: c.running, healthy: c.healthy, staged: c.staged, instances: app.instances(), health_checks: !app.health_checks().is_empty() });
        }
    }

    /// The app's `lastTaskFailure`, when it is one this deployment caused: not the one the
    /// app had when following began, and of the app's current version when it names one.
    fn new_failure(&mut self, app: &App) -> Option<TaskFailure> {
        let failure = app.last_task_failure();
        let id: FailureId = failure.as_ref().map(|f| (f.task_id.clone(), f.timestamp.clone()));
        let version = app.version();
        let baseline = self.baseline.get_or_insert_with(|| {
            // A failure of the new version seen at the first look is this deployment's own.
            if failure.as_ref().is_some_and(|f| f.of_version(version) && f.version.is_some()) { None } else { id.clone() }
        });
        match failure {
            Some(f) if id != *baseline && f.of_version(version) => Some(f),
            _ => None,
        }
    }
}

fn failed(failure: Option<&TaskFailure>, fallback: &str) -> DeployProgress {
    let message = failure.map(|f| f.message.as_str()).filter(|m| !m.trim().is_empty());
    DeployProgress::Failed { message: message.map_or_else(|| fallback.to_owned(), str::to_owned), task_state: failure.and_then(|f| f.state.clone()) }
}

/// Why a deployment may be stuck, from its counts.
fn stall_reason(app: &App) -> String {
    let c = app.counts();
    let wanted = app.instances();
    if c.staged > 0 {
        format!("{} task(s) staged but not running: the image may still be downloading, or no agent has the resources", c.staged)
    } else if c.running < wanted {
        format!("{} of {wanted} tasks running and none starting: no agent offers the CPU, memory or ports the app asks for", c.running)
    } else if !app.health_checks().is_empty() && c.healthy < wanted {
        format!("{} of {wanted} tasks running but only {} healthy: check the health check's path, port and grace period", c.running, c.healthy)
    } else {
        "Marathon has not finished the deployment yet".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn app(extra: Value) -> App {
        let mut raw = json!({"id": "/a", "instances": 2, "version": "v2", "tasksRunning": 0, "tasksStaged": 0, "tasksHealthy": 0, "deployments": [{"id": "d1"}]});
        if let (Some(o), Some(e)) = (raw.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        App::new(raw)
    }

    fn tracker() -> Tracker {
        Tracker {
            marathon: Marathon::new("http://127.0.0.1:9"),
            deployment: "d1".into(),
            app: "/a".into(),
            options: FollowOptions::default(),
            follower: None,
            queue: VecDeque::new(),
            done: false,
            started: Instant::now(),
            last_change: Instant::now(),
            counts: None,
            baseline: None,
            waiting_said: false,
        }
    }

    #[test]
    fn only_failures_of_this_deployment_count() {
        let old = json!({"lastTaskFailure": {"taskId": "t0", "timestamp": "1", "version": "v1", "message": "old", "state": "TASK_FAILED"}});
        let mut t = tracker();
        assert_eq!(t.new_failure(&app(old.clone())), None, "the old version's failure was there before");
        assert_eq!(t.new_failure(&app(old)), None);
        let new = json!({"lastTaskFailure": {"taskId": "t1", "timestamp": "2", "version": "v2", "message": "pull failed", "state": "TASK_FAILED"}});
        assert_eq!(t.new_failure(&app(new.clone())).unwrap().message, "pull failed");
        let mut fresh = tracker();
        assert!(fresh.new_failure(&app(new)).is_some(), "a failure of the new version at the first look is this deployment's");
        let unversioned = json!({"lastTaskFailure": {"taskId": "t2", "timestamp": "3", "message": "m"}});
        let mut t = tracker();
        assert_eq!(t.new_failure(&app(unversioned)), None, "without a version, what was there at first is the baseline");
    }

    #[test]
    fn failures_carry_marathons_message_and_state() {
        let f = TaskFailure::from_json(&json!({"message": "Docker container run error: image not found", "state": "TASK_FAILED"})).unwrap();
        assert_eq!(failed(Some(&f), "x"), DeployProgress::Failed { message: "Docker container run error: image not found".into(), task_state: Some("TASK_FAILED".into()) });
        assert_eq!(failed(None, "fallback"), DeployProgress::Failed { message: "fallback".into(), task_state: None });
        assert!(failed(None, "x").is_final() && !DeployProgress::Running { running: 0, healthy: 0, staged: 0, instances: 1, health_checks: false }.is_final());
    }

    #[test]
    fn a_stall_is_explained_from_the_counts() {
        assert!(stall_reason(&app(json!({"tasksStaged": 2}))).contains("staged"));
        assert!(stall_reason(&app(json!({"tasksRunning": 1}))).contains("no agent offers"));
        assert!(stall_reason(&app(json!({"tasksRunning": 2, "tasksHealthy": 1, "healthChecks": [{"protocol": "HTTP"}]}))).contains("health check"));
    }

    #[test]
    fn progress_serialises_with_its_state() {
        let p = DeployProgress::Running { running: 1, healthy: 0, staged: 1, instances: 2, health_checks: true };
        assert_eq!(serde_json::to_value(&p).unwrap(), json!({"state": "running", "running": 1, "healthy": 0, "staged": 1, "instances": 2, "health_checks": true}));
    }
}
