use super::*;
use std::collections::HashMap;

fn parse(text: &str) -> Result<StackFile, StackFileError> {
    StackFile::parse("stack.yml", text, &HashMap::<String, String>::new())
}

/// The one problem of a file that has exactly one.
fn problem(text: &str) -> ContentError {
    let mut err = parse(text).expect_err("should fail");
    assert_eq!(err.problems.len(), 1, "{err}");
    err.problems.remove(0)
}

#[test]
fn unsupported_service_keys_name_the_service_and_key() {
    let err = problem("services:\n  web:\n    image: x\n    colour: blue\n");
    assert_eq!(err.location(), "stack.yml:4:5");
    assert_eq!(err.message, "service `web`: key `colour` is not supported by lab");
    assert!(err.fix.as_deref().unwrap_or("").contains("healthcheck"), "{err}");
    let err = problem("services:\n  web:\n    image: x\n    container_name: web\n");
    assert_eq!(err.message, "service `web`: key `container_name` is not supported by lab");
    assert!(err.fix.as_deref().unwrap_or("").contains("<project>-<service>"), "the reason is given: {err}");
}

#[test]
fn nested_unknown_keys_name_the_service_too() {
    let err = problem("services:\n  db:\n    image: x\n    healthcheck:\n      test: [CMD, x]\n      intervall: 5s\n");
    assert_eq!(err.location(), "stack.yml:6:7");
    assert_eq!(err.message, "service `db`: key `intervall` is not supported here");
    assert!(err.fix.as_deref().unwrap_or("").contains("`healthcheck`: test, interval"), "{err}");
}

#[test]
fn compose_keys_lab_cannot_honour_are_refused() {
    for (text, key) in [
        ("services:\n  a:\n    image: x\n    ports:\n      - {target: 80, mode: ingress}\n", "mode"),
        ("services:\n  a:\n    image: x\n    depends_on:\n      b: {restart: true}\n  b: {image: x}\n", "restart"),
        ("services:\n  a:\n    build: {context: ., ssh: [default]}\n", "ssh"),
    ] {
        let err = problem(text);
        assert!(err.message.contains(&format!("key `{key}` is not supported here")), "{err}");
    }
}

#[test]
fn unknown_top_level_keys_are_errors_but_extensions_are_fine() {
    let err = problem("services:\n  a: {image: x}\nconfigs: {}\n");
    assert_eq!(err.location(), "stack.yml:3:1");
    assert!(err.message.contains("`configs`"), "{err}");
    assert!(parse("x-common: &c {image: x}\nservices:\n  a: *c\nversion: '3.8'\n").is_ok());
}

#[test]
fn type_errors_name_the_service_and_point_at_the_value() {
    let err = problem("services:\n  a:\n    image: x\n    privileged: maybe\n");
    assert_eq!(err.message, "service `a`: `privileged` must be true or false, not `maybe`");
    assert_eq!(err.location(), "stack.yml:4:17");
    let err = problem("services:\n  a:\n    image: x\n    ports:\n      - target: http\n");
    assert_eq!(err.message, "service `a`: `ports[0].target` must be a port number (0-65535), not `http`");
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = "services:\n  web:\n    image: x\n    colour: blue\n    restart: sometimes\n  db:\n    image: y\n    healthcheck: {intervall: 5s}\n";
    let err = parse(text).expect_err("three problems");
    let at: Vec<String> = err.problems.iter().map(ContentError::location).collect();
    assert_eq!(at, vec!["stack.yml:4:5", "stack.yml:5:14", "stack.yml:8:19"]);
    assert!(err.problems[1].message.contains("restart `sometimes` is not one of"), "{err}");
    assert_eq!(err.problems[2].message, "service `db`: key `intervall` is not supported here");
    let shown = err.to_string();
    assert!(shown.starts_with("3 problems in stack.yml:\n  stack.yml:4:5: service `web`: key `colour`"), "{shown}");
    assert_eq!(shown.lines().count(), 4, "one line each: {shown}");
}

#[test]
fn the_schema_accepts_exactly_the_service_keys_the_types_read() {
    assert_eq!(super::super::schema::service_keys().collect::<Vec<_>>(), SERVICE_KEYS);
}

#[test]
fn build_takes_a_folder_or_a_map() {
    let stack = parse("services:\n  a:\n    build: ./app\n  b:\n    build:\n      context: app\n      dockerfile: Dockerfile.dev\n      args: [A=1]\n      target: dev\n").unwrap();
    assert_eq!(stack.services.get("a").unwrap().build, Some(ShortOrLong::Short("./app".into())));
    let Some(ShortOrLong::Long(b)) = &stack.services.get("b").unwrap().build else { panic!("long form") };
    assert_eq!((b.context.as_deref(), b.dockerfile.as_deref(), b.target.as_deref()), (Some("app"), Some("Dockerfile.dev"), Some("dev")));
    assert!(problem("services:\n  a:\n    build: https://github.com/x/y.git\n").message.contains("is a URL"));
}

