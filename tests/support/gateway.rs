//! A stand-in for the gateway: a local HTTP server whose answer a test controls.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};

/// A running stand-in; stops when dropped.
pub struct Gateway {
    pub port: u16,
    status: Arc<AtomicU16>,
    task: tokio::task::JoinHandle<()>,
}

impl Gateway {
    /// Serves `/` with `status` and a body naming the game, on a free port.
    pub async fn start(status: u16) -> Gateway {
        Self::start_on(0, status).await
    }

    /// The same on a given port (0 = any).
    pub async fn start_on(port: u16, status: u16) -> Gateway {
        let shared = Arc::new(AtomicU16::new(status));
        let s = shared.clone();
        let app = Router::new().route(
            "/",
            get(move || {
                let s = s.clone();
                async move { (StatusCode::from_u16(s.load(Ordering::SeqCst)).unwrap_or(StatusCode::OK), "<title>Wolfenstein 3D</title>") }
            }),
        );
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap_or_else(|e| panic!("cannot listen on 127.0.0.1:{port}: {e}"));
        let port = listener.local_addr().expect("addr").port();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Gateway { port, status: shared, task }
    }

    /// Changes the status it answers with.
    pub fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A port nothing listens on (bound, then released).
pub fn silent_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}
