//! Students' stacks on a Kubernetes cluster, behind the same [`Provisioner`] interface as
//! Docker: each student's stack is a namespace (labelled with the class and the student)
//! holding the lab's `stack.yml` translated by [`crate::stack::kube`]. Start applies it pod
//! by pod in dependency order and reports what the pods do; stop scales to zero and keeps
//! the namespace; remove deletes it. One watch on the cluster's lab pods (not polling)
//! tells the classroom when a running stack loses a pod and when it is back.

use super::provision::{Endpoints, Observed, ProvisionError, Provisioner, ServiceLog, StackRequest, StageSink, deploy_site, plan_stack};
use crate::course::ContentSource;
use crate::stack::file::Condition;
use crate::stack::kube::cluster::{StackCondition, current_pod, describe_pod, ready_run};
use crate::stack::kube::{Cluster, KubeOptions, Manifests, names, translate};
use futures_util::future::BoxFuture;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use tokio::sync::broadcast;

/// How a class runs on Kubernetes (`lab serve --engine kubernetes`).
#[derive(Debug, Clone, Default)]
pub struct KubernetesSettings {
    /// Prefix of every student's namespace.
    pub namespace_prefix: String,
    /// The address students and the server reach node ports on (default: a node's).
    pub node_address: Option<String>,
    /// Named volumes become claims of this storage class (default: emptyDir).
    pub storage_class: Option<String>,
}

/// Stacks on a Kubernetes cluster, from a lab's `stack.yml`.
pub struct KubernetesProvisioner {
    cluster: Cluster,
    content: ContentSource,
    lab: String,
    env: HashMap<String, String>,
    settings: KubernetesSettings,
    node_address: String,
    named_ports: Vec<String>,
    memory: Option<u64>,
    changes: broadcast::Sender<String>,
    /// The pod watch, ended with the provisioner.
    watch: Option<tokio::task::AbortHandle>,
    /// How long a start may wait for every pod to be ready.
    pub ready_timeout: Duration,
    /// How long to wait for Marathon before giving up on deploying the site.
    pub marathon_timeout: Duration,
    /// How long the cluster may go on refusing to create a pod (a quota, an admission rule)
    /// before the start fails with its reason: such refusals rarely pass by themselves, and
    /// the grace covers a webhook or quota that answers late.
    pub refused_grace: Duration,
    /// How long a pod must stay ready, without a container restarting, before a start counts
    /// it as healthy: a container with no readiness probe is ready as soon as it starts, also
    /// one that stops a moment later (Kubernetes calls this `minReadySeconds`).
    pub min_ready: Duration,
}

/// When this start first saw each ready run of a pod ([`ready_run`]).
type ReadySince = HashMap<String, tokio::time::Instant>;

