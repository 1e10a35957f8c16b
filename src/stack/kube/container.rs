//! One service of a plan as a container of its pod: what carries over from Docker's create
//! request (command, environment, working dir, user, privileges, healthcheck, volumes,
//! limits, labels, hosts) and the refusal, at its line, of what does not.

use super::names::{is_dns_label, is_env_name, is_label_key, is_label_value};
use super::translate::{KubeOptions, Refusals};
use crate::stack::plan::{Plan, ServicePlan};
use crate::stack::values::parse_bytes;
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, ExecAction, HostAlias, Probe, ResourceRequirements,
    SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use std::collections::{BTreeMap, BTreeSet, HashMap};

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

/// What a network or volume sets beyond Docker's default driver, each part named as the
/// file writes it; empty when nothing.
fn driver_settings(driver: Option<&str>, default: &str, options: &HashMap<String, String>) -> Vec<String> {
    let mut parts = Vec::new();
    if let Some(d) = driver.filter(|d| *d != default) {
        parts.push(format!("the driver `{d}`"));
    }
    if !options.is_empty() {
        parts.push("driver options".to_owned());
    }
    parts
}

/// "has" or "have", after the settings [`driver_settings`] lists.
fn have(settings: &[String]) -> &'static str {
    if settings.len() == 1 && settings[0] != "driver options" { "has" } else { "have" }
}

/// The first of `keys` the service writes, so a refusal points at the line that says it
/// (the service's name when it writes none).
fn written_key<'k>(service: &ServicePlan, keys: &[&'k str]) -> &'k str {
    keys.iter().find(|k| service.origin.keys.iter().any(|(w, _)| w == *k)).copied().unwrap_or(keys[0])
}

