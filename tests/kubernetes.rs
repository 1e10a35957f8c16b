//! The classroom on a real Kubernetes (v1.20.2, built from Debian's source and started for
//! this run by `tests/kubernetes/cluster.sh` with two nodes, the second a kubelet in a
//! network namespace of its own), with the busybox test labs of `tests/fixtures/kubernetes`:
//! two students' stacks in their own namespaces on their own node ports; a pod whose two
//! containers share one network namespace; a privileged box running a Docker daemon and a
//! nested container; stop, start and reset; a deleted pod shown as restarting and back; a
//! restarted server (the classroom, and the real `lab serve` binary) finding every stack; a
//! refused translation; a pod refused by a quota; `lab doctor --engine kubernetes`; students
//! spread over both nodes; and, last and alone, a lost node.
//!
//! One cluster serves every test of this file (starting one takes ~12 s), so the file has
//! its own `main` (libtest-mimic): the cluster starts before the tests and is stopped, with
//! every host change undone, after them — also when one fails.

mod support;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod, ResourceQuota};
use kube::api::{Api, DeleteParams, ListParams};
use lab::classroom::{Classroom, KubernetesProvisioner, KubernetesSettings, OpenOptions, PortRange, Settings, StackState, StackView};
use lab::store::{DbLocation, Store, StudentId};
use libtest_mimic::{Arguments, Failed, Trial};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use support::kube::TestCluster;

static CLUSTER: OnceLock<TestCluster> = OnceLock::new();

fn cluster() -> &'static TestCluster {
    CLUSTER.get().expect("the cluster starts before the tests")
}

fn content() -> lab::course::ContentSource {
    lab::course::ContentSource::Dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kubernetes"))
}

fn settings(max_stacks: usize) -> Settings {
    Settings { public_host: "127.0.0.1".into(), max_stacks, max_starting: 4, ports: PortRange { from: 24000, to: 24999 }, idle: None, autostart: false }
}

async fn provisioner(prefix: &str) -> KubernetesProvisioner {
    let settings = KubernetesSettings { namespace_prefix: prefix.into(), node_address: Some("127.0.0.1".into()), storage_class: None };
    KubernetesProvisioner::new(cluster().cluster().await, content(), "kubelab", settings).await.expect("the test lab translates")
}

async fn open(store: &Store, prefix: &str) -> Classroom {
    support::temp_lab_home();
    let options = OpenOptions { lab: "kubelab".into(), settings: settings(10), join_code: None, instructor_token: Some("t".into()) };
    Classroom::open(store.clone(), Arc::new(provisioner(prefix).await), Arc::new(|| None), options).await.expect("opens").classroom
}

