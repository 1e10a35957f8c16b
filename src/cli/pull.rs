//! `lab pull`: gets every image a lab's stack file names onto the engine, concurrently and
//! with progress, so that `lab up` later needs no registry (or so the images can be
//! `docker save`d for machines that have none). Ends with what happened to each image.

use super::Outcome;
use super::progress::TerminalProgress;
use super::stack::{ProjectArgs, StackArgs, project_options};
use crate::course::ContentSource;
use crate::stack::images::{pull_images, pulled_images};
use crate::stack::plan::plan;
use crate::stack::{Engine, project};

/// Arguments of `lab pull`.
#[derive(Debug, clap::Args)]
pub struct PullArgs {
    #[command(flatten)]
    target: ProjectArgs,
    #[command(flatten)]
    which: StackArgs,
    #[command(flatten)]
    pub(super) content: super::output::ContentArgs,
}

/// Pulls what is missing and prints the summary; exit 1 when some image could not be had.
pub async fn run(args: PullArgs, content: &ContentSource) -> anyhow::Result<Outcome> {
    let workspace = project::workspace_dir(&args.target.project());
    let (source, _) = args.which.select(content, &workspace)?;
    let plan = plan(&source.file, &source.text, &project_options(&args.target, &source, None, &workspace))?;
    let engine = Engine::connect().await?;
    eprintln!("pulling the images of {} on {}", source.file, engine.host());
    let summary = {
        let progress = TerminalProgress::new();
        tokio::select! {
            s = pull_images(engine.docker(), pulled_images(&plan), &progress) => s?,
            () = super::serve::shutdown_signal() => anyhow::bail!("interrupted; images pulled so far are kept, run `lab pull` again for the rest"),
        }
    };
    print!("{}", summary.render());
    if summary.all_present() {
        let images: Vec<&str> = summary.images.iter().map(|i| i.image.as_str()).collect();
        println!("For a machine without a registry: `docker save -o lab-images.tar {}`, then `docker load -i lab-images.tar` there.", images.join(" "));
        Ok(Outcome::Success)
    } else {
        Ok(Outcome::No)
    }
}
