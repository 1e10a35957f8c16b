//! Benchmark: a whole class on one machine (run with `cargo bench --bench class`; docs in
//! docs/benchmarks.md). Two processes, so that the server's memory and CPU are its own:
//!
//! * this process is the server — the same classroom, store (a SQLite file), live checks and
//!   web router as `lab serve --classroom`, behind the same socket code (`web::run`), with a
//!   provisioner double in place of Docker whose "stacks" are Marathon test doubles;
//! * a child (this binary again, `LAB_BENCH_CLASS_ROLE=load`) runs every student's Marathon
//!   test double (all in that one process), joins the students over HTTP, keeps each
//!   student's page and each board open on `/events`, and drives a stream of Marathon
//!   changes: one student's demo app scaled between 3 and 1 instances, `RATE` times a second
//!   for `SECONDS` seconds, round robin. For each change it times the first `board` event
//!   naming that student on every board (board update latency), and the first `progress`
//!   event on that student's page.
//!
//! The server samples its own RSS (`VmRSS`, `VmHWM`) and CPU time (`/proc/self/stat`) when
//! the child reports a phase. Knobs: `STUDENTS` (200), `BOARDS` (5), `RATE` (10/s),
//! `SECONDS` (60).

// The Marathon double, shared with the integration tests; the bench uses only part of it.
#[allow(dead_code)]
#[path = "../tests/support/marathon.rs"]
mod marathon;

#[path = "support/stats.rs"]
mod stats;
use stats::percentile;

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use lab::classroom::provision::StageSink;
use lab::classroom::{Classroom, Endpoints, Observed, OpenOptions, PortRange, ProvisionError, Provisioner, ServiceLog, Settings, StackRequest};
use lab::course::{ContentSource, Course};
use lab::store::{DbLocation, Store};
use lab::web::{AppState, Limits, ServerConfig};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const ROLE: &str = "LAB_BENCH_CLASS_ROLE";
const LAB: &str = "mesos-marathon";

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let load = std::env::var(ROLE).as_deref() == Ok("load");
    if !load {
        // Workspaces go to a throwaway home, set before any thread starts.
        let home = std::env::temp_dir().join(format!("lab-bench-class-{}", std::process::id()));
        // SAFETY: no other thread exists yet.
        unsafe { std::env::set_var("LAB_HOME", &home) };
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    if load { runtime.block_on(load_main()) } else { runtime.block_on(server_main()) }
}

// ---- The server side ---------------------------------------------------------------------

/// Stacks that "start" at once, each on the next Marathon double.
struct DoubleProvisioner {
    urls: Vec<String>,
    assigned: Mutex<HashMap<String, String>>,
}

impl DoubleProvisioner {
    fn endpoints(&self, project: &str) -> Option<Endpoints> {
        let mut assigned = self.assigned.lock().ok()?;
        let next = assigned.len();
        let url = assigned.entry(project.to_owned()).or_insert_with(|| self.urls[next % self.urls.len()].clone()).clone();
        Some(Endpoints { endpoints: [("marathon".to_owned(), url.clone()), ("mesos".to_owned(), url)].into_iter().collect(), ..Endpoints::default() })
    }
}

impl Provisioner for DoubleProvisioner {
    fn start<'a>(&'a self, request: &'a StackRequest, _sink: &'a dyn StageSink) -> BoxFuture<'a, Result<Endpoints, ProvisionError>> {
        Box::pin(async move { self.endpoints(&request.project).ok_or_else(|| ProvisionError { message: "no double".into(), service: None, log_tail: Vec::new(), hint: String::new() }) })
    }
    fn stop<'a>(&'a self, _project: &'a str) -> BoxFuture<'a, Result<(), ProvisionError>> {
        Box::pin(async { Ok(()) })
    }
    fn remove<'a>(&'a self, _project: &'a str) -> BoxFuture<'a, Result<(), ProvisionError>> {
        Box::pin(async { Ok(()) })
    }
    fn observe<'a>(&'a self, _request: &'a StackRequest) -> BoxFuture<'a, Result<Observed, ProvisionError>> {
        Box::pin(async { Ok(Observed::Absent) })
    }
    fn ports_per_stack(&self) -> u16 {
        4
    }
    fn port_names(&self) -> Vec<String> {
        vec!["mesos".into(), "marathon".into(), "demo".into(), "wolf3d".into()]
    }
    fn memory_per_stack(&self) -> Option<u64> {
        None
    }
    fn logs<'a>(&'a self, _project: &'a str, _lines: usize) -> BoxFuture<'a, Result<Vec<ServiceLog>, ProvisionError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// (RSS kB, peak RSS kB, CPU seconds) of this process.
