use super::*;
use bollard::models::RestartPolicyNameEnum;

fn opts() -> ProjectOptions {
    ProjectOptions {
        project: "lab-alice".into(),
        student: "alice".into(),
        port_base: None,
        stack_dir: PathBuf::from("/stacks/demo"),
        host: "localhost".into(),
        lab: Some("demo".into()),
        workspace: None,
        env: HashMap::from([("FROM_ENV".to_owned(), "yes".to_owned()), ("TAG".to_owned(), "1.2".to_owned())]),
    }
}

fn plan_of(text: &str) -> Plan {
    plan("stack.yml", text, &opts()).unwrap_or_else(|e| panic!("{e}"))
}

/// The first problem of a file that should fail.
fn err_of(text: &str) -> ContentError {
    plan("stack.yml", text, &opts()).expect_err("should fail").problems.remove(0)
}

fn service<'a>(p: &'a Plan, name: &str) -> &'a ServicePlan {
    p.services.iter().find(|s| s.name == name).unwrap()
}

fn host(s: &ServicePlan) -> &HostConfig {
    s.create.host_config.as_ref().unwrap()
}

const FULL: &str = r#"
name: ignored
x-lab:
  ports: {web: 18080, admin: 18081}
  endpoints: {web: "http://${LAB_HOST}:${LAB_PORT_WEB}"}
  links: {Web UI: "http://${LAB_HOST}:${LAB_PORT_WEB}/"}
services:
  web:
    image: "busybox:${TAG}"
    command: httpd -f -p 80 -h "/srv/my www"
    entrypoint: [/bin/sh, -c]
    environment:
      A: 1
      B: null
      FROM_ENV:
      NAME: ${LAB_STUDENT}
    ports:
      - "${LAB_PORT_WEB}:80"
      - target: 81
        published: "${LAB_PORT_ADMIN}"
        host_ip: 127.0.0.1
        protocol: udp
      - "9000-9001:7000-7001"
      - "5000"
    expose: ["3000", "4000/udp"]
    volumes:
      - data:/data
      - ./conf:/etc/conf:ro
      - /cache
      - type: tmpfs
        target: /scratch
        tmpfs: {size: 64m, mode: 0o1777}
      - type: bind
        source: /srv/shared
        target: /shared
        read_only: true
        bind: {propagation: rshared}
      - type: volume
        source: data
        target: /data2
        volume: {nocopy: true}
    networks:
      front: {aliases: [www]}
      back:
    privileged: true
    cap_add: [NET_ADMIN]
    cgroup: host
    devices: ["/dev/fuse"]
    depends_on:
      db: {condition: service_healthy}
      sidecar2: {condition: service_started, required: false}
    restart: on-failure:3
    labels: {team: blue}
    mem_limit: 256m
    cpus: "0.5"
    pids_limit: 100
    hostname: web1
    extra_hosts: ["gw:10.0.0.1"]
    working_dir: /srv
    user: "1000"
    stop_grace_period: 1m30s
    sysctls: [net.ipv4.ip_forward=1]
    tmpfs: [/run]
  db:
    image: busybox
    healthcheck:
      test: nc -z localhost 5432
      interval: 2s
      timeout: 1s
      retries: 5
      start_period: 10s
    networks: [back]
  sidecar:
    image: busybox
    network_mode: service:web
    depends_on: [db]
  sidecar2:
    image: busybox
    network_mode: none
networks:
  front:
  back: {internal: true, attachable: true, labels: {tier: back}}
volumes:
  data:
"#;

