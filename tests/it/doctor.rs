//! `keyhound doctor` on temporary repositories with and without each problem.

use serde_json::Value;

use crate::common::{keyhound, GitRepo, DEEPSEEK_KEY};

fn checks(repo: &GitRepo) -> (i32, Vec<String>) {
    let output = keyhound().current_dir(repo.path()).args(["doctor", "--json"]).output().unwrap();
    let problems: Value = serde_json::from_slice(&output.stdout).unwrap();
    let checks = problems.as_array().unwrap().iter().map(|p| p["check"].as_str().unwrap().to_string()).collect();
    (output.status.code().unwrap(), checks)
}

#[test]
fn a_healthy_repository_has_no_problems() {
    let repo = GitRepo::new();
    repo.commit_file(".gitignore", ".env\n.env.*\n!.env.example\n", "ignore env");
    repo.commit_file(".env.example", "DEEPSEEK_API_KEY=\n", "template");
    repo.commit_file("app.py", "import os\nKEY = os.environ['DEEPSEEK_API_KEY']\n", "app");
    keyhound().current_dir(repo.path()).arg("install-hook").assert().code(0);
    assert_eq!(checks(&repo), (0, vec![]));
}

#[test]
fn each_problem_is_reported_with_a_fix() {
    let repo = GitRepo::new();
    repo.commit_file(".env", "DB_HOST=localhost\n", "env file");
    repo.commit_file(".npmrc", "//registry.npmjs.org/:_authToken=npm_x\n", "npmrc");
    repo.commit_file(
        "settings.py",
        format!("import os\nHOST = os.environ['HOST']\nDEEPSEEK_API_KEY = '{DEEPSEEK_KEY}'\n"),
        "settings",
    );
    let (code, checks) = checks(&repo);
    assert_eq!(code, 1);
    assert_eq!(
        checks,
        [
            "tracked-credential-file",
            "tracked-credential-file",
            "hard-coded-key",
            "env-not-ignored",
            "no-pre-commit-hook"
        ]
    );
    let output = keyhound().current_dir(repo.path()).arg("doctor").output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("fix: git rm --cached '.env'") && text.contains("fix: keyhound install-hook"), "{text}");
    assert!(!text.contains(DEEPSEEK_KEY));
}
