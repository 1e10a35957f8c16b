//! The value checks of the schema: each takes a value's text and says, in a whole sentence
//! naming the key, why lab cannot use it.

use crate::stack::values::{parse_bytes, parse_duration};

pub(super) fn check_duration(s: &str) -> Result<(), String> {
    parse_duration(s).map(|_| ())
}

pub(super) fn check_size(s: &str) -> Result<(), String> {
    parse_bytes(s).map(|_| ())
}

pub(super) fn check_mem_limit(s: &str) -> Result<(), String> {
    parse_bytes(s).map(|_| ()).map_err(|e| format!("mem_limit: {e}"))
}

pub(super) fn check_cpus(s: &str) -> Result<(), String> {
    match s.parse::<f64>() {
        Ok(c) if c > 0.0 && c.is_finite() => Ok(()),
        _ => Err(format!("cpus: `{s}` is not a number of CPUs such as 0.5 or 2")),
    }
}

pub(super) fn check_network_mode(s: &str) -> Result<(), String> {
    match s {
        "host" | "none" | "bridge" => Ok(()),
        _ if s.strip_prefix("service:").or_else(|| s.strip_prefix("container:")).is_some_and(|n| !n.is_empty()) => Ok(()),
        _ => Err(format!("network_mode `{s}` is not supported (use host, none, bridge or service:<name>)")),
    }
}

pub(super) fn check_cgroup(s: &str) -> Result<(), String> {
    if matches!(s, "host" | "private") { Ok(()) } else { Err(format!("cgroup must be host or private, not `{s}`")) }
}

pub(super) fn check_restart(s: &str) -> Result<(), String> {
    crate::stack::plan::restart(s).map(|_| ())
}

pub(super) fn check_short_port(s: &str) -> Result<(), String> {
    crate::stack::plan::parse_short_port(s).map(|_| ())
}

pub(super) fn check_published(s: &str) -> Result<(), String> {
    if s.is_empty() || s.parse::<u16>().is_ok() { Ok(()) } else { Err(format!("published port `{s}` is not a port number")) }
}

pub(super) fn check_protocol(s: &str) -> Result<(), String> {
    if matches!(s, "tcp" | "udp" | "sctp") { Ok(()) } else { Err(format!("port protocol must be tcp, udp or sctp, not `{s}`")) }
}

pub(super) fn check_volume_type(s: &str) -> Result<(), String> {
    if matches!(s, "bind" | "volume" | "tmpfs") { Ok(()) } else { Err(format!("volume type `{s}` is not supported (use bind, volume or tmpfs)")) }
}

pub(super) fn check_propagation(s: &str) -> Result<(), String> {
    if ["private", "rprivate", "shared", "rshared", "slave", "rslave"].contains(&s) {
        Ok(())
    } else {
        Err(format!("bind propagation `{s}` is not one of private, rprivate, shared, rshared, slave, rslave"))
    }
}

pub(super) fn check_condition(s: &str) -> Result<(), String> {
    match s {
        "service_started" | "service_healthy" => Ok(()),
        "service_completed_successfully" => Err("depends_on condition `service_completed_successfully` is not supported by lab (use service_started or service_healthy)".into()),
        _ => Err(format!("depends_on condition `{s}` is not one of service_started, service_healthy")),
    }
}

pub(super) fn check_context(s: &str) -> Result<(), String> {
    if s.contains("://") || s.starts_with("git@") {
        Err(format!("build context `{s}` is a URL; lab builds from a folder next to the stack file (the class may be offline)"))
    } else if s.is_empty() {
        Err("build context is empty; give the folder that holds the Dockerfile".into())
    } else {
        Ok(())
    }
}
