use super::names::is_dns_label;
use super::translate::{CLASS_LABEL, KubeOptions, Manifests, NETWORK_POLICY, NamedPort, POD_LABEL, POD_SECURITY_LABEL, PodPlan, translate};
use crate::course::ContentError;
use crate::stack::file::Condition;
use crate::stack::plan::{ProjectOptions, plan};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::core::v1::{Container, EnvVar, HostAlias, PodSpec, Service, ServicePort, Volume};
use k8s_openapi::api::networking::v1::{NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

const MESOS: &str = include_str!("../../../labs/mesos-marathon/stack.yml");

/// A copy of tests/fixtures/classroom/labs/classlab/stack.yml as it was written (`side`
/// waits for `web` to be healthy in one pod, without `restart:`).
const CLASSLAB: &str = r#"x-lab:
  memory: 16m
  ports:
    web: 18080
    side: 18081
  links:
    Web page: "http://${LAB_HOST}:${LAB_PORT_WEB}/"

services:
  web:
    image: lab-test/busybox:2
    command: sh -c 'mkdir -p /www && echo "hello ${LAB_STUDENT}" > /www/index.html && sleep 1 && touch /tmp/ready && exec httpd -f -p 80 -h /www'
    ports:
      - "${LAB_PORT_WEB}:80"
      - "${LAB_PORT_SIDE}:81"
    healthcheck:
      test: [CMD, test, -f, /tmp/ready]
      interval: 300ms
      timeout: 1s
      retries: 40
    stop_grace_period: 1s

  side:
    image: lab-test/busybox:2
    network_mode: service:web
    depends_on:
      web: {condition: service_healthy}
    command: sh -c 'mkdir -p /side && echo side > /side/index.html && exec httpd -f -p 81 -h /side'
    stop_grace_period: 1s
"#;

fn translate_in(dir: &Path, text: &str, port_base: Option<u16>, storage: Option<&str>) -> Result<Manifests, Vec<ContentError>> {
    let project = ProjectOptions {
        project: "lab-alice".into(),
        student: "alice".into(),
        port_base,
        stack_dir: dir.to_owned(),
        host: "localhost".into(),
        lab: Some("demo".into()),
        workspace: None,
        env: HashMap::new(),
    };
    let plan = plan("stack.yml", text, &project).unwrap_or_else(|e| panic!("the plan fails: {e}"));
    let options = KubeOptions {
        namespace: "lab-alice".into(),
        storage_class: storage.map(str::to_owned),
        namespace_labels: BTreeMap::from([(CLASS_LABEL.to_owned(), "k3".to_owned())]),
    };
    translate(&plan, &options).map_err(|e| e.problems)
}

fn ok(text: &str, storage: Option<&str>) -> Manifests {
    translate_in(Path::new("/stacks/demo"), text, None, storage).unwrap_or_else(|p| panic!("refused: {p:#?}"))
}

fn refused(text: &str) -> Vec<ContentError> {
    refused_with(text, None)
}

fn refused_with(text: &str, storage: Option<&str>) -> Vec<ContentError> {
    translate_in(Path::new("/stacks/demo"), text, None, storage).expect_err("should be refused")
}

/// 1-based line and column of the first occurrence of `needle` in `text`.
fn at(text: &str, needle: &str) -> Option<(u64, u64)> {
    let found = text.lines().enumerate().find_map(|(i, l)| l.find(needle).map(|c| (i as u64 + 1, c as u64 + 1)));
    assert!(found.is_some(), "`{needle}` is not in the text");
    found
}

fn pod<'a>(m: &'a Manifests, name: &str) -> &'a PodPlan {
    m.pods.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("no pod {name}"))
}

fn spec(p: &PodPlan) -> &PodSpec {
    p.deployment.spec.as_ref().unwrap().template.spec.as_ref().unwrap()
}

fn container<'a>(p: &'a PodPlan, name: &str) -> &'a Container {
    spec(p).containers.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no container {name}"))
}

fn service<'a>(m: &'a Manifests, name: &str) -> &'a Service {
    m.services.iter().chain(&m.published).find(|s| s.metadata.name.as_deref() == Some(name)).unwrap_or_else(|| panic!("no service {name}"))
}

fn strings(items: &[&str]) -> Option<Vec<String>> {
    Some(items.iter().map(|s| (*s).to_owned()).collect())
}

fn volume<'a>(p: &'a PodPlan, name: &str) -> &'a Volume {
    spec(p).volumes.iter().flatten().find(|v| v.name == name).unwrap_or_else(|| panic!("no volume {name}"))
}

