//! `lab labs`: what the course contains, and what is broken in it (exit 2 when anything
//! is: broken content is something lab could not do, as for every command).

use super::Outcome;
use super::output::{ContentArgs, load_course, print_json};
use crate::course::ContentSource;
use serde::Serialize;

/// Arguments of `lab labs`.
#[derive(Debug, clap::Args)]
pub struct LabsArgs {
    #[command(flatten)]
    pub(super) content: ContentArgs,
    /// Print `{labs: [...], errors: [...]}` on stdout.
    #[arg(long)]
    pub(super) json: bool,
}

/// `lab labs --json`.
#[derive(Debug, Serialize)]
struct Listing {
    labs: Vec<LabEntry>,
    errors: Vec<Broken>,
}

#[derive(Debug, Serialize)]
struct LabEntry {
    id: String,
    title: String,
    steps: usize,
    deck: Option<String>,
    exercises: Vec<ExerciseEntry>,
}

#[derive(Debug, Serialize)]
struct ExerciseEntry {
    id: String,
    title: String,
}

/// A lab or deck that does not load.
#[derive(Debug, Serialize)]
struct Broken {
    what: Part,
    id: String,
    message: String,
}

/// Which part of the course is broken.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
enum Part {
    Lab,
    Deck,
}

pub fn run(args: &LabsArgs, content: &ContentSource) -> anyhow::Result<Outcome> {
    let course = load_course(content)?;
    let mut listing = Listing { labs: Vec::new(), errors: Vec::new() };
    for (id, lab) in course.labs() {
        match lab {
            Ok(lab) => listing.labs.push(LabEntry {
                id: id.to_owned(),
                title: lab.title.clone(),
                steps: lab.steps.len(),
                deck: lab.deck.clone(),
                exercises: lab.exercises.iter().map(|e| ExerciseEntry { id: e.id.clone(), title: e.title.clone() }).collect(),
            }),
            Err(err) => listing.errors.push(Broken { what: Part::Lab, id: id.to_owned(), message: err.to_string() }),
        }
    }
    for (id, deck) in course.decks() {
        if let Err(err) = deck {
            listing.errors.push(Broken { what: Part::Deck, id: id.to_owned(), message: err.to_string() });
        }
    }
    if listing.labs.is_empty() && listing.errors.is_empty() {
        eprintln!("no labs in {}", content.describe());
    }
    if args.json {
        print_json(&listing)?;
    } else {
        print_text(&course, &listing);
    }
    if listing.errors.is_empty() {
        return Ok(Outcome::Success);
    }
    // Broken content is "could not do it" (exit 2) as for every command; the listing
    // already names each problem, so a --json run gets no second document.
    if !args.json {
        let n = listing.errors.len();
        eprintln!("error: the course has {n} broken {} (listed above)", if n == 1 { "file" } else { "files" });
    }
    Ok(Outcome::Reported)
}

/// The human listing: labs in id order with their broken ones among them, then decks.
fn print_text(course: &crate::course::Course, listing: &Listing) {
    for (id, lab) in course.labs() {
        match lab {
            Ok(lab) => {
                println!("{id}  {}", lab.title);
                println!("    {} steps, deck: {}", lab.steps.len(), lab.deck.as_deref().unwrap_or("none"));
                for ex in &lab.exercises {
                    println!("    exercise {:<12} {}", ex.id, ex.title);
                }
            }
            Err(err) => println!("{id}  BROKEN  {err}"),
        }
    }
    for broken in listing.errors.iter().filter(|b| matches!(b.what, Part::Deck)) {
        println!("deck {}  BROKEN  {}", broken.id, broken.message);
    }
}
