//! The classroom: one class that students join with a code and a name, each getting their
//! own stack on the engine — queued within the class's capacity, started with every stage
//! reported, checked live, stopped when idle, reset on request — and an instructor who
//! signs in with a token. It knows no HTTP: `web` and `cli` call it, and it reaches the
//! engine only through [`Provisioner`]. Everything that must survive a restart lives in the
//! store; the rest (stages, queue positions, open pages) is rebuilt from it and the engine.

pub mod board;
pub mod config;
pub mod controls;
pub mod export;
pub mod kubernetes;
pub mod present;
pub mod provision;
mod recovery;
pub mod student;
mod stacks;
pub mod tokens;
mod views;

pub use config::{PortRange, Settings};
pub use present::{PresentError, Presented};
pub use kubernetes::{KubernetesProvisioner, KubernetesSettings};
pub use provision::{DockerProvisioner, Endpoints, Observed, ProvisionError, Provisioner, ServiceLog, StackRequest};
pub use stacks::PageGuard;
pub use views::{Failure, Link, StackState, StackView};

use crate::course::Lab;
use crate::store::classroom::{ClassId, ClassRecord, JoinError as StoreJoinError};
use crate::store::{Store, StoreError, StudentId};
use std::sync::{Arc, RwLock};
use tokio::sync::broadcast;

/// Supplies the lab as currently loaded (the course may be reloaded during a class).
pub type LabSource = Arc<dyn Fn() -> Option<Lab> + Send + Sync>;

/// Something that changed, for open pages and the instructor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassEvent {
    /// A student's stack changed (state, stage, queue position).
    Stack(StudentId),
    /// A student's exercise results changed.
    Results(StudentId),
    /// A student joined.
    Joined(StudentId),
    /// The class's settings changed.
    Class,
    /// The presenter moved to another slide ([`Classroom::presented`] says which).
    Presented,
}

/// Who a browser session belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// A student of the class.
    Student {
        /// Their id.
        id: StudentId,
        /// The name they gave.
        name: String,
    },
    /// The instructor.
    Instructor,
}

/// A successful join: the student and their tokens (shown once, kept only as hashes).
#[derive(Debug, Clone)]
pub struct Joined {
    /// The new student.
    pub student: StudentId,
    /// Their browser session token.
    pub session: String,
    /// Their personal rejoin token (for another device).
    pub rejoin: String,
}

/// Why joining failed.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// Wrong join code.
    #[error("that is not this class's join code")]
    WrongCode,
    /// Joining is closed.
    #[error("joining this class is closed; ask the instructor")]
    Closed,
    /// The name is unusable.
    #[error("{0}")]
    BadName(String),
    /// Another student has that name.
    #[error("someone in this class already uses the name “{0}”; add an initial or a number")]
    NameTaken(String),
    /// The database failed.
    #[error("the class's records cannot be read right now")]
    Store(#[from] StoreError),
    /// No randomness for tokens.
    #[error("{0}")]
    Tokens(String),
}

/// Errors of the classroom's own operations.
#[derive(Debug, thiserror::Error)]
pub enum ClassError {
    /// The database failed.
    #[error("the class's records cannot be read right now: {0}")]
    Store(#[from] StoreError),
    /// No randomness for tokens.
    #[error("{0}")]
    Tokens(String),
    /// No port block is left in the class's range.
    #[error("no ports are left in the class's range {0}; the instructor can widen --ports")]
    NoPorts(PortRange),
}

/// A running class; cheap to clone.
#[derive(Clone)]
pub struct Classroom {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Classroom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classroom").field("class", &self.id()).finish_non_exhaustive()
    }
}

struct Inner {
    store: Store,
    class: RwLock<ClassRecord>,
    settings: RwLock<Settings>,
    provisioner: Arc<dyn Provisioner>,
    lab: LabSource,
    events: broadcast::Sender<ClassEvent>,
    stacks: stacks::Stacks,
    /// The slide the instructor's presenter view shows (see `present`).
    presented: RwLock<Option<Presented>>,
}

/// How a class is opened by `lab serve --classroom`.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// The lab the class runs.
    pub lab: String,
    /// The settings to use (they replace the stored ones).
    pub settings: Settings,
    /// A join code to use instead of the stored (or a generated) one.
    pub join_code: Option<String>,
    /// The instructor's login token (a fresh one when `None`).
    pub instructor_token: Option<String>,
}