#[test]
fn every_supported_key_is_resolved() {
    let p = plan_of(FULL);
    assert_eq!(p.ports, vec![("web".into(), 18080), ("admin".into(), 18081)]);
    assert_eq!(p.endpoints, vec![("web".into(), "http://localhost:18080".into())]);
    assert_eq!(p.links, vec![("Web UI".into(), "http://localhost:18080/".into())]);

    let web = service(&p, "web");
    assert_eq!(web.container, "lab-alice-web");
    assert_eq!(web.image, "busybox:1.2");
    let c = &web.create;
    assert_eq!(c.cmd.as_deref().unwrap(), ["httpd", "-f", "-p", "80", "-h", "/srv/my www"]);
    assert_eq!(c.entrypoint.as_deref().unwrap(), ["/bin/sh", "-c"]);
    assert_eq!(c.env.as_deref().unwrap(), ["A=1", "FROM_ENV=yes", "NAME=alice"], "null values come from the environment or are left out");
    let bindings = host(web).port_bindings.as_ref().unwrap();
    assert_eq!(bindings["80/tcp"].as_ref().unwrap()[0].host_port.as_deref(), Some("18080"));
    let udp = &bindings["81/udp"].as_ref().unwrap()[0];
    assert_eq!((udp.host_ip.as_deref(), udp.host_port.as_deref()), (Some("127.0.0.1"), Some("18081")));
    assert_eq!(bindings["7001/tcp"].as_ref().unwrap()[0].host_port.as_deref(), Some("9001"), "ranges expand pairwise");
    assert_eq!(bindings["5000/tcp"].as_ref().unwrap()[0].host_port.as_deref(), Some(""), "a bare port gets a random host port");
    let exposed = c.exposed_ports.as_ref().unwrap();
    assert!(exposed.contains(&"3000/tcp".to_owned()) && exposed.contains(&"4000/udp".to_owned()) && exposed.contains(&"80/tcp".to_owned()));
    assert_eq!(
        host(web).binds.as_deref().unwrap(),
        ["lab-alice_data:/data", "/stacks/demo/conf:/etc/conf:ro", "/srv/shared:/shared:ro,rshared", "lab-alice_data:/data2:nocopy"]
    );
    assert_eq!(c.volumes.as_deref().unwrap(), ["/cache"]);
    let tmpfs = host(web).tmpfs.as_ref().unwrap();
    assert_eq!(tmpfs["/scratch"], format!("size={},mode=1777", 64 << 20));
    assert_eq!(tmpfs["/run"], "");
    assert_eq!(host(web).network_mode.as_deref(), Some("lab-alice_front"));
    let endpoints = c.networking_config.as_ref().unwrap().endpoints_config.as_ref().unwrap();
    assert_eq!(endpoints["lab-alice_front"].aliases.as_deref().unwrap(), ["web", "www"]);
    assert_eq!(web.extra_networks, vec![("lab-alice_back".to_owned(), vec!["web".to_owned()])]);
    assert_eq!(host(web).privileged, Some(true));
    assert_eq!(host(web).cap_add.as_deref().unwrap(), ["NET_ADMIN"]);
    assert_eq!(host(web).cgroupns_mode, Some(HostConfigCgroupnsModeEnum::HOST));
    assert_eq!(host(web).devices.as_ref().unwrap()[0].path_in_container.as_deref(), Some("/dev/fuse"));
    assert_eq!(web.depends_on, vec![("db".to_owned(), Condition::ServiceHealthy), ("sidecar2".to_owned(), Condition::ServiceStarted)]);
    assert_eq!(web.optional_deps, vec!["sidecar2".to_owned()]);
    let restart = host(web).restart_policy.as_ref().unwrap();
    assert_eq!((restart.name, restart.maximum_retry_count), (Some(RestartPolicyNameEnum::ON_FAILURE), Some(3)));
    let labels = c.labels.as_ref().unwrap();
    assert_eq!(labels["team"], "blue");
    assert_eq!(labels[labels::PROJECT], "lab-alice");
    assert_eq!(labels[labels::SERVICE], "web");
    assert_eq!(labels[labels::STUDENT], "alice");
    assert_eq!(labels[labels::LAB], "demo");
    assert_eq!(labels[labels::STOP_GRACE], "90");
    assert_eq!(labels[labels::ENDPOINTS], r#"{"web":"http://localhost:18080"}"#);
    assert_eq!(host(web).memory, Some(256 << 20));
    assert_eq!(host(web).nano_cpus, Some(500_000_000));
    assert_eq!(host(web).pids_limit, Some(100));
    assert_eq!(c.hostname.as_deref(), Some("web1"));
    assert_eq!(host(web).extra_hosts.as_deref().unwrap(), ["gw:10.0.0.1"]);
    assert_eq!(c.working_dir.as_deref(), Some("/srv"));
    assert_eq!(c.user.as_deref(), Some("1000"));
    assert_eq!(c.stop_timeout, Some(90));
    assert_eq!(host(web).sysctls.as_ref().unwrap()["net.ipv4.ip_forward"], "1");

    let db = service(&p, "db");
    assert!(db.has_healthcheck);
    let hc = db.create.healthcheck.as_ref().unwrap();
    assert_eq!(hc.test.as_deref().unwrap(), ["CMD-SHELL", "nc -z localhost 5432"]);
    assert_eq!((hc.interval, hc.timeout, hc.retries, hc.start_period), (Some(2_000_000_000), Some(1_000_000_000), Some(5), Some(10_000_000_000)));

    let sidecar = service(&p, "sidecar");
    assert_eq!(host(sidecar).network_mode.as_deref(), Some("container:lab-alice-web"));
    assert_eq!(sidecar.network_parent.as_deref(), Some("web"));
    assert!(sidecar.depends_on.contains(&("web".to_owned(), Condition::ServiceStarted)), "sharing a network implies a dependency");

    let names: Vec<_> = p.networks.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, vec!["lab-alice_front", "lab-alice_back"], "no default network: nobody uses it");
    assert!(p.networks[1].internal && p.networks[1].attachable);
    assert_eq!(p.networks[1].labels["tier"], "back");
    assert_eq!(p.volumes[0].name, "lab-alice_data");
}

