//! lab's integration tests, one module per feature, built as one test binary: every test
//! binary links lab and all of its dependencies, so one instead of the 48 there were keeps
//! a clean build's `target/` small (CI machines have limited disk) and links once. The
//! Kubernetes tests (`tests/kubernetes.rs`) stay apart: they run their own `main` around
//! one cluster. The tests share one process: none may change its environment or current
//! folder (lab's data folder is fixed once, by `support::temp_lab_home`).
//!
//! Run one feature with `cargo test --test integration <module>::`, e.g.
//! `cargo test --test integration lighter_fidelity::`.

#[path = "../support/mod.rs"]
mod support;

mod accessibility_browser;
mod browser;
mod check_cli;
mod checks;
mod classroom_board;
mod classroom_board_browser;
mod classroom_browser;
mod classroom_engine;
mod classroom_follow;
mod classroom_follow_browser;
mod classroom_student;
mod classroom_web;
mod cli;
mod cli_conventions;
mod content_files;
mod content_reload;
mod course_stacks;
mod course_truth;
mod diagnosis;
mod doctor_cli;
mod editor;
mod editor_browser;
mod editor_web;
mod editor_web_class;
mod editor_web_files;
mod engine_probe;
mod hostile_inputs;
mod kube_cli;
mod lighter_fidelity;
mod marathon_client;
mod marathon_deploy;
mod marathon_watch;
mod pull_cli;
mod rendering;
mod secrets;
mod slides_browser;
mod slides_print;
mod stack_build;
mod stack_cli;
mod stack_engine;
mod stack_lock;
mod stack_sharing;
mod steps_browser;
mod steps_web;
mod up_site;
mod web_guard;
mod web_limits;
mod web_routes;
