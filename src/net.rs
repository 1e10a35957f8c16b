//! HTTP client set-up shared by every stage that talks to a service (Marathon, Mesos, the
//! gateway). TLS is rustls with the ring provider, the same one bollard uses, so the binary
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
