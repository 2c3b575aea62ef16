//! Database connection strings: a login to the host the URI names, only with
//! --verify-network-hosts, against the PostgreSQL, Redis and MariaDB servers scripts/test starts.

use std::net::TcpListener;

use serde_json::Value;

use crate::common::scan_json;

fn server(variable: &str) -> url::Url {
    let text = std::env::var(variable).unwrap_or_else(|_| {
        panic!("{variable} must name a server with a password login: run the tests with scripts/test")
    });
    url::Url::parse(&text).unwrap()
}

/// `url` with its password replaced by `password`.
fn with_password(url: &url::Url, password: &str) -> String {
    let mut url = url.clone();
    url.set_password(Some(password)).unwrap();
    url.to_string()
}

/// The verification of the connection string in a scanned `.env` file.
fn verification_of(uri: &str, flags: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), format!("DATABASE_URL={uri}\n")).unwrap();
    let mut args = vec!["--verify"];
    args.extend_from_slice(flags);
    let (_, report) = scan_json(dir.path(), &args);
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|finding| finding["rule_id"] == "database-connection-string")
        .unwrap_or_else(|| panic!("no connection-string finding: {report}"))
        .clone();
    finding["verification"].clone()
}

#[test]
fn the_host_a_scanned_file_names_is_not_contacted_without_the_flag() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let verification = verification_of(&format!("postgres://app:Wq8vN2kLp5xZ@127.0.0.1:{port}/app"), &[]);
    assert_eq!(verification["status"], "unknown");
    assert!(verification["reason"].as_str().unwrap().contains("--verify-network-hosts"), "{verification}");
    assert!(listener.accept().is_err(), "keyhound connected to the host without --verify-network-hosts");
}

#[test]
fn postgres_logins_tell_a_live_password_from_a_dead_one() {
    let server = server("KEYHOUND_TEST_POSTGRES_LOGIN");
    let live = verification_of(server.as_str(), &["--verify-network-hosts"]);
    assert_eq!(live["status"], "live", "{live}");
    assert_eq!(live["details"]["user"], "kh_login");
    assert_eq!(live["details"]["database"], "postgres");
    let dead = verification_of(&with_password(&server, "Xq7-not-the-password"), &["--verify-network-hosts"]);
    assert_eq!(dead["status"], "dead", "{dead}");
}

#[test]
fn redis_logins_tell_a_live_password_from_a_dead_one() {
    let server = server("KEYHOUND_TEST_REDIS");
    let live = verification_of(server.as_str(), &["--verify-network-hosts"]);
    assert_eq!(live["status"], "live", "{live}");
    let dead = verification_of(&with_password(&server, "Xq7-not-the-password"), &["--verify-network-hosts"]);
    assert_eq!(dead["status"], "dead", "{dead}");
}

#[test]
fn mariadb_logins_tell_a_live_password_from_a_dead_one() {
    let server = server("KEYHOUND_TEST_MARIADB");
    let live = verification_of(server.as_str(), &["--verify-network-hosts"]);
    assert_eq!(live["status"], "live", "{live}");
    assert_eq!(live["details"]["user"], "kh_login");
    assert_eq!(live["details"]["database"], "kh_app");
    let dead = verification_of(&with_password(&server, "Xq7-not-the-password"), &["--verify-network-hosts"]);
    assert_eq!(dead["status"], "dead", "{dead}");
    assert!(!dead.to_string().contains("Xq7-not-the-password"), "{dead}");
    // The mariadb:// scheme is the same server and protocol.
    let mut mariadb = server.clone();
    mariadb.set_path("/kh_app");
    let mariadb = mariadb.as_str().replacen("mysql://", "mariadb://", 1);
    assert_eq!(verification_of(&mariadb, &["--verify-network-hosts"])["status"], "live");
}

#[test]
fn a_right_password_without_access_to_the_named_database_is_still_live() {
    let mut server = server("KEYHOUND_TEST_MARIADB");
    server.set_path("/mysql");
    let verification = verification_of(server.as_str(), &["--verify-network-hosts"]);
    assert_eq!(verification["status"], "live", "{verification}");
    assert_eq!(verification["details"]["database_access"], "denied (error 1044)", "{verification}");
}

#[test]
fn an_unreachable_host_is_unknown_and_the_reason_holds_no_password() {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    for scheme in ["postgres", "redis", "mysql"] {
        let verification =
            verification_of(&format!("{scheme}://app:Wq8vN2kLp5xZ@127.0.0.1:{port}/0"), &["--verify-network-hosts"]);
        assert_eq!(verification["status"], "unknown", "{scheme}: {verification}");
        assert!(!verification.to_string().contains("Wq8vN2kLp5xZ"), "{verification}");
    }
}
