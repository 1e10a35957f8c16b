//! The command line (clap): parses arguments, sets up logging, and maps results to the
//! exit codes every command shares — 0 done, 1 done and the answer is "no", 2 could not do it.

mod check;
mod class;
mod class_export;
mod doctor;
mod engine;
mod labs;
mod generate;
mod marathon;
mod output;
mod progress;
mod pull;
mod secrets;
mod serve;
mod stack;

use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// lab: slides, lab steps, per-student stacks and automatic exercise checks for workshops.
#[derive(Debug, Parser)]
#[command(name = "lab", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// The commands that read the course take `--content DIR` themselves; this hidden copy
    /// keeps the older spelling `lab --content DIR <command>` working.
    #[arg(long, value_name = "DIR", hide = true)]
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
    /// Print a shell completion script (`lab completions bash > /etc/bash_completion.d/lab`).
    Completions(generate::CompletionsArgs),
    /// Print lab's man page, or write one page per command with `--out DIR`.
    Man(generate::ManArgs),
}

impl Command {
    /// Whether the command was asked for one JSON document on stdout, so that a failure
    /// is reported as a JSON error object there too.
    fn wants_json(&self) -> bool {
        match self {
            Command::Labs(a) => a.json,
            Command::Up(a) => a.json,
            Command::Doctor(a) => a.json,
            Command::Down(a) => a.json,
            Command::Status(a) => a.json,
            Command::Deploy(a) => a.json,
            Command::Check(a) => a.json,
            Command::Class(class_export::ClassCommand::Export(a)) => a.format == class_export::Format::Json,
            Command::Serve(_) | Command::Pull(_) | Command::Logs(_) | Command::Watch(_) | Command::Secrets(_) | Command::Completions(_) | Command::Man(_) => false,
        }
    }
}

/// How a command ended, mapped to the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done; or the check passed (exit 0).
    Success,
    /// Done, and the answer is "no" (exit 1).
    No,
    /// Could not do it, and the output already says why (exit 2, no second message).
    Reported,
}

/// Parses the command line, runs the command, and returns the exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    init_tracing();
    let json = cli.command.wants_json();
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
        Ok(Outcome::Reported) => ExitCode::from(2),
        Err(err) => {
            eprintln!("error: {err:#}");
            if json {
                println!("{}", output::error_object(&err));
            }
            ExitCode::from(2)
        }
    }
}

/// clap's own handling (help and version on stdout, exit 0; usage errors exit 2), plus a
/// JSON error object on stdout when the command line asked for `--json`.
fn usage_error(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let informational = matches!(err.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand);
    if !informational && std::env::args_os().any(|a| a == "--json") {
        println!("{}", output::usage_error_object(err));
    }
    let _ = err.print();
    ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2))
}

async fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let before = cli.content;
    match cli.command {
        Command::Serve(args) => {
            let content = output::content_source(args.content.clone().or(before));
            serve::run(args, content).await
        }
        Command::Labs(args) => labs::run(&args, &args.content.source(before)),
        Command::Up(args) => {
            let content = args.content.source(before);
            stack::run_up(args, &content).await
        }
        Command::Doctor(args) => {
            let content = args.content.source(before);
            doctor::run(args, &content).await
        }
        Command::Pull(args) => {
            let content = args.content.source(before);
            pull::run(args, &content).await
        }
        Command::Down(args) => stack::run_down(args).await,
        Command::Status(args) => stack::run_status(args).await,
        Command::Logs(args) => stack::run_logs(args).await,
        Command::Deploy(args) => marathon::run_deploy(args).await,
        Command::Watch(args) => marathon::run_watch(args).await,
        Command::Check(args) => {
            let content = args.content.source(before);
            check::run(args, &content).await
        }
        Command::Secrets(args) => secrets::run(args).await,
        Command::Class(command) => class_export::run(command, before).await,
        Command::Completions(args) => generate::completions(&args),
        Command::Man(args) => generate::man(&args),
    }
}

/// Logs go to stderr so stdout stays clean for machine output; `RUST_LOG` overrides.
fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("lab=info,tower_http=warn"));
    let colour = colour_logs(std::io::stderr().is_terminal(), std::env::var_os("NO_COLOR").as_deref());
    // Ignore a second initialisation (tests run several commands in one process).
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).with_ansi(colour).try_init();
}

/// Colour codes only for a person at a terminal, and never when `NO_COLOR` is set to
/// anything but the empty string (no-color.org).
fn colour_logs(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(std::ffi::OsStr::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn colour_needs_a_terminal_and_no_no_color() {
        assert!(colour_logs(true, None));
        assert!(colour_logs(true, Some(std::ffi::OsStr::new(""))));
        assert!(!colour_logs(true, Some(std::ffi::OsStr::new("1"))));
        assert!(!colour_logs(false, None));
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
