//! Marathon's launch queue (`GET /v2/queue`): the apps with instances still to launch, why
//! the offers Marathon got did not fit them, and whether a launch is backed off after
//! failures. Shapes as documented in Marathon's REST API
//! (docs/docs/rest-api/public/api/v2/types/queue.raml and examples/queue.json in
//! mesosphere/marathon): `queue[].{app, count, delay{timeLeftSeconds, overdue},
//! processedOffersSummary{processedOffersCount, unusedOffersCount,
//! rejectSummaryLastOffers[]{reason, declined, processed}}}`; Marathon before 1.4 has no
//! `processedOffersSummary`, which reads as no rejections.

use serde::Serialize;
use serde_json::Value;

/// One app waiting in the launch queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueEntry {
    /// The app's id.
    pub app_id: String,
    /// Instances left to launch.
    pub count: u64,
    /// The launch delay, when Marathon reports one.
    pub delay: Option<QueueDelay>,
    /// Why the last offers (one per agent) were declined, in Marathon's funnel order.
    pub rejections: Vec<Rejection>,
}

/// A launch delay (backoff after failed tasks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QueueDelay {
    /// Seconds before the next launch attempt.
    pub time_left_seconds: u64,
    /// Whether the delay is over (Marathon may launch now).
    pub overdue: bool,
}

/// One step of Marathon's offer funnel: how many offers reached it, how many it declined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// Marathon's reason (`InsufficientMemory`, `InsufficientPorts`, `UnfulfilledConstraint`...).
    pub reason: String,
    /// Offers declined for this reason.
    pub declined: u64,
    /// Offers that reached this step.
    pub processed: u64,
}

impl QueueEntry {
    /// Reads one item of `queue` (an app's; a pod's has no `app` and is skipped).
    pub fn from_json(v: &Value) -> Option<QueueEntry> {
        let app_id = v.pointer("/app/id").and_then(Value::as_str)?.to_owned();
        let n = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
        let delay = v.get("delay").filter(|d| d.is_object()).map(|d| QueueDelay { time_left_seconds: n(d, "timeLeftSeconds"), overdue: d.get("overdue").and_then(Value::as_bool).unwrap_or(true) });
        let rejections = v
            .pointer("/processedOffersSummary/rejectSummaryLastOffers")
            .and_then(Value::as_array)
            .map(|steps| steps.iter().filter_map(|s| Some(Rejection { reason: s.get("reason").and_then(Value::as_str)?.to_owned(), declined: n(s, "declined"), processed: n(s, "processed") })).collect())
            .unwrap_or_default();
        Some(QueueEntry { app_id, count: n(v, "count"), delay, rejections })
    }

    /// Whether Marathon holds the next launch back (its tasks failed repeatedly).
    pub fn backed_off(&self) -> bool {
        self.delay.is_some_and(|d| !d.overdue && d.time_left_seconds > 0)
    }

    /// The reasons that declined at least one of the last offers, in funnel order.
    pub fn declined_reasons(&self) -> impl Iterator<Item = &str> {
        self.rejections.iter().filter(|r| r.declined > 0).map(|r| r.reason.as_str())
    }
}

/// Reads a `/v2/queue` answer.
pub fn parse(body: &Value) -> Option<Vec<QueueEntry>> {
    Some(body.get("queue")?.as_array()?.iter().filter_map(QueueEntry::from_json).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_documented_shape() {
        let body = json!({"queue": [
            {"app": {"id": "/demo/wolf3d"}, "count": 2, "delay": {"timeLeftSeconds": 12, "overdue": false}, "since": "2026-11-24T10:00:00.000Z",
             "processedOffersSummary": {"processedOffersCount": 3, "unusedOffersCount": 3, "rejectSummaryLastOffers": [
                {"reason": "UnfulfilledRole", "declined": 0, "processed": 1},
                {"reason": "InsufficientMemory", "declined": 1, "processed": 1},
                {"reason": "InsufficientPorts", "declined": 0, "processed": 0}]}},
            {"pod": {"id": "/p"}, "count": 1},
            {"app": {"id": "/old"}, "count": 1, "delay": {"timeLeftSeconds": 0, "overdue": true}}
        ]});
        let queue = parse(&body).unwrap();
        assert_eq!(queue.len(), 2, "pods are skipped");
        assert_eq!(queue[0].declined_reasons().collect::<Vec<_>>(), vec!["InsufficientMemory"]);
        assert!(queue[0].backed_off() && !queue[1].backed_off());
        assert!(queue[1].rejections.is_empty(), "Marathon before 1.4 has no summary");
        assert_eq!(parse(&json!({"message": "x"})), None);
    }
}
