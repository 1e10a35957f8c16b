//! How much the web server takes on at once: the process's open-file limit (raised from
//! its soft to its hard value at start), and the connection and event-stream caps derived
//! from it so that a crowd of clients meets a clear 503 instead of exhausting file
//! descriptors (which used to stop every page and, worse, the database).

use std::time::Duration;

/// Default time a client gets to send a request's headers, counted from when the
/// connection is ready for a request. The same clock closes idle keep-alive connections.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// File descriptors kept free of connections: the database, content files, the watcher,
/// calls to Docker and Marathon, and the connections being refused with a 503.
const RESERVED_FDS: u64 = 160;

/// Connections beyond this are not worth their memory even when descriptors allow them:
/// a classroom needs a few per student.
const MAX_DEFAULT_CONNECTIONS: u64 = 4096;

/// Fewest connections ever allowed, so a tiny descriptor limit still serves a browser.
const MIN_CONNECTIONS: u64 = 16;

/// The open-file limit (`RLIMIT_NOFILE`) before and after [`raise_fd_limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdLimit {
    /// The soft limit lab started with.
    pub before: u64,
    /// The soft limit now in force.
    pub after: u64,
    /// The hard limit: the most an unprivileged process may raise its soft limit to.
    pub hard: u64,
}

/// Raises this process's soft open-file limit to its hard limit (with the `rlimit` crate)
/// and says what it was and is. Shells commonly start programs with a soft limit of 1024
/// while allowing far more; each open connection costs one descriptor.
pub fn raise_fd_limit() -> std::io::Result<FdLimit> {
    let (before, hard) = rlimit::Resource::NOFILE.get()?;
    let wanted = raised_soft_limit(before, hard);
    if wanted > before {
        rlimit::Resource::NOFILE.set(wanted, hard)?;
    }
    let (after, hard) = rlimit::Resource::NOFILE.get()?;
    Ok(FdLimit { before, after, hard })
}

/// The soft limit to ask for: the hard limit, unless that is "unlimited", which some
/// systems (macOS) refuse as a soft value; then a generous finite number.
fn raised_soft_limit(soft: u64, hard: u64) -> u64 {
    const FINITE: u64 = 1 << 20;
    let target = if hard == rlimit::INFINITY { FINITE } else { hard };
    soft.max(target)
}

/// The caps `lab serve` applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Open connections; one more is answered `503 Service Unavailable` and closed.
    pub max_connections: usize,
    /// Open event streams (`GET /events`); kept well below `max_connections` so pages
    /// always find a connection.
    pub max_streams: usize,
}

impl Limits {
    /// Caps that fit in `fd_limit` descriptors: connections get what the reserve leaves
    /// (at most 4096), event streams half of that.
    pub fn for_fd_limit(fd_limit: u64) -> Limits {
        let connections = fd_limit.saturating_sub(RESERVED_FDS).clamp(MIN_CONNECTIONS, MAX_DEFAULT_CONNECTIONS);
        Limits::with_connections(usize::try_from(connections).unwrap_or(usize::MAX))
    }

    /// `max_connections` as given, event streams at half of it (at least one).
    pub fn with_connections(max_connections: usize) -> Limits {
        let max_connections = max_connections.max(2);
        Limits { max_connections, max_streams: (max_connections / 2).max(1) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raising_the_limit_reaches_the_hard_limit_and_reports_both_values() {
        let limit = raise_fd_limit().expect("getrlimit/setrlimit");
        assert!(limit.after >= limit.before, "{limit:?}");
        assert_eq!(limit.after, raised_soft_limit(limit.before, limit.hard), "{limit:?}");
        assert_eq!(rlimit::Resource::NOFILE.get().expect("getrlimit").0, limit.after, "the reported value is the one in force");
        // Raising again changes nothing.
        let again = raise_fd_limit().expect("again");
        assert_eq!((again.before, again.after), (limit.after, limit.after));
    }

    #[test]
    fn the_soft_limit_goes_to_the_hard_limit_and_never_down() {
        assert_eq!(raised_soft_limit(1024, 524_288), 524_288);
        assert_eq!(raised_soft_limit(1024, 1024), 1024);
        assert_eq!(raised_soft_limit(4096, 1024), 4096, "never lowered");
        assert_eq!(raised_soft_limit(256, rlimit::INFINITY), 1 << 20, "unlimited becomes a finite number");
    }

    #[test]
    fn caps_fit_inside_the_descriptor_limit() {
        let at_1024 = Limits::for_fd_limit(1024);
        assert_eq!(at_1024, Limits { max_connections: 864, max_streams: 432 });
        assert!(at_1024.max_connections as u64 + RESERVED_FDS <= 1024);
        assert_eq!(Limits::for_fd_limit(1 << 20).max_connections, 4096, "plenty of descriptors: capped for memory");
        assert_eq!(Limits::for_fd_limit(64).max_connections, 16, "a tiny limit still serves a browser");
        assert_eq!(Limits::with_connections(20), Limits { max_connections: 20, max_streams: 10 });
        assert_eq!(Limits::with_connections(0).max_streams, 1);
    }
}
