//! Running stacks that lose a part on their engine (a deleted pod, a lost node): shown as
//! restarting while the engine brings the part back, then started again the way Start does
//! it — the student's site deployed to the fresh Marathon and the environment checked —
//! before they are ready again. The engine reports changes itself (Kubernetes: one watch);
//! nothing here polls a ready stack.

use super::provision::Observed;
use super::stacks::{finish_start, start_and_check};
use super::views::StackState;
use super::{ClassEvent, Classroom};
use crate::store::StudentId;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// How often a restarting stack is looked at again, besides the engine's reports.
const RESTARTING_RECHECK: Duration = Duration::from_secs(5);

/// Which stacks to look at.
enum Look {
    /// The one a report named.
    Project(String),
    /// Every ready or restarting one (reports were missed).
    Live,
    /// The restarting ones.
    Restarting,
}

/// Marks a ready (or restarting) stack as restarting, with what the engine does. A stack
/// stopped or reset meanwhile is left alone.
pub(super) async fn restarting(classroom: &Classroom, student: StudentId, what: String) {
    let changed = classroom.live(student, |l| {
        if !matches!(l.state, StackState::Ready | StackState::Restarting) {
            return false;
        }
        let changed = l.state != StackState::Restarting || l.stage.as_deref() != Some(what.as_str());
        l.state = StackState::Restarting;
        l.stage = Some(what);
        changed
    });
    if changed {
        if let Err(e) = classroom.inner.store.set_stack_state(student, StackState::Restarting.as_str(), "").await {
            tracing::warn!("cannot record stack state: {e}");
        }
        classroom.publish(ClassEvent::Stack(student));
    }
}

/// Follows the engine's reports of changed stacks, when it has them.
pub(super) fn spawn_change_watch(classroom: &Classroom) {
    let Some(mut changes) = classroom.inner.provisioner.changes() else { return };
    let weak = std::sync::Arc::downgrade(&classroom.inner);
    let prefix = format!("lab-{}-", classroom.tag());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(RESTARTING_RECHECK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let look = tokio::select! {
                change = changes.recv() => match change {
                    Ok(project) => Look::Project(project),
                    Err(RecvError::Lagged(_)) => Look::Live,
                    Err(RecvError::Closed) => return,
                },
                _ = tick.tick() => Look::Restarting,
            };
            let Some(inner) = weak.upgrade() else { return };
            let classroom = Classroom { inner };
            let students: Vec<StudentId> = match look {
                Look::Project(project) => project.strip_prefix(&prefix).and_then(|id| id.parse().ok()).map(StudentId).into_iter().collect(),
                Look::Live => classroom.students_in(&[StackState::Ready, StackState::Restarting]),
                Look::Restarting => classroom.students_in(&[StackState::Restarting]),
            };
            for student in students {
                look_at(&classroom, student).await;
            }
        }
    });
}

/// Observes one stack: restarting when the engine says so; started again once it runs.
async fn look_at(classroom: &Classroom, student: StudentId) {
    let (state, busy) = classroom.live(student, |l| (l.state, l.task.is_some()));
    // A start (or a recovery) in progress reports on its own.
    if busy || !matches!(state, StackState::Ready | StackState::Restarting) {
        return;
    }
    let Ok(request) = classroom.request(student).await else { return };
    match classroom.inner.provisioner.observe(&request).await {
        Ok(Observed::Running(_)) if state == StackState::Restarting => {
            let task = tokio::spawn(recover(classroom.clone(), student));
            classroom.live(student, |l| l.task = Some(task.abort_handle()));
        }
        Ok(Observed::Restarting(what)) => restarting(classroom, student, what).await,
        _ => {}
    }
}

/// Starts the stack again as Start does (idempotent on the engine: what runs stays), so
/// the fresh parts get the student's site and pass the environment check.
async fn recover(classroom: Classroom, student: StudentId) {
    let outcome = start_and_check(&classroom, student).await;
    if classroom.live(student, |l| l.state) == StackState::Restarting {
        finish_start(&classroom, student, outcome).await;
    } else {
        classroom.live(student, |l| l.task = None);
    }
}

impl Classroom {
    /// The students whose stacks are in one of `states`.
    fn students_in(&self, states: &[StackState]) -> Vec<StudentId> {
        let live = self.inner.stacks.live.lock().unwrap_or_else(|e| e.into_inner());
        live.iter().filter(|(_, l)| states.contains(&l.state)).map(|(s, _)| *s).collect()
    }
}
