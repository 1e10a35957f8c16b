//! The instructor's class controls: start every student's stack (they queue within the
//! class's capacity), stop them all, open or close joining, change the join code, change
//! idle stopping, and end the class. Joining, the code and the settings are written to the
//! store at once, so a restarted server keeps them (flags given at restart still win).

use super::{ClassError, ClassEvent, Classroom, tokens};
use std::time::Duration;

/// Why a control was refused.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The new join code is unusable.
    #[error("a join code needs 4 to 16 letters or digits (dashes and spaces are ignored)")]
    BadCode,
    /// The class has ended.
    #[error("the class has ended; start lab serve --classroom again for a new one")]
    Ended,
    /// The class's records failed.
    #[error(transparent)]
    Class(#[from] ClassError),
}

impl Classroom {
    fn ended(&self) -> bool {
        self.read_class().ended_at.is_some()
    }

    /// Writes the class record (after `change`) to the store and tells the board.
    async fn save_class(&self, change: impl FnOnce(&mut crate::store::classroom::ClassRecord)) -> Result<(), ClassError> {
        let record = {
            let mut class = self.inner.class.write().unwrap_or_else(|e| e.into_inner());
            change(&mut class);
            class.clone()
        };
        self.inner.store.update_class(&record).await?;
        self.publish(ClassEvent::Class);
        Ok(())
    }

    /// Queues every student's stack that is not queued, starting or running; returns how
    /// many students the class has. The queue admits them within the capacity.
    pub async fn start_all(&self) -> Result<usize, ControlError> {
        if self.ended() {
            return Err(ControlError::Ended);
        }
        let members = self.inner.store.members(self.id()).await.map_err(ClassError::from)?;
        for m in &members {
            self.start(m.student).await?;
        }
        Ok(members.len())
    }

    /// Stops every student's stack (and empties the queue); workspaces stay.
    pub async fn stop_all(&self) -> Result<usize, ControlError> {
        let members = self.inner.store.members(self.id()).await.map_err(ClassError::from)?;
        for m in &members {
            self.stop(m.student).await?;
        }
        Ok(members.len())
    }

    /// Opens or closes joining; students already in the class can still sign in.
    pub async fn set_joining(&self, open: bool) -> Result<(), ControlError> {
        if self.ended() && open {
            return Err(ControlError::Ended);
        }
        Ok(self.save_class(|c| c.joining_open = open).await?)
    }

    /// Changes the join code (kept as typed, compared without case or dashes).
    pub async fn set_join_code(&self, code: &str) -> Result<String, ControlError> {
        let code = code.trim().to_owned();
        let letters = tokens::normalize_code(&code).len();
        if !(4..=16).contains(&letters) || code.chars().any(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == ' ')) {
            return Err(ControlError::BadCode);
        }
        self.save_class(|c| c.join_code = code.clone()).await?;
        Ok(code)
    }

    /// Sets idle stopping (`None`: never); running stacks get the new time from now on.
    pub async fn set_idle(&self, idle: Option<Duration>) -> Result<(), ControlError> {
        let settings = {
            let mut s = self.inner.settings.write().unwrap_or_else(|e| e.into_inner());
            s.idle = idle;
            s.clone()
        };
        let json = serde_json::to_string(&settings).map_err(|e| ClassError::Tokens(e.to_string()))?;
        Ok(self.save_class(|c| c.settings = json).await?)
    }

    /// Ends the class: every stack stops, joining closes, and the record stays in the store
    /// (the next `lab serve --classroom` starts a new class).
    pub async fn end(&self) -> Result<(), ControlError> {
        self.stop_all().await?;
        let now = crate::store::now_ms();
        Ok(self.save_class(|c| {
            c.joining_open = false;
            c.ended_at.get_or_insert(now);
        })
        .await?)
    }
}