#[test]
fn services_without_networks_join_the_project_default_network() {
    let p = plan_of("services:\n  a: {image: x}\n  b: {image: x, network_mode: host}\n");
    assert_eq!(p.networks.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(), vec!["lab-alice_default"]);
    assert_eq!(host(service(&p, "a")).network_mode.as_deref(), Some("lab-alice_default"));
    assert_eq!(host(service(&p, "b")).network_mode.as_deref(), Some("host"));
}

#[test]
fn port_base_renumbers_named_ports_in_order() {
    let mut o = opts();
    o.port_base = Some(20000);
    let p = plan("stack.yml", "x-lab:\n  ports: {b: 8080, a: 5050}\nservices:\n  s:\n    image: x\n    ports: [\"${LAB_PORT_A}:5050\", \"${LAB_PORT_B}:8080\"]\n", &o).unwrap();
    assert_eq!(p.ports, vec![("b".into(), 20000), ("a".into(), 20001)]);
    let b = host(&p.services[0]).port_bindings.as_ref().unwrap();
    assert_eq!(b["5050/tcp"].as_ref().unwrap()[0].host_port.as_deref(), Some("20001"));
}

#[test]
fn healthcheck_list_and_disable_forms() {
    let p = plan_of("services:\n  a:\n    image: x\n    healthcheck: {test: [CMD, wget, -q, localhost]}\n  b:\n    image: x\n    healthcheck: {disable: true}\n");
    assert_eq!(service(&p, "a").create.healthcheck.as_ref().unwrap().test.as_deref().unwrap(), ["CMD", "wget", "-q", "localhost"]);
    assert!(!service(&p, "b").has_healthcheck);
    let e = err_of("services:\n  a:\n    image: x\n    healthcheck: {test: [wget, x]}\n");
    assert!(e.message.contains("CMD, CMD-SHELL or NONE"), "{e}");
}

#[test]
fn semantic_errors_name_the_service_and_its_line() {
    let cases = [
        ("services:\n  a: {image: x, depends_on: [nope]}\n", "service `a`: depends on `nope`"),
        ("services:\n  a: {image: x, network_mode: 'service:ghost'}\n", "service `a`: network_mode points at service `ghost`"),
        ("services:\n  a: {image: x, networks: [ghost]}\n", "network `ghost`, which is not defined"),
        ("services:\n  a: {image: x, volumes: ['data:/d']}\n", "volume `data`, which is not defined"),
        ("services:\n  a: {command: x}\n", "service `a`: has no `image` and no `build`"),
        ("services:\n  a: {image: x, restart: sometimes}\n", "restart `sometimes`"),
        ("services:\n  a: {image: x, mem_limit: lots}\n", "mem_limit"),
        ("services:\n  a: {image: x, ports: ['80:80:80:80']}\n", "is not [HOST_IP:]"),
        ("services:\n  a: {image: x, labels: {lab.project: x}}\n", "reserved prefix"),
        ("services:\n  a: {image: x}\n  b: {image: x, network_mode: 'service:a', ports: ['80:80']}\n", "publish them on that service"),
        ("services:\n  a: {image: x, network_mode: host, ports: ['80:80']}\n", "remove `ports`"),
        ("services:\n  a: {image: x, cgroup: sometimes}\n", "cgroup must be host or private"),
        ("services:\n  a: {image: x, volumes: [{type: bind, source: /no/such/dir, target: /x, bind: {create_host_path: false}}]}\n", "does not exist (create_host_path is false)"),
        ("services:\n  a: {image: x, volumes: [{type: bind, source: /x, target: /x, bind: {propagation: sideways}}]}\n", "propagation `sideways`"),
        ("services:\n  a: {image: x}\n  b: {image: x, depends_on: {a: {condition: service_healthy}}}\n", "`a` has no healthcheck"),
    ];
    for (text, expected) in cases {
        let e = err_of(text);
        assert!(e.message.contains(expected), "{text:?}: {e}");
    }
    let e = err_of("services:\n  a: {image: x, depends_on: [nope]}\n");
    assert_eq!(e.location(), "stack.yml:2:3");
}

#[test]
fn every_service_with_a_problem_is_reported() {
    let err = plan("stack.yml", "services:\n  a: {image: x, depends_on: [nope]}\n  b: {image: x}\n  c: {command: x}\n", &opts()).expect_err("two services fail");
    let at: Vec<String> = err.problems.iter().map(ContentError::location).collect();
    assert_eq!(at, vec!["stack.yml:2:3", "stack.yml:4:3"], "{err}");
}

