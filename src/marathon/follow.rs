//! Following deployments to their end, shared by `lab watch` and the site editor: Marathon's
//! event stream says quickly when something happened, and a poll of `/v2/deployments` is
//! the safety net for events missed while the stream was down (or never up: a Marathon
//! behind a proxy that buffers SSE). What each caller does with a signal is its own.

use super::client::Marathon;
use super::events::{EventStream, MarathonEvent, StreamItem, subscribe};
use std::time::Duration;
use tokio::time::{Interval, MissedTickBehavior};

/// How long a deployment may take before lab stops waiting for it.
pub const FOLLOW_TIMEOUT: Duration = Duration::from_secs(300);

/// How often lab polls while it follows something.
pub const POLL_EVERY: Duration = Duration::from_secs(2);

/// How a followed deployment ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowResult {
    /// Marathon finished it.
    Succeeded,
    /// Marathon reported it failed.
    Failed(String),
    /// Still running after the timeout.
    TimedOut,
}

/// What the follower noticed.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    /// Marathon's event stream says a deployment ended.
    Ended(String, FollowResult),
    /// An event about an app (a task's status, a health result, a deployment step): the app's
    /// counts may have changed. `None` when the event names no app.
    AppChanged(Option<String>),
    /// Time to poll: an event may have been missed.
    Poll,
    /// The event stream dropped (said once per outage); polling carries on meanwhile.
    EventsLost(String),
}

/// The event stream plus a poll timer.
pub struct Follower {
    stream: EventStream,
    poll: Interval,
    lost: bool,
}

impl Follower {
    /// Subscribes to `marathon`'s events; polls every `poll_every`.
    pub fn new(marathon: &Marathon, poll_every: Duration) -> Follower {
        let mut poll = tokio::time::interval(poll_every);
        // A slow answer must not be followed by a burst of polls.
        poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Follower { stream: subscribe(marathon), poll, lost: false }
    }

    /// The next signal. Poll ticks come only while `polling` (nothing followed, nothing
    /// asked). `None` once the event stream's task has ended. Cancel-safe: it can be one
    /// branch of a `select!`.
    pub async fn next(&mut self, polling: bool) -> Option<Signal> {
        loop {
            tokio::select! {
                item = self.stream.next() => match item? {
                    StreamItem::Event(event) => return Some(signal_of(&event)),
                    StreamItem::Connected => self.lost = false,
                    StreamItem::Disconnected(reason) => {
                        if !self.lost {
                            self.lost = true;
                            return Some(Signal::EventsLost(reason));
                        }
                    }
                },
                _ = self.poll.tick(), if polling => return Some(Signal::Poll),
            }
        }
    }
}

/// What one event means to a follower.
pub fn signal_of(event: &MarathonEvent) -> Signal {
    match (event.kind.as_str(), event.deployment_id()) {
        ("deployment_success", Some(id)) => Signal::Ended(id.to_owned(), FollowResult::Succeeded),
        ("deployment_failed", Some(id)) => Signal::Ended(id.to_owned(), FollowResult::Failed("Marathon reported the deployment failed".into())),
        _ => Signal::AppChanged(event.app_id().map(str::to_owned)),
    }
}

/// Of the deployment ids in `following`, those no longer in `/v2/deployments`: they ended.
/// `None` when Marathon did not answer (nothing can be said then).
pub async fn ended<'a>(marathon: &Marathon, following: impl IntoIterator<Item = &'a String>) -> Option<Vec<String>> {
    let running = marathon.deployments().await.ok()?;
    Some(following.into_iter().filter(|id| !running.iter().any(|d| &d.id == *id)).cloned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deployment_events_end_a_deployment_and_others_name_their_app() {
        let event = |kind: &str, data| MarathonEvent { kind: kind.into(), data };
        assert_eq!(signal_of(&event("deployment_success", json!({"id": "d1"}))), Signal::Ended("d1".into(), FollowResult::Succeeded));
        assert!(matches!(signal_of(&event("deployment_failed", json!({"plan": {"id": "d2"}}))), Signal::Ended(id, FollowResult::Failed(_)) if id == "d2"));
        assert_eq!(signal_of(&event("status_update_event", json!({"appId": "/a"}))), Signal::AppChanged(Some("/a".into())));
        assert_eq!(signal_of(&event("deployment_success", json!({}))), Signal::AppChanged(None));
    }
}
