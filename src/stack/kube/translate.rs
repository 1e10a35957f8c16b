//! A stack plan translated into Kubernetes objects, for one student's namespace. Nothing
//! here talks to a cluster, so every rule is unit-tested and `lab up --engine kubernetes
//! --dry-run` shows exactly what would be applied.
//!
//! The mapping: services that share a network namespace (`network_mode: service:x`) are
//! the containers of one pod, as they share one in Docker; every other service is a pod of
//! its own. Each pod is a Deployment of one replica (so a deleted pod or a lost node brings
//! it back), each service name is a Service (so the names in the file still resolve with
//! the cluster's DNS), and the published ports of a pod are one NodePort Service. A
//! NetworkPolicy lets other namespaces reach only those published ports. What has no
//! faithful translation is refused at its line in the stack file, never dropped.

use super::names::{is_dns_label, port_name};
use super::objects::{claim, meta, name_service, namespace, network_policy, project_labels};
use super::pod::PodBuilder;
use crate::course::ContentError;
use crate::stack::file::{Condition, StackFileError};
use crate::stack::plan::{Plan, ServicePlan};
use bollard::models::RestartPolicyNameEnum;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim, ResourceRequirements, Service, ServicePort, ServiceSpec};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::{BTreeMap, BTreeSet};

/// Label on every pod naming the pod (its first service), which Services select.
pub const POD_LABEL: &str = "lab.pod";
/// Label on the namespace naming the class whose student it belongs to.
pub const CLASS_LABEL: &str = "lab.class";
/// Suffix of the NodePort Service of a pod's published ports.
pub const PUBLISHED_SUFFIX: &str = "-published";
/// The namespace label that lets its pods be privileged where a cluster enforces the
/// baseline Pod Security level; set only for a stack that needs it.
pub const POD_SECURITY_LABEL: &str = "pod-security.kubernetes.io/enforce";
/// Name of the NetworkPolicy that keeps other namespaces' pods off unpublished ports.
pub const NETWORK_POLICY: &str = "lab-ingress";

/// Where the translation goes.
#[derive(Debug, Clone, Default)]
pub struct KubeOptions {
    /// The student's namespace.
    pub namespace: String,
    /// Named volumes become claims of this storage class; without one, `emptyDir`.
    pub storage_class: Option<String>,
    /// Labels for the namespace besides the project's own (the class, for a classroom).
    pub namespace_labels: BTreeMap<String, String>,
}

/// Everything to create in the cluster for one stack.
#[derive(Debug, Clone)]
pub struct Manifests {
    /// The student's namespace.
    pub namespace: Namespace,
    /// Claims for named volumes (with a storage class).
    pub claims: Vec<PersistentVolumeClaim>,
    /// One Service per service name.
    pub services: Vec<Service>,
    /// The NodePort Services of published ports.
    pub published: Vec<Service>,
    /// Who may reach the pods: the namespace's own pods on every port, anyone on the
    /// published ones (where the cluster's network plugin enforces policies).
    pub network_policy: NetworkPolicy,
    /// The pods, in an order that starts each after the pods it depends on.
    pub pods: Vec<PodPlan>,
    /// Named ports (`x-lab.ports`): where each is published.
    pub named_ports: Vec<NamedPort>,
}

/// One pod: the services that share a network namespace.
#[derive(Debug, Clone)]
pub struct PodPlan {
    /// The pod's name: its first service.
    pub name: String,
    /// The services it runs, the first one first.
    pub services: Vec<String>,
    /// Other pods to wait for before creating this one, and how.
    pub waits_for: Vec<(String, Condition)>,
    /// The Deployment that keeps it running.
    pub deployment: Deployment,
}

/// A named port of the stack and where the cluster publishes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedPort {
    /// Name in `x-lab.ports`.
    pub name: String,
    /// The port the plan gave it (the Docker host port; placeholders are filled with it).
    pub planned: u16,
    /// The NodePort Service that publishes it.
    pub service: String,
    /// The port's name in that Service.
    pub port_name: String,
    /// The container port behind it.
    pub container_port: u16,
}

