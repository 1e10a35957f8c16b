//! Services that share another's network namespace (`network_mode: service:X`): whether
//! each one is still attached to X's *current* namespace, decided from what the engine
//! reports rather than from the configuration hash alone.
//!
//! The engine resolves `container:<name>` to the target's id when it creates the sharer
//! (`HostConfig.NetworkMode` is `container:<id>`) and joins the namespace the target has
//! at that moment. Two things leave a running sharer in a namespace nobody else is in,
//! with only a loopback interface:
//! - the target was recreated (an `up` that replaced X and was cut off before it replaced
//!   the sharer): the id in `NetworkMode` is no longer a container at all, and the engine
//!   even refuses to restart the sharer ("No such container");
//! - the target restarted (`docker restart X`, a restart policy): same id, but a new
//!   namespace, and X's `State.StartedAt` is later than the sharer's.
//!
//! A stopped sharer is fine as long as its target exists: starting it joins the target's
//! current namespace.

use super::plan::labels;
use bollard::Docker;
use bollard::models::ContainerSummary;
use bollard::query_parameters::InspectContainerOptions;
use std::collections::HashMap;

/// Where a sharing container stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attachment {
    /// In the namespace of the target's current container (or stopped, and will join it).
    Current,
    /// Attached to a container that no longer exists: the target was recreated or removed.
    TargetGone,
    /// The target started again after the sharer joined it: the sharer kept the old namespace.
    TargetRestarted,
    /// The target is not running, so the namespace the sharer is in is not the target's.
    TargetStopped,
}

impl Attachment {
    /// Whether the sharer must be recreated to reach the network again.
    pub fn is_stale(&self) -> bool {
        *self != Attachment::Current
    }

    /// What is wrong and what to do, for `lab status`; `None` when attached.
    pub fn problem(&self, service: &str, target: &str) -> Option<String> {
        let what = match self {
            Attachment::Current => return None,
            Attachment::TargetGone => format!("shares the network of {target}, whose container was replaced or removed after {service} joined it"),
            Attachment::TargetRestarted => format!("shares the network of {target}, which restarted after {service} joined it"),
            Attachment::TargetStopped => format!("shares the network of {target}, which is not running"),
        };
        Some(format!("{what}: it cannot reach anything. Run `lab up` to reattach it"))
    }
}

/// The container id a `container:<id>` network mode names.
pub fn network_target(mode: &str) -> Option<&str> {
    mode.strip_prefix("container:").filter(|id| !id.is_empty())
}

/// What the engine says about one container, as far as sharing is concerned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The container's id.
    pub id: String,
    /// Whether it is running.
    pub running: bool,
    /// `State.StartedAt`, as the engine wrote it.
    pub started_at: Option<String>,
}

/// Decides how a sharer stands from its own facts, the id its network mode names, and the
/// facts of the container that id should be: the target service's current container.
pub fn attachment(sharer: &Facts, joined: &str, target: Option<&Facts>) -> Attachment {
    let Some(target) = target.filter(|t| same_id(&t.id, joined)) else { return Attachment::TargetGone };
    if !sharer.running {
        return Attachment::Current;
    }
    if !target.running {
        return Attachment::TargetStopped;
    }
    match (target.started_at.as_deref().and_then(instant), sharer.started_at.as_deref().and_then(instant)) {
        (Some(target_start), Some(sharer_start)) if target_start > sharer_start => Attachment::TargetRestarted,
        // Unknown times cannot prove anything: keep what works as far as we can tell.
        _ => Attachment::Current,
    }
}

/// Ids as the engine writes them in full, or shortened to a prefix by someone.
fn same_id(a: &str, b: &str) -> bool {
    !a.is_empty() && !b.is_empty() && (a.starts_with(b) || b.starts_with(a))
}

/// An engine timestamp (`2026-11-25T00:24:58.081414052Z`, UTC, with up to nine digits
/// of fraction and trailing zeros dropped) as something that orders correctly: the date
/// and time to the second, then nanoseconds. Text comparison would not (`.5Z` > `.45Z`
/// works, but `.5Z` > `.50001Z` does not).
pub(super) fn instant(text: &str) -> Option<(&str, u32)> {
    let text = text.strip_suffix('Z')?;
    let (seconds, fraction) = text.split_once('.').unwrap_or((text, ""));
    if seconds.len() != 19 || fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos = if fraction.is_empty() { 0 } else { fraction.parse::<u32>().ok()? * 10u32.pow(9 - fraction.len() as u32) };
    Some((seconds, nanos))
}

/// Inspects one container for its facts and the id its network mode names, if any.
async fn inspect(docker: &Docker, id: &str) -> Option<(Facts, Option<String>)> {
    let info = docker.inspect_container(id, None::<InspectContainerOptions>).await.ok()?;
    let state = info.state.unwrap_or_default();
    let joined = info.host_config.and_then(|h| h.network_mode).as_deref().and_then(network_target).map(str::to_owned);
    let facts = Facts { id: info.id.unwrap_or_else(|| id.to_owned()), running: state.running.unwrap_or(false), started_at: state.started_at };
    Some((facts, joined))
}

/// A sharer of the project and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sharer {
    /// The service it shares the network of, when known (from its label).
    pub target: Option<String>,
    /// Where it stands.
    pub attachment: Attachment,
}