async fn until(c: &Classroom, s: StudentId, want: StackState, seconds: u64) -> StackView {
    for _ in 0..seconds * 5 {
        let view = c.stack_view(s).await;
        if view.state == want {
            return view;
        }
        assert!(!(view.state == StackState::Failed && want != StackState::Failed), "{view:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("never {want:?}: {:#?}", c.stack_view(s).await);
}

async fn page(url: &str) -> String {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(3)).build().expect("client");
    for _ in 0..60 {
        if let Ok(r) = client.get(url).send().await
            && r.status().is_success()
            && let Ok(text) = r.text().await
        {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("{url} never answered");
}

/// Deletes the namespaces a test made (they hold its stacks).
async fn delete_namespaces(prefix: &str) {
    let lab_cluster = cluster().cluster().await;
    let all = Api::<Namespace>::all(cluster().client().await).list(&ListParams::default()).await.unwrap();
    for ns in all.items.iter().filter_map(|n| n.metadata.name.as_deref()).filter(|n| n.starts_with(prefix)) {
        lab_cluster.delete_namespace(ns, Duration::from_secs(120)).await.unwrap();
    }
}

fn run(test: impl std::future::Future<Output = ()>) -> Result<(), Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| Failed::from(e.to_string()))?;
    runtime.block_on(test);
    Ok(())
}

/// Two students start at once: each gets a namespace labelled with the class and the
/// student, node ports of their own, and a page that names them; the second container of
/// the pod reaches the first on 127.0.0.1 (one network namespace).
async fn two_students_get_their_own_namespaces_and_node_ports() {
    let store = Store::open(&DbLocation::Memory).await.unwrap();
    let c = open(&store, "two-").await;
    let code = c.join_code();
    let ann = c.join(&code, "Ann").await.unwrap().student;
    let bob = c.join(&code, "Bob").await.unwrap().student;
    let (a, b) = tokio::join!(c.start(ann), c.start(bob));
    a.unwrap();
    b.unwrap();
    let (a, b) = tokio::join!(until(&c, ann, StackState::Ready, 180), until(&c, bob, StackState::Ready, 180));
    for view in [&a, &b] {
        for port in view.ports.values() {
            assert!((30000..=32767).contains(port), "a node port, not the planned block: {view:#?}");
        }
    }
    assert_ne!(a.ports["web"], b.ports["web"], "each has their own node port");
    assert_eq!(a.links[0].url, format!("http://127.0.0.1:{}/", a.ports["web"]), "links use the node address and node port");
    let ann_name = format!("{}-{}", c.tag(), ann.0);
    assert_eq!(page(&a.links[0].url).await.trim(), format!("hello {ann_name}"), "Ann's page is Ann's");
    assert_eq!(page(&b.links[0].url).await.trim(), format!("hello {}-{}", c.tag(), bob.0));
    assert_eq!(page(&format!("http://127.0.0.1:{}/", a.ports["side"])).await.trim(), format!("side saw: hello {ann_name}"), "side fetched web's page over 127.0.0.1: one network namespace");

    // Course text's `{{ url:web }}` shows the node address and Ann's node port.
    let values = c.placeholder_values(Some(ann)).await;
    assert_eq!((values.host.as_str(), values.ports.get("web").copied()), ("127.0.0.1", Some(a.ports["web"])));
    let namespaces = Api::<Namespace>::all(cluster().client().await);
    let ns = namespaces.get(&format!("two-lab-{}-{}", c.tag(), ann.0)).await.expect("Ann's namespace");
    let labels = ns.metadata.labels.unwrap_or_default();
    assert_eq!(labels.get("lab.class"), Some(&c.tag()));
    assert_eq!(labels.get("lab.student"), Some(&ann_name));
    let pods = Api::<Pod>::namespaced(cluster().client().await, &format!("two-lab-{}-{}", c.tag(), ann.0)).list(&ListParams::default()).await.unwrap();
    assert_eq!(pods.items.len(), 1, "web and side are one pod");
    let containers: Vec<String> = pods.items[0].spec.as_ref().unwrap().containers.iter().map(|c| c.name.clone()).collect();
    assert_eq!(containers, ["web", "side"]);

    // The instructor's view of a student: the end of each container's log, from the cluster.
    let logs = lab::classroom::Provisioner::logs(&provisioner("two-").await, &format!("lab-{}-{}", c.tag(), ann.0), 10).await.unwrap();
    assert_eq!(logs.iter().map(|l| l.service.as_str()).collect::<Vec<_>>(), ["web", "side"]);
    delete_namespaces("two-").await;
}

/// Stop scales the stack to nothing and keeps the namespace; start brings it back on the
/// same node ports; reset deletes the namespace, keeps the student's site as a backup and
/// starts a fresh stack.
async fn stop_start_and_reset() {
    let store = Store::open(&DbLocation::Memory).await.unwrap();
    let c = open(&store, "stop-").await;
    let ann = c.join(&c.join_code(), "Ann").await.unwrap().student;
    c.start(ann).await.unwrap();
    let ready = until(&c, ann, StackState::Ready, 180).await;
    let project = ready.project.clone().unwrap();
    let namespace = format!("stop-{project}");
    let pods = Api::<Pod>::namespaced(cluster().client().await, &namespace);

    c.stop(ann).await.unwrap();
    assert_eq!(c.stack_view(ann).await.state, StackState::Stopped);
    for _ in 0..100 {
        if pods.list(&ListParams::default()).await.unwrap().items.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(pods.list(&ListParams::default()).await.unwrap().items.is_empty(), "stopped: no pod runs");
    assert!(Api::<Namespace>::all(cluster().client().await).get_opt(&namespace).await.unwrap().is_some(), "stopped, not removed");

    c.start(ann).await.unwrap();
    let again = until(&c, ann, StackState::Ready, 180).await;
    assert_eq!(again.ports, ready.ports, "the same node ports");
    assert!(page(&again.links[0].url).await.starts_with("hello "));

    let workspace = lab::stack::project::workspace_dir(&project);
    std::fs::write(workspace.join("site/app.yml"), "service:\n  id: /class/app\n  instances: 9\n").unwrap();
    c.reset(ann).await.unwrap();
    let fresh = until(&c, ann, StackState::Ready, 240).await;
    assert!(std::fs::read_to_string(workspace.join("site/app.yml")).unwrap().contains("instances: 1"), "a fresh site");
    let backups = std::fs::read_dir(&workspace).unwrap().filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().starts_with("site-backup-")).count();
    assert_eq!(backups, 1, "the student's words are kept");
    assert!(page(&fresh.links[0].url).await.starts_with("hello "));
    delete_namespaces("stop-").await;
}

/// A pod deleted behind lab's back: the student sees "restarting", then ready again, and
/// the page answers; nothing the server holds is lost.
async fn a_deleted_pod_shows_as_restarting_and_comes_back() {
    let store = Store::open(&DbLocation::Memory).await.unwrap();
    let c = open(&store, "kill-").await;
    let ann = c.join(&c.join_code(), "Ann").await.unwrap().student;
    c.start(ann).await.unwrap();
    let ready = until(&c, ann, StackState::Ready, 180).await;
    let namespace = format!("kill-{}", ready.project.clone().unwrap());
    let pods = Api::<Pod>::namespaced(cluster().client().await, &namespace);
    let pod = pods.list(&ListParams::default()).await.unwrap().items.remove(0);
    pods.delete(pod.metadata.name.as_deref().unwrap(), &DeleteParams::default()).await.unwrap();
    let restarting = until(&c, ann, StackState::Restarting, 30).await;
    assert!(restarting.stage.is_some(), "the student is told what happens: {restarting:#?}");
    let back = until(&c, ann, StackState::Ready, 120).await;
    assert!(page(&back.links[0].url).await.starts_with("hello "), "the stack serves again");
    delete_namespaces("kill-").await;
}

/// The server restarts mid-class: a new classroom on the same database finds the running
/// stack by its namespace's `lab.project` label (even under another namespace prefix), with
/// the same node ports.
async fn a_restarted_server_finds_every_stack_again() {
    let home = support::temp_lab_home();
    let store = Store::open(&DbLocation::File(home.join("k8s-restart.db"))).await.unwrap();
    let c = open(&store, "again-").await;
    let ann = c.join(&c.join_code(), "Ann").await.unwrap().student;
    let bob = c.join(&c.join_code(), "Bob").await.unwrap().student;
    c.start(ann).await.unwrap();
    let before = until(&c, ann, StackState::Ready, 180).await;
    drop(c);
    // Restarted with another namespace prefix: the stack is found by its label, not its name.
    let c = open(&store, "other-").await;
    let after = c.stack_view(ann).await;
    assert_eq!(after.state, StackState::Ready, "{after:#?}");
    assert_eq!(after.ports, before.ports);
    assert_eq!(c.stack_view(bob).await.state, StackState::None, "Bob never started");
    assert!(page(&after.links[0].url).await.starts_with("hello "));
    delete_namespaces("again-").await;
}

/// A stack with a part Kubernetes cannot run is refused at its line, and nothing is created
/// for it: here the lab's stack file changes under a running class (an author's edit) to
/// bind-mount a host folder, and the next Start says where and why.
async fn a_refused_translation_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kubernetes/labs/kubelab");
    let lab = dir.path().join("labs/kubelab");
    std::fs::create_dir_all(lab.join("steps")).unwrap();
    for file in ["lab.yml", "stack.yml", "steps/hello.md"] {
        std::fs::copy(fixture.join(file), lab.join(file)).unwrap();
    }
    let settings = KubernetesSettings { namespace_prefix: "bad-".into(), node_address: Some("127.0.0.1".into()), storage_class: None };
    let provisioner = KubernetesProvisioner::new(cluster().cluster().await, lab::course::ContentSource::Dir(dir.path().to_owned()), "kubelab", settings).await.expect("the lab translates at first");
    let stack = std::fs::read_to_string(lab.join("stack.yml")).unwrap();
    let edited = stack.replace("    stop_grace_period: 0s\n\n  side:", "    stop_grace_period: 0s\n    volumes:\n      - ./data:/data\n\n  side:");
    assert_ne!(edited, stack, "the edit applies");
    std::fs::write(lab.join("stack.yml"), &edited).unwrap();
    let line = edited.lines().position(|l| l.trim_start().starts_with("volumes:")).unwrap() + 1;

    struct Quiet;
    impl lab::classroom::provision::StageSink for Quiet {
        fn stage(&self, _: String, _: Option<(u64, u64)>) {}
    }
    let workspace = tempfile::tempdir().unwrap();
    let request = lab::classroom::StackRequest { class: "bad".into(), student: "ann".into(), project: "lab-bad-1".into(), port_base: 24700, public_host: "127.0.0.1".into(), workspace: workspace.path().to_owned() };
    let error = lab::classroom::Provisioner::start(&provisioner, &request, &Quiet).await.expect_err("refused");
    assert!(error.message.contains(&format!("labs/kubelab/stack.yml:{line}:5")), "{error:#?}");
    assert!(error.message.contains("bind-mounts"), "{error:#?}");
    let namespaces = Api::<Namespace>::all(cluster().client().await).list(&ListParams::default()).await.unwrap();
    assert!(!namespaces.items.iter().any(|n| n.metadata.name.as_deref().unwrap_or("").starts_with("bad-")), "nothing was created");
}

/// `lab doctor --engine kubernetes` reports the cluster: reachable, v1.20.2, privileged
/// pods admitted, the node and its memory, and the test lab's translation.
async fn doctor_reports_the_cluster() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(["doctor", "--engine", "kubernetes", "--json", "--lab", "kubelab"])
        .env("LAB_HOME", support::temp_lab_home())
        .arg("--kubeconfig")
        .arg(cluster().kubeconfig())
        .arg("--content")
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kubernetes"))
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_str(&text).expect("json");
    let check = |name: &str| report["checks"].as_array().unwrap().iter().find(|c| c["name"] == name).cloned().unwrap_or_else(|| panic!("no {name} check: {report}"));
    assert!(check("kubernetes")["detail"].as_str().unwrap().contains("v1.20.2"), "{report}");
    assert_eq!(check("privileged pods")["status"], "ok", "{report}");
    assert!(check("nodes")["detail"].as_str().unwrap().contains("labk8s-node"), "{report}");
    assert!(check("memory")["detail"].as_str().unwrap().contains("room for"), "{report}");
    assert_eq!(check("translation")["status"], "ok", "{report}");
}

