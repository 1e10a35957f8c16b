//! `lab serve --classroom`: opens (or resumes) the lab's class with the flags' settings and
//! says where students go, the join code, the instructor's login link and the capacity.

use crate::classroom::{Classroom, DockerProvisioner, KubernetesProvisioner, OpenOptions, Opened, PortRange, Provisioner, Settings};
use crate::course::{ContentSource, Course};
use crate::store::Store;
use crate::web::AppState;
use anyhow::{Context, bail};
use std::net::SocketAddr;
use std::sync::Arc;

/// The classroom flags of `lab serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ClassArgs {
    /// Run a class: students join in the browser and each gets their own stack.
    #[arg(long)]
    pub classroom: bool,
    /// The lab the class runs (default: the only lab with a stack).
    #[arg(long, requires = "classroom")]
    pub lab: Option<String>,
    /// The code students join with (default: the class's, or a new one).
    #[arg(long, value_name = "CODE", requires = "classroom")]
    pub join_code: Option<String>,
    /// Most stacks running at once (default: the engine's memory divided by what one stack
    /// needs, `x-lab.memory`).
    #[arg(long, value_name = "N", requires = "classroom")]
    pub max_stacks: Option<usize>,
    /// Most stacks starting at once (starting is CPU-bound).
    #[arg(long, value_name = "N", default_value_t = 2, requires = "classroom")]
    pub max_starting: usize,
    /// Host ports for the students' stacks; each gets a block of one port per named port.
    #[arg(long, value_name = "FROM-TO", default_value = "20000-20999", requires = "classroom")]
    pub ports: String,
    /// Stop a stack after this long without an open page of its student (0: never). Default:
    /// 60m for a new class; a resumed class keeps what the instructor last set.
    #[arg(long, value_name = "DURATION", requires = "classroom")]
    pub idle: Option<String>,
    /// Start a student's stack as soon as they join.
    #[arg(long, requires = "classroom")]
    pub autostart: bool,
    /// The instructor's login token (default: a fresh one each start).
    #[arg(long, env = "LAB_INSTRUCTOR_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub instructor_token: Option<String>,
}

/// The host students use: the first `--public-host` (without a port), else the address
/// served on (`localhost` for loopback).
pub fn student_host(public_hosts: &[String], addr: SocketAddr) -> String {
    match public_hosts.first() {
        Some(h) => h.rsplit_once(':').filter(|(_, p)| p.parse::<u16>().is_ok() && !h.ends_with(']')).map_or(h.as_str(), |(host, _)| host).to_owned(),
        None if addr.ip().is_loopback() => "localhost".to_owned(),
        None => addr.ip().to_string(),
    }
}

/// Opens the class and the web state that serves it.
pub async fn open(args: &ClassArgs, engine_args: &super::engine::EngineArgs, course: Course, store: Store, content: &ContentSource, public_hosts: &[String], addr: SocketAddr) -> anyhow::Result<(AppState, Opened)> {
    let files = content.read().with_context(|| format!("cannot read course content from {}", content.describe()))?;
    let lab = crate::stack::project::choose_lab(&files, args.lab.as_deref())?;
    let provisioner: Arc<dyn Provisioner> = if engine_args.kubernetes() {
        let cluster = engine_args.cluster().await?;
        Arc::new(KubernetesProvisioner::new(cluster, content.clone(), &lab, engine_args.settings()).await.map_err(|e| anyhow::anyhow!(e))?)
    } else {
        let engine = crate::stack::Engine::connect().await?;
        Arc::new(DockerProvisioner::new(engine, content.clone(), &lab).map_err(|e| anyhow::anyhow!(e))?)
    };
    let ports = PortRange::parse(&args.ports).map_err(|e| anyhow::anyhow!("--ports {e}"))?;
    let idle = idle_setting(args.idle.as_deref(), &store, &lab).await?;
    let max_stacks = match args.max_stacks {
        Some(0) => bail!("--max-stacks must be at least 1"),
        Some(n) => n,
        None => default_capacity(provisioner.capacity().await, provisioner.memory_per_stack()),
    };
    if args.max_starting == 0 {
        bail!("--max-starting must be at least 1");
    }
    let settings = Settings { public_host: student_host(public_hosts, addr), max_stacks, max_starting: args.max_starting, ports, idle, autostart: args.autostart };
    // The classroom reads the lab as the web layer currently has it (reloads included).
    let holder: Arc<std::sync::OnceLock<AppState>> = Arc::new(std::sync::OnceLock::new());
    let source = {
        let holder = holder.clone();
        let lab = lab.clone();
        Arc::new(move || holder.get().and_then(|s| s.course().lab(&lab).and_then(|l| l.as_ref().ok()).cloned()))
    };
    let opened = Classroom::open(store.clone(), provisioner, source, OpenOptions { lab, settings, join_code: args.join_code.clone(), instructor_token: args.instructor_token.clone() }).await?;
    let state = AppState::classroom(course, store, opened.classroom.clone());
    let _ = holder.set(state.clone());
    state.spawn_class_events();
    Ok((state, opened))
}

