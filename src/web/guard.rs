//! Who may talk to lab: requests must name lab by one of its own host names (which defeats
//! DNS rebinding, where a foreign site's name is pointed at this machine), and requests that
//! change something must come from lab's own pages (cross-site request forgery protection,
//! tower-http's `Sec-Fetch-Site`/`Origin` check).

use super::{AppState, WebError};
use axum::extract::{Request, State};
use axum::http::header::HOST;
use axum::http::uri::Authority;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use tower_http::csrf::{CsrfLayer, ProtectionError};

/// A host name lab answers to, with the port it must come with (`None`: any port).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Allowed {
    host: String,
    port: Option<u16>,
}

/// The host names lab answers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPolicy {
    allowed: Vec<Allowed>,
    /// The address to suggest on the refusal page.
    suggestion: Option<String>,
}

/// A `--public-host` value or listening address lab cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostPolicyError {
    /// Not a host name, IP address or `[IPv6]`, with an optional port.
    #[error("--public-host `{0}` is not a host name or address (examples: lab.school.lan, 192.168.1.20, lab.school.lan:8080)")]
    Invalid(String),
    /// Listening on every interface without saying which names students use.
    #[error(
        "lab listens on {0}, so other machines can reach it: say which name or address students type with --public-host \
         (e.g. --public-host 192.168.1.20 or --public-host lab.school.lan; repeat it for several). Requests naming any other \
         host are refused, so that web pages on other sites cannot reach lab through DNS rebinding"
    )]
    NeedsPublicHost(SocketAddr),
}

const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

impl HostPolicy {
    /// Names for a server listening on `bound`: `localhost`, `127.0.0.1` and `[::1]` with
    /// the bound port; the bound address itself when it is one particular address; and each
    /// of `public_hosts` (`HOST` accepts any port, `HOST:PORT` only that one). Listening on
    /// every interface (`0.0.0.0`, `[::]`) requires at least one public host.
    pub fn new(bound: SocketAddr, public_hosts: &[String]) -> Result<HostPolicy, HostPolicyError> {
        let port = bound.port();
        let mut allowed: Vec<Allowed> = LOOPBACK_NAMES.iter().map(|h| Allowed { host: (*h).to_owned(), port: Some(port) }).collect();
        let ip = bound.ip();
        if ip.is_unspecified() && public_hosts.is_empty() {
            return Err(HostPolicyError::NeedsPublicHost(bound));
        }
        if !ip.is_unspecified() && !ip.is_loopback() {
            let host = if ip.is_ipv6() { format!("[{ip}]") } else { ip.to_string() };
            allowed.push(Allowed { host, port: Some(port) });
        }
        for raw in public_hosts {
            let authority = parse_authority(raw).ok_or_else(|| HostPolicyError::Invalid(raw.clone()))?;
            allowed.push(Allowed { host: authority.host().to_ascii_lowercase(), port: authority.port_u16() });
        }
        let suggestion = match public_hosts.first() {
            Some(host) => format!("http://{host}/"),
            None => format!("http://127.0.0.1:{port}/"),
        };
        Ok(HostPolicy { allowed, suggestion: Some(suggestion) })
    }

    /// The policy of a server whose address is not known yet (tests driving the router
    /// directly): the loopback names, on any port.
    pub fn loopback() -> HostPolicy {
        HostPolicy { allowed: LOOPBACK_NAMES.iter().map(|h| Allowed { host: (*h).to_owned(), port: None }).collect(), suggestion: None }
    }

    /// Whether a `Host` header (or a request target's authority) names lab.
    pub fn allows(&self, host: &str) -> bool {
        let Some(authority) = parse_authority(host) else { return false };
        let name = authority.host().to_ascii_lowercase();
        // No port in the header means the scheme's default.
        let port = authority.port_u16().unwrap_or(80);
        self.allowed.iter().any(|a| a.host == name && a.port.is_none_or(|p| p == port))
    }
}

