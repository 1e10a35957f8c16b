//! `lab serve`: the web UI for the course, with the limits that make it safe to open to a
//! classroom network (open-file limit, connection and event-stream caps, host names).

use super::Outcome;
use crate::course::{ContentSource, Course};
use crate::store::{DbLocation, Store};
use crate::web::{self, AppState, CheckTarget, HostPolicy, Limits, ServerConfig};
use anyhow::{Context, bail};
use std::net::SocketAddr;

/// Arguments of `lab serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on. Use 0.0.0.0:7070 (with --public-host) to let other machines in.
    #[arg(long, env = "LAB_ADDR", default_value = "127.0.0.1:7070")]
    addr: SocketAddr,

    /// A name or address students use to reach this server (HOST, or HOST:PORT for only that
    /// port); repeat for several. Requests naming other hosts are refused. Needed with
    /// --addr 0.0.0.0:PORT.
    #[arg(long = "public-host", env = "LAB_PUBLIC_HOST", value_name = "HOST", value_delimiter = ',')]
    public_hosts: Vec<String>,

    /// Most connections open at once; more are answered 503 (try again). Default: from the
    /// open-file limit, at most 4096.
    #[arg(long, env = "LAB_MAX_CONNECTIONS", value_name = "N")]
    max_connections: Option<usize>,

    /// Most live-update streams open at once (one per open page); more are answered 503.
    /// Must be below --max-connections. Default: half of --max-connections.
    #[arg(long, env = "LAB_MAX_STREAMS", value_name = "N")]
    max_streams: Option<usize>,

    /// SQLite database: a file path, a sqlite: URL, or :memory:.
    /// Default: lab.db in lab's data folder (~/.local/share/lab).
    #[arg(long, env = "LAB_DB", value_name = "PATH|URL")]
    db: Option<String>,

    #[command(flatten)]
    target: super::stack::ProjectArgs,

    #[command(flatten)]
    class: super::class::ClassArgs,

    #[command(flatten)]
    engine: super::engine::EngineArgs,

    /// Serve course content from this folder (with labs/ and slides/) instead of the
    /// built-in course; pages reload when files change.
    #[arg(long, env = "LAB_CONTENT", value_name = "DIR")]
    pub(super) content: Option<std::path::PathBuf>,
}

pub async fn run(args: ServeArgs, content: ContentSource) -> anyhow::Result<Outcome> {
    if args.engine.kubernetes() && !args.class.classroom {
        bail!("--engine kubernetes runs a class's stacks: add --classroom (a solo run uses the local Docker engine)");
    }
    let config = server_config(&args)?;
    let course = {
        let content = content.clone();
        tokio::task::spawn_blocking(move || Course::load(&content)).await?
    }
    .with_context(|| format!("cannot read course content from {}", content.describe()))?;
    for err in course.errors() {
        tracing::warn!("{err}");
    }

    let db = args.db.as_deref().map_or_else(DbLocation::default_file, DbLocation::parse);
    let store = Store::open(&db).await?;
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {} (is another lab running? try --addr 127.0.0.1:0)", args.addr))?;
    let addr = listener.local_addr()?;

    let state = if args.class.classroom {
        let (state, opened) = super::class::open(&args.class, &args.engine, course, store, &content, &args.public_hosts, addr).await?;
        eprintln!("{}", super::class::announce(&opened, &args.public_hosts, addr));
        state
    } else {
        let student = store.student(&args.target.student()).await?;
        // Exercise status follows the student's own stack, found by its Docker labels.
        let state = AppState::new(course, store, student).with_checks(CheckTarget::Project(args.target.project()));
        web::spawn_live_checks(state.clone(), std::time::Duration::from_secs(15));
        state
    };
    web::spawn_reloader(state.clone(), content.clone())
        .with_context(|| format!("cannot watch {} for changes", content.describe()))?;
    eprintln!("lab is serving {} at http://{addr}/ (database: {db}; Ctrl-C stops)", content.describe());
    web::run(listener, state, config, shutdown_signal()).await?;
    Ok(Outcome::Success)
}

/// Raises the open-file limit and turns the flags into the server's configuration; every
/// mistake is reported before anything starts.
fn server_config(args: &ServeArgs) -> anyhow::Result<ServerConfig> {
    HostPolicy::new(args.addr, &args.public_hosts)?;
    let fd_limit = match web::raise_fd_limit() {
        Ok(limit) => {
            if limit.after > limit.before {
                tracing::debug!("open-file limit raised from {} to {}", limit.before, limit.after);
            }
            Some(limit.after)
        }
        Err(err) => {
            tracing::warn!("cannot read or raise the open-file limit ({err}); using small connection caps");
            None
        }
    };
    let limits = limits(args.max_connections, args.max_streams, fd_limit)?;
    tracing::info!("at most {} connections and {} live-update streams at once", limits.max_connections, limits.max_streams);
    Ok(ServerConfig { limits, public_hosts: args.public_hosts.clone(), ..ServerConfig::default() })
}

/// The caps from the flags, else from the open-file limit (1024 when unknown).
fn limits(max_connections: Option<usize>, max_streams: Option<usize>, fd_limit: Option<u64>) -> anyhow::Result<Limits> {
    let mut limits = match max_connections {
        Some(0) | Some(1) => bail!("--max-connections must be at least 2"),
        Some(n) => Limits::with_connections(n),
        None => Limits::for_fd_limit(fd_limit.unwrap_or(1024)),
    };
    if let Some(streams) = max_streams {
        if streams == 0 || streams >= limits.max_connections {
            bail!(
                "--max-streams {streams} must be between 1 and {} (below --max-connections, so that open pages always leave connections for page requests)",
                limits.max_connections - 1
            );
        }
        limits.max_streams = streams;
    }
    Ok(limits)
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

#[cfg(test)]
mod tests {
    use super::limits;
    use crate::web::Limits;

    #[test]
    fn caps_come_from_the_flags_or_the_open_file_limit() {
        assert_eq!(limits(None, None, Some(1024)).unwrap(), Limits::for_fd_limit(1024));
        assert_eq!(limits(None, None, None).unwrap(), Limits::for_fd_limit(1024));
        assert_eq!(limits(Some(20), None, Some(1 << 20)).unwrap(), Limits { max_connections: 20, max_streams: 10 });
        assert_eq!(limits(Some(20), Some(15), None).unwrap(), Limits { max_connections: 20, max_streams: 15 });
        let err = limits(Some(20), Some(20), None).unwrap_err().to_string();
        assert!(err.contains("between 1 and 19"), "{err}");
        assert!(limits(Some(1), None, None).is_err());
    }
}
