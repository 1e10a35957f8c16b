//! Live re-checks: follow a student's Marathon event stream and re-run the exercises a
//! change can affect (debounced), plus a periodic pass that catches what no event announces
//! (the gateway starting to answer) and covers a dropped stream.

use super::{ExerciseResult, Target, run_exercise};
use crate::course::Lab;
use crate::course::checks::CheckKind;
use crate::marathon::events::{StreamItem, subscribe};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::sync::mpsc;

/// Quiet time after an event before re-checking (a deployment sends bursts).
pub const DEBOUNCE: Duration = Duration::from_millis(400);

/// One re-check's outcome.
#[derive(Debug, Clone)]
pub struct LiveResult {
    /// The exercise.
    pub exercise: String,
    /// Its result, or why it could not be checked.
    pub result: Result<ExerciseResult, String>,
}

/// Supplies the current lab (it may be reloaded while watching).
pub type LabSource = Box<dyn Fn() -> Option<Lab> + Send + Sync>;

/// Events that can change an exercise's result.
fn relevant(kind: &str) -> bool {
    matches!(
        kind,
        "status_update_event"
            | "health_status_changed_event"
            | "failed_health_check_event"
            | "unhealthy_task_kill_event"
            | "deployment_success"
            | "deployment_failed"
            | "deployment_info"
            | "deployment_step_success"
            | "api_post_event"
            | "app_terminated_event"
            | "instance_changed_event"
            | "instance_health_changed_event"
    )
}

/// The exercises a change to `app` (or to anything, for `None`) can affect.
pub fn affected(lab: &Lab, app: Option<&str>) -> Vec<String> {
    lab.exercises
        .iter()
        .filter(|e| {
            let required = e.requires.as_deref().and_then(|r| lab.exercise(r));
            e.checks.iter().chain(required.into_iter().flat_map(|r| r.checks.iter())).any(|c| match (c.kind.value, app) {
                (_, None) => true,
                (CheckKind::MarathonApp, Some(app)) => c.app.as_deref().is_none_or(|id| id.trim_start_matches('/') == app.trim_start_matches('/')),
                (CheckKind::Http, Some(_)) => true,
                _ => false,
            })
        })
        .filter(|e| !e.checks.is_empty())
        .map(|e| e.id.clone())
        .collect()
}

/// Runs until `results` is closed: checks every exercise once, then again as events and the
/// periodic `interval` demand.
pub async fn run(lab: LabSource, target: Target, interval: Duration, results: mpsc::Sender<LiveResult>) {
    let mut stream = subscribe(&target.marathon);
    let mut tick = tokio::time::interval(interval);
    let mut dirty: BTreeSet<String> = BTreeSet::new();
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Some(lab) = lab() {
                    dirty.extend(affected(&lab, None));
                }
                deadline = Some(tokio::time::Instant::now());
            }
            item = stream.next() => match item {
                Some(StreamItem::Event(event)) if relevant(&event.kind) => {
                    if let Some(lab) = lab() {
                        dirty.extend(affected(&lab, event.app_id()));
                    }
                    deadline = Some(tokio::time::Instant::now() + DEBOUNCE);
                }
                Some(StreamItem::Connected) => {
                    // Anything may have changed while disconnected.
                    if let Some(lab) = lab() {
                        dirty.extend(affected(&lab, None));
                    }
                    deadline = Some(tokio::time::Instant::now() + DEBOUNCE);
                }
                Some(_) => {}
                None => return,
            },
            () = async { if let Some(d) = deadline { tokio::time::sleep_until(d).await } else { std::future::pending().await } } => {
                deadline = None;
                let Some(lab) = lab() else { dirty.clear(); continue };
                for exercise in std::mem::take(&mut dirty) {
                    let result = run_exercise(&lab, &exercise, &target).await.map_err(|e| e.to_string());
                    if results.send(LiveResult { exercise, result }).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}
