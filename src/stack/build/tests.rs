use super::*;

/// A context folder with a Dockerfile, a file, a sub-folder and a .dockerignore.
fn context() -> (tempfile::TempDir, BuildPlan) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\nCOPY . /app\n").unwrap();
    std::fs::write(dir.path().join("greeting.txt"), "hello\n").unwrap();
    std::fs::create_dir(dir.path().join("conf")).unwrap();
    std::fs::write(dir.path().join("conf/app.conf"), "port=80\n").unwrap();
    std::fs::write(dir.path().join("notes.log"), "ignored\n").unwrap();
    std::fs::write(dir.path().join(".dockerignore"), "*.log\nDockerfile\n").unwrap();
    let plan = BuildPlan { context: dir.path().to_owned(), dockerfile: "Dockerfile".into(), args: vec![("A".into(), "1".into())], target: None };
    (dir, plan)
}

#[test]
fn an_unchanged_context_hashes_the_same() {
    let (dir, plan) = context();
    let first = build_hash(&plan).unwrap();
    assert_eq!(build_hash(&plan).unwrap(), first);
    // Rewriting a file with the same bytes (a new modification time) changes nothing.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(dir.path().join("greeting.txt"), "hello\n").unwrap();
    assert_eq!(build_hash(&plan).unwrap(), first);
    // Neither does a file .dockerignore leaves out.
    std::fs::write(dir.path().join("notes.log"), "changed\n").unwrap();
    std::fs::write(dir.path().join("more.log"), "new\n").unwrap();
    assert_eq!(build_hash(&plan).unwrap(), first);
}

#[test]
fn files_args_target_and_dockerfile_change_the_hash() {
    let (dir, plan) = context();
    let first = build_hash(&plan).unwrap();
    let mut seen = vec![first.clone()];
    let mut differs = |hash: String, what: &str| {
        assert!(!seen.contains(&hash), "{what} changes the hash");
        seen.push(hash);
    };
    std::fs::write(dir.path().join("conf/app.conf"), "port=81\n").unwrap();
    differs(build_hash(&plan).unwrap(), "a file's contents");
    std::fs::write(dir.path().join("conf/extra"), "").unwrap();
    differs(build_hash(&plan).unwrap(), "a new file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path().join("greeting.txt"), std::fs::Permissions::from_mode(0o755)).unwrap();
        differs(build_hash(&plan).unwrap(), "a file's mode");
    }
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\nCOPY . /srv\n").unwrap();
    differs(build_hash(&plan).unwrap(), "the Dockerfile, even when .dockerignore names it");
    let with_arg = BuildPlan { args: vec![("A".into(), "2".into())], ..plan.clone() };
    differs(build_hash(&with_arg).unwrap(), "an arg");
    let with_target = BuildPlan { target: Some("dev".into()), ..plan.clone() };
    differs(build_hash(&with_target).unwrap(), "the target");
    std::fs::write(dir.path().join("Dockerfile.dev"), "FROM scratch\nCOPY . /srv\n").unwrap();
    let other_file = BuildPlan { dockerfile: "Dockerfile.dev".into(), ..plan.clone() };
    differs(build_hash(&other_file).unwrap(), "another Dockerfile with the same text");
}

#[test]
fn the_tar_holds_what_is_sent_and_matches_the_hash() {
    let (dir, plan) = context();
    #[cfg(unix)]
    std::os::unix::fs::symlink("greeting.txt", dir.path().join("link")).unwrap();
    let (hash, bytes, count) = pack(&plan).unwrap();
    assert_eq!(hash, build_hash(&plan).unwrap(), "the label describes the bytes sent");
    let mut archive = tar::Archive::new(bytes.as_slice());
    let mut names: Vec<String> = archive.entries().unwrap().map(|e| e.unwrap().path().unwrap().display().to_string()).collect();
    names.sort();
    let mut expected = vec![".dockerignore", "Dockerfile", "conf", "conf/app.conf", "greeting.txt"];
    if cfg!(unix) {
        expected.push("link");
        expected.sort();
    }
    assert_eq!(names, expected, "notes.log is ignored; the Dockerfile and .dockerignore always go");
    assert_eq!(count, expected.len());
}

#[test]
fn an_unreadable_context_is_an_error() {
    let plan = BuildPlan { context: "/no/such/context".into(), dockerfile: "Dockerfile".into(), args: vec![], target: None };
    assert!(build_hash(&plan).unwrap_err().contains("/no/such/context"));
}
