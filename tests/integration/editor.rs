//! The site editor's library against the Marathon test double, one test per way a save can
//! end: deployed and followed to healthy, unchanged, invalid at line:col, refused by
//! Marathon (422) at the field's line, saved while Marathon is down and sent once it is back
//! at the same address; a `globals.yml` save redeploying the files below it; a follow that
//! ends in Marathon's task failure, and one that stays waiting.

use futures_util::StreamExt;
use lab::editor::{DeployProgress, FollowOptions, SaveOutcome, SiteFolder, follow, follow_with};
use lab::marathon::Marathon;
use lab::marathon::deploy::Outcome;
use lab::marathon::site::ProcessEnv;
use std::time::Duration;
use crate::support::marathon::{MarathonDouble, Shape};

const WEB: &str = "service:\n  id: /demo/web\n  instances: 2\n  cpus: 0.1\n  container:\n    type: DOCKER\n    docker: {image: \"nginx:1.25\", network: BRIDGE, portMappings: [{containerPort: 80}]}\n  healthChecks:\n    - {protocol: HTTP, path: /, portIndex: 0}\n";
const REJECTED: &str = "service:\n  id: /demo/wolf3d\n  instances: 2\n  container:\n    type: DOCKER\n    docker:\n      image: srenkens/wolfenstein3d\n      network: BRIDGE\n      portMappings:\n        - containerPort: 80\n          servicePort: 88888\n";
const JSON_APP: &str = r#"{"id": "/myproduct/rabbitmq", "instances": 1, "cpus": 0.2, "container": {"type": "DOCKER", "docker": {"image": "rabbitmq:3"}}}"#;

/// A workspace with an empty `site/` folder.
fn workspace() -> (tempfile::TempDir, SiteFolder) {
    let ws = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(ws.path().join("site")).expect("site");
    let folder = SiteFolder::for_workspace(ws.path()).expect("site folder");
    (ws, folder)
}

/// Every progress item until the stream ends (it must, within 15 s).
async fn progress(stream: impl futures_util::Stream<Item = DeployProgress>) -> Vec<DeployProgress> {
    let mut stream = std::pin::pin!(stream);
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(15), stream.next()).await {
            Ok(Some(item)) => seen.push(item),
            Ok(None) => return seen,
            Err(_) => panic!("the follow did not end; saw {seen:#?}"),
        }
    }
}

#[tokio::test]
async fn a_save_is_deployed_and_followed_to_healthy() {
    let double = MarathonDouble::start(Shape::V15, Duration::from_millis(150)).await;
    let marathon = Marathon::new(&double.url);
    let (_ws, folder) = workspace();
    let report = folder.save("web.yml", WEB, None, &marathon, &ProcessEnv).await.expect("saved");
    assert_eq!(report.outcome, SaveOutcome::Deployed, "{report:#?}");
    assert!(report.errors.is_empty() && !report.pending);
    assert_eq!(report.file.etag, lab::editor::etag(WEB.as_bytes()));
    let app = report.app.as_ref().expect("the rendered app");
    assert_eq!((app["id"].as_str(), app["instances"].as_u64()), (Some("/demo/web"), Some(2)));
    assert!(app["labels"]["lab.checksum"].is_string(), "rendered exactly as lab deploy renders it");
    let deployment = report.deployment.clone().expect("a deployment to follow");
    assert_eq!(double.double.writes().len(), 1);

    let seen = progress(follow(&marathon, &deployment.deployment_id, "/demo/web")).await;
    assert_eq!(seen[0], DeployProgress::Deploying { deployment_id: deployment.deployment_id.clone(), app_id: "/demo/web".into() });
    assert!(seen.iter().any(|p| matches!(p, DeployProgress::Running { .. })), "{seen:#?}");
    assert_eq!(seen.last(), Some(&DeployProgress::Healthy { running: 2, healthy: 2, instances: 2 }), "{seen:#?}");
    assert_eq!(folder.history("web.yml").expect("history").len(), 1);
}

