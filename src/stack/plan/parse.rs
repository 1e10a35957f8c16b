//! Small parsers for service fields: port specs, restart policies, devices, env-file
//! quoting, and path normalisation.

use super::Published;
use crate::stack::file::LongPort;
use crate::stack::values::ListOrMap;
use bollard::models::{DeviceMapping, RestartPolicy, RestartPolicyNameEnum};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub(super) fn unquote(v: &str) -> &str {
    v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\''))).unwrap_or(v)
}

pub(super) fn pairs_to_map(l: Option<&ListOrMap>, sep: char) -> HashMap<String, String> {
    l.map(|l| l.pairs(sep).into_iter().map(|(k, v)| (k, v.unwrap_or_default())).collect()).unwrap_or_default()
}

/// Removes `.` and `..` components without touching the file system.
pub(super) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

/// `[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]`, ports may be ranges `a-b`.
pub fn parse_short_port(spec: &str) -> Result<Vec<Published>, String> {
    let bad = || format!("port `{spec}` is not [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]");
    let (addr, protocol) = spec.rsplit_once('/').map_or((spec, "tcp"), |(a, p)| (a, p));
    if !matches!(protocol, "tcp" | "udp" | "sctp") {
        return Err(format!("port `{spec}`: protocol must be tcp, udp or sctp"));
    }
    let parts: Vec<&str> = addr.split(':').collect();
    let (host_ip, host, container) = match parts.as_slice() {
        [c] => ("", None, *c),
        [h, c] => ("", Some(*h), *c),
        [ip, h, c] => (*ip, (!h.is_empty()).then_some(*h), *c),
        _ => return Err(bad()),
    };
    let containers = port_range(container).ok_or_else(bad)?;
    let hosts = match host {
        None => vec![None; containers.len()],
        Some(h) => port_range(h).ok_or_else(bad)?.into_iter().map(Some).collect(),
    };
    if hosts.len() != containers.len() {
        return Err(format!("port `{spec}`: the host and container ranges differ in length"));
    }
    Ok(hosts
        .into_iter()
        .zip(containers)
        .map(|(host_port, container_port)| Published { host_ip: host_ip.to_owned(), host_port, container_port, protocol: protocol.to_owned() })
        .collect())
}

pub(super) fn port_range(s: &str) -> Option<Vec<u16>> {
    match s.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (a.parse::<u16>().ok()?, b.parse::<u16>().ok()?);
            (a <= b).then(|| (a..=b).collect())
        }
        None => s.parse::<u16>().ok().map(|p| vec![p]),
    }
}

pub(super) fn long_port(p: &LongPort) -> Result<Published, String> {
    let host_port = match &p.published {
        None => None,
        Some(t) if t.0.is_empty() => None,
        Some(t) => Some(t.0.parse::<u16>().map_err(|_| format!("published port `{}` is not a port number", t.0))?),
    };
    let protocol = p.protocol.clone().unwrap_or_else(|| "tcp".into());
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("port protocol must be tcp, udp or sctp, not `{protocol}`"));
    }
    Ok(Published { host_ip: p.host_ip.clone().unwrap_or_default(), host_port, container_port: p.target, protocol })
}

pub(crate) fn restart(r: &str) -> Result<RestartPolicy, String> {
    let (name, count) = r.split_once(':').map_or((r, None), |(n, c)| (n, Some(c)));
    let name = match name {
        "no" => RestartPolicyNameEnum::NO,
        "always" => RestartPolicyNameEnum::ALWAYS,
        "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        other => return Err(format!("restart `{other}` is not one of no, always, on-failure[:N], unless-stopped")),
    };
    let maximum_retry_count = count.map(|c| c.parse::<i64>().map_err(|_| format!("restart: `{c}` is not a number"))).transpose()?;
    Ok(RestartPolicy { name: Some(name), maximum_retry_count })
}

pub(super) fn device(d: &str) -> DeviceMapping {
    let parts: Vec<&str> = d.split(':').collect();
    let host = parts[0].to_owned();
    let container = parts.get(1).map_or_else(|| host.clone(), |c| (*c).to_owned());
    DeviceMapping { path_on_host: Some(host), path_in_container: Some(container), cgroup_permissions: Some(parts.get(2).unwrap_or(&"rwm").to_string()) }
}
