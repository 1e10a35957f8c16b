//! The command line (clap): parses arguments, sets up logging, and maps results to the
//! exit codes every command shares — 0 done, 1 done and the answer is "no", 2 could not do it.

mod check;
mod class;
mod class_export;
mod doctor;
mod labs;
mod marathon;
mod progress;
mod pull;
mod secrets;
mod serve;
mod stack;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// lab: slides, lab steps, per-student stacks and automatic exercise checks for workshops.
#[derive(Debug, Parser)]
#[command(name = "lab", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Serve course content from this folder (with labs/ and slides/) instead of the
    /// built-in course; pages reload when files change.
    #[arg(long, global = true, env = "LAB_CONTENT", value_name = "DIR")]
    content: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the slides and lab steps in the browser.
    Serve(serve::ServeArgs),
    /// List the labs, their steps and exercises (and any content errors).
    Labs(labs::LabsArgs),
    /// Start (or bring up to date) your stack in Docker.
    Up(stack::UpArgs),
    /// Check that this machine can run the lab: Docker, privileges, memory, ports, images.
    Doctor(doctor::DoctorArgs),
    /// Pull every image the lab's stack needs (to prepare a machine or a class).
    Pull(pull::PullArgs),
    /// Stop and remove your stack.
    Down(stack::DownArgs),
    /// Show your stack's services, ports, links and workspace.
    Status(stack::StatusArgs),
    /// Show one service's logs.
    Logs(stack::LogsArgs),
    /// Deploy site files (lighter YAML or Marathon JSON) to your Marathon.
    Deploy(marathon::DeployArgs),
    /// Deploy a site folder and redeploy each file when you save it.
    Watch(marathon::WatchArgs),
    /// Check whether an exercise is done (e.g. `lab check wolf3d`).
    Check(check::CheckArgs),
    /// Encrypt secrets for your stack's secretary (`lab secrets encrypt VALUE`).
    Secrets(secrets::SecretsArgs),
    /// A class after (or during) `lab serve --classroom`: `lab class export --db PATH`.
    #[command(subcommand)]
    Class(class_export::ClassCommand),
}

/// How a command ended, mapped to the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done; or the check passed (exit 0).
    Success,
    /// Done, and the answer is "no" (exit 1).
    No,
}

/// Parses the command line, runs the command, and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::No) => ExitCode::from(1),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let content = content_source(cli.content);
    match cli.command {
        Command::Serve(args) => serve::run(args, content).await,
        Command::Labs(args) => labs::run(args, &content),
        Command::Up(args) => stack::run_up(args, &content).await,
        Command::Doctor(args) => doctor::run(args, &content).await,
        Command::Pull(args) => pull::run(args, &content).await,
        Command::Down(args) => stack::run_down(args).await,
        Command::Status(args) => stack::run_status(args).await,
        Command::Logs(args) => stack::run_logs(args).await,
        Command::Deploy(args) => marathon::run_deploy(args).await,
        Command::Watch(args) => marathon::run_watch(args).await,
        Command::Check(args) => check::run(args, &content).await,
        Command::Secrets(args) => secrets::run(args).await,
        Command::Class(command) => class_export::run(command, &content).await,
    }
}

fn content_source(dir: Option<PathBuf>) -> crate::course::ContentSource {
    dir.map_or(crate::course::ContentSource::Embedded, crate::course::ContentSource::Dir)
}

/// Logs go to stderr so stdout stays clean for machine output; `RUST_LOG` overrides.
fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("lab=info,tower_http=warn"));
    // Ignore a second initialisation (tests run several commands in one process).
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).try_init();
}
