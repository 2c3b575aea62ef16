//! Database passwords end to end against the PostgreSQL and MariaDB servers
//! scripts/test starts: scan a `.env` with a connection string, verify it
//! (the server is recorded), then `keyhound rotate --yes` logs in with the
//! exposed password, sets a new one, writes it to the `.env`, and checks that
//! the new password logs in and the old one no longer does. A rerun does
//! nothing; a delivery that fails keeps the new password in a private file.

use std::path::Path;

use mysql::prelude::Queryable as _;

use crate::common::{keyhound, scan_json, Tree};

fn server(variable: &str) -> url::Url {
    let text = std::env::var(variable)
        .unwrap_or_else(|_| panic!("{variable} must name a test server: run the tests with scripts/test"));
    url::Url::parse(&text).unwrap()
}

/// A fresh `kh_rotate` login with `password`; returns its connection string.
fn postgres_user(password: &str) -> String {
    let admin = server("KEYHOUND_TEST_POSTGRES");
    let mut client = postgres::Client::connect(admin.as_str(), postgres::NoTls).unwrap();
    client
        .batch_execute(&format!("DROP ROLE IF EXISTS kh_rotate; CREATE ROLE kh_rotate LOGIN PASSWORD '{password}'"))
        .unwrap();
    format!("postgres://kh_rotate:{password}@127.0.0.1:{}/postgres", admin.port().unwrap())
}

/// A fresh `kh_rotate` MariaDB user with `password`; returns its connection string.
fn mariadb_user(password: &str) -> String {
    let admin = server("KEYHOUND_TEST_MARIADB_ADMIN");
    let mut connection = mysql::Conn::new(mysql::Opts::from_url(admin.as_str()).unwrap()).unwrap();
    connection.query_drop("DROP USER IF EXISTS 'kh_rotate'@'127.0.0.1'").unwrap();
    connection.query_drop(format!("CREATE USER 'kh_rotate'@'127.0.0.1' IDENTIFIED BY '{password}'")).unwrap();
    format!("mysql://kh_rotate:{password}@127.0.0.1:{}/", admin.port().unwrap())
}

fn logs_in(uri: &str) -> bool {
    if uri.starts_with("postgres") {
        postgres::Client::connect(uri, postgres::NoTls).is_ok()
    } else {
        mysql::Conn::new(mysql::Opts::from_url(uri).unwrap()).is_ok()
    }
}

/// Scans the tree (verifying the login) into `findings.json`, with the secrets.
fn verified_report(tree: &Tree) {
    let (_, report) = scan_json(tree.path(), &["--verify", "--verify-network-hosts", "--show-secrets"]);
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|finding| finding["rule_id"] == "database-connection-string")
        .unwrap_or_else(|| panic!("no connection-string finding: {report}"));
    assert_eq!(finding["verification"]["status"], "live", "{finding}");
    tree.write("findings.json", report.to_string());
}

struct Run {
    code: i32,
    output: String,
}

fn rotate(dir: &Path, args: &[&str]) -> Run {
    let output = keyhound()
        .current_dir(dir)
        .args(["rotate", "findings.json", "--yes", "--verify-network-hosts"])
        .args(args)
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap(),
        output: format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)),
    }
}

fn audit_steps(dir: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(dir.join(".keyhound/audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .map(|record| (record["step"].as_str().unwrap().to_string(), record["outcome"].as_str().unwrap().to_string()))
        .collect()
}

fn pair(step: &str, outcome: &str) -> (String, String) {
    (step.into(), outcome.into())
}

/// The whole flow for one server: rotate, check both passwords, rerun.
fn rotates_the_password(uri: &str, old_password: &str) {
    let tree = Tree::new();
    tree.write(".env", format!("DATABASE_URL={uri}\n"));
    verified_report(&tree);

    let dry = keyhound().current_dir(tree.path()).args(["rotate", "findings.json"]).output().unwrap();
    let plan = String::from_utf8_lossy(&dry.stderr);
    assert!(plan.contains("database"), "{plan}");
    assert!(logs_in(uri), "the dry run changed nothing");

    let without_flag = keyhound()
        .current_dir(tree.path())
        .args(["rotate", "findings.json", "--yes", "--deliver-env", ".env"])
        .output()
        .unwrap();
    assert_eq!(without_flag.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&without_flag.stderr).contains("--verify-network-hosts"));
    assert!(logs_in(uri), "nothing is contacted without --verify-network-hosts");
    std::fs::remove_file(tree.path().join(".keyhound/audit.jsonl")).unwrap();

    let run = rotate(tree.path(), &["--deliver-env", ".env"]);
    assert_eq!(run.code, 0, "{}", run.output);
    let env = std::fs::read_to_string(tree.path().join(".env")).unwrap();
    let new_uri = env.trim().strip_prefix("DATABASE_URL=").unwrap().to_string();
    let new_password = url::Url::parse(&new_uri).unwrap().password().unwrap().to_string();
    assert_ne!(new_password, old_password);
    assert_eq!(new_password.len(), 32);
    assert!(logs_in(&new_uri), "the new password logs in");
    assert!(!logs_in(uri), "the exposed password no longer does");
    assert_eq!(
        audit_steps(tree.path()),
        [pair("change-password", "ok"), pair("deliver", "ok"), pair("check-new", "ok"), pair("confirm", "ok")]
    );
    let audit = std::fs::read_to_string(tree.path().join(".keyhound/audit.jsonl")).unwrap();
    for text in [&run.output, &audit] {
        assert!(!text.contains(old_password) && !text.contains(&new_password), "a password was printed:\n{text}");
    }

    let again = rotate(tree.path(), &["--deliver-env", ".env"]);
    assert_eq!(again.code, 0, "{}", again.output);
    assert!(again.output.contains("already done"), "{}", again.output);
    assert!(logs_in(&new_uri), "a rerun does not change the password again");
}

/// A delivery that fails: the password is already changed, so the new one is kept in a private file.
fn keeps_an_undelivered_password(uri: &str) {
    let tree = Tree::new();
    tree.write(".env", format!("DATABASE_URL={uri}\n"));
    verified_report(&tree);
    tree.write("other.env", "NOTHING=here\n");
    let run = rotate(tree.path(), &["--deliver-env", "other.env"]);
    assert_eq!(run.code, 3, "{}", run.output);
    assert!(audit_steps(tree.path()).contains(&pair("deliver", "failed")), "{:?}", audit_steps(tree.path()));
    let saved = std::fs::read_dir(tree.path().join(".keyhound/undelivered")).unwrap().next().unwrap().unwrap().path();
    let new_password = std::fs::read_to_string(&saved).unwrap().trim().to_string();
    let mut new_uri = url::Url::parse(uri).unwrap();
    new_uri.set_password(Some(&new_password)).unwrap();
    assert!(logs_in(new_uri.as_str()), "the saved password is the new one");
    assert!(!logs_in(uri));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&saved).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // The next run finds the exposed password dead and records the key done.
    let next = rotate(tree.path(), &["--deliver-env", "other.env"]);
    assert_eq!(next.code, 0, "{}", next.output);
}

#[test]
fn postgres_passwords_are_changed_delivered_and_confirmed() {
    let password = "Kq8mP3xZ7wL2vB9nRt4Y";
    rotates_the_password(&postgres_user(password), password);
    keeps_an_undelivered_password(&postgres_user(password));
}

#[test]
fn mariadb_passwords_are_changed_delivered_and_confirmed() {
    let password = "Wz5vN8kQ2mJ7rT4xLp3H";
    rotates_the_password(&mariadb_user(password), password);
    keeps_an_undelivered_password(&mariadb_user(password));
}