fn single(text: &str, body: &str) -> String {
    format!("services:\n  web:\n    image: nginx\n{body}{text}")
}

#[test]
fn the_mesos_marathon_stack_is_one_pod() {
    let m = translate_in(Path::new("/stacks/demo"), MESOS, Some(20000), None).unwrap_or_else(|p| panic!("{p:#?}"));
    assert_eq!(m.pods.len(), 1);
    let p = &m.pods[0];
    assert_eq!((p.name.as_str(), p.services.clone()), ("box", vec!["box".to_owned(), "marathon".into(), "gateway".into(), "secretary".into()]));
    assert!(p.waits_for.is_empty(), "{:?}", p.waits_for);
    let names: Vec<&str> = spec(p).containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["box", "marathon", "gateway", "secretary"]);

    let boxed = container(p, "box");
    assert_eq!(boxed.security_context.as_ref().and_then(|s| s.privileged), Some(true));
    assert_eq!(boxed.args, strings(&["/lib/systemd/systemd"]));
    assert_eq!(boxed.command, None);
    let probe = boxed.readiness_probe.as_ref().expect("a readiness probe");
    let check = "exec 3<>/dev/tcp/127.0.0.1/2181 && exec 4<>/dev/tcp/127.0.0.1/5050";
    assert_eq!(probe.exec.as_ref().unwrap().command, strings(&["bash", "-c", check]));
    assert_eq!((probe.period_seconds, probe.timeout_seconds, probe.failure_threshold), (Some(3), Some(2), Some(40)));
    assert_eq!(container(p, "marathon").security_context, None, "only the box is privileged");
    assert!(container(p, "gateway").readiness_probe.is_none());

    let env = container(p, "marathon").env.clone().unwrap();
    let var = |name: &str, value: &str| EnvVar { name: name.into(), value: Some(value.into()), ..EnvVar::default() };
    assert_eq!(env.len(), 5, "{env:?}");
    assert!(env.contains(&var("MARATHON_MASTER", "zk://localhost:2181/mesos")) && env.contains(&var("MARATHON_TASK_LAUNCH_TIMEOUT", "300000")));
    assert!(env.contains(&var("JAVA_OPTS", "-Xmx512m")));
    let secretary = container(p, "secretary").env.clone().unwrap();
    assert!(secretary.contains(&var("MASTER_PRIVATE_KEY", "3m2/mktjKK5USiMCt1pXBXApUGxgTYiMoDk9ADXZbVQ=")), "defaults are filled in");

    let s = spec(p);
    assert_eq!(s.termination_grace_period_seconds, Some(20));
    assert_eq!(s.hostname.as_deref(), Some("box"));
    assert_eq!(s.enable_service_links, Some(false));
    let task_images = volume(p, "vol-task-images");
    assert!(task_images.empty_dir.is_some() && task_images.persistent_volume_claim.is_none());
    let mount = boxed.volume_mounts.as_ref().unwrap();
    assert_eq!((mount.len(), mount[0].name.as_str(), mount[0].mount_path.as_str()), (1, "vol-task-images", "/var/lib/docker"));
    assert!(m.claims.is_empty());

    let deployment = p.deployment.spec.as_ref().unwrap();
    let pod_label = BTreeMap::from([(POD_LABEL.to_owned(), "box".to_owned())]);
    assert_eq!(deployment.selector.match_labels.as_ref(), Some(&pod_label));
    assert_eq!(deployment.replicas, Some(1));
    assert_eq!(deployment.template.metadata.as_ref().unwrap().labels.as_ref().unwrap().get(POD_LABEL).map(String::as_str), Some("box"));

    let published = service(&m, "box-published").spec.as_ref().unwrap();
    assert_eq!(published.type_.as_deref(), Some("NodePort"));
    assert_eq!(published.selector.as_ref(), Some(&pod_label));
    let ports: Vec<(&str, i32, Option<&IntOrString>)> = published.ports.iter().flatten().map(|p| (p.name.as_deref().unwrap(), p.port, p.target_port.as_ref())).collect();
    let int = |p| IntOrString::Int(p);
    assert_eq!(ports, [("tcp-5050", 5050, Some(&int(5050))), ("tcp-8080", 8080, Some(&int(8080))), ("tcp-1234", 1234, Some(&int(1234))), ("tcp-8888", 8888, Some(&int(8888)))]);
    let named = |name: &str, planned, port: u16| NamedPort { name: name.into(), planned, service: "box-published".into(), port_name: format!("tcp-{port}"), container_port: port };
    assert_eq!(m.named_ports, [named("mesos", 20000, 5050), named("marathon", 20001, 8080), named("demo", 20002, 1234), named("wolf3d", 20003, 8888)]);

    let service_names: Vec<&str> = m.services.iter().map(|s| s.metadata.name.as_deref().unwrap()).collect();
    assert_eq!(service_names, ["box", "marathon", "gateway", "secretary"]);
    for s in &m.services {
        assert_eq!(s.spec.as_ref().unwrap().selector.as_ref(), Some(&pod_label), "{:?}", s.metadata.name);
    }
    let box_ports: Vec<i32> = service(&m, "box").spec.as_ref().unwrap().ports.iter().flatten().map(|p| p.port).collect();
    assert_eq!(box_ports, [1234, 5050, 8080, 8888]);
    assert_eq!(service(&m, "marathon").spec.as_ref().unwrap().cluster_ip.as_deref(), Some("None"), "no ports: headless");

    let labels = m.namespace.metadata.labels.clone().unwrap();
    let expected = [("lab.project", "lab-alice"), ("lab.student", "alice"), ("lab.lab", "demo"), ("lab.class", "k3"), (POD_SECURITY_LABEL, "privileged")];
    assert_eq!(labels, expected.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<BTreeMap<_, _>>());
    assert_eq!(m.namespace.metadata.name.as_deref(), Some("lab-alice"));
}

