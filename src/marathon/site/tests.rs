use super::*;
use serde_json::json;
use std::collections::HashMap;

struct FakeEnv(HashMap<&'static str, &'static str>);

impl Env for FakeEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).map(|v| v.to_string())
    }
}

fn env() -> FakeEnv {
    FakeEnv(HashMap::from([("DEPLOY_ENV", "staging")]))
}

/// Writes files into a temp site and renders `target`.
fn render_in(files: &[(&str, &str)], target: &str) -> Result<RenderedApp, ContentError> {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let result = render(&dir.path().join(target), target, dir.path(), &env());
    drop(dir);
    result
}

fn ok(files: &[(&str, &str)], target: &str) -> Value {
    let mut app = render_in(files, target).unwrap_or_else(|e| panic!("{e}")).app;
    app["labels"].as_object_mut().unwrap().remove(CHECKSUM_LABEL);
    if app["labels"].as_object().unwrap().is_empty() {
        app.as_object_mut().unwrap().remove("labels");
    }
    app
}

#[test]
fn service_is_the_app_and_override_wins() {
    let app = ok(&[("a.yml", "service:\n  id: /x/a\n  instances: 3\n  cpus: 0.1\noverride:\n  instances: 1\n")], "a.yml");
    assert_eq!(app, json!({"id": "/x/a", "instances": 1, "cpus": 0.1}));
}

#[test]
fn variables_substitute_with_types_nesting_env_and_escapes() {
    let yaml = r#"
variables:
  count: 2
  name: web
  full: "%{name}-%{env.DEPLOY_ENV}"
service:
  id: "/demo/%{ name }"
  instances: "%{count}"
  cmd: "echo %{full} has %{count} copies and %%{literal}"
  labels: {stage: "%{env.DEPLOY_ENV}"}
"#;
    let app = ok(&[("a.yml", yaml)], "a.yml");
    assert_eq!(app["id"], "/demo/web");
    assert_eq!(app["instances"], json!(2), "a whole-string reference keeps the variable's type");
    assert_eq!(app["cmd"], "echo web-staging has 2 copies and %{literal}");
    assert_eq!(app["labels"]["stage"], "staging");
}

#[test]
fn an_unresolved_variable_points_at_the_reference() {
    let err = render_in(&[("a.yml", "service:\n  id: /a\n  cmd: \"run %{nope}\"\n")], "a.yml").unwrap_err();
    assert_eq!(err.location(), "a.yml:3:13");
    assert!(err.message.contains("`%{nope}` is not defined"), "{err}");
    let err = render_in(&[("a.yml", "service:\n  id: /a\n  cmd: \"%{env.MISSING_VAR}\"\n")], "a.yml").unwrap_err();
    assert!(err.message.contains("environment variable MISSING_VAR"), "{err}");
}

#[test]
fn variables_in_a_cycle_are_an_error() {
    let err = render_in(&[("a.yml", "variables: {a: \"x%{b}\", b: \"y%{a}\"}\nservice:\n  id: /a\n  cmd: \"%{a}\"\n")], "a.yml").unwrap_err();
    assert!(err.message.contains("cycle"), "{err}");
}

#[test]
fn globals_merge_from_every_folder_up_nearer_wins_lists_append() {
    let files = [
        ("site/globals.yml", "variables: {team: core}\nmarathon: {url: \"http://far:8080\"}\nservice:\n  cpus: 1\n  mem: 64\n  labels: {owner: far, tier: far}\n  constraints: [[far, CLUSTER, x]]\n"),
        ("site/demo/globals.yml", "marathon: {url: \"http://near:8080\"}\nservice:\n  cpus: 0.5\n  labels: {tier: near}\n  constraints: [[near, CLUSTER, y]]\n"),
        ("site/demo/app.yml", "service:\n  id: /demo/app\n  cpus: 0.25\n  labels: {team: \"%{team}\"}\n  constraints: [[own, CLUSTER, z]]\n"),
    ];
    let rendered = render_in(&files, "site/demo/app.yml").unwrap();
    assert_eq!(rendered.marathon_url.as_deref(), Some("http://near:8080"));
    let app = ok(&files, "site/demo/app.yml");
    assert_eq!(app["cpus"], json!(0.25), "the file wins over all globals");
    assert_eq!(app["mem"], json!(64), "keys only in far globals still arrive");
    assert_eq!(app["labels"], json!({"owner": "far", "tier": "near", "team": "core"}));
    assert_eq!(app["constraints"], json!([["far", "CLUSTER", "x"], ["near", "CLUSTER", "y"], ["own", "CLUSTER", "z"]]));
}

