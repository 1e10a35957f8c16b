use super::*;
use crate::stack::schema::check;
use crate::stack::tree::parse;

fn translate(text: &str) -> (serde_json::Value, Format, Vec<Problem>) {
    let (tree, format, mut problems) = read(parse(text).unwrap());
    let (json, more) = check(&tree);
    problems.extend(more);
    (json, format, problems)
}

fn translated(text: &str) -> serde_json::Value {
    let (json, format, problems) = translate(text);
    assert_eq!(format, Format::V1);
    assert!(problems.is_empty(), "{problems:#?}");
    json
}

#[test]
fn v1_is_recognised_by_services_at_the_top_level() {
    assert!(is_v1(&parse("web:\n  image: x\n").unwrap()));
    assert!(is_v1(&parse("x-lab: {}\nweb:\n  image: x\n").unwrap()));
    assert!(!is_v1(&parse("services:\n  web: {image: x}\n").unwrap()));
    assert!(!is_v1(&parse("version: '2'\nweb: {image: x}\n").unwrap()), "a version means a newer format");
    assert!(!is_v1(&parse("x-lab: {}\n").unwrap()));
    assert!(!is_v1(&parse("").unwrap()));
    let (_, format, _) = translate("services:\n  web: {image: x}\n");
    assert_eq!(format, Format::Services);
}

#[test]
fn net_becomes_network_mode() {
    let json = translated("box:\n  image: x\nzk:\n  image: x\n  net: host\nside:\n  image: x\n  net: 'container:box'\nother:\n  image: x\n  net: 'container:elsewhere'\nlone:\n  image: x\n  net: none\n");
    let s = &json["services"];
    assert_eq!(s["box"].get("network_mode"), None, "no net: the project's own network");
    assert_eq!(s["zk"]["network_mode"], "host");
    assert_eq!(s["side"]["network_mode"], "service:box", "a container named after a service is that service");
    assert_eq!(s["other"]["network_mode"], "container:elsewhere");
    assert_eq!(s["lone"]["network_mode"], "none");
}

#[test]
fn links_become_dependencies_and_aliases() {
    let json = translated("web:\n  image: x\n  links: [db, 'cache:redis']\ndb:\n  image: y\ncache:\n  image: z\n");
    let s = &json["services"];
    assert_eq!(s["web"]["depends_on"], serde_json::json!(["db", "cache"]));
    assert_eq!(s["web"].get("links"), None);
    assert_eq!(s["cache"]["networks"], serde_json::json!({"default": {"aliases": ["redis"]}}));
    assert_eq!(s["db"].get("networks"), None);
}

#[test]
fn build_dockerfile_cpu_quota_and_named_volumes_translate() {
    let json = translated("app:\n  build: ./app\n  dockerfile: Dockerfile.dev\n  cpu_quota: 50000\n  volumes: ['data:/data', './conf:/conf', /cache]\n");
    let app = &json["services"]["app"];
    assert_eq!(app["build"], serde_json::json!({"context": "./app", "dockerfile": "Dockerfile.dev"}));
    assert_eq!(app["cpus"], "0.5");
    assert_eq!(json["volumes"], serde_json::json!({"data": null}), "only named volumes are declared");
}

#[test]
fn what_v1_cannot_do_in_lab_is_refused_with_the_reason_and_position() {
    let text = "web:\n  image: x\n  net: host\n  links: [db]\n  volumes_from: [db]\ndb:\n  image: y\n  net: overlay\n  external_links: [other]\n  cpu_shares: 512\n  dockerfile: Dockerfile\n";
    let (_, format, problems) = translate(text);
    assert_eq!(format, Format::V1);
    let found: Vec<(u64, u64, &str)> = problems.iter().map(|p| (p.line, p.column, p.message.as_str())).collect();
    assert!(found.contains(&(4, 11, "service `web`: links do not work with net: host")), "{found:#?}");
    assert!(found.contains(&(5, 3, "service `web`: key `volumes_from` is not supported by lab")), "{found:#?}");
    assert!(found.contains(&(8, 8, "service `db`: net `overlay` is not one of host, bridge, none or container:<name>")), "{found:#?}");
    assert!(found.contains(&(9, 3, "service `db`: key `external_links` is not supported by lab")), "{found:#?}");
    assert!(found.contains(&(10, 3, "service `db`: key `cpu_shares` is not supported by lab")), "{found:#?}");
    assert!(found.iter().any(|(l, _, m)| *l == 11 && m.contains("has no `build`")), "{found:#?}");
    assert_eq!(problems.len(), 6, "{found:#?}");
    assert!(problems.iter().all(|p| p.message.contains("links") || p.message.contains("net ") || p.message.contains("build") || p.fix.is_some()), "each refusal says why: {problems:#?}");
}

#[test]
fn newer_top_level_keys_in_a_file_without_services_are_explained() {
    let (_, _, problems) = translate("web:\n  image: x\nvolumes:\n  data:\n");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!((problems[0].line, problems[0].column), (3, 1));
    assert!(problems[0].message.contains("no `services:` key, so lab reads it as Compose v1"), "{problems:?}");
}
