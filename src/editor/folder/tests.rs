//! Unit tests of the site folder and its history: listing, atomic writes, ETag conflicts,
//! size limits, rename/delete/restore, history bounds and diffs.

use super::*;
use crate::editor::MAX_VERSIONS;

fn folder() -> (tempfile::TempDir, SiteFolder) {
    let ws = tempfile::tempdir().unwrap();
    std::fs::create_dir(ws.path().join("site")).unwrap();
    let folder = SiteFolder::for_workspace(ws.path()).unwrap();
    (ws, folder)
}

fn write_all(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
}

fn names(folder: &SiteFolder) -> Vec<String> {
    folder.list().unwrap().into_iter().map(|f| f.path.to_string()).collect()
}

/// Every entry below `dir`, recursively, as relative paths.
fn everything(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(dir).unwrap().display().to_string());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn listing_finds_site_files_recursively_without_hidden_or_temporary_ones() {
    let (ws, folder) = folder();
    write_all(ws.path(), &[
        ("site/globals.yml", "a: 1\n"),
        ("site/a.yml", "service: {id: /a}\n"),
        ("site/sub/b.json", "{}"),
        ("site/sub/deeper/c.yaml", "x: 1\n"),
        ("site/.hidden.yml", "x"),
        ("site/.git/config.yml", "x"),
        ("site/a.yml~", "x"),
        ("site/.a.yml.swp", "x"),
        ("site/notes.txt", "x"),
        ("site/x.yml.tmp", "x"),
    ]);
    let list = folder.list().unwrap();
    let paths: Vec<&str> = list.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, vec!["a.yml", "globals.yml", "sub/b.json", "sub/deeper/c.yaml"]);
    let globals = &list[1];
    assert!(globals.globals && globals.size == 5 && globals.modified_ms > 0);
    assert_eq!(globals.etag, crate::editor::etag(b"a: 1\n"));
}

#[test]
fn symlinks_are_listed_only_inside_the_site() {
    let (ws, folder) = folder();
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret.yml"), "x").unwrap();
    fs::write(ws.path().join("site/a.yml"), "x").unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.yml"), ws.path().join("site/out.yml")).unwrap();
    std::os::unix::fs::symlink(outside.path(), ws.path().join("site/outdir")).unwrap();
    std::os::unix::fs::symlink(ws.path().join("site"), ws.path().join("site/loop")).unwrap();
    assert_eq!(names(&folder), vec!["a.yml"], "links out are left out, a loop back in is read once");
    assert!(matches!(folder.read("out.yml"), Err(EditorError::BadPath { .. })));
    assert!(matches!(folder.write("outdir/new.yml", "x", None), Err(EditorError::BadPath { .. })));
    assert!(!outside.path().join("new.yml").exists());
}

#[test]
fn reading_gives_text_and_etag_and_refuses_what_it_cannot_show() {
    let (ws, folder) = folder();
    fs::write(ws.path().join("site/a.yml"), "\u{feff}service: {}\n").unwrap();
    let file = folder.read("a.yml").unwrap();
    assert_eq!(file.text, "service: {}\n", "the BOM is dropped");
    assert_eq!(file.info.etag, crate::editor::etag("\u{feff}service: {}\n".as_bytes()), "the ETag is of the bytes on disk");
    assert!(matches!(folder.read("nope.yml"), Err(EditorError::NotFound { .. })));
    fs::write(ws.path().join("site/bad.yml"), b"a: caf\xe9\n").unwrap();
    let err = folder.read("bad.yml").unwrap_err();
    assert!(matches!(&err, EditorError::NotText { reason, .. } if reason.contains("bad.yml:1:")), "{err}");
    fs::write(ws.path().join("site/big.yml"), vec![b'a'; MAX_FILE_SIZE as usize + 1]).unwrap();
    let err = folder.read("big.yml").unwrap_err();
    assert!(matches!(err, EditorError::TooLarge { limit: MAX_FILE_SIZE, .. }));
    assert!(err.to_string().contains("256 KiB"), "{err}");
}

#[test]
fn writes_are_atomic_and_leave_no_temporary_files() {
    let (ws, folder) = folder();
    let created = folder.write("sub/new.yml", "one\n", None).unwrap();
    assert_eq!(created.etag, crate::editor::etag(b"one\n"));
    let updated = folder.write("sub/new.yml", "two\n", Some(&created.etag)).unwrap();
    assert_eq!(fs::read_to_string(ws.path().join("site/sub/new.yml")).unwrap(), "two\n");
    assert_ne!(updated.etag, created.etag);
    assert_eq!(everything(&ws.path().join("site")), vec!["sub", "sub/new.yml"], "no temporary file is left");
    assert!(!everything(&ws.path().join(".site-history")).iter().any(|p| p.ends_with(".tmp")));
}