#[test]
fn build_resolves_against_the_stack_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("app/docker")).unwrap();
    std::fs::write(dir.path().join("app/docker/Dockerfile.dev"), "FROM scratch\n").unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    let mut o = opts();
    o.stack_dir = dir.path().to_owned();
    o.env.insert("FROM_ENV".into(), "env-value".into());
    let text = "services:\n  Web:\n    build:\n      context: app\n      dockerfile: docker/Dockerfile.dev\n      args: {A: 1, FROM_ENV: null, UNSET: null}\n      target: dev\n  named:\n    build: .\n    image: course/helper:1\n  user:\n    image: course/helper:1\n";
    let p = plan("stack.yml", text, &o).unwrap_or_else(|e| panic!("{e}"));
    let web = service(&p, "Web");
    assert_eq!(web.image, "lab-alice-web", "<project>-<service>, lower case");
    assert_eq!(web.create.image.as_deref(), Some("lab-alice-web"));
    let build = web.build.as_ref().unwrap();
    assert_eq!(build.context, dir.path().join("app"));
    assert_eq!(build.dockerfile, "docker/Dockerfile.dev");
    assert_eq!(build.args, vec![("A".to_owned(), "1".to_owned()), ("FROM_ENV".to_owned(), "env-value".to_owned())], "an unset arg is left out");
    assert_eq!(build.target.as_deref(), Some("dev"));
    assert_eq!(service(&p, "named").image, "course/helper:1", "image: names the built image");
    assert_eq!(service(&p, "user").build, None);

    for (text, expected) in [
        ("services:\n  a: {build: missing}\n", "is not a folder"),
        ("services:\n  a: {build: {context: app}}\n", "there is no Dockerfile at"),
        ("services:\n  a: {build: {context: app, dockerfile: ../../Dockerfile}}\n", "outside the build context"),
        ("services:\n  a: {build: ., image: t}\n  b: {build: {context: app, dockerfile: docker/Dockerfile.dev}, image: t}\n", "builds the image `t` differently from service `a`"),
    ] {
        let e = plan("stack.yml", text, &o).expect_err(text).problems.remove(0);
        assert!(e.message.contains(expected), "{text:?}: {e}");
    }
}

#[test]
fn dependency_cycles_are_reported() {
    let e = err_of("services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n");
    assert!(e.message.contains("dependency cycle: a → b → a"), "{e}");
}

#[test]
fn env_files_are_read_relative_to_the_stack_and_environment_wins() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.env"), "# comment\nexport A=from-file\nB='quoted'\nC=1\n").unwrap();
    let mut o = opts();
    o.stack_dir = dir.path().to_owned();
    let p = plan("stack.yml", "services:\n  a:\n    image: x\n    env_file: app.env\n    environment: [C=2]\n", &o).unwrap();
    assert_eq!(p.services[0].create.env.as_deref().unwrap(), ["A=from-file", "B=quoted", "C=2"]);
    let e = plan("stack.yml", "services:\n  a: {image: x, env_file: missing.env}\n", &o).unwrap_err();
    assert!(e.problems[0].message.contains("cannot read env_file"), "{e}");
}

#[test]
fn short_port_forms() {
    assert_eq!(parse_short_port("8080:80").unwrap()[0], Published { host_ip: "".into(), host_port: Some(8080), container_port: 80, protocol: "tcp".into() });
    assert_eq!(parse_short_port("127.0.0.1::53/udp").unwrap()[0], Published { host_ip: "127.0.0.1".into(), host_port: None, container_port: 53, protocol: "udp".into() });
    assert!(parse_short_port("80/icmp").is_err());
    assert!(parse_short_port("1-3:1-2").is_err());
}

#[test]
fn x_lab_memory_is_read_as_a_size() {
    let with = |m: &str| plan("stack.yml", &format!("x-lab:\n  memory: {m}\nservices:\n  a: {{image: x}}\n"), &opts());
    assert_eq!(with("2g").unwrap().memory, Some(2 << 30));
    assert_eq!(with("1536m").unwrap().memory, Some(1536 << 20));
    assert_eq!(with("1048576").unwrap().memory, Some(1 << 20), "a plain number is bytes");
    assert_eq!(plan_of("services:\n  a: {image: x}\n").memory, None, "no need declared");
    let errors = with("lots").unwrap_err();
    assert_eq!(errors.problems.len(), 1, "{errors}");
    let err = &errors.problems[0];
    assert_eq!(err.location(), "stack.yml:2:1");
    assert!(err.message.contains("x-lab.memory: `lots` is not a size like 512m or 2g"), "{err}");
    assert!(err.fix.as_deref().unwrap_or("").contains("memory: 2g"), "{err}");
}
