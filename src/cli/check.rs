//! `lab check`: is an exercise done? Each criterion with ✓ / ✗ / … and a hint; `--wait`
//! re-checks until it passes, `--watch` stays open and redraws on every change.

use super::Outcome;
use super::output::{ContentArgs, ErrorKind, Reported, load_course};
use super::stack::ProjectArgs;
use crate::checks::target::{Overrides, resolve};
use crate::checks::{ExerciseResult, Status, Target, run_exercise};
use crate::course::{ContentSource, Course, Lab};
use crate::store::{DbLocation, Store, StudentId};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `lab check`.
#[derive(Debug, clap::Args)]
#[command(override_usage = "lab check [OPTIONS] <EXERCISE|--all>")]
pub struct CheckArgs {
    #[command(flatten)]
    target: ProjectArgs,
    #[command(flatten)]
    pub(super) content: ContentArgs,
    /// The exercise to check (e.g. wolf3d).
    #[arg(required_unless_present = "all")]
    exercise: Option<String>,
    /// Check every exercise of the lab.
    #[arg(long, conflicts_with = "exercise")]
    all: bool,
    /// The lab (default: the lab that has this exercise).
    #[arg(long)]
    lab: Option<String>,
    /// Marathon's URL (default: your stack's).
    #[arg(long, env = "LAB_MARATHON")]
    marathon: Option<String>,
    /// The Mesos master's URL (default: your stack's).
    #[arg(long)]
    mesos: Option<String>,
    /// Host where service ports (e.g. 8888) are reached (default: Marathon's host).
    #[arg(long)]
    host: Option<String>,
    /// Your site folder (default: the workspace's).
    #[arg(long, value_name = "DIR")]
    site: Option<PathBuf>,
    /// Where a service port is published, when your stack moved it (e.g. 8888=20003 in a
    /// classroom; your stack panel lists these). Repeatable.
    #[arg(long = "service-port", value_name = "PORT=PUBLISHED", value_parser = parse_port_pair)]
    service_ports: Vec<(u16, u16)>,
    /// Print the result as JSON on stdout (an array of them with --all).
    #[arg(long)]
    pub(super) json: bool,
    /// Re-check until it passes or SECS seconds have gone by (the gateway may need a minute).
    #[arg(long, value_name = "SECS")]
    wait: Option<u64>,
    /// Stay open and redraw whenever something changes (Ctrl-C stops).
    #[arg(long, conflicts_with = "wait")]
    watch: bool,
    /// SQLite database for the results (as for `lab serve`).
    #[arg(long, env = "LAB_DB", value_name = "PATH|URL")]
    db: Option<String>,
}

/// `8888=20003`.
fn parse_port_pair(text: &str) -> Result<(u16, u16), String> {
    let (a, b) = text.split_once('=').ok_or_else(|| format!("`{text}` is not PORT=PUBLISHED, e.g. 8888=20003"))?;
    let port = |p: &str| p.trim().parse::<u16>().map_err(|_| format!("`{p}` is not a port number"));
    Ok((port(a)?, port(b)?))
}

