//! `watch` with real files on disk against the Marathon test double: the first deploy, edits
//! (plain writes and editors' atomic renames), a broken save that does not stop the others,
//! a globals change redeploying everything below it, deletions, and following deployments.

use lab::marathon::Marathon;
use lab::marathon::deploy::Outcome;
use lab::marathon::site::ProcessEnv;
use lab::marathon::watch::{FollowResult, WatchEvent, watch};
use std::time::Duration;
use crate::support::marathon::{MarathonDouble, Shape};
use tokio::sync::mpsc;

const APP_A: &str = "service:\n  id: /demo/a\n  instances: 1\n";
const APP_B: &str = "service:\n  id: /demo/b\n  instances: 1\n";

/// Reads events until `pred` matches one; returns everything read.
async fn until(rx: &mut mpsc::Receiver<WatchEvent>, what: &str, mut pred: impl FnMut(&WatchEvent) -> bool) -> Vec<WatchEvent> {
    let mut seen = Vec::new();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(15), rx.recv()).await.unwrap_or_else(|_| panic!("timed out waiting for {what}; saw {seen:#?}"));
        let event = event.expect("watch still running");
        let hit = pred(&event);
        seen.push(event);
        if hit {
            return seen;
        }
    }
}

fn file_outcome<'a>(event: &'a WatchEvent, file: &str) -> Option<&'a Outcome> {
    match event {
        WatchEvent::File(r) if r.file == file => Some(&r.outcome),
        _ => None,
    }
}

fn deployed(event: &WatchEvent, file: &str) -> bool {
    matches!(file_outcome(event, file), Some(Outcome::Deployed { .. }))
}

fn followed(event: &WatchEvent, app: &str) -> bool {
    matches!(event, WatchEvent::Followed { app: a, result: FollowResult::Succeeded, .. } if a == app)
}

#[tokio::test]
async fn watch_deploys_then_follows_every_save() {
    let double = MarathonDouble::start(Shape::V15, Duration::from_millis(100)).await;
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    crate::support::write_files(dir.path(), &[("site/a.yml", APP_A), ("site/sub/b.yml", APP_B)]);
    let (tx, mut rx) = mpsc::channel(64);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let marathon = Marathon::new(&double.url);
    let watcher = tokio::spawn({
        let site = site.clone();
        async move { watch(&site, &marathon, &ProcessEnv, tx, async { let _ = stopped.await; }).await }
    });

    // The first deploy covers every file, and each deployment is followed to the end.
    let seen = until(&mut rx, "both first deployments to finish", {
        let mut done = 0;
        move |e| {
            if matches!(e, WatchEvent::Followed { result: FollowResult::Succeeded, .. }) {
                done += 1;
            }
            done == 2
        }
    })
    .await;
    assert!(matches!(seen[0], WatchEvent::Watching(_)));
    assert!(seen.iter().any(|e| deployed(e, "site/a.yml")) && seen.iter().any(|e| deployed(e, "site/sub/b.yml")), "{seen:#?}");

    // A plain save redeploys that file only.
    std::fs::write(site.join("a.yml"), APP_A.replace("instances: 1", "instances: 2")).unwrap();
    let seen = until(&mut rx, "a.yml redeployed and finished", |e| followed(e, "/demo/a")).await;
    assert!(seen.iter().any(|e| deployed(e, "site/a.yml")));
    assert!(!seen.iter().any(|e| file_outcome(e, "site/sub/b.yml").is_some()), "b.yml was not touched: {seen:#?}");
    assert_eq!(double.double.app("/demo/a").unwrap()["instances"], 2);

    // An editor's atomic save (write a temp file, rename it over the original) counts.
    std::fs::write(site.join(".a.yml.tmp"), APP_A.replace("instances: 1", "instances: 3")).unwrap();
    std::fs::rename(site.join(".a.yml.tmp"), site.join("a.yml")).unwrap();
    until(&mut rx, "the renamed a.yml deployed", |e| followed(e, "/demo/a")).await;
    assert_eq!(double.double.app("/demo/a").unwrap()["instances"], 3);

    // A broken save is reported with its position, and the other files keep deploying.
    std::fs::write(site.join("a.yml"), "service:\n  id: /demo/a\n  instances: [\n").unwrap();
    let seen = until(&mut rx, "the broken a.yml reported", |e| matches!(file_outcome(e, "site/a.yml"), Some(Outcome::Failed { .. }))).await;
    let Some(Outcome::Failed { location, .. }) = seen.last().and_then(|e| file_outcome(e, "site/a.yml")) else { unreachable!() };
    assert!(location.starts_with("site/a.yml:3:"), "{location}");
    std::fs::write(site.join("sub/b.yml"), APP_B.replace("instances: 1", "instances: 2")).unwrap();
    until(&mut rx, "b.yml deployed despite a.yml", |e| followed(e, "/demo/b")).await;
    assert_eq!(double.double.app("/demo/a").unwrap()["instances"], 3, "the broken file left the running version alone");

    // A globals.yml change redeploys every file below it.
    std::fs::write(site.join("a.yml"), APP_A).unwrap();
    until(&mut rx, "a.yml fixed", |e| followed(e, "/demo/a")).await;
    std::fs::write(site.join("globals.yml"), "service:\n  labels: {team: blue}\n").unwrap();
    let seen = until(&mut rx, "both redeployed for globals", {
        let mut pending = vec!["site/a.yml", "site/sub/b.yml"];
        move |e| {
            pending.retain(|f| !deployed(e, f));
            pending.is_empty()
        }
    })
    .await;
    assert!(!seen.iter().any(|e| matches!(e, WatchEvent::File(r) if r.file.ends_with("globals.yml"))), "globals.yml itself is never deployed");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(double.double.app("/demo/b").unwrap()["labels"]["team"], "blue");

    // Deleting a file reports it; the app stays.
    std::fs::remove_file(site.join("sub/b.yml")).unwrap();
    until(&mut rx, "the removal", |e| matches!(e, WatchEvent::Removed(f) if f == "site/sub/b.yml")).await;
    assert!(double.double.app("/demo/b").is_some());

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), watcher).await.expect("watch stops on shutdown").unwrap().unwrap();
}