impl Manifests {
    /// Every object as YAML documents, in the order they are applied.
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        let mut push = |doc: Result<String, serde_saphyr::ser::Error>| {
            out.push_str("---\n");
            out.push_str(&doc.unwrap_or_else(|e| format!("# cannot be shown: {e}\n")));
        };
        push(serde_saphyr::to_string(&self.namespace));
        self.claims.iter().for_each(|c| push(serde_saphyr::to_string(c)));
        self.services.iter().chain(&self.published).for_each(|s| push(serde_saphyr::to_string(s)));
        push(serde_saphyr::to_string(&self.network_policy));
        self.pods.iter().for_each(|p| push(serde_saphyr::to_string(&p.deployment)));
        out
    }
}

/// Refusals of one service, at the key they are about.
pub(super) struct Refusals<'a> {
    service: &'a ServicePlan,
    problems: &'a mut Vec<ContentError>,
}

impl Refusals<'_> {
    pub(super) fn refuse(&mut self, key: &str, message: impl AsRef<str>, fix: &str) {
        let origin = &self.service.origin;
        let written = origin.keys.iter().find(|(k, _)| k == key).map(|(_, w)| w).or(origin.name.as_ref());
        let text = format!("service `{}`: {} (Kubernetes)", self.service.name, message.as_ref());
        let mut error = ContentError::file(&origin.file, text).with_fix(fix);
        if let Some(w) = written {
            error.position = Some((w.line, w.column));
            error.source_line = Some(w.quoted.clone());
        }
        self.problems.push(error);
    }
}