fn sample() -> (u64, u64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| status.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0);
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 14th, stime the 15th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) + fields.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // USER_HZ is 100 on Linux.
    (kb("VmRSS:"), kb("VmHWM:"), ticks as f64 / 100.0)
}

async fn server_main() {
    lab::net::install_crypto_provider();
    let students = knob("STUDENTS", 200);
    let fd_limit = lab::web::raise_fd_limit().map(|l| l.after).unwrap_or(1024);
    let limits = Limits::for_fd_limit(fd_limit);
    let exe = std::env::current_exe().expect("own path");
    let mut child = tokio::process::Command::new(exe)
        .env(ROLE, "load")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("load process");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut stdin = child.stdin.take().expect("stdin");
    let mut urls = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        match line.split_once(' ') {
            Some(("double", url)) => urls.push(url.to_owned()),
            _ if line == "doubles-ready" => break,
            _ => println!("{line}"),
        }
    }
    let (rss0, _, cpu0) = sample();
    let home = lab::paths::data_dir();
    std::fs::create_dir_all(&home).expect("home");
    let store = Store::open(&DbLocation::File(home.join("lab.db"))).await.expect("store");
    let course = Course::load(&ContentSource::Embedded).expect("built-in course");
    let settings = Settings { public_host: "127.0.0.1".into(), max_stacks: students as usize, max_starting: 20, ports: PortRange { from: 20000, to: 60000 }, idle: None, autostart: true };
    let options = OpenOptions { lab: LAB.into(), settings, join_code: Some("BEN-CHM".into()), instructor_token: Some("bench-teacher".into()) };
    let holder: Arc<std::sync::OnceLock<AppState>> = Arc::new(std::sync::OnceLock::new());
    let source = {
        let holder = holder.clone();
        Arc::new(move || holder.get().and_then(|s| s.course().lab(LAB).and_then(|l| l.as_ref().ok()).cloned()))
    };
    let provisioner = Arc::new(DoubleProvisioner { urls, assigned: Mutex::new(HashMap::new()) });
    let opened = Classroom::open(store.clone(), provisioner, source, options).await.expect("class");
    let classroom = opened.classroom.clone();
    let state = AppState::classroom(course, store.clone(), opened.classroom).with_stream_limit(limits.max_streams);
    let _ = holder.set(state.clone());
    state.spawn_class_events();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(lab::web::run(listener, state, ServerConfig { limits, ..ServerConfig::default() }, std::future::pending()));
    stdin.write_all(format!("server {base}\n").as_bytes()).await.expect("tell the load process");
    stdin.flush().await.expect("flush");

    println!("server: {students} students, fd limit {fd_limit}, {} event streams allowed", limits.max_streams);
    println!("server: idle before the class: RSS {:.1} MB", rss0 as f64 / 1024.0);
    let mut marks: HashMap<String, (u64, u64, f64, Instant)> = HashMap::new();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(name) = line.strip_prefix("mark ") {
            let (rss, hwm, cpu) = sample();
            let results: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM check_results").fetch_one(store.pool()).await.unwrap_or(-1);
            println!("server at {name}: RSS {:.1} MB (peak {:.1} MB), CPU {:.1} s since start, {results} results stored", rss as f64 / 1024.0, hwm as f64 / 1024.0, cpu - cpu0);
            if name == "measure-end" {
                // What one board costs now: it is computed once per batch of changes.
                let started = Instant::now();
                for _ in 0..10 {
                    let _ = classroom.board().await;
                }
                println!("server: one board computation with {results} results stored takes {:.1} ms", started.elapsed().as_secs_f64() * 100.0);
            }
            marks.insert(name.to_owned(), (rss, hwm, cpu, Instant::now()));
            stdin.write_all(b"ok\n").await.expect("ack");
            stdin.flush().await.expect("flush");
        } else if line == "done" {
            break;
        } else {
            println!("{line}");
        }
    }
    if let (Some(start), Some(end)) = (marks.get("measure-start"), marks.get("measure-end")) {
        let wall = end.3.duration_since(start.3).as_secs_f64();
        println!("server during the event stream: CPU {:.1} s in {:.1} s wall = {:.0} % of one core", end.2 - start.2, wall, (end.2 - start.2) / wall * 100.0);
    }
    if let (Some(empty), Some(ready)) = (marks.get("joined"), marks.get("ready")) {
        println!("server: RSS grew {:.1} MB from joined to every stack ready and checked", (ready.0 as f64 - empty.0 as f64) / 1024.0);
    }
    let (rss1, _, _) = sample();
    println!("server: RSS {:.1} MB at the end; per student over the idle server: {:.0} kB", rss1 as f64 / 1024.0, (rss1.saturating_sub(rss0)) as f64 / students as f64);
    let _ = child.wait().await;
    let _ = std::fs::remove_dir_all(home);
}

