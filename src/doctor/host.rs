//! Doctor's checks of what the stack needs from the machine: memory (the engine's total,
//! and on a local Linux engine what is available now) against `x-lab.memory`, and the
//! stack's published host ports, which must be free unless the student's own running stack
//! holds them.

use super::Check;
use crate::stack::Plan;
use crate::stack::status::ProjectStatus;
use bollard::Docker;
use bollard::query_parameters::ListContainersOptionsBuilder;
use std::collections::HashMap;

/// `2.0 GiB`, `512 MiB`.
pub fn format_bytes(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    let mib = bytes as f64 / MIB;
    if mib >= 1024.0 { format!("{:.1} GiB", mib / 1024.0) } else { format!("{mib:.0} MiB") }
}

/// `MemAvailable` from the text of `/proc/meminfo`, in bytes.
pub fn meminfo_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let mut words = line["MemAvailable:".len()..].split_whitespace();
    let value: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => Some(value * 1024),
        None => Some(value),
        Some(_) => None,
    }
}

/// Memory available now on this machine (Linux only; the engine must be local).
pub fn local_available_memory() -> Option<u64> {
    if cfg!(target_os = "linux") { std::fs::read_to_string("/proc/meminfo").ok().as_deref().and_then(meminfo_available) } else { None }
}

/// Compares the engine's memory (`total`) and what this machine has free now
/// (`available`, when known) with what the stack needs. `own_running`: the student's stack
/// is up already, so its memory is in use by itself.
pub fn memory_check(total: Option<u64>, available: Option<u64>, need: Option<u64>, own_running: bool) -> Check {
    const NAME: &str = "memory";
    let Some(total) = total else {
        return Check::warning(NAME, "the engine does not say how much memory it has", "run `docker info` and look at Total Memory");
    };
    let avail = available.map_or_else(String::new, |a| format!(", {} available now", format_bytes(a)));
    let Some(need) = need else {
        return Check::ok(NAME, format!("{} on the engine{avail}; the stack does not say what it needs (x-lab.memory)", format_bytes(total)));
    };
    let (total_s, need_s) = (format_bytes(total), format_bytes(need));
    if total < need {
        return Check::problem(
            NAME,
            format!("the engine has {total_s} in all; the stack needs about {need_s}"),
            "give Docker more memory (Docker Desktop: Settings → Resources → Memory), or use a machine with more",
        );
    }
    match available {
        Some(a) if a < need && !own_running => Check::warning(
            NAME,
            format!("{} of {total_s} is available now; the stack needs about {need_s}", format_bytes(a)),
            "close programs you do not need, or stop other stacks (`lab down --project NAME`)",
        ),
        _ if own_running => Check::ok(NAME, format!("{total_s} on the engine{avail}; the stack needs about {need_s} and is running already")),
        _ => Check::ok(NAME, format!("{total_s} on the engine{avail}; the stack needs about {need_s}")),
    }
}

/// Who holds a host port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortUse {
    /// Nobody: it could be bound.
    Free,
    /// The student's own running stack (this project).
    OwnStack(String),
    /// Another container on the engine publishes it.
    Container {
        /// Its name.
        container: String,
        /// Its lab project, if lab made it.
        project: Option<String>,
    },
    /// Something on this machine holds it (or it cannot be bound): why.
    Taken(String),
    /// Not checked on the host: the engine is on another machine.
    Remote,
}

/// The check for one named port.
pub fn port_check(name: &str, port: u16, usage: &PortUse) -> Check {
    let title = format!("port {port} ({name})");
    let other_ports = "or give this stack other ports: `lab up --port-base N` (check them first with `lab doctor --port-base N`)";
    match usage {
        PortUse::Free => Check::ok(title, "free"),
        PortUse::OwnStack(project) => Check::ok(title, format!("in use by your own running stack ({project}), which is fine")),
        PortUse::Container { container, project: Some(project) } => Check::problem(
            title,
            format!("taken by container {container} of lab project {project}"),
            format!("stop that stack (`lab down --project {project}`), {other_ports}"),
        ),
        PortUse::Container { container, project: None } => {
            Check::problem(title, format!("taken by container {container}"), format!("stop it (`docker stop {container}`), {other_ports}"))
        }
        PortUse::Taken(reason) => Check::problem(
            title,
            format!("taken on this machine: {reason}"),
            format!("stop the program that listens on it (`ss -ltnp 'sport = :{port}'` shows which), {other_ports}"),
        ),
        PortUse::Remote => Check::ok(title, "no container on the engine publishes it (the engine is remote, so its other programs were not checked)"),
    }
}

