//! Network helpers shared by every stage that talks to a service (Marathon, Mesos, the
//! gateway, a Docker engine): the HTTP client set-up, short descriptions of request
//! failures, and the host part of a URL. TLS is rustls with the ring provider, the same one bollard uses, so the binary
//! carries one crypto library and no OpenSSL.

use std::sync::Once;

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
