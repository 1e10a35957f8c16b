//! The stack engine against the real Docker engine: a four-service test stack with bridge,
//! `service:` and host networking, published ports, a healthcheck gating a dependency, and a
//! named volume. Skips (with the reason) outside CI when no engine is reachable.

use lab::stack::plan::{ProjectOptions, labels, plan};
use lab::stack::status::status;
use lab::stack::{Action, Engine, Plan, Quiet, StackError, UpOptions, down::down, up};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;
use crate::support::docker::{BUSYBOX, ProjectGuard, busybox_image, engine_or_skip};

const STACK: &str = include_str!("../fixtures/stack/stack.yml");

fn options(project: &str, port_base: u16) -> ProjectOptions {
    ProjectOptions {
        project: project.to_owned(),
        student: "tess".into(),
        port_base: Some(port_base),
        stack_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stack"),
        host: "127.0.0.1".into(),
        lab: None,
        workspace: None,
        env: HashMap::new(),
    }
}

fn plan_for(text: &str, project: &str, port_base: u16) -> Plan {
    plan("stack.yml", text, &options(project, port_base)).unwrap_or_else(|e| panic!("{e}"))
}

async fn http_get(url: &str) -> String {
    let client = lab::net::client_builder().timeout(Duration::from_secs(5)).build().unwrap();
    // A just-started httpd may need a moment to listen.
    for _ in 0..50 {
        if let Ok(res) = client.get(url).send().await
            && res.status().is_success()
        {
            return res.text().await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} did not answer");
}

async fn container_ids(engine: &Engine, project: &str) -> HashMap<String, String> {
    let list = engine
        .docker()
        .list_containers(Some(
            bollard::query_parameters::ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&HashMap::from([("label", vec![format!("lab.project={project}")])]))
                .build(),
        ))
        .await
        .unwrap();
    list.into_iter().map(|c| (c.labels.unwrap()[labels::SERVICE].clone(), c.id.unwrap())).collect()
}

async fn setup(prefix: &str) -> Option<(Engine, ProjectGuard)> {
    let engine = engine_or_skip().await?;
    busybox_image(&engine).await;
    Some((engine, ProjectGuard::new(prefix)))
}

#[tokio::test]
async fn up_creates_labelled_services_in_order_and_serves_http() {
    let Some((engine, guard)) = setup("up").await else { return };
    let plan = plan_for(STACK, &guard.project, 21000);
    let report = up(&engine, &plan, &Quiet, &UpOptions::default()).await.expect("up");
    assert!(report.actions.iter().all(|(_, a)| *a == Action::Created), "{:?}", report.actions);

    // Containers are named and labelled from the project.
    let state = status(&engine, &guard.project).await.unwrap();
    let services: Vec<_> = state.services.iter().map(|s| (s.service.as_str(), s.container.as_str(), s.state.as_str())).collect();
    let p = &guard.project;
    assert_eq!(
        services,
        vec![
            ("db", format!("{p}-db").as_str(), "running"),
            ("hostnet", format!("{p}-hostnet").as_str(), "running"),
            ("sidecar", format!("{p}-sidecar").as_str(), "running"),
            ("web", format!("{p}-web").as_str(), "running"),
        ]
    );
    assert_eq!(state.services[0].health.as_deref(), Some("healthy"));
    assert_eq!(state.student.as_deref(), Some("tess"));
    assert_eq!(state.ports.get("web"), Some(&21000));
    assert_eq!(state.endpoints.get("web").map(String::as_str), Some("http://127.0.0.1:21000"));
    assert!(state.all_running());

    // Networks and volumes carry the project label and name.
    let nets = engine.docker().list_networks(None::<bollard::query_parameters::ListNetworksOptions>).await.unwrap();
    let ours: Vec<_> = nets.iter().filter(|n| n.labels.as_ref().and_then(|l| l.get(labels::PROJECT)) == Some(p)).filter_map(|n| n.name.clone()).collect();
    assert_eq!(ours, vec![format!("{p}_default")]);
    let vols = engine.docker().list_volumes(None::<bollard::query_parameters::ListVolumesOptions>).await.unwrap().volumes.unwrap_or_default();
    assert!(vols.iter().any(|v| v.name == format!("{p}_data") && v.labels.get(labels::PROJECT) == Some(p)));

    // HTTP through each kind of networking.
    assert_eq!(http_get("http://127.0.0.1:21000/").await.trim(), "web says hi to tess", "bridge + published port + interpolation");
    assert_eq!(http_get("http://127.0.0.1:21001/").await.trim(), "sidecar", "service: networking, published on the namespace owner");
    assert_eq!(http_get("http://127.0.0.1:21002/").await.trim(), "host hello", "host networking and $$ escaping");

    // web started only after db's healthcheck passed.
    let db = engine.docker().inspect_container(&format!("{p}-db"), None).await.unwrap();
    let web = engine.docker().inspect_container(&format!("{p}-web"), None).await.unwrap();
    let first_healthy = db.state.as_ref().unwrap().health.as_ref().unwrap().log.as_ref().unwrap().iter().find(|r| r.exit_code == Some(0)).unwrap().end.clone().unwrap();
    let web_started = web.state.as_ref().unwrap().started_at.clone().unwrap();
    assert!(web_started >= first_healthy, "web started {web_started}, db healthy {first_healthy}");
}

