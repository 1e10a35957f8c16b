//! The namespace-level objects of a translated stack: the namespace itself, claims, the
//! Service under each service's name, and the ingress policy.

use super::translate::{NETWORK_POLICY, POD_SECURITY_LABEL};
use crate::stack::plan::{Plan, labels};
use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim, PersistentVolumeClaimSpec, Service, ServicePort, ServiceSpec, VolumeResourceRequirements};
use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;
use super::names::{is_label_value, port_name};
use super::translate::KubeOptions;

/// Every pod of the namespace, reached by the namespace's own pods on any port and by
/// anyone (the NodePorts) on the published container ports only: other students' pods
/// stay off the ports a student did not publish.
pub(super) fn network_policy(open_ports: &[(i32, String)], namespace: &str, labels: &BTreeMap<String, String>) -> NetworkPolicy {
    let mut ingress = vec![NetworkPolicyIngressRule { from: Some(vec![NetworkPolicyPeer { pod_selector: Some(LabelSelector::default()), ..NetworkPolicyPeer::default() }]), ports: None }];
    // A rule with neither `from` nor `ports` would let everything in: only with ports.
    if !open_ports.is_empty() {
        let ports = open_ports.iter().map(|(port, protocol)| NetworkPolicyPort { port: Some(IntOrString::Int(*port)), protocol: Some(protocol.clone()), end_port: None }).collect();
        ingress.push(NetworkPolicyIngressRule { from: None, ports: Some(ports) });
    }
    NetworkPolicy {
        metadata: meta(NETWORK_POLICY, namespace, labels),
        spec: Some(NetworkPolicySpec { pod_selector: Some(LabelSelector::default()), ingress: Some(ingress), policy_types: Some(vec!["Ingress".into()]), egress: None }),
    }
}

/// The project's own labels (lab.project, lab.student, lab.lab) where Kubernetes accepts
/// them as label values; annotations carry them whole either way.
pub(super) fn project_labels(plan: &Plan) -> BTreeMap<String, String> {
    let first = plan.services.first().and_then(|s| s.create.labels.as_ref());
    [labels::PROJECT, labels::STUDENT, labels::LAB]
        .iter()
        .filter_map(|key| {
            let value = first.and_then(|l| l.get(*key)).cloned().or_else(|| (*key == labels::PROJECT).then(|| plan.project.clone()))?;
            is_label_value(&value).then(|| ((*key).to_owned(), value))
        })
        .collect()
}

pub(super) fn meta(name: &str, namespace: &str, labels: &BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta { name: Some(name.to_owned()), namespace: Some(namespace.to_owned()), labels: Some(labels.clone()), ..ObjectMeta::default() }
}

pub(super) fn namespace(plan: &Plan, options: &KubeOptions, labels: &BTreeMap<String, String>) -> Namespace {
    let mut all = labels.clone();
    all.extend(options.namespace_labels.clone());
    // A cluster that enforces the baseline Pod Security level refuses privileged pods and
    // added capabilities; the namespace lets them in only when the stack has them.
    let privileged = plan.services.iter().filter_map(|s| s.create.host_config.as_ref()).any(|h| h.privileged == Some(true) || h.cap_add.as_ref().is_some_and(|c| !c.is_empty()));
    if privileged {
        all.insert(POD_SECURITY_LABEL.to_owned(), "privileged".to_owned());
    }
    let json = |pairs: &[(String, String)]| serde_json::to_string(&pairs.iter().cloned().collect::<BTreeMap<_, _>>()).unwrap_or_default();
    let ports: Vec<(String, String)> = plan.ports.iter().map(|(k, v)| (k.clone(), v.to_string())).collect();
    let mut annotations = BTreeMap::from([
        (labels::PORTS.to_owned(), json(&ports)),
        (labels::ENDPOINTS.to_owned(), json(&plan.endpoints)),
        (labels::LINKS.to_owned(), serde_json::to_string(&plan.links).unwrap_or_default()),
        (labels::PROJECT.to_owned(), plan.project.clone()),
    ]);
    if let Some(student) = plan.services.first().and_then(|s| s.create.labels.as_ref()).and_then(|l| l.get(labels::STUDENT)) {
        annotations.insert(labels::STUDENT.to_owned(), student.clone());
    }
    Namespace { metadata: ObjectMeta { name: Some(options.namespace.clone()), labels: Some(all), annotations: Some(annotations), ..ObjectMeta::default() }, ..Namespace::default() }
}

/// The claim of a named volume. One that pods on different nodes mount must be
/// ReadWriteMany (ReadWriteOnce would hold the second pod while the first runs elsewhere).
pub(super) fn claim(volume: &str, key: &str, class: &str, shared: bool, namespace: &str, labels: &BTreeMap<String, String>) -> PersistentVolumeClaim {
    let mut meta = meta(volume, namespace, labels);
    meta.annotations = Some(BTreeMap::from([(labels::NAME.to_owned(), key.to_owned())]));
    PersistentVolumeClaim {
        metadata: meta,
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec![if shared { "ReadWriteMany" } else { "ReadWriteOnce" }.into()]),
            storage_class_name: Some(class.to_owned()),
            resources: Some(VolumeResourceRequirements { requests: Some(BTreeMap::from([("storage".to_owned(), Quantity("1Gi".into()))])), ..Default::default() }),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    }
}

/// The Service under a service's name: a cluster IP for the ports it declares, or headless
/// (a name only) when it declares none.
pub(super) fn name_service(name: &str, selector: &BTreeMap<String, String>, ports: &[(u16, String)], namespace: &str, labels: &BTreeMap<String, String>) -> Service {
    let ports: Vec<ServicePort> = ports
        .iter()
        .map(|(port, protocol)| ServicePort { name: Some(port_name(protocol, *port)), port: i32::from(*port), protocol: Some(protocol.to_uppercase()), ..ServicePort::default() })
        .collect();
    let headless = ports.is_empty();
    Service {
        metadata: meta(name, namespace, labels),
        spec: Some(ServiceSpec {
            selector: Some(selector.clone()),
            cluster_ip: headless.then(|| "None".to_owned()),
            ports: (!headless).then_some(ports),
            // Docker resolves a name as soon as the container runs, healthy or not.
            publish_not_ready_addresses: Some(true),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}
