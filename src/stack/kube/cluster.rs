//! The small part of the Kubernetes API lab uses (kube-rs): connect from a kubeconfig,
//! apply a translated stack, scale it to zero and back, delete it, and read what runs —
//! pods in words for a student, node ports, logs, and the facts `lab doctor` reports.

use super::translate::{Manifests, PUBLISHED_SUFFIX};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Namespace, Node, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Api, DeleteParams, ListParams, LogParams, Patch, PatchParams, PostParams};
use kube::{Client, Config};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// The field manager lab applies as.
const MANAGER: &str = "lab";

/// What can go wrong talking to a cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No usable kubeconfig (or in-cluster config).
    #[error("cannot read the cluster's configuration: {0} (give --kubeconfig PATH, set KUBECONFIG, or write ~/.kube/config)")]
    Config(String),
    /// The API server refused or did not answer.
    #[error("the Kubernetes API answered: {0}")]
    Api(String),
    /// A wait ran out.
    #[error("{0}")]
    Timeout(String),
}

impl From<kube::Error> for ClusterError {
    fn from(e: kube::Error) -> Self {
        ClusterError::Api(match &e {
            kube::Error::Api(status) => format!("{} ({})", status.message, status.reason),
            other => other.to_string(),
        })
    }
}

/// A connection to one cluster.
#[derive(Clone)]
pub struct Cluster {
    client: Client,
}

/// What `lab doctor --engine kubernetes` reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClusterFacts {
    /// `v1.20.2`.
    pub version: String,
    /// (major, minor).
    pub release: (u32, u32),
    /// Whether the API server accepts a privileged pod (asked with a dry run).
    pub privileged: Result<(), String>,
    /// Nodes: name, ready, addresses, allocatable memory in bytes.
    pub nodes: Vec<NodeFacts>,
}

/// One node as the doctor and the capacity see it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NodeFacts {
    /// The node's name.
    pub name: String,
    /// Whether its Ready condition is true.
    pub ready: bool,
    /// Its addresses (type, address).
    pub addresses: Vec<(String, String)>,
    /// Allocatable memory in bytes.
    pub memory: Option<u64>,
}

/// Where a stack stands in the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackCondition {
    /// No namespace.
    Absent,
    /// Scaled to zero.
    Stopped,
    /// Every pod runs and is ready.
    Running,
    /// Meant to run, not (yet or again) ready: what the pods say, in words.
    NotReady(String),
}

