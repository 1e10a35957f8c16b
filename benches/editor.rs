//! Benchmark for site editor saves (run with `cargo bench --bench editor`): the time from
//! `SiteFolder::save` being called to its report, which is after the text is written
//! (history version and file, each fsynced), rendered as `lab deploy` renders it, and
//! deployed — Marathon's `GET` of the app (checksum) and `PUT` answered. The Marathon test
//! double runs in-process with a zero deployment delay; its deployment runs after it has
//! answered, so Marathon's own time is not in the figure. Target: p99 < 50 ms.
//!
//! 1. 100 saves of one app file, each a real change (so each is deployed);
//! 2. for scale: the write alone (`SiteFolder::write`, same changes), rendering and
//!    deploying alone (no write), and 20 saves of a `globals.yml` with 10 app files below
//!    it (each redeployed).

// The Marathon double, shared with the integration tests; the bench uses only part of it.
#[allow(dead_code)]
#[path = "../tests/support/marathon.rs"]
mod marathon;

#[path = "support/stats.rs"]
mod stats;
use stats::percentile;

use lab::editor::{SaveOutcome, SiteFolder};
use lab::marathon::Marathon;
use lab::marathon::site::ProcessEnv;
use std::time::{Duration, Instant};

const APP: &str = "variables:\n  image: \"nginx:1.25\"\nservice:\n  id: /bench/web\n  instances: 1\n  cpus: 0.1\n  mem: 64\n  container:\n    type: DOCKER\n    docker:\n      image: \"%{image}\"\n      network: BRIDGE\n      portMappings:\n        - {containerPort: 80, servicePort: 10080}\n  healthChecks:\n    - {protocol: HTTP, path: /, portIndex: 0}\n  env:\n    GREETING: \"hello N\"\n";

fn summary(what: &str, mut times: Vec<f64>) {
    times.sort_by(f64::total_cmp);
    println!(
        "{what} ({} runs): p50 {:.2} ms, p99 {:.2} ms, min {:.2} ms, max {:.2} ms",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times[0],
        times[times.len() - 1]
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let double = marathon::MarathonDouble::start(marathon::Shape::V15, Duration::ZERO).await;
        let marathon = Marathon::new(&double.url);
        let workspace = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
        std::fs::create_dir(workspace.path().join("site")).expect("site");
        let folder = SiteFolder::for_workspace(workspace.path()).expect("folder");

        // 1. One file, 100 measured saves after 5 warm-up ones.
        let mut etag: Option<String> = None;
        let mut times = Vec::new();
        for i in 0..105 {
            let text = APP.replace("hello N", &format!("hello {i}"));
            let started = Instant::now();
            let report = folder.save("web.yml", &text, etag.as_deref(), &marathon, &ProcessEnv).await.expect("save");
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            assert_eq!(report.outcome, SaveOutcome::Deployed, "{report:#?}");
            etag = Some(report.file.etag);
            if i >= 5 {
                times.push(ms);
            }
        }
        summary("save → rendered → PUT answered, one app file", times);

        // 2a. The write alone.
        let mut times = Vec::new();
        for i in 0..100 {
            let text = APP.replace("hello N", &format!("write {i}"));
            let started = Instant::now();
            etag = Some(folder.write("web.yml", &text, etag.as_deref()).expect("write").etag);
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        summary("write alone (history + file, fsynced)", times);

        // 2b. Render and deploy alone, without the write: lab's own work plus the double's
        // answers, the part of a save that is not the disk.
        let file = lab::marathon::deploy::SiteFile { path: folder.root().join("web.yml"), display: "web.yml".into(), root: folder.root().to_owned() };
        let mut times = Vec::new();
        for i in 0..100 {
            std::fs::write(&file.path, APP.replace("hello N", &format!("render {i}"))).expect("write");
            let started = Instant::now();
            let mut rendered = lab::marathon::deploy::render_all(std::slice::from_ref(&file), &ProcessEnv);
            let (_, app) = rendered.pop().expect("one file");
            let result = lab::marathon::deploy::deploy(&marathon, &app.expect("renders")).await.expect("Marathon answers");
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            assert!(matches!(result.outcome, lab::marathon::deploy::Outcome::Deployed { .. }), "{result:?}");
        }
        summary("render + deploy alone (GET and PUT answered, no write)", times);

        // 2c. A globals.yml above 10 app files.
        for n in 0..10 {
            folder.create(&format!("group/app{n}.yml"), &APP.replace("/bench/web", &format!("/bench/app{n}")).replace("10080", &format!("{}", 10100 + n))).expect("create");
        }
        let mut globals: Option<String> = None;
        let mut times = Vec::new();
        for i in 0..22 {
            let text = format!("service:\n  labels:\n    round: \"{i}\"\n");
            let started = Instant::now();
            let report = folder.save("group/globals.yml", &text, globals.as_deref(), &marathon, &ProcessEnv).await.expect("save");
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            assert_eq!(report.outcome, SaveOutcome::Deployed, "{report:#?}");
            assert_eq!(report.also_deployed.len(), 10);
            globals = Some(report.file.etag);
            if i >= 2 {
                times.push(ms);
            }
        }
        summary("globals.yml save redeploying the 10 files below it", times);
    });
}