#[test]
fn a_write_keeps_the_files_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let (ws, folder) = folder();
    let info = folder.write("a.yml", "x", None).unwrap();
    fs::set_permissions(ws.path().join("site/a.yml"), fs::Permissions::from_mode(0o600)).unwrap();
    folder.write("a.yml", "y", Some(&info.etag)).unwrap();
    assert_eq!(fs::metadata(ws.path().join("site/a.yml")).unwrap().permissions().mode() & 0o777, 0o600);
}

#[test]
fn a_stale_etag_is_a_conflict_and_nothing_is_clobbered() {
    let (ws, folder) = folder();
    let opened = folder.write("a.yml", "mine\n", None).unwrap();
    // The student edits the file in a terminal meanwhile.
    fs::write(ws.path().join("site/a.yml"), "from the terminal\n").unwrap();
    let err = folder.write("a.yml", "editor\n", Some(&opened.etag)).unwrap_err();
    let EditorError::Conflict { current_etag: Some(now), .. } = err else { panic!("{err:?}") };
    assert_eq!(now, crate::editor::etag(b"from the terminal\n"));
    assert_eq!(fs::read_to_string(ws.path().join("site/a.yml")).unwrap(), "from the terminal\n");
    // Creating over an existing file, or updating one that is gone, is a conflict too.
    assert!(matches!(folder.write("a.yml", "x", None), Err(EditorError::Conflict { current_etag: Some(_), .. })));
    assert!(matches!(folder.write("a.yml", "x", Some("none")), Err(EditorError::Conflict { .. })));
    assert!(matches!(folder.create("a.yml", "x"), Err(EditorError::Exists { .. })));
    assert!(matches!(folder.write("gone.yml", "x", Some(&now)), Err(EditorError::Conflict { current_etag: None, .. })));
    // With the current ETag (quoted or not) or `*` it goes through.
    folder.write("a.yml", "editor\n", Some(crate::editor::unquote(&now))).unwrap();
    folder.write("a.yml", "again\n", Some("*")).unwrap();
}

#[test]
fn text_over_the_size_limit_is_refused_before_anything_is_written() {
    let (ws, folder) = folder();
    let big = "a".repeat(MAX_FILE_SIZE as usize + 1);
    let err = folder.write("a.yml", &big, None).unwrap_err();
    assert!(matches!(err, EditorError::TooLarge { size, .. } if size == MAX_FILE_SIZE + 1));
    assert!(!ws.path().join("site/a.yml").exists());
    assert!(folder.write("a.yml", &big[1..], None).is_ok(), "exactly the limit is fine");
}

#[test]
fn text_written_outside_the_editor_is_kept_before_it_is_replaced() {
    let (ws, folder) = folder();
    fs::write(ws.path().join("site/a.yml"), "from lab up\n").unwrap();
    let info = folder.read("a.yml").unwrap().info;
    folder.write("a.yml", "edited\n", Some(&info.etag)).unwrap();
    let versions = folder.history("a.yml").unwrap();
    let kinds: Vec<VersionKind> = versions.iter().map(|v| v.kind).collect();
    assert_eq!(kinds, vec![VersionKind::Saved, VersionKind::External], "newest first");
    assert_eq!(folder.version("a.yml", &versions[1].id).unwrap().text, "from lab up\n");
    // Saving the same text again adds no version.
    let now = folder.read("a.yml").unwrap().info.etag;
    folder.write("a.yml", "edited\n", Some(&now)).unwrap();
    assert_eq!(folder.history("a.yml").unwrap().len(), 2);
}

#[test]
fn history_lists_reads_diffs_and_restores() {
    let (_ws, folder) = folder();
    let v1 = folder.write("a.yml", "service:\n  id: /a\n  instances: 1\n", None).unwrap();
    let v2 = folder.write("a.yml", "service:\n  id: /a\n  instances: 2\n", Some(&v1.etag)).unwrap();
    let versions = folder.history("a.yml").unwrap();
    assert_eq!(versions.len(), 2);
    assert!(versions[0].time_ms > versions[1].time_ms, "strictly ordered, even within one millisecond");
    assert_eq!(versions[1].etag, v1.etag);
    assert_eq!(versions[1].size, 33);
    let first = &versions[1].id;
    let diff = folder.diff("a.yml", first).unwrap();
    assert!(diff.contains("-  instances: 1\n+  instances: 2\n"), "{diff}");
    assert!(diff.starts_with(&format!("--- a.yml ({first})\n+++ a.yml (current)\n")), "{diff}");
    assert_eq!(folder.diff("a.yml", &versions[0].id).unwrap(), "", "the newest version is the current text");

    let restored = folder.restore("a.yml", first, Some(&v2.etag)).unwrap();
    assert_eq!(restored.etag, v1.etag);
    assert_eq!(folder.read("a.yml").unwrap().text, "service:\n  id: /a\n  instances: 1\n");
    let versions = folder.history("a.yml").unwrap();
    assert_eq!((versions.len(), versions[0].kind), (3, VersionKind::Restored), "a restore is itself a version");
    assert!(matches!(folder.restore("a.yml", first, Some(&v2.etag)), Err(EditorError::Conflict { .. })), "restoring checks the ETag too");
    assert!(matches!(folder.version("a.yml", "../../etc/passwd"), Err(EditorError::NoVersion { .. })));
    assert!(matches!(folder.version("a.yml", "000000000000001-saved-0000000000000000"), Err(EditorError::NoVersion { .. })));
}

