//! `keyhound pre-receive` in a bare repository's hooks, through real `git
//! push`es: a push that adds a secret is rejected with a redacted message
//! and stores nothing; a clean push, a fixed push and a new branch of
//! already-accepted commits go through; the server's own git config names
//! its config file (a pushed `.keyhound.toml` changes nothing).

use std::path::Path;
use std::process::{Command, Output};

use crate::common::{GitRepo, Tree, DEEPSEEK_KEY};

/// A bare repository whose pre-receive hook runs this build of keyhound.
fn server(dir: &Tree) -> std::path::PathBuf {
    let bare = dir.path().join("server.git");
    let status = Command::new("git").args(["init", "-q", "--bare", "-b", "main"]).arg(&bare).status().unwrap();
    assert!(status.success());
    let keyhound = assert_cmd::cargo::cargo_bin("keyhound");
    let hook = bare.join("hooks/pre-receive");
    std::fs::write(&hook, format!("#!/bin/sh\nexec '{}' pre-receive --no-progress\n", keyhound.display())).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bare
}

fn push(client: &GitRepo, args: &[&str]) -> Output {
    Command::new("git")
        .current_dir(client.path())
        .args(["push", "-q", "origin"])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", client.path())
        .output()
        .unwrap()
}

fn server_head(bare: &Path, branch: &str) -> Option<String> {
    let output =
        Command::new("git").arg("-C").arg(bare).args(["rev-parse", "--verify", "-q", branch]).output().unwrap();
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

#[test]
fn a_push_that_adds_a_secret_is_rejected_and_a_clean_one_accepted() {
    let dir = Tree::new();
    let bare = server(&dir);
    let client = GitRepo::new();
    client.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    let clean = client.commit_file("README.md", "# billing\n", "start");
    let accepted = push(&client, &["main"]);
    assert!(accepted.status.success(), "{}", String::from_utf8_lossy(&accepted.stderr));
    assert_eq!(server_head(&bare, "main").as_deref(), Some(clean.as_str()));

    for index in 0..19 {
        client.commit_file(&format!("src/module_{index}.py"), format!("VALUE = {index}\n"), "work");
    }
    client.commit_file("app/.env", format!("DEEPSEEK_API_KEY={DEEPSEEK_KEY}\n"), "config");
    let rejected = push(&client, &["main"]);
    let stderr = String::from_utf8_lossy(&rejected.stderr);
    assert!(!rejected.status.success(), "{stderr}");
    assert!(stderr.contains("pre-receive hook declined"), "{stderr}");
    assert!(stderr.contains("deepseek-api-key") && stderr.contains("app/.env"), "{stderr}");
    assert!(stderr.contains("Push rejected"), "{stderr}");
    assert!(!stderr.contains(DEEPSEEK_KEY), "the secret is redacted: {stderr}");
    assert_eq!(server_head(&bare, "main").as_deref(), Some(clean.as_str()), "nothing was stored");

    client.git(&["reset", "-q", "--hard", "HEAD~1"]); // drop the commit that added the key
    let fixed = push(&client, &["main"]);
    assert!(fixed.status.success(), "{}", String::from_utf8_lossy(&fixed.stderr));

    // A new branch of commits the server already has adds nothing to scan.
    client.git(&["branch", "release", "HEAD~3"]);
    let branch = push(&client, &["release"]);
    assert!(branch.status.success(), "{}", String::from_utf8_lossy(&branch.stderr));
}

#[test]
fn the_servers_git_config_names_its_config_and_a_pushed_one_is_ignored() {
    let dir = Tree::new();
    let bare = server(&dir);
    let allow = dir.write("server-keyhound.toml", "[allowlist]\npaths = ['''^fixtures/''']\n");
    let client = GitRepo::new();
    client.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    // The pushed config would allow everything under app/: the server must not use it.
    client.commit_file(".keyhound.toml", "[allowlist]\npaths = ['''^app/''']\n", "config");
    client.commit_file("app/.env", format!("DEEPSEEK_API_KEY={DEEPSEEK_KEY}\n"), "leak");
    assert!(!push(&client, &["main"]).status.success(), "a pushed config does not allowlist its own leak");

    let status =
        Command::new("git").arg("-C").arg(&bare).args(["config", "keyhound.config"]).arg(&allow).status().unwrap();
    assert!(status.success());
    client.git(&["reset", "-q", "--hard", "HEAD~1"]);
    client.commit_file("fixtures/sample.env", format!("DEEPSEEK_API_KEY={DEEPSEEK_KEY}\n"), "fixture");
    let allowed = push(&client, &["main"]);
    assert!(
        allowed.status.success(),
        "the server's config allowlists fixtures/: {}",
        String::from_utf8_lossy(&allowed.stderr)
    );
}
