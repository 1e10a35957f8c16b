//! What a check talks to: the student's Marathon, Mesos master, the host where the gateway's
//! service ports are published, and their site folder — resolved from the running project's
//! labels, with flags taking precedence.

use crate::marathon::Marathon;
use crate::net::host_of;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// How long any one probe may take.
pub const PROBE_TIMEOUT: Duration = crate::net::PROBE_TIMEOUT;

/// One student's endpoints.
#[derive(Debug, Clone)]
pub struct Target {
    /// Marathon.
    pub marathon: Marathon,
    /// The Mesos master's URL.
    pub mesos: Option<String>,
    /// Where the gateway's service ports are reached.
    pub host: String,
    /// Service port → host port, where the stack publishes a service port elsewhere
    /// (`--port-base`); unlisted ports are used as they are.
    pub service_ports: HashMap<u16, u16>,
    /// The student's site folder.
    pub site_dir: Option<PathBuf>,
}

impl Target {
    /// A target with explicit endpoints; `host` defaults to Marathon's host.
    pub fn new(marathon_url: &str, mesos_url: Option<String>, host: Option<String>, site_dir: Option<PathBuf>) -> Target {
        let host = host.unwrap_or_else(|| host_of(marathon_url));
        // Probes go through `net::probe_client`, shared by every target.
        Target { marathon: Marathon::with_timeout(marathon_url, PROBE_TIMEOUT), mesos: mesos_url, host, service_ports: HashMap::new(), site_dir }
    }

    /// The URL for `path` on service port `port`.
    pub fn service_url(&self, port: u16, path: &str) -> String {
        let published = self.service_ports.get(&port).copied().unwrap_or(port);
        let path = if path.starts_with('/') { path.to_owned() } else { format!("/{path}") };
        format!("http://{}:{published}{path}", self.host)
    }
}

/// Endpoint overrides from flags.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--marathon`.
    pub marathon: Option<String>,
    /// `--mesos`.
    pub mesos: Option<String>,
    /// `--host`.
    pub host: Option<String>,
    /// `--site`.
    pub site: Option<PathBuf>,
}

/// Resolves the target for `project`: flags first, then the running stack's labels (only
/// asked when `--marathon` is not given, and only briefly), then the solo defaults
/// (localhost and the course ports).
pub async fn resolve(project: &str, overrides: Overrides) -> Target {
    let mut marathon = overrides.marathon;
    let mut mesos = overrides.mesos;
    let mut service_ports = HashMap::new();
    if marathon.is_none() {
        let lookup = async {
            let engine = crate::stack::Engine::connect().await.ok()?;
            crate::stack::status::status(&engine, project).await.ok()
        };
        if let Ok(Some(state)) = tokio::time::timeout(Duration::from_secs(3), lookup).await {
            marathon = state.endpoints.get("marathon").cloned();
            mesos = mesos.or_else(|| state.endpoints.get("mesos").cloned());
            for port in state.services.iter().flat_map(|s| &s.ports) {
                service_ports.insert(port.container_port, port.host_port);
            }
        }
    }
    let marathon = marathon.unwrap_or_else(|| "http://localhost:8080".into());
    let mesos = mesos.or_else(|| Some(format!("http://{}:5050", host_of(&marathon))));
    let site = overrides.site.or_else(|| {
        let dir = crate::marathon::workspace::site_dir(&crate::stack::project::workspace_dir(project));
        dir.is_dir().then_some(dir)
    });
    let mut target = Target::new(&marathon, mesos, overrides.host, site);
    target.service_ports = service_ports;
    target
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_ports_map_to_published_ports() {
        let mut t = Target::new("http://localhost:8080", None, None, None);
        assert_eq!(t.service_url(8888, "/"), "http://localhost:8888/");
        t.service_ports.insert(8888, 30003);
        assert_eq!(t.service_url(8888, "x"), "http://localhost:30003/x");
    }
}