// ---- The load side -------------------------------------------------------------------------

fn report(what: &str, mut ms: Vec<f64>, expected: usize) {
    ms.sort_by(f64::total_cmp);
    println!(
        "{what}: {} of {expected} updates seen; p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        ms.len(),
        percentile(&ms, 0.5),
        percentile(&ms, 0.9),
        percentile(&ms, 0.99),
        ms.last().copied().unwrap_or(f64::NAN)
    );
}

/// The demo app as the built-in site deploys it, reduced to what the check reads.
fn demo(instances: u64) -> Value {
    json!({
        "id": "/demo/webapp", "instances": instances, "cpus": 0.1, "mem": 64,
        "container": {"type": "DOCKER", "docker": {"image": "python:3.12-alpine", "network": "BRIDGE", "portMappings": [{"containerPort": 8000, "servicePort": 10000}]}},
        "healthChecks": [{"protocol": "HTTP", "path": "/", "portIndex": 0}]
    })
}

/// Changes waiting for their first update: student id → when the change was made.
type Pending = Arc<Mutex<HashMap<i64, Instant>>>;

/// Reads one `/events` stream and, for each `kind` event that names a pending student,
/// records the time since that student's change.
/// Where a listener records what it sees.
#[derive(Clone)]
struct Tally {
    pending: Pending,
    samples: Arc<Mutex<Vec<f64>>>,
    connected: Arc<std::sync::atomic::AtomicUsize>,
}

fn listen(client: reqwest::Client, url: String, cookie: String, kind: &'static str, fixed_student: Option<i64>, tally: Tally) {
    let Tally { pending, samples, connected } = tally;
    tokio::spawn(async move {
        let response = match client.get(&url).header("cookie", cookie).send().await {
            Ok(r) if r.status().is_success() => r,
            Ok(r) => return eprintln!("stream refused: {}", r.status()),
            Err(e) => return eprintln!("stream failed: {e}"),
        };
        connected.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut body = response.bytes_stream();
        let mut buffer = String::new();
        while let Some(Ok(chunk)) = body.next().await {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let message: String = buffer.drain(..end + 2).collect();
                let mut event = "";
                let mut data = String::new();
                for line in message.lines() {
                    if let Some(e) = line.strip_prefix("event:") {
                        event = e.trim();
                    } else if let Some(d) = line.strip_prefix("data:") {
                        data.push_str(d.trim_start());
                    }
                }
                if event != kind {
                    continue;
                }
                let student = match fixed_student {
                    Some(s) => Some(s),
                    None => serde_json::from_str::<Value>(&data).ok().and_then(|v| v["student"].as_i64()),
                };
                let Some(student) = student else { continue };
                if let Some(at) = pending.lock().expect("pending").remove(&student) {
                    samples.lock().expect("samples").push(at.elapsed().as_secs_f64() * 1000.0);
                }
            }
        }
    });
}

