//! Records what this Docker engine permits, for the lab README: privileged containers, and a
//! Docker daemon running inside a container (what a student's "box" needs). The findings go
//! to stdout and `target/test-artifacts/engine-probe.txt`; the test fails only if a probe
//! cannot reach a verdict.

use bollard::models::{ContainerCreateBody, HostConfig, HostConfigCgroupnsModeEnum};
use bollard::query_parameters::{CreateContainerOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder, WaitContainerOptionsBuilder};
use futures_util::StreamExt;
use lab::stack::Engine;
use std::fmt::Write;
use crate::support::docker::{BUSYBOX, busybox_image, engine_or_skip};

/// Runs `cmd` in a throwaway container with `host`; returns (exit code, output) or the
/// engine's refusal.
async fn run(engine: &Engine, name: &str, cmd: &str, host: HostConfig) -> Result<(i64, String), String> {
    let docker = engine.docker();
    let body = ContainerCreateBody {
        image: Some(BUSYBOX.into()),
        cmd: Some(vec!["sh".into(), "-c".into(), cmd.into()]),
        env: Some(vec!["PATH=/usr/sbin:/usr/bin:/bin".into()]),
        host_config: Some(host),
        ..Default::default()
    };
    let name = format!("labprobe-{name}-{}", std::process::id());
    let created = docker.create_container(Some(CreateContainerOptionsBuilder::default().name(&name).build()), body).await.map_err(|e| e.to_string())?;
    let started = docker.start_container(&created.id, None).await;
    let result = match started {
        Err(e) => Err(lab::stack::engine::engine_message(&e)),
        Ok(()) => {
            let mut wait = docker.wait_container(&created.id, Some(WaitContainerOptionsBuilder::default().build()));
            let code = match wait.next().await {
                Some(Ok(r)) => r.status_code,
                Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => code,
                Some(Err(e)) => return Err(e.to_string()),
                None => -1,
            };
            let mut logs = docker.logs(&created.id, Some(LogsOptionsBuilder::default().stdout(true).stderr(true).build()));
            let mut out = String::new();
            while let Some(Ok(chunk)) = logs.next().await {
                out.push_str(&chunk.to_string());
            }
            Ok((code, out))
        }
    };
    let _ = docker.remove_container(&created.id, Some(RemoveContainerOptionsBuilder::default().force(true).build())).await;
    result
}

const NESTED: &str = "dockerd --iptables=false --ip-masq=false --bridge=none --storage-driver=vfs --cgroup-parent=/labprobe -H unix:///tmp/probe.sock >/tmp/d.log 2>&1 & \
for i in $(seq 30); do docker -H unix:///tmp/probe.sock version >/dev/null 2>&1 && break; sleep 1; done; \
tar c -C / bin/busybox | docker -H unix:///tmp/probe.sock import - bb >/dev/null && \
docker -H unix:///tmp/probe.sock run --rm --network none bb /bin/busybox echo NESTED-OK || { tail -3 /tmp/d.log; exit 1; }";

/// Host binaries and libraries a nested dockerd needs, bind-mounted read-only.
fn docker_binds() -> Option<Vec<String>> {
    let files = ["/usr/sbin/dockerd", "/usr/bin/containerd", "/usr/bin/containerd-shim-runc-v2", "/usr/sbin/runc", "/usr/bin/docker"];
    if files.iter().any(|f| !std::path::Path::new(f).exists()) {
        return None;
    }
    let mut binds: Vec<String> = files.iter().map(|f| format!("{f}:{f}:ro")).collect();
    binds.extend(["/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu:ro".to_owned(), "/lib64:/lib64:ro".to_owned()]);
    Some(binds)
}

#[tokio::test]
async fn probe_what_this_engine_permits() {
    let Some(engine) = engine_or_skip().await else { return };
    busybox_image(&engine).await;
    let info = engine.docker().info().await.expect("engine info");
    let mut report = String::new();
    let _ = writeln!(
        report,
        "engine {} (API negotiated by bollard), cgroup v{}, storage {}, security {:?}",
        info.server_version.unwrap_or_default(),
        info.cgroup_version.map(|v| v.to_string()).unwrap_or_default(),
        info.driver.unwrap_or_default(),
        info.security_options.unwrap_or_default()
    );

    let privileged = run(&engine, "privileged", "echo PRIVILEGED-OK", HostConfig { privileged: Some(true), ..Default::default() }).await;
    let privileged_ok = matches!(&privileged, Ok((0, out)) if out.contains("PRIVILEGED-OK"));
    let _ = writeln!(report, "privileged container: {}", match &privileged {
        Ok((0, _)) if privileged_ok => "allowed".to_owned(),
        Ok((code, out)) => format!("started but failed (exit {code}): {}", out.trim()),
        Err(reason) => format!("refused: {reason}"),
    });

    match docker_binds() {
        Some(binds) if lab::stack::engine::docker_host().starts_with("unix://") => {
            let mut attempts = Vec::new();
            if privileged_ok {
                attempts.push(("privileged", HostConfig { privileged: Some(true), binds: Some(binds.clone()), ..Default::default() }));
            }
            attempts.push((
                "cap_add SYS_ADMIN+NET_ADMIN, seccomp/apparmor unconfined, cgroup host, /sys/fs/cgroup rw",
                HostConfig {
                    cap_add: Some(vec!["SYS_ADMIN".into(), "NET_ADMIN".into()]),
                    security_opt: Some(vec!["seccomp=unconfined".into(), "apparmor=unconfined".into()]),
                    cgroupns_mode: Some(HostConfigCgroupnsModeEnum::HOST),
                    binds: Some([binds.clone(), vec!["/sys/fs/cgroup:/sys/fs/cgroup:rw".into()]].concat()),
                    ..Default::default()
                },
            ));
            for (how, host) in attempts {
                let verdict = match run(&engine, "nested", NESTED, host).await {
                    Ok((0, out)) if out.contains("NESTED-OK") => "works: the inner daemon started and ran a container".to_owned(),
                    Ok((code, out)) => format!("fails (exit {code}): {}", out.lines().last().unwrap_or("").trim()),
                    Err(reason) => format!("refused: {reason}"),
                };
                let _ = writeln!(report, "dockerd inside a container ({how}): {verdict}");
            }
        }
        Some(_) => {
            let _ = writeln!(report, "dockerd inside a container: not probed (the engine is remote; host binaries cannot be mounted)");
        }
        None => {
            let _ = writeln!(report, "dockerd inside a container: not probed (no dockerd/containerd/runc binaries on this host to mount)");
        }
    }

    println!("{report}");
    std::fs::write(crate::support::artifacts_dir().join("engine-probe.txt"), &report).expect("write the probe report");
    // A verdict must come from the engine, not from a broken probe (a missing test image,
    // a container name clash, an unreadable log).
    for broken in ["No such image", "Conflict", "already in use", "error reading"] {
        assert!(!report.contains(broken), "the probe itself failed: {report}");
    }
    if !privileged_ok {
        assert!(report.contains("privileged container: refused") || report.contains("started but failed"), "{report}");
    }
}