#[test]
fn a_storage_class_turns_named_volumes_into_claims() {
    let m = ok(MESOS, Some("standard"));
    assert_eq!(m.claims.len(), 1);
    let claim = &m.claims[0];
    assert_eq!((claim.metadata.name.as_deref(), claim.metadata.namespace.as_deref()), (Some("vol-task-images"), Some("lab-alice")));
    let claim_spec = claim.spec.as_ref().unwrap();
    assert_eq!(claim_spec.storage_class_name.as_deref(), Some("standard"));
    assert_eq!(claim_spec.access_modes, strings(&["ReadWriteOnce"]), "one pod uses it");
    let v = volume(&m.pods[0], "vol-task-images");
    assert!(v.empty_dir.is_none());
    assert_eq!(v.persistent_volume_claim.as_ref().map(|c| c.claim_name.as_str()), Some("vol-task-images"));
}

#[test]
fn the_classroom_lab_needs_side_to_retry() {
    let problems = refused(CLASSLAB);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let p = &problems[0];
    assert!(p.message.contains("service `side`") && p.message.contains("waits for `web`") && p.message.contains("one pod"), "{}", p.message);
    assert_eq!(p.position, at(CLASSLAB, "depends_on:"));
    assert!(p.fix.as_deref().unwrap().contains("restart: on-failure"), "{:?}", p.fix);

    let fixed = CLASSLAB.replace("    network_mode: service:web\n", "    network_mode: service:web\n    restart: on-failure\n");
    let m = ok(&fixed, None);
    assert_eq!(m.pods.len(), 1);
    let p = pod(&m, "web");
    assert_eq!(p.services, ["web", "side"]);
    assert!(p.waits_for.is_empty());
    let probe = container(p, "web").readiness_probe.clone().unwrap();
    assert_eq!(probe.exec.unwrap().command, strings(&["test", "-f", "/tmp/ready"]));
    assert_eq!((probe.period_seconds, probe.timeout_seconds, probe.failure_threshold), (Some(1), Some(1), Some(40)));
    assert_eq!(spec(p).termination_grace_period_seconds, Some(1));
    let named = |name: &str, planned, port: u16| NamedPort { name: name.into(), planned, service: "web-published".into(), port_name: format!("tcp-{port}"), container_port: port };
    assert_eq!(m.named_ports, [named("web", 18080, 80), named("side", 18081, 81)]);
}

/// Each case — (service body, key, words of the message, words of the fix) after the
/// top-level `prelude` — is refused once, at its key's line, with that message and fix.
fn assert_each_refused(prelude: &str, cases: &[(&str, &str, &str, &str)]) {
    for (body, key, message, fix) in cases {
        let text = single(prelude, body);
        let problems = refused(&text);
        assert_eq!(problems.len(), 1, "{body}: {problems:#?}");
        let p = &problems[0];
        assert!(p.message.starts_with("service `web`: ") && p.message.contains(message) && p.message.ends_with("(Kubernetes)"), "{body}: {}", p.message);
        assert_eq!(p.position, at(&text, key), "{body}");
        assert!(p.fix.as_deref().is_some_and(|f| f.contains(fix)), "{body}: {:?}", p.fix);
        assert!(p.source_line.as_deref().is_some_and(|l| l.contains(key.trim_end_matches(':'))), "{body}: {:?}", p.source_line);
    }
}