#[tokio::test]
async fn deployments_are_followed_by_polling_without_an_event_stream() {
    // No event stream at all: deployments are still followed to their end by polling.
    let double = MarathonDouble::start(Shape::V14, Duration::from_millis(1)).await;
    double.double.set_events(false);
    let dir = tempfile::tempdir().unwrap();
    crate::support::write_files(dir.path(), &[("site/a.yml", APP_A)]);
    let (tx, mut rx) = mpsc::channel(64);
    let marathon = Marathon::new(&double.url);
    let site = dir.path().join("site");
    let task = tokio::spawn(async move { watch(&site, &marathon, &ProcessEnv, tx, std::future::pending()).await });
    let seen = until(&mut rx, "a.yml followed", |e| followed(e, "/demo/a")).await;
    assert!(seen.iter().any(|e| matches!(e, WatchEvent::EventsLost(_))), "the lost stream is reported: {seen:#?}");
    task.abort();
}

#[tokio::test]
async fn files_missed_while_marathon_was_down_are_sent_when_it_is_back() {
    // A port nothing listens on yet: Marathon is "down" when watch starts.
    let port = crate::support::gateway::silent_port();
    let url = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    crate::support::write_files(dir.path(), &[("site/a.yml", APP_A), ("site/sub/b.yml", APP_B)]);
    let (tx, mut rx) = mpsc::channel(64);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let marathon = Marathon::new(&url);
    // Given in a spelling that is not the canonical one (as `lab watch ./site/../site` would
    // be), without changing the current folder, which every test of this binary shares.
    let watcher = tokio::spawn({
        let spelled = dir.path().join("site/../site");
        async move { watch(&spelled, &marathon, &ProcessEnv, tx, async { let _ = stopped.await; }).await }
    });
    let seen = until(&mut rx, "both files reported not deployed", {
        let mut failed = 0;
        move |e| {
            if matches!(e, WatchEvent::File(r) if matches!(r.outcome, Outcome::Failed { .. })) {
                failed += 1;
            }
            failed == 2
        }
    })
    .await;
    assert!(seen.iter().any(|e| file_outcome(e, "site/a.yml").is_some()), "names stay relative to the site folder: {seen:#?}");

    // Marathon comes up at that address; nobody saves anything.
    let double = MarathonDouble::start_at(&format!("127.0.0.1:{port}"), Shape::V15, Duration::from_millis(50)).await;
    let seen = until(&mut rx, "both files deployed once Marathon answers", {
        let mut done = 0;
        move |e| {
            if deployed(e, "site/a.yml") || deployed(e, "site/sub/b.yml") {
                done += 1;
            }
            done == 2
        }
    })
    .await;
    assert!(seen.iter().any(|e| matches!(e, WatchEvent::MarathonBack(2))), "{seen:#?}");
    assert!(double.double.app("/demo/a").is_some() && double.double.app("/demo/b").is_some());

    // A save after that still works, and its name is still relative.
    std::fs::write(dir.path().join("site/a.yml"), APP_A.replace("instances: 1", "instances: 3")).unwrap();
    until(&mut rx, "a.yml redeployed", |e| deployed(e, "site/a.yml")).await;
    let _ = stop.send(());
    watcher.await.unwrap().unwrap();
}