#[tokio::test]
async fn re_up_keeps_unchanged_containers_and_recreates_only_what_changed() {
    let Some((engine, guard)) = setup("reup").await else { return };
    let plan1 = plan_for(STACK, &guard.project, 21100);
    up(&engine, &plan1, &Quiet, &UpOptions::default()).await.expect("first up");
    let before = container_ids(&engine, &guard.project).await;

    let again = up(&engine, &plan1, &Quiet, &UpOptions::default()).await.expect("second up");
    assert!(again.actions.iter().all(|(_, a)| *a == Action::Kept), "{:?}", again.actions);
    assert_eq!(container_ids(&engine, &guard.project).await, before, "nothing was replaced");

    let changed = STACK.replace("GREETING: hello", "GREETING: bonjour");
    let plan2 = plan_for(&changed, &guard.project, 21100);
    let report = up(&engine, &plan2, &Quiet, &UpOptions::default()).await.expect("third up");
    let recreated: HashSet<_> = report.actions.iter().filter(|(_, a)| *a == Action::Recreated).map(|(s, _)| s.as_str()).collect();
    assert_eq!(recreated, HashSet::from(["hostnet"]));
    let after = container_ids(&engine, &guard.project).await;
    for service in ["db", "web", "sidecar"] {
        assert_eq!(before[service], after[service], "{service} kept");
    }
    assert_ne!(before["hostnet"], after["hostnet"]);
    assert_eq!(http_get("http://127.0.0.1:21102/").await.trim(), "host bonjour");

    // Replacing a namespace owner replaces the service that shares it.
    let web_changed = changed.replace("web says hi", "web greets");
    let report = up(&engine, &plan_for(&web_changed, &guard.project, 21100), &Quiet, &UpOptions::default()).await.expect("fourth up");
    let recreated: HashSet<_> = report.actions.iter().filter(|(_, a)| *a == Action::Recreated).map(|(s, _)| s.as_str()).collect();
    assert_eq!(recreated, HashSet::from(["web", "sidecar"]));
    assert_eq!(http_get("http://127.0.0.1:21101/").await.trim(), "sidecar");

    // A service removed from the file is removed from the engine.
    let without_hostnet = web_changed.split("  hostnet:").next().unwrap().to_owned() + "volumes:\n  data:\n";
    let report = up(&engine, &plan_for(&without_hostnet, &guard.project, 21100), &Quiet, &UpOptions::default()).await.expect("fifth up");
    assert_eq!(report.removed, vec!["hostnet".to_owned()]);
    assert!(!container_ids(&engine, &guard.project).await.contains_key("hostnet"));
}