async fn load_main() {
    lab::net::install_crypto_provider();
    let students = knob("STUDENTS", 200) as usize;
    let boards = knob("BOARDS", 5) as usize;
    let rate = knob("RATE", 10).max(1);
    let seconds = knob("SECONDS", 60);
    let mut doubles = Vec::new();
    for _ in 0..students {
        let d = marathon::MarathonDouble::start(marathon::Shape::V15, Duration::ZERO).await;
        d.double.seed(demo(3));
        d.double.set_healthy("/demo/webapp", true);
        println!("double {}", d.url);
        doubles.push(d);
    }
    println!("doubles-ready");
    // The server's lines (its address, then an `ok` for each mark), read on a plain thread.
    let (tx, mut input) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let base = loop {
        match input.recv().await {
            Some(line) => {
                if let Some(base) = line.strip_prefix("server ") {
                    break base.to_owned();
                }
            }
            None => return,
        }
    };
    let mark = |name: &str| println!("mark {name}");
    let client = lab::net::client_builder().redirect(reqwest::redirect::Policy::none()).pool_max_idle_per_host(64).build().expect("client");
    let cookie_of = |r: &reqwest::Response| r.headers().get("set-cookie").and_then(|v| v.to_str().ok()).and_then(|v| v.split(';').next()).map(str::to_owned);

    // Join (every student's stack starts at once: autostart) and learn each one's id.
    let started = Instant::now();
    let mut cookies = Vec::new();
    let mut ids = Vec::new();
    for i in 0..students {
        let r = client.post(format!("{base}/join")).header("content-type", "application/x-www-form-urlencoded").body(format!("code=BEN-CHM&name=student+{i:03}")).send().await.expect("join");
        let cookie = cookie_of(&r).expect("a session");
        let me: Value = client.get(format!("{base}/api/me")).header("cookie", &cookie).send().await.expect("me").json().await.expect("json");
        ids.push(me["student"]["id"].as_i64().expect("id"));
        cookies.push(cookie);
    }
    println!("load: {students} students joined in {:.1} s", started.elapsed().as_secs_f64());
    mark("joined");
    let _ = input.recv().await;

    let pending_board: Vec<Pending> = (0..boards).map(|_| Pending::default()).collect();
    let pending_page = Pending::default();
    let board_ms = Arc::new(Mutex::new(Vec::new()));
    let page_ms = Arc::new(Mutex::new(Vec::new()));
    let connected = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stream_client = lab::net::client_builder().build().expect("client");
    for (cookie, id) in cookies.iter().zip(&ids) {
        listen(stream_client.clone(), format!("{base}/events"), cookie.clone(), "progress", Some(*id), Tally { pending: pending_page.clone(), samples: page_ms.clone(), connected: connected.clone() });
    }
    let r = client.get(format!("{base}/instructor/login?token=bench-teacher")).send().await.expect("login");
    let teacher = cookie_of(&r).expect("instructor session");
    for pending in &pending_board {
        listen(stream_client.clone(), format!("{base}/events"), teacher.clone(), "board", None, Tally { pending: pending.clone(), samples: board_ms.clone(), connected: connected.clone() });
    }

    // Wait until every stack is ready and every student has a scale-demo result.
    let ready_since = Instant::now();
    loop {
        let class: Value = client.get(format!("{base}/api/class")).header("cookie", &teacher).send().await.expect("class").json().await.expect("json");
        // Checks run once a stack is ready: a scale-demo result means ready and checked.
        let rows = class["students"].as_array().cloned().unwrap_or_default();
        let ready = rows.iter().filter(|r| r["exercises"].as_array().is_some_and(|c| c.iter().any(|c| c["exercise"] == "scale-demo" && c["status"] != "not-started"))).count();
        if ready == students {
            break;
        }
        if ready_since.elapsed() > Duration::from_secs(300) {
            println!("load: only {ready} of {students} stacks ready and checked after 300 s");
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!("load: every stack ready and checked {:.1} s after the first join; {} of {} event streams open", started.elapsed().as_secs_f64(), connected.load(std::sync::atomic::Ordering::SeqCst), students + boards);
    // Let the first round of periodic checks pass before measuring.
    tokio::time::sleep(Duration::from_secs(5)).await;
    mark("ready");
    let _ = input.recv().await;

    // The stream of changes.
    mark("measure-start");
    let _ = input.recv().await;
    let changes = (rate * seconds) as usize;
    let mut instances = vec![3u64; students];
    let gap = Duration::from_secs_f64(1.0 / rate as f64);
    let mut next = tokio::time::Instant::now();
    for k in 0..changes {
        let i = k % students;
        instances[i] = if instances[i] == 3 { 1 } else { 3 };
        let now = Instant::now();
        for pending in &pending_board {
            pending.lock().expect("pending").insert(ids[i], now);
        }
        pending_page.lock().expect("pending").insert(ids[i], now);
        let put = client.put(format!("{}/v2/apps/demo/webapp", doubles[i].url)).json(&demo(instances[i])).send().await;
        if let Err(e) = put {
            eprintln!("change {k} failed: {e}");
        }
        next += gap;
        tokio::time::sleep_until(next).await;
    }
    // Stragglers.
    tokio::time::sleep(Duration::from_secs(5)).await;
    mark("measure-end");
    let _ = input.recv().await;
    println!("load: {changes} changes at {rate}/s over {seconds} s, {students} students, {boards} boards");
    report("board update latency (each board)", board_ms.lock().expect("samples").clone(), changes * boards);
    report("student page progress latency", page_ms.lock().expect("samples").clone(), changes);
    println!("done");
}