/// For every container of the project (by service) that joins another's namespace, how it
/// stands. The target is the container of the service in its `lab.network-of` label, or
/// else whichever project container its network mode names.
pub async fn sharers(docker: &Docker, containers: &HashMap<String, ContainerSummary>) -> HashMap<String, Sharer> {
    let mut out = HashMap::new();
    let mut targets: HashMap<String, Option<Facts>> = HashMap::new();
    for (service, summary) in containers {
        let Some(id) = summary.id.as_deref() else { continue };
        // The list's own copy of the network mode saves inspecting everyone else.
        let listed_mode = summary.host_config.as_ref().and_then(|h| h.network_mode.as_deref());
        if listed_mode.is_some_and(|m| network_target(m).is_none()) {
            continue;
        }
        let Some((facts, Some(joined))) = inspect(docker, id).await else { continue };
        let label = summary.labels.as_ref().and_then(|l| l.get(labels::NETWORK_OF)).cloned();
        let target_service = label.clone().or_else(|| {
            containers.iter().find(|(_, c)| c.id.as_deref().is_some_and(|cid| same_id(cid, &joined))).map(|(s, _)| s.clone())
        });
        let target = match target_service.as_ref().and_then(|s| containers.get(s)).and_then(|c| c.id.clone()) {
            Some(target_id) => match targets.get(&target_id) {
                Some(known) => known.clone(),
                None => {
                    let found = inspect(docker, &target_id).await.map(|(f, _)| f);
                    targets.insert(target_id, found.clone());
                    found
                }
            },
            None => None,
        };
        let attachment = attachment(&facts, &joined, target.as_ref());
        out.insert(service.clone(), Sharer { target: target_service, attachment });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(id: &str, running: bool, started_at: &str) -> Facts {
        Facts { id: id.into(), running, started_at: Some(started_at.into()) }
    }

    #[test]
    fn times_order_by_their_value_not_their_text() {
        assert!(instant("2026-11-25T00:24:58.5Z") < instant("2026-11-25T00:24:58.50001Z"));
        assert!(instant("2026-11-25T00:24:58.45Z") < instant("2026-11-25T00:24:58.5Z"));
        assert!(instant("2026-11-25T00:24:58Z") < instant("2026-11-25T00:24:58.000000001Z"));
        assert!(instant("2026-11-25T00:24:59Z") > instant("2026-11-25T00:24:58.999999999Z"));
        assert_eq!(instant("2026-11-25T01:24:58+01:00"), None, "the engine writes UTC; anything else is unknown");
        assert_eq!(instant("soon"), None);
    }

    // The cases below are what the engine reported in the investigation (docker 20.10).
    #[test]
    fn a_sharer_of_a_recreated_target_points_at_a_removed_id() {
        let sharer = facts("3268a46e7954", true, "2026-11-25T00:24:58.081414052Z");
        let new_target = facts("c598c8e23641", true, "2026-11-25T00:25:03.63324677Z");
        assert_eq!(attachment(&sharer, "b78177ef9785e298774dab6f752fade15fa68ffb5a59b53374c6070fc469f000", Some(&new_target)), Attachment::TargetGone);
        assert_eq!(attachment(&sharer, "b78177ef9785", None), Attachment::TargetGone);
        let stopped = Facts { running: false, ..sharer };
        assert_eq!(attachment(&stopped, "b78177ef9785", Some(&new_target)), Attachment::TargetGone, "starting it would fail: No such container");
    }

    #[test]
    fn a_sharer_of_a_restarted_target_kept_the_old_namespace() {
        let target = facts("b78177ef9785e298774dab6f752fade15fa68ffb5a59b53374c6070fc469f000", true, "2026-11-25T00:24:58.940309318Z");
        let sharer = facts("3268a46e7954", true, "2026-11-25T00:24:58.081414052Z");
        assert_eq!(attachment(&sharer, &target.id, Some(&target)), Attachment::TargetRestarted);
        let rejoined = facts("3268a46e7954", true, "2026-11-25T00:24:59.1Z");
        assert_eq!(attachment(&rejoined, &target.id, Some(&target)), Attachment::Current, "restarting the sharer rejoins");
        let stopped = Facts { running: false, ..sharer.clone() };
        assert_eq!(attachment(&stopped, &target.id, Some(&target)), Attachment::Current, "starting it joins the current namespace");
        let target_down = Facts { running: false, ..target.clone() };
        assert_eq!(attachment(&sharer, &target.id, Some(&target_down)), Attachment::TargetStopped);
        let unknown = Facts { started_at: None, ..sharer };
        assert_eq!(attachment(&unknown, &target.id, Some(&target)), Attachment::Current);
    }

    #[test]
    fn problems_say_what_to_do() {
        assert_eq!(Attachment::Current.problem("sidecar", "web"), None);
        let text = Attachment::TargetRestarted.problem("sidecar", "web").unwrap_or_default();
        assert_eq!(text, "shares the network of web, which restarted after sidecar joined it: it cannot reach anything. Run `lab up` to reattach it");
        assert!(network_target("container:abc") == Some("abc") && network_target("container:").is_none() && network_target("host").is_none());
    }
}