#[tokio::test]
async fn an_interrupted_up_is_finished_by_the_next_one() {
    let Some((engine, guard)) = setup("interrupt").await else { return };
    let plan = plan_for(STACK, &guard.project, 21200);
    // Cut `up` off while it waits for db's healthcheck: db exists, web does not.
    let cut = tokio::time::timeout(Duration::from_millis(400), up(&engine, &plan, &Quiet, &UpOptions::default())).await;
    assert!(cut.is_err(), "the first up was interrupted");
    let partial = container_ids(&engine, &guard.project).await;
    assert!(partial.contains_key("db") && !partial.contains_key("web"), "{partial:?}");

    let report = up(&engine, &plan, &Quiet, &UpOptions::default()).await.expect("second up finishes");
    assert!(status(&engine, &guard.project).await.unwrap().all_running(), "{report:?}");
    assert_eq!(http_get("http://127.0.0.1:21200/").await.trim(), "web says hi to tess");
}

#[tokio::test]
async fn down_leaves_no_labelled_resources() {
    let Some((engine, guard)) = setup("down").await else { return };
    up(&engine, &plan_for(STACK, &guard.project, 21300), &Quiet, &UpOptions::default()).await.expect("up");
    let report = down(&engine, &guard.project, true, &Quiet).await.expect("down");
    assert_eq!(report.containers, vec!["db", "hostnet", "sidecar", "web"]);
    assert_eq!(report.networks, vec![format!("{}_default", guard.project)]);
    assert_eq!(report.volumes, vec![format!("{}_data", guard.project)]);

    let filter = HashMap::from([("label", vec![format!("lab.project={}", guard.project)])]);
    let docker = engine.docker();
    let containers = docker.list_containers(Some(bollard::query_parameters::ListContainersOptionsBuilder::default().all(true).filters(&filter).build())).await.unwrap();
    let networks = docker.list_networks(Some(bollard::query_parameters::ListNetworksOptionsBuilder::default().filters(&filter).build())).await.unwrap();
    let volumes = docker.list_volumes(Some(bollard::query_parameters::ListVolumesOptionsBuilder::default().filters(&filter).build())).await.unwrap();
    assert!(containers.is_empty() && networks.is_empty() && volumes.volumes.unwrap_or_default().is_empty());
    assert!(!status(&engine, &guard.project).await.unwrap().exists());
    // Repeating is harmless.
    assert_eq!(down(&engine, &guard.project, true, &Quiet).await.unwrap(), Default::default());
}

#[tokio::test]
async fn two_projects_run_side_by_side() {
    let Some((engine, a)) = setup("side-a").await else { return };
    let b = ProjectGuard::new("side-b");
    let (plan_a, plan_b) = (plan_for(STACK, &a.project, 21400), plan_for(&STACK.replace("GREETING: hello", "GREETING: salut"), &b.project, 21500));
    let options = UpOptions::default();
    let (ra, rb) = tokio::join!(up(&engine, &plan_a, &Quiet, &options), up(&engine, &plan_b, &Quiet, &options));
    ra.expect("project a");
    rb.expect("project b");
    assert_eq!(http_get("http://127.0.0.1:21402/").await.trim(), "host hello");
    assert_eq!(http_get("http://127.0.0.1:21502/").await.trim(), "host salut");
    let ids_a = container_ids(&engine, &a.project).await;
    let ids_b = container_ids(&engine, &b.project).await;
    assert_eq!(ids_a.len(), 4);
    assert_eq!(ids_b.len(), 4);
    assert!(ids_a.values().all(|id| !ids_b.values().any(|other| other == id)));
    down(&engine, &a.project, true, &Quiet).await.unwrap();
    assert!(status(&engine, &b.project).await.unwrap().all_running(), "taking a down leaves b alone");
}

#[tokio::test]
async fn a_missing_image_names_the_image_the_service_and_the_reason() {
    let Some((engine, guard)) = setup("pull").await else { return };
    let text = format!("services:\n  ok:\n    image: {BUSYBOX}\n    command: sleep 60\n  broken:\n    image: lab-test/does-not-exist:1\n");
    let err = up(&engine, &plan_for(&text, &guard.project, 21600), &Quiet, &UpOptions::default()).await.expect_err("cannot pull");
    let StackError::ImagesUnavailable(missing) = &err else { panic!("{err}") };
    assert_eq!(missing.len(), 1, "the present image is not pulled, so only the missing one fails: {err}");
    assert_eq!((missing[0].image.as_str(), missing[0].services.as_slice()), ("lab-test/does-not-exist:1", &["broken".to_owned()][..]));
    assert!(!missing[0].reason.is_empty());
    assert!(container_ids(&engine, &guard.project).await.is_empty(), "nothing is created when an image is missing");
}

