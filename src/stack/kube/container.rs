//! One service of a plan as a container of its pod: what carries over from Docker's create
//! request (command, environment, working dir, user, privileges, healthcheck, volumes,
//! limits, labels, hosts) and the refusal, at its line, of what does not.

use super::names::{is_dns_label, is_label_key, is_label_value};
use super::translate::{KubeOptions, Refusals};
use crate::stack::plan::{Plan, ServicePlan};
use crate::stack::values::parse_bytes;
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, ExecAction, HostAlias, Probe, ResourceRequirements,
    SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use std::collections::BTreeMap;

/// One service as a container, with what the pod needs from it.
pub(super) struct ContainerParts {
    pub container: Container,
    /// Named volumes it mounts: (the volume's name in the pod, its key in the file).
    pub named_volumes: Vec<(String, String)>,
    /// Pod-level volumes only it uses (emptyDirs for anonymous volumes and tmpfs).
    pub volumes: Vec<Volume>,
    pub host_aliases: Vec<HostAlias>,
    pub hostname: Option<String>,
    pub grace: Option<i64>,
    pub labels: BTreeMap<String, String>,
    /// Ports it declares (published and exposed), for its Service.
    pub ports: Vec<(u16, String)>,
}

/// The pod volume that holds the file's named volume `key`.
pub(super) fn volume_name(key: &str) -> String {
    let cleaned: String = key.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    let mut name = format!("vol-{}", cleaned.trim_matches('-'));
    name.truncate(63);
    name.trim_end_matches('-').to_owned()
}

