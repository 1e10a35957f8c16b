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
    assert!(err.message.contains("refers back to itself"), "{err}");
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
    assert_eq!(app["labels"]["site"], json!(true), "YAML 1.1: a plain yes is a boolean, as lighter read it");
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
    assert_eq!(err.location(), "a.yml:12:9", "the patching key's line: {err}");
}

#[test]
fn labels_that_are_not_a_map_and_unreadable_files_name_their_place() {
    let err = render_in(&[("a.yml", "service:\n  id: /a\n  labels: [x]\n")], "a.yml").unwrap_err();
    assert_eq!(err.location(), "a.yml:3:3", "{err}");
    let err = render_in(&[("a.yml", "service:\n  id: /a\n  cmd: caf\u{e9}\n")].map(|(p, t)| (p, t)), "a.yml");
    assert!(err.is_ok(), "UTF-8 is fine");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yml"), b"\xEF\xBB\xBFservice:\n  id: /a\n  cmd: \xff\n").unwrap();
    let err = render(&dir.path().join("a.yml"), "a.yml", dir.path(), &env()).unwrap_err();
    assert_eq!(err.location(), "a.yml:3:8", "after the BOM, the bad byte's place: {err}");
    std::fs::write(dir.path().join("a.yml"), "\u{feff}service:\n  id: /a\n").unwrap();
    assert!(render(&dir.path().join("a.yml"), "a.yml", dir.path(), &env()).is_ok(), "a BOM is accepted");
    std::fs::write(dir.path().join("b.json"), "\u{feff}{\"id\": \"/b\"}").unwrap();
    assert!(render(&dir.path().join("b.json"), "b.json", dir.path(), &env()).is_ok(), "also in JSON");
    std::fs::create_dir(dir.path().join("globals.yml")).unwrap();
    let err = render(&dir.path().join("a.yml"), "a.yml", dir.path(), &env()).unwrap_err();
    assert!(err.message.contains("a folder, not a file"), "a globals.yml folder is an error, not skipped: {err}");
}

#[test]
fn scalars_null_does_not_erase() {
    assert_eq!(merge(json!({"a": 1}), json!({"a": null})).unwrap(), json!({"a": 1}));
}

#[test]
fn maven_is_refused_and_other_sections_are_ignored_with_a_warning() {
    let err = render_in(&[("a.yml", "service:\n  id: /a\nmaven:\n  x: 1\n")], "a.yml").unwrap_err();
    assert_eq!(err.location(), "a.yml:3:1");
    assert!(err.message.contains("is not supported by lab"), "{err}");
    let err = render_in(&[("globals.yml", "maven: {version: x}\n"), ("a.yml", "service: {id: /a}\n")], "a.yml").unwrap_err();
    assert!(err.file.ends_with("/globals.yml"), "the error names the globals file: {err}");
    for key in ["slack", "hipchat", "newrelic", "datadog", "graphite", "facts"] {
        let rendered = render_in(&[("a.yml", &format!("service:\n  id: /a\n{key}:\n  x: 1\n"))], "a.yml").unwrap();
        assert!(rendered.warnings.iter().any(|w| w.starts_with("a.yml:3:1: ") && w.contains("ignored")), "{key}: {:?}", rendered.warnings);
    }
    let rendered = render_in(&[("a.yml", "service:\n  id: /a\n  instances: 2\noveride:\n  instances: 1\n")], "a.yml").unwrap();
    assert_eq!(rendered.app["instances"], json!(2), "lighter ignored the misspelt section");
    assert!(rendered.warnings.iter().any(|w| w.contains("did you mean `override`?")), "{:?}", rendered.warnings);
    let err = render_in(&[("a.yml", "servise:\n  id: /a\n")], "a.yml").unwrap_err();
    assert!(err.message.contains("no `service:` map"), "{err}");
}

#[test]
fn unknown_app_fields_are_warned_at_their_line() {
    let rendered = render_in(&[("a.yml", "service:\n  id: /a\n  instnces: 2\n  container:\n    docker: {image: x, netwrok: BRIDGE}\n")], "a.yml").unwrap();
    assert_eq!(
        rendered.warnings,
        vec![
            "a.yml:3:3: `instnces` is not a field of a Marathon app (did you mean `instances`?)".to_owned(),
            "a.yml:5:24: `container.docker.netwrok` is not a field of a Marathon app (did you mean `network`?)".to_owned(),
        ]
    );
    assert_eq!(rendered.app["instnces"], json!(2), "warned, still sent as written");
}

const MASTER_PUBLIC: &str = "Kcw8xZx/gebrOGj2pCvJpE0tKtqElUtDc8toAvYcnQQ=";

