use super::*;
use crate::stack::tree::parse;

fn problems(text: &str) -> Vec<(u64, u64, String)> {
    let (_, problems) = check(&parse(text).unwrap());
    problems.into_iter().map(|p| (p.line, p.column, p.message)).collect()
}

fn lowered(text: &str) -> Json {
    let (json, problems) = check(&parse(text).unwrap());
    assert!(problems.is_empty(), "{problems:?}");
    json
}

#[test]
fn every_problem_is_found_in_one_walk() {
    let text = "services:\n  web:\n    image: [x]\n    ports: ['80:80', {target: 81, protocol: icmp}]\n    colour: blue\n  db:\n    image: y\n    depends_on: {web: {condition: service_completed_successfully}}\nnetworks:\n  front: {driver: 5, frobnicate: true}\n";
    let found = problems(text);
    let at: Vec<(u64, u64)> = found.iter().map(|(l, c, _)| (*l, *c)).collect();
    assert_eq!(at, vec![(3, 12), (4, 45), (5, 5), (8, 35), (10, 22)], "{found:#?}");
    assert_eq!(found[0].2, "service `web`: `image` must be text, not a list");
    assert_eq!(found[1].2, "service `web`: port protocol must be tcp, udp or sctp, not `icmp`");
    assert_eq!(found[2].2, "service `web`: key `colour` is not supported by lab");
    assert!(found[3].2.starts_with("service `db`: depends_on condition `service_completed_successfully` is not supported"), "{}", found[3].2);
    assert_eq!(found[4].2, "network `front`: key `frobnicate` is not supported here");
}

#[test]
fn values_are_checked_where_they_are_written() {
    for (text, expected) in [
        ("services:\n  a: {image: x, network_mode: 'weird'}\n", "network_mode `weird` is not supported"),
        ("services:\n  a: {image: x, stop_grace_period: soon}\n", "`soon` is not a duration"),
        ("services:\n  a: {image: x, mem_limit: lots}\n", "mem_limit: `lots` is not a size"),
        ("services:\n  a: {image: x, cpus: many}\n", "cpus: `many` is not a number"),
        ("services:\n  a: {image: x, volumes: [{type: nfs, target: /x}]}\n", "volume type `nfs`"),
        ("services:\n  a: {image: x, volumes: [{type: bind}]}\n", "a long-syntax volume needs `target` in `volumes[0]`"),
        ("services:\n  a: {image: x, cgroup: host, cgroupns: private}\n", "sets both cgroup and cgroupns"),
        ("services:\n  a:\n", "service `a` must be a map, not nothing (null)"),
        ("services: [a, b]\n", "`services` must be a map, not a list"),
        ("- a\n", "a stack file must be a map"),
    ] {
        let found = problems(text);
        assert!(found.iter().any(|(_, _, m)| m.contains(expected)), "{text:?}: {found:?}");
    }
}

#[test]
fn the_tree_is_lowered_to_what_the_types_read() {
    let json = lowered("x-any: {a: [1]}\nservices:\n  a:\n    image: 5\n    user: 1000\n    expose: [80]\n    environment: {A: 1, B: null, C: true}\n    cgroupns: host\n    ports: []\n    healthcheck: {retries: 3, interval: 10}\n    volumes: [{type: tmpfs, target: /t, tmpfs: {mode: 0o1777}}]\n    depends_on: {b: }\n  b: {image: x, networks: {default: }}\n");
    let a = &json["services"]["a"];
    assert_eq!(a["image"], "5", "numbers in text fields are text");
    assert_eq!(a["user"], "1000");
    assert_eq!(a["expose"], serde_json::json!(["80"]));
    assert_eq!(a["environment"], serde_json::json!({"A": "1", "B": null, "C": "true"}));
    assert_eq!(a["cgroup"], "host", "cgroupns is cgroup's other name");
    assert_eq!(a["healthcheck"], serde_json::json!({"retries": 3, "interval": "10"}));
    assert_eq!(a["volumes"][0]["tmpfs"]["mode"], 0o1777);
    assert_eq!(a["depends_on"], serde_json::json!({"b": null}));
    assert_eq!(json["x-any"], serde_json::json!({"a": [1]}), "extensions are kept as written");
}

#[test]
fn refused_keys_give_their_reason_and_others_the_supported_list() {
    let (_, found) = check(&parse("services:\n  a: {image: x, deploy: {replicas: 2}, tty: true}\n").unwrap());
    assert!(found[0].fix.as_deref().unwrap_or("").contains("Swarm"), "{found:?}");
    assert!(found[1].fix.as_deref().unwrap_or("").starts_with("remove it or use one of: image, build,"), "{found:?}");
}