#[tokio::test]
async fn saving_text_marathon_already_runs_is_unchanged() {
    let double = MarathonDouble::start(Shape::V14, Duration::from_millis(1)).await;
    let marathon = Marathon::new(&double.url);
    let (_ws, folder) = workspace();
    let first = folder.save("rabbit.json", JSON_APP, None, &marathon, &ProcessEnv).await.expect("saved");
    assert_eq!(first.outcome, SaveOutcome::Deployed, "a Marathon JSON file deploys as lab deploy does it");
    let again = folder.save("rabbit.json", JSON_APP, Some(&first.file.etag), &marathon, &ProcessEnv).await.expect("saved");
    assert_eq!(again.outcome, SaveOutcome::Unchanged, "{again:#?}");
    assert!(again.deployment.is_none() && again.message.contains("already runs"), "{}", again.message);
    let calls: Vec<(String, String)> = double.double.writes().iter().map(|w| (w.method.clone(), w.path.clone())).collect();
    assert_eq!(calls, vec![("POST".into(), "/v2/apps".into())], "nothing new was sent");
}

#[tokio::test]
async fn an_invalid_save_is_kept_and_reported_at_its_line_and_column() {
    let double = MarathonDouble::start(Shape::V15, Duration::from_millis(1)).await;
    let marathon = Marathon::new(&double.url);
    let (ws, folder) = workspace();
    let text = "variables:\n  n: 2\nservice:\n  id: /demo/a\n  instances: \"%{count}\"\n";
    let report = folder.save("a.yml", text, None, &marathon, &ProcessEnv).await.expect("saved");
    assert_eq!(report.outcome, SaveOutcome::Invalid);
    let e = &report.errors[0];
    assert_eq!(e.file, "a.yml");
    assert_eq!((e.line, e.col), (Some(5), Some(15)), "at the `%` of the reference: {e:?}");
    assert!(e.message.contains("count"), "{e:?}");
    assert!(report.app.is_none() && report.deployment.is_none());
    assert_eq!(std::fs::read_to_string(ws.path().join("site/a.yml")).expect("on disk"), text, "the student's words are kept");
    assert!(double.double.writes().is_empty(), "nothing is sent");
}

#[tokio::test]
async fn a_save_marathon_refuses_points_at_the_fields_line() {
    let double = MarathonDouble::start(Shape::V14, Duration::from_millis(1)).await;
    let marathon = Marathon::new(&double.url);
    let (ws, folder) = workspace();
    let report = folder.save("wolf3d.yml", REJECTED, None, &marathon, &ProcessEnv).await.expect("saved");
    assert_eq!(report.outcome, SaveOutcome::Failed, "{report:#?}");
    let e = &report.errors[0];
    assert_eq!((e.file.as_str(), e.line, e.col), ("wolf3d.yml", Some(11), Some(24)), "the 422 points at servicePort: 88888");
    assert!(e.message.contains("container.docker.portMappings[0].servicePort"), "{e:?}");
    assert!(e.fix.is_some());
    assert!(report.app.is_some(), "the rendered app is still shown");
    assert_eq!(std::fs::read_to_string(ws.path().join("site/wolf3d.yml")).expect("on disk"), REJECTED);
    assert!(double.double.app("/demo/wolf3d").is_none());
}

