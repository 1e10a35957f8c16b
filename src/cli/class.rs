//! `lab serve --classroom`: opens (or resumes) the lab's class with the flags' settings and
//! says where students go, the join code, the instructor's login link and the capacity.

use crate::classroom::{Classroom, DockerProvisioner, OpenOptions, Opened, PortRange, Settings};
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
    /// Stop a stack after this long without an open page of its student (0: never).
    #[arg(long, value_name = "DURATION", default_value = "60m", requires = "classroom")]
    pub idle: String,
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
pub async fn open(args: &ClassArgs, course: Course, store: Store, content: &ContentSource, public_hosts: &[String], addr: SocketAddr) -> anyhow::Result<(AppState, Opened)> {
    let files = content.read().with_context(|| format!("cannot read course content from {}", content.describe()))?;
    let lab = crate::stack::project::choose_lab(&files, args.lab.as_deref())?;
    let engine = crate::stack::Engine::connect().await?;
    let provisioner = DockerProvisioner::new(engine.clone(), content.clone(), &lab).map_err(|e| anyhow::anyhow!(e))?;
    let ports = PortRange::parse(&args.ports).map_err(|e| anyhow::anyhow!("--ports {e}"))?;
    let idle = crate::classroom::config::parse_duration(&args.idle).map_err(|e| anyhow::anyhow!("--idle {e}"))?;
    let max_stacks = match args.max_stacks {
        Some(0) => bail!("--max-stacks must be at least 1"),
        Some(n) => n,
        None => default_capacity(&engine, crate::classroom::Provisioner::memory_per_stack(&provisioner)).await,
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
    let opened = Classroom::open(store.clone(), Arc::new(provisioner), source, OpenOptions { lab, settings, join_code: args.join_code.clone(), instructor_token: args.instructor_token.clone() }).await?;
    let state = AppState::classroom(course, store, opened.classroom.clone());
    let _ = holder.set(state.clone());
    state.spawn_class_events();
    Ok((state, opened))
}

/// The engine's memory divided by one stack's need (1 when either is unknown).
async fn default_capacity(engine: &crate::stack::Engine, per_stack: Option<u64>) -> usize {
    let total = engine.docker().info().await.ok().and_then(|i| i.mem_total).and_then(|m| u64::try_from(m).ok());
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
    format!(
        "{} the class of lab {}\n  students go to:  {base}/\n  join code:       {}\n  instructor:      {base}/instructor/login?token={}\n  capacity:        {} stacks at once, {} starting at a time\n  ports:           {} ({} ports)\n  idle stop:       {}",
        if opened.resumed { "resumed" } else { "started" },
        opened.classroom.lab_id(),
        opened.join_code,
        opened.instructor_token,
        settings.max_stacks,
        settings.max_starting,
        settings.ports,
        block,
        crate::classroom::config::show_duration(settings.idle),
    )
}

#[cfg(test)]
mod tests {
    use super::student_host;

    #[test]
    fn students_use_the_public_host_without_its_port() {
        let addr = "0.0.0.0:7070".parse().unwrap();
        assert_eq!(student_host(&["lab.school.lan:8080".into()], addr), "lab.school.lan");
        assert_eq!(student_host(&["192.168.1.20".into()], addr), "192.168.1.20");
        assert_eq!(student_host(&[], "127.0.0.1:7070".parse().unwrap()), "localhost");
    }
}
