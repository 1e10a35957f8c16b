//! Progress of a stack operation, reported as events so the caller decides how to show
//! them (bars in a terminal, plain lines in CI logs, nothing in tests).

/// A step in a service's life during `up`/`down`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Unchanged and running.
    Kept,
    /// Being created.
    Creating,
    /// Being replaced because its configuration changed.
    Recreating,
    /// Being replaced to join the current network namespace of the service it shares,
    /// which was replaced or restarted since it joined.
    Reattaching,
    /// Being started.
    Starting,
    /// Started; waiting for its healthcheck.
    WaitingHealthy,
    /// Up.
    Running,
    /// Being stopped and removed.
    Removing,
    /// Gone.
    Removed,
}

impl Phase {
    /// Lower-case words for output.
    pub fn describe(self) -> &'static str {
        match self {
            Phase::Kept => "unchanged",
            Phase::Creating => "creating",
            Phase::Recreating => "recreating (configuration changed)",
            Phase::Reattaching => "recreating (to rejoin the network it shares)",
            Phase::Starting => "starting",
            Phase::WaitingHealthy => "waiting until healthy",
            Phase::Running => "running",
            Phase::Removing => "removing",
            Phase::Removed => "removed",
        }
    }
}

/// One progress event.
#[derive(Debug, Clone, Copy)]
pub enum StackEvent<'a> {
    /// Image pull progress: the layer (if any), the engine's status text, and bytes.
    Pull {
        /// Image reference.
        image: &'a str,
        /// Layer id.
        layer: Option<&'a str>,
        /// e.g. "Downloading".
        status: &'a str,
        /// Bytes done.
        current: Option<u64>,
        /// Bytes in all.
        total: Option<u64>,
    },
    /// An image finished pulling.
    Pulled {
        /// Image reference.
        image: &'a str,
    },
    /// An image could not be pulled (the reason comes with the result, once).
    PullFailed {
        /// Image reference.
        image: &'a str,
    },
    /// Image build progress: one line of the builder's output (a `Step n/m` line, a
    /// command's output), only while lab actually builds.
    Build {
        /// The service whose `build:` this is.
        service: &'a str,
        /// The tag being built.
        image: &'a str,
        /// The line.
        line: &'a str,
    },
    /// An image finished building.
    Built {
        /// The service whose `build:` this is.
        service: &'a str,
        /// The tag built.
        image: &'a str,
    },
    /// Another `up` or `down` of the project holds its lock; lab waits for it.
    WaitingForLock {
        /// The project.
        project: &'a str,
        /// Who holds the lock, in words.
        holder: &'a str,
    },
    /// A service changed phase.
    Service {
        /// Service name.
        service: &'a str,
        /// Its new phase.
        phase: Phase,
    },
    /// A service failed.
    ServiceFailed {
        /// Service name.
        service: &'a str,
        /// Why.
        reason: &'a str,
    },
}

/// Receives progress events; must be cheap and must not block.
pub trait Progress: Send + Sync {
    /// Handles one event.
    fn event(&self, event: StackEvent<'_>);
}

/// Ignores everything.
pub struct Quiet;

impl Progress for Quiet {
    fn event(&self, _: StackEvent<'_>) {}
}
