//! lab — a workshop platform that runs the whole stack as course material.
//!
//! Data flows one way through the modules:
//! `course` (load and render content) → `stack` (compose-format stack → containers) →
//! `marathon` (client, site rendering, deploy) → `checks` (exercise checks) → `store`
//! (SQLite) → `web` (axum) and `cli` (clap). `classroom` (students, sessions, per-student
//! stacks, capacity) sits beside `store`: it uses the stages below and knows no HTTP, and
//! `web` and `cli` call it. `editor` (one student's site folder: files, history, save →
//! render → deploy → follow) sits above `marathon` and below `web`. Lower modules never
//! reach into higher ones; `web` and `cli` are two faces over the same library calls.
//! `doctor` reads the engine and the host through `stack` to say whether a lab can run
//! here. `digest`, `net` and `paths` are small utilities every stage may use.

pub mod checks;
pub mod classroom;
pub mod cli;
pub mod course;
pub mod digest;
pub mod doctor;
pub mod editor;
pub mod marathon;
pub mod net;
pub mod paths;
pub mod stack;
pub mod store;
pub mod web;
