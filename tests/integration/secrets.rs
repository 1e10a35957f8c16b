//! `lab secrets encrypt`, checked differentially: every envelope lab makes is opened by
//! PyNaCl the way secretary opens it (`tests/support/secretary_decrypt.py`), with keys
//! given as files and with the keys of a running stack's secretary.

use lab::marathon::secrets::{self, KeyKind};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use crate::support::docker::{ProjectGuard, busybox_image, engine_or_skip};

fn lab(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lab"));
    cmd.env("LAB_HOME", home).env("LAB_STUDENT", "secrets").env_remove("LAB_PROJECT").env_remove("LAB_CONTENT");
    cmd
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// A Python 3 with PyNaCl (Debian's python3-nacl), or a skip outside CI.
fn python_with_nacl() -> Option<&'static str> {
    for python in ["/usr/bin/python3", "python3"] {
        if Command::new(python).args(["-c", "import nacl.public"]).output().is_ok_and(|o| o.status.success()) {
            return Some(python);
        }
    }
    crate::support::skip_or_fail("Python 3 with PyNaCl (python3-nacl)", "no python3 can import nacl; run .ci/install-test-deps");
    None
}

/// Opens `envelope` with PyNaCl as secretary's daemon does.
fn pynacl_decrypt(python: &str, master_private: &str, config_public: &str, envelope: &str) -> Vec<u8> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/secretary_decrypt.py");
    let out = Command::new(python).args([script, "--master-private-key", master_private, "--config-public-key", config_public, envelope]).output().expect("run python");
    assert!(out.status.success(), "PyNaCl could not open {envelope}: {}", text(&out));
    out.stdout
}

