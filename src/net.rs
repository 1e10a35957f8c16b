//! Network helpers shared by every stage that talks to a service (Marathon, Mesos, the
//! gateway, a Docker engine): the shared HTTP clients, short descriptions of request
//! failures, and the host part of a URL. TLS is rustls with the ring provider, the same one bollard uses, so the binary
//! carries one crypto library and no OpenSSL.

use std::sync::{Once, OnceLock};
use std::time::Duration;

/// How long a check's probe (Mesos, the gateway) may take, connecting included.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// How long connecting to a service may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// No HTTP client could be set up (TLS roots, the system's configuration, or no file
/// descriptors left). Building one never panics; this is returned instead.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot set up an HTTP client: {0}")]
pub struct ClientError(String);

/// Installs the process-wide rustls crypto provider (idempotent).
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Fails only if another provider was installed first, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A reqwest client builder with the crypto provider in place.
pub fn client_builder() -> reqwest::ClientBuilder {
    install_crypto_provider();
    reqwest::Client::builder().user_agent(concat!("lab/", env!("CARGO_PKG_VERSION")))
}

/// The process's client for services (Marathon): built on first use and shared (it is a
/// handle to one connection pool). It follows redirects and has no total timeout, so it
/// suits event streams; give other requests one with `RequestBuilder::timeout`.
pub fn http_client() -> Result<reqwest::Client, ClientError> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    shared(&CLIENT, || client_builder().connect_timeout(CONNECT_TIMEOUT))
}

/// The process's client for probes: [`PROBE_TIMEOUT`] per request, and redirects are not
/// followed (a 3xx is the answer being checked).
pub fn probe_client() -> Result<reqwest::Client, ClientError> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    shared(&CLIENT, || client_builder().timeout(PROBE_TIMEOUT).connect_timeout(PROBE_TIMEOUT).redirect(reqwest::redirect::Policy::none()))
}

/// The client in `cell`, building it first if needed. A failure is not remembered, so the
/// next call tries again (running out of file descriptors passes).
fn shared(cell: &OnceLock<reqwest::Client>, builder: impl FnOnce() -> reqwest::ClientBuilder) -> Result<reqwest::Client, ClientError> {
    if let Some(client) = cell.get() {
        return Ok(client.clone());
    }
    let built = builder().build().map_err(|e| ClientError(e.to_string()))?;
    Ok(cell.get_or_init(|| built).clone())
}

/// A short, student-readable reason for a failed request.
pub fn describe_error(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "no answer in time".into()
    } else if err.is_connect() {
        "connection refused".into()
    } else {
        err.to_string()
    }
}

/// The host part of a URL or `DOCKER_HOST` (`tcp://10.0.0.5:2376` → `10.0.0.5`); `localhost`
/// when there is none or it is the any-address.
pub fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    let host = if authority.starts_with('[') {
        authority.split(']').next().map(|h| format!("{h}]")).unwrap_or_default()
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h).to_owned()
    };
    if host.is_empty() || host == "0.0.0.0" { "localhost".into() } else { host }
}

#[cfg(test)]
mod tests {
    #[test]
    fn host_is_taken_from_the_url() {
        assert_eq!(super::host_of("http://localhost:8080"), "localhost");
        assert_eq!(super::host_of("https://10.1.2.3:8443/marathon"), "10.1.2.3");
        assert_eq!(super::host_of("http://box"), "box");
        assert_eq!(super::host_of("http://[::1]:8080"), "[::1]");
        assert_eq!(super::host_of("tcp://0.0.0.0:2375"), "localhost");
    }
}