/// Translates one service. `root` says whether it owns the pod's network namespace.
pub(super) fn container(service: &ServicePlan, root: bool, plan: &Plan, _options: &KubeOptions, refusals: &mut Refusals<'_>) -> ContainerParts {
    let create = &service.create;
    let host = create.host_config.clone().unwrap_or_default();
    if service.build.is_some() {
        refusals.refuse("build", "lab builds this image on the Docker engine, which a cluster's nodes cannot pull from", "build and push the image to a registry the cluster reaches, and name it with `image:`");
    }
    match host.network_mode.as_deref() {
        Some("host") => refusals.refuse("network_mode", "network_mode host would share the node's network with every other student", "leave `network_mode` out; publish the ports the student needs"),
        Some("none") => refusals.refuse("network_mode", "a pod always has a network; network_mode none has no equivalent", "leave `network_mode` out"),
        Some(mode) if mode.starts_with("container:") && service.network_parent.is_none() => {
            refusals.refuse("network_mode", "joins a container outside the stack, which does not exist in the cluster", "use `network_mode: service:NAME` with a service of this file")
        }
        _ => {}
    }
    let aliases = create.networking_config.as_ref().and_then(|n| n.endpoints_config.as_ref()).map(|e| e.values().map(|s| s.aliases.as_ref().map_or(0, Vec::len)).sum::<usize>()).unwrap_or(0);
    if !service.extra_networks.is_empty() || aliases > 1 {
        refusals.refuse("networks", "every pod of a namespace is on one network; separate networks and extra aliases have no translation", "remove `networks:` (services reach each other by their names)");
    }
    if service.published.iter().any(|p| !p.host_ip.is_empty() && p.host_ip != "0.0.0.0") {
        refusals.refuse("ports", "a NodePort answers on every address of the node; a port bound to one host address has no translation", "publish the port without a host address");
    }
    if !root && create.hostname.is_some() {
        refusals.refuse("hostname", "shares the pod of another service, whose hostname it has", "set `hostname` on the service that owns the network");
    }
    let hostname = if root { create.hostname.clone() } else { None };
    if let Some(h) = &hostname
        && !is_dns_label(h)
    {
        refusals.refuse("hostname", format!("`{h}` is not a hostname Kubernetes accepts"), "use lower-case letters, digits and `-`, at most 63 characters");
    }
    if host.cgroupns_mode.is_some() {
        refusals.refuse("cgroup", "a pod's cgroup namespace is the node's choice", "remove `cgroup:`");
    }
    if host.devices.as_ref().is_some_and(|d| !d.is_empty()) {
        refusals.refuse("devices", "host devices depend on the node the pod lands on", "remove `devices:`");
    }
    if host.sysctls.as_ref().is_some_and(|s| !s.is_empty()) {
        refusals.refuse("sysctls", "sysctls are allowed per node by the cluster's administrator, not per stack", "remove `sysctls:`");
    }
    if host.pids_limit.is_some() {
        refusals.refuse("pids_limit", "the process limit of a pod is set per node", "remove `pids_limit:`");
    }

    let (run_as_user, run_as_group) = match create.user.as_deref().filter(|u| !u.is_empty()) {
        None => (None, None),
        Some(user) => {
            let (u, g) = user.split_once(':').map_or((user, None), |(u, g)| (u, Some(g)));
            match (u.parse::<i64>(), g.map(str::parse::<i64>).transpose()) {
                (Ok(u), Ok(g)) => (Some(u), g),
                _ => {
                    refusals.refuse("user", format!("Kubernetes runs containers as a numeric user, not `{user}`"), "give the user (and group) as numbers, e.g. `user: \"1000:1000\"`");
                    (None, None)
                }
            }
        }
    };
    let capabilities = host.cap_add.clone().filter(|c| !c.is_empty()).map(|add| Capabilities { add: Some(add), ..Capabilities::default() });
    let privileged = host.privileged.filter(|p| *p);
    let security_context = (run_as_user.is_some() || capabilities.is_some() || privileged.is_some())
        .then(|| SecurityContext { run_as_user, run_as_group, capabilities, privileged, ..SecurityContext::default() });

    // Volumes: named ones are the pod's; anonymous ones and tmpfs are this container's.
    let mut mounts = Vec::new();
    let mut named_volumes = Vec::new();
    let mut volumes = Vec::new();
    for bind in host.binds.iter().flatten() {
        let mut parts = bind.splitn(3, ':');
        let (source, target, mode) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
        let Some(volume) = plan.volumes.iter().find(|v| v.name == source) else {
            let what = if source.starts_with('/') { format!("bind-mounts `{source}` from the lab server, which the cluster's nodes do not have") } else { format!("uses the external volume `{source}`, which the cluster does not have") };
            refusals.refuse("volumes", what, "use a named volume of this file, or build the files into the image");
            continue;
        };
        let name = volume_name(&volume.key);
        mounts.push(VolumeMount { name: name.clone(), mount_path: target.to_owned(), read_only: mode.split(',').any(|o| o == "ro").then_some(true), ..VolumeMount::default() });
        named_volumes.push((name, volume.key.clone()));
    }
    for (i, path) in create.volumes.iter().flatten().enumerate() {
        let name = format!("{}-anon-{i}", service.name);
        volumes.push(Volume { name: name.clone(), empty_dir: Some(EmptyDirVolumeSource::default()), ..Volume::default() });
        mounts.push(VolumeMount { name, mount_path: path.clone(), ..VolumeMount::default() });
    }
    let mut tmpfs: Vec<(&String, &String)> = host.tmpfs.iter().flatten().collect();
    tmpfs.sort();
    for (i, (path, options)) in tmpfs.into_iter().enumerate() {
        let name = format!("{}-tmpfs-{i}", service.name);
        // Docker's sizes are binary (`64m` is 64 MiB); in a Quantity `m` means milli: give bytes.
        let size = options.split(',').find_map(|o| o.strip_prefix("size=")).and_then(|s| parse_bytes(s).ok()).map(|b| Quantity(b.to_string()));
        volumes.push(Volume { name: name.clone(), empty_dir: Some(EmptyDirVolumeSource { medium: Some("Memory".into()), size_limit: size }), ..Volume::default() });
        mounts.push(VolumeMount { name, mount_path: path.clone(), ..VolumeMount::default() });
    }

    let mut ports: Vec<(u16, String)> = service.published.iter().map(|p| (p.container_port, p.protocol.clone())).collect();
    for exposed in create.exposed_ports.iter().flatten() {
        let (port, protocol) = exposed.split_once('/').unwrap_or((exposed, "tcp"));
        if let Ok(port) = port.parse::<u16>() {
            ports.push((port, protocol.to_owned()));
        }
    }
    ports.sort();
    ports.dedup();

    let mut limits = BTreeMap::new();
    if let Some(memory) = host.memory.filter(|m| *m > 0) {
        limits.insert("memory".to_owned(), Quantity(memory.to_string()));
    }
    if let Some(nanos) = host.nano_cpus.filter(|n| *n > 0) {
        limits.insert("cpu".to_owned(), Quantity(format!("{}m", (nanos / 1_000_000).max(1))));
    }

    let mut host_aliases: Vec<HostAlias> = Vec::new();
    for entry in host.extra_hosts.iter().flatten() {
        // `NAME:IP`, where the IP may be IPv6 (`v6:::1`, or `v6:[::1]`): split at the first colon.
        match entry.split_once(':').map(|(name, ip)| (name, ip.trim_start_matches('[').trim_end_matches(']'))) {
            Some((name, ip)) if ip.parse::<std::net::IpAddr>().is_ok() => match host_aliases.iter_mut().find(|a| a.ip == ip) {
                Some(alias) => alias.hostnames.get_or_insert_with(Vec::new).push(name.to_owned()),
                None => host_aliases.push(HostAlias { ip: ip.to_owned(), hostnames: Some(vec![name.to_owned()]) }),
            },
            _ => refusals.refuse("extra_hosts", format!("`{entry}` does not map a name to an IP address (`host-gateway` has no equivalent in a cluster)"), "write `NAME:IP`"),
        }
    }

    let mut labels = BTreeMap::new();
    for (key, value) in create.labels.iter().flatten() {
        if key.starts_with("lab.") {
            continue;
        }
        if is_label_key(key) && is_label_value(value) {
            labels.insert(key.clone(), value.clone());
        } else {
            refusals.refuse("labels", format!("label `{key}={value}` is not a valid Kubernetes label"), "keep label keys to a DNS prefix and a name of letters, digits, `-`, `_`, `.`, and values to 63 such characters");
        }
    }

    let env = create.env.iter().flatten().map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        EnvVar { name: name.to_owned(), value: Some(value.to_owned()), ..EnvVar::default() }
    });
    let container = Container {
        name: service.name.clone(),
        image: Some(service.image.clone()),
        // Images are side-loaded or already on the nodes in a workshop; pull only when absent.
        image_pull_policy: Some("IfNotPresent".into()),
        command: create.entrypoint.clone().filter(|c| !c.is_empty()),
        args: create.cmd.clone().filter(|c| !c.is_empty()),
        env: Some(env.collect::<Vec<_>>()).filter(|e| !e.is_empty()),
        working_dir: create.working_dir.clone().filter(|w| !w.is_empty()),
        ports: Some(ports.iter().map(|(port, protocol)| ContainerPort { container_port: i32::from(*port), protocol: Some(protocol.to_uppercase()), ..ContainerPort::default() }).collect::<Vec<_>>()).filter(|p| !p.is_empty()),
        readiness_probe: readiness(create.healthcheck.as_ref()),
        security_context,
        volume_mounts: (!mounts.is_empty()).then_some(mounts),
        resources: (!limits.is_empty()).then(|| ResourceRequirements { limits: Some(limits), ..ResourceRequirements::default() }),
        ..Container::default()
    };
    ContainerParts { container, named_volumes, volumes, host_aliases, hostname, grace: create.stop_timeout, labels, ports }
}