#[test]
fn what_has_no_translation_is_refused_at_its_line() {
    let nets = "networks:\n  front:\n  back:\n";
    let cases: &[(&str, &str, &str, &str)] = &[
        ("    volumes: [\"./data:/data\"]\n", "volumes:", "bind-mounts `/stacks/demo/data`", "named volume"),
        ("    network_mode: host\n", "network_mode:", "network_mode host", "leave `network_mode` out"),
        ("    networks:\n      front: {aliases: [www]}\n", "networks:", "extra aliases", "remove `networks:`"),
        ("    networks: [front, back]\n", "networks:", "separate networks", "remove `networks:`"),
        ("    ports: [\"127.0.0.1:8080:80\"]\n", "ports:", "one host address", "without a host address"),
        ("    user: www-data\n", "user:", "numeric user, not `www-data`", "user: \"1000:1000\""),
        ("    devices: [\"/dev/fuse:/dev/fuse\"]\n", "devices:", "host devices", "remove `devices:`"),
        ("    sysctls: {net.core.somaxconn: 1024}\n", "sysctls:", "sysctls", "remove `sysctls:`"),
        ("    pids_limit: 100\n", "pids_limit:", "process limit", "remove `pids_limit:`"),
        ("    cgroup: host\n", "cgroup:", "cgroup namespace", "remove `cgroup:`"),
        ("    labels: {tier: \"has space\"}\n", "labels:", "label `tier=has space`", "label keys"),
        ("    extra_hosts: [\"host.docker.internal:host-gateway\"]\n", "extra_hosts:", "`host.docker.internal:host-gateway`", "NAME:IP"),
    ];
    assert_each_refused(nets, cases);
}

#[test]
fn a_built_image_and_an_underscored_name_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM busybox\n").unwrap();
    let text = "services:\n  web:\n    build: .\n";
    let problems = translate_in(dir.path(), text, None, None).expect_err("refused");
    assert_eq!((problems.len(), problems[0].position), (1, at(text, "build:")));
    assert!(problems[0].fix.as_deref().unwrap().contains("`image:`"));

    let text = "services:\n  my_db:\n    image: postgres\n";
    let problems = refused(text);
    assert_eq!((problems.len(), problems[0].position), (1, at(text, "my_db:")));
    assert!(problems[0].message.contains("`my_db` cannot name a Kubernetes Service"), "{}", problems[0].message);
}

#[test]
fn a_numeric_user_runs_as_that_user_and_group() {
    let m = ok(&single("", "    user: \"1000:1000\"\n"), None);
    let sc = container(pod(&m, "web"), "web").security_context.clone().unwrap();
    assert_eq!((sc.run_as_user, sc.run_as_group, sc.privileged), (Some(1000), Some(1000), None));
    let m = ok(&single("", "    user: \"33\"\n"), None);
    let sc = container(pod(&m, "web"), "web").security_context.clone().unwrap();
    assert_eq!((sc.run_as_user, sc.run_as_group), (Some(33), None));
}

#[test]
fn every_problem_of_a_file_is_reported() {
    let text = "services:
  my_db:
    image: postgres
    user: www-data
  web:
    image: nginx
    network_mode: host
  side:
    image: busybox
    network_mode: service:app
    restart: on-failure
    hostname: side
  app:
    image: busybox
    ports: [\"127.0.0.1:8080:80\"]
";
    let positions: Vec<_> = refused(text).iter().map(|p| p.position).collect();
    let expected = ["my_db:", "user: www-data", "network_mode: host", "hostname: side", "ports:"].map(|n| at(text, n));
    assert_eq!(positions, expected);
}

const TWO_PODS: &str = "services:
  web:
    image: nginx
    depends_on:
      db: {condition: service_healthy}
    volumes: [shared:/srv]
  db:
    image: postgres
    healthcheck: {test: [CMD, pg_isready], interval: 2s}
    volumes: [shared:/var/lib/postgresql/data]
volumes:
  shared:
";

#[test]
fn pods_start_after_the_pods_they_wait_for() {
    let m = ok(TWO_PODS, Some("standard"));
    let order: Vec<&str> = m.pods.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(order, ["db", "web"]);
    assert_eq!(pod(&m, "web").waits_for, [("db".to_owned(), Condition::ServiceHealthy)]);
    assert!(pod(&m, "db").waits_for.is_empty());
    assert_eq!(m.claims.len(), 1, "one claim for the shared volume");
    let modes = m.claims[0].spec.as_ref().unwrap().access_modes.clone();
    assert_eq!(modes, strings(&["ReadWriteMany"]), "the pods may land on different nodes");
    for p in &m.pods {
        assert_eq!(volume(p, "vol-shared").persistent_volume_claim.as_ref().map(|c| c.claim_name.as_str()), Some("vol-shared"));
    }
    let problems = refused(TWO_PODS);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].position, at(TWO_PODS, "volumes: [shared:/var"));
    assert!(problems[0].message.contains("volume `shared` is also used by pod `web`"), "{}", problems[0].message);
    assert!(problems[0].fix.as_deref().unwrap().contains("storage class"));
}

