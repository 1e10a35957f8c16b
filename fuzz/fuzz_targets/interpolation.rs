//! Compose-style `${VAR:-default}` interpolation, of one value and of a whole file.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let vars = HashMap::from([("X".to_owned(), "x".to_owned()), ("EMPTY".to_owned(), String::new())]);
    let _ = lab::stack::interpolate::interpolate(text, &vars);
    let _ = lab::stack::interpolate::interpolate_text(text, &vars);
});
