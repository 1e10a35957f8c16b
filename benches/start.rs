//! Benchmark: ten students press Start at once, on the Docker engine and on Kubernetes, with
//! the same busybox test lab (`tests/fixtures/kubernetes`, lab `kubelab`: a pod of two
//! containers, a healthcheck, two published ports). Run with `cargo bench --bench start`
//! (root, Docker, and the cluster built by `.ci/build-kubernetes`); docs in
//! docs/benchmarks.md.
//!
//! For each engine: the time from the ten Start presses until every stack is ready (and
//! each student's time). On Kubernetes, after that: the API requests lab makes while the
//! class sits idle for `IDLE` seconds, counted from the API server's audit
//! log by lab's user agent, per student per minute; and those made during the start.
//! Knobs: `STUDENTS` (10), `IDLE` (300: longer than one watch, which the API server ends after about five minutes).

#[path = "../tests/support/docker.rs"]
#[allow(dead_code)]
mod docker;
#[path = "../tests/support/kube.rs"]
#[allow(dead_code)]
mod kube_support;
#[path = "support/stats.rs"]
mod stats;

use lab::classroom::{Classroom, DockerProvisioner, KubernetesProvisioner, KubernetesSettings, OpenOptions, PortRange, Provisioner, Settings, StackState};
use lab::store::{DbLocation, Store};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// lab's data folder (the students' workspaces) for this run: a temporary one. Needed by
/// the shared Docker helpers too.
fn temp_lab_home() -> &'static std::path::Path {
    static HOME: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    HOME.get_or_init(|| {
        let dir = tempfile::tempdir().expect("home");
        lab::paths::use_data_dir(dir.path());
        dir
    })
    .path()
}

/// Needed by the shared Docker helpers: a bench has no "skip".
fn skip_or_fail(what: &str, reason: &str) {
    panic!("{what} is needed for this benchmark, but {reason}");
}

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn content() -> lab::course::ContentSource {
    lab::course::ContentSource::Dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kubernetes"))
}

/// Joins `students`, presses Start for all at once, and waits until every stack is ready:
/// (all ready, each student's seconds sorted).
async fn class_start(provisioner: Arc<dyn Provisioner>, students: usize, ports_from: u16) -> (Classroom, f64, Vec<f64>) {
    let store = Store::open(&DbLocation::Memory).await.expect("store");
    let settings = Settings { public_host: "127.0.0.1".into(), max_stacks: students, max_starting: students, ports: PortRange { from: ports_from, to: ports_from + 999 }, idle: None, autostart: false };
    let options = OpenOptions { lab: "kubelab".into(), settings, join_code: None, instructor_token: Some("t".into()) };
    let class = Classroom::open(store, provisioner, Arc::new(|| None), options).await.expect("class").classroom;
    let code = class.join_code();
    let mut ids = Vec::new();
    for i in 0..students {
        ids.push(class.join(&code, &format!("Student {i}")).await.expect("join").student);
    }
    let started = Instant::now();
    for id in &ids {
        class.start(*id).await.expect("start");
    }
    let mut each = vec![None; ids.len()];
    while each.iter().any(Option::is_none) {
        for (i, id) in ids.iter().enumerate() {
            if each[i].is_some() {
                continue;
            }
            let view = class.stack_view(*id).await;
            assert_ne!(view.state, StackState::Failed, "{view:#?}");
            if view.state == StackState::Ready {
                each[i] = Some(started.elapsed().as_secs_f64());
            }
        }
        assert!(started.elapsed() < Duration::from_secs(900), "not all ready after 15 minutes");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let all = started.elapsed().as_secs_f64();
    let mut each: Vec<f64> = each.into_iter().flatten().collect();
    each.sort_by(f64::total_cmp);
    (class, all, each)
}

fn show(engine: &str, all: f64, each: &[f64]) {
    println!("{engine:<11} all {} ready in {all:6.1} s   first {:5.1} s   median {:5.1} s   last {:5.1} s", each.len(), each[0], stats::percentile(each, 0.5), each[each.len() - 1]);
}

/// Requests lab (its user agent) began after line `from` of the audit log: each counted
/// once whatever stages the log records for it, and a request begun before `from` (the
/// watch that was already open) not at all. Also the log's length in lines.
fn lab_requests(log: &std::path::Path, from: usize) -> (usize, usize) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let ids = |events: &[&str]| -> std::collections::HashSet<String> {
        events
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|e| e["userAgent"].as_str().is_some_and(|a| a.starts_with("lab/")))
            .filter_map(|e| e["auditID"].as_str().map(str::to_owned))
            .collect()
    };
    let before = ids(&lines[..from.min(lines.len())]);
    let after = ids(&lines[from.min(lines.len())..]);
    (after.difference(&before).count(), lines.len())
}

fn main() {
    let students = usize::try_from(knob("STUDENTS", 10)).unwrap_or(10);
    let idle = knob("IDLE", 300);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    temp_lab_home();
    runtime.block_on(async {
        let engine = lab::stack::Engine::connect().await.expect("a Docker engine");
        docker::busybox_image(&engine).await;

        println!("{students} students press Start at once (lab kubelab: one pod of two containers, a healthcheck, two ports)\n");
        let provisioner = Arc::new(DockerProvisioner::new(engine.clone(), content(), "kubelab").expect("plans"));
        let (class, all, each) = class_start(provisioner, students, 25000).await;
        show("docker", all, &each);
        let tag = class.tag();
        drop(class);
        for i in 1..=students {
            let _ = lab::stack::down::down(&engine, &format!("lab-{tag}-{i}"), true, &lab::stack::Quiet).await;
        }

        if let Some(reason) = kube_support::unavailable() {
            panic!("Kubernetes: {reason}");
        }
        let cluster = kube_support::TestCluster::up(&[docker::BUSYBOX]).expect("cluster");
        let settings = KubernetesSettings { namespace_prefix: "bench-".into(), node_address: Some("127.0.0.1".into()), storage_class: None };
        let client = cluster.cluster().await;
        let provisioner = Arc::new(KubernetesProvisioner::new(client.clone(), content(), "kubelab", settings).await.expect("translates"));
        let (_, before) = lab_requests(&cluster.audit_log(), 0);
        let (class, all, each) = class_start(provisioner, students, 26000).await;
        show("kubernetes", all, &each);
        let (during, mark) = lab_requests(&cluster.audit_log(), before);
        println!("\nkubernetes: cluster up in {:.1} s; lab made {during} API requests while starting ({:.1} per student)", cluster.startup, during as f64 / students as f64);
        tokio::time::sleep(Duration::from_secs(idle)).await;
        let (idle_requests, _) = lab_requests(&cluster.audit_log(), mark);
        let per = idle_requests as f64 / students as f64 / (idle as f64 / 60.0);
        println!("kubernetes: {idle_requests} API requests by lab in {idle} s idle with {students} ready stacks = {per:.2} per student per minute");
        let tag = class.tag();
        drop(class);
        for i in 1..=students {
            let _ = client.delete_namespace(&format!("bench-lab-{tag}-{i}"), Duration::from_secs(120)).await;
        }
        drop(cluster);
    });
}