#[test]
fn what_docker_runs_carries_over() {
    let text = r#"services:
  app:
    image: busybox
    entrypoint: [/bin/sh, -c]
    command: ["echo hi"]
    working_dir: /srv
    environment: {A: "1", B: two}
    cap_add: [NET_ADMIN]
    mem_limit: 256m
    cpus: "0.5"
    tmpfs: ["/run:size=64m"]
    volumes: [/cache]
    extra_hosts: ["db.local:10.0.0.5", "cache.local:10.0.0.5", "v6.local:::1"]
    healthcheck: {test: "curl -f http://localhost/", interval: 300ms, timeout: 1s, retries: 5}
    stop_grace_period: 1s
    hostname: app-host
    labels: {tier: web}
  helper:
    image: busybox
    network_mode: service:app
    restart: on-failure
"#;
    let m = ok(text, None);
    let p = pod(&m, "app");
    let c = container(p, "app");
    assert_eq!((c.command.clone(), c.args.clone()), (strings(&["/bin/sh", "-c"]), strings(&["echo hi"])));
    assert_eq!(c.working_dir.as_deref(), Some("/srv"));
    let env: Vec<(String, Option<String>)> = c.env.iter().flatten().map(|e| (e.name.clone(), e.value.clone())).collect();
    assert_eq!(env, [("A".to_owned(), Some("1".to_owned())), ("B".to_owned(), Some("two".to_owned()))]);
    let sc = c.security_context.clone().unwrap();
    assert_eq!(sc.capabilities.and_then(|c| c.add), strings(&["NET_ADMIN"]));
    assert_eq!((sc.privileged, sc.run_as_user), (None, None));
    let limits = c.resources.clone().unwrap().limits.unwrap();
    assert_eq!(limits, BTreeMap::from([("memory".to_owned(), Quantity("268435456".into())), ("cpu".to_owned(), Quantity("500m".into()))]));
    let run = volume(p, "c0-tmpfs-0").empty_dir.clone().unwrap();
    assert_eq!((run.medium.as_deref(), run.size_limit), (Some("Memory"), Some(Quantity("67108864".into()))), "64 MiB, not 64 millibytes");
    assert!(volume(p, "c0-anon-0").empty_dir.as_ref().is_some_and(|e| e.medium.is_none()));
    let mounts: Vec<(&str, &str)> = c.volume_mounts.iter().flatten().map(|m| (m.name.as_str(), m.mount_path.as_str())).collect();
    assert_eq!(mounts, [("c0-anon-0", "/cache"), ("c0-tmpfs-0", "/run")]);
    let probe = c.readiness_probe.clone().unwrap();
    assert_eq!(probe.exec.unwrap().command, strings(&["/bin/sh", "-c", "curl -f http://localhost/"]));
    assert_eq!((probe.period_seconds, probe.timeout_seconds, probe.failure_threshold), (Some(1), Some(1), Some(5)));
    let s = spec(p);
    let alias = |ip: &str, names: &[&str]| HostAlias { ip: ip.into(), hostnames: strings(names) };
    assert_eq!(s.host_aliases.clone().unwrap(), [alias("10.0.0.5", &["db.local", "cache.local"]), alias("::1", &["v6.local"])]);
    assert_eq!((s.termination_grace_period_seconds, s.hostname.as_deref()), (Some(1), Some("app-host")));
    let template = p.deployment.spec.as_ref().unwrap().template.metadata.clone().unwrap().labels.unwrap();
    assert_eq!(template.get("tier").map(String::as_str), Some("web"));
    assert_eq!(container(p, "helper").security_context, None);
    assert_eq!(p.services, ["app", "helper"]);
    let ns_labels = m.namespace.metadata.labels.clone().unwrap();
    assert_eq!(ns_labels.get(POD_SECURITY_LABEL).map(String::as_str), Some("privileged"), "an added capability is beyond the baseline level");
}