impl KubernetesProvisioner {
    /// A provisioner for `lab`'s stack on `cluster`. Reads the stack file once to learn its
    /// ports and memory, and refuses, at their lines, the parts with no translation.
    pub async fn new(cluster: Cluster, content: ContentSource, lab: &str, settings: KubernetesSettings) -> Result<KubernetesProvisioner, String> {
        let node_address = match &settings.node_address {
            Some(address) => address.clone(),
            None => cluster.node_address().await.map_err(|e| e.to_string())?,
        };
        let env = std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))).collect();
        let (changes, _) = broadcast::channel(256);
        let mut this = KubernetesProvisioner {
            cluster,
            content,
            lab: lab.to_owned(),
            env,
            settings,
            node_address,
            named_ports: Vec::new(),
            memory: None,
            changes,
            watch: None,
            ready_timeout: Duration::from_secs(600),
            marathon_timeout: Duration::from_secs(300),
            refused_grace: Duration::from_secs(30),
            min_ready: Duration::from_secs(3),
        };
        let probe = StackRequest { class: "probe".into(), student: "probe".into(), project: "lab-probe".into(), port_base: 20000, public_host: "localhost".into(), workspace: std::env::temp_dir() };
        let (plan, _) = plan_stack(&this.content, &this.lab, &this.env, &probe, &this.node_address).map_err(|e| e.message)?;
        translate(&plan, &this.options(&probe, this.namespace(&probe.project))).map_err(|e| e.to_string())?;
        this.named_ports = plan.ports.iter().map(|(name, _)| name.clone()).collect();
        this.memory = plan.memory;
        this.spawn_watch();
        Ok(this)
    }

    /// The address node ports are reached on.
    pub fn node_address(&self) -> &str {
        &self.node_address
    }

    /// The namespace a new stack of `project` gets.
    pub fn namespace(&self, project: &str) -> String {
        names::namespace_for(&self.settings.namespace_prefix, project)
    }

    /// The namespace `project`'s stack is in: found by its label, else the one it would get.
    async fn namespace_of(&self, project: &str) -> String {
        match self.cluster.namespace_of_project(project).await {
            Ok(Some(found)) => found,
            _ => self.namespace(project),
        }
    }

    fn options(&self, request: &StackRequest, namespace: String) -> KubeOptions {
        let mut labels = BTreeMap::new();
        if names::is_label_value(&request.class) {
            labels.insert(crate::stack::kube::translate::CLASS_LABEL.to_owned(), request.class.clone());
        }
        KubeOptions { namespace, storage_class: self.settings.storage_class.clone(), namespace_labels: labels }
    }

    fn translated(&self, request: &StackRequest, namespace: String) -> Result<(crate::stack::Plan, Manifests, crate::course::Files), ProvisionError> {
        let (plan, files) = plan_stack(&self.content, &self.lab, &self.env, request, &self.node_address)?;
        let manifests = translate(&plan, &self.options(request, namespace)).map_err(|e| ProvisionError::plain(e.to_string(), "tell the instructor: the lab's stack file cannot run on Kubernetes"))?;
        Ok((plan, manifests, files))
    }

    /// One watch on every lab pod of the cluster; each change names its project.
    fn spawn_watch(&mut self) {
        use futures_util::StreamExt;
        use kube::runtime::{WatchStreamExt, watcher};
        let api = kube::Api::<k8s_openapi::api::core::v1::Pod>::all(self.cluster.client());
        let changes = self.changes.clone();
        let task = tokio::spawn(async move {
            let config = watcher::Config::default().labels(crate::stack::plan::labels::PROJECT);
            // Errors (an API server restarting, a missing permission) back off, not spin.
        let mut stream = watcher(api, config).default_backoff().boxed();
            while let Some(event) = stream.next().await {
                let pods = match event {
                    Ok(watcher::Event::Apply(pod) | watcher::Event::Delete(pod) | watcher::Event::InitApply(pod)) => vec![pod],
                    Ok(_) => Vec::new(),
                    Err(e) => {
                        tracing::debug!("pod watch: {e}");
                        Vec::new()
                    }
                };
                for pod in pods {
                    if let Some(project) = pod.metadata.labels.as_ref().and_then(|l| l.get(crate::stack::plan::labels::PROJECT)) {
                        let _ = changes.send(project.clone());
                    }
                }
            }
        });
        self.watch = Some(task.abort_handle());
    }

    /// Where the running stack is reached: named ports and endpoints moved from the planned
    /// port block to the node ports the cluster assigned.
    async fn endpoints(&self, plan: &crate::stack::Plan, manifests: &Manifests) -> Result<Endpoints, ProvisionError> {
        let namespace = manifests.namespace.metadata.name.clone().unwrap_or_default();
        let node_ports = self.cluster.node_ports(&namespace, manifests).await.map_err(|e| ProvisionError::plain(e.to_string(), "the cluster does not answer; tell the instructor"))?;
        let mut endpoints = Endpoints { host: Some(self.node_address.clone()), ..Endpoints::default() };
        let mut moves = Vec::new();
        for named in &manifests.named_ports {
            if let Some(port) = node_ports.get(&(named.service.clone(), named.port_name.clone())) {
                endpoints.named_ports.insert(named.name.clone(), *port);
                endpoints.ports.insert(named.container_port, *port);
                moves.push((format!("{}:{}", self.node_address, named.planned), format!("{}:{port}", self.node_address)));
            }
        }
        let moved = |url: &str| moves.iter().find(|(from, _)| url.contains(&format!("//{from}"))).map_or_else(|| url.to_owned(), |(from, to)| url.replacen(from, to, 1));
        endpoints.endpoints = plan.endpoints.iter().map(|(k, v)| (k.clone(), moved(v))).collect();
        endpoints.links = plan.links.iter().map(|(k, v)| (k.clone(), moved(v))).collect();
        Ok(endpoints)
    }

    /// Waits until pod `pod` meets `condition`, reporting what it does; healthy means ready
    /// for [`Self::min_ready`] (`ready_since` carries what this start saw across its waits, so
    /// pods ready together count together). Fails at `deadline`, or once the cluster has
    /// refused to create the pod for [`Self::refused_grace`].
    async fn wait_for_pod(&self, namespace: &str, pod: &str, condition: Condition, deadline: tokio::time::Instant, ready_since: &mut ReadySince, sink: &dyn StageSink) -> Result<(), ProvisionError> {
        let mut refused_since: Option<tokio::time::Instant> = None;
        loop {
            let pods = self.cluster.pods(namespace).await.map_err(|e| ProvisionError::plain(e.to_string(), "the cluster does not answer; Start again"))?;
            let now = tokio::time::Instant::now();
            for run in pods.iter().filter_map(ready_run) {
                ready_since.entry(run).or_insert(now);
            }
            let found = current_pod(&pods, pod);
            let ready_for = found.and_then(ready_run).and_then(|run| ready_since.get(&run)).map(|since| now.duration_since(*since));
            let met = found.is_some_and(|p| match condition {
                Condition::ServiceHealthy => ready_for.is_some_and(|d| d >= self.min_ready),
                Condition::ServiceStarted => p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"),
            });
            if met {
                return Ok(());
            }
            let (text, refused) = match ready_for {
                Some(_) => (format!("{pod}: ready, making sure it stays up"), None),
                None => self.stage_of(namespace, pod, found).await,
            };
            match (refused, refused_since) {
                (None, _) => refused_since = None,
                (Some(_), None) => refused_since = Some(now),
                (Some(why), Some(since)) if now.duration_since(since) >= self.refused_grace => {
                    return Err(ProvisionError::plain(
                        format!("the cluster refuses to create pod {pod}: {why}"),
                        format!("a quota or an admission rule of the cluster stops it; tell the instructor (kubectl -n {namespace} describe replicasets)"),
                    ));
                }
                (Some(_), Some(_)) => {}
            }
            if now >= deadline {
                let service = found.and_then(failing_container).unwrap_or_else(|| pod.to_owned());
                let log_tail = self.log_tail(namespace, &service).await;
                return Err(ProvisionError {
                    message: format!("not ready after {} s: {text}", self.ready_timeout.as_secs()),
                    service: Some(service.clone()),
                    log_tail,
                    hint: format!("its log below says why; Start again retries, and Reset starts {service} from scratch"),
                });
            }
            sink.stage(text, None);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// What pod `pod` does, in words: from its status, and from its events where the status
    /// says too little (an image being pulled, a pod the cluster refuses to create); with the
    /// cluster's reason when it refuses to create the pod.
    async fn stage_of(&self, namespace: &str, pod: &str, found: Option<&k8s_openapi::api::core::v1::Pod>) -> (String, Option<String>) {
        let Some(found) = found else {
            return match self.cluster.refused_pod(namespace, pod).await {
                Ok(Some(why)) => (format!("{pod}: the cluster refuses to create it: {why}"), Some(why)),
                _ => (format!("{pod}: waiting for the cluster to create it"), None),
            };
        };
        let text = describe_pod(pod, found);
        if text.starts_with(&format!("{pod}: creating ")) || text.ends_with("pulling images and creating containers") {
            let name = found.metadata.name.clone().unwrap_or_default();
            if let Ok(Some((reason, message))) = self.cluster.latest_event(namespace, &name).await
                && reason == "Pulling"
            {
                return (format!("{pod}: {}", message.replacen("Pulling image", "pulling image", 1)), None);
            }
        }
        (text, None)
    }

    async fn log_tail(&self, namespace: &str, service: &str) -> Vec<String> {
        let logs = self.cluster.logs(namespace, 20).await.unwrap_or_default();
        logs.into_iter().find(|(s, _)| s == service).map(|(_, lines)| lines).unwrap_or_default()
    }

    async fn start_inner(&self, request: &StackRequest, sink: &dyn StageSink) -> Result<Endpoints, ProvisionError> {
        let namespace = self.namespace_of(&request.project).await;
        let (plan, manifests, files) = self.translated(request, namespace.clone())?;
        std::fs::create_dir_all(&request.workspace).map_err(|e| ProvisionError::plain(format!("cannot create the workspace: {e}"), "tell the instructor: the server's disk may be full"))?;
        sink.stage(format!("creating namespace {namespace}"), None);
        let api_error = |e: crate::stack::kube::ClusterError| ProvisionError::plain(e.to_string(), "Start again; if it fails the same way, tell the instructor");
        self.cluster.apply_base(&manifests).await.map_err(api_error)?;
        let deadline = tokio::time::Instant::now() + self.ready_timeout;
        let mut ready_since = ReadySince::new();
        for (i, pod) in manifests.pods.iter().enumerate() {
            for (dependency, condition) in &pod.waits_for {
                self.wait_for_pod(&namespace, dependency, *condition, deadline, &mut ready_since, sink).await?;
            }
            sink.stage(format!("starting pod {} ({} of {})", pod.name, i + 1, manifests.pods.len()), Some((i as u64, manifests.pods.len() as u64)));
            self.cluster.apply_deployment(&namespace, &pod.deployment).await.map_err(api_error)?;
        }
        for pod in &manifests.pods {
            self.wait_for_pod(&namespace, &pod.name, Condition::ServiceHealthy, deadline, &mut ready_since, sink).await?;
        }
        sink.stage("copying the lab's site into your workspace".into(), None);
        crate::marathon::workspace::install_site(&files, &self.lab, &request.workspace).map_err(|e| ProvisionError::plain(format!("cannot copy the lab's site: {e}"), "tell the instructor: the server's disk may be full"))?;
        let endpoints = self.endpoints(&plan, &manifests).await?;
        if let Some(url) = endpoints.endpoints.get("marathon") {
            deploy_site(url, &crate::marathon::workspace::site_dir(&request.workspace), self.marathon_timeout, sink).await?;
        }
        Ok(endpoints)
    }

    async fn observe_inner(&self, request: &StackRequest) -> Result<Observed, ProvisionError> {
        let namespace = self.namespace_of(&request.project).await;
        let condition = self.cluster.condition(&namespace).await.map_err(|e| ProvisionError::plain(e.to_string(), "the cluster does not answer; tell the instructor"))?;
        Ok(match condition {
            StackCondition::Absent => Observed::Absent,
            StackCondition::Stopped => Observed::Stopped,
            StackCondition::NotReady(what) => Observed::Restarting(what),
            StackCondition::Running => {
                let (plan, manifests, _) = self.translated(request, namespace)?;
                Observed::Running(self.endpoints(&plan, &manifests).await?)
            }
        })
    }
}

impl Drop for KubernetesProvisioner {
    fn drop(&mut self) {
        if let Some(watch) = self.watch.take() {
            watch.abort();
        }
    }
}

/// The container of `pod` that is not ready (the first one).
fn failing_container(pod: &k8s_openapi::api::core::v1::Pod) -> Option<String> {
    pod.status.as_ref()?.container_statuses.as_ref()?.iter().find(|c| !c.ready).map(|c| c.name.clone())
}

impl Provisioner for KubernetesProvisioner {
    fn start<'a>(&'a self, request: &'a StackRequest, sink: &'a dyn StageSink) -> BoxFuture<'a, Result<Endpoints, ProvisionError>> {
        Box::pin(async move {
            let started = self.start_inner(request, sink).await;
            if started.is_err() {
                // A stack that did not start holds no memory on the cluster (its pods would
                // keep restarting); the failure already has the log lines to show.
                let namespace = self.namespace_of(&request.project).await;
                if let Err(e) = self.cluster.scale(&namespace, 0).await {
                    tracing::debug!("scaling {namespace} to zero after a failed start: {e}");
                }
            }
            started
        })
    }

    fn stop<'a>(&'a self, project: &'a str) -> BoxFuture<'a, Result<(), ProvisionError>> {
        Box::pin(async move { self.cluster.scale(&self.namespace_of(project).await, 0).await.map_err(|e| ProvisionError::plain(e.to_string(), "try again")) })
    }

    fn remove<'a>(&'a self, project: &'a str) -> BoxFuture<'a, Result<(), ProvisionError>> {
        Box::pin(async move { self.cluster.delete_namespace(&self.namespace_of(project).await, Duration::from_secs(300)).await.map_err(|e| ProvisionError::plain(e.to_string(), "try again")) })
    }

    fn observe<'a>(&'a self, request: &'a StackRequest) -> BoxFuture<'a, Result<Observed, ProvisionError>> {
        Box::pin(self.observe_inner(request))
    }

    fn ports_per_stack(&self) -> u16 {
        u16::try_from(self.named_ports.len()).unwrap_or(u16::MAX).max(1)
    }

    fn port_names(&self) -> Vec<String> {
        self.named_ports.clone()
    }

    fn memory_per_stack(&self) -> Option<u64> {
        self.memory
    }

    fn logs<'a>(&'a self, project: &'a str, lines: usize) -> BoxFuture<'a, Result<Vec<ServiceLog>, ProvisionError>> {
        Box::pin(async move {
            let logs = self.cluster.logs(&self.namespace_of(project).await, lines).await.map_err(|e| ProvisionError::plain(e.to_string(), "is the cluster reachable?"))?;
            Ok(logs.into_iter().map(|(service, lines)| ServiceLog { service, lines }).collect())
        })
    }

    fn ports_known_before_start(&self) -> bool {
        false
    }

    fn changes(&self) -> Option<broadcast::Receiver<String>> {
        Some(self.changes.subscribe())
    }

    fn capacity<'a>(&'a self) -> BoxFuture<'a, Option<u64>> {
        Box::pin(async move {
            let nodes = self.cluster.nodes().await.ok()?;
            Some(nodes.iter().filter(|n| n.ready).filter_map(|n| n.memory).sum())
        })
    }
}