/// Idle stopping for a new class when `--idle` is not given.
const DEFAULT_IDLE: Option<std::time::Duration> = Some(std::time::Duration::from_secs(60 * 60));

/// The idle time to open the class with: `--idle` when given; otherwise the resumed class's
/// own (the instructor may have changed it on the board), or [`DEFAULT_IDLE`].
async fn idle_setting(flag: Option<&str>, store: &Store, lab: &str) -> anyhow::Result<Option<std::time::Duration>> {
    if let Some(text) = flag {
        return crate::classroom::config::parse_duration(text).map_err(|e| anyhow::anyhow!("--idle {e}"));
    }
    let stored = store.current_class(lab).await?.and_then(|c| serde_json::from_str::<Settings>(&c.settings).ok());
    Ok(stored.map_or(DEFAULT_IDLE, |s| s.idle))
}

/// The engine's memory (a cluster's: its ready nodes' allocatable memory) divided by one
/// stack's need (1 when either is unknown).
fn default_capacity(total: Option<u64>, per_stack: Option<u64>) -> usize {
    match (total, per_stack) {
        (Some(total), Some(need)) if need > 0 => usize::try_from(total / need).unwrap_or(usize::MAX).max(1),
        _ => 1,
    }
}

/// What the instructor needs to start the class.
pub fn announce(opened: &Opened, public_hosts: &[String], addr: SocketAddr) -> String {
    let settings = opened.classroom.settings();
    let base = match public_hosts.first() {
        Some(h) if h.contains(':') && !h.ends_with(']') => format!("http://{h}"),
        _ => format!("http://{}:{}", settings.public_host, addr.port()),
    };
    let block = settings.ports.blocks(1).max(1);
    let ports = if opened.classroom.ports_label() == settings.ports.to_string() { format!("{} ({block} ports)", settings.ports) } else { opened.classroom.ports_label() };
    format!(
        "{} the class of lab {}\n  students go to:  {base}/\n  join code:       {}\n  instructor:      {base}/instructor/login?token={}\n  capacity:        {} stacks at once, {} starting at a time\n  ports:           {ports}\n  idle stop:       {}",
        if opened.resumed { "resumed" } else { "started" },
        opened.classroom.lab_id(),
        opened.join_code,
        opened.instructor_token,
        settings.max_stacks,
        settings.max_starting,
        crate::classroom::config::show_duration(settings.idle),
    )
}

#[cfg(test)]
mod tests {
    use super::{DEFAULT_IDLE, idle_setting, student_host};
    use crate::classroom::{PortRange, Settings};
    use crate::store::{DbLocation, Store};
    use std::time::Duration;

    #[tokio::test]
    async fn a_resumed_class_keeps_the_idle_time_the_instructor_set_unless_the_flag_says() {
        let store = Store::open(&DbLocation::Memory).await.unwrap();
        assert_eq!(idle_setting(None, &store, "lab").await.unwrap(), DEFAULT_IDLE, "a new class");
        let changed = Settings { public_host: "h".into(), max_stacks: 1, max_starting: 1, ports: PortRange { from: 20000, to: 20010 }, idle: Some(Duration::from_secs(90 * 60)), autostart: false };
        store.create_class("lab", "ABC-DEF", "secret", &serde_json::to_string(&changed).unwrap()).await.unwrap();
        assert_eq!(idle_setting(None, &store, "lab").await.unwrap(), Some(Duration::from_secs(90 * 60)), "the board's change survives a restart");
        assert_eq!(idle_setting(Some("30m"), &store, "lab").await.unwrap(), Some(Duration::from_secs(30 * 60)), "the flag wins");
        assert_eq!(idle_setting(Some("0"), &store, "lab").await.unwrap(), None);
        assert!(idle_setting(Some("soon"), &store, "lab").await.unwrap_err().to_string().starts_with("--idle"));
    }

    #[test]
    fn students_use_the_public_host_without_its_port() {
        let addr = "0.0.0.0:7070".parse().unwrap();
        assert_eq!(student_host(&["lab.school.lan:8080".into()], addr), "lab.school.lan");
        assert_eq!(student_host(&["192.168.1.20".into()], addr), "192.168.1.20");
        assert_eq!(student_host(&[], "127.0.0.1:7070".parse().unwrap()), "localhost");
    }
}