/// Translates `plan` for Kubernetes, or lists every part of it that has no translation.
pub fn translate(plan: &Plan, options: &KubeOptions) -> Result<Manifests, StackFileError> {
    let mut problems = Vec::new();
    let root_of = |name: &str| -> String {
        let mut current = name;
        // A chain of `service:` modes ends at a service with its own namespace; the plan
        // has no cycles, but stay bounded anyway.
        for _ in 0..plan.services.len() {
            match plan.services.iter().find(|s| s.name == current).and_then(|s| s.network_parent.as_deref()) {
                Some(parent) => current = parent,
                None => break,
            }
        }
        current.to_owned()
    };
    let mut groups: Vec<(String, Vec<&ServicePlan>)> = Vec::new();
    for service in &plan.services {
        let root = root_of(&service.name);
        match groups.iter_mut().find(|(r, _)| *r == root) {
            Some((_, members)) => members.push(service),
            None => groups.push((root, vec![service])),
        }
    }
    // The pod's first service first: the others join its namespace.
    for (root, members) in &mut groups {
        members.sort_by_key(|s| s.name != *root);
    }

    let project_labels = project_labels(plan);
    // Each named volume: its key in the file, and the pods that mount it, in the order
    // they are first met.
    let mut named: Vec<(String, String, BTreeSet<String>)> = Vec::new();
    // The first pod to mount each volume (by its key in the file).
    let mut volume_users: BTreeMap<String, String> = BTreeMap::new();
    // Container ports that are published, which anyone may reach.
    let mut open_ports: Vec<(i32, String)> = Vec::new();
    let mut services = Vec::new();
    let mut published = Vec::new();
    let mut named_ports = Vec::new();
    let mut pods = Vec::new();
    for (root, members) in &groups {
        let mut pod = PodBuilder::default();
        for service in members {
            let mut refusals = Refusals { service, problems: &mut problems };
            check_names(service, &mut refusals);
            let container = pod.container(service, root, plan, options, &mut refusals);
            for (volume, key) in &container.named_volumes {
                // Volume names keep letters and digits only, so `my_data` and `my-data` are
                // one name; in one pod (or, with claims, in the namespace) that merges them.
                let merged = named.iter().find(|(n, k, pods)| n == volume && k != key && (pods.contains(root) || options.storage_class.is_some()));
                if let Some((_, other, _)) = merged {
                    refusals.refuse(
                        "volumes",
                        format!("volumes `{other}` and `{key}` would both be the Kubernetes volume `{volume}`"),
                        "rename one of them so their names differ in letters or digits (`_`, `-` and case are lost, and names are cut at 63 characters)",
                    );
                }
                match named.iter_mut().find(|(n, k, _)| n == volume && k == key) {
                    Some((_, _, pods)) => {
                        pods.insert(root.clone());
                    }
                    None => named.push((volume.clone(), key.clone(), BTreeSet::from([root.clone()]))),
                }
                match volume_users.get(key) {
                    Some(other) if other != root && options.storage_class.is_none() => refusals.refuse(
                        "volumes",
                        format!("volume `{key}` is also used by pod `{other}`; without a storage class a volume lives inside one pod"),
                        "run the services that share it in one pod (`network_mode: service:…`), or start lab with a storage class",
                    ),
                    _ => {
                        volume_users.insert(key.clone(), root.clone());
                    }
                }
            }
            pod.add(container);
        }
        let pod_labels = BTreeMap::from([(POD_LABEL.to_owned(), root.clone())]);
        for service in members {
            services.push(name_service(&service.name, &pod_labels, &pod.ports_of(&service.name), &options.namespace, &project_labels));
        }
        let ports: Vec<_> = members.iter().flat_map(|s| s.published.iter()).collect();
        if !ports.is_empty() {
            let service_name = format!("{root}{PUBLISHED_SUFFIX}");
            if is_dns_label(root) && !is_dns_label(&service_name) {
                Refusals { service: members[0], problems: &mut problems }.refuse(
                    "",
                    format!("the NodePort Service of its published ports would be `{service_name}`, longer than the 63 characters Kubernetes allows"),
                    &format!("shorten the service name to at most {} characters", 63 - PUBLISHED_SUFFIX.len()),
                );
            }
            if let Some(taken) = plan.services.iter().find(|s| s.name == service_name) {
                Refusals { service: taken, problems: &mut problems }.refuse("", format!("the name is taken by the NodePort Service of pod `{root}`"), "rename the service");
            }
            let mut service_ports: Vec<ServicePort> = Vec::new();
            for p in &ports {
                let name = port_name(&p.protocol, p.container_port);
                // One Service port per container port; every host port published on it still names it.
                let open = (i32::from(p.container_port), p.protocol.to_uppercase());
                if !open_ports.contains(&open) {
                    open_ports.push(open);
                }
                if !service_ports.iter().any(|s| s.name.as_deref() == Some(name.as_str())) {
                    service_ports.push(ServicePort {
                        name: Some(name.clone()),
                        port: i32::from(p.container_port),
                        target_port: Some(IntOrString::Int(i32::from(p.container_port))),
                        protocol: Some(p.protocol.to_uppercase()),
                        ..ServicePort::default()
                    });
                }
                for (named, planned) in &plan.ports {
                    if p.host_port == Some(*planned) && !named_ports.iter().any(|n: &NamedPort| n.name == *named) {
                        named_ports.push(NamedPort { name: named.clone(), planned: *planned, service: service_name.clone(), port_name: name.clone(), container_port: p.container_port });
                    }
                }
            }
            published.push(Service {
                metadata: meta(&service_name, &options.namespace, &project_labels),
                spec: Some(ServiceSpec { type_: Some("NodePort".into()), selector: Some(pod_labels.clone()), ports: Some(service_ports), ..ServiceSpec::default() }),
                ..Service::default()
            });
        }
        let waits_for = waits_for(members, root, &root_of, &mut problems);
        pods.push(PodPlan { name: root.clone(), services: members.iter().map(|s| s.name.clone()).collect(), waits_for, deployment: pod.deployment(root, options, &project_labels, pod_labels) });
    }
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.position);
        problems.dedup();
        return Err(StackFileError { problems });
    }
    // With a storage class, two keys of one name were refused above: one claim per name.
    let claims = match &options.storage_class {
        Some(class) => named.iter().map(|(volume, key, users)| claim(volume, key, class, users.len() > 1, &options.namespace, &project_labels)).collect(),
        None => Vec::new(),
    };
    let mut pods = start_order(pods);
    request_memory(&mut pods, plan.memory);
    let network_policy = network_policy(&open_ports, &options.namespace, &project_labels);
    Ok(Manifests { namespace: namespace(plan, options, &project_labels), claims, services, published, network_policy, pods, named_ports })
}

