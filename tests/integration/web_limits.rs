//! The server's timeouts and caps (issue 9, point 10): slow or idle clients are closed, a
//! crowd of event streams meets a 503 while pages keep answering, and connections over the
//! cap get a minimal 503 — in-process with small limits, and as the `lab` binary under a
//! 1024 file-descriptor limit with 1100 streams.

use lab::web::{Limits, ServerConfig};
use std::time::{Duration, Instant};
use crate::support::{TestApp, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Well past every timeout a test sets: only a broken server makes a test wait this long.
const PATIENCE: Duration = Duration::from_secs(15);

fn config(connections: usize, streams: usize, header_timeout: Duration) -> ServerConfig {
    ServerConfig { limits: Limits { max_connections: connections, max_streams: streams }, header_timeout, ..ServerConfig::default() }
}

async fn connect(server: &TestServer) -> TcpStream {
    TcpStream::connect(server.addr()).await.expect("connect")
}

/// Reads until the server closes the connection; what it sent and how long that took.
async fn read_until_closed(stream: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(PATIENCE, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server kept the connection open for {PATIENCE:?}; it sent: {}", String::from_utf8_lossy(&seen));
    (String::from_utf8_lossy(&seen).into_owned(), started.elapsed())
}

/// Reads until `needle` has arrived.
async fn read_until(stream: &mut TcpStream, needle: &str) -> String {
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(PATIENCE, async {
        while !seen.contains(needle) {
            let n = stream.read(&mut buf).await.expect("read");
            assert!(n > 0, "closed before {needle:?}; got: {seen}");
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {needle:?} in time; got: {seen}"));
    seen
}

async fn get(url: &str) -> reqwest::Result<reqwest::Response> {
    lab::net::client_builder().build()?.get(url).send().await
}

/// Opens `GET /events` on a raw connection and returns it with the status line and all
/// that was read; for a stream, once its greeting has arrived.
async fn open_stream(server: &TestServer) -> (TcpStream, String, String) {
    let mut stream = connect(server).await;
    stream.write_all(format!("GET /events HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n", server.addr()).as_bytes()).await.expect("send");
    let mut seen = read_until(&mut stream, "\r\n\r\n").await;
    let status = seen.lines().next().unwrap_or_default().to_owned();
    if status.contains(" 200 ") && !seen.contains("event: hello") {
        seen.push_str(&read_until(&mut stream, "event: hello").await);
    }
    (stream, status, seen)
}

#[tokio::test]
async fn a_request_whose_headers_never_finish_is_disconnected() {
    let timeout = Duration::from_secs(1);
    let server = TestServer::start_with(TestApp::builtin().await.state, config(20, 10, timeout)).await;
    let mut slow = connect(&server).await;
    slow.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").await.expect("send");
    let (sent, after) = read_until_closed(&mut slow).await;
    assert!(after >= timeout - Duration::from_millis(100), "closed after {after:?}, before the header timeout");
    assert!(!sent.contains("200 OK"), "{sent}");
    // The server is fine.
    assert_eq!(get(&server.url("/healthz")).await.map(|r| r.status()).ok(), Some(reqwest::StatusCode::OK));
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let timeout = Duration::from_secs(1);
    let server = TestServer::start_with(TestApp::builtin().await.state, config(20, 10, timeout)).await;
    let mut idle = connect(&server).await;
    idle.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr()).as_bytes()).await.expect("send");
    let answer = read_until(&mut idle, "\r\n\r\nok").await;
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(!answer.to_ascii_lowercase().contains("connection: close"), "kept alive at first: {answer}");
    let (more, after) = read_until_closed(&mut idle).await;
    assert!(more.is_empty(), "nothing more was asked: {more}");
    assert!(after >= timeout - Duration::from_millis(100), "closed after {after:?}");
}

#[tokio::test]
async fn event_streams_over_the_cap_get_503_while_pages_still_answer() {
    let server = TestServer::start_with(TestApp::builtin().await.state, config(20, 10, Duration::from_secs(30))).await;
    let mut open = Vec::new();
    for n in 0..10 {
        let (stream, status, _) = open_stream(&server).await;
        assert_eq!(status, "HTTP/1.1 200 OK", "stream {n}");
        open.push(stream);
    }
    for n in 0..5 {
        let (mut extra, status, mut seen) = open_stream(&server).await;
        assert_eq!(status, "HTTP/1.1 503 Service Unavailable", "extra stream {n}");
        seen.push_str(&read_until_closed(&mut extra).await.0);
        assert!(seen.contains("lab is busy"), "{seen}");
    }
    let client = lab::net::client_builder().build().expect("client");
    let home = client.get(server.url("/")).send().await.expect("home");
    assert_eq!(home.status(), 200, "pages answer while every stream slot is taken");
    let busy = client.get(server.url("/events")).send().await.expect("events");
    assert_eq!(busy.status(), 503);
    assert_eq!(busy.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("10"));

    // A page that goes away gives its slot back.
    drop(open.pop());
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (_stream, status, _) = open_stream(&server).await;
        if status == "HTTP/1.1 200 OK" {
            break;
        }
        assert!(Instant::now() < deadline, "the closed stream's slot never came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn connections_over_the_cap_get_a_minimal_503_and_slots_come_back() {
    let server = TestServer::start_with(TestApp::builtin().await.state, config(4, 2, Duration::from_secs(30))).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(connect(&server).await);
    }
    // Give the server a moment to accept them all before the fifth arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = connect(&server).await;
    extra.write_all(format!("GET / HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr()).as_bytes()).await.expect("send");
    let (answer, _) = read_until_closed(&mut extra).await;
    assert!(answer.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{answer}");
    assert!(answer.contains("\r\nRetry-After: 5\r\n") && answer.contains("too many open connections"), "{answer}");

    held.clear();
    let deadline = Instant::now() + PATIENCE;
    loop {
        match get(&server.url("/healthz")).await {
            Ok(res) if res.status() == 200 => break,
            _ => assert!(Instant::now() < deadline, "slots never came back"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The reported failure: `lab serve` under a 1024 descriptor limit, 1100 pages following
/// live updates. Pages must keep answering, the caps must hold, and nothing may be lost.
#[tokio::test]
async fn eleven_hundred_event_streams_under_a_1024_fd_limit_leave_pages_answering() {
    const CLIENTS: usize = 1100;
    // This test's own end (lab serve is another process) needs a descriptor per client.
    let own = lab::web::raise_fd_limit().expect("fd limit");
    if own.after < CLIENTS as u64 + 200 {
        crate::support::skip_or_fail("an open-file limit of 1300 for the test", &format!("the hard limit here is {}", own.hard));
        return;
    }
    let home = tempfile::tempdir().expect("tempdir");
    let mut child = tokio::process::Command::new("sh")
        .args(["-c", r#"ulimit -n 1024 && exec "$0" "$@""#, env!("CARGO_BIN_EXE_lab"), "serve", "--addr", "127.0.0.1:0", "--db", ":memory:"])
        .env("LAB_HOME", home.path())
        .env("RUST_LOG", "lab=info")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("lab serve");
    let (addr, log) = serving_address(child.stderr.take().expect("stderr")).await;

    let expected = Limits::for_fd_limit(1024);
    let mut statuses = Vec::new();
    for _ in 0..CLIENTS {
        let Ok(mut stream) = TcpStream::connect(&addr).await else { continue };
        let request = format!("GET /events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n");
        if stream.write_all(request.as_bytes()).await.is_ok() {
            statuses.push(tokio::spawn(status_line(stream)));
        }
    }

    // Pages answer, and the database still holds what they record.
    let client = lab::net::client_builder().timeout(PATIENCE).build().expect("client");
    let step = client.get(format!("http://{addr}/labs/mesos-marathon/steps/1")).send().await.expect("a step page");
    assert_eq!(step.status(), 200);
    let page = client.get(format!("http://{addr}/")).send().await.expect("home page");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("body").contains("1 of 6 steps opened"), "the visit was recorded");

    let mut streams = 0;
    let mut refused = 0;
    let mut still_open = Vec::new();
    for status in statuses {
        let (status, stream) = status.await.expect("reader");
        match status.as_deref() {
            Some("HTTP/1.1 200 OK") => streams += 1,
            Some("HTTP/1.1 503 Service Unavailable") => refused += 1,
            _ => {}
        }
        // Open streams stay open until all are counted, so no slot is handed on meanwhile.
        still_open.push(stream);
    }
    eprintln!("{streams} streams open, {refused} clients answered 503, of {CLIENTS}");
    assert!(streams > 0 && streams <= expected.max_streams, "{streams} streams open; the cap is {}", expected.max_streams);
    assert!(refused >= CLIENTS - expected.max_connections, "{refused} clients were told to come back later");
    assert!(child.try_wait().expect("status").is_none(), "lab serve is still running");
    let log = log.lock().expect("log").clone();
    assert!(!log.contains("panicked") && !log.contains("Too many open files"), "{log}");
}

/// Reads `lab serve`'s stderr until it says where it listens; the rest is collected.
async fn serving_address(stderr: tokio::process::ChildStderr) -> (String, std::sync::Arc<std::sync::Mutex<String>>) {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let addr = tokio::time::timeout(PATIENCE, async {
        while let Some(line) = lines.next_line().await.expect("stderr") {
            log.lock().expect("log").push_str(&format!("{line}\n"));
            if let Some(rest) = line.split_once(" at http://").map(|(_, r)| r) {
                return rest.split('/').next().expect("address").to_owned();
            }
        }
        panic!("lab serve stopped: {}", log.lock().expect("log"));
    })
    .await
    .expect("lab serve starts");
    let sink = log.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            sink.lock().expect("log").push_str(&format!("{line}\n"));
        }
    });
    (addr, log)
}

/// The first line the server sends on `stream`, if any arrives in time; and the stream.
async fn status_line(mut stream: TcpStream) -> (Option<String>, TcpStream) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 512];
    let read = async {
        while !seen.windows(2).any(|w| w == b"\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    };
    let arrived = tokio::time::timeout(PATIENCE, read).await.is_ok();
    let line = String::from_utf8_lossy(&seen).lines().next().filter(|_| arrived).map(str::to_owned);
    (line, stream)
}
