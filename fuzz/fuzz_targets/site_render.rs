//! A site file in lighter's format, rendered with a globals.yml beside it. The input is
//! split at the first NUL byte: before it the app file, after it the globals.
#![no_main]
use libfuzzer_sys::fuzz_target;

struct NoEnv;
impl lab::marathon::site::Env for NoEnv {
    fn var(&self, name: &str) -> Option<String> {
        (name == "HOME").then(|| "/home/fuzz".to_owned())
    }
}

fuzz_target!(|data: &[u8]| {
    let (app, globals) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let Ok(dir) = tempfile::tempdir() else { return };
    let file = dir.path().join("app.yml");
    if std::fs::write(&file, app).is_err() {
        return;
    }
    if let Some(globals) = globals
        && std::fs::write(dir.path().join("globals.yml"), globals).is_err()
    {
        return;
    }
    let _ = lab::marathon::site::render(&file, "site/app.yml", dir.path(), &NoEnv);
});
