//! The README's CI snippets work as written: each `keyhound git ...` command
//! shown for GitHub Actions and GitLab CI is taken from README.md, its CI
//! variables are filled in, and it is run on a repository whose pushed range
//! adds a secret (and, before it, one that is not in the range).

use std::process::Command;

use crate::common::{GitRepo, DEEPSEEK_KEY};

/// The `keyhound ...` commands of the README's CI snippets.
fn ci_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    readme
        .lines()
        .map(str::trim)
        .filter_map(|line| line.strip_prefix("- run: ").or_else(|| line.strip_prefix("- ")))
        .filter(|command| command.starts_with("keyhound git"))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_readme_ci_commands_scan_only_the_pushed_range() {
    let commands = ci_commands();
    assert_eq!(commands.len(), 2, "GitHub Actions and GitLab CI snippets: {commands:?}");

    let repo = GitRepo::new();
    repo.commit_file("old.env", "DEEPSEEK_API_KEY=sk-9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a\n", "old leak, before the push");
    let before = repo.git(&["rev-parse", "HEAD"]);
    repo.git(&["update-ref", "refs/remotes/origin/main", &before]);
    repo.commit_file("new.env", format!("DEEPSEEK_API_KEY={DEEPSEEK_KEY}\n"), "the pushed commit");
    let head = repo.git(&["rev-parse", "HEAD"]);

    let binary = assert_cmd::cargo::cargo_bin("keyhound");
    let path = format!("{}:{}", binary.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    for command in commands {
        let command = command
            .replace("${{ github.event.before }}", &before)
            .replace("${{ github.sha }}", &head)
            .replace("$CI_DEFAULT_BRANCH", "main");
        let output =
            Command::new("sh").arg("-c").arg(&command).current_dir(repo.path()).env("PATH", &path).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{command}: {}", String::from_utf8_lossy(&output.stderr));
        let report_file = if command.contains("sarif") { "keyhound.sarif" } else { "keyhound.json" };
        let report = std::fs::read_to_string(repo.path().join(report_file)).unwrap();
        assert!(report.contains("new.env") && !report.contains("old.env"), "{command}: only the pushed range");
        assert!(!report.contains(DEEPSEEK_KEY), "{command}: redacted");
    }
}
