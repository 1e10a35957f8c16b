//! One pod of a translated stack: its containers gathered into a Deployment of one replica,
//! with the volumes, hosts, grace period and labels its containers bring.

use super::container::ContainerParts;
use super::objects::meta;
use super::translate::{KubeOptions, Refusals};
use crate::stack::plan::{Plan, ServicePlan};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{EmptyDirVolumeSource, HostAlias, PersistentVolumeClaimVolumeSource, PodSecurityContext, PodSpec, PodTemplateSpec, Toleration, Volume};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use std::collections::BTreeMap;

/// How long a pod stays on a node that stopped answering before it is started elsewhere
/// (Kubernetes' default is five minutes; a student waits for this).
const UNREACHABLE_TOLERATION_SECONDS: i64 = 30;

/// The containers of one pod, gathered.
#[derive(Default)]
pub(super) struct PodBuilder {
    containers: Vec<ContainerParts>,
}

impl PodBuilder {
    pub(super) fn add(&mut self, parts: ContainerParts) {
        self.containers.push(parts);
    }

    pub(super) fn named_volumes(&self) -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = self.containers.iter().flat_map(|c| c.named_volumes.clone()).collect();
        all.sort();
        all.dedup();
        all
    }

    pub(super) fn ports_of(&self, service: &str) -> Vec<(u16, String)> {
        self.containers.iter().find(|c| c.container.name == service).map(|c| c.ports.clone()).unwrap_or_default()
    }

    pub(super) fn container(&self, service: &ServicePlan, root: &str, plan: &Plan, options: &KubeOptions, refusals: &mut Refusals<'_>) -> ContainerParts {
        super::container::container(service, service.name == root, self.containers.len(), plan, options, refusals)
    }

    pub(super) fn deployment(self, root: &str, options: &KubeOptions, project_labels: &BTreeMap<String, String>, pod_labels: BTreeMap<String, String>) -> Deployment {
        let namespace = options.namespace.as_str();
        let mut template_labels = project_labels.clone();
        template_labels.extend(pod_labels.clone());
        let mut volumes: Vec<Volume> = Vec::new();
        for (volume, _) in self.named_volumes() {
            let claim = options.storage_class.is_some().then(|| PersistentVolumeClaimVolumeSource { claim_name: volume.clone(), ..Default::default() });
            let empty_dir = claim.is_none().then(EmptyDirVolumeSource::default);
            volumes.push(Volume { name: volume, empty_dir, persistent_volume_claim: claim, ..Volume::default() });
        }
        let mut host_aliases: Vec<HostAlias> = Vec::new();
        let mut hostname = None;
        let mut grace = None;
        let mut containers = Vec::new();
        for parts in self.containers {
            for v in parts.volumes {
                if !volumes.iter().any(|x| x.name == v.name) {
                    volumes.push(v);
                }
            }
            host_aliases.extend(parts.host_aliases);
            hostname = hostname.or(parts.hostname);
            grace = grace.max(parts.grace);
            for (k, v) in parts.labels {
                template_labels.entry(k).or_insert(v);
            }
            containers.push(parts.container);
        }
        Deployment {
            metadata: meta(root, namespace, project_labels),
            spec: Some(DeploymentSpec {
                replicas: Some(1),
                selector: LabelSelector { match_labels: Some(pod_labels), ..LabelSelector::default() },
                // Never two copies of a student's stack at once.
                strategy: Some(DeploymentStrategy { type_: Some("Recreate".into()), ..DeploymentStrategy::default() }),
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta { labels: Some(template_labels), ..ObjectMeta::default() }),
                    spec: Some(PodSpec {
                        containers,
                        volumes: (!volumes.is_empty()).then_some(volumes),
                        host_aliases: (!host_aliases.is_empty()).then_some(host_aliases),
                        hostname,
                        termination_grace_period_seconds: grace,
                        // Service links would fill the containers' environment with variables
                        // Docker never sets (and Marathon reads MARATHON_* as flags).
                        enable_service_links: Some(false),
                        // A Docker container has no API credentials either.
                        automount_service_account_token: Some(false),
                        security_context: Some(PodSecurityContext::default()),
                        tolerations: Some(
                            ["node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready"]
                                .iter()
                                .map(|key| Toleration { key: Some((*key).into()), operator: Some("Exists".into()), effect: Some("NoExecute".into()), toleration_seconds: Some(UNREACHABLE_TOLERATION_SECONDS), ..Toleration::default() })
                                .collect(),
                        ),
                        ..PodSpec::default()
                    }),
                },
                ..DeploymentSpec::default()
            }),
            ..Deployment::default()
        }
    }
}
