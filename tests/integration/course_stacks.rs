//! The course's own stack files (`labs/mesos-marathon/stack.yml` and `stack-classic.yml`,
//! and the original Compose v1 `docker-compose.yml` students got) parse, validate and
//! resolve to the shape the reference describes. They cannot be started here (no registry,
//! no privileged containers), so their structure is what is checked.

use lab::course::ContentSource;
use lab::stack::plan::{Plan, ProjectOptions, plan};
use lab::stack::v1::Format;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn course_plan(name: &str, port_base: Option<u16>) -> Plan {
    let files = ContentSource::Embedded.read().unwrap();
    let file = format!("labs/mesos-marathon/{name}");
    let text = files.text(&file).unwrap();
    let opts = ProjectOptions {
        project: "lab-sam".into(),
        student: "sam".into(),
        port_base,
        stack_dir: "/ws".into(),
        host: "localhost".into(),
        lab: Some("mesos-marathon".into()),
        workspace: Some("/ws".into()),
        env: HashMap::new(),
    };
    plan(&file, text, &opts).unwrap_or_else(|e| panic!("{e}"))
}

fn env_of(plan: &Plan, service: &str) -> Vec<String> {
    plan.services.iter().find(|s| s.name == service).unwrap().create.env.clone().unwrap_or_default()
}

fn published(plan: &Plan) -> Vec<(u16, u16)> {
    let mut out: Vec<_> = plan.services.iter().flat_map(|s| s.published.iter().map(|p| (p.host_port.unwrap_or(0), p.container_port))).collect();
    out.sort();
    out
}

#[test]
fn the_default_stack_gives_each_student_a_box() {
    let p = course_plan("stack.yml", None);
    let names: Vec<_> = p.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["box", "marathon", "gateway", "secretary"]);
    assert!(!names.iter().any(|n| n.contains("submit")), "lab deploys the site itself");

    let box_ = &p.services[0];
    assert_eq!(box_.create.host_config.as_ref().unwrap().privileged, Some(true));
    assert!(box_.has_healthcheck);
    assert_eq!(published(&p), vec![(1234, 1234), (5050, 5050), (8080, 8080), (8888, 8888)], "solo mode uses the course's ports");
    for s in &p.services[1..] {
        assert_eq!(s.network_parent.as_deref(), Some("box"), "{} joins the box's namespace", s.name);
    }
    let marathon_env = env_of(&p, "marathon");
    assert!(marathon_env.contains(&"MARATHON_MASTER=zk://localhost:2181/mesos".to_owned()));
    assert!(!marathon_env.iter().any(|e| e.starts_with("MARATHON_EVENT_SUBSCRIBER")), "removed in Marathon 1.5");
    assert!(!env_of(&p, "gateway").iter().any(|e| e.starts_with("MARATHON_CALLBACK_URL")), "1.8+ uses the event stream");
    assert!(env_of(&p, "secretary").iter().any(|e| e.starts_with("MASTER_PRIVATE_KEY=")), "secretary needs a key to start");
    assert_eq!(p.endpoints, vec![("marathon".into(), "http://localhost:8080".into()), ("mesos".into(), "http://localhost:5050".into())]);
    assert_eq!(p.memory, Some(2 << 30), "the lab README's memory table: about 2 GB per student");
}

#[test]
fn port_base_moves_every_published_port() {
    let p = course_plan("stack.yml", Some(30000));
    assert_eq!(published(&p), vec![(30000, 5050), (30001, 8080), (30002, 1234), (30003, 8888)]);
    assert_eq!(p.endpoints[0].1, "http://localhost:30001");
}

#[test]
fn the_classic_stack_keeps_the_course_versions() {
    let p = course_plan("stack-classic.yml", None);
    let images: HashMap<_, _> = p.services.iter().map(|s| (s.name.as_str(), s.image.as_str())).collect();
    assert_eq!(images["zookeeper"], "mesoscloud/zookeeper:3.4.6-centos-7");
    assert_eq!(images["mesosmaster"], "mesosphere/mesos-master:0.27.0-0.2.190.ubuntu1404");
    assert_eq!(images["mesosslave"], "mesosphere/mesos-slave:0.27.0-0.2.190.ubuntu1404");
    assert_eq!(images["marathon"], "mesosphere/marathon:v0.15.1");
    assert_eq!(images["gateway"], "meltwater/proxymatic:1.7.5");
    assert_eq!(images["secretary"], "meltwater/secretary:0.8.0");
    assert!(env_of(&p, "marathon").contains(&"MARATHON_EVENT_SUBSCRIBER=http_callback".to_owned()));
    assert!(env_of(&p, "gateway").contains(&"MARATHON_CALLBACK_URL=http://localhost:5090".to_owned()));
    for s in p.services.iter().filter(|s| s.name != "box") {
        assert_eq!(s.network_parent.as_deref(), Some("box"), "{}", s.name);
    }
    let slave = p.services.iter().find(|s| s.name == "mesosslave").unwrap();
    assert!(slave.create.host_config.as_ref().unwrap().binds.as_ref().unwrap().iter().any(|b| b.starts_with("lab-sam_box-run:/var/run")), "the agent talks to the box's daemon, not the host's");
    assert_eq!(published(&p), vec![(1234, 1234), (5050, 5050), (8080, 8080), (8888, 8888)]);
    assert_eq!(p.memory, Some(2 << 30));
}