#[test]
fn deleted_files_are_kept_and_can_be_restored() {
    let (ws, folder) = folder();
    let info = folder.write("sub/a.yml", "keep me\n", None).unwrap();
    assert!(matches!(folder.delete("sub/a.yml", Some("\"0000000000000000\"")), Err(EditorError::Conflict { .. })));
    assert!(matches!(folder.delete("sub/a.yml", None), Err(EditorError::Conflict { .. })), "a delete names what it deletes");
    let gone = folder.delete("sub/a.yml", Some(&info.etag)).unwrap();
    assert_eq!(gone.kind, VersionKind::Deleted);
    assert!(!ws.path().join("site/sub/a.yml").exists());
    assert!(matches!(folder.delete("sub/a.yml", Some("*")), Err(EditorError::NotFound { .. })));
    let deleted = folder.deleted();
    assert_eq!(deleted.len(), 1);
    assert_eq!((deleted[0].path.as_str(), deleted[0].version.id.as_str()), ("sub/a.yml", gone.id.as_str()));
    assert!(folder.diff("sub/a.yml", &gone.id).unwrap().contains("-keep me"));

    assert!(matches!(folder.restore("sub/a.yml", &gone.id, Some("*")), Err(EditorError::Conflict { current_etag: None, .. })));
    folder.restore("sub/a.yml", &gone.id, None).unwrap();
    assert_eq!(fs::read_to_string(ws.path().join("site/sub/a.yml")).unwrap(), "keep me\n");
    assert!(folder.deleted().is_empty());
}

#[test]
fn rename_moves_the_file_never_overwrites_and_keeps_the_old_name_restorable() {
    let (ws, folder) = folder();
    let a = folder.write("a.yml", "aaa\n", None).unwrap();
    folder.write("b.yml", "bbb\n", None).unwrap();
    assert!(matches!(folder.rename("a.yml", "b.yml", Some(&a.etag)), Err(EditorError::Exists { .. })));
    assert!(matches!(folder.rename("a.yml", "c.yml", Some("\"0000000000000000\"")), Err(EditorError::Conflict { .. })));
    assert!(matches!(folder.rename("a.yml", "c.txt", Some(&a.etag)), Err(EditorError::BadPath { .. })));
    assert_eq!(fs::read_to_string(ws.path().join("site/b.yml")).unwrap(), "bbb\n");
    let moved = folder.rename("a.yml", "sub/c.yml", Some(&a.etag)).unwrap();
    assert_eq!((moved.path.as_str(), moved.etag.as_str()), ("sub/c.yml", a.etag.as_str()));
    assert_eq!(names(&folder), vec!["b.yml", "sub/c.yml"]);
    assert_eq!(folder.history("sub/c.yml").unwrap()[0].kind, VersionKind::Saved);
    let old = folder.deleted();
    assert_eq!(old[0].path.as_str(), "a.yml");
    folder.restore("a.yml", &old[0].version.id, None).unwrap();
    assert_eq!(folder.read("a.yml").unwrap().text, "aaa\n");
}

#[test]
fn history_is_bounded_per_file() {
    let (ws, folder) = folder();
    let mut etag = None;
    for i in 0..MAX_VERSIONS + 5 {
        etag = Some(folder.write("a.yml", &format!("n: {i}\n"), etag.as_deref()).unwrap().etag);
    }
    let versions = folder.history("a.yml").unwrap();
    assert_eq!(versions.len(), MAX_VERSIONS);
    assert_eq!(folder.version("a.yml", &versions[0].id).unwrap().text, format!("n: {}\n", MAX_VERSIONS + 4));
    assert_eq!(folder.version("a.yml", &versions[MAX_VERSIONS - 1].id).unwrap().text, "n: 5\n", "the oldest went first");
    assert_eq!(fs::read_dir(ws.path().join(".site-history/versions/a.yml")).unwrap().count(), MAX_VERSIONS);
}

#[test]
fn concurrent_writers_with_the_same_etag_cannot_both_win() {
    let (_ws, folder) = folder();
    let base = folder.write("a.yml", "base\n", None).unwrap().etag;
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let (folder, base) = (folder.clone(), base.clone());
            std::thread::spawn(move || folder.write("a.yml", &format!("writer {i}\n"), Some(&base)).is_ok())
        })
        .collect();
    let winners = threads.into_iter().map(|t| t.join().unwrap()).filter(|ok| *ok).count();
    assert_eq!(winners, 1, "the lock makes check-and-write one step");
    assert_eq!(folder.history("a.yml").unwrap().len(), 2, "base and the one winner");
}