#[test]
fn globals_above_the_site_root_are_not_merged() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("globals.yml"), "service:\n  labels: {stray: yes}\n").unwrap();
    std::fs::create_dir_all(dir.path().join("site/sub")).unwrap();
    std::fs::write(dir.path().join("site/globals.yml"), "service:\n  labels: {site: yes}\n").unwrap();
    std::fs::write(dir.path().join("site/sub/a.yml"), "service: {id: /a}\n").unwrap();
    let app = render(&dir.path().join("site/sub/a.yml"), "site/sub/a.yml", &dir.path().join("site"), &env()).unwrap().app;
    assert_eq!(app["labels"]["site"], "yes");
    assert!(app["labels"].get("stray").is_none(), "{app}");
}

#[test]
fn an_override_with_integer_keys_patches_list_items() {
    let yaml = "service:\n  id: /a\n  container:\n    docker:\n      portMappings:\n        - {containerPort: 80, servicePort: 8888}\n        - {containerPort: 81}\noverride:\n  container:\n    docker:\n      portMappings:\n        0: {servicePort: 4000}\n";
    let app = ok(&[("a.yml", yaml)], "a.yml");
    assert_eq!(app["container"]["docker"]["portMappings"], json!([{"containerPort": 80, "servicePort": 4000}, {"containerPort": 81}]));
    let bad = yaml.replace("0: {servicePort", "5: {servicePort");
    let err = render_in(&[("a.yml", &bad)], "a.yml").unwrap_err();
    assert!(err.message.contains("item 5 of a list that has 2 items"), "{err}");
}

#[test]
fn scalars_null_does_not_erase() {
    assert_eq!(merge(json!({"a": 1}), json!({"a": null})).unwrap(), json!({"a": 1}));
}

#[test]
fn unsupported_sections_are_refused_never_dropped() {
    for key in ["maven", "slack", "hipchat", "newrelic", "datadog", "graphite"] {
        let text = format!("service:\n  id: /a\n{key}:\n  x: 1\n");
        let err = render_in(&[("a.yml", &text)], "a.yml").unwrap_err();
        assert_eq!(err.location(), "a.yml:3:1", "{key}");
        assert!(err.message.contains("is not supported by lab"), "{err}");
    }
    let err = render_in(&[("globals.yml", "slack: {url: x}\n"), ("a.yml", "service: {id: /a}\n")], "a.yml").unwrap_err();
    assert!(err.file.ends_with("/globals.yml"), "the error names the globals file: {err}");
    assert_eq!(err.location(), format!("{}:1:1", err.file));
    let err = render_in(&[("a.yml", "servise:\n  id: /a\n")], "a.yml").unwrap_err();
    assert!(err.message.contains("unknown key `servise`"), "{err}");
}

#[test]
fn secretary_values_pass_through_with_a_warning_and_env_is_stringified() {
    let yaml = "secretary: {url: \"http://localhost:5070\"}\nservice:\n  id: /a\n  env:\n    PASSWORD: \"ENC[NACL,abc==]\"\n    PORT: 8080\n    DEBUG: true\n    LIST: [1, 2]\n";
    let rendered = render_in(&[("a.yml", yaml)], "a.yml").unwrap();
    assert_eq!(rendered.app["env"], json!({"PASSWORD": "ENC[NACL,abc==]", "PORT": "8080", "DEBUG": "true", "LIST": "[1,2]"}));
    assert_eq!(rendered.warnings.len(), 1);
    assert!(rendered.warnings[0].contains("PASSWORD"));
    assert!(rendered.app["env"].get("SECRETARY_URL").is_none(), "no key injection");
}

#[test]
fn the_checksum_label_is_stable_and_follows_content() {
    let a = render_in(&[("a.yml", "service: {id: /a, instances: 1, labels: {x: y}}\n")], "a.yml").unwrap();
    let b = render_in(&[("a.yml", "service:\n  labels: {x: y}\n  instances: 1\n  id: /a\n")], "a.yml").unwrap();
    let c = render_in(&[("a.yml", "service: {id: /a, instances: 2, labels: {x: y}}\n")], "a.yml").unwrap();
    assert_eq!(a.checksum, b.checksum, "key order does not matter");
    assert_ne!(a.checksum, c.checksum);
    assert_eq!(a.app["labels"][CHECKSUM_LABEL], json!(a.checksum));
    assert_eq!(a.app["labels"]["x"], "y");
}

