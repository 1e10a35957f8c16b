//! Marathon: the API client, the app model, site files in lighter's format, and deploying
//! them — what the course's marathon-submit helper container did, built into lab.

pub mod app;
pub mod client;
pub mod deploy;
pub mod events;
pub mod follow;
pub mod site;
pub mod watch;
pub mod workspace;
pub mod python;
pub mod queue;
pub mod secrets;
pub mod yaml;

pub use app::{App, NetworkMode, Task, TaskFailure, canonical_image};
pub use client::{DeploymentRef, Marathon, MarathonError};
