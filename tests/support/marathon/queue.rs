//! The double's launch queue, `GET /v2/queue`, in the shape Marathon documents
//! (docs/docs/rest-api/public/api/v2/types/queue.raml and examples/queue.json in
//! mesosphere/marathon): every app with instances still to launch, its launch delay (backed
//! off after failed tasks), and the offer funnel `processedOffersSummary` with
//! `rejectSummaryLastOffers` (the last offer of each agent) when offers do not fit.

use super::{AppRecord, Double, Inner, render_app};
use axum::extract::State;
use axum::response::Json;
use serde_json::{Value, json};

/// Marathon's funnel (`NoOfferMatchReason.reasonFunnel`): an offer is counted declined at
/// the first step it fails, and reaches no later step.
const FUNNEL: [&str; 8] = ["UnfulfilledRole", "UnfulfilledConstraint", "NoCorrespondingReservationFound", "InsufficientCpus", "InsufficientMemory", "InsufficientDisk", "InsufficientGpus", "InsufficientPorts"];

/// Seconds left of the launch delay after failed tasks (Marathon's backoff, a few failures in).
const BACKOFF_SECONDS: u64 = 3;

/// `GET /v2/queue`.
pub(super) async fn list(State(d): State<Double>) -> Json<Value> {
    let inner = d.lock();
    let queue: Vec<Value> = inner.apps.iter().filter_map(|(id, record)| entry(&inner, id, record)).collect();
    Json(json!({"queue": queue}))
}

/// The app's queue item, when it has instances to launch that the double holds back.
fn entry(inner: &Inner, id: &str, record: &AppRecord) -> Option<Value> {
    let wanted = record.definition.get("instances").and_then(Value::as_u64).unwrap_or(1);
    let missing = wanted.saturating_sub(record.tasks.len() as u64);
    let backed_off = inner.failing.contains_key(id) && record.last_task_failure.is_some();
    let declined = inner.declining.get(id);
    if missing == 0 || (!backed_off && declined.is_none()) {
        return None;
    }
    // One offer per agent; while backed off, Marathon processes none.
    let offers = if declined.is_some() { inner.mesos_agents } else { 0 };
    let stop = declined.and_then(|reason| FUNNEL.iter().position(|r| r == reason));
    let steps: Vec<Value> = FUNNEL
        .iter()
        .enumerate()
        .map(|(i, reason)| {
            let (processed, declined) = match stop {
                Some(at) if i < at => (offers, 0),
                Some(at) if i == at => (offers, offers),
                _ => (0, 0),
            };
            json!({"reason": reason, "declined": declined, "processed": processed})
        })
        .collect();
    let delay = if backed_off { json!({"timeLeftSeconds": BACKOFF_SECONDS, "overdue": false}) } else { json!({"timeLeftSeconds": 0, "overdue": true}) };
    Some(json!({
        "app": render_app(inner, id, record, false),
        "count": missing,
        "delay": delay,
        "since": record.version,
        "processedOffersSummary": {"processedOffersCount": offers, "unusedOffersCount": offers, "rejectSummaryLastOffers": steps, "rejectSummaryLaunchAttempt": steps}
    }))
}
