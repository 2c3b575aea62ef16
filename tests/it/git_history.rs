//! `keyhound git`: every secret that ever entered history is found once, and
//! attributed to the commit and path that introduced it.

use predicates::prelude::*;
use serde_json::Value;

use crate::common::{keyhound, GitRepo, DEEPSEEK_KEY, TOKEN, TOKEN_RULES};

fn scan_git(repo: &GitRepo, args: &[&str]) -> (i32, Value) {
    let output = keyhound()
        .current_dir(repo.path())
        .args(["git", ".", "--format", "json", "--no-config"])
        .args(args)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}", String::from_utf8_lossy(&output.stderr)));
    // No secret in any field, commit messages included.
    assert!(!report.to_string().contains(DEEPSEEK_KEY), "a secret leaked into the report: {report:#}");
    (output.status.code().unwrap(), report)
}

/// `(rule, path, line, commit)` of each finding.
fn attributed(report: &Value) -> Vec<(String, String, u64, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["commit"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn leak(line: usize) -> String {
    format!("{}DEEPSEEK_API_KEY={DEEPSEEK_KEY}\n", "# config\n".repeat(line - 1))
}

#[test]
fn a_secret_added_then_removed_is_found_at_its_introducing_commit() {
    let repo = GitRepo::new();
    repo.commit_file("README.md", "hello\n", "init");
    let added = repo.commit_file("config/.env", leak(3), "add config");
    repo.git(&["rm", "-q", "config/.env"]);
    repo.git(&["commit", "-q", "-m", "remove config"]);
    let (code, report) = scan_git(&repo, &[]);
    assert_eq!(code, 1);
    assert_eq!(attributed(&report), [("deepseek-api-key".into(), "config/.env".into(), 3, added.clone())]);
    let finding = &report["findings"][0];
    assert_eq!(finding["author"], "Dev Eloper");
    assert_eq!(finding["email"], "dev@example.com");
    assert_eq!(finding["message"], "add config");
    assert!(finding["date"].as_str().unwrap().starts_with("2024-01-01T00:00:"), "{finding}");
    assert_eq!(report["stats"]["commits_scanned"], 3);
}

#[test]
fn a_secret_only_on_a_deleted_branch_reachable_from_a_tag_is_found() {
    let repo = GitRepo::new();
    repo.commit_file("a.txt", "a\n", "init");
    repo.git(&["checkout", "-q", "-b", "experiment"]);
    let leaked = repo.commit_file("exp/settings.py", leak(1), "try deepseek");
    repo.git(&["tag", "keep-me"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["branch", "-q", "-D", "experiment"]);
    let (_, report) = scan_git(&repo, &[]);
    assert_eq!(attributed(&report), [("deepseek-api-key".into(), "exp/settings.py".into(), 1, leaked)]);
    let (code, _) = scan_git(&repo, &["--branch", "main"]);
    assert_eq!(code, 0, "main alone never had the secret");
}

#[test]
fn a_secret_only_in_a_merge_resolution_is_attributed_to_the_merge() {
    let repo = GitRepo::new();
    repo.commit_file("conf.ini", "key = one\n", "init");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.commit_file("conf.ini", "key = feature\n", "feature change");
    repo.git(&["checkout", "-q", "main"]);
    repo.commit_file("conf.ini", "key = main\n", "main change");
    let merge =
        std::process::Command::new("git").current_dir(repo.path()).args(["merge", "-q", "feature"]).output().unwrap();
    assert!(!merge.status.success(), "the merge must conflict");
    repo.tree.write("conf.ini", leak(1));
    repo.git(&["add", "conf.ini"]);
    repo.git(&["commit", "-q", "--no-edit"]);
    let merge_commit = repo.git(&["rev-parse", "HEAD"]);
    let (_, report) = scan_git(&repo, &[]);
    assert_eq!(attributed(&report), [("deepseek-api-key".into(), "conf.ini".into(), 1, merge_commit)]);
}

#[test]
fn a_renamed_file_is_one_finding_with_the_other_path_listed() {
    let repo = GitRepo::new();
    let first = repo.commit_file("old/name.env", leak(1), "add");
    repo.git(&["mv", "old/name.env", "new.env"]);
    let moved = repo.commit_file("unrelated.txt", "x\n", "rename");
    let (_, report) = scan_git(&repo, &[]);
    assert_eq!(attributed(&report), [("deepseek-api-key".into(), "old/name.env".into(), 1, first)]);
    assert_eq!(report["findings"][0]["also_in"], serde_json::json!([{"commit": moved, "path": "new.env"}]));
}

#[test]
fn a_range_scans_only_what_its_commits_add() {
    let repo = GitRepo::new();
    repo.commit_file("old.env", leak(1), "old leak");
    let base = repo.commit_file("a.txt", "a\n", "base");
    let other_key = "sk-9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a";
    let new = repo.commit_file("new.env", format!("DEEPSEEK_API_KEY={other_key}\n"), "new leak");
    let (code, report) = scan_git(&repo, &["--range", &format!("{base}..HEAD")]);
    assert_eq!(code, 1);
    assert_eq!(attributed(&report), [("deepseek-api-key".into(), "new.env".into(), 1, new)]);
    let (_, report) = scan_git(&repo, &["--since-commit", &base]);
    assert_eq!(attributed(&report).len(), 1);
    let (code, _) = scan_git(&repo, &["--range", "HEAD..HEAD"]);
    assert_eq!(code, 0);
    let (_, report) = scan_git(&repo, &["--max-commits", "1"]);
    assert_eq!(attributed(&report).len(), 1, "the newest commit only");
}

#[test]
fn commit_and_annotated_tag_messages_are_scanned() {
    let repo = GitRepo::new();
    repo.commit_file("a.txt", "a\n", &format!("oops, pasted DEEPSEEK_API_KEY={DEEPSEEK_KEY}"));
    repo.git(&["tag", "-a", "v1", "-m", &format!("release; deepseek key {DEEPSEEK_KEY}")]);
    let (_, report) = scan_git(&repo, &[]);
    let paths: Vec<String> = attributed(&report).into_iter().map(|(_, path, _, _)| path).collect();
    assert_eq!(paths.len(), 2, "{report:#}");
    assert!(paths[0].starts_with("COMMIT_MSG@") && paths[1] == "TAG_MSG@v1", "{paths:?}");
}

#[test]
fn binary_blobs_are_scanned_through_their_strings_with_a_byte_offset() {
    let repo = GitRepo::new();
    let mut blob = vec![0u8, 1, 2, 3, 255, 0];
    blob.extend_from_slice(format!("deepseek={DEEPSEEK_KEY}").as_bytes());
    blob.extend_from_slice(&[0, 0, 7]);
    repo.commit_file("app.pyc", &blob, "bytecode");
    let (_, report) = scan_git(&repo, &[]);
    let finding = &report["findings"][0];
    assert_eq!((finding["path"].as_str(), finding["binary"].as_bool()), (Some("app.pyc"), Some(true)));
    assert_eq!(finding["offset"], 6 + "deepseek=".len());
    let (code, report) = scan_git(&repo, &["--skip-binary"]);
    assert_eq!(code, 0);
    assert_eq!(report["stats"]["skipped"]["binary"], 1);
}

#[test]
fn submodules_are_skipped_with_a_note_and_bare_repos_work() {
    let repo = GitRepo::new();
    repo.commit_file("x.env", leak(1), "leak");
    let sub_id = repo.git(&["rev-parse", "HEAD"]);
    repo.git(&["update-index", "--add", "--cacheinfo", &format!("160000,{sub_id},vendor/lib")]);
    repo.git(&["commit", "-q", "-m", "add submodule"]);
    let (_, report) = scan_git(&repo, &[]);
    assert_eq!(report["stats"]["skipped"]["submodule"], 1);

    let bare = tempfile::tempdir().unwrap();
    let bare_path = bare.path().join("mirror.git");
    repo.git(&["clone", "-q", "--bare", ".", bare_path.to_str().unwrap()]);
    let output = keyhound().args(["git", "--no-config", "--format", "json"]).arg(&bare_path).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn a_missing_object_is_a_warning_and_a_count_and_the_scan_goes_on() {
    let repo = GitRepo::new();
    repo.commit_file("keep.env", leak(1), "leak");
    repo.commit_file("lost.txt", "this blob will vanish\n", "lost");
    let lost = repo.git(&["rev-parse", "HEAD:lost.txt"]);
    std::fs::remove_file(repo.path().join(".git/objects").join(&lost[..2]).join(&lost[2..])).unwrap();
    let output =
        keyhound().current_dir(repo.path()).args(["git", ".", "--no-config", "--format", "json"]).output().unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(1), "the other secret is still reported");
    assert_eq!(report["stats"]["skipped"]["missing_object"], 1);
    assert!(String::from_utf8_lossy(&output.stderr).contains("warning: could not scan lost.txt"));
    let strict = keyhound()
        .current_dir(repo.path())
        .args(["git", ".", "--no-config", "--fail-on-incomplete", "-q"])
        .output()
        .unwrap();
    assert_eq!(strict.status.code(), Some(3), "incomplete is its own exit code");
}

#[test]
fn an_empty_repo_is_clean_and_a_non_repo_is_a_usage_error() {
    let repo = GitRepo::new();
    let (code, report) = scan_git(&repo, &[]);
    assert_eq!((code, report["findings"].as_array().unwrap().len()), (0, 0));
    let not_repo = tempfile::tempdir().unwrap();
    keyhound()
        .arg("git")
        .arg(not_repo.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a git repository"));
    repo.commit_file("a.txt", "a\n", "first");
    keyhound()
        .current_dir(repo.path())
        .args(["git", ".", "--range", "nope..HEAD"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--range `nope`"));
}

#[test]
fn repository_config_applies_to_history_scans() {
    let repo = GitRepo::new();
    repo.commit_file(".keyhound.toml", TOKEN_RULES, "config");
    repo.commit_file("t.txt", format!("{TOKEN}\n"), "token");
    let output = keyhound().current_dir(repo.path()).args(["git", ".", "--format", "json"]).output().unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["findings"][0]["rule_id"], "test-token");
}

#[test]
fn a_secret_kept_while_its_file_is_edited_is_one_finding_at_the_commit_that_added_it() {
    let repo = GitRepo::new();
    let added = repo.commit_file("app/settings.py", format!("A = 1\n{}", leak(1)), "add key");
    let edited = repo.commit_file("app/settings.py", format!("A = 2\n{}B = 3\n", leak(1)), "edit other lines");
    repo.commit_file("app/settings.py", format!("A = 3\n{}B = 4\n", leak(1)), "edit again");
    let (_, report) = scan_git(&repo, &[]);
    assert_eq!(attributed(&report), [("deepseek-api-key".into(), "app/settings.py".into(), 2, added)]);
    let also = report["findings"][0]["also_in"].as_array().unwrap();
    assert_eq!(also.len(), 2);
    assert_eq!(also[0]["commit"], edited);
}
