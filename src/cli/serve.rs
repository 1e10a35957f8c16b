//! `lab serve`: the web UI for the course.

use super::Outcome;
use crate::course::{ContentSource, Course};
use crate::store::{DbLocation, Store};
use crate::web::{self, AppState, CheckTarget};
use anyhow::Context;
use std::net::SocketAddr;

/// Arguments of `lab serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on. Use 0.0.0.0:7070 to let other machines in.
    #[arg(long, env = "LAB_ADDR", default_value = "127.0.0.1:7070")]
    addr: SocketAddr,

    /// SQLite database: a file path, a sqlite: URL, or :memory:.
    /// Default: lab.db in lab's data folder (~/.local/share/lab).
    #[arg(long, env = "LAB_DB", value_name = "PATH|URL")]
    db: Option<String>,

    #[command(flatten)]
    target: super::stack::ProjectArgs,
}

pub async fn run(args: ServeArgs, content: ContentSource) -> anyhow::Result<Outcome> {
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
    let student = store.student(&args.target.student()).await?;

    // Exercise status follows the student's own stack, found by its Docker labels.
    let state = AppState::new(course, store, student).with_checks(CheckTarget::Project(args.target.project()));
    web::spawn_live_checks(state.clone(), std::time::Duration::from_secs(15));
    web::spawn_reloader(state.clone(), content.clone())
        .with_context(|| format!("cannot watch {} for changes", content.describe()))?;

    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {} (is another lab running? try --addr 127.0.0.1:0)", args.addr))?;
    let addr = listener.local_addr()?;
    eprintln!("lab is serving {} at http://{addr}/ (database: {db}; Ctrl-C stops)", content.describe());
    web::run(listener, state, shutdown_signal()).await?;
    Ok(Outcome::Success)
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
