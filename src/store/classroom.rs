//! The classroom's records: classes, their members (students with display names),
//! browser sessions (hashed tokens only), and each student's stack (project, port block,
//! state). The classroom module gives these meaning; here they are only kept.

use super::{Store, StoreError, StudentId, now_ms};
use sqlx::Row;

/// Id of a class row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct ClassId(pub i64);

/// A class as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassRecord {
    /// Its id.
    pub id: ClassId,
    /// The lab it runs.
    pub lab: String,
    /// The code students join with.
    pub join_code: String,
    /// Whether new students may join.
    pub joining_open: bool,
    /// Key for rejoin links.
    pub secret: String,
    /// Hash of the instructor's current login token.
    pub instructor_token_hash: Option<String>,
    /// Settings, as JSON (the classroom module reads them).
    pub settings: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms, once ended.
    pub ended_at: Option<i64>,
}

/// A student of a class.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Member {
    /// The student.
    #[serde(skip)]
    pub student: StudentId,
    /// The class.
    #[serde(skip)]
    pub class: ClassId,
    /// The name they gave.
    pub display_name: String,
    /// Unix ms.
    pub joined_at: i64,
}

/// A browser session: a student's, or the instructor's (no student).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionRecord {
    /// The class.
    pub class: ClassId,
    /// The student, or `None` for the instructor.
    pub student: Option<StudentId>,
}

/// A student's stack as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackRecord {
    /// The student.
    pub student: StudentId,
    /// Project name on the engine.
    pub project: String,
    /// First port of the student's block.
    pub port_base: u16,
    /// `none`, `queued`, `starting`, `ready`, `failed` or `stopped`.
    pub state: String,
    /// The stage, or why it failed.
    pub detail: String,
    /// Unix ms.
    pub updated_at: i64,
}

/// Why a student could not be added.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// Another student of the class has that name.
    #[error("the name is taken")]
    NameTaken,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn class_from(row: &sqlx::sqlite::SqliteRow) -> ClassRecord {
    ClassRecord {
        id: ClassId(row.get("id")),
        lab: row.get("lab"),
        join_code: row.get("join_code"),
        joining_open: row.get::<i64, _>("joining_open") != 0,
        secret: row.get("secret"),
        instructor_token_hash: row.get("instructor_token_hash"),
        settings: row.get("settings"),
        created_at: row.get("created_at"),
        ended_at: row.get("ended_at"),
    }
}

fn stack_from(row: &sqlx::sqlite::SqliteRow) -> Result<StackRecord, StoreError> {
    let base: i64 = row.get("port_base");
    Ok(StackRecord {
        student: StudentId(row.get("student_id")),
        project: row.get("project"),
        port_base: u16::try_from(base).map_err(|_| StoreError::Corrupt(format!("port base {base}")))?,
        state: row.get("state"),
        detail: row.get("detail"),
        updated_at: row.get("updated_at"),
    })
}