#[test]
fn a_mistake_in_an_anchor_shows_where_the_anchor_is_defined() {
    let err = parse("x-base: &base\n  image: x\n  colour: blue\nservices:\n  a: *base\n  b:\n    <<: *base\n").expect_err("one mistake, two users");
    let found: Vec<(String, &str)> = err.problems.iter().map(|p| (p.location(), p.message.as_str())).collect();
    assert_eq!(
        found,
        vec![
            ("stack.yml:3:3".to_owned(), "service `a`: key `colour` is not supported by lab"),
            ("stack.yml:3:3".to_owned(), "service `b`: key `colour` is not supported by lab"),
        ]
    );
}

#[test]
fn interpolation_errors_point_at_the_reference() {
    let err = problem("services:\n  a:\n    image: ${IMG:?pick an image}\n");
    assert_eq!(err.location(), "stack.yml:3:12");
    assert!(err.message.contains("pick an image"));
}

#[test]
fn an_empty_stack_is_an_error() {
    assert!(problem("services: {}\n").message.contains("no services"));
    assert!(problem("version: '3'\n").message.contains("no services"));
}

#[test]
fn values_the_engine_cannot_hold_are_refused_each_at_its_line() {
    let text = "services:
  a:
    image: ''
    healthcheck:
      test: [CMD, 'true']
      interval: 99999999999h
      timeout: 5124095576030430h5124095576030430h
      start_period: 100ns
      retries: -5
    stop_grace_period: 99999999999h
    cpus: .nan
    mem_limit: 99999999999g
    pids_limit: -7
  b:
    image: 'busy box'
    cpus: .inf
    healthcheck: {retries: 99999999999, start_interval: 9999999999999999999999h}
    volumes: [{type: tmpfs, target: /t, tmpfs: {size: 99999999999g}}]
  c:
    image: x
    cpus: -1
    mem_limit: 1k
    pids_limit: 99999999999
  d:
    image: x
    cpus: 1e300
  e:
    image: x
    cpus: 0.001
";
    let err = parse(text).expect_err("every value is refused");
    let found: Vec<(String, &str)> = err.problems.iter().map(|p| (p.location(), p.message.as_str())).collect();
    let expected = [
        ("stack.yml:3:12", "service `a`: image is empty; give the image to run"),
        ("stack.yml:6:17", "service `a`: `healthcheck.interval`: `99999999999h` is longer than the engine can hold (about 292 years)"),
        ("stack.yml:7:16", "service `a`: `healthcheck.timeout`: `5124095576030430h5124095576030430h` is longer than lab can represent"),
        ("stack.yml:8:21", "service `a`: `healthcheck.start_period`: `100ns` is shorter than 1ms"),
        ("stack.yml:9:16", "service `a`: `healthcheck.retries` must be a number of retries from 0 to 2147483647, not the number -5"),
        ("stack.yml:10:24", "service `a`: `stop_grace_period`: `99999999999h` is longer than the engine's stop timeout can hold"),
        ("stack.yml:11:11", "service `a`: cpus: `.nan` is not a number of CPUs"),
        ("stack.yml:12:16", "service `a`: mem_limit: `99999999999g` is more than the engine can represent (8 EiB at most)"),
        ("stack.yml:13:17", "service `a`: `pids_limit` must be a process limit from 1 to 4194304 (0 or -1: no limit), not the number -7"),
        ("stack.yml:15:12", "service `b`: image `busy box` contains spaces"),
        ("stack.yml:16:11", "service `b`: cpus: `.inf` is not a number of CPUs"),
        ("stack.yml:17:28", "service `b`: `healthcheck.retries` must be a number of retries from 0 to 2147483647, not the number 99999999999"),
        ("stack.yml:17:57", "service `b`: `healthcheck.start_interval`: `9999999999999999999999h` is longer than lab can represent"),
        ("stack.yml:18:55", "service `b`: `volumes[0].tmpfs.size`: `99999999999g` is more than the engine can represent"),
        ("stack.yml:21:11", "service `c`: cpus: `-1` is not a number of CPUs"),
        ("stack.yml:22:16", "service `c`: mem_limit: `1k` is below 6m, the engine's smallest memory limit"),
        ("stack.yml:23:17", "service `c`: `pids_limit` must be a process limit from 1 to 4194304"),
        ("stack.yml:26:11", "service `d`: cpus: `1e300` is more CPUs than the engine can represent"),
        ("stack.yml:29:11", "service `e`: cpus: `0.001` is below 0.01, the engine's smallest CPU limit"),
    ];
    for (i, (at, message)) in expected.iter().enumerate() {
        let Some((found_at, found_message)) = found.get(i) else { panic!("missing {at} {message}: {found:#?}") };
        assert!(found_at == at && found_message.starts_with(message), "expected {at}: {message}\nfound {found_at}: {found_message}\nall: {found:#?}");
    }
    assert_eq!(found.len(), expected.len(), "{found:#?}");
}

#[test]
fn values_at_the_engines_limits_are_accepted() {
    let text = "services:\n  a:\n    image: x\n    healthcheck: {test: [CMD, 'true'], interval: 1ms, timeout: 0, retries: 0, start_period: 2562047h}\n    stop_grace_period: 596523h\n    cpus: 0.01\n    mem_limit: 6m\n    pids_limit: -1\n  b:\n    image: x\n    mem_limit: 0\n    pids_limit: 4194304\n    healthcheck: {test: [CMD, 'true'], retries: 2147483647}\n";
    let stack = parse(text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stack.services.0.len(), 2);
}
