//! Every result row of a class's students, oldest first, and their last step visits: what
//! the instructor's board and the class export are computed from.

use super::classroom::ClassId;
use super::{Store, StoreError, StudentId};
use crate::checks::{Criterion, Status};

/// One recorded result (only changes are recorded, so each row is a new state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    /// Whose.
    pub student: StudentId,
    /// The exercise.
    pub exercise: String,
    /// Its status.
    pub status: Status,
    /// Its criteria.
    pub criteria: Vec<Criterion>,
    /// Unix ms, UTC.
    pub checked_at_ms: i64,
}

/// A student's most recent step visit in a lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepVisit {
    /// Whose.
    pub student: StudentId,
    /// The step id.
    pub step: String,
    /// Unix ms, UTC.
    pub at_ms: i64,
}

impl Store {
    /// Every result of `lab` recorded for members of `class`, oldest first.
    pub async fn class_history(&self, class: ClassId, lab: &str) -> Result<Vec<HistoryRow>, StoreError> {
        let rows: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
            "SELECT r.student_id, r.exercise, r.status, r.criteria, r.checked_at FROM check_results r
             JOIN class_members m ON m.student_id = r.student_id
             WHERE m.class_id = ? AND r.lab = ? ORDER BY r.id",
        )
        .bind(class.0)
        .bind(lab)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(student, exercise, status, criteria, checked_at_ms)| {
                Ok(HistoryRow {
                    student: StudentId(student),
                    status: Status::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("status {status}")))?,
                    criteria: serde_json::from_str(&criteria).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    exercise,
                    checked_at_ms,
                })
            })
            .collect()
    }

    /// The step of `lab` each member of `class` opened last.
    pub async fn class_last_steps(&self, class: ClassId, lab: &str) -> Result<Vec<StepVisit>, StoreError> {
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT v.student_id, v.step, v.last_seen_at FROM step_visits v
             JOIN class_members m ON m.student_id = v.student_id
             WHERE m.class_id = ? AND v.lab = ?
               AND v.last_seen_at = (SELECT MAX(x.last_seen_at) FROM step_visits x WHERE x.student_id = v.student_id AND x.lab = v.lab)
             ORDER BY v.student_id",
        )
        .bind(class.0)
        .bind(lab)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(student, step, at_ms)| StepVisit { student: StudentId(student), step, at_ms }).collect())
    }

    /// Every class of `lab` (or of any lab), newest first: `lab class export` picks one.
    pub async fn classes(&self, lab: Option<&str>) -> Result<Vec<super::classroom::ClassRecord>, StoreError> {
        let mut all = Vec::new();
        let ids: Vec<i64> = match lab {
            Some(lab) => sqlx::query_scalar("SELECT id FROM classes WHERE lab = ? ORDER BY id DESC").bind(lab).fetch_all(&self.pool).await?,
            None => sqlx::query_scalar("SELECT id FROM classes ORDER BY id DESC").fetch_all(&self.pool).await?,
        };
        for id in ids {
            if let Some(class) = self.class(ClassId(id)).await? {
                all.push(class);
            }
        }
        Ok(all)
    }
}