#[test]
fn one_container_port_published_twice_keeps_both_names() {
    let text = "x-lab:\n  ports: {a: 18080, b: 18081}\nservices:\n  web:\n    image: nginx\n    ports: [\"${LAB_PORT_A}:80\", \"${LAB_PORT_B}:80\"]\n";
    let m = ok(text, None);
    let ports: Vec<ServicePort> = service(&m, "web-published").spec.clone().unwrap().ports.unwrap();
    assert_eq!(ports.len(), 1);
    let named: Vec<(&str, u16, &str)> = m.named_ports.iter().map(|n| (n.name.as_str(), n.planned, n.port_name.as_str())).collect();
    assert_eq!(named, [("a", 18080, "tcp-80"), ("b", 18081, "tcp-80")]);
}

#[test]
fn a_service_named_like_a_nodeport_service_is_refused_at_its_name() {
    let text = "services:\n  web:\n    image: nginx\n    ports: [\"8080:80\"]\n  web-published:\n    image: nginx\n";
    let problems = refused(text);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].position, at(text, "web-published:"));
    assert!(problems[0].message.contains("taken by the NodePort Service of pod `web`"), "{}", problems[0].message);
}

#[test]
fn the_manifests_read_back_as_yaml() {
    let m = ok(MESOS, Some("standard"));
    let yaml = m.to_yaml();
    for needle in ["kind: Deployment", "apiVersion: apps/v1", "kind: Namespace", "type: NodePort", "kind: PersistentVolumeClaim"] {
        assert!(yaml.contains(needle), "{needle} missing from:\n{yaml}");
    }
    assert!(!yaml.contains("cannot be shown"), "{yaml}");
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["Namespace", "PersistentVolumeClaim", "Service", "Service", "Service", "Service", "Service", "NetworkPolicy", "Deployment"]);
    let deployment: Deployment = serde_json::from_value(docs[8].clone()).unwrap();
    assert_eq!(deployment, m.pods[0].deployment, "the Deployment survives the round trip");
    let published: Service = serde_json::from_value(docs[6].clone()).unwrap();
    assert_eq!(published, m.published[0]);
    let policy: NetworkPolicy = serde_json::from_value(docs[7].clone()).unwrap();
    assert_eq!(policy, m.network_policy, "the NetworkPolicy survives the round trip");
    assert_eq!(docs[7]["spec"]["podSelector"], serde_json::json!({}), "every pod, written out (Kubernetes 1.20 requires it)");
}

