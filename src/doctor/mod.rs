//! `lab doctor`: whether this machine can run a lab's stack, as a list of checks — the
//! Docker engine and its version, its cgroup version, privileged containers, memory, the
//! lab's host ports and its images — each ok, a warning or a problem, with what to do when
//! it is not ok. The checks only read (the privileged probe creates one labelled container
//! and removes it), so doctor is safe to run at any time, also next to a running stack.

mod engine;
mod host;
pub mod kubernetes;

pub use host::{PortUse, memory_check, meminfo_available, port_check};

use crate::stack::Plan;
use serde::Serialize;
use std::fmt::Write;

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Fine.
    Ok,
    /// Worth knowing; the lab can still run.
    Warning,
    /// The lab will not run (well) until this is fixed.
    Problem,
}

impl Status {
    /// ✓, ! or ✗.
    pub fn mark(self) -> &'static str {
        match self {
            Status::Ok => "✓",
            Status::Warning => "!",
            Status::Problem => "✗",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked, e.g. `docker`, `port 8080 (marathon)`.
    pub name: String,
    /// Ok, warning or problem.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do, when not ok.
    pub fix: Option<String>,
}

impl Check {
    /// A check that passed.
    pub fn ok(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check { name: name.into(), status: Status::Ok, detail: detail.into(), fix: None }
    }

    /// A check that found something worth knowing, and what to do about it.
    pub fn warning(name: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check { name: name.into(), status: Status::Warning, detail: detail.into(), fix: Some(fix.into()) }
    }

    /// A check that found a problem, and the fix.
    pub fn problem(name: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check { name: name.into(), status: Status::Problem, detail: detail.into(), fix: Some(fix.into()) }
    }
}

/// Every check, in the order they ran.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The checks.
    pub checks: Vec<Check>,
    /// Whether a Docker engine answered at all.
    #[serde(skip)]
    pub engine_reachable: bool,
}

/// The overall answer, which the CLI turns into its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No problems (warnings allowed): exit 0.
    Ready,
    /// Some check found a problem: exit 1.
    Problems,
    /// No Docker engine answered, so most checks could not run: exit 2.
    NoEngine,
}

impl Report {
    /// Ready, problems, or no engine.
    pub fn verdict(&self) -> Verdict {
        if !self.engine_reachable {
            Verdict::NoEngine
        } else if self.checks.iter().any(|c| c.status == Status::Problem) {
            Verdict::Problems
        } else {
            Verdict::Ready
        }
    }

    /// One line per check with its mark, the fix indented below, and a last line that
    /// sums it up.
    pub fn render(&self) -> String {
        // Long names (image references) do not push every detail to the right.
        let width = self.checks.iter().map(|c| c.name.chars().count()).max().unwrap_or(0).min(24);
        let mut out = String::new();
        for c in &self.checks {
            let _ = writeln!(out, "{} {:<width$}  {}", c.status.mark(), c.name, c.detail);
            if let Some(fix) = &c.fix {
                for (i, line) in fix.lines().enumerate() {
                    let _ = writeln!(out, "    {} {line}", if i == 0 { "→" } else { " " });
                }
            }
        }
        let count = |s: Status| self.checks.iter().filter(|c| c.status == s).count();
        let _ = match self.verdict() {
            Verdict::Ready if count(Status::Warning) == 0 => writeln!(out, "\nall {} checks passed", self.checks.len()),
            Verdict::Ready => writeln!(out, "\nno problems ({})", plural(count(Status::Warning), "warning")),
            Verdict::Problems => writeln!(out, "\n{}, {}", plural(count(Status::Problem), "problem"), plural(count(Status::Warning), "warning")),
            Verdict::NoEngine => writeln!(out, "\nno Docker engine answered, so the other checks could not run"),
        };
        out
    }
}

/// `1 warning`, `2 warnings`.
fn plural(n: usize, word: &str) -> String {
    if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
}

/// The stack to check the machine against.
#[derive(Debug)]
pub struct Subject<'a> {
    /// The stack file, as named in messages.
    pub file: &'a str,
    /// Its plan for this project (ports after `--port-base`), or why it has none.
    pub plan: Result<&'a Plan, &'a crate::stack::file::StackFileError>,
}

