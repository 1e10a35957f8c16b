//! The value checks of the schema: each takes a value's text and says, in a whole sentence
//! naming the key, why lab cannot use it.

use crate::stack::values::{parse_bytes, parse_duration};
use std::time::Duration;

/// The longest healthcheck time the engine holds: nanoseconds in a signed 64-bit number.
const MAX_HEALTH_TIME: Duration = Duration::from_nanos(i64::MAX as u64);

/// The shortest healthcheck time the engine accepts other than 0 (which means its default).
const MIN_HEALTH_TIME: Duration = Duration::from_millis(1);

/// The smallest memory limit the engine accepts ("Minimum memory limit allowed is 6MB").
const MIN_MEMORY: i64 = 6 << 20;

/// The highest `pids_limit` the kernel's pids controller takes (`PID_MAX_LIMIT`, 2^22).
pub(super) const MAX_PIDS: i128 = 1 << 22;

/// A healthcheck `interval`, `timeout`, `start_period` or `start_interval`.
pub(super) fn check_health_time(s: &str) -> Result<(), String> {
    let d = parse_duration(s)?;
    if d > MAX_HEALTH_TIME {
        Err(format!("`{s}` is longer than the engine can hold (about 292 years)"))
    } else if !d.is_zero() && d < MIN_HEALTH_TIME {
        Err(format!("`{s}` is shorter than 1ms, the engine's shortest (0 means the engine's default)"))
    } else {
        Ok(())
    }
}

/// `stop_grace_period`: lab asks the engine to stop a container within a number of seconds
/// that the API carries as a 32-bit number.
pub(super) fn check_stop_grace(s: &str) -> Result<(), String> {
    let d = parse_duration(s)?;
    if d.as_secs() > i32::MAX as u64 { Err(format!("`{s}` is longer than the engine's stop timeout can hold (about 68 years)")) } else { Ok(()) }
}

/// A long-syntax tmpfs `size`.
pub(super) fn check_size(s: &str) -> Result<(), String> {
    parse_bytes(s).map(|_| ())
}

pub(super) fn check_mem_limit(s: &str) -> Result<(), String> {
    match parse_bytes(s).map_err(|e| format!("mem_limit: {e}"))? {
        bytes if bytes != 0 && bytes < MIN_MEMORY => Err(format!("mem_limit: `{s}` is below 6m, the engine's smallest memory limit (0 means no limit)")),
        _ => Ok(()),
    }
}

pub(super) fn check_cpus(s: &str) -> Result<(), String> {
    match s.parse::<f64>() {
        // What the engine takes: billionths of a CPU in a signed 64-bit number, at least 0.01.
        Ok(c) if c.is_finite() && c >= 0.01 && c * 1e9 < i64::MAX as f64 => Ok(()),
        Ok(c) if c.is_finite() && c > 0.0 && c < 0.01 => Err(format!("cpus: `{s}` is below 0.01, the engine's smallest CPU limit")),
        Ok(c) if c.is_finite() && c > 0.0 => Err(format!("cpus: `{s}` is more CPUs than the engine can represent")),
        _ => Err(format!("cpus: `{s}` is not a number of CPUs such as 0.5 or 2")),
    }
}

pub(super) fn check_image(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        Err("image is empty; give the image to run, such as `busybox:1.36`, or remove the key and use build:".into())
    } else if s.contains(char::is_whitespace) {
        Err(format!("image `{s}` contains spaces, which no image name has"))
    } else {
        Ok(())
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
