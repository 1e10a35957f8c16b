//! The Marathon client and app model against the Marathon test double, in both API shapes:
//! apps and versions, deployments that finish after a delay, tasks that turn healthy, scale
//! up and down, 409 while locked, 422 on invalid definitions, and the event stream.

use lab::marathon::events::{StreamItem, subscribe};
use lab::marathon::{Marathon, MarathonError, NetworkMode};
use serde_json::json;
use std::time::Duration;
use crate::support::marathon::{MarathonDouble, Shape};

fn wolf3d(instances: u64) -> serde_json::Value {
    json!({
        "id": "/demo/wolf3d", "instances": instances, "cpus": 0.1, "mem": 64,
        "container": {"type": "DOCKER", "docker": {"image": "srenkens/wolfenstein3d:latest", "network": "BRIDGE",
            "portMappings": [{"containerPort": 80, "servicePort": 8888}]}},
        "healthChecks": [{"protocol": "HTTP", "path": "/", "portIndex": 0}]
    })
}

async fn wait_until_deployed(m: &Marathon, id: &str) -> lab::marathon::App {
    for _ in 0..100 {
        if let Ok(Some(app)) = m.app(id).await
            && app.deployments().is_empty()
        {
            return app;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{id} never finished deploying");
}

#[tokio::test]
async fn deploys_finish_after_a_delay_and_tasks_turn_healthy_in_both_shapes() {
    for shape in [Shape::V14, Shape::V15] {
        let double = MarathonDouble::start(shape, Duration::from_millis(150)).await;
        let m = Marathon::new(&double.url);
        m.ping().await.unwrap();
        let created = m.put_app("/demo/wolf3d", &wolf3d(2), false).await.unwrap();
        assert!(!created.deployment_id.is_empty());

        let pending = m.app("/demo/wolf3d").await.unwrap().unwrap();
        assert_eq!(pending.deployments(), vec![created.deployment_id.clone()], "{shape:?}: the deployment is pending at first");
        assert_eq!(pending.counts().running, 0);

        let app = wait_until_deployed(&m, "/demo/wolf3d").await;
        assert_eq!(app.network_mode(), NetworkMode::Bridge, "{shape:?}");
        assert_eq!(app.port_mappings()[0].service_port, 8888, "{shape:?}");
        assert_eq!(app.counts().running, 2);
        assert_eq!(app.counts().healthy, 2);
        assert!(app.tasks().iter().all(|t| t.is_healthy() && t.service_ports == vec![8888] && t.ports.len() == 1));
        if shape == Shape::V15 {
            assert!(app.raw().pointer("/container/docker/network").is_none(), "1.5 answers only the canonical shape");
            assert_eq!(app.raw()["networks"], json!([{"mode": "container/bridge"}]));
        } else {
            assert_eq!(app.raw().pointer("/container/docker/network"), Some(&json!("BRIDGE")));
        }
    }
}

#[tokio::test]
async fn fields_lab_does_not_model_survive_a_round_trip() {
    // What a student writes that the app view does not read (fetch, upgradeStrategy, labels,
    // a field from a newer Marathon) goes to Marathon and comes back untouched.
    let double = MarathonDouble::start(Shape::V14, Duration::from_millis(20)).await;
    let m = Marathon::new(&double.url);
    let mut app = wolf3d(1);
    app["fetch"] = json!([{"uri": "https://example.org/config.tgz", "extract": true}]);
    app["upgradeStrategy"] = json!({"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0.25});
    app["someFutureField"] = json!({"nested": [1, 2]});
    m.put_app("/demo/wolf3d", &app, false).await.unwrap();
    let back = wait_until_deployed(&m, "/demo/wolf3d").await;
    for key in ["fetch", "upgradeStrategy", "someFutureField"] {
        assert_eq!(back.raw()[key], app[key], "{key}");
    }
    // Sending it back as it came keeps everything too.
    m.put_app("/demo/wolf3d", back.raw(), false).await.unwrap();
    let again = wait_until_deployed(&m, "/demo/wolf3d").await;
    assert_eq!(again.raw()["someFutureField"], app["someFutureField"]);
}

#[tokio::test]
async fn scaling_up_and_down_adjusts_tasks() {
    let double = MarathonDouble::start(Shape::V15, Duration::from_millis(50)).await;
    let m = Marathon::new(&double.url);
    m.put_app("/demo/wolf3d", &wolf3d(3), false).await.unwrap();
    assert_eq!(wait_until_deployed(&m, "/demo/wolf3d").await.tasks().len(), 3);
    m.put_app("/demo/wolf3d", &wolf3d(1), false).await.unwrap();
    let app = wait_until_deployed(&m, "/demo/wolf3d").await;
    assert_eq!((app.instances(), app.tasks().len(), app.counts().healthy), (1, 1, 1));
    assert_eq!(m.tasks().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_locked_app_answers_409_until_forced() {
    let double = MarathonDouble::start(Shape::V14, Duration::from_millis(20)).await;
    let m = Marathon::new(&double.url);
    double.double.seed(wolf3d(2));
    let held = double.double.hold("/demo/wolf3d");
    let err = m.put_app("/demo/wolf3d", &wolf3d(1), false).await.unwrap_err();
    let MarathonError::Locked { deployments } = err else { panic!("{err}") };
    assert_eq!(deployments, vec![held.clone()]);
    assert_eq!(m.deployments().await.unwrap()[0].affected_apps, vec!["/demo/wolf3d"]);
    m.put_app("/demo/wolf3d", &wolf3d(1), true).await.expect("force replaces the deployment");
    assert_eq!(wait_until_deployed(&m, "/demo/wolf3d").await.instances(), 1);
}

#[tokio::test]
async fn invalid_definitions_get_422_with_paths() {
    let double = MarathonDouble::start(Shape::V14, Duration::from_millis(20)).await;
    let m = Marathon::new(&double.url);
    let mut bad = wolf3d(2);
    bad["container"]["docker"]["portMappings"][0]["servicePort"] = json!(88888);
    let err = m.put_app("/demo/wolf3d", &bad, false).await.unwrap_err();
    let MarathonError::Invalid { details, .. } = err else { panic!("{err}") };
    assert_eq!(details[0].0, "/container/docker/portMappings(0)/servicePort");
    assert!(m.app("/demo/wolf3d").await.unwrap().is_none(), "nothing was created");
}

#[tokio::test]
async fn post_creates_and_answers_409_when_the_app_exists() {
    let double = MarathonDouble::start(Shape::V14, Duration::from_millis(20)).await;
    let m = Marathon::new(&double.url);
    m.post_app(&wolf3d(1)).await.unwrap();
    let err = m.post_app(&wolf3d(1)).await.unwrap_err();
    assert!(matches!(err, MarathonError::Exists { .. }), "{err}");
    assert_eq!(m.apps().await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_event_stream_reports_deployments() {
    let double = MarathonDouble::start(Shape::V15, Duration::from_millis(50)).await;
    let m = Marathon::new(&double.url);
    let mut stream = subscribe(&m);
    assert_eq!(tokio::time::timeout(Duration::from_secs(5), stream.next()).await.unwrap(), Some(StreamItem::Connected));
    let deployment = m.put_app("/demo/wolf3d", &wolf3d(1), false).await.unwrap().deployment_id;
    let mut kinds = Vec::new();
    loop {
        let item = tokio::time::timeout(Duration::from_secs(5), stream.next()).await.expect("events in time");
        let Some(StreamItem::Event(e)) = item else { continue };
        kinds.push(e.kind.clone());
        if e.kind == "deployment_success" {
            assert_eq!(e.deployment_id(), Some(deployment.as_str()));
            break;
        }
    }
    assert!(kinds.contains(&"api_post_event".to_owned()) && kinds.contains(&"status_update_event".to_owned()), "{kinds:?}");
}

#[tokio::test]
async fn the_event_stream_reconnects_when_marathon_comes_back() {
    let mut double = MarathonDouble::start(Shape::V15, Duration::from_millis(20)).await;
    let addr = double.url.trim_start_matches("http://").to_owned();
    let mut stream = subscribe(&Marathon::new(&double.url));
    let next = async |s: &mut lab::marathon::events::EventStream| tokio::time::timeout(Duration::from_secs(10), s.next()).await.expect("in time");
    assert_eq!(next(&mut stream).await, Some(StreamItem::Connected));
    double.stop();
    assert!(matches!(next(&mut stream).await, Some(StreamItem::Disconnected(_))));
    let again = MarathonDouble::start_at(&addr, Shape::V15, Duration::from_millis(20)).await;
    loop {
        match next(&mut stream).await {
            Some(StreamItem::Connected) => break,
            Some(StreamItem::Disconnected(_)) => continue,
            other => panic!("{other:?}"),
        }
    }
    drop(again);
}

#[tokio::test]
async fn an_unreachable_marathon_says_what_to_do() {
    let mut double = MarathonDouble::start(Shape::V14, Duration::from_millis(20)).await;
    let url = double.url.clone();
    double.stop();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let err = Marathon::with_timeout(&url, Duration::from_secs(2)).ping().await.unwrap_err();
    assert!(err.to_string().contains("Is your stack up? (`lab up`)"), "{err}");
}

#[tokio::test]
async fn ids_that_would_leave_the_apps_endpoint_are_refused_before_any_request() {
    let double = MarathonDouble::start(Shape::V15, Duration::from_millis(10)).await;
    let m = Marathon::new(&double.url);
    for id in ["/../../v2/groups/x", "/demo/./x", "/demo/x?force=true", "/Demo"] {
        let err = m.put_app(id, &wolf3d(1), false).await.unwrap_err();
        assert!(matches!(err, MarathonError::BadId { .. }), "{id}: {err}");
        assert!(matches!(m.app(id).await.unwrap_err(), MarathonError::BadId { .. }), "{id}");
    }
    assert!(double.double.writes().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn a_success_status_without_marathons_answer_is_not_a_deploy() {
    use axum::routing::{get, put};
    let app = axum::Router::new()
        .route("/v2/apps/{*id}", put(|| async { "<html>welcome to nginx</html>" }).get(|| async { "<html>welcome to nginx</html>" }))
        .route("/v2/apps", get(|| async { axum::Json(json!({"message": "not apps"})) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let m = Marathon::new(&url);
    let err = m.put_app("/demo/wolf3d", &wolf3d(1), false).await.unwrap_err();
    assert!(matches!(err, MarathonError::Unexpected { status: 200, .. }), "{err}");
    assert!(err.to_string().contains("is not Marathon's"), "{err}");
    assert!(matches!(m.app("/demo/wolf3d").await.unwrap_err(), MarathonError::Unexpected { .. }));
    assert!(matches!(m.apps().await.unwrap_err(), MarathonError::Unexpected { .. }));
    server.abort();
}

#[tokio::test]
async fn the_launch_queue_says_why_offers_are_declined_and_when_a_launch_is_backed_off() {
    let double = MarathonDouble::start(Shape::V15, Duration::from_millis(20)).await;
    let m = Marathon::new(&double.url);
    assert_eq!(m.queue().await.unwrap(), vec![], "nothing waits");
    double.double.decline_offers("/demo/wolf3d", "InsufficientCpus");
    double.double.fail_tasks("/demo/other", "Container exited with status 1");
    m.put_app("/demo/wolf3d", &wolf3d(2), false).await.unwrap();
    m.put_app("/demo/other", &json!({"id": "/demo/other", "cmd": "false"}), false).await.unwrap();
    let mut queue = Vec::new();
    for _ in 0..100 {
        queue = m.queue().await.unwrap();
        if queue.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let wolf = queue.iter().find(|q| q.app_id == "/demo/wolf3d").unwrap_or_else(|| panic!("{queue:?}"));
    assert_eq!((wolf.count, wolf.declined_reasons().collect::<Vec<_>>(), wolf.backed_off()), (2, vec!["InsufficientCpus"], false));
    let other = queue.iter().find(|q| q.app_id == "/demo/other").unwrap_or_else(|| panic!("{queue:?}"));
    assert!(other.backed_off() && other.declined_reasons().next().is_none(), "{other:?}");
}