/// `x-lab.memory`, what the whole stack needs, as the memory request of the first
/// container of the pod that starts first (the stack's main pod), so the scheduler puts it
/// on a node with that much room. The other pods request nothing, as Docker reserves
/// nothing. A request above the container's `mem_limit` is invalid, so it stops there.
fn request_memory(pods: &mut [PodPlan], memory: Option<u64>) {
    let Some(memory) = memory.filter(|m| *m > 0) else { return };
    let Some(container) = pods.first_mut().and_then(|p| p.deployment.spec.as_mut()).and_then(|s| s.template.spec.as_mut()).and_then(|s| s.containers.first_mut()) else { return };
    let resources = container.resources.get_or_insert_with(ResourceRequirements::default);
    let limit = resources.limits.as_ref().and_then(|l| l.get("memory")).and_then(|q| q.0.parse::<u64>().ok());
    let request = limit.map_or(memory, |l| l.min(memory));
    resources.requests.get_or_insert_with(BTreeMap::new).insert("memory".to_owned(), Quantity(request.to_string()));
}

/// A service's name must be able to name its Service.
fn check_names(service: &ServicePlan, refusals: &mut Refusals<'_>) {
    if !is_dns_label(&service.name) {
        refusals.refuse("", format!("the name `{}` cannot name a Kubernetes Service", service.name), "use lower-case letters, digits and `-`, starting with a letter, at most 63 characters");
    }
}

/// The pods this pod waits for, from its services' `depends_on`. Inside one pod the
/// containers start together, which only matches Compose when the waiting service retries.
fn waits_for(members: &[&ServicePlan], root: &str, root_of: &dyn Fn(&str) -> String, problems: &mut Vec<ContentError>) -> Vec<(String, Condition)> {
    let mut waits: Vec<(String, Condition)> = Vec::new();
    for service in members {
        let retries = service.create.host_config.as_ref().and_then(|h| h.restart_policy.as_ref()).and_then(|r| r.name).is_some_and(|n| n != RestartPolicyNameEnum::NO && n != RestartPolicyNameEnum::EMPTY);
        for (dep, condition) in &service.depends_on {
            let dep_root = root_of(dep);
            if dep_root == root {
                // Joining a namespace implies waiting for it to exist, which a pod gives.
                let implied = service.network_parent.as_deref() == Some(dep.as_str()) && *condition == Condition::ServiceStarted;
                if !retries && !implied {
                    let mut refusals = Refusals { service, problems };
                    refusals.refuse(
                        "depends_on",
                        format!("waits for `{dep}`, but both run in one pod, whose containers start together"),
                        "add `restart: on-failure` so the service is started again until its dependency answers (that is how it runs in a pod)",
                    );
                }
                continue;
            }
            match waits.iter_mut().find(|(d, _)| *d == dep_root) {
                Some((_, c)) if *condition == Condition::ServiceHealthy => *c = Condition::ServiceHealthy,
                Some(_) => {}
                None => waits.push((dep_root, *condition)),
            }
        }
    }
    waits
}

/// Pods in an order where each comes after those it waits for (the plan has no cycles).
fn start_order(mut pods: Vec<PodPlan>) -> Vec<PodPlan> {
    let mut ordered: Vec<PodPlan> = Vec::with_capacity(pods.len());
    while !pods.is_empty() {
        let ready = pods.iter().position(|p| p.waits_for.iter().all(|(d, _)| ordered.iter().any(|o| o.name == *d))).unwrap_or(0);
        ordered.push(pods.remove(ready));
    }
    ordered
}