#[test]
fn envelopes_from_key_files_open_with_pynacl() {
    let Some(python) = python_with_nacl() else { return };
    let home = tempfile::tempdir().unwrap();
    let keys = home.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let (master, config) = (secrets::generate_key_pair(), secrets::generate_key_pair());
    std::fs::write(keys.join("master-public-key.pem"), secrets::key_file_contents(&master.public, KeyKind::Public)).unwrap();
    std::fs::write(keys.join("config-private-key.pem"), secrets::key_file_contents(&config.private, KeyKind::Private)).unwrap();

    for value in ["p@ss wörd", "", &"x".repeat(5000)] {
        let out = lab(home.path())
            .args(["secrets", "encrypt", "--key"])
            .arg(keys.join("master-public-key.pem"))
            .arg("--config-key")
            .arg(keys.join("config-private-key.pem"))
            .arg(value)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let envelope = String::from_utf8(out.stdout.clone()).unwrap().trim_end().to_owned();
        assert!(envelope.starts_with("ENC[NACL,") && envelope.ends_with(']'), "{envelope}");
        let plain = pynacl_decrypt(python, &secrets::encode_key(&master.private), &secrets::encode_key(&config.public), &envelope);
        assert_eq!(plain, value.as_bytes());
    }

    // `-` reads standard input byte for byte, trailing newline included (as secretary).
    let mut child = lab(home.path())
        .current_dir(home.path())
        .args(["secrets", "encrypt", "--key", &secrets::encode_key(&master.public), "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"line one\nline two\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "./keys/config-private-key.pem is the default config key: {}", text(&out));
    let envelope = String::from_utf8(out.stdout.clone()).unwrap().trim_end().to_owned();
    assert_eq!(pynacl_decrypt(python, &secrets::encode_key(&master.private), &secrets::encode_key(&config.public), &envelope), b"line one\nline two\n");
}

#[test]
fn a_wrong_key_fails_to_open_and_bad_keys_are_refused_clearly() {
    let Some(python) = python_with_nacl() else { return };
    let home = tempfile::tempdir().unwrap();
    let (master, config, stranger) = (secrets::generate_key_pair(), secrets::generate_key_pair(), secrets::generate_key_pair());
    let out = lab(home.path()).args(["secrets", "encrypt", "--key", &secrets::encode_key(&master.public), "--config-key", &secrets::encode_key(&config.private), "v"]).output().unwrap();
    let envelope = String::from_utf8(out.stdout).unwrap().trim_end().to_owned();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/secretary_decrypt.py");
    let wrong = Command::new(python).args([script, "--master-private-key", &secrets::encode_key(&stranger.private), "--config-public-key", &secrets::encode_key(&config.public), &envelope]).output().unwrap();
    assert!(!wrong.status.success(), "another master key must not open it");

    let out = lab(home.path()).args(["secrets", "encrypt", "--key", "not-a-key", "--config-key", &secrets::encode_key(&config.private), "v"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("--key"), "{}", text(&out));
    let out = lab(home.path()).current_dir(home.path()).args(["secrets", "encrypt", "--key", &secrets::encode_key(&master.public), "v"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("config-private-key.pem"), "{}", text(&out));
}

#[tokio::test]
async fn the_running_stacks_secretary_keys_are_used_by_default() {
    let Some(python) = python_with_nacl() else { return };
    let Some(engine) = engine_or_skip().await else { return };
    busybox_image(&engine).await;
    let guard = ProjectGuard::new("secrets");
    let home = tempfile::tempdir().unwrap();
    let (master, config) = (secrets::generate_key_pair(), secrets::generate_key_pair());

    let out = lab(home.path()).args(["secrets", "encrypt", "--project", &guard.project, "v"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "no stack yet: {}", text(&out));
    assert!(text(&out).contains("lab up"), "{}", text(&out));

    let stack = home.path().join("stack.yml");
    std::fs::write(
        &stack,
        format!(
            "services:\n  secretary:\n    image: lab-test/busybox:2\n    command: sleep 3600\n    stop_grace_period: 1s\n    environment:\n      MASTER_PRIVATE_KEY: \"{}\"\n      CONFIG_PUBLIC_KEY: \"{}\"\n      CONFIG_PRIVATE_KEY: \"{}\"\n",
            secrets::encode_key(&master.private),
            secrets::encode_key(&config.public),
            secrets::encode_key(&config.private)
        ),
    )
    .unwrap();
    let out = lab(home.path()).args(["up", "--stack"]).arg(&stack).args(["--project", &guard.project]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let out = lab(home.path()).args(["secrets", "encrypt", "--project", &guard.project, "s3cret"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains(&secrets::encode_key(&master.public)), "names the master public key for globals.yml: {}", text(&out));
    let envelope = String::from_utf8(out.stdout).unwrap().trim_end().to_owned();
    assert_eq!(pynacl_decrypt(python, &secrets::encode_key(&master.private), &secrets::encode_key(&config.public), &envelope), b"s3cret");
}

/// The course's own keys: the stack's secretary and the site's globals.yml agree, so an
/// envelope lab seals for the stack opens with the stack's keys and the injected master
/// public key is the daemon's.
#[test]
fn the_course_stack_and_site_carry_matching_workshop_keys() {
    let Some(python) = python_with_nacl() else { return };
    let stack = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/labs/mesos-marathon/stack.yml")).unwrap();
    let default_of = |name: &str| {
        let line = stack.lines().find(|l| l.trim_start().starts_with(&format!("{name}:"))).unwrap_or_else(|| panic!("{name} in stack.yml"));
        line.split(":-").nth(1).and_then(|v| v.split('}').next()).unwrap_or_else(|| panic!("default of {name}")).to_owned()
    };
    let master_private = secrets::decode_key(&default_of("MASTER_PRIVATE_KEY")).unwrap();
    let config_public = secrets::decode_key(&default_of("CONFIG_PUBLIC_KEY")).unwrap();
    let config_private = secrets::decode_key(&default_of("CONFIG_PRIVATE_KEY")).unwrap();
    assert_eq!(secrets::public_key_of(&config_private), config_public, "the config pair matches");
    let globals = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/labs/mesos-marathon/site/globals.yml")).unwrap();
    assert!(globals.contains(&secrets::encode_key(&secrets::public_key_of(&master_private))), "globals.yml names the daemon's master public key");
    let envelope = secrets::encrypt(b"workshop", &secrets::public_key_of(&master_private), &config_private).unwrap();
    assert_eq!(pynacl_decrypt(python, &secrets::encode_key(&master_private), &secrets::encode_key(&config_public), &envelope), b"workshop");
}