/// A Docker healthcheck as a readiness probe: the same command, period, timeout and
/// retries. Kubernetes counts in whole seconds, so shorter times round up to one second.
fn readiness(health: Option<&bollard::models::HealthConfig>) -> Option<Probe> {
    let health = health?;
    let test = health.test.as_ref()?;
    let command = match test.split_first() {
        Some((kind, rest)) if kind == "CMD" && !rest.is_empty() => rest.to_vec(),
        Some((kind, rest)) if kind == "CMD-SHELL" && !rest.is_empty() => vec!["/bin/sh".into(), "-c".into(), rest.join(" ")],
        _ => return None,
    };
    let seconds = |nanos: Option<i64>| nanos.filter(|n| *n > 0).map(|n| i32::try_from(n.saturating_add(999_999_999) / 1_000_000_000).unwrap_or(i32::MAX).max(1));
    Some(Probe {
        exec: Some(ExecAction { command: Some(command) }),
        period_seconds: seconds(health.interval).or(Some(30)),
        timeout_seconds: seconds(health.timeout).or(Some(30)),
        failure_threshold: health.retries.and_then(|r| i32::try_from(r).ok()).filter(|r| *r > 0).or(Some(3)),
        initial_delay_seconds: None,
        ..Probe::default()
    })
}
