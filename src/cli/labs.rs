//! `lab labs`: what the course contains, and what is broken in it.

use super::Outcome;
use crate::course::{ContentSource, Course};
use anyhow::Context;

/// Arguments of `lab labs`.
#[derive(Debug, clap::Args)]
pub struct LabsArgs {}

pub fn run(_args: LabsArgs, content: &ContentSource) -> anyhow::Result<Outcome> {
    let course = Course::load(content).with_context(|| format!("cannot read course content from {}", content.describe()))?;
    let mut broken = false;
    for (id, lab) in course.labs() {
        match lab {
            Ok(lab) => {
                println!("{id}  {}", lab.title);
                println!("    {} steps, deck: {}", lab.steps.len(), lab.deck.as_deref().unwrap_or("none"));
                for ex in &lab.exercises {
                    println!("    exercise {:<12} {}", ex.id, ex.title);
                }
            }
            Err(err) => {
                broken = true;
                println!("{id}  BROKEN  {err}");
            }
        }
    }
    for (id, deck) in course.decks() {
        if let Err(err) = deck {
            broken = true;
            println!("deck {id}  BROKEN  {err}");
        }
    }
    if course.labs().next().is_none() {
        eprintln!("no labs in {}", content.describe());
    }
    Ok(if broken { Outcome::No } else { Outcome::Success })
}