/// The key that makes names unique per class: case and spacing do not make a new name.
pub fn name_key(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

impl Store {
    /// The class of `lab` that has not ended, newest first.
    pub async fn current_class(&self, lab: &str) -> Result<Option<ClassRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM classes WHERE lab = ? AND ended_at IS NULL ORDER BY id DESC LIMIT 1").bind(lab).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(class_from))
    }

    /// A class by id.
    pub async fn class(&self, id: ClassId) -> Result<Option<ClassRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM classes WHERE id = ?").bind(id.0).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(class_from))
    }

    /// Starts a class.
    pub async fn create_class(&self, lab: &str, join_code: &str, secret: &str, settings: &str) -> Result<ClassRecord, StoreError> {
        let id: i64 = sqlx::query_scalar("INSERT INTO classes (lab, join_code, secret, settings, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id")
            .bind(lab)
            .bind(join_code)
            .bind(secret)
            .bind(settings)
            .bind(now_ms())
            .fetch_one(&self.pool)
            .await?;
        self.class(ClassId(id)).await?.ok_or_else(|| StoreError::Corrupt("a new class vanished".into()))
    }

    /// Changes a class's join code, settings, joining flag and instructor token hash.
    pub async fn update_class(&self, class: &ClassRecord) -> Result<(), StoreError> {
        sqlx::query("UPDATE classes SET join_code = ?, settings = ?, joining_open = ?, instructor_token_hash = ?, ended_at = ? WHERE id = ?")
            .bind(&class.join_code)
            .bind(&class.settings)
            .bind(i64::from(class.joining_open))
            .bind(&class.instructor_token_hash)
            .bind(class.ended_at)
            .bind(class.id.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Adds a student called `display_name` to `class`.
    pub async fn add_member(&self, class: ClassId, display_name: &str) -> Result<StudentId, JoinError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(StoreError::from)?;
        let taken: Option<i64> = sqlx::query_scalar("SELECT student_id FROM class_members WHERE class_id = ? AND name_key = ?")
            .bind(class.0)
            .bind(name_key(display_name))
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        if taken.is_some() {
            return Err(JoinError::NameTaken);
        }
        let now = now_ms();
        // The internal name only has to be unique; the display name lives in class_members.
        let internal = format!("class-{}-{}", class.0, super::random_suffix());
        let id: i64 = sqlx::query_scalar("INSERT INTO students (name, created_at) VALUES (?, ?) RETURNING id")
            .bind(&internal)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        let inserted = sqlx::query("INSERT INTO class_members (student_id, class_id, display_name, name_key, joined_at) VALUES (?, ?, ?, ?, ?)")
            .bind(id)
            .bind(class.0)
            .bind(display_name)
            .bind(name_key(display_name))
            .bind(now)
            .execute(&mut *tx)
            .await;
        match inserted {
            Ok(_) => {}
            // A concurrent join with the same name won the race.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Err(JoinError::NameTaken),
            Err(e) => return Err(StoreError::from(e).into()),
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(StudentId(id))
    }

    /// A class member by student.
    pub async fn member(&self, student: StudentId) -> Result<Option<Member>, StoreError> {
        let row = sqlx::query("SELECT student_id, class_id, display_name, joined_at FROM class_members WHERE student_id = ?").bind(student.0).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| Member { student: StudentId(r.get(0)), class: ClassId(r.get(1)), display_name: r.get(2), joined_at: r.get(3) }))
    }

    /// Every member of a class, by join time.
    pub async fn members(&self, class: ClassId) -> Result<Vec<Member>, StoreError> {
        let rows = sqlx::query("SELECT student_id, class_id, display_name, joined_at FROM class_members WHERE class_id = ? ORDER BY joined_at, student_id").bind(class.0).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|r| Member { student: StudentId(r.get(0)), class: ClassId(r.get(1)), display_name: r.get(2), joined_at: r.get(3) }).collect())
    }

    /// Records a session by the hash of its token.
    pub async fn create_session(&self, token_hash: &str, class: ClassId, student: Option<StudentId>) -> Result<(), StoreError> {
        let now = now_ms();
        sqlx::query("INSERT INTO sessions (token_hash, class_id, student_id, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)")
            .bind(token_hash)
            .bind(class.0)
            .bind(student.map(|s| s.0))
            .bind(now)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The session with this token hash, if any.
    pub async fn session(&self, token_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query("SELECT class_id, student_id FROM sessions WHERE token_hash = ?").bind(token_hash).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| SessionRecord { class: ClassId(r.get(0)), student: r.get::<Option<i64>, _>(1).map(StudentId) }))
    }

    /// Forgets a session (sign out).
    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?").bind(token_hash).execute(&self.pool).await?;
        Ok(())
    }

    /// Forgets every session of a class (when it ends).
    pub async fn delete_class_sessions(&self, class: ClassId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE class_id = ?").bind(class.0).execute(&self.pool).await?;
        Ok(())
    }

    /// A student's stack record.
    pub async fn student_stack(&self, student: StudentId) -> Result<Option<StackRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM student_stacks WHERE student_id = ?").bind(student.0).fetch_optional(&self.pool).await?;
        row.as_ref().map(stack_from).transpose()
    }

    /// Every stack record of a class.
    pub async fn class_stacks(&self, class: ClassId) -> Result<Vec<StackRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM student_stacks WHERE class_id = ? ORDER BY student_id").bind(class.0).fetch_all(&self.pool).await?;
        rows.iter().map(stack_from).collect()
    }

    /// Creates a student's stack record with the first free port block of `class` (blocks
    /// of `block` ports from `from` to `to`); `None` when the range is full.
    pub async fn allocate_stack(&self, class: ClassId, student: StudentId, project: &str, from: u16, to: u16, block: u16) -> Result<Option<StackRecord>, StoreError> {
        if let Some(existing) = self.student_stack(student).await? {
            return Ok(Some(existing));
        }
        let block = block.max(1);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let used: Vec<i64> = sqlx::query_scalar("SELECT port_base FROM student_stacks WHERE class_id = ?").bind(class.0).fetch_all(&mut *tx).await?;
        let mut base = u32::from(from);
        let free = loop {
            if base + u32::from(block) - 1 > u32::from(to) {
                break None;
            }
            if !used.contains(&i64::from(base)) {
                break Some(base);
            }
            base += u32::from(block);
        };
        let Some(base) = free else { return Ok(None) };
        sqlx::query("INSERT INTO student_stacks (student_id, class_id, project, port_base, state, detail, updated_at) VALUES (?, ?, ?, ?, 'none', '', ?)")
            .bind(student.0)
            .bind(class.0)
            .bind(project)
            .bind(i64::from(base))
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.student_stack(student).await
    }

    /// Sets a stack's state and detail.
    pub async fn set_stack_state(&self, student: StudentId, state: &str, detail: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE student_stacks SET state = ?, detail = ?, updated_at = ? WHERE student_id = ?")
            .bind(state)
            .bind(detail)
            .bind(now_ms())
            .bind(student.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DbLocation;

    #[tokio::test]
    async fn names_are_unique_per_class_whatever_their_case() {
        let store = Store::open(&DbLocation::Memory).await.unwrap();
        let a = store.create_class("lab", "ABC", "k", "{}").await.unwrap();
        let b = store.create_class("lab", "XYZ", "k", "{}").await.unwrap();
        let alice = store.add_member(a.id, "Alice").await.unwrap();
        assert!(matches!(store.add_member(a.id, "  alice ").await, Err(JoinError::NameTaken)));
        let other = store.add_member(b.id, "Alice").await.unwrap();
        assert_ne!(alice, other, "another class may have its own Alice");
        assert_eq!(store.member(alice).await.unwrap().unwrap().display_name, "Alice");
        assert_eq!(store.current_class("lab").await.unwrap().unwrap().id, b.id, "the newest class is current");
    }

    #[tokio::test]
    async fn sessions_are_found_by_hash_and_port_blocks_never_overlap() {
        let store = Store::open(&DbLocation::Memory).await.unwrap();
        let class = store.create_class("lab", "ABC", "k", "{}").await.unwrap();
        let s1 = store.add_member(class.id, "one").await.unwrap();
        let s2 = store.add_member(class.id, "two").await.unwrap();
        let s3 = store.add_member(class.id, "three").await.unwrap();
        store.create_session("h1", class.id, Some(s1)).await.unwrap();
        store.create_session("hi", class.id, None).await.unwrap();
        assert_eq!(store.session("h1").await.unwrap(), Some(SessionRecord { class: class.id, student: Some(s1) }));
        assert_eq!(store.session("hi").await.unwrap().unwrap().student, None);
        assert_eq!(store.session("nope").await.unwrap(), None);

        let b1 = store.allocate_stack(class.id, s1, "p1", 20000, 20007, 4).await.unwrap().unwrap();
        let b2 = store.allocate_stack(class.id, s2, "p2", 20000, 20007, 4).await.unwrap().unwrap();
        assert_eq!((b1.port_base, b2.port_base), (20000, 20004));
        assert_eq!(store.allocate_stack(class.id, s3, "p3", 20000, 20007, 4).await.unwrap(), None, "the range is full");
        assert_eq!(store.allocate_stack(class.id, s1, "p1", 20000, 20007, 4).await.unwrap().unwrap().port_base, 20000, "a student keeps their block");
        store.set_stack_state(s2, "ready", "").await.unwrap();
        assert_eq!(store.student_stack(s2).await.unwrap().unwrap().state, "ready");
    }
}
