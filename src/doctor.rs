//! `keyhound doctor`: the repository hygiene the key-safety guides ask for,
//! as findings of their own kind, each with the fix in one line.

use std::path::Path;

use git2::Repository;
use serde::Serialize;

use crate::engine::{Input, Scanner};

/// What kind of hygiene problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// A credential file (`.env`, `.npmrc` with auth, a private key...) is tracked by git.
    TrackedCredentialFile,
    /// `.gitignore` does not cover `.env`.
    EnvNotIgnored,
    /// No hook runs a secret scan before commits.
    NoPreCommitHook,
    /// A key is hard-coded in a file that already reads settings from the environment.
    HardCodedKey,
}

/// One problem found.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// Which check.
    pub check: Check,
    /// The file concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// What is wrong.
    pub message: String,
    /// The fix, in one line.
    pub fix: String,
}

/// Files that hold credentials by their nature (name pattern, and a content
/// marker that must be present, if any).
const CREDENTIAL_FILES: &[(&str, Option<&str>)] = &[
    (".npmrc", Some("_auth")),
    (".pypirc", Some("password")),
    (".netrc", Some("password")),
    (".git-credentials", None),
    ("credentials.json", None),
    ("id_rsa", None),
    ("id_dsa", None),
    ("id_ecdsa", None),
    ("id_ed25519", None),
    (".htpasswd", None),
];

/// Template names of env files that are meant to be committed.
const ENV_TEMPLATES: &[&str] = &["example", "sample", "template", "dist", "defaults"];

/// Constructs that read a value from the environment, per language.
const ENV_READS: &[&str] = &[
    "os.environ",
    "os.getenv",
    "process.env",
    "getenv(",
    "env::var",
    "System.getenv",
    "ENV[",
    "Environment.GetEnvironmentVariable",
];

/// Runs every check on the repository (and its work tree).
pub fn diagnose(repo: &Repository, scanner: &Scanner) -> Result<Vec<Problem>, git2::Error> {
    let mut problems = Vec::new();
    let index = repo.index()?;
    let workdir = repo.workdir().map(Path::to_path_buf);
    for entry in index.iter() {
        let path = String::from_utf8_lossy(&entry.path).into_owned();
        let blob = repo.find_blob(entry.id).ok();
        let content = blob.as_ref().map(|blob| blob.content()).unwrap_or_default();
        if let Some(reason) = credential_file(&path, content) {
            problems.push(Problem {
                check: Check::TrackedCredentialFile,
                message: format!("{path} is tracked by git: {reason}"),
                fix: format!("git rm --cached '{path}' && echo '{path}' >> .gitignore, then rotate what it held"),
                path: Some(path.clone()),
            });
        } else if reads_environment(content) {
            if let Some(problem) = hard_coded_key(scanner, &path, content) {
                problems.push(problem);
            }
        }
    }
    if workdir.is_some() && !repo.is_path_ignored(".env").unwrap_or(false) {
        problems.push(Problem {
            check: Check::EnvNotIgnored,
            path: Some(".gitignore".into()),
            message: ".gitignore does not cover .env, so a local secrets file can be committed by accident".into(),
            fix: "printf '.env\\n.env.*\\n!.env.example\\n' >> .gitignore".into(),
        });
    }
    if !has_secret_hook(repo) {
        problems.push(Problem {
            check: Check::NoPreCommitHook,
            path: None,
            message: "no pre-commit hook scans commits for secrets".into(),
            fix: "keyhound install-hook   (or add the keyhound hook to .pre-commit-config.yaml)".into(),
        });
    }
    Ok(problems)
}

/// Why a tracked file is a credential file, if it is one.
fn credential_file(path: &str, content: &[u8]) -> Option<String> {
    let name = path.rsplit('/').next().unwrap_or(path);
    if name == ".env" || (name.starts_with(".env.") && !ENV_TEMPLATES.iter().any(|t| name.ends_with(t))) {
        return Some("an environment file holds the real values of settings, secrets included".into());
    }
    for (pattern, marker) in CREDENTIAL_FILES {
        if name == *pattern && marker.is_none_or(|marker| contains(content, marker)) {
            return Some(format!("{pattern} files hold credentials"));
        }
    }
    let private_key = contains(content, "PRIVATE KEY-----") || contains(content, "PuTTY-User-Key-File");
    let key_extension = [".pem", ".key", ".ppk"].iter().any(|extension| name.ends_with(extension));
    (key_extension && private_key).then(|| "it holds a private key".into())
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    memchr::memmem::find(haystack, needle.as_bytes()).is_some()
}

fn reads_environment(content: &[u8]) -> bool {
    ENV_READS.iter().any(|read| contains(content, read))
}

/// A finding in a file that already reads other settings from the environment.
fn hard_coded_key(scanner: &Scanner, path: &str, content: &[u8]) -> Option<Problem> {
    let mut matches = Vec::new();
    let input = Input { bytes: content, path: Some(path), commit: None, binary: false };
    scanner.scan(input, &mut scanner.scratch(), &mut matches);
    let found = matches.first()?;
    let rule = &scanner.rules().rules[found.rule];
    let line = 1 + content[..found.secret.start].iter().filter(|&&b| b == b'\n').count();
    Some(Problem {
        check: Check::HardCodedKey,
        path: Some(path.to_string()),
        message: format!(
            "{path}:{line}: a {} is hard-coded in a file that already reads settings from the environment",
            rule.description
        ),
        fix: "read it from the environment like the other settings, then rotate the key".into(),
    })
}

/// Whether a git hook or the pre-commit framework runs keyhound (or another secret scanner).
fn has_secret_hook(repo: &Repository) -> bool {
    let scanners = ["keyhound", "gitleaks", "trufflehog", "detect-secrets", "ripsecrets", "kingfisher", "betterleaks"];
    let mentions_scanner = |path: &Path| {
        std::fs::read_to_string(path).is_ok_and(|text| scanners.iter().any(|scanner| text.contains(scanner)))
    };
    let hooks = repo
        .config()
        .ok()
        .and_then(|config| config.get_path("core.hooksPath").ok())
        .map(|path| if path.is_absolute() { path } else { repo.workdir().unwrap_or(repo.path()).join(path) })
        .unwrap_or_else(|| repo.path().join("hooks"));
    let framework = repo.workdir().map(|dir| dir.join(".pre-commit-config.yaml"));
    mentions_scanner(&hooks.join("pre-commit")) || framework.is_some_and(|path| mentions_scanner(&path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_files_are_recognised_by_name_and_content() {
        assert!(credential_file("app/.env", b"A=1").is_some());
        assert!(credential_file(".env.production", b"").is_some());
        assert!(credential_file(".env.example", b"").is_none());
        assert!(credential_file(".npmrc", b"//registry.npmjs.org/:_authToken=x").is_some());
        assert!(credential_file(".npmrc", b"save-exact=true").is_none());
        assert!(credential_file("certs/server.pem", b"-----BEGIN PRIVATE KEY-----").is_some());
        assert!(credential_file("certs/ca.pem", b"-----BEGIN CERTIFICATE-----").is_none());
        assert!(credential_file("home/.ssh/id_ed25519", b"").is_some());
    }
}