/// What `open` tells the person starting the class.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The class.
    pub classroom: Classroom,
    /// The join code.
    pub join_code: String,
    /// The instructor's login token for this run.
    pub instructor_token: String,
    /// Whether an existing class was resumed.
    pub resumed: bool,
}

impl Classroom {
    /// Opens the lab's current class (resuming it, its students and their stacks) or starts a
    /// new one, and starts the background work: the start queue, idle stopping, live checks.
    pub async fn open(store: Store, provisioner: Arc<dyn Provisioner>, lab: LabSource, options: OpenOptions) -> Result<Opened, ClassError> {
        let settings_json = serde_json::to_string(&options.settings).map_err(|e| ClassError::Tokens(e.to_string()))?;
        let existing = store.current_class(&options.lab).await?;
        let resumed = existing.is_some();
        let mut class = match existing {
            Some(class) => class,
            None => {
                let code = match &options.join_code {
                    Some(c) => c.clone(),
                    None => tokens::join_code().map_err(ClassError::Tokens)?,
                };
                store.create_class(&options.lab, &code, &tokens::random_token().map_err(ClassError::Tokens)?, &settings_json).await?
            }
        };
        if let Some(code) = &options.join_code {
            class.join_code = code.clone();
        }
        let instructor_token = match &options.instructor_token {
            Some(t) => t.clone(),
            None => tokens::random_token().map_err(ClassError::Tokens)?,
        };
        class.instructor_token_hash = Some(tokens::hash_token(&instructor_token));
        class.settings = settings_json;
        store.update_class(&class).await?;
        let (events, _) = broadcast::channel(1024);
        let join_code = class.join_code.clone();
        let classroom = Classroom {
            inner: Arc::new(Inner {
                store,
                class: RwLock::new(class),
                settings: RwLock::new(options.settings),
                provisioner,
                lab,
                events,
                stacks: stacks::Stacks::default(),
                presented: RwLock::new(None),
            }),
        };
        // Listening before resuming: a change during the resume is not missed.
        recovery::spawn_change_watch(&classroom);
        stacks::resume(&classroom).await?;
        stacks::spawn_background(&classroom);
        Ok(Opened { classroom, join_code, instructor_token, resumed })
    }

    /// The class's id.
    pub fn id(&self) -> ClassId {
        self.read_class().id
    }

    /// A short name for the class that is unique on a shared engine (derived from its key,
    /// so it survives restarts): students' projects are `lab-<tag>-<student>`.
    pub fn tag(&self) -> String {
        format!("c{}", &tokens::hash_token(&self.read_class().secret)[..6])
    }

    /// Where students' ports come from, for the instructor: the class's port range, or the
    /// node ports a cluster assigns.
    pub fn ports_label(&self) -> String {
        if self.inner.provisioner.ports_known_before_start() {
            self.settings().ports.to_string()
        } else {
            "node ports, assigned by the cluster".to_owned()
        }
    }

    /// The lab the class runs.
    pub fn lab_id(&self) -> String {
        self.read_class().lab.clone()
    }

