//! The `lab` binary as a user runs it: version, help, `lab labs`, and exit codes.

use std::process::Command;

fn lab() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lab"));
    cmd.env_remove("LAB_CONTENT").env_remove("RUST_LOG");
    cmd
}

#[test]
fn version_and_help_work() {
    let out = lab().arg("--version").output().expect("run lab");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("lab {}", env!("CARGO_PKG_VERSION")));
    let out = lab().arg("--help").output().expect("run lab");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("serve") && help.contains("labs"), "{help}");
    assert!(help.contains("doctor") && help.contains("pull"), "a newcomer finds them: {help}");
}

#[test]
fn labs_lists_the_builtin_course() {
    let out = lab().arg("labs").output().expect("run lab");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("mesos-marathon"), "{text}");
    assert!(text.contains("exercise scale-demo"), "{text}");
    assert!(text.contains("exercise wolf3d"), "{text}");
}

#[test]
fn labs_reports_broken_content_with_position_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    crate::support::write_files(dir.path(), crate::support::DEMO_LAB);
    crate::support::write_files(dir.path(), &[("labs/bad/lab.yml", "title: x\nsumary: y\nsteps: [a]\n")]);
    let out = lab().arg("labs").arg("--content").arg(dir.path()).output().expect("run lab");
    assert_eq!(out.status.code(), Some(2), "broken content is 'could not do it', as the README says");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("bad  BROKEN  labs/bad/lab.yml:2:1: unknown field `sumary`"), "{text}");
    assert!(text.contains("demo  Demo lab"), "{text}");
}

#[test]
fn a_content_folder_that_does_not_exist_is_exit_2_with_a_reason() {
    let out = lab().args(["labs", "--content", "/definitely/not/here"]).output().expect("run lab");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/definitely/not/here") && err.contains("labs/"), "{err}");
}

#[test]
fn unknown_arguments_are_exit_2() {
    let out = lab().arg("frobnicate").output().expect("run lab");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn serve_refuses_settings_that_would_be_unsafe_or_starve_pages() {
    let home = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 3] = [
        (&["--addr", "0.0.0.0:0"], "--public-host"),
        (&["--addr", "127.0.0.1:0", "--public-host", "lab.school.lan/x"], "not a host name"),
        (&["--addr", "127.0.0.1:0", "--max-connections", "20", "--max-streams", "20"], "between 1 and 19"),
    ];
    for (args, message) in cases {
        let out = lab().arg("serve").args(args).args(["--db", ":memory:"]).env("LAB_HOME", home.path()).output().expect("run lab");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}
