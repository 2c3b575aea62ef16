//! Bad and unusual inputs: each is skipped or reported, never fatal, never silent.

use std::process::Command as StdCommand;

use predicates::prelude::*;

use crate::common::{finding_keys, keyhound, scan_json, Tree, TOKEN, TOKEN_RULES};

fn tree_with_rules() -> Tree {
    let tree = Tree::new();
    tree.write(".keyhound.toml", TOKEN_RULES);
    tree
}

#[test]
fn a_clean_tree_exits_zero() {
    let tree = tree_with_rules();
    tree.write("src/main.rs", "fn main() { let token = next_token(); }\n");
    let (code, report) = scan_json(tree.path(), &[]);
    assert_eq!(code, 0);
    assert_eq!(report["findings"].as_array().unwrap().len(), 0);
    assert_eq!(report["stats"]["files_scanned"], 2);
}

#[test]
fn findings_exit_one_or_the_chosen_code() {
    let tree = tree_with_rules();
    tree.write("a.txt", format!("key = {TOKEN}\n"));
    assert_eq!(scan_json(tree.path(), &[]).0, 1);
    assert_eq!(scan_json(tree.path(), &["--exit-code", "42"]).0, 42);
}

#[test]
fn unreadable_file_is_a_warning_and_a_count_not_the_end_of_the_scan() {
    let tree = tree_with_rules();
    tree.write("readable.txt", format!("{TOKEN}\n"));
    let locked = tree.write("locked.txt", format!("{TOKEN}\n"));
    let mode = |path: &std::path::Path, mode: u32| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    mode(&locked, 0o000);
    mode(tree.path(), 0o755);
    mode(&tree.path().join(".keyhound.toml"), 0o644);
    mode(&tree.path().join("readable.txt"), 0o644);

    // Root reads anything: drop to `nobody` so the permission bits bite.
    let binary = assert_cmd::cargo::cargo_bin("keyhound");
    let running_as_root = StdCommand::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
    let mut command = if running_as_root {
        let mut command = StdCommand::new("setpriv");
        command.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(&binary);
        command
    } else {
        StdCommand::new(&binary)
    };
    let output = command.current_dir(tree.path()).args(["scan", ".", "--format", "json"]).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "the readable file's finding still counts; stderr: {stderr}");
    assert_eq!(finding_keys(&report), [("test-token".into(), "readable.txt".into(), 1)]);
    assert_eq!(report["stats"]["skipped"]["unreadable"], 1);
    assert!(stderr.contains("warning: could not scan locked.txt"), "{stderr}");
}

#[test]
fn dangling_symlinks_are_skipped_and_counted() {
    let tree = tree_with_rules();
    std::os::unix::fs::symlink(tree.path().join("missing"), tree.path().join("dangling")).unwrap();
    let (code, report) = scan_json(tree.path(), &[]);
    assert_eq!(code, 0);
    assert_eq!(report["stats"]["skipped"]["symlink"], 1);
}

