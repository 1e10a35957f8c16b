//! Stacks: a compose-format stack file turned into one student's running containers through
//! the Docker Engine API (bollard). `file` reads the file (either Compose form, every
//! problem at once, with `yaml`, `tree`, `v1` and `schema`); `plan` decides what should exist;
//! `engine` connects; `build` and `images` provide the images; `up`, `down` and `status`
//! converge the engine to the plan and report on it, finding everything by label so they
//! work from any shell.

pub mod build;
pub mod dockerignore;
pub mod down;
pub mod engine;
pub mod file;
pub mod images;
pub mod interpolate;
pub mod kube;
pub mod lock;
mod objects;
pub mod plan;
pub mod progress;
pub mod project;
pub mod rejection;
mod schema;
pub mod sharing;
pub mod status;
mod tree;
pub mod up;
pub mod v1;
pub mod values;
mod yaml;

pub use engine::{Engine, StackError};
pub use file::StackFileError;
pub use plan::{Plan, ProjectOptions, ServicePlan};
pub use progress::{Phase, Progress, Quiet, StackEvent};
pub use up::{Action, UpOptions, UpReport, up};