/// Top-level networks and volumes with settings a cluster cannot give, for the cases below.
const SETTINGS: &str = "networks:
  front:
  closed: {internal: true}
  tuned: {driver_opts: {com.docker.network.driver.mtu: \"1400\"}}
  overlaid: {driver: overlay}
volumes:
  nfs: {driver_opts: {type: nfs, device: \":/srv\"}}
  plugin: {driver: rexray}
  my_data:
  my-data:
";

#[test]
fn settings_without_a_translation_are_refused_at_the_line_that_uses_them() {
    let cases: &[(&str, &str, &str, &str)] = &[
        ("    networks: [closed]\n", "networks:", "network `closed` sets `internal: true`, which has no translation", "remove `internal`"),
        ("    networks: [tuned]\n", "networks:", "network `tuned` sets driver options, which have no translation", "`driver_opts` from the network"),
        ("    networks: [overlaid]\n", "networks:", "network `overlaid` sets the driver `overlay`", "`driver`"),
        ("    volumes: [nfs:/srv]\n", "volumes:", "volume `nfs` uses driver options, which have no translation on a cluster", "remove `driver` and `driver_opts` from the volume"),
        ("    volumes: [plugin:/srv]\n", "volumes:", "volume `plugin` uses the driver `rexray`, which has no translation on a cluster", "from the volume"),
        ("    volumes: [my_data:/a, my-data:/b]\n", "volumes:", "volumes `my_data` and `my-data` would both be the Kubernetes volume `vol-my-data`", "rename one of them"),
        ("    healthcheck: {interval: 5s, retries: 3}\n", "healthcheck:", "no `test` command, so Docker would run the image's HEALTHCHECK", "write the test command: a cluster cannot read the image's HEALTHCHECK"),
        ("    tmpfs: [\"/run:mode=1777,size=64m\"]\n", "tmpfs:", "tmpfs `/run` sets `mode=1777`", "keep only the size"),
        ("    tmpfs: [\"/run:size=lots\"]\n", "tmpfs:", "tmpfs `/run`", "size=64m"),
        ("    volumes: [{type: tmpfs, target: /run, tmpfs: {size: 1m, mode: 511}}]\n", "volumes:", "tmpfs `/run` sets `mode=777`", "keep only the size"),
        ("    expose: [\"8000-8010\"]\n", "expose:", "`8000-8010` is a range of ports", "each port on its own"),
        ("    environment: {1ST: x}\n", "environment:", "variable `1ST` has a name Kubernetes refuses", "not starting with a digit"),
        ("    environment: [\"A B=x\"]\n", "environment:", "variable `A B`", "letters, digits"),
    ];
    assert_each_refused(SETTINGS, cases);
}

#[test]
fn what_docker_defaults_to_still_translates() {
    let top = "networks:\n  front:\n  plain: {driver: bridge}\n  closed: {internal: true}\nvolumes:\n  data: {driver: local}\n";
    let bodies = [
        "    networks: [plain]\n",
        "    volumes: [data:/data]\n",
        "    healthcheck: {disable: true}\n",
        "    healthcheck: {test: [NONE]}\n",
        "    tmpfs: [\"/run:rw,size=1m\"]\n",
        "    volumes: [{type: tmpfs, target: /run, tmpfs: {size: 1m}}]\n",
        "    expose: [\"8000\", \"9000/udp\"]\n",
        "    environment: {my.var: x, _X: y, JAVA-HOME: z}\n",
    ];
    for body in bodies {
        let m = translate_in(Path::new("/stacks/demo"), &single(top, body), None, None).unwrap_or_else(|p| panic!("{body}: {p:#?}"));
        assert!(container(pod(&m, "web"), "web").readiness_probe.is_none(), "{body}: no probe (a disabled healthcheck is none)");
    }
    let m = ok(&single(top, "    tmpfs: [\"/run:rw,size=1m\"]\n"), None);
    assert_eq!(volume(pod(&m, "web"), "c0-tmpfs-0").empty_dir.clone().unwrap().size_limit, Some(Quantity("1048576".into())));
    let m = ok(&single(top, "    volumes: [{type: tmpfs, target: /run, tmpfs: {size: 1m}}]\n"), None);
    assert_eq!(volume(pod(&m, "web"), "c0-tmpfs-0").empty_dir.clone().unwrap().size_limit, Some(Quantity("1048576".into())));
    let m = ok(&single(top, "    expose: [\"8000\", \"9000/udp\"]\n"), None);
    let ports: Vec<(i32, Option<&str>)> = container(pod(&m, "web"), "web").ports.iter().flatten().map(|p| (p.container_port, p.protocol.as_deref())).collect();
    assert_eq!(ports, [(8000, Some("TCP")), (9000, Some("UDP"))]);
}

#[test]
fn the_default_network_with_settings_is_refused_at_the_service() {
    let text = "services:\n  web:\n    image: nginx\nnetworks:\n  default: {internal: true}\n";
    let problems = refused(text);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].position, at(text, "web:"));
    assert!(problems[0].message.contains("network `default` sets `internal: true`"), "{}", problems[0].message);
}

#[test]
fn volumes_of_one_name_are_refused_in_one_pod_and_with_claims() {
    let text = "services:
  web:
    image: nginx
    volumes: [my_data:/a]
  db:
    image: postgres
    volumes: [my-data:/b]
volumes:
  my_data:
  my-data:
";
    // Without a storage class each pod has its own emptyDir: the names never meet.
    let m = ok(text, None);
    assert!(volume(pod(&m, "web"), "vol-my-data").empty_dir.is_some() && volume(pod(&m, "db"), "vol-my-data").empty_dir.is_some());
    // With one, both would be the claim `vol-my-data`.
    let problems = refused_with(text, Some("standard"));
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].position, at(text, "volumes: [my-data"));
    assert!(problems[0].message.contains("volumes `my_data` and `my-data` would both be"), "{}", problems[0].message);
}