#[tokio::test]
async fn a_failing_dependency_stops_its_dependents_with_a_reason() {
    let Some((engine, guard)) = setup("unhealthy").await else { return };
    let text = format!(
        "services:\n  sick:\n    image: {BUSYBOX}\n    command: sleep 60\n    healthcheck: {{test: [CMD, 'false'], interval: 200ms, retries: 2}}\n  app:\n    image: {BUSYBOX}\n    command: sleep 60\n    depends_on: {{sick: {{condition: service_healthy}}}}\n"
    );
    let err = up(&engine, &plan_for(&text, &guard.project, 21700), &Quiet, &UpOptions::default()).await.expect_err("unhealthy");
    let text = err.to_string();
    assert!(text.contains("service sick: its healthcheck failed"), "{text}");
    assert!(text.contains("service app: not started because sick"), "{text}");
}

#[tokio::test]
async fn a_name_taken_by_someone_else_is_reported() {
    let Some((engine, guard)) = setup("taken").await else { return };
    let name = format!("{}-solo", guard.project);
    let body = bollard::models::ContainerCreateBody { image: Some(BUSYBOX.into()), cmd: Some(vec!["sleep".into(), "60".into()]), ..Default::default() };
    engine.docker().create_container(Some(bollard::query_parameters::CreateContainerOptionsBuilder::default().name(&name).build()), body).await.unwrap();
    let text = format!("services:\n  solo:\n    image: {BUSYBOX}\n    command: sleep 60\n");
    let err = up(&engine, &plan_for(&text, &guard.project, 21800), &Quiet, &UpOptions::default()).await.expect_err("taken");
    assert!(matches!(err, StackError::NameTaken { kind: "container", .. }), "{err}");
    let _ = engine.docker().remove_container(&name, Some(bollard::query_parameters::RemoveContainerOptionsBuilder::default().force(true).build())).await;
}

#[tokio::test]
async fn the_engines_refusals_point_at_the_line_they_are_about() {
    let Some((engine, guard)) = setup("refused").await else { return };
    let holder = ProjectGuard::new("refused-holder");
    // Each case: a stack whose one service the engine refuses, and the key it is about.
    let held = format!("services:\n  holder:\n    image: {BUSYBOX}\n    command: sleep 60\n    ports: ['127.0.0.1:21951:80']\n");
    up(&engine, &plan_for(&held, &holder.project, 21950), &Quiet, &UpOptions::default()).await.unwrap_or_else(|e| panic!("{e}"));
    let cases = [
        ("user", "    user: nobody-here\n", "unable to find user"),
        ("volumes", "    volumes:\n      - /etc/hostname:/bin\n", "not a directory"),
        ("command", "    command: /no/such/program\n", "no such file or directory"),
        ("ports", "    ports: ['127.0.0.1:21951:80']\n", "port is already allocated"),
    ];
    for (key, lines, engine_says) in cases {
        let text = format!("services:\n  web:\n    image: {BUSYBOX}\n    stop_grace_period: 1s\n{lines}");
        let err = up(&engine, &plan_for(&text, &guard.project, 21960), &Quiet, &UpOptions::default()).await.expect_err(key);
        let StackError::Refused { service, error } = &err else { panic!("{key}: {err:?}") };
        assert_eq!(service, "web");
        assert_eq!(error.position, Some((5, 5)), "{key}: at the key's line: {err}");
        assert!(error.source_line.as_deref().is_some_and(|l| l.trim_start().starts_with(&format!("{key}:"))), "{key}: the line is quoted: {err:?}");
        let shown = err.to_string();
        assert!(shown.starts_with("stack.yml:5:5: service `web`: Docker refused"), "{shown}");
        assert!(shown.contains(engine_says), "the engine's own words are kept: {shown}");
        let _ = down(&engine, &guard.project, true, &Quiet).await;
    }
}
