//! The presented slide: which slide of which deck the instructor's presenter view shows, so
//! that students' slide pages can follow it and a late joiner lands on it. Only the web layer
//! sets it, for the instructor's session (one presenter at a time: the instructor; with several
//! presenter tabs open, the latest move wins), after checking that the deck and slide exist.
//! It is kept in memory: after a restart nothing is presented until the presenter view
//! announces its slide again, which it does whenever it is shown.

use super::{ClassEvent, Classroom};

/// A slide the presenter shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented {
    /// The deck's id (as in `/slides/{deck}/{n}`).
    pub deck: String,
    /// The slide's number, from 1.
    pub slide: usize,
}

/// Why a slide cannot be presented.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresentError {
    /// No deck named, or slide 0 (slides are numbered from 1).
    #[error("slides are named by a deck and a number from 1")]
    NoSuchSlide,
}

impl Classroom {
    /// The slide the presenter shows, if any.
    pub fn presented(&self) -> Option<Presented> {
        self.inner.presented.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Records that the presenter shows `slide` of `deck` and, when that is a change, tells
    /// every open page ([`ClassEvent::Presented`]). Returns whether it changed. The caller
    /// (the web, for the instructor's session only) has checked that the slide exists.
    pub fn present(&self, deck: &str, slide: usize) -> Result<bool, PresentError> {
        if deck.is_empty() || slide == 0 {
            return Err(PresentError::NoSuchSlide);
        }
        let now = Presented { deck: deck.to_owned(), slide };
        let changed = {
            let mut presented = self.inner.presented.write().unwrap_or_else(|e| e.into_inner());
            let changed = presented.as_ref() != Some(&now);
            *presented = Some(now);
            changed
        };
        // Published after the lock is released, so listeners reading `presented` see the move.
        if changed {
            self.publish(ClassEvent::Presented);
        }
        Ok(changed)
    }
}
