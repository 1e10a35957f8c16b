//! A class's results for after the class: per student and exercise, the status, when they
//! first passed, their attempts (distinct failing results before passing) and the time
//! spent (first result to first pass, or to the latest result when not passed). The same
//! [`Board`] feeds the CSV (`/instructor/export.csv`, `lab class export`) and the JSON
//! (`/api/class`, `lab class export --format json`).

use super::board::Board;
use serde_json::{Value, json};

/// The CSV's columns.
pub const CSV_HEADER: [&str; 7] = ["student", "exercise", "status", "first_seen_at", "first_passed_at", "attempts", "time_spent_s"];

/// Unix ms as an ISO 8601 UTC time (`2026-11-25T04:05:06Z`).
pub fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// One CSV line per student and exercise, under [`CSV_HEADER`]; names are quoted as needed.
pub fn csv(board: &Board) -> Result<String, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(CSV_HEADER)?;
    for row in &board.rows {
        for cell in &row.cells {
            out.write_record([
                row.name.clone(),
                cell.exercise.clone(),
                cell.status.as_str().to_owned(),
                cell.first_seen_ms.map(utc).unwrap_or_default(),
                cell.first_passed_ms.map(utc).unwrap_or_default(),
                cell.attempts.to_string(),
                cell.time_spent_ms.map(|ms| (ms / 1000).to_string()).unwrap_or_default(),
            ])?;
        }
    }
    let bytes = out.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The class as JSON: `{lab, exported_at, exercises: [{id, title, passed, total}],
/// students: [{name, exercises: [{exercise, status, first_passed_at, attempts,
/// time_spent_s}]}]}`.
pub fn json(board: &Board, lab: &str) -> Value {
    json!({
        "lab": lab,
        "exported_at": utc(board.now_ms),
        "exercises": board.exercises.iter().map(|c| json!({"id": c.id, "title": c.title, "passed": c.passed, "total": c.total})).collect::<Vec<_>>(),
        "students": board.rows.iter().map(|r| json!({
            "name": r.name,
            "exercises": r.cells.iter().map(|c| json!({
                "exercise": c.exercise,
                "status": c.status.as_str(),
                "first_passed_at": c.first_passed_ms.map(utc),
                "attempts": c.attempts,
                "time_spent_s": c.time_spent_ms.map(|ms| ms / 1000),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_iso_8601() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_795_579_341_734), "2026-11-25T04:02:21Z");
        assert_eq!(utc(951_782_400_000), "2000-02-29T00:00:00Z");
    }
}