#[test]
fn symlinks_out_of_the_tree_are_not_followed() {
    let outside = Tree::new();
    outside.write("secret.txt", format!("{TOKEN}\n"));
    let tree = tree_with_rules();
    std::os::unix::fs::symlink(outside.path(), tree.path().join("link")).unwrap();
    let (code, report) = scan_json(tree.path(), &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["stats"]["skipped"]["symlink"], 1, "{report}");
    // Positive control: the same secret in a regular file of the tree is found.
    tree.write("inside/secret.txt", format!("{TOKEN}\n"));
    let (code, report) = scan_json(tree.path(), &[]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(finding_keys(&report), [("test-token".into(), "inside/secret.txt".into(), 1)], "not link/secret.txt");
}

#[test]
fn invalid_utf8_content_is_scanned() {
    let tree = tree_with_rules();
    let mut content = b"\xff\xfe garbage \xc3\x28\n".to_vec();
    content.extend_from_slice(format!("x = {TOKEN}\n").as_bytes());
    tree.write("latin1.txt", content);
    let (code, report) = scan_json(tree.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(finding_keys(&report), [("test-token".into(), "latin1.txt".into(), 2)]);
}

#[test]
fn invalid_utf8_file_names_are_reported_lossily() {
    use std::os::unix::ffi::OsStrExt;
    let tree = tree_with_rules();
    let name = std::ffi::OsStr::from_bytes(b"bad\xffname.txt");
    std::fs::write(tree.path().join(name), format!("{TOKEN}\n")).unwrap();
    let (code, report) = scan_json(tree.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(report["findings"][0]["path"], "bad\u{fffd}name.txt");
}

#[test]
fn files_over_the_size_limit_are_skipped_without_reading() {
    let tree = tree_with_rules();
    tree.write("big.txt", format!("{}\n{TOKEN}\n", "x".repeat(4096)));
    let huge = std::fs::File::create(tree.path().join("huge.bin")).unwrap();
    huge.set_len(1 << 30).unwrap(); // a sparse 1 GiB file
    let (code, report) = scan_json(tree.path(), &["--max-file-size", "2K"]);
    assert_eq!(code, 0);
    assert_eq!(report["stats"]["skipped"]["too_large"], 2);
    let (code, report) = scan_json(tree.path(), &["--max-file-size", "1M"]);
    assert_eq!(code, 1);
    assert_eq!(report["stats"]["skipped"]["too_large"], 1, "the 1 GiB file is still skipped");
}

#[test]
fn binary_files_are_scanned_through_their_strings_or_skipped_on_request() {
    let tree = tree_with_rules();
    tree.write("blob.bin", [b"\x00\x01\x02".as_slice(), TOKEN.as_bytes(), b"\x00"].concat());
    let (code, report) = scan_json(tree.path(), &[]);
    assert_eq!(code, 1);
    let finding = &report["findings"][0];
    assert_eq!(
        (finding["offset"].as_u64(), finding["binary"].as_bool(), finding["line"].as_u64()),
        (Some(3), Some(true), Some(0))
    );
    let (code, report) = scan_json(tree.path(), &["--skip-binary"]);
    assert_eq!(code, 0);
    assert_eq!(report["stats"]["skipped"]["binary"], 1);
}

#[test]
fn gitignore_and_keyhoundignore_are_respected_unless_no_ignore() {
    let tree = tree_with_rules();
    tree.write(".gitignore", "ignored-by-git.txt\n");
    tree.write(".keyhoundignore", "ignored-by-keyhound.txt\n");
    tree.write("ignored-by-git.txt", format!("{TOKEN}\n"));
    tree.write("ignored-by-keyhound.txt", format!("{TOKEN}\n"));
    tree.write(".env", format!("TOKEN={TOKEN}\n"));
    let (_, report) = scan_json(tree.path(), &[]);
    assert_eq!(finding_keys(&report), [("test-token".into(), ".env".into(), 1)], "hidden files are scanned");
    let (_, report) = scan_json(tree.path(), &["--no-ignore"]);
    assert_eq!(finding_keys(&report).len(), 3);
}

#[test]
fn the_git_directory_is_never_scanned() {
    let tree = tree_with_rules();
    tree.write(".git/config", format!("{TOKEN}\n"));
    tree.write("sub/.git/config", format!("{TOKEN}\n"));
    let (code, report) = scan_json(tree.path(), &["--no-ignore"]);
    assert_eq!(code, 0, "{report}");
    // Positive control: the same file under a look-alike name is scanned and found.
    tree.write(".github/config", format!("{TOKEN}\n"));
    let (code, report) = scan_json(tree.path(), &["--no-ignore"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(finding_keys(&report), [("test-token".into(), ".github/config".into(), 1)]);
}

#[test]
fn stdin_is_scanned_with_dash() {
    let tree = tree_with_rules();
    let output = keyhound()
        .current_dir(tree.path())
        .args(["scan", "-", "--config", ".keyhound.toml", "--format", "jsonl"])
        .write_stdin(format!("line one\nexport T={TOKEN}\n"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let line: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!((line["path"].as_str(), line["line"].as_u64(), line["column"].as_u64()), (Some("-"), Some(2), Some(10)));
}

#[test]
fn many_small_files() {
    let tree = tree_with_rules();
    for index in 0..20_000 {
        tree.write(&format!("d{}/f{index}.txt", index % 20), "nothing to see\n");
    }
    tree.write("d7/leak.txt", format!("{TOKEN}\n"));
    let (code, report) = scan_json(tree.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(report["stats"]["files_scanned"], 20_002);
    assert_eq!(finding_keys(&report).len(), 1);
}

#[test]
fn a_malformed_config_is_a_usage_error_naming_the_file() {
    let tree = Tree::new();
    tree.write("bad.toml", "[[rules]]\nid = \"x\"\nregex = '''(unclosed'''\nkeywords = [\"x\"]\n");
    keyhound()
        .current_dir(tree.path())
        .args(["scan", ".", "--config", "bad.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.toml").and(predicate::str::contains("rule `x`")));
    // A discovered one is not the user's: named, the built-in rules run, and the run fails closed (3).
    tree.write(".keyhound.toml", "this is not toml");
    keyhound()
        .current_dir(tree.path())
        .args(["scan", "."])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(".keyhound.toml:1:"));
}

#[test]
fn usage_errors_exit_two() {
    keyhound().args(["scan", "--no-such-flag"]).assert().code(2);
    keyhound()
        .args(["scan", "/definitely/not/here"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/definitely/not/here"));
    keyhound()
        .args(["scan", ".", "--max-file-size", "lots"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a size"));
    keyhound()
        .args(["scan", ".", "--output", "/definitely/not/here/report.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--output"));
}

#[test]
fn no_config_ignores_a_discovered_config() {
    let tree = tree_with_rules();
    tree.write("a.txt", format!("{TOKEN}\n"));
    let (code, _) = scan_json(tree.path(), &["--no-config"]);
    assert_eq!(code, 0, "the default rules know nothing of test tokens");
}

#[test]
fn archives_are_opened_in_memory_including_nested_ones() {
    use std::io::Write;
    let tree = tree_with_rules();
    let mut tar = tar::Builder::new(Vec::new());
    let content = format!("T={TOKEN}\n");
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_cksum();
    tar.append_data(&mut header, "deploy/.env", content.as_bytes()).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar.into_inner().unwrap()).unwrap();
    let tgz = gz.finish().unwrap();

    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("../../outside.txt", options).unwrap();
    zip.write_all(format!("{TOKEN}\n").as_bytes()).unwrap();
    zip.start_file("release.tgz", options).unwrap();
    zip.write_all(&tgz).unwrap();
    zip.start_file("bomb.bin", options).unwrap();
    zip.write_all(&vec![0u8; 3 << 20]).unwrap();
    tree.write("bundle.zip", zip.finish().unwrap().into_inner());

    let (code, report) = scan_json(tree.path(), &["--max-file-size", "1M"]);
    assert_eq!(code, 1);
    let mut paths: Vec<String> =
        finding_keys(&report).into_iter().map(|(_, path, line)| format!("{path}:{line}")).collect();
    paths.sort();
    assert_eq!(paths, ["bundle.zip!../../outside.txt:1", "bundle.zip!release.tgz!release.tar!deploy/.env:1"]);
    assert_eq!(report["stats"]["skipped"]["too_large"], 1, "the bomb member is cut at the size limit");
    assert!(!tree.path().parent().unwrap().join("outside.txt").exists(), "nothing is ever written");
}

/// A `.tgz` with bytes after its gzip stream (which `gzip -d` decompresses
/// with a warning) is scanned, and the trailing bytes are a warning.
#[test]
fn an_archive_with_trailing_bytes_is_scanned_and_the_rest_is_a_warning() {
    use std::io::Write as _;
    let mut tar = tar::Builder::new(Vec::new());
    let content = b"GITHUB_TOKEN=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\n";
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "release/config.env", &content[..]).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar.into_inner().unwrap()).unwrap();
    let mut bytes = gz.finish().unwrap();
    bytes.extend_from_slice(&[0u8; 512]);
    let tree = Tree::new();
    tree.write("release.tgz", bytes);
    let output = keyhound().current_dir(tree.path()).args(["scan", ".", "--format", "json"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(report["findings"][0]["path"], "release.tgz!release.tar!release/config.env", "{report:#}");
    assert_eq!(report["stats"]["skipped"]["trailing_data"], 1, "{}", report["stats"]);
    assert!(stderr.contains("trailing data"), "{stderr}");
}

/// Many warnings of one kind: a few on stderr, then a count; `--verbose` and
/// the JSON stats keep every one.
#[test]
fn warning_floods_are_capped_on_stderr_but_kept_in_the_stats() {
    use std::io::Write as _;
    let tree = Tree::new();
    for index in 0..12 {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(format!("file {index}\n").as_bytes()).unwrap();
        let mut bytes = gz.finish().unwrap();
        bytes.extend_from_slice(b"\0\0\0\0trailing");
        tree.write(&format!("dist/pkg{index:02}.gz"), bytes);
    }
    let output = keyhound().current_dir(tree.path()).args(["scan", ".", "--format", "json"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let named = stderr.lines().filter(|line| line.starts_with("keyhound: warning: could not scan")).count();
    assert_eq!(named, 5, "{stderr}");
    assert!(stderr.contains("... and 7 more (trailing data after an archive)"), "{stderr}");
    assert_eq!(report["stats"]["skipped"]["trailing_data"], 12);
    assert_eq!(report["stats"]["skipped_files"].as_array().unwrap().len(), 12);
    let verbose = keyhound().current_dir(tree.path()).args(["scan", ".", "--verbose"]).output().unwrap();
    let verbose = String::from_utf8_lossy(&verbose.stderr);
    let listed = verbose.lines().filter(|line| line.starts_with("keyhound: warning: could not scan")).count();
    assert_eq!(listed, 12, "{verbose}");
}