    /// The current settings.
    pub fn settings(&self) -> Settings {
        self.inner.settings.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The current join code.
    pub fn join_code(&self) -> String {
        self.read_class().join_code.clone()
    }

    /// Whether joining is open, and whether the class has ended.
    pub fn joining(&self) -> (bool, bool) {
        let c = self.read_class();
        (c.joining_open, c.ended_at.is_some())
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Subscribes to changes.
    pub fn subscribe(&self) -> broadcast::Receiver<ClassEvent> {
        self.inner.events.subscribe()
    }

    fn publish(&self, event: ClassEvent) {
        let _ = self.inner.events.send(event);
    }

    fn read_class(&self) -> std::sync::RwLockReadGuard<'_, ClassRecord> {
        self.inner.class.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Joins the class as `name` with `code`.
    pub async fn join(&self, code: &str, name: &str) -> Result<Joined, JoinError> {
        let (class, open, expected, secret) = {
            let c = self.read_class();
            (c.id, c.joining_open, c.join_code.clone(), c.secret.clone())
        };
        if !tokens::code_matches(code, &expected) {
            return Err(JoinError::WrongCode);
        }
        if !open {
            return Err(JoinError::Closed);
        }
        let name = clean_name(name)?;
        let student = match self.inner.store.add_member(class, &name).await {
            Ok(s) => s,
            Err(StoreJoinError::NameTaken) => return Err(JoinError::NameTaken(name)),
            Err(StoreJoinError::Store(e)) => return Err(e.into()),
        };
        let session = tokens::random_token().map_err(JoinError::Tokens)?;
        self.inner.store.create_session(&tokens::hash_token(&session), class, Some(student)).await?;
        self.publish(ClassEvent::Joined(student));
        if self.settings().autostart {
            // The student sees the queue on their page; a failure to queue is shown there too.
            let _ = self.start(student).await;
        }
        Ok(Joined { student, session, rejoin: tokens::rejoin_token(&secret, student.0) })
    }

    /// A new session for the student a rejoin token names.
    pub async fn rejoin(&self, token: &str) -> Result<Option<(StudentId, String)>, ClassError> {
        let (class, secret) = {
            let c = self.read_class();
            (c.id, c.secret.clone())
        };
        let Some(id) = tokens::verify_rejoin(&secret, token) else { return Ok(None) };
        let student = StudentId(id);
        match self.inner.store.member(student).await? {
            Some(m) if m.class == class => {}
            _ => return Ok(None),
        }
        let session = tokens::random_token().map_err(ClassError::Tokens)?;
        self.inner.store.create_session(&tokens::hash_token(&session), class, Some(student)).await?;
        Ok(Some((student, session)))
    }

    /// The student's rejoin token (for the link on their page).
    pub fn rejoin_token(&self, student: StudentId) -> String {
        tokens::rejoin_token(&self.read_class().secret, student.0)
    }

    /// A session for the instructor, if `token` is this run's login token.
    pub async fn instructor_login(&self, token: &str) -> Result<Option<String>, ClassError> {
        let (class, expected) = {
            let c = self.read_class();
            (c.id, c.instructor_token_hash.clone())
        };
        let given = tokens::hash_token(token);
        if !expected.is_some_and(|e| tokens::code_matches(&e, &given)) {
            return Ok(None);
        }
        let session = tokens::random_token().map_err(ClassError::Tokens)?;
        self.inner.store.create_session(&tokens::hash_token(&session), class, None).await?;
        Ok(Some(session))
    }

    /// Who a session token belongs to (in this class).
    pub async fn viewer(&self, session: &str) -> Result<Option<Viewer>, ClassError> {
        let class = self.id();
        let Some(record) = self.inner.store.session(&tokens::hash_token(session)).await? else { return Ok(None) };
        if record.class != class {
            return Ok(None);
        }
        match record.student {
            None => Ok(Some(Viewer::Instructor)),
            Some(student) => Ok(self.inner.store.member(student).await?.map(|m| Viewer::Student { id: student, name: m.display_name })),
        }
    }

    /// Stores `student`'s result if it changed and, if so, tells their pages and the board.
    pub async fn record_result(&self, student: StudentId, lab: &str, result: &crate::checks::ExerciseResult) -> Result<bool, ClassError> {
        let changed = self.inner.store.record_result(student, lab, result).await?;
        if changed {
            self.publish(ClassEvent::Results(student));
        }
        Ok(changed)
    }

    /// Ends a session (sign out).
    pub async fn sign_out(&self, session: &str) -> Result<(), ClassError> {
        Ok(self.inner.store.delete_session(&tokens::hash_token(session)).await?)
    }
}

/// A display name as kept: trimmed, inner spaces folded, 1 to 40 characters, no control
/// characters (names are always escaped when shown; this keeps them readable too).
fn clean_name(name: &str) -> Result<String, JoinError> {
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        return Err(JoinError::BadName("give a name the instructor will recognise".into()));
    }
    if name.chars().count() > 40 {
        return Err(JoinError::BadName("a name can have at most 40 characters".into()));
    }
    if name.chars().any(|c| c.is_control() || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')) {
        return Err(JoinError::BadName("a name cannot contain control characters".into()));
    }
    Ok(name)
}

#[cfg(test)]
mod tests;
