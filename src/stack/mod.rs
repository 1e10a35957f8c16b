//! Stacks: a compose-format stack file turned into one student's running containers through
//! the Docker Engine API (bollard). `plan` decides what should exist; `engine` connects;
//! `up`, `down` and `status` converge the engine to the plan and report on it, finding
//! everything by label so they work from any shell.

pub mod down;
pub mod engine;
pub mod file;
pub mod images;
pub mod interpolate;
pub mod plan;
pub mod progress;
pub mod project;
pub mod status;
pub mod up;
pub mod values;

pub use engine::{Engine, StackError};
pub use plan::{Plan, ProjectOptions, ServicePlan};
pub use progress::{Phase, Progress, Quiet, StackEvent};
pub use up::{Action, UpOptions, UpReport, up};
