//! The socket side of `lab serve`: an accept loop over hyper's HTTP/1 connection builder
//! (axum's own `serve` has neither a header timeout nor a connection cap). Each connection
//! takes a slot; a client over the cap gets a minimal `503` with `Retry-After` and is
//! closed without the app ever running. Requests must send their headers within the header
//! timeout, and the same clock closes keep-alive connections that sit idle.

use super::limits::{DEFAULT_HEADER_TIMEOUT, Limits};
use super::{AppState, HostPolicy, ServerEvent, router};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// How `lab serve` runs its socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Connection and event-stream caps.
    pub limits: Limits,
    /// Time for a request's headers to arrive, and for an idle keep-alive connection to be
    /// closed: hyper waits for the next request's headers under this one clock.
    pub header_timeout: Duration,
    /// Host names students use to reach lab (`--public-host`), besides the loopback names.
    pub public_hosts: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig { limits: Limits::with_connections(256), header_timeout: DEFAULT_HEADER_TIMEOUT, public_hosts: Vec::new() }
    }
}

/// Refusals being written at once; past this, excess connections are simply closed.
const REFUSALS_AT_ONCE: usize = 32;

/// How long a refusal may take to write, and open connections to finish after shutdown.
const REFUSAL_TIME: Duration = Duration::from_secs(2);
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The whole answer to a connection over the cap.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 5\r\n\
Connection: close\r\nContent-Length: 59\r\n\r\nlab has too many open connections; try again in a moment.\r\n";

/// Serves `state` on `listener` until `shutdown` resolves; then open event streams are
/// ended and connections get a few seconds to finish. Fails at once when the listening
/// address and `config.public_hosts` do not make a [`HostPolicy`].
pub async fn run(listener: TcpListener, state: AppState, config: ServerConfig, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    let bound = listener.local_addr()?;
    let hosts = HostPolicy::new(bound, &config.public_hosts).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let state = state.with_hosts(hosts).with_stream_limit(config.limits.max_streams);
    let app = router(state.clone());
    let slots = Arc::new(Semaphore::new(config.limits.max_connections));
    let refusals = Arc::new(Semaphore::new(REFUSALS_AT_ONCE));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(config.header_timeout).keep_alive(true);

    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => (stream, peer),
                Err(err) if accept_failed(&err, shutdown.as_mut()).await => break,
                Err(_) => continue,
            },
            () = shutdown.as_mut() => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refuse(stream, &refusals);
            continue;
        };
        // Event streams and small pages should not wait for Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        // Each request learns its peer's address (the join page's rate limit needs it).
        let service = tower::Layer::layer(&axum::Extension(super::class::Peer(peer)), app.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)));
        tokio::spawn(async move {
            // A timed-out or reset connection is the client's business, not an error of lab's.
            if let Err(err) = connection.await {
                tracing::debug!("connection ended: {err}");
            }
            drop(slot);
        });
    }

    drop(listener);
    state.publish(ServerEvent::Shutdown);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::warn!("some connections were still open {}s after stopping; closing them", SHUTDOWN_GRACE.as_secs());
    }
    Ok(())
}

/// After a failed accept: a connection that died in the queue is nothing; anything else
/// (typically out of file descriptors) is logged and waited out for a moment, so the loop
/// does not spin while nothing can be accepted. True when `shutdown` resolved meanwhile.
async fn accept_failed(err: &std::io::Error, shutdown: std::pin::Pin<&mut impl Future<Output = ()>>) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(err.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return false;
    }
    tracing::error!("cannot accept a connection: {err}");
    tokio::select! {
        () = tokio::time::sleep(Duration::from_millis(250)) => false,
        () = shutdown => true,
    }
}

/// Answers a connection over the cap with [`BUSY`] and closes it, in a task of its own that
/// never touches the app. The client's request is drained after the answer so that closing
/// does not reset the connection (a reset can make the client lose the 503).
fn refuse(stream: TcpStream, refusals: &Arc<Semaphore>) {
    let Ok(permit) = refusals.clone().try_acquire_owned() else {
        tracing::debug!("closed a connection over the cap without an answer");
        return;
    };
    tokio::spawn(async move {
        let mut stream = stream;
        let answer = async {
            stream.write_all(BUSY).await?;
            stream.shutdown().await?;
            let mut sink = [0u8; 1024];
            while stream.read(&mut sink).await? > 0 {}
            Ok::<_, std::io::Error>(())
        };
        let _ = tokio::time::timeout(REFUSAL_TIME, answer).await;
        drop(permit);
    });
}

#[cfg(test)]
mod tests {
    use super::BUSY;

    #[test]
    fn the_busy_answer_declares_its_own_length() {
        let text = std::str::from_utf8(BUSY).expect("ascii");
        let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
        let declared: usize = head.lines().find_map(|l| l.strip_prefix("Content-Length: ")).expect("length").parse().expect("number");
        assert_eq!(declared, body.len());
        assert!(head.starts_with("HTTP/1.1 503 ") && head.contains("Retry-After: "));
    }
}