/// The course's own file as students got it (Compose v1), read from a faithful copy.
fn original_plan() -> (Plan, PathBuf) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stack/cursus-docker");
    let text = std::fs::read_to_string(dir.join("docker-compose.yml")).unwrap();
    let opts = ProjectOptions {
        project: "lab-sam".into(),
        student: "sam".into(),
        port_base: None,
        stack_dir: dir.clone(),
        host: "localhost".into(),
        lab: None,
        workspace: None,
        env: HashMap::new(),
    };
    (plan("docker-compose.yml", &text, &opts).unwrap_or_else(|e| panic!("{e}")), dir)
}

#[test]
fn the_courses_original_v1_file_is_read_as_docker_compose_read_it() {
    let (p, dir) = original_plan();
    assert_eq!(p.format, Format::V1);
    let names: Vec<_> = p.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["zookeeper", "mesosmaster", "mesosslave", "marathon", "marathonsubmit", "gateway", "secretary"]);

    // net: host everywhere but zookeeper, which publishes its ports from the project's network.
    let modes: HashMap<_, _> = p.services.iter().map(|s| (s.name.as_str(), s.create.host_config.as_ref().unwrap().network_mode.clone().unwrap())).collect();
    assert_eq!(modes["zookeeper"], "lab-sam_default");
    for s in names.iter().filter(|n| **n != "zookeeper") {
        assert_eq!(modes[s], "host", "{s}");
    }
    assert_eq!(p.networks.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(), vec!["lab-sam_default"]);
    assert_eq!(published(&p), vec![(2181, 2181), (2888, 2888), (3888, 3888)]);
    assert!(env_of(&p, "zookeeper").contains(&"SERVERS=server.1=127.0.0.1".to_owned()));

    // build: DIR becomes a build of that folder, tagged <project>-<service>.
    let builds: HashMap<_, _> = p.services.iter().filter_map(|s| Some((s.name.as_str(), (s.build.as_ref()?, s.image.as_str())))).collect();
    assert_eq!(builds.len(), 3);
    for (service, folder) in [("mesosslave", "mesos-slave"), ("marathonsubmit", "marathon-submit"), ("secretary", "secretary")] {
        let (build, image) = builds[service];
        assert_eq!(build.context, dir.join(folder), "{service}");
        assert_eq!(build.dockerfile, "Dockerfile");
        assert_eq!(image, format!("lab-sam-{service}"));
        assert!(lab::stack::build::build_hash(build).is_ok(), "{service}'s context can be read");
    }
    let images: HashMap<_, _> = p.services.iter().map(|s| (s.name.as_str(), s.image.as_str())).collect();
    assert_eq!(images["gateway"], "meltwater/proxymatic:1.7.5");
    assert_eq!(images["marathon"], "mesosphere/marathon:v0.15.1");

    // The agent keeps its privileges, mounts and environment.
    let slave = p.services.iter().find(|s| s.name == "mesosslave").unwrap();
    let host = slave.create.host_config.as_ref().unwrap();
    assert_eq!(host.privileged, Some(true));
    assert_eq!(host.binds.as_deref().unwrap(), ["/sys:/sys", "/usr/local/bin/docker:/usr/bin/docker:ro", "/var/run/docker.sock:/var/run/docker.sock:rw"]);
    assert_eq!(slave.create.volumes.as_deref().unwrap(), ["/var/log/mesos/slave"]);
    assert!(env_of(&p, "mesosslave").contains(&"MESOS_HOSTNAME=192.168.99.100".to_owned()));
    let submit = p.services.iter().find(|s| s.name == "marathonsubmit").unwrap();
    let submit_binds = submit.create.host_config.as_ref().unwrap().binds.clone().unwrap();
    assert_eq!(submit_binds, vec![format!("{}:/submit", dir.join("marathon-submit").display())], "relative to the file's folder");
}
