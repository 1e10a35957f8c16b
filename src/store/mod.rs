//! Persistent state in SQLite (sqlx): students, the steps they visited, and their exercise
//! results (changes only); in classroom mode also classes, members, sessions and stacks
//! (`classroom`). Migrations are compiled in and applied when the store opens.

pub mod classroom;
pub mod history;

use crate::checks::{Criterion, ExerciseResult, Status};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or created.
    #[error("cannot open the database {location}: {source}")]
    Open {
        /// Path or URL that was tried.
        location: String,
        /// Underlying error.
        source: sqlx::Error,
    },
    /// A migration failed (a database written by a newer lab, or a damaged file).
    #[error("cannot prepare the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    /// A stored value could not be read back.
    #[error("damaged record in the database: {0}")]
    Corrupt(String),
    /// The folder for the database file could not be created.
    #[error("cannot create {path}: {source}")]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
}

/// Where the database lives: a file path, `sqlite:` URL, or `:memory:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbLocation {
    /// A SQLite file (created if missing).
    File(PathBuf),
    /// A `sqlite:` URL, passed to sqlx as written.
    Url(String),
    /// A private in-memory database (tests, throwaway runs).
    Memory,
}

impl DbLocation {
    /// Interprets the `--db` / `LAB_DB` value.
    pub fn parse(value: &str) -> DbLocation {
        if value == ":memory:" {
            DbLocation::Memory
        } else if value.starts_with("sqlite:") {
            DbLocation::Url(value.to_owned())
        } else {
            DbLocation::File(PathBuf::from(value))
        }
    }

    /// The default: `lab.db` in the user's data folder (e.g. `~/.local/share/lab/lab.db`).
    pub fn default_file() -> DbLocation {
        DbLocation::File(crate::paths::data_dir().join("lab.db"))
    }
}

impl std::fmt::Display for DbLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbLocation::File(p) => write!(f, "{}", p.display()),
            DbLocation::Url(u) => f.write_str(u),
            DbLocation::Memory => f.write_str(":memory:"),
        }
    }
}

/// Id of a student row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StudentId(pub i64);

/// The last step a student opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastVisit {
    /// Lab id.
    pub lab: String,
    /// Step id.
    pub step: String,
    /// Unix milliseconds.
    pub at_ms: i64,
}

/// A recorded exercise result.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredResult {
    /// The exercise.
    pub exercise: String,
    /// Its status.
    pub status: Status,
    /// Its criteria.
    pub criteria: Vec<Criterion>,
    /// When it was checked (unix ms, UTC).
    pub checked_at_ms: i64,
}

/// Handle to the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl Store {
    /// Opens (creating if needed) the database and applies pending migrations.
    pub async fn open(location: &DbLocation) -> Result<Store, StoreError> {
        let options = match location {
            DbLocation::File(path) => {
                create_parent(path)?;
                SqliteConnectOptions::new().filename(path).create_if_missing(true)
            }
            DbLocation::Url(url) => SqliteConnectOptions::from_str(url)
                .map_err(|source| StoreError::Open { location: url.clone(), source })?
                .create_if_missing(true),
            DbLocation::Memory => SqliteConnectOptions::new().in_memory(true),
        }
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
        // Write transactions begin IMMEDIATE: a deferred one that reads and then writes fails
        // at once (SQLITE_BUSY_SNAPSHOT) when another connection wrote in between, whatever
        // the busy timeout.
        // Every pooled connection to ":memory:" would open its own empty database, so an
        // in-memory store has exactly one, never retired for idleness or age (the pool's
        // defaults would replace it after 10 or 30 minutes, losing every record).
        let pool_options = if *location == DbLocation::Memory {
            SqlitePoolOptions::new().max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(4)
        };
        let pool = pool_options
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open { location: location.to_string(), source })?;
        MIGRATOR.run(&pool).await?;
        Ok(Store { pool })
    }

    /// The student called `name`, created on first use.
    pub async fn student(&self, name: &str) -> Result<StudentId, StoreError> {
        sqlx::query("INSERT INTO students (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        let id: i64 = sqlx::query_scalar("SELECT id FROM students WHERE name = ?").bind(name).fetch_one(&self.pool).await?;
        Ok(StudentId(id))
    }

    /// Records that `student` opened `step` of `lab`.
    pub async fn record_step_visit(&self, student: StudentId, lab: &str, step: &str) -> Result<(), StoreError> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO step_visits (student_id, lab, step, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (student_id, lab, step) DO UPDATE SET last_seen_at = excluded.last_seen_at",
        )
        .bind(student.0)
        .bind(lab)
        .bind(step)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Step ids of `lab` that `student` has opened.
    pub async fn visited_steps(&self, student: StudentId, lab: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT step FROM step_visits WHERE student_id = ? AND lab = ? ORDER BY first_seen_at")
            .bind(student.0)
            .bind(lab)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The step `student` opened most recently.
    pub async fn last_visit(&self, student: StudentId) -> Result<Option<LastVisit>, StoreError> {
        let row = sqlx::query("SELECT lab, step, last_seen_at FROM step_visits WHERE student_id = ? ORDER BY last_seen_at DESC LIMIT 1")
            .bind(student.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| LastVisit { lab: r.get(0), step: r.get(1), at_ms: r.get(2) }))
    }

    /// Records `result` for `student` if it differs from their latest result for that
    /// exercise. Returns whether a row was added.
    pub async fn record_result(&self, student: StudentId, lab: &str, result: &ExerciseResult) -> Result<bool, StoreError> {
        let criteria = serde_json::to_string(&result.criteria).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let latest: Option<(String, String)> = sqlx::query_as(
            "SELECT status, criteria FROM check_results WHERE student_id = ? AND lab = ? AND exercise = ? ORDER BY id DESC LIMIT 1",
        )
        .bind(student.0)
        .bind(lab)
        .bind(&result.exercise)
        .fetch_optional(&mut *tx)
        .await?;
        if latest.as_ref().is_some_and(|(status, c)| status == result.status.as_str() && *c == criteria) {
            return Ok(false);
        }
        sqlx::query("INSERT INTO check_results (student_id, lab, exercise, status, criteria, checked_at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(student.0)
            .bind(lab)
            .bind(&result.exercise)
            .bind(result.status.as_str())
            .bind(&criteria)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The latest result of each exercise of `lab` for `student`.
    pub async fn latest_results(&self, student: StudentId, lab: &str) -> Result<Vec<StoredResult>, StoreError> {
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT r.exercise, r.status, r.criteria, r.checked_at FROM check_results r
             WHERE r.student_id = ? AND r.lab = ?
               AND r.id = (SELECT MAX(id) FROM check_results x WHERE x.student_id = r.student_id AND x.lab = r.lab AND x.exercise = r.exercise)
             ORDER BY r.exercise",
        )
        .bind(student.0)
        .bind(lab)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(exercise, status, criteria, checked_at_ms)| {
                Ok(StoredResult {
                    status: Status::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("status {status}")))?,
                    criteria: serde_json::from_str(&criteria).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    exercise,
                    checked_at_ms,
                })
            })
            .collect()
    }

    /// How many result rows exist for one exercise (history length).
    pub async fn result_count(&self, student: StudentId, lab: &str, exercise: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM check_results WHERE student_id = ? AND lab = ? AND exercise = ?")
            .bind(student.0)
            .bind(lab)
            .bind(exercise)
            .fetch_one(&self.pool)
            .await?)
    }

    /// The connection pool, for stages that add their own tables.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