#[test]
fn json_apps_pass_through_with_a_checksum() {
    let rendered = render_in(&[("r.json", r#"{"id": "myproduct/rabbitmq", "instances": 1}"#)], "r.json").unwrap();
    assert_eq!(rendered.format, Format::Json);
    assert_eq!(rendered.id, "/myproduct/rabbitmq");
    assert_eq!(rendered.app["instances"], json!(1));
    let err = render_in(&[("r.json", "{\"id\": \"/x\",\n \"instances\": 1,,\n}")], "r.json").unwrap_err();
    assert_eq!(err.position.map(|p| p.0), Some(2), "{err}");
}

#[test]
fn invalid_ids_are_caught_before_marathon() {
    let err = render_in(&[("a.yml", "service:\n  id: /Demo/Wolf3D\n")], "a.yml").unwrap_err();
    assert_eq!(err.location(), "a.yml:2:7");
    assert!(err.message.contains("lowercase"), "{err}");
    let err = render_in(&[("a.yml", "service:\n  instances: 1\n")], "a.yml").unwrap_err();
    assert!(err.message.contains("no `id`"), "{err}");
}

/// The course's original files (reference §2.2, §1), rendered as lighter would.
#[test]
fn the_course_demo_webapp_and_a_wolf3d_solution_render() {
    let globals = "secretary:\n  url: 'http://localhost:5070'\n  master:\n    publickey: './keys/master-public-key.pem'\n";
    let demo = r#"service:
  id: "/demo/webapp"
  container:
    type: "DOCKER"
    docker:
      image: "meltwater/mesos-demo-webapp:latest"
      network: "HOST"
  ports: [1234]
  env:
    DATABASE: "mysql://$HOST:3306"
    DATABASE_USERNAME: "myuser"
    DATABASE_PASSWORD: "ENC[NACL,9eXE3SFcX28qlijqHLUm47HbrMtIL6xJvfpVmJrxYwk4J7hRXYi+Gnnbw3ALTQ==]"
    SERVICE_PUBLIC_KEY: "kVOhhw2wAJuAofxO7h4EM0xboxGAwnsq9J6fluFY5CQ="
  instances: 3
  cpus: 0.1
  mem: 200
  healthChecks:
    - {protocol: "HTTP", path: "/_status", portIndex: 0, gracePeriodSeconds: 15, intervalSeconds: 10, timeoutSeconds: 5, maxConsecutiveFailures: 3}
  constraints: [["hostname", "GROUP_BY"]]
"#;
    let wolf = r#"service:
  id: "/demo/wolf3d"
  container:
    type: "DOCKER"
    docker:
      image: "srenkens/wolfenstein3d:latest"
      network: BRIDGE
      portMappings:
        - containerPort: 80
          servicePort: 8888
  instances: 2
  cpus: 0.1
  mem: 200
  healthChecks:
    - {protocol: "HTTP", path: "/", portIndex: 0, gracePeriodSeconds: 15, intervalSeconds: 10, timeoutSeconds: 5, maxConsecutiveFailures: 3}
  constraints: [["hostname", "GROUP_BY"]]
"#;
    let files = [("site/globals.yml", globals), ("site/demo-webapp.yml", demo), ("site/wolf3d.yml", wolf)];
    let demo_app = render_in(&files, "site/demo-webapp.yml").unwrap();
    assert_eq!(demo_app.app["container"]["docker"]["network"], "HOST");
    assert_eq!(demo_app.app["ports"], json!([1234]));
    assert_eq!(demo_app.app["env"]["DATABASE"], "mysql://$HOST:3306", "a $ is not a lighter variable");
    assert_eq!(demo_app.warnings.len(), 1, "the ENC password is flagged");
    assert_eq!(demo_app.app["healthChecks"][0]["path"], "/_status");
    assert!(demo_app.app.get("secretary").is_none(), "only the service reaches Marathon");

    let wolf_app = ok(&files, "site/wolf3d.yml");
    assert_eq!(
        wolf_app["container"],
        json!({"type": "DOCKER", "docker": {"image": "srenkens/wolfenstein3d:latest", "network": "BRIDGE", "portMappings": [{"containerPort": 80, "servicePort": 8888}]}})
    );
    assert_eq!(wolf_app["instances"], json!(2));
    assert_eq!(wolf_app["constraints"], json!([["hostname", "GROUP_BY"]]));
}