/// One check per `x-lab.ports` entry (after `--port-base`).
pub async fn port_checks(docker: &Docker, plan: &Plan, own: Option<&ProjectStatus>, local: bool) -> Vec<Check> {
    let own_ports: Vec<u16> = own.map(|o| o.services.iter().flat_map(|s| s.ports.iter().map(|p| p.host_port)).collect()).unwrap_or_default();
    let published = published_by_containers(docker).await;
    plan.ports
        .iter()
        .map(|(name, port)| {
            let usage = if own_ports.contains(port) {
                PortUse::OwnStack(plan.project.clone())
            } else if let Some((container, project)) = published.get(port) {
                PortUse::Container { container: container.clone(), project: project.clone() }
            } else if !local {
                PortUse::Remote
            } else {
                match std::net::TcpListener::bind(("0.0.0.0", *port)) {
                    Ok(_) => PortUse::Free,
                    Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => PortUse::Taken("another program listens on it".into()),
                    Err(e) => PortUse::Taken(format!("it cannot be bound: {e}")),
                }
            };
            port_check(name, *port, &usage)
        })
        .collect()
}

/// Host ports published by running containers: container name and lab project.
async fn published_by_containers(docker: &Docker) -> HashMap<u16, (String, Option<String>)> {
    let Ok(list) = docker.list_containers(Some(ListContainersOptionsBuilder::default().build())).await else { return HashMap::new() };
    let mut out = HashMap::new();
    for c in list {
        let name = c.names.as_ref().and_then(|n| n.first()).map_or_else(String::new, |n| n.trim_start_matches('/').to_owned());
        let project = c.labels.as_ref().and_then(|l| l.get(crate::stack::plan::labels::PROJECT)).cloned();
        for p in c.ports.unwrap_or_default() {
            if let Some(public) = p.public_port {
                out.insert(public, (name.clone(), project.clone()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    const GIB: u64 = 1 << 30;

    #[test]
    fn meminfo_gives_available_memory_in_bytes() {
        let text = "MemTotal:       24683648 kB\nMemFree:        19626612 kB\nMemAvailable:   24164832 kB\n";
        assert_eq!(meminfo_available(text), Some(24_164_832 * 1024));
        assert_eq!(meminfo_available("MemTotal: 1 kB\n"), None, "old kernels have no MemAvailable");
    }

    #[test]
    fn memory_is_compared_with_the_stacks_need() {
        let ok = memory_check(Some(8 * GIB), Some(6 * GIB), Some(2 * GIB), false);
        assert_eq!(ok.status, Status::Ok);
        assert_eq!(ok.detail, "8.0 GiB on the engine, 6.0 GiB available now; the stack needs about 2.0 GiB");
        let small = memory_check(Some(GIB), None, Some(2 * GIB), false);
        assert_eq!(small.status, Status::Problem);
        assert!(small.fix.unwrap_or_default().contains("more memory"));
        let busy = memory_check(Some(8 * GIB), Some(GIB / 2), Some(2 * GIB), false);
        assert_eq!(busy.status, Status::Warning, "{busy:?}");
        assert!(busy.detail.starts_with("512 MiB of 8.0 GiB is available now"), "{busy:?}");
        assert_eq!(memory_check(Some(8 * GIB), Some(GIB / 2), Some(2 * GIB), true).status, Status::Ok, "the running stack uses its own memory");
        assert_eq!(memory_check(Some(8 * GIB), None, None, false).status, Status::Ok);
        assert_eq!(memory_check(None, None, Some(GIB), false).status, Status::Warning);
    }

    #[test]
    fn a_port_held_by_someone_else_is_a_problem_with_a_way_out() {
        assert_eq!(port_check("web", 8080, &PortUse::Free).status, Status::Ok);
        let own = port_check("web", 8080, &PortUse::OwnStack("lab-sam".into()));
        assert_eq!(own.status, Status::Ok);
        assert!(own.detail.contains("your own running stack (lab-sam)"), "{own:?}");
        let taken = port_check("web", 8080, &PortUse::Taken("another program listens on it".into()));
        assert_eq!((taken.name.as_str(), taken.status), ("port 8080 (web)", Status::Problem));
        let fix = taken.fix.unwrap_or_default();
        assert!(fix.contains("sport = :8080") && fix.contains("--port-base"), "{fix}");
        let other = port_check("web", 8080, &PortUse::Container { container: "lab-bob-box".into(), project: Some("lab-bob".into()) });
        assert!(other.fix.unwrap_or_default().contains("lab down --project lab-bob"));
    }
}
