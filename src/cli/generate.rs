//! `lab completions SHELL` and `lab man`: shell completion scripts (clap_complete) and man
//! pages (clap_mangen), both generated from the same clap definitions as the parser, so
//! they never drift from the flags lab accepts.

use super::{Cli, Outcome};
use anyhow::Context;
use clap::CommandFactory;
use std::path::PathBuf;

/// Arguments of `lab completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// Arguments of `lab man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write lab.1 and one page per command (lab-up.1, …) into this folder instead of
    /// printing lab.1 on stdout.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// Prints the completion script for `args.shell` on stdout.
pub fn completions(args: &CompletionsArgs) -> anyhow::Result<Outcome> {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "lab", &mut std::io::stdout().lock());
    Ok(Outcome::Success)
}

/// Prints lab.1 as roff, or writes every page into `--out`.
pub fn man(args: &ManArgs) -> anyhow::Result<Outcome> {
    let command = Cli::command();
    match &args.out {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(command, dir).with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
            eprintln!("wrote the man pages into {}", dir.display());
        }
        None => {
            clap_mangen::Man::new(command).render(&mut std::io::stdout().lock()).context("cannot print the man page")?;
        }
    }
    Ok(Outcome::Success)
}
