use super::*;

#[test]
fn durations() {
    assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
    assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
    assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
    assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
    assert_eq!(parse_duration("10").unwrap(), Duration::from_secs(10));
    assert!(parse_duration("10 parsecs").is_err());
    assert!(parse_duration("").is_err());
}

#[test]
fn durations_too_long_are_errors_not_panics() {
    for s in ["5124095576030430h5124095576030430h", "9999999999999999999999h", "1e30", "99999999999999999999s1ns"] {
        let err = parse_duration(s).expect_err(s);
        assert_eq!(err, format!("`{s}` is longer than lab can represent"));
    }
    assert_eq!(parse_duration("-5").unwrap_err(), "`-5` is negative; a duration is 0 or more");
    assert!(parse_duration("nan").unwrap_err().contains("is not a duration"));
    assert!(parse_duration("inf").is_err());
    assert_eq!(parse_duration("99999999999h").unwrap(), Duration::from_secs(99_999_999_999 * 3600), "long, but a Duration holds it");
}

#[test]
fn sizes() {
    assert_eq!(parse_bytes("512m").unwrap(), 512 * 1024 * 1024);
    assert_eq!(parse_bytes("1g").unwrap(), 1 << 30);
    assert_eq!(parse_bytes("64MB").unwrap(), 64 << 20);
    assert_eq!(parse_bytes("1024").unwrap(), 1024);
    assert!(parse_bytes("lots").is_err());
    assert!(parse_bytes("99999999999g").unwrap_err().contains("more than the engine can represent"));
    assert!(parse_bytes("8388608t").is_err(), "not a unit");
    assert_eq!(parse_bytes("8589934591g").unwrap(), 8_589_934_591 << 30, "just under 8 EiB");
    assert!(parse_bytes("8589934592g").is_err(), "8 EiB itself does not fit");
}

#[test]
fn command_lines_split_like_a_shell() {
    assert_eq!(split_command(r#"sh -c 'echo "hi there"' x\ y"#).unwrap(), vec!["sh", "-c", r#"echo "hi there""#, "x y"]);
    assert_eq!(split_command(r#"a "b \"c\"" ''"#).unwrap(), vec!["a", r#"b "c""#, ""]);
    assert!(split_command("echo 'oops").is_err());
}

#[test]
fn duplicate_keys_are_found_in_linear_time() {
    // 200k keys: searching the list for each key (the old way) compares 2·10¹⁰ keys,
    // minutes of work; a set takes a fraction of a second. The timeout only turns a
    // regression into a failure instead of a hang.
    let n = 200_000;
    let mut text = String::from("{");
    for i in 0..n {
        text.push_str(&format!("\"service-{i}\": {},", i % 7));
    }
    text.push_str("\"service-0\": 1}");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(serde_json::from_str::<OrderedMap<u8>>(&text).map_err(|e| e.to_string()));
    });
    let result = rx.recv_timeout(std::time::Duration::from_secs(60)).expect("reading 200k keys must not take minutes");
    let err = result.expect_err("the last key repeats the first");
    assert!(err.contains("`service-0` is defined twice"), "{err}");
    let fine: OrderedMap<u8> = serde_json::from_str(&format!("{{{}}}", (0..n).map(|i| format!("\"k{i}\": 1")).collect::<Vec<_>>().join(","))).unwrap();
    assert_eq!(fine.0.len(), n);
}

#[derive(Debug, Deserialize)]
struct Sample {
    a: StringOrList,
    b: StringOrList,
    env: ListOrMap,
    env2: ListOrMap,
    t: Text,
    m: OrderedMap<u16>,
}

#[test]
fn flexible_shapes_parse() {
    let s: Sample = serde_saphyr::from_str(
        "a: echo hi\nb: [echo, 1]\nenv: [A=1, B]\nenv2: {A: 1, B: null, C: true}\nt: 0.5\nm: {z: 1, a: 2}\n",
    )
    .unwrap();
    assert_eq!(s.a, StringOrList::One("echo hi".into()));
    assert_eq!(s.b, StringOrList::Many(vec!["echo".into(), "1".into()]));
    assert_eq!(s.env.pairs('='), vec![("A".into(), Some("1".into())), ("B".into(), None)]);
    assert_eq!(
        s.env2.pairs('='),
        vec![("A".into(), Some("1".into())), ("B".into(), None), ("C".into(), Some("true".into()))]
    );
    assert_eq!(s.t, Text("0.5".into()));
    assert_eq!(s.m.keys().collect::<Vec<_>>(), vec!["z", "a"], "declaration order is kept");
}