/// Runs every check: against the engine alone, and against `stack` when one is given.
/// `project` is the student's project, whose own running containers may hold the ports.
pub async fn diagnose(stack: Option<Subject<'_>>, project: &str) -> Report {
    let mut report = Report::default();
    let engine = match engine::connect(&mut report.checks).await {
        Some(engine) => engine,
        None => {
            if let Some(stack) = &stack {
                report.checks.push(stack_check(stack));
            }
            return report;
        }
    };
    report.engine_reachable = true;
    let info = engine.docker().info().await;
    report.checks.push(engine::cgroup_check(info.as_ref()));
    let plan = stack.as_ref().and_then(|s| s.plan.ok());
    report.checks.push(engine::privileged_check(engine.docker(), plan).await);
    if let Some(stack) = &stack {
        report.checks.push(stack_check(stack));
    }
    let own = crate::stack::status::status(&engine, project).await.ok().filter(|s| s.exists());
    let total = info.as_ref().ok().and_then(|i| i.mem_total).and_then(|m| u64::try_from(m).ok());
    let available = if engine::is_local(engine.host()) { host::local_available_memory() } else { None };
    report.checks.push(memory_check(total, available, plan.and_then(|p| p.memory), own.is_some()));
    if let Some(plan) = plan {
        report.checks.extend(host::port_checks(engine.docker(), plan, own.as_ref(), engine::is_local(engine.host())).await);
        report.checks.extend(engine::image_checks(engine.docker(), plan).await);
    }
    report
}

/// Whether the stack file could be read, and what it asks for.
fn stack_check(stack: &Subject<'_>) -> Check {
    match stack.plan {
        Ok(plan) => {
            let images = crate::stack::images::wanted_images(plan).len();
            let need = plan.memory.map_or_else(String::new, |m| format!(", needs about {} of memory", host::format_bytes(m)));
            Check::ok("stack file", format!("{}: {} services, {images} images{need}", stack.file, plan.services.len()))
        }
        Err(e) => Check::problem(
            "stack file",
            e.problems.iter().map(|p| format!("{}: {}", p.location(), p.message)).collect::<Vec<_>>().join("\n"),
            e.problems.iter().find_map(|p| p.fix.clone()).unwrap_or_else(|| "fix the stack file; its ports, memory and images are not checked until it reads".into()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(statuses: &[Status], reachable: bool) -> Report {
        let checks = statuses
            .iter()
            .enumerate()
            .map(|(i, s)| Check { name: format!("c{i}"), status: *s, detail: "d".into(), fix: (*s != Status::Ok).then(|| "do this".into()) })
            .collect();
        Report { checks, engine_reachable: reachable }
    }

    #[test]
    fn warnings_alone_are_ready_a_problem_is_not_and_no_engine_is_its_own_answer() {
        assert_eq!(report(&[Status::Ok, Status::Ok], true).verdict(), Verdict::Ready);
        assert_eq!(report(&[Status::Ok, Status::Warning], true).verdict(), Verdict::Ready);
        assert_eq!(report(&[Status::Warning, Status::Problem], true).verdict(), Verdict::Problems);
        assert_eq!(report(&[Status::Problem], false).verdict(), Verdict::NoEngine);
    }

    #[test]
    fn the_text_report_has_a_line_per_check_and_fixes_indented_below() {
        let r = Report {
            checks: vec![
                Check::ok("docker", "Docker 27.1 at unix:///var/run/docker.sock"),
                Check::problem("privileged containers", "refused", "use rootful Docker\nor Kubernetes"),
                Check::warning("image x:1", "missing", "run `lab pull`"),
            ],
            engine_reachable: true,
        };
        assert_eq!(
            r.render(),
            "✓ docker                 Docker 27.1 at unix:///var/run/docker.sock\n\
             ✗ privileged containers  refused\n    → use rootful Docker\n      or Kubernetes\n\
             ! image x:1              missing\n    → run `lab pull`\n\
             \n1 problem, 1 warning\n"
        );
        assert!(report(&[Status::Ok], true).render().ends_with("\nall 1 checks passed\n"));
        assert!(report(&[Status::Warning], true).render().ends_with("\nno problems (1 warning)\n"));
    }

    #[test]
    fn the_json_report_has_name_status_detail_and_fix() {
        let r = Report { checks: vec![Check::ok("docker", "fine"), Check::warning("memory", "low", "close things")], engine_reachable: true };
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"checks": [
                {"name": "docker", "status": "ok", "detail": "fine", "fix": null},
                {"name": "memory", "status": "warning", "detail": "low", "fix": "close things"}
            ]})
        );
    }

    #[test]
    fn a_broken_stack_file_is_a_problem_naming_its_position() {
        let err = crate::course::ContentError::file("stack.yml", "x-lab.memory: `lots` is not a size").with_fix("write `memory: 2g`");
        let err = crate::stack::file::StackFileError::one(err);
        let check = stack_check(&Subject { file: "stack.yml", plan: Err(&err) });
        assert_eq!(check.status, Status::Problem);
        assert_eq!(check.detail, "stack.yml: x-lab.memory: `lots` is not a size");
        assert_eq!(check.fix.as_deref(), Some("write `memory: 2g`"));
    }
}