/// Translates one service. `root` says whether it owns the pod's network namespace;
/// `index` is its place among the pod's containers (it names the container's own volumes).
pub(super) fn container(service: &ServicePlan, root: bool, index: usize, plan: &Plan, _options: &KubeOptions, refusals: &mut Refusals<'_>) -> ContainerParts {
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
    // The networks it joins, by their engine names: the first is in the create request.
    let mut joined: Vec<&str> = create.networking_config.as_ref().and_then(|n| n.endpoints_config.as_ref()).map(|e| e.keys().map(String::as_str).collect()).unwrap_or_default();
    joined.extend(service.extra_networks.iter().map(|(n, _)| n.as_str()));
    joined.sort_unstable();
    joined.dedup();
    for network in joined.iter().filter_map(|name| plan.networks.iter().find(|n| n.name == *name)) {
        let mut settings = driver_settings(network.driver.as_deref(), "bridge", &network.options);
        if network.internal {
            settings.insert(0, "`internal: true`".to_owned());
        }
        if !settings.is_empty() {
            refusals.refuse(
                "networks",
                format!("network `{}` sets {}, which {} no translation on a cluster (every pod of a namespace is on one network)", network.key, settings.join(" and "), have(&settings)),
                "remove `internal`, `driver` and `driver_opts` from the network",
            );
        }
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
    let mut refused_volumes = BTreeSet::new();
    for bind in host.binds.iter().flatten() {
        let mut parts = bind.splitn(3, ':');
        let (source, target, mode) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
        let Some(volume) = plan.volumes.iter().find(|v| v.name == source) else {
            let what = if source.starts_with('/') { format!("bind-mounts `{source}` from the lab server, which the cluster's nodes do not have") } else { format!("uses the external volume `{source}`, which the cluster does not have") };
            refusals.refuse("volumes", what, "use a named volume of this file, or build the files into the image");
            continue;
        };
        let settings = driver_settings(volume.driver.as_deref(), "local", &volume.options);
        if !settings.is_empty() && refused_volumes.insert(volume.key.clone()) {
            refusals.refuse(
                "volumes",
                format!("volume `{}` uses {}, which {} no translation on a cluster", volume.key, settings.join(" and "), have(&settings)),
                "remove `driver` and `driver_opts` from the volume (the cluster keeps it in an emptyDir, or in a claim of its storage class)",
            );
        }
        let name = volume_name(&volume.key);
        mounts.push(VolumeMount { name: name.clone(), mount_path: target.to_owned(), read_only: mode.split(',').any(|o| o == "ro").then_some(true), ..VolumeMount::default() });
        named_volumes.push((name, volume.key.clone()));
    }
    // The container's own volumes are named by its place in the pod, not its service's
    // name, so the name stays short (a volume name has at most 63 characters).
    for (i, path) in create.volumes.iter().flatten().enumerate() {
        let name = format!("c{index}-anon-{i}");
        volumes.push(Volume { name: name.clone(), empty_dir: Some(EmptyDirVolumeSource::default()), ..Volume::default() });
        mounts.push(VolumeMount { name, mount_path: path.clone(), ..VolumeMount::default() });
    }
    let mut tmpfs: Vec<(&String, &String)> = host.tmpfs.iter().flatten().collect();
    tmpfs.sort();
    // Short-syntax tmpfs is under `tmpfs`, long-syntax under `volumes`; both reach the
    // plan as one list.
    let tmpfs_key = written_key(service, &["tmpfs", "volumes"]);
    for (i, (path, options)) in tmpfs.into_iter().enumerate() {
        let name = format!("c{index}-tmpfs-{i}");
        let mut size = None;
        for option in options.split(',').filter(|o| !o.is_empty()) {
            match option.strip_prefix("size=") {
                // Docker's sizes are binary (`64m` is 64 MiB); in a Quantity `m` means milli: give bytes.
                Some(s) => match parse_bytes(s) {
                    Ok(bytes) => size = Some(Quantity(bytes.to_string())),
                    Err(e) => refusals.refuse(tmpfs_key, format!("tmpfs `{path}`: {e}"), "give the size as a number of bytes with an optional unit, e.g. `size=64m`"),
                },
                // An emptyDir in memory is writable, as Docker's tmpfs is by default.
                None if option == "rw" => {}
                None => refusals.refuse(
                    tmpfs_key,
                    format!("tmpfs `{path}` sets `{option}`; a pod's in-memory emptyDir takes only a size"),
                    "keep only the size (e.g. `/run:size=64m`); the directory is writable by every user",
                ),
            }
        }
        volumes.push(Volume { name: name.clone(), empty_dir: Some(EmptyDirVolumeSource { medium: Some("Memory".into()), size_limit: size }), ..Volume::default() });
        mounts.push(VolumeMount { name, mount_path: path.clone(), ..VolumeMount::default() });
    }

    let mut ports: Vec<(u16, String)> = service.published.iter().map(|p| (p.container_port, p.protocol.clone())).collect();
    for exposed in create.exposed_ports.iter().flatten() {
        let (port, protocol) = exposed.split_once('/').unwrap_or((exposed, "tcp"));
        match port.parse::<u16>() {
            Ok(port) => ports.push((port, protocol.to_owned())),
            Err(_) if port.contains('-') => refusals.refuse("expose", format!("`{port}` is a range of ports, which a Service cannot declare"), "expose each port on its own, e.g. `expose: [\"8000\", \"8001\"]`"),
            Err(_) => refusals.refuse("expose", format!("`{port}` is not a port number"), "expose port numbers, e.g. `expose: [\"8000\"]`"),
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

    let env_key = written_key(service, &["environment", "env_file"]);
    let env = create.env.iter().flatten().map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        EnvVar { name: name.to_owned(), value: Some(value.to_owned()), ..EnvVar::default() }
    });
    let env: Vec<EnvVar> = env.collect();
    for bad in env.iter().filter(|e| !is_env_name(&e.name)) {
        refusals.refuse(
            env_key,
            format!("the environment variable `{}` has a name Kubernetes refuses", bad.name),
            "name variables with letters, digits, `_`, `-` and `.`, not starting with a digit",
        );
    }
    let container = Container {
        name: service.name.clone(),
        image: Some(service.image.clone()),
        // Images are side-loaded or already on the nodes in a workshop; pull only when absent.
        image_pull_policy: Some("IfNotPresent".into()),
        command: create.entrypoint.clone().filter(|c| !c.is_empty()),
        args: create.cmd.clone().filter(|c| !c.is_empty()),
        env: Some(env).filter(|e| !e.is_empty()),
        working_dir: create.working_dir.clone().filter(|w| !w.is_empty()),
        ports: Some(ports.iter().map(|(port, protocol)| ContainerPort { container_port: i32::from(*port), protocol: Some(protocol.to_uppercase()), ..ContainerPort::default() }).collect::<Vec<_>>()).filter(|p| !p.is_empty()),
        readiness_probe: readiness(create.healthcheck.as_ref(), refusals),
        security_context,
        volume_mounts: (!mounts.is_empty()).then_some(mounts),
        resources: (!limits.is_empty()).then(|| ResourceRequirements { limits: Some(limits), ..ResourceRequirements::default() }),
        ..Container::default()
    };
    ContainerParts { container, named_volumes, volumes, host_aliases, hostname, grace: create.stop_timeout, labels, ports }
}

/// A Docker healthcheck as a readiness probe: the same command, period, timeout and
/// retries. Kubernetes counts in whole seconds, so shorter times round up to one second.
/// A disabled healthcheck (`NONE`) is no probe; one without a command, where Docker runs
/// the image's HEALTHCHECK, is refused: the cluster cannot read it, and `service_healthy`
/// dependents would start at once.
fn readiness(health: Option<&bollard::models::HealthConfig>, refusals: &mut Refusals<'_>) -> Option<Probe> {
    let health = health?;
    let command = match health.test.as_deref().and_then(<[String]>::split_first) {
        Some((kind, _)) if kind == "NONE" => return None,
        Some((kind, rest)) if kind == "CMD" && !rest.is_empty() => rest.to_vec(),
        Some((kind, rest)) if kind == "CMD-SHELL" && !rest.is_empty() => vec!["/bin/sh".into(), "-c".into(), rest.join(" ")],
        _ => {
            refusals.refuse("healthcheck", "the healthcheck has no `test` command, so Docker would run the image's HEALTHCHECK", "write the test command: a cluster cannot read the image's HEALTHCHECK");
            return None;
        }
    };
    // `start_period` and `start_interval` need no translation: a readiness probe never
    // restarts a container, so failures while it starts only keep the pod not ready (and
    // its dependents waiting), as Docker's "starting" does.
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