#[tokio::test]
async fn a_save_while_marathon_is_down_is_kept_and_sent_when_it_is_back() {
    let mut double = MarathonDouble::start(Shape::V15, Duration::from_millis(1)).await;
    let address = double.url.trim_start_matches("http://").to_owned();
    let marathon = Marathon::with_timeout(&double.url, Duration::from_secs(2));
    double.stop();
    for _ in 0..50 {
        if marathon.ping().await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (ws, folder) = workspace();
    let report = folder.save("web.yml", WEB, None, &marathon, &ProcessEnv).await.expect("saved");
    assert_eq!(report.outcome, SaveOutcome::NotDeployed, "{report:#?}");
    assert!(report.pending);
    assert!(report.message.contains("cannot reach Marathon") && report.message.contains("sent when Marathon answers"), "{}", report.message);
    assert_eq!(std::fs::read_to_string(ws.path().join("site/web.yml")).expect("on disk"), WEB);
    assert_eq!(folder.pending().expect("pending").iter().map(|p| p.to_string()).collect::<Vec<_>>(), vec!["web.yml"]);

    let back = MarathonDouble::start_at(&address, Shape::V15, Duration::from_millis(1)).await;
    let run = folder.redeploy_pending(&marathon, &ProcessEnv).await.expect("redeployed");
    assert!(run.still_pending.is_empty(), "{run:#?}");
    assert!(matches!(run.results[0].outcome, Outcome::Deployed { .. }), "{run:#?}");
    assert!(folder.pending().expect("pending").is_empty());
    assert!(back.double.app("/demo/web").is_some());
}

#[tokio::test]
async fn saving_globals_redeploys_every_file_below_it() {
    let double = MarathonDouble::start(Shape::V15, Duration::from_millis(1)).await;
    let marathon = Marathon::new(&double.url);
    let (_ws, folder) = workspace();
    for (path, text) in [("a.yml", "service:\n  id: /demo/a\n"), ("sub/b.yml", "service:\n  id: /demo/b\n"), ("sub/c.json", JSON_APP)] {
        let report = folder.save(path, text, None, &marathon, &ProcessEnv).await.expect("saved");
        assert_eq!(report.outcome, SaveOutcome::Deployed, "{path}: {report:#?}");
    }
    let report = folder.save("sub/globals.yml", "service:\n  labels: {team: blue}\n", None, &marathon, &ProcessEnv).await.expect("saved");
    assert_eq!(report.outcome, SaveOutcome::Deployed, "{report:#?}");
    let each: Vec<(&str, &str)> = report
        .also_deployed
        .iter()
        .map(|r| (r.file.as_str(), match r.outcome {
            Outcome::Deployed { .. } => "deployed",
            Outcome::Unchanged => "unchanged",
            Outcome::Failed { .. } => "failed",
        }))
        .collect();
    assert_eq!(each, vec![("sub/b.yml", "deployed"), ("sub/c.json", "unchanged")], "only the files below it; JSON takes no globals");
    assert!(report.message.contains("2 files below sub/globals.yml"), "{}", report.message);
    assert_eq!(double.double.app("/demo/b").expect("b")["labels"]["team"], "blue");
    assert!(double.double.app("/demo/a").expect("a")["labels"].get("team").is_none());

    // A mistake in the globals file shows once, at its own line, though two files use it.
    let bad = folder.save("globals.yml", "variables: {}\nservice:\n  cmd: \"%{nothing}\"\n", None, &marathon, &ProcessEnv).await.expect("saved");
    assert_eq!(bad.outcome, SaveOutcome::Invalid, "{bad:#?}");
    assert_eq!(bad.also_deployed.len(), 3);
    let yaml_errors: Vec<_> = bad.errors.iter().filter(|e| e.file == "globals.yml").collect();
    assert_eq!(yaml_errors.len(), 1, "{:#?}", bad.errors);
    assert_eq!(yaml_errors[0].line, Some(3));
}

#[tokio::test]
async fn a_follow_that_ends_in_failure_reports_marathons_reason() {
    let double = MarathonDouble::start(Shape::V15, Duration::from_millis(50)).await;
    let marathon = Marathon::new(&double.url);
    double.double.fail_tasks("/demo/web", "Docker container run error: pull access denied for nginx:nope");
    let (_ws, folder) = workspace();
    let report = folder.save("web.yml", WEB, None, &marathon, &ProcessEnv).await.expect("saved");
    let deployment = report.deployment.expect("deployed");
    let options = FollowOptions { poll_every: Duration::from_millis(100), ..FollowOptions::default() };
    let seen = progress(follow_with(&marathon, &deployment.deployment_id, "/demo/web", options)).await;
    assert_eq!(
        seen.last(),
        Some(&DeployProgress::Failed { message: "Docker container run error: pull access denied for nginx:nope".into(), task_state: Some("TASK_FAILED".into()) }),
        "{seen:#?}"
    );
}

#[tokio::test]
async fn a_deployment_that_stays_waiting_is_reported_then_given_up() {
    let double = MarathonDouble::start(Shape::V15, Duration::from_millis(1)).await;
    double.double.seed(serde_json::json!({"id": "/demo/stuck", "instances": 2}));
    double.double.stage("/demo/stuck", 2);
    let held = double.double.hold("/demo/stuck");
    let marathon = Marathon::new(&double.url);
    let options = FollowOptions { poll_every: Duration::from_millis(50), waiting_after: Duration::from_millis(300), timeout: Duration::from_secs(1) };
    let seen = progress(follow_with(&marathon, &held, "demo/stuck", options)).await;
    assert!(matches!(&seen[1], DeployProgress::Running { running: 0, staged: 2, instances: 2, .. }), "{seen:#?}");
    let waiting = seen.iter().find_map(|p| match p {
        DeployProgress::Waiting { message, .. } => Some(message.clone()),
        _ => None,
    });
    assert!(waiting.is_some_and(|m| m.contains("2 task(s) staged")), "{seen:#?}");
    assert!(matches!(seen.last(), Some(DeployProgress::TimedOut { .. })), "{seen:#?}");
}
