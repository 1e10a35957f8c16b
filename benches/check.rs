//! Benchmark for exercise checks (run with `cargo bench --bench check`):
//! 1. `lab check wolf3d` wall time, process start to exit, against the Marathon test double
//!    with a passing wolf3d (target < 50 ms);
//! 2. in-process evaluations per second of one exercise for one student, and for 16
//!    students checked concurrently (what the instructor board will do).
//!
//! The gateway stand-in listens on 127.0.0.1:8888, which must be free.

// The test doubles, shared with the integration tests; the bench uses only part of them.
#[allow(dead_code)]
#[path = "../tests/support/gateway.rs"]
mod gateway;
#[allow(dead_code)]
#[path = "../tests/support/marathon.rs"]
mod marathon;

#[path = "support/stats.rs"]
mod stats;
use stats::percentile;

use lab::checks::{Status, Target, run_exercise};
use lab::course::{ContentSource, Course};
use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let double = marathon::MarathonDouble::start(marathon::Shape::V15, Duration::from_millis(1)).await;
        double.double.seed(serde_json::json!({
            "id": "/demo/wolf3d", "instances": 2,
            "container": {"type": "DOCKER", "docker": {"image": "srenkens/wolfenstein3d:latest", "network": "BRIDGE", "portMappings": [{"containerPort": 80, "servicePort": 8888}]}},
            "healthChecks": [{"protocol": "HTTP", "path": "/", "portIndex": 0}]
        }));
        let _gateway = gateway::Gateway::start_on(8888, 200).await;
        let home = tempfile::tempdir().expect("tempdir");

        // 1. The CLI, as a student runs it (everything explicit, so no Docker lookup).
        let run = |url: String, home: std::path::PathBuf| {
            let started = Instant::now();
            let out = Command::new(env!("CARGO_BIN_EXE_lab"))
                .args(["check", "wolf3d", "--marathon", &url, "--mesos", &url, "--host", "127.0.0.1", "--db", ":memory:"])
                .env("LAB_HOME", &home)
                .output()
                .expect("run lab");
            assert_eq!(out.status.code(), Some(0), "wolf3d must pass: {}", String::from_utf8_lossy(&out.stdout));
            started.elapsed().as_secs_f64() * 1000.0
        };
        let mut times = Vec::new();
        for i in 0..33 {
            let t = tokio::task::spawn_blocking({
                let (u, h) = (double.url.clone(), home.path().to_owned());
                move || run(u, h)
            })
            .await
            .expect("join");
            if i >= 3 {
                times.push(t); // the first runs warm the page cache
            }
        }
        times.sort_by(f64::total_cmp);
        println!(
            "lab check wolf3d (passing, {} runs): median {:.1} ms, p90 {:.1} ms, min {:.1} ms, max {:.1} ms",
            times.len(),
            percentile(&times, 0.5),
            percentile(&times, 0.9),
            times[0],
            times[times.len() - 1]
        );

        // 2. In process.
        let course = Course::load(&ContentSource::Embedded).expect("course");
        let lab = course.lab("mesos-marathon").and_then(|l| l.as_ref().ok()).expect("lab").clone();
        let target = Target::new(&double.url, Some(double.url.clone()), Some("127.0.0.1".into()), None);
        let window = Duration::from_secs(5);
        let started = Instant::now();
        let mut n = 0u64;
        while started.elapsed() < window {
            let r = run_exercise(&lab, "wolf3d", &target).await.expect("check");
            assert_eq!(r.status, Status::Passed);
            n += 1;
        }
        println!("in process, one student: {:.0} evaluations/s ({n} in {:.1} s)", n as f64 / started.elapsed().as_secs_f64(), started.elapsed().as_secs_f64());

        let started = Instant::now();
        let students = 16;
        let mut handles = Vec::new();
        for _ in 0..students {
            let (lab, target) = (lab.clone(), target.clone());
            handles.push(tokio::spawn(async move {
                let mut n = 0u64;
                while started.elapsed() < window {
                    run_exercise(&lab, "wolf3d", &target).await.expect("check");
                    n += 1;
                }
                n
            }));
        }
        let mut total = 0;
        for h in handles {
            total += h.await.expect("join");
        }
        println!("in process, {students} students at once: {:.0} evaluations/s in all", total as f64 / started.elapsed().as_secs_f64());
    });
}
