//! `keyhound staged`, `install-hook` and the pre-commit framework: a commit
//! that adds a secret is blocked with a clear message; a clean one passes
//! silently.

use std::path::PathBuf;
use std::process::Command;

use predicates::prelude::*;

use crate::common::{keyhound, GitRepo, DEEPSEEK_KEY};

fn leak_line() -> String {
    format!("DEEPSEEK_API_KEY={DEEPSEEK_KEY}\n")
}

#[test]
fn staged_scans_the_first_commit_of_a_repo() {
    let repo = GitRepo::new();
    repo.tree.write("app/.env", leak_line());
    repo.git(&["add", "-A"]);
    keyhound()
        .current_dir(repo.path())
        .args(["staged", "--no-config"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("app/.env:1:18").and(predicate::str::contains("deepseek-api-key")))
        .stdout(predicate::str::contains(DEEPSEEK_KEY).not())
        .stderr(predicate::str::contains("Commit blocked").and(predicate::str::contains("keyhound:allow")));
}

#[test]
fn staged_reports_only_added_lines_and_a_clean_change_is_silent() {
    let repo = GitRepo::new();
    repo.commit_file("settings.py", format!("A = 1\n{}", leak_line()), "old leak already committed");
    repo.tree.write("settings.py", format!("A = 2\n{}B = 3\n", leak_line()));
    repo.git(&["add", "-A"]);
    keyhound().current_dir(repo.path()).args(["staged", "--no-config"]).assert().code(0).stdout("").stderr("");

    let other = "sk-0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    repo.tree.write("settings.py", format!("A = 2\n{}B = 3\nDEEPSEEK_BACKUP={other}\n", leak_line()));
    repo.git(&["add", "-A"]);
    let output =
        keyhound().current_dir(repo.path()).args(["staged", "--no-config", "--format", "json"]).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let lines: Vec<u64> = report["findings"].as_array().unwrap().iter().map(|f| f["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [4], "only the added line 4, not the committed line 2");
}

#[test]
fn a_pure_rename_adds_nothing() {
    let repo = GitRepo::new();
    let settings = "APP_NAME=billing\nAPP_PORT=8080\nAPP_REGION=eu-west-1\nAPP_LOG_LEVEL=info\n";
    repo.commit_file("old.env", format!("{}{settings}", leak_line()), "leak");
    repo.git(&["mv", "old.env", "new.env"]);
    keyhound().current_dir(repo.path()).args(["staged", "--no-config"]).assert().code(0).stdout("");

    // Positive control: the same rename plus one added line with a new key is
    // blocked, for that line only.
    let other = "sk-0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    repo.tree.write("new.env", format!("{}{settings}DEEPSEEK_BACKUP={other}\n", leak_line()));
    repo.git(&["add", "-A"]);
    let output =
        keyhound().current_dir(repo.path()).args(["staged", "--no-config", "--format", "json"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let places: Vec<(&str, u64)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap(), f["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(places, [("new.env", 6)], "only the added line, not the renamed line 1");
}

#[test]
fn staged_outside_a_repository_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    keyhound()
        .current_dir(dir.path())
        .arg("staged")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a git repository"));
}

#[test]
fn install_hook_blocks_leaky_commits_and_respects_foreign_hooks() {
    let repo = GitRepo::new();
    keyhound().current_dir(repo.path()).arg("install-hook").assert().code(0);
    let hook = repo.path().join(".git/hooks/pre-commit");
    assert!(std::fs::read_to_string(&hook).unwrap().contains("staged"));

    repo.tree.write("clean.txt", "hello\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "clean commit passes"]);

    repo.tree.write(".env", leak_line());
    repo.git(&["add", "-A"]);
    let commit = Command::new("git").current_dir(repo.path()).args(["commit", "-q", "-m", "leak"]).output().unwrap();
    assert!(!commit.status.success(), "the hook must block the commit");
    // git sends a hook's output to stderr.
    let shown = format!("{}{}", String::from_utf8_lossy(&commit.stdout), String::from_utf8_lossy(&commit.stderr));
    assert!(shown.contains(".env:1:18  deepseek-api-key") && !shown.contains(DEEPSEEK_KEY), "{shown}");

    // Reinstalling our own hook is fine; a foreign hook needs --force.
    keyhound().current_dir(repo.path()).arg("install-hook").assert().code(0);
    std::fs::write(&hook, "#!/bin/sh\necho mine\n").unwrap();
    keyhound()
        .current_dir(repo.path())
        .arg("install-hook")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--force"));
    keyhound().current_dir(repo.path()).args(["install-hook", "--force"]).assert().code(0);
}

#[test]
fn pre_push_scans_what_the_push_adds() {
    let repo = GitRepo::new();
    let base = repo.commit_file("a.txt", "a\n", "base");
    let head = repo.commit_file("b.env", leak_line(), "leak");
    let zero = "0".repeat(40);
    let stdin = format!("refs/heads/main {head} refs/heads/main {base}\n");
    keyhound()
        .current_dir(repo.path())
        .args(["git", "--pre-push", "--no-config"])
        .write_stdin(stdin)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("b.env"));
    let stdin = format!("refs/heads/main {head} refs/heads/main {head}\n");
    keyhound().current_dir(repo.path()).args(["git", "--pre-push", "--no-config"]).write_stdin(stdin).assert().code(0);
    let stdin = format!("(delete) {zero} refs/heads/old {base}\n");
    keyhound().current_dir(repo.path()).args(["git", "--pre-push", "--no-config"]).write_stdin(stdin).assert().code(0);
}

/// The real pre-commit framework, with this repository's `keyhound-system` hook.
/// `scripts/test` installs pre-commit into a venv and sets KEYHOUND_PRE_COMMIT;
/// without it this test fails rather than skip.
#[test]
fn the_pre_commit_framework_runs_the_keyhound_system_hook() {
    let pre_commit = std::env::var_os("KEYHOUND_PRE_COMMIT").map(PathBuf::from).expect(
        "KEYHOUND_PRE_COMMIT must point at a pre-commit executable: run the tests with scripts/test, which installs it",
    );
    let binary = assert_cmd::cargo::cargo_bin("keyhound");
    let bin_dir = binary.parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let hooks_repo = env!("CARGO_MANIFEST_DIR");

    let repo = GitRepo::new();
    repo.tree.write(
        ".pre-commit-config.yaml",
        format!(
            "repos:\n  - repo: local\n    hooks:\n      - id: keyhound-system\n        name: keyhound\n        entry: keyhound staged --no-progress\n        language: system\n        pass_filenames: false\n        always_run: true\n# mirrors {hooks_repo}/.pre-commit-hooks.yaml\n"
        ),
    );
    let run = |args: &[&str]| {
        Command::new(&pre_commit)
            .current_dir(repo.path())
            .args(args)
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", repo.path().join(".pre-commit-cache"))
            .env("HOME", repo.path())
            .output()
            .unwrap()
    };
    let installed = run(&["install"]);
    assert!(installed.status.success(), "{}", String::from_utf8_lossy(&installed.stderr));
    repo.tree.write(".gitignore", ".pre-commit-cache/\n");
    repo.git(&["add", "-A"]);
    let clean = Command::new("git")
        .current_dir(repo.path())
        .args(["commit", "-q", "-m", "clean"])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert!(
        clean.status.success(),
        "clean commit: {}{}",
        String::from_utf8_lossy(&clean.stdout),
        String::from_utf8_lossy(&clean.stderr)
    );

    repo.tree.write("deploy/.env", leak_line());
    repo.git(&["add", "-A"]);
    let leaky = Command::new("git")
        .current_dir(repo.path())
        .args(["commit", "-q", "-m", "leak"])
        .env("PATH", &path)
        .output()
        .unwrap();
    let output = format!("{}{}", String::from_utf8_lossy(&leaky.stdout), String::from_utf8_lossy(&leaky.stderr));
    assert!(!leaky.status.success(), "the leaky commit must be refused:\n{output}");
    assert!(output.contains("deploy/.env:1:18") && !output.contains(DEEPSEEK_KEY), "{output}");
}

#[test]
fn the_hooks_file_declares_both_hooks_running_the_staged_scan() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.pre-commit-hooks.yaml")).unwrap();
    for needle in
        ["id: keyhound\n", "id: keyhound-system\n", "language: rust", "language: system", "entry: keyhound staged"]
    {
        assert!(text.contains(needle), ".pre-commit-hooks.yaml lacks {needle:?}");
    }
}

#[test]
fn scan_diff_reports_only_work_tree_additions_since_a_base() {
    let repo = GitRepo::new();
    let base = repo.commit_file("old.env", leak_line(), "old leak");
    let other = "sk-0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    repo.tree.write("old.env", format!("{}DEEPSEEK_NEW={other}\n", leak_line()));
    repo.tree.write("untracked/new.py", format!("deepseek = '{other}'\n"));
    let output = keyhound()
        .current_dir(repo.path())
        .args(["scan", ".", "--diff", &base, "--no-config", "--format", "json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut places: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{}:{}", f["path"].as_str().unwrap(), f["line"]))
        .collect();
    places.sort();
    assert_eq!(places, ["old.env:2", "untracked/new.py:1"], "not the committed line 1");
    keyhound().current_dir(repo.path()).args(["scan", ".", "--diff", "no-such-ref"]).assert().code(2);
}
