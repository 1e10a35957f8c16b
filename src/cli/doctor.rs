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
    #[command(flatten)]
    pub(super) content: super::output::ContentArgs,
    /// Check the ports `lab up --port-base N` would publish.
    #[arg(long, value_name = "N")]
    port_base: Option<u16>,
    #[command(flatten)]
    engine: super::engine::EngineArgs,
    /// Print `{checks: [{name, status, detail, fix}]}` on stdout.
    #[arg(long)]
    pub(super) json: bool,
}

/// Runs every check and prints the report; the exit code follows the worst finding.
pub async fn run(args: DoctorArgs, content: &ContentSource) -> anyhow::Result<Outcome> {
    let project_name = args.target.project();
    let workspace = project::workspace_dir(&project_name);
    let source = match args.which.select(content, &workspace) {
        Ok((source, _)) => Some(source),
        // Nothing was asked for and the course has no single stack: the engine still matters.
        Err(e) if args.which.is_default() => {
            eprintln!("checking the engine only: {e:#}");
            None
        }
        Err(e) => return Err(e),
    };
    // A file that does not read is a finding, not a reason to skip the other checks.
    let planned = source.as_ref().map(|s| plan(&s.file, &s.text, &project_options(&args.target, s, args.port_base, &workspace)));
    let subject = source.as_ref().zip(planned.as_ref()).map(|(s, p)| Subject { file: &s.file, plan: p.as_ref() });
    let report = if args.engine.kubernetes() {
        let plan = planned.as_ref().map(|p| p.as_ref().map_err(ToString::to_string));
        crate::doctor::kubernetes::diagnose(args.engine.kubeconfig.as_deref(), args.engine.storage_class.as_deref(), plan).await
    } else {
        diagnose(subject, &project_name).await
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render());
    }
    match report.verdict() {
        Verdict::Ready => Ok(Outcome::Success),
        Verdict::Problems => Ok(Outcome::No),
        Verdict::NoEngine => {
            // The report is the answer (a --json run gets it as its one document); the
            // error line only points at it.
            if !args.json {
                let what = if args.engine.kubernetes() { "no Kubernetes cluster answered; see the kubernetes check above" } else { "no Docker engine answered; see the docker check above" };
                eprintln!("error: {what}");
            }
            Ok(Outcome::Reported)
        }
    }
}