#[test]
fn secretary_keys_are_injected_for_encrypted_values_only() {
    let globals = format!("secretary:\n  url: http://localhost:5070\n  master: {{publickey: \"{MASTER_PUBLIC}\"}}\n");
    let app = "service:\n  id: /a\n  env:\n    PASSWORD: \"ENC[NACL,abc==]\"\n    PORT: 8080\n    DEBUG: yes\n    NOTHING:\n    LIST: [1, 2.5]\n";
    let one = render_in(&[("globals.yml", &globals), ("a.yml", app)], "a.yml").unwrap();
    let env = &one.app["env"];
    assert_eq!((env["PASSWORD"].as_str(), env["PORT"].as_str(), env["DEBUG"].as_str(), env["NOTHING"].as_str(), env["LIST"].as_str()), (Some("ENC[NACL,abc==]"), Some("8080"), Some("true"), Some("null"), Some("[1, 2.5]")));
    assert_eq!(env["SECRETARY_URL"], "http://localhost:5070");
    assert_eq!(env["MASTER_PUBLIC_KEY"], MASTER_PUBLIC);
    let private = env["DEPLOY_PRIVATE_KEY"].as_str().unwrap();
    let public = env["DEPLOY_PUBLIC_KEY"].as_str().unwrap();
    let pair = crate::marathon::secrets::decode_key(private).unwrap();
    assert_eq!(crate::marathon::secrets::encode_key(&crate::marathon::secrets::public_key_of(&pair)), public, "one matching pair");
    assert!(one.secrets);

    let two = render_in(&[("globals.yml", &globals), ("a.yml", app)], "a.yml").unwrap();
    assert_ne!(two.app["env"]["DEPLOY_PRIVATE_KEY"], one.app["env"]["DEPLOY_PRIVATE_KEY"], "fresh keys on every render");
    assert_eq!(two.checksum, one.checksum, "but the checksum leaves them out");

    let plain = render_in(&[("globals.yml", &globals), ("a.yml", "service:\n  id: /a\n  env: {PORT: 1}\n")], "a.yml").unwrap();
    assert!(plain.app["env"].get("SECRETARY_URL").is_none(), "no ENC value, nothing injected");
    let embedded = render_in(&[("globals.yml", &globals), ("a.yml", "service:\n  id: /a\n  env: {URL: \"amqp://u:ENC[NACL,abc=]@h\"}\n")], "a.yml").unwrap();
    assert!(embedded.app["env"].get("DEPLOY_PUBLIC_KEY").is_some(), "an envelope inside a longer value counts");
    let no_url = render_in(&[("a.yml", app)], "a.yml").unwrap();
    assert!(no_url.app["env"].get("SECRETARY_URL").is_none());
    assert!(no_url.warnings.iter().any(|w| w.contains("no `secretary.url`")), "{:?}", no_url.warnings);
}

#[test]
fn an_encrypted_value_under_a_dotted_name_is_refused_at_its_line() {
    let globals = format!("secretary:\n  url: http://localhost:5070\n  master: {{publickey: \"{MASTER_PUBLIC}\"}}\n");
    let err = render_in(&[("globals.yml", &globals), ("a.yml", "service:\n  id: /a\n  env:\n    db.password: \"ENC[NACL,abc=]\"\n")], "a.yml").unwrap_err();
    assert_eq!(err.location(), "a.yml:4:5", "{err}");
    assert!(err.message.contains("shell identifier"), "{err}");
    let err = render_in(&[("a.yml", "service:\n  id: /a\n  env:\n    1: x\n")], "a.yml").unwrap_err();
    assert_eq!(err.location(), "a.yml:4:5", "{err}");
    let err = render_in(&[("a.yml", "secretary: {url: \"http://s\"}\nservice:\n  id: /a\n  env: {P: \"ENC[NACL,abc=]\"}\n")], "a.yml").unwrap_err();
    assert!(err.message.contains("secretary.master.publickey"), "{err}");
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
fn ids_with_dot_segments_are_refused() {
    for id in ["/demo/../v2/groups", "/./x", "/demo/.."] {
        let err = render_in(&[("a.yml", &format!("service:\n  id: {id}\n"))], "a.yml").unwrap_err();
        assert!(err.message.contains("is not allowed as a part of an app id"), "{id}: {err}");
        assert_eq!(err.location(), "a.yml:2:7");
    }
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
    let key_file = format!("-----BEGIN NACL PUBLIC KEY-----\n{MASTER_PUBLIC}\n-----END NACL PUBLIC KEY-----\n");
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
    let files = [("site/globals.yml", globals), ("site/keys/master-public-key.pem", key_file.as_str()), ("site/demo-webapp.yml", demo), ("site/wolf3d.yml", wolf)];
    let demo_app = render_in(&files, "site/demo-webapp.yml").unwrap();
    assert_eq!(demo_app.app["container"]["docker"]["network"], "HOST");
    assert_eq!(demo_app.app["ports"], json!([1234]));
    assert_eq!(demo_app.app["env"]["DATABASE"], "mysql://$HOST:3306", "a $ is not a lighter variable");
    assert_eq!(demo_app.app["env"]["MASTER_PUBLIC_KEY"], MASTER_PUBLIC, "the key file beside globals.yml is read, as lighter read it from the site folder");
    assert!(demo_app.warnings.is_empty(), "{:?}", demo_app.warnings);
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

#[test]
fn self_doubling_variables_are_refused_at_their_line_within_the_budget() {
    let mut yaml = String::from("variables:\n");
    for i in 0..40 {
        yaml.push_str(&format!("  v{i}: \"%{{v{}}}%{{v{}}}\"\n", i + 1, i + 1));
    }
    yaml.push_str("  v40: xx\nservice:\n  id: /a\n  cmd: \"run %{v0}\"\n");
    let err = render_in(&[("a.yml", &yaml)], "a.yml").unwrap_err();
    assert!(err.message.contains("grows past"), "{err}");
    assert!(err.location().starts_with("a.yml:"), "{err}");
    let err = render_in(&[("a.yml", "variables: {me: \"x%{me}\"}\nservice:\n  id: /a\n  cmd: \"%{me}\"\n")], "a.yml").unwrap_err();
    assert_eq!(err.location(), "a.yml:1:19", "{err}");
    assert!(err.message.contains("refers back to itself"), "{err}");
}
