//! The course's own stack files (`labs/mesos-marathon/stack.yml` and `stack-classic.yml`)
//! parse, validate and resolve to the shape the reference describes. They cannot be started
//! here (no registry, no privileged containers), so their structure is what is checked.

use lab::course::ContentSource;
use lab::stack::plan::{Plan, ProjectOptions, plan};
use std::collections::HashMap;

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