pub async fn run(args: CheckArgs, content: &ContentSource) -> anyhow::Result<Outcome> {
    let course = load_course(content)?;
    let lab = choose_lab(&course, args.lab.as_deref(), args.exercise.as_deref())?;
    let exercises: Vec<String> = match &args.exercise {
        Some(id) => {
            crate::checks::find(&lab, id)?;
            vec![id.clone()]
        }
        None => lab.exercises.iter().filter(|e| !e.checks.is_empty()).map(|e| e.id.clone()).collect(),
    };
    let project = args.target.project();
    let overrides = Overrides { marathon: args.marathon.clone(), mesos: args.mesos.clone(), host: args.host.clone(), site: args.site.clone() };
    let mut target = resolve(&project, overrides).await;
    target.service_ports.extend(args.service_ports.iter().copied());
    let store = open_store(args.db.as_deref(), &args.target.student()).await;

    if args.watch {
        return watch(lab, exercises, target, store, args.json).await;
    }
    let deadline = args.wait.map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
    loop {
        let mut results = Vec::new();
        for id in &exercises {
            results.push(run_exercise(&lab, id, &target).await?);
        }
        let all_passed = results.iter().all(|r| r.status == Status::Passed);
        let waiting = deadline.is_some_and(|d| tokio::time::Instant::now() < d);
        if all_passed || !waiting {
            if let Some((store, student)) = &store {
                for r in &results {
                    let _ = store.record_result(*student, &lab.id, r).await;
                }
            }
            if let Some(blocked) = results.iter().find_map(|r| r.blocked_by.as_ref()) {
                // Not the student's mistake: the environment could not be checked against.
                // JSON gets the results inside the one error object; text shows them first.
                let mut detail = serde_json::Map::new();
                if args.json {
                    detail.insert("results".into(), serde_json::to_value(&results)?);
                } else {
                    print(&lab, &results, false)?;
                }
                let message = format!("could not check: `{blocked}` does not pass, so your stack is not ready{}", if args.json { "" } else { " (see the environment lines above)" });
                return Err(Reported { kind: ErrorKind::NotReady, message, detail }.into());
            }
            print(&lab, &results, args.json)?;
            return Ok(if all_passed { Outcome::Success } else { Outcome::No });
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Results go to the store when it opens; checking works without it.
async fn open_store(db: Option<&str>, student: &str) -> Option<(Store, StudentId)> {
    let location = db.map_or_else(DbLocation::default_file, DbLocation::parse);
    let store = Store::open(&location).await.map_err(|e| tracing::warn!("results are not recorded: {e}")).ok()?;
    let id = store.student(student).await.ok()?;
    Some((store, id))
}

/// The lab named, else the one lab that has the exercise (or any exercises, for --all).
fn choose_lab(course: &Course, wanted: Option<&str>, exercise: Option<&str>) -> anyhow::Result<Lab> {
    if let Some(id) = wanted {
        return match course.lab(id) {
            Some(Ok(lab)) => Ok(lab.clone()),
            Some(Err(e)) => Err(anyhow::anyhow!("{e}")),
            None => anyhow::bail!("there is no lab `{id}`"),
        };
    }
    for (_, lab) in course.labs() {
        if let Err(e) = lab {
            tracing::warn!("{e}");
        }
    }
    let labs: Vec<&Lab> = course.labs().filter_map(|(_, l)| l.as_ref().ok()).filter(|l| exercise.is_none_or(|e| l.exercise(e).is_some()) && !l.exercises.is_empty()).collect();
    match labs.as_slice() {
        [lab] => Ok((*lab).clone()),
        [] => {
            let all: Vec<String> = course.labs().filter_map(|(_, l)| l.as_ref().ok()).flat_map(|l| l.exercises.iter().map(|e| e.id.clone())).collect();
            match exercise {
                Some(e) => anyhow::bail!("no lab has an exercise `{e}`; the exercises are: {}", all.join(", ")),
                None => anyhow::bail!("no lab has exercises"),
            }
        }
        _ => anyhow::bail!("several labs have it; pick one with --lab ({})", labs.iter().map(|l| l.id.as_str()).collect::<Vec<_>>().join(", ")),
    }
}

fn print(lab: &Lab, results: &[ExerciseResult], json: bool) -> anyhow::Result<()> {
    if json {
        let value = if results.len() == 1 { serde_json::to_value(&results[0])? } else { serde_json::to_value(results)? };
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    for r in results {
        print!("{}", render(lab, r));
    }
    Ok(())
}

/// The text report for one result.
fn render(lab: &Lab, r: &ExerciseResult) -> String {
    let title = lab.exercise(&r.exercise).map_or("", |e| e.title.as_str());
    let verdict = match r.status {
        Status::Passed => "PASSED",
        Status::Failed => "NOT YET",
        Status::Pending => "IN PROGRESS",
    };
    let mut out = format!("{} {} — {title}: {verdict}\n", r.status.mark(), r.exercise);
    let width = r.criteria.iter().map(|c| c.name.chars().count()).max().unwrap_or(0);
    for c in &r.criteria {
        out.push_str(&format!("  {} {:<width$}  {}\n", c.status.mark(), c.name, c.message));
        if let Some(why) = &c.diagnosis {
            out.push_str(&format!("    {:<width$}  Why: {why}\n", ""));
        }
        if let Some(hint) = &c.hint {
            out.push_str(&format!("    {:<width$}  → {hint}\n", ""));
        }
    }
    out
}

async fn watch(lab: Lab, exercises: Vec<String>, target: Target, store: Option<(Store, StudentId)>, json: bool) -> anyhow::Result<Outcome> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(32);
    let source_lab = lab.clone();
    let live = tokio::spawn(crate::checks::watch::run(Box::new(move || Some(source_lab.clone())), target, Duration::from_secs(5), tx));
    let mut latest: std::collections::BTreeMap<String, ExerciseResult> = std::collections::BTreeMap::new();
    let clear = std::io::stdout().is_terminal() && !json;
    let shutdown = super::serve::shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            item = rx.recv() => {
                let Some(item) = item else { break };
                if !exercises.contains(&item.exercise) {
                    continue;
                }
                match item.result {
                    Ok(result) => {
                        if latest.get(&item.exercise) == Some(&result) {
                            continue;
                        }
                        if let Some((store, student)) = &store {
                            let _ = store.record_result(*student, &lab.id, &result).await;
                        }
                        latest.insert(item.exercise.clone(), result);
                    }
                    Err(reason) => {
                        eprintln!("could not check {}: {reason}", item.exercise);
                        continue;
                    }
                }
                let results: Vec<ExerciseResult> = exercises.iter().filter_map(|e| latest.get(e).cloned()).collect();
                if clear {
                    print!("\x1b[2J\x1b[H");
                }
                print(&lab, &results, json)?;
                if !json {
                    println!("(watching for changes; Ctrl-C stops)");
                }
            }
        }
    }
    live.abort();
    let passed = exercises.iter().all(|e| latest.get(e).is_some_and(|r| r.status == Status::Passed));
    Ok(if passed { Outcome::Success } else { Outcome::No })
}
