//! `lab class export --db PATH [--format csv|json] [--lab LAB]`: a class's results from the
//! store, after the class (or during it: the store is only read), to stdout.

use super::Outcome;
use crate::course::Course;
use crate::store::{DbLocation, Store};
use anyhow::{Context, bail};
use std::collections::HashMap;
use std::path::PathBuf;

/// `lab class ...`.
#[derive(Debug, clap::Subcommand)]
pub enum ClassCommand {
    /// Print a class's results per student and exercise (status, first passed at, attempts,
    /// time spent), from the store `lab serve --classroom` used.
    Export(ExportArgs),
}

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One line per student and exercise, with a header.
    Csv,
    /// The same as `GET /api/class`.
    Json,
}

/// `lab class export` flags.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The class's database file (`lab serve --db`).
    #[arg(long, value_name = "PATH")]
    pub db: PathBuf,
    /// The output format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
    /// The lab whose class to export (default: the newest class of any lab).
    #[arg(long)]
    pub lab: Option<String>,
    /// Take the lab's titles and exercise order from this course folder.
    #[command(flatten)]
    pub content: super::output::ContentArgs,
}

/// Runs `lab class ...`.
/// Runs `lab class ...`; `before` is a `--content` given before the subcommand.
pub async fn run(command: ClassCommand, before: Option<PathBuf>) -> anyhow::Result<Outcome> {
    let ClassCommand::Export(args) = command;
    let content = &args.content.source(before);
    if !args.db.is_file() {
        bail!("{} is not a lab database file; give the --db that lab serve --classroom used", args.db.display());
    }
    let store = Store::open(&DbLocation::File(args.db.clone())).await.with_context(|| format!("cannot open {}", args.db.display()))?;
    let Some(class) = store.classes(args.lab.as_deref()).await?.into_iter().next() else {
        match &args.lab {
            Some(lab) => bail!("{} holds no class of lab `{lab}`", args.db.display()),
            None => bail!("{} holds no class; lab serve --classroom creates one", args.db.display()),
        }
    };
    // Titles and order come from the course when it has the lab; else from the results.
    let course = Course::load(content).ok();
    let lab = course.as_ref().and_then(|c| c.lab(&class.lab)).and_then(|l| l.as_ref().ok());
    let board = crate::classroom::board::from_store(&store, class.id, &class.lab, lab, &HashMap::new(), crate::store::now_ms()).await?;
    match args.format {
        Format::Csv => print!("{}", crate::classroom::export::csv(&board)?),
        Format::Json => println!("{}", serde_json::to_string_pretty(&crate::classroom::export::json(&board, &class.lab))?),
    }
    Ok(Outcome::Success)
}