/// The course's box runs a Docker daemon in a privileged container, which this machine's
/// Docker refuses: on the cluster, a privileged pod runs dockerd and a nested container.
async fn a_privileged_box_runs_a_docker_daemon_and_a_nested_container() {
    struct Quiet;
    impl lab::classroom::provision::StageSink for Quiet {
        fn stage(&self, _: String, _: Option<(u64, u64)>) {}
    }
    let settings = KubernetesSettings { namespace_prefix: "dind-".into(), node_address: Some("127.0.0.1".into()), storage_class: None };
    let provisioner = KubernetesProvisioner::new(cluster().cluster().await, content(), "dindlab", settings).await.expect("the box translates");
    let workspace = tempfile::tempdir().unwrap();
    let request = lab::classroom::StackRequest { class: "dind".into(), student: "ann".into(), project: "lab-dind-1".into(), port_base: 24500, public_host: "127.0.0.1".into(), workspace: workspace.path().to_owned() };
    let started = lab::classroom::Provisioner::start(&provisioner, &request, &Quiet).await;
    let logs = lab::classroom::Provisioner::logs(&provisioner, "lab-dind-1", 30).await.unwrap_or_default();
    let endpoints = started.unwrap_or_else(|e| panic!("{e:?}\n{logs:#?}"));
    let url = format!("http://127.0.0.1:{}/", endpoints.named_ports["box"]);
    assert_eq!(page(&url).await.trim(), "a nested container ran", "{logs:#?}");
    let box_log = logs.iter().find(|l| l.service == "box").map(|l| l.lines.join("\n")).unwrap_or_default();
    assert!(box_log.contains("dockerd answers"), "{box_log}");
    delete_namespaces("dind-").await;
}