fn create_parent(path: &Path) -> Result<(), StoreError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir { path: dir.to_owned(), source })
        }
        _ => Ok(()),
    }
}

/// A short random suffix for internal names.
fn random_suffix() -> String {
    let mut bytes = [0u8; 6];
    // Uniqueness, not secrecy: a failed read still leaves the time-based part below.
    let _ = getrandom::fill(&mut bytes);
    format!("{:x}{}", now_ms(), bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// Current time as unix milliseconds (UTC).
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn visits_are_recorded_once_per_step_and_the_latest_wins() {
        let store = Store::open(&DbLocation::Memory).await.unwrap();
        let alice = store.student("alice").await.unwrap();
        assert_eq!(store.student("alice").await.unwrap(), alice, "students are created once");
        store.record_step_visit(alice, "lab", "one").await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        store.record_step_visit(alice, "lab", "two").await.unwrap();
        store.record_step_visit(alice, "lab", "two").await.unwrap();
        assert_eq!(store.visited_steps(alice, "lab").await.unwrap(), vec!["one", "two"]);
        assert_eq!(store.last_visit(alice).await.unwrap().map(|v| v.step), Some("two".into()));
        let bob = store.student("bob").await.unwrap();
        assert!(store.last_visit(bob).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_file_database_is_created_with_its_folder_and_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let location = DbLocation::File(dir.path().join("nested/lab.db"));
        let store = Store::open(&location).await.unwrap();
        let id = store.student("solo").await.unwrap();
        drop(store);
        let again = Store::open(&location).await.unwrap();
        assert_eq!(again.student("solo").await.unwrap(), id);
    }

    #[tokio::test]
    async fn only_changed_results_are_recorded() {
        let store = Store::open(&DbLocation::Memory).await.unwrap();
        let s = store.student("s").await.unwrap();
        let result = |status: Status, message: &str| ExerciseResult {
            exercise: "wolf3d".into(),
            status,
            criteria: vec![Criterion { name: "network".into(), status, message: message.into(), hint: None, diagnosis: None }],
            blocked_by: None,
        };
        assert!(store.record_result(s, "lab", &result(Status::Failed, "HOST")).await.unwrap());
        assert!(!store.record_result(s, "lab", &result(Status::Failed, "HOST")).await.unwrap(), "the same result is not stored twice");
        assert!(store.record_result(s, "lab", &result(Status::Passed, "BRIDGE")).await.unwrap());
        assert_eq!(store.result_count(s, "lab", "wolf3d").await.unwrap(), 2);
        let latest = store.latest_results(s, "lab").await.unwrap();
        assert_eq!(latest.len(), 1);
        assert_eq!(latest[0].status, Status::Passed);
        assert_eq!(latest[0].criteria[0].message, "BRIDGE");
        assert!(store.latest_results(s, "other").await.unwrap().is_empty());
    }

    #[test]
    fn db_values_are_parsed() {
        assert_eq!(DbLocation::parse(":memory:"), DbLocation::Memory);
        assert_eq!(DbLocation::parse("sqlite://x.db"), DbLocation::Url("sqlite://x.db".into()));
        assert_eq!(DbLocation::parse("x.db"), DbLocation::File("x.db".into()));
    }
}
