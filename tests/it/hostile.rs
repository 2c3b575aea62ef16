//! Hostile inputs: what a repository that wants to hurt or blind the scanner
//! can contain. Each must end in a finished scan that says what it skipped,
//! never a hang, a crash, a file written, or a finding silently lost.

use std::io::Write as _;

use serde_json::Value;

use crate::common::{keyhound, scan_json, GitRepo, Tree};

const LEAK: &str = "DEEPSEEK_API_KEY=sk-64cf339f875dfaf8d189e48f1f0ee868\n";

fn rules_found(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| finding["rule_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn symlink_loops_are_not_followed_and_the_scan_finishes() {
    let tree = Tree::new();
    tree.write("app/.env", LEAK);
    std::os::unix::fs::symlink(tree.path().join("app"), tree.path().join("app/loop")).unwrap();
    std::os::unix::fs::symlink(tree.path().join("b"), tree.path().join("a")).unwrap();
    std::os::unix::fs::symlink(tree.path().join("a"), tree.path().join("b")).unwrap();
    std::os::unix::fs::symlink("/", tree.path().join("root")).unwrap();
    let (code, report) = scan_json(tree.path(), &["--no-config"]);
    assert_eq!(code, 1);
    assert_eq!(rules_found(&report), ["deepseek-api-key"], "found once, not once per loop");
    assert_eq!(report["stats"]["skipped"]["symlink"], 4);
}

#[test]
fn a_path_traversal_member_of_a_zip_is_only_a_label() {
    let tree = Tree::new();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("../../escaped.env", zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(LEAK.as_bytes()).unwrap();
    tree.write("release/bundle.zip", zip.finish().unwrap().into_inner());
    let (code, report) = scan_json(&tree.path().join("release"), &["--no-config"]);
    assert_eq!(code, 1);
    let path = report["findings"][0]["path"].as_str().unwrap();
    assert!(path.ends_with("bundle.zip!../../escaped.env") || path.contains("bundle.zip"), "{path}");
    for dir in [tree.path(), tree.path().parent().unwrap()] {
        assert!(!dir.join("escaped.env").exists(), "an archive member was written to {}", dir.display());
    }
}

#[test]
fn a_decompression_bomb_is_cut_by_size_and_ratio_and_reported() {
    let tree = Tree::new();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    for _ in 0..256 {
        gz.write_all(&[b'0'; 1 << 20]).unwrap(); // 256 MiB of zeros, ~250 KiB compressed
    }
    tree.write("bomb.txt.gz", gz.finish().unwrap());
    tree.write("config.env", LEAK);
    let output = keyhound()
        .current_dir(tree.path())
        .args(["scan", ".", "--no-config", "--format", "json", "--max-file-size", "4G", "--verbose"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(rules_found(&report), ["deepseek-api-key"], "the rest of the tree is still scanned");
    assert_eq!(report["stats"]["skipped"]["too_large"], 1, "{report:#}");
    let listed = report["stats"]["skipped_files"].to_string();
    assert!(listed.contains("decompression bomb"), "{listed}");
}

/// A 2 GiB file is skipped by size without being read (and counted), so
/// memory stays bounded; the run is capped at 1 GiB of address space to prove it.
#[test]
fn a_two_gigabyte_file_is_skipped_by_size_within_bounded_memory() {
    let tree = Tree::new();
    let huge = std::fs::File::create(tree.path().join("huge.log")).unwrap();
    huge.set_len(2 << 30).unwrap();
    tree.write("config.env", LEAK);
    let binary = assert_cmd::cargo::cargo_bin("keyhound");
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v 1048576 && exec '{}' scan . --no-config --format json -j 2", binary.display()))
        .current_dir(tree.path())
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}", String::from_utf8_lossy(&output.stderr)));
    assert_eq!(rules_found(&report), ["deepseek-api-key"]);
    assert_eq!(report["stats"]["skipped"]["too_large"], 1);
}

#[test]
fn a_catastrophic_user_regex_is_a_clear_error_naming_the_rule() {
    let tree = Tree::new();
    tree.write("rules.toml", "[[rules]]\nid = \"explosive\"\nregex = '''(\\w{1000}){1000}'''\nkeywords = [\"x\"]\n");
    tree.write("a.txt", "x\n");
    let output =
        keyhound().current_dir(tree.path()).args(["scan", "a.txt", "--config", "rules.toml"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("explosive") && stderr.contains("rules.toml"), "{stderr}");
    assert!(stderr.contains("size limit") || stderr.contains("too big"), "{stderr}");
}

#[test]
fn a_hundred_thousand_files_in_one_directory() {
    let tree = Tree::new();
    let dir = tree.path().join("flat");
    std::fs::create_dir(&dir).unwrap();
    for index in 0..100_000 {
        std::fs::write(dir.join(format!("f{index}.txt")), b"nothing to see\n").unwrap();
    }
    std::fs::write(dir.join("f77777.env"), LEAK).unwrap();
    let (code, report) = scan_json(tree.path(), &["--no-config"]);
    assert_eq!(code, 1);
    assert_eq!(report["stats"]["files_scanned"], 100_001);
    assert_eq!(rules_found(&report), ["deepseek-api-key"]);
}

#[test]
fn file_names_with_newlines_and_control_characters_cannot_forge_output_lines() {
    let tree = Tree::new();
    tree.write("evil\nkeyhound: no leaks found\n.env", LEAK);
    let output =
        keyhound().current_dir(tree.path()).args(["scan", ".", "--no-config", "--color", "never"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1));
    assert!(!stdout.lines().any(|line| line.starts_with("keyhound: no leaks found")), "{stdout}");
    let (_, report) = scan_json(tree.path(), &["--no-config"]);
    assert!(report["findings"][0]["path"].as_str().unwrap().contains('\n'), "JSON keeps the real name, escaped");
}

fn corrupt_pack(repo: &GitRepo) {
    repo.git(&["repack", "-a", "-d", "-q"]);
    let pack_dir = repo.path().join(".git/objects/pack");
    let pack = std::fs::read_dir(&pack_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|ext| ext == "pack"))
        .unwrap();
    let mut bytes = std::fs::read(&pack).unwrap();
    let middle = bytes.len() / 2;
    for byte in &mut bytes[middle..middle + 64] {
        *byte ^= 0x5a;
    }
    let mut permissions = std::fs::metadata(&pack).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    std::fs::set_permissions(&pack, permissions).unwrap();
    std::fs::write(&pack, bytes).unwrap();
}

#[test]
fn a_corrupt_pack_is_reported_and_the_scan_still_ends() {
    let repo = GitRepo::new();
    for index in 0..30 {
        repo.commit_file(&format!("file{index}.txt"), format!("content {index} {}\n", "x".repeat(200)), "filler");
    }
    repo.commit_file("leak.env", LEAK, "leak");
    corrupt_pack(&repo);
    let output = keyhound()
        .current_dir(repo.path())
        .args(["git", ".", "--no-config", "--format", "json", "--fail-on-incomplete"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(matches!(output.status.code(), Some(2 | 3)), "a clear failure, not a crash: {stderr}");
    assert!(stderr.contains("keyhound:"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_symbolic_ref_loop_is_a_warning_not_a_hang() {
    let repo = GitRepo::new();
    repo.commit_file("leak.env", LEAK, "leak");
    let refs = repo.path().join(".git/refs/heads");
    std::fs::write(refs.join("ping"), "ref: refs/heads/pong\n").unwrap();
    std::fs::write(refs.join("pong"), "ref: refs/heads/ping\n").unwrap();
    let output =
        keyhound().current_dir(repo.path()).args(["git", ".", "--no-config", "--format", "json"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(rules_found(&report), ["deepseek-api-key"]);
    assert!(stderr.contains("ping") || stderr.contains("pong"), "the broken ref is named: {stderr}");
}

#[test]
fn an_unreadable_file_holding_a_key_makes_the_report_say_a_file_was_skipped() {
    let tree = Tree::new();
    let secret_file = tree.write("locked/.env", LEAK);
    std::fs::set_permissions(&secret_file, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    // As root every file is readable: run as `nobody` when we are root.
    let binary = assert_cmd::cargo::cargo_bin("keyhound");
    let dir_mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(tree.path(), dir_mode).unwrap();
    let runner = if is_root() { "setpriv --reuid=nobody --regid=nogroup --clear-groups" } else { "" };
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{runner} '{}' scan . --no-config --format json --fail-on-incomplete", binary.display()))
        .current_dir(tree.path())
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}", String::from_utf8_lossy(&output.stderr)));
    assert_eq!(output.status.code(), Some(3), "incomplete");
    assert_eq!(report["stats"]["skipped"]["unreadable"], 1);
    assert!(report["stats"]["skipped_files"].to_string().contains("locked/.env"));
}

fn is_root() -> bool {
    std::process::Command::new("id").arg("-u").output().is_ok_and(|out| out.stdout.starts_with(b"0"))
}
