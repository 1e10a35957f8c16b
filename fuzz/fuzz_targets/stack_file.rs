//! A stack file, parsed, interpolated, checked and planned for a project.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let opts = lab::stack::ProjectOptions {
        project: "fuzz".into(),
        student: "fuzz".into(),
        port_base: Some(20000),
        stack_dir: std::env::temp_dir(),
        host: "localhost".into(),
        lab: None,
        workspace: None,
        env: HashMap::from([("A".to_owned(), "a".to_owned()), ("B".to_owned(), "${A}".to_owned())]),
    };
    let _ = lab::stack::plan::plan("fuzz.yml", text, &opts);
});