#[test]
fn generated_names_stay_within_kubernetes_limits() {
    let longest = format!("a{}", "b".repeat(62));
    let text = format!("services:\n  {longest}:\n    image: nginx\n    volumes: [/cache]\n    tmpfs: [/run]\n");
    let m = ok(&text, None);
    let names: Vec<&str> = spec(pod(&m, &longest)).volumes.iter().flatten().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["c0-anon-0", "c0-tmpfs-0"]);
    assert!(names.iter().all(|n| is_dns_label(n)));

    let text = "services:\n  web:\n    image: nginx\n    volumes: [/cache]\n  side:\n    image: nginx\n    network_mode: service:web\n    restart: on-failure\n    volumes: [/cache]\n";
    let m = ok(text, None);
    let names: Vec<&str> = spec(pod(&m, "web")).volumes.iter().flatten().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["c0-anon-0", "c1-anon-0"], "each container's own");

    let fits = format!("a{}", "b".repeat(52));
    let m = ok(&format!("services:\n  {fits}:\n    image: nginx\n    ports: [\"8080:80\"]\n"), None);
    assert_eq!(m.published[0].metadata.name.as_deref().map(str::len), Some(63));
    let too_long = format!("{fits}c");
    let text = format!("services:\n  {too_long}:\n    image: nginx\n    ports: [\"8080:80\"]\n");
    let problems = refused(&text);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].position, at(&text, &format!("{too_long}:")));
    assert!(problems[0].message.contains(&format!("`{too_long}-published`, longer than the 63 characters")), "{}", problems[0].message);
    assert!(problems[0].fix.as_deref().unwrap().contains("at most 53 characters"), "{:?}", problems[0].fix);
}

#[test]
fn the_stack_memory_is_the_main_pod_request() {
    let m = ok(MESOS, None);
    let boxed = container(&m.pods[0], "box").resources.clone().expect("resources");
    assert_eq!(boxed.requests, Some(BTreeMap::from([("memory".to_owned(), Quantity("2147483648".into()))])), "x-lab.memory: 2g");
    assert_eq!(boxed.limits, None, "no mem_limit, no limit");
    assert_eq!(container(&m.pods[0], "marathon").resources, None, "one request for the stack");

    // The main pod is the first to start; a mem_limit stays the limit and caps the request.
    let text = "x-lab:\n  memory: 1g\nservices:\n  web:\n    image: nginx\n    depends_on: [db]\n  db:\n    image: postgres\n    mem_limit: 256m\n";
    let m = ok(text, None);
    assert_eq!(m.pods[0].name, "db");
    let db = container(pod(&m, "db"), "db").resources.clone().unwrap();
    let quarter = BTreeMap::from([("memory".to_owned(), Quantity("268435456".into()))]);
    assert_eq!((db.requests.as_ref(), db.limits.as_ref()), (Some(&quarter), Some(&quarter)), "a request above the limit is invalid");
    assert_eq!(container(pod(&m, "web"), "web").resources, None);
    let text = "services:\n  web:\n    image: nginx\n    mem_limit: 256m\n";
    assert_eq!(container(pod(&ok(text, None), "web"), "web").resources.clone().unwrap().requests, None, "no x-lab.memory, no request");
}

#[test]
fn only_a_privileged_stack_gets_a_privileged_namespace() {
    let labels = ok(MESOS, None).namespace.metadata.labels.unwrap();
    assert_eq!(labels.get(POD_SECURITY_LABEL).map(String::as_str), Some("privileged"));
    let labels = ok(&single("", "    ports: [\"8080:80\"]\n"), None).namespace.metadata.labels.unwrap();
    assert_eq!(labels.get(POD_SECURITY_LABEL), None, "{labels:?}");
}

#[test]
fn the_network_policy_opens_only_published_ports_to_other_namespaces() {
    let m = ok(MESOS, None);
    let policy = &m.network_policy;
    assert_eq!((policy.metadata.name.as_deref(), policy.metadata.namespace.as_deref()), (Some(NETWORK_POLICY), Some("lab-alice")));
    let spec = policy.spec.clone().unwrap();
    assert_eq!(spec.pod_selector, Some(LabelSelector::default()), "every pod of the namespace");
    assert_eq!(spec.policy_types, strings(&["Ingress"]));
    assert_eq!(spec.egress, None);
    let same_namespace = NetworkPolicyIngressRule { from: Some(vec![NetworkPolicyPeer { pod_selector: Some(LabelSelector::default()), ..NetworkPolicyPeer::default() }]), ports: None };
    let port = |p: i32| NetworkPolicyPort { port: Some(IntOrString::Int(p)), protocol: Some("TCP".into()), end_port: None };
    let published = NetworkPolicyIngressRule { from: None, ports: Some(vec![port(5050), port(8080), port(1234), port(8888)]) };
    assert_eq!(spec.ingress, Some(vec![same_namespace.clone(), published]), "the NodePort targets, from anywhere");

    // Nothing published: no rule without `from`, which would let everything in.
    let m = ok(&single("", "    expose: [\"80\"]\n"), None);
    assert_eq!(m.network_policy.spec.unwrap().ingress, Some(vec![same_namespace]));
}
