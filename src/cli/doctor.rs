//! `lab doctor`: can this machine run the lab? One line per check (✓ ok, ! warning,
//! ✗ problem) with the fix below, or `--json`. Exit 0 no problems, 1 problems, 2 no engine.

use super::Outcome;
use super::stack::{ProjectArgs, StackArgs, project_options};
use crate::course::ContentSource;
use crate::doctor::{Subject, Verdict, diagnose};
use crate::stack::plan::plan;
use crate::stack::project;

/// Arguments of `lab doctor`.
#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    target: ProjectArgs,
    #[command(flatten)]
    which: StackArgs,
    /// Check the ports `lab up --port-base N` would publish.
    #[arg(long, value_name = "N")]
    port_base: Option<u16>,
    /// Print `{checks: [{name, status, detail, fix}]}` on stdout.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: DoctorArgs, content: &ContentSource) -> anyhow::Result<Outcome> {
    let project_name = args.target.project();
    let workspace = project::workspace_dir(&project_name);
    // Which file to check is the user's choice; a file that does not read is a finding.
    let (source, _) = args.which.select(content, &workspace)?;
    let planned = plan(&source.file, &source.text, &project_options(&args.target, &source, args.port_base, &workspace));
    let subject = Subject { file: &source.file, plan: planned.as_ref() };
    let report = diagnose(Some(subject), &project_name).await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render());
    }
    match report.verdict() {
        Verdict::Ready => Ok(Outcome::Success),
        Verdict::Problems => Ok(Outcome::No),
        Verdict::NoEngine => anyhow::bail!("no Docker engine answered; see the docker check above"),
    }
}