impl Cluster {
    /// Connects with `kubeconfig`, or else `KUBECONFIG`, `~/.kube/config` or the in-cluster
    /// service account.
    pub async fn connect(kubeconfig: Option<&Path>) -> Result<Cluster, ClusterError> {
        let config = match kubeconfig {
            Some(path) => {
                let file = kube::config::Kubeconfig::read_from(path).map_err(|e| ClusterError::Config(format!("{}: {e}", path.display())))?;
                Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default()).await.map_err(|e| ClusterError::Config(format!("{}: {e}", path.display())))?
            }
            None => Config::infer().await.map_err(|e| ClusterError::Config(e.to_string()))?,
        };
        let mut config = config;
        // The cluster's audit log tells lab's requests from everyone else's.
        if let Ok(agent) = http::HeaderValue::from_str(&format!("lab/{}", env!("CARGO_PKG_VERSION"))) {
            config.headers.push((http::header::USER_AGENT, agent));
        }
        let client = Client::try_from(config).map_err(|e| ClusterError::Config(e.to_string()))?;
        Ok(Cluster { client })
    }

    /// The API server's version and the nodes, and whether privileged pods are allowed.
    pub async fn facts(&self) -> Result<ClusterFacts, ClusterError> {
        let info = self.client.apiserver_version().await?;
        let digits = |s: &str| s.chars().take_while(char::is_ascii_digit).collect::<String>().parse::<u32>().unwrap_or(0);
        let release = (digits(&info.major), digits(&info.minor));
        let nodes = self.nodes().await?;
        Ok(ClusterFacts { version: info.git_version, release, privileged: self.privileged_allowed().await, nodes })
    }

    /// The cluster's nodes.
    pub async fn nodes(&self) -> Result<Vec<NodeFacts>, ClusterError> {
        let nodes = Api::<Node>::all(self.client.clone()).list(&ListParams::default()).await?;
        Ok(nodes
            .items
            .into_iter()
            .map(|n| {
                let status = n.status.unwrap_or_default();
                NodeFacts {
                    name: n.metadata.name.unwrap_or_default(),
                    ready: status.conditions.iter().flatten().any(|c| c.type_ == "Ready" && c.status == "True"),
                    addresses: status.addresses.iter().flatten().map(|a| (a.type_.clone(), a.address.clone())).collect(),
                    memory: status.allocatable.as_ref().and_then(|a| a.get("memory")).and_then(|q| quantity_bytes(&q.0)),
                }
            })
            .collect())
    }

    /// The address students reach node ports on: the first ready node's external address,
    /// else its internal one.
    pub async fn node_address(&self) -> Result<String, ClusterError> {
        let nodes = self.nodes().await?;
        let pick = |kind: &str| nodes.iter().filter(|n| n.ready).flat_map(|n| &n.addresses).find(|(t, _)| t == kind).map(|(_, a)| a.clone());
        pick("ExternalIP").or_else(|| pick("InternalIP")).ok_or_else(|| ClusterError::Api("no ready node has an address".into()))
    }

    /// Asks the API server, without creating anything, whether it admits a privileged pod.
    async fn privileged_allowed(&self) -> Result<(), String> {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "lab-doctor-privileged"},
            "spec": {"containers": [{"name": "probe", "image": "lab-doctor/probe", "securityContext": {"privileged": true}}]}
        }))
        .map_err(|e| e.to_string())?;
        let api = Api::<Pod>::namespaced(self.client.clone(), "default");
        match api.create(&PostParams { dry_run: true, ..PostParams::default() }, &pod).await {
            Ok(_) => Ok(()),
            Err(e) => Err(ClusterError::from(e).to_string()),
        }
    }

    /// Creates or updates every object of `manifests` except the pods (server-side apply):
    /// the namespace, claims, Services and the ingress policy.
    pub async fn apply_base(&self, manifests: &Manifests) -> Result<(), ClusterError> {
        let ns = manifests.namespace.metadata.name.clone().unwrap_or_default();
        let params = PatchParams::apply(MANAGER).force();
        Api::<Namespace>::all(self.client.clone()).patch(&ns, &params, &Patch::Apply(&manifests.namespace)).await?;
        for claim in &manifests.claims {
            Api::<PersistentVolumeClaim>::namespaced(self.client.clone(), &ns).patch(&name_of(&claim.metadata), &params, &Patch::Apply(claim)).await?;
        }
        for service in manifests.services.iter().chain(&manifests.published) {
            Api::<Service>::namespaced(self.client.clone(), &ns).patch(&name_of(&service.metadata), &params, &Patch::Apply(service)).await?;
        }
        let policy = &manifests.network_policy;
        Api::<NetworkPolicy>::namespaced(self.client.clone(), &ns).patch(&name_of(&policy.metadata), &params, &Patch::Apply(policy)).await?;
        Ok(())
    }

    /// Creates or updates one pod's Deployment (one replica).
    pub async fn apply_deployment(&self, namespace: &str, deployment: &Deployment) -> Result<(), ClusterError> {
        let params = PatchParams::apply(MANAGER).force();
        Api::<Deployment>::namespaced(self.client.clone(), namespace).patch(&name_of(&deployment.metadata), &params, &Patch::Apply(deployment)).await?;
        Ok(())
    }

    /// Scales every Deployment of the namespace to `replicas` (0 stops the stack and keeps
    /// everything else).
    pub async fn scale(&self, namespace: &str, replicas: i32) -> Result<(), ClusterError> {
        let api = Api::<Deployment>::namespaced(self.client.clone(), namespace);
        let patch = serde_json::json!({"spec": {"replicas": replicas}});
        for deployment in api.list(&ListParams::default()).await?.items {
            api.patch(&name_of(&deployment.metadata), &PatchParams::default(), &Patch::Merge(&patch)).await?;
        }
        Ok(())
    }

    /// Deletes the namespace and waits until it is gone (with its volumes).
    pub async fn delete_namespace(&self, namespace: &str, timeout: Duration) -> Result<(), ClusterError> {
        let api = Api::<Namespace>::all(self.client.clone());
        match api.delete(namespace, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        let deadline = tokio::time::Instant::now() + timeout;
        while api.get_opt(namespace).await?.is_some() {
            if tokio::time::Instant::now() >= deadline {
                return Err(ClusterError::Timeout(format!("namespace {namespace} was still being deleted after {} s", timeout.as_secs())));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Ok(())
    }

    /// The namespace of `project`, found by its `lab.project` label (so a class restarted
    /// with another namespace prefix still finds its stacks).
    pub async fn namespace_of_project(&self, project: &str) -> Result<Option<String>, ClusterError> {
        if !super::names::is_label_value(project) {
            return Ok(None);
        }
        let selector = format!("{}={project}", crate::stack::plan::labels::PROJECT);
        let found = Api::<Namespace>::all(self.client.clone()).list(&ListParams::default().labels(&selector)).await?;
        Ok(found.items.into_iter().filter(|n| n.metadata.deletion_timestamp.is_none()).find_map(|n| n.metadata.name))
    }

    /// Whether the namespace exists (and is not being deleted).
    pub async fn namespace_exists(&self, namespace: &str) -> Result<bool, ClusterError> {
        let ns = Api::<Namespace>::all(self.client.clone()).get_opt(namespace).await?;
        Ok(ns.is_some_and(|n| n.metadata.deletion_timestamp.is_none()))
    }

    /// The pods of a namespace.
    pub async fn pods(&self, namespace: &str) -> Result<Vec<Pod>, ClusterError> {
        Ok(Api::<Pod>::namespaced(self.client.clone(), namespace).list(&ListParams::default()).await?.items)
    }

    /// The newest event about object `name` in `namespace`, as (reason, message): what the
    /// statuses do not say, such as an image being pulled or a pod the cluster refuses to
    /// create (`FailedCreate` on its ReplicaSet).
    pub async fn latest_event(&self, namespace: &str, name: &str) -> Result<Option<(String, String)>, ClusterError> {
        let api = Api::<Event>::namespaced(self.client.clone(), namespace);
        let events = api.list(&ListParams::default().fields(&format!("involvedObject.name={name}"))).await?.items;
        let when = |e: &Event| e.last_timestamp.as_ref().map(|t| t.0.to_string()).or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0.to_string())).unwrap_or_default();
        Ok(events.iter().max_by_key(|e| when(e)).map(|e| (e.reason.clone().unwrap_or_default(), e.message.clone().unwrap_or_default())))
    }

    /// Why the cluster refuses to create pod `pod`'s replicas, if it does. Only ReplicaSets
    /// that want a replica count: an old revision scaled to zero keeps its last event (events
    /// live about an hour) though it no longer tries anything.
    pub async fn refused_pod(&self, namespace: &str, pod: &str) -> Result<Option<String>, ClusterError> {
        let sets = Api::<ReplicaSet>::namespaced(self.client.clone(), namespace).list(&ListParams::default().labels(&format!("{}={pod}", super::translate::POD_LABEL))).await?.items;
        for set in sets.into_iter().filter(|s| s.spec.as_ref().and_then(|spec| spec.replicas).unwrap_or(1) > 0) {
            if let Some((reason, message)) = self.latest_event(namespace, &name_of(&set.metadata)).await?
                && reason == "FailedCreate"
            {
                return Ok(Some(message));
            }
        }
        Ok(None)
    }

    /// Where the stack in `namespace` stands.
    pub async fn condition(&self, namespace: &str) -> Result<StackCondition, ClusterError> {
        if !self.namespace_exists(namespace).await? {
            return Ok(StackCondition::Absent);
        }
        let deployments = Api::<Deployment>::namespaced(self.client.clone(), namespace).list(&ListParams::default()).await?.items;
        if deployments.is_empty() || deployments.iter().all(|d| d.spec.as_ref().and_then(|s| s.replicas) == Some(0)) {
            return Ok(StackCondition::Stopped);
        }
        let pods = self.pods(namespace).await?;
        let mut waiting = Vec::new();
        for d in &deployments {
            let pod = name_of(&d.metadata);
            match current_pod(&pods, &pod) {
                Some(p) if pod_ready(p) => {}
                Some(p) => waiting.push(describe_pod(&pod, p)),
                None => waiting.push(format!("{pod}: its pod is being created again")),
            }
        }
        Ok(if waiting.is_empty() { StackCondition::Running } else { StackCondition::NotReady(waiting.join("; ")) })
    }

    /// The node port of each (Service, port name).
    pub async fn node_ports(&self, namespace: &str, manifests: &Manifests) -> Result<BTreeMap<(String, String), u16>, ClusterError> {
        let api = Api::<Service>::namespaced(self.client.clone(), namespace);
        let mut out = BTreeMap::new();
        for service in &manifests.published {
            let name = name_of(&service.metadata);
            let live = api.get(&name).await?;
            for port in live.spec.and_then(|s| s.ports).unwrap_or_default() {
                if let (Some(port_name), Some(node_port)) = (port.name, port.node_port.and_then(|p| u16::try_from(p).ok())) {
                    out.insert((name.clone(), port_name), node_port);
                }
            }
        }
        Ok(out)
    }

    /// The last `lines` lines of each container's log in the namespace, by service.
    pub async fn logs(&self, namespace: &str, lines: usize) -> Result<Vec<(String, Vec<String>)>, ClusterError> {
        let api = Api::<Pod>::namespaced(self.client.clone(), namespace);
        let mut out = Vec::new();
        for pod in self.pods(namespace).await? {
            let name = name_of(&pod.metadata);
            for container in pod.spec.map(|s| s.containers).unwrap_or_default() {
                let params = LogParams { container: Some(container.name.clone()), tail_lines: Some(i64::try_from(lines).unwrap_or(i64::MAX)), ..LogParams::default() };
                let text = api.logs(&name, &params).await.unwrap_or_default();
                out.push((container.name, text.lines().map(str::to_owned).collect()));
            }
        }
        Ok(out)
    }

    /// The client, for watches.
    pub fn client(&self) -> Client {
        self.client.clone()
    }
}

