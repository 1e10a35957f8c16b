//! `lab doctor --engine kubernetes`: whether a cluster can run a lab's stacks — reachable,
//! its version against the oldest lab is tested with, privileged pods admitted, allocatable
//! memory (and how many stacks fit), node addresses, and the stack file's translation.

use super::{Check, Report};
use crate::stack::Plan;
use crate::stack::kube::{Cluster, KubeOptions, OLDEST_TESTED, translate};

/// Every check against the cluster at `kubeconfig` (or the default configuration), with
/// the stack translated as `lab serve` would (`storage_class` included).
pub async fn diagnose(kubeconfig: Option<&std::path::Path>, storage_class: Option<&str>, plan: Option<Result<&Plan, String>>) -> Report {
    let mut report = Report::default();
    let cluster = match Cluster::connect(kubeconfig).await {
        Ok(c) => c,
        Err(e) => {
            report.checks.push(Check::problem("kubernetes", e.to_string(), "point lab at a cluster with --kubeconfig PATH (or KUBECONFIG)"));
            return report;
        }
    };
    let facts = match cluster.facts().await {
        Ok(f) => f,
        Err(e) => {
            report.checks.push(Check::problem("kubernetes", format!("no answer: {e}"), "is the API server running, and does the kubeconfig's user have access?"));
            return report;
        }
    };
    report.engine_reachable = true;
    let (major, minor) = OLDEST_TESTED;
    report.checks.push(if facts.release >= OLDEST_TESTED {
        Check::ok("kubernetes", format!("{} answers", facts.version))
    } else {
        Check::warning("kubernetes", format!("{} is older than {major}.{minor}, the oldest lab is tested against", facts.version), "use a cluster of Kubernetes {major}.{minor} or later")
    });
    report.checks.push(match &facts.privileged {
        Ok(()) => Check::ok("privileged pods", "admitted (asked with a dry run)"),
        Err(e) => Check::problem("privileged pods", format!("refused: {e}"), "the course's box runs Docker inside a privileged pod: start the API server with --allow-privileged=true and let lab's namespaces run privileged pods"),
    });
    let ready: Vec<_> = facts.nodes.iter().filter(|n| n.ready).collect();
    report.checks.push(if ready.is_empty() {
        Check::problem("nodes", format!("{} nodes, none ready", facts.nodes.len()), "start a kubelet, or wait until the nodes are Ready")
    } else {
        let addresses: Vec<String> = ready.iter().map(|n| format!("{} ({})", n.name, n.addresses.iter().map(|(t, a)| format!("{t} {a}")).collect::<Vec<_>>().join(", "))).collect();
        Check::ok("nodes", format!("{} ready: {}", ready.len(), addresses.join("; ")))
    });
    let memory: u64 = ready.iter().filter_map(|n| n.memory).sum();
    let need = plan.as_ref().and_then(|p| p.as_ref().ok()).and_then(|p| p.memory);
    report.checks.push(match need {
        Some(need) if need > 0 && memory < need => Check::problem("memory", format!("{} allocatable, one stack needs {}", gib(memory), gib(need)), "add nodes or memory"),
        Some(need) if need > 0 => Check::ok("memory", format!("{} allocatable: room for {} stacks of {}", gib(memory), memory / need, gib(need))),
        _ => Check::ok("memory", format!("{} allocatable", gib(memory))),
    });
    match plan {
        None => {}
        Some(Err(e)) => report.checks.push(Check::problem("stack file", e, "fix the stack file first")),
        Some(Ok(plan)) => report.checks.push(match translate(plan, &KubeOptions { namespace: "lab-doctor".into(), storage_class: storage_class.map(str::to_owned), ..KubeOptions::default() }) {
            Ok(m) => Check::ok("translation", format!("{} pods, {} services, {} published ports", m.pods.len(), m.services.len(), m.named_ports.len())),
            Err(e) => Check::problem("translation", e.to_string(), "change what the lines above name; `lab up --engine kubernetes --dry-run` shows the translation"),
        }),
    }
    report
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}
