//! Test helpers: temp trees, running the binary, parsing its JSON.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// The built `keyhound` binary, with a clean environment (no colour, no CI quirks).
pub fn keyhound() -> Command {
    let mut command = Command::cargo_bin("keyhound").expect("the keyhound binary is built for tests");
    command.env_remove("KEYHOUND_CONFIG").env("NO_COLOR", "1");
    command
}

/// A temporary directory tree for one test.
pub struct Tree {
    dir: TempDir,
}

impl Tree {
    /// An empty tree.
    pub fn new() -> Self {
        Tree { dir: tempfile::tempdir().expect("temp dir") }
    }

    /// The tree's root.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `content` at `relative` (creating parent directories) and returns the full path.
    pub fn write(&self, relative: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent dirs");
        }
        std::fs::write(&path, content).expect("write test file");
        path
    }
}

/// The repository's `fixtures/` directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Runs `keyhound scan --format json` with `args` in `dir`; returns (exit code, JSON report).
pub fn scan_json(dir: &Path, args: &[&str]) -> (i32, Value) {
    let output =
        keyhound().current_dir(dir).arg("scan").args(["--format", "json"]).args(args).output().expect("run keyhound");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json: Value = serde_json::from_str(&stdout).unwrap_or_else(|err| {
        panic!("stdout is not JSON ({err}):\n{stdout}\nstderr:\n{}", String::from_utf8_lossy(&output.stderr))
    });
    (output.status.code().unwrap_or(-1), json)
}

/// `(rule_id, path, line)` of every finding in a JSON report.
pub fn finding_keys(report: &Value) -> Vec<(String, String, u64)> {
    report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|finding| {
            (
                finding["rule_id"].as_str().unwrap().to_string(),
                finding["path"].as_str().unwrap().to_string(),
                finding["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// A tiny rule file used by tests that must not depend on the default rules.
pub const TOKEN_RULES: &str = r#"
[[rules]]
id = "test-token"
description = "Test token"
regex = '''\b(tok_[a-z0-9]{16})\b'''
keywords = ["tok_"]
"#;

/// A token `TOKEN_RULES` reports.
pub const TOKEN: &str = "tok_q8v2m4x7k1z9p3w6";

/// A temporary git repository driven with the `git` CLI, with fixed identities
/// and dates so commits are reproducible.
pub struct GitRepo {
    /// The work tree.
    pub tree: Tree,
    clock: std::cell::Cell<u32>,
}

impl GitRepo {
    /// `git init` on branch `main`.
    pub fn new() -> Self {
        let repo = GitRepo { tree: Tree::new(), clock: std::cell::Cell::new(0) };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["config", "user.name", "Dev Eloper"]);
        repo.git(&["config", "user.email", "dev@example.com"]);
        repo.git(&["config", "commit.gpgsign", "false"]);
        repo
    }

    /// The work tree's root.
    pub fn path(&self) -> &Path {
        self.tree.path()
    }

    /// Runs git and returns its trimmed stdout; panics with stderr on failure.
    pub fn git(&self, args: &[&str]) -> String {
        let tick = self.clock.get() + 1;
        self.clock.set(tick);
        let date = format!("2024-01-01T00:{:02}:{:02}Z", tick / 60, tick % 60);
        let output = std::process::Command::new("git")
            .current_dir(self.path())
            .args(args)
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.path())
            .output()
            .expect("run git");
        assert!(output.status.success(), "git {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// Writes a file, stages everything and commits; returns the commit id.
    pub fn commit_file(&self, relative: &str, content: impl AsRef<[u8]>, message: &str) -> String {
        self.tree.write(relative, content);
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }
}

/// A DeepSeek key (random, not a real key) and the line that leaks it.
pub const DEEPSEEK_KEY: &str = "sk-4e1b9d0c7a3f52e86b0d9c1f7a2e4b68";