/// `lab serve --classroom --engine kubernetes`, as an instructor runs it: a student joins
/// and their stack starts (autostart); the server is stopped and started again mid-class,
/// and the student's stack is found ready on the same node ports, their session intact.
async fn lab_serve_restarted_mid_class_finds_the_stack() {
    let home = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let serve = || {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_lab"));
        command
            .args(["serve", "--classroom", "--engine", "kubernetes", "--node-address", "127.0.0.1", "--namespace-prefix", "serve-", "--lab", "kubelab"])
            .args(["--join-code", "ABC-DEF", "--instructor-token", "t", "--autostart", "--addr", &format!("127.0.0.1:{port}")])
            .arg("--kubeconfig")
            .arg(cluster().kubeconfig())
            .arg("--content")
            .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kubernetes"))
            .arg("--db")
            .arg(home.path().join("lab.db"))
            .env("LAB_HOME", home.path())
            .kill_on_drop(true)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        command.spawn().expect("lab serve starts")
    };
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).timeout(Duration::from_secs(5)).build().unwrap();
    let wait_up = || async {
        for _ in 0..150 {
            if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("lab serve never answered");
    };
    let me = |cookie: String| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let r = client.get(format!("{base}/api/me")).header("cookie", cookie).send().await.expect("/api/me");
            r.json::<serde_json::Value>().await.expect("json")
        }
    };
    let until_ready = |cookie: String| async move {
        for _ in 0..900 {
            let state = me(cookie.clone()).await;
            if state["stack"]["state"] == "ready" {
                return state;
            }
            assert_ne!(state["stack"]["state"], "failed", "{state}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("never ready: {}", me(cookie).await);
    };

    let mut server = serve();
    wait_up().await;
    let joined = client.post(format!("{base}/join")).header("origin", &base).header("content-type", "application/x-www-form-urlencoded").body("code=ABC-DEF&name=Ann").send().await.unwrap();
    assert_eq!(joined.status(), 303, "joined");
    let cookie = joined.headers().get("set-cookie").and_then(|v| v.to_str().ok()).and_then(|c| c.split(';').next()).expect("a session cookie").to_owned();
    let before = until_ready(cookie.clone()).await;

    server.kill().await.unwrap();
    let mut server = serve();
    wait_up().await;
    let after = until_ready(cookie.clone()).await;
    assert_eq!(after["stack"]["ports"], before["stack"]["ports"], "the same node ports");
    let url = after["stack"]["links"][0]["url"].as_str().expect("a link").to_owned();
    assert!(page(&url).await.starts_with("hello "));
    server.kill().await.unwrap();
    delete_namespaces("serve-").await;
}

/// Keeps the stages a start reports, to read them afterwards.
#[derive(Default)]
struct Stages(std::sync::Mutex<Vec<String>>);

impl lab::classroom::provision::StageSink for Stages {
    fn stage(&self, text: String, _: Option<(u64, u64)>) {
        self.0.lock().unwrap().push(text);
    }
}

/// A stack whose service stops a second after it starts (ready for that second, as it has no
/// readiness probe): the start fails after the ready timeout, naming the service, saying it
/// keeps stopping, and showing the last lines of its log.
async fn a_failing_container_is_named_with_its_log() {
    let settings = KubernetesSettings { namespace_prefix: "crash-".into(), node_address: Some("127.0.0.1".into()), storage_class: None };
    let mut provisioner = KubernetesProvisioner::new(cluster().cluster().await, content(), "crashlab", settings).await.expect("translates");
    provisioner.ready_timeout = Duration::from_secs(25);
    let workspace = tempfile::tempdir().unwrap();
    let request = lab::classroom::StackRequest { class: "crash".into(), student: "ann".into(), project: "lab-crash-1".into(), port_base: 24600, public_host: "127.0.0.1".into(), workspace: workspace.path().to_owned() };
    let stages = Stages::default();
    let error = lab::classroom::Provisioner::start(&provisioner, &request, &stages).await.expect_err("never ready");
    assert_eq!(error.service.as_deref(), Some("web"), "{error:#?}");
    assert!(error.log_tail.iter().any(|l| l.contains("cannot read /etc/web.conf")), "{error:#?}");
    let seen = stages.0.lock().unwrap().join("\n");
    assert!(seen.contains("web: web keeps stopping, restarting it") || error.message.contains("keeps stopping"), "{seen}\n{error:#?}");
    delete_namespaces("crash-").await;
}

/// A pod the cluster refuses to create (here a quota of no pods in the student's namespace):
/// the start fails with the cluster's reason once the grace has passed, long before the
/// ready timeout, and leaves the stack scaled to zero.
async fn a_pod_the_cluster_refuses_fails_the_start_with_its_reason() {
    let mut provisioner = provisioner("quota-").await;
    provisioner.ready_timeout = Duration::from_secs(300);
    provisioner.refused_grace = Duration::from_secs(5);
    let namespace = provisioner.namespace("lab-quota-1");
    let client = cluster().client().await;
    let ns: Namespace = serde_json::from_value(serde_json::json!({"metadata": {"name": namespace}})).unwrap();
    Api::<Namespace>::all(client.clone()).create(&Default::default(), &ns).await.unwrap();
    let quota: ResourceQuota = serde_json::from_value(serde_json::json!({"metadata": {"name": "no-pods"}, "spec": {"hard": {"pods": "0"}}})).unwrap();
    Api::<ResourceQuota>::namespaced(client.clone(), &namespace).create(&Default::default(), &quota).await.unwrap();
    let workspace = tempfile::tempdir().unwrap();
    let request = lab::classroom::StackRequest { class: "quota".into(), student: "ann".into(), project: "lab-quota-1".into(), port_base: 24700, public_host: "127.0.0.1".into(), workspace: workspace.path().to_owned() };
    let stages = Stages::default();
    let error = lab::classroom::Provisioner::start(&provisioner, &request, &stages).await.expect_err("the quota refuses every pod");
    assert!(error.message.contains("the cluster refuses to create pod") && error.message.contains("exceeded quota"), "{error:#?}");
    assert!(error.hint.contains(&namespace), "{error:#?}");
    let seen = stages.0.lock().unwrap().join("\n");
    assert!(seen.contains("the cluster refuses to create it"), "the student saw the refusal while it lasted: {seen}");
    let deployments = Api::<Deployment>::namespaced(client, &namespace).list(&ListParams::default()).await.unwrap();
    assert!(!deployments.items.is_empty() && deployments.items.iter().all(|d| d.spec.as_ref().and_then(|s| s.replicas) == Some(0)), "scaled to zero");
    delete_namespaces("quota-").await;
}

/// The nodes the pods of namespaces starting with `prefix` run on.
async fn nodes_of(prefix: &str) -> Vec<String> {
    let pods = Api::<Pod>::all(cluster().client().await).list(&ListParams::default()).await.unwrap();
    pods.items
        .iter()
        .filter(|p| p.metadata.namespace.as_deref().is_some_and(|n| n.starts_with(prefix)) && p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| p.spec.as_ref()?.node_name.clone())
        .collect()
}

/// A class on two nodes: four students' stacks spread over both, and every student's page
/// answers on the node address whichever node runs it.
async fn students_spread_over_both_nodes() {
    let store = Store::open(&DbLocation::Memory).await.unwrap();
    let c = open(&store, "spread-").await;
    let code = c.join_code();
    let mut students = Vec::new();
    for name in ["Ann", "Bob", "Cy", "Di"] {
        students.push(c.join(&code, name).await.unwrap().student);
    }
    for s in &students {
        c.start(*s).await.unwrap();
    }
    for s in &students {
        let view = until(&c, *s, StackState::Ready, 240).await;
        assert_eq!(page(&view.links[0].url).await.trim(), format!("hello {}-{}", c.tag(), s.0));
    }
    let mut nodes = nodes_of("spread-").await;
    nodes.sort();
    nodes.dedup();
    assert_eq!(nodes, ["labk8s-node", "labk8s-node2"], "the scheduler used both nodes");
    delete_namespaces("spread-").await;
}

/// A node lost under a running stack: the student sees "restarting", the cluster starts the
/// pod on the other node, and the stack is ready again on the same node ports. Runs alone,
/// after the others (it takes a node away for good).
async fn a_lost_node_shows_as_restarting_and_the_stack_comes_back_elsewhere() {
    let store = Store::open(&DbLocation::Memory).await.unwrap();
    let c = open(&store, "lost-").await;
    let ann = c.join(&c.join_code(), "Ann").await.unwrap().student;
    c.start(ann).await.unwrap();
    let ready = until(&c, ann, StackState::Ready, 180).await;
    let lost = nodes_of("lost-").await.pop().expect("Ann's pod has a node");
    cluster().stop_node(&lost);
    let restarting = until(&c, ann, StackState::Restarting, 120).await;
    assert!(restarting.stage.is_some(), "{restarting:#?}");
    let back = until(&c, ann, StackState::Ready, 240).await;
    assert_eq!(back.ports, ready.ports, "the same node ports");
    assert!(page(&back.links[0].url).await.starts_with("hello "), "served from the other node");
    let now = nodes_of("lost-").await;
    assert!(!now.is_empty() && now.iter().all(|n| *n != lost), "moved off {lost}: {now:?}");
    delete_namespaces("lost-").await;
}

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
    type Test = (&'static str, fn() -> Result<(), Failed>);
    let tests: Vec<Test> = vec![
        ("two_students_get_their_own_namespaces_and_node_ports", || run(two_students_get_their_own_namespaces_and_node_ports())),
        ("stop_start_and_reset", || run(stop_start_and_reset())),
        ("a_deleted_pod_shows_as_restarting_and_comes_back", || run(a_deleted_pod_shows_as_restarting_and_comes_back())),
        ("a_restarted_server_finds_every_stack_again", || run(a_restarted_server_finds_every_stack_again())),
        ("a_refused_translation_creates_nothing", || run(a_refused_translation_creates_nothing())),
        ("doctor_reports_the_cluster", || run(doctor_reports_the_cluster())),
        ("lab_serve_restarted_mid_class_finds_the_stack", || run(lab_serve_restarted_mid_class_finds_the_stack())),
        ("a_privileged_box_runs_a_docker_daemon_and_a_nested_container", || run(a_privileged_box_runs_a_docker_daemon_and_a_nested_container())),
        ("students_spread_over_both_nodes", || run(students_spread_over_both_nodes())),
        ("a_failing_container_is_named_with_its_log", || run(a_failing_container_is_named_with_its_log())),
        ("a_pod_the_cluster_refuses_fails_the_start_with_its_reason", || run(a_pod_the_cluster_refuses_fails_the_start_with_its_reason())),
    ];
    // Last and alone: it takes a node away.
    let after: Vec<Test> = vec![
        ("a_lost_node_shows_as_restarting_and_the_stack_comes_back_elsewhere", || run(a_lost_node_shows_as_restarting_and_the_stack_comes_back_elsewhere())),
    ];
    let wanted = tests.iter().chain(&after).any(|(name, _)| args.filter.as_deref().is_none_or(|f| if args.exact { *name == f } else { name.contains(f) }) && !args.skip.iter().any(|s| name.contains(s.as_str())));
    if wanted && !args.list {
        if let Some(reason) = support::kube::unavailable() {
            support::skip_or_fail("a Kubernetes cluster", &reason);
            return std::process::ExitCode::SUCCESS;
        }
        let docker = tokio::runtime::Runtime::new().expect("runtime").block_on(async {
            let engine = support::docker::engine_or_skip().await?;
            support::docker::busybox_image(&engine).await;
            support::dind::dind_image(&engine).await;
            Some(())
        });
        if docker.is_none() {
            return std::process::ExitCode::SUCCESS;
        }
        match TestCluster::up_with_nodes(&[support::docker::BUSYBOX, support::dind::DIND], 2) {
            Ok(c) => {
                eprintln!("kubernetes: cluster ready in {:.1} s", c.startup);
                let _ = CLUSTER.set(c);
            }
            Err(e) => panic!("{e}"),
        }
    }
    let trials = tests.into_iter().map(|(name, f)| Trial::test(name, f)).collect();
    let conclusion = libtest_mimic::run(&args, trials);
    let trials = after.into_iter().map(|(name, f)| Trial::test(name, f)).collect();
    let last = libtest_mimic::run(&args, trials);
    // Statics are never dropped: stop the cluster (undoing its host changes) and delete its
    // folder by hand.
    if let Some(c) = CLUSTER.get() {
        c.down();
    }
    if conclusion.has_failed() { conclusion.exit_code() } else { last.exit_code() }
}