/// A bare `host[:port]`: no user part, path, or empty or non-numeric port.
fn parse_authority(raw: &str) -> Option<Authority> {
    if raw.is_empty() || raw.contains(['@', '/', '?', '#']) {
        return None;
    }
    let authority = raw.parse::<Authority>().ok()?;
    let has_port = raw.len() > authority.host().len();
    let sound = !authority.host().is_empty() && (!has_port || authority.port_u16().is_some());
    sound.then_some(authority)
}

/// Middleware: refuses (421) a request naming a host lab does not answer to. A request
/// without `Host` is let through: every browser sends one, so only non-browser clients
/// (which could send any name anyway) omit it.
pub async fn check_host(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let header = request.headers().get(HOST).map(|v| v.to_str().unwrap_or("\u{fffd}"));
    let target = request.uri().authority().map(Authority::as_str);
    for host in [header, target].into_iter().flatten() {
        if !state.hosts.allows(host) {
            tracing::debug!("refused a request for host {host:?}");
            return WebError::WrongHost { host: host.chars().take(100).collect(), suggestion: state.hosts.suggestion.clone() }.into_response();
        }
    }
    next.run(request).await
}

/// Cross-site request forgery protection for every method but GET, HEAD and OPTIONS:
/// `Sec-Fetch-Site` must be `same-origin` or `none`, else `Origin` must name the request's
/// own host; requests with neither header (curl, lab's CLI) pass. Refusals are a 403 page.
pub fn same_origin_layer() -> CsrfLayer<fn(ProtectionError) -> Response> {
    fn refuse(error: ProtectionError) -> Response {
        tracing::debug!("refused a cross-site request: {error}");
        WebError::CrossSite.into_response()
    }
    CsrfLayer::new().with_rejection_response(refuse as fn(ProtectionError) -> Response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(bound: &str, public: &[&str]) -> HostPolicy {
        let public: Vec<String> = public.iter().map(|s| (*s).to_owned()).collect();
        HostPolicy::new(bound.parse().expect("address"), &public).expect("policy")
    }

    #[test]
    fn loopback_binding_answers_to_loopback_names_with_its_port() {
        let p = policy("127.0.0.1:7070", &[]);
        for ok in ["localhost:7070", "127.0.0.1:7070", "[::1]:7070", "LOCALHOST:7070"] {
            assert!(p.allows(ok), "{ok}");
        }
        for refused in ["evil.example:7070", "localhost:7071", "localhost", "127.0.0.2:7070", "localhost.:7070", "x@localhost:7070", "", "localhost:7070/x", "localhost:"] {
            assert!(!p.allows(refused), "{refused}");
        }
        assert!(policy("127.0.0.1:80", &[]).allows("localhost"), "no port means 80");
    }

    #[test]
    fn public_hosts_are_added_with_or_without_a_port() {
        let p = policy("0.0.0.0:7070", &["lab.school.lan", "10.1.2.3:8080"]);
        for ok in ["lab.school.lan:7070", "lab.school.lan", "Lab.School.Lan:443", "10.1.2.3:8080", "localhost:7070"] {
            assert!(p.allows(ok), "{ok}");
        }
        for refused in ["10.1.2.3:7070", "evil.example:7070", "school.lan:7070"] {
            assert!(!p.allows(refused), "{refused}");
        }
    }

    #[test]
    fn a_particular_address_answers_to_itself() {
        assert!(policy("192.168.1.20:7070", &[]).allows("192.168.1.20:7070"));
        assert!(policy("[fe80::1]:7070", &[]).allows("[fe80::1]:7070"));
    }

    #[test]
    fn every_interface_needs_a_public_host_and_bad_names_are_refused() {
        let any: SocketAddr = "0.0.0.0:7070".parse().expect("address");
        let err = HostPolicy::new(any, &[]).expect_err("needs --public-host");
        assert!(err.to_string().contains("--public-host"), "{err}");
        for bad in ["http://x", "a/b", "x@y", "", "host:port"] {
            assert_eq!(HostPolicy::new(any, &[bad.to_owned()]), Err(HostPolicyError::Invalid(bad.to_owned())), "{bad}");
        }
    }

    #[test]
    fn the_unbound_policy_accepts_loopback_names_only() {
        let p = HostPolicy::loopback();
        assert!(p.allows("127.0.0.1:41234"));
        assert!(!p.allows("evil.example"));
    }
}