fn name_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    meta.name.clone().unwrap_or_default()
}

/// The live pod of stack pod `name`: not being deleted, not ended (an evicted or failed
/// pod stays listed until it is cleaned up), a ready one first.
pub fn current_pod<'a>(pods: &'a [Pod], name: &str) -> Option<&'a Pod> {
    let mut live = pods.iter().filter(|p| pod_name_of(p) == name && p.metadata.deletion_timestamp.is_none() && !matches!(p.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Failed" | "Succeeded")));
    let first = live.next()?;
    Some(if pod_ready(first) { first } else { live.find(|p| pod_ready(p)).unwrap_or(first) })
}

/// The pod's name in the stack (its `lab.pod` label).
pub fn pod_name_of(pod: &Pod) -> String {
    pod.metadata.labels.as_ref().and_then(|l| l.get(super::translate::POD_LABEL)).cloned().unwrap_or_default()
}

/// The namespace's NodePort Service of pod `pod`.
pub fn published_service(pod: &str) -> String {
    format!("{pod}{PUBLISHED_SUFFIX}")
}

/// Whether every container of the pod runs and is ready.
pub fn pod_ready(pod: &Pod) -> bool {
    let status = pod.status.as_ref();
    status.and_then(|s| s.phase.as_deref()) == Some("Running") && status.and_then(|s| s.conditions.as_ref()).is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Which run of a ready pod this is: the pod and each container's start. It changes when a
/// container restarts, so a start can tell a pod that stays ready from one that keeps
/// stopping and starting again (a container without a readiness probe is ready the moment
/// it starts, even one that exits at once). `None` while the pod is not ready.
pub fn ready_run(pod: &Pod) -> Option<String> {
    if !pod_ready(pod) {
        return None;
    }
    let uid = pod.metadata.uid.clone().unwrap_or_else(|| pod.metadata.name.clone().unwrap_or_default());
    let starts = pod.status.as_ref().and_then(|s| s.container_statuses.as_ref()).into_iter().flatten().map(|c| {
        let started = c.state.as_ref().and_then(|s| s.running.as_ref()).and_then(|r| r.started_at.as_ref()).map(|t| t.0.to_string()).unwrap_or_default();
        format!("{}#{}@{started}", c.name, c.restart_count)
    });
    Some(std::iter::once(uid).chain(starts).collect::<Vec<_>>().join(" "))
}

/// What a pod is doing, in a student's words: scheduling, pulling, starting, waiting for
/// its health check, restarting.
pub fn describe_pod(name: &str, pod: &Pod) -> String {
    let Some(status) = pod.status.as_ref() else { return format!("{name}: waiting for the cluster") };
    if let Some(c) = status.conditions.iter().flatten().find(|c| c.type_ == "PodScheduled" && c.status != "True") {
        return format!("{name}: waiting for a node ({})", c.message.clone().unwrap_or_else(|| "scheduling".into()));
    }
    for c in status.container_statuses.iter().flatten() {
        if let Some(waiting) = c.state.as_ref().and_then(|s| s.waiting.as_ref()) {
            let reason = waiting.reason.clone().unwrap_or_default();
            return match reason.as_str() {
                "ContainerCreating" | "PodInitializing" => format!("{name}: creating {}", c.name),
                "ErrImagePull" | "ImagePullBackOff" | "ErrImageNeverPull" => format!("{name}: cannot get image {} for {} ({})", c.image, c.name, waiting.message.clone().unwrap_or(reason)),
                "CrashLoopBackOff" => format!("{name}: {} keeps stopping, restarting it ({} restarts)", c.name, c.restart_count),
                _ => format!("{name}: {} is waiting ({reason})", c.name),
            };
        }
        if c.state.as_ref().and_then(|s| s.running.as_ref()).is_some() && !c.ready {
            return format!("{name}: {} started, waiting until it is healthy", c.name);
        }
    }
    if status.container_statuses.is_none() {
        return format!("{name}: pulling images and creating containers");
    }
    format!("{name}: {}", status.phase.clone().unwrap_or_else(|| "starting".into()).to_lowercase())
}

/// A Kubernetes memory quantity (`16318712Ki`, `2Gi`, `2G`, `123`) in bytes.
pub fn quantity_bytes(text: &str) -> Option<u64> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let factor: u64 = match unit {
        "" => 1,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        _ => return None,
    };
    number.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_quantities() {
        assert_eq!(quantity_bytes("16318712Ki"), Some(16318712 * 1024));
        assert_eq!(quantity_bytes("2Gi"), Some(2 << 30));
        assert_eq!(quantity_bytes("2G"), Some(2_000_000_000));
        assert_eq!(quantity_bytes("512"), Some(512));
        assert_eq!(quantity_bytes("1.5Gi"), None);
    }

    #[test]
    fn a_restarted_container_is_a_new_ready_run() {
        let pod = |ready: bool, restarts: u32, started: &str| -> Pod {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "web-1", "uid": "u1"},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
                    "containerStatuses": [{"name": "web", "image": "x", "imageID": "", "ready": ready, "restartCount": restarts, "state": {"running": {"startedAt": started}}}]}
            }))
            .unwrap()
        };
        let first = ready_run(&pod(true, 0, "2026-12-07T07:00:00Z")).expect("ready");
        assert_eq!(ready_run(&pod(true, 0, "2026-12-07T07:00:00Z")), Some(first.clone()));
        assert_ne!(ready_run(&pod(true, 1, "2026-12-07T07:00:02Z")), Some(first));
        assert_eq!(ready_run(&pod(false, 0, "2026-12-07T07:00:00Z")), None);
    }

    #[test]
    fn pods_are_described_in_words() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-1", "labels": {"lab.pod": "web"}},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "message": "0/1 nodes are available: 1 Insufficient memory."}]}
        }))
        .unwrap();
        assert_eq!(describe_pod("web", &pod), "web: waiting for a node (0/1 nodes are available: 1 Insufficient memory.)");
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-1"},
            "status": {"phase": "Running", "containerStatuses": [{"name": "web", "image": "x", "imageID": "", "ready": false, "restartCount": 0, "state": {"running": {}}}]}
        }))
        .unwrap();
        assert_eq!(describe_pod("web", &pod), "web: web started, waiting until it is healthy");
        assert!(!pod_ready(&pod));
        let waiting = |reason: &str, message: &str| -> Pod {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "web-1"},
                "status": {"phase": "Pending", "containerStatuses": [{"name": "web", "image": "example/web:1", "imageID": "", "ready": false, "restartCount": 4, "state": {"waiting": {"reason": reason, "message": message}}}]}
            }))
            .unwrap()
        };
        assert_eq!(describe_pod("web", &waiting("ErrImagePull", "not found")), "web: cannot get image example/web:1 for web (not found)");
        assert_eq!(describe_pod("web", &waiting("CrashLoopBackOff", "")), "web: web keeps stopping, restarting it (4 restarts)");
        assert_eq!(describe_pod("web", &waiting("ContainerCreating", "")), "web: creating web");
    }

    #[test]
    fn ended_pods_are_not_the_current_one() {
        let pod = |name: &str, phase: &str, ready: &str| -> Pod {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": name, "labels": {"lab.pod": "web"}},
                "status": {"phase": phase, "conditions": [{"type": "Ready", "status": ready}]}
            }))
            .unwrap()
        };
        let pods = [pod("evicted", "Failed", "False"), pod("starting", "Running", "False"), pod("ready", "Running", "True")];
        assert_eq!(current_pod(&pods, "web").and_then(|p| p.metadata.name.as_deref()), Some("ready"), "a ready one first");
        assert_eq!(current_pod(&pods[..2], "web").and_then(|p| p.metadata.name.as_deref()), Some("starting"), "never the evicted one");
        assert!(current_pod(&pods[..1], "web").is_none());
    }
}
