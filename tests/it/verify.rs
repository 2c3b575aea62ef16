//! `--verify` against local mock providers: live, dead and every kind of
//! unknown; each secret checked once; secrets never sent anywhere a scanned
//! repository chooses.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{keyhound, Tree, TOKEN};
use crate::mock_provider::{Answer, MockProvider};

/// A config rule that verifies against the `acme` provider (shared with the rotation tests).
pub(crate) const ACME_RULES: &str = r#"
[[rules]]
id = "test-token"
description = "Test token"
regex = '''\b(tok_[a-z0-9]{16})\b'''
keywords = ["tok_"]
[rules.verify]
provider = "acme"
base_url = "https://api.acme.invalid"
path = "/v1/whoami"
headers = { Authorization = "Bearer {{secret}}" }
live = { status = [200] }
dead = { status = [401] }
details = { account = "/account", scopes = "/scopes" }
"#;

fn tree() -> Tree {
    let tree = Tree::new();
    tree.write("acme.toml", ACME_RULES);
    tree.write("src/a.py", format!("TOKEN = \"{TOKEN}\"\n"));
    tree
}

fn verify(tree: &Tree, mock: &MockProvider, extra: &[&str]) -> (i32, Value) {
    let output = keyhound()
        .current_dir(tree.path())
        .args(["scan", "src", "--config", "acme.toml", "--format", "json", "--verify", "--allow-custom-verify"])
        .args(["--endpoint", &format!("acme={}", mock.url)])
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains(TOKEN), "the secret leaked into the report");
    let report = serde_json::from_str(&stdout).unwrap_or_else(|err| panic!("{err}: {stdout}"));
    (output.status.code().unwrap(), report)
}

fn verification(report: &Value) -> Value {
    report["findings"][0]["verification"].clone()
}

#[test]
fn a_live_key_is_reported_live_with_what_the_provider_says() {
    let mock = MockProvider::start(vec![Answer::json(200, r#"{"account": "acme-prod", "scopes": ["read", "write"]}"#)]);
    let tree = tree();
    let (code, report) = verify(&tree, &mock, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        verification(&report),
        serde_json::json!({"status": "live", "details": {"account": "acme-prod", "scopes": ["read", "write"]}})
    );
    let seen = mock.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].line, "GET /v1/whoami");
    assert!(seen[0].headers.contains(&("authorization".into(), format!("Bearer {TOKEN}"))));
}

#[test]
fn a_dead_key_is_dead_and_fail_on_live_passes() {
    let mock = MockProvider::start(vec![Answer::json(401, r#"{"error": "invalid token"}"#)]);
    let tree = tree();
    let (code, report) = verify(&tree, &mock, &[]);
    assert_eq!((code, verification(&report)["status"].as_str()), (1, Some("dead")));
    let (code, _) = verify(&tree, &mock, &["--fail-on", "live"]);
    assert_eq!(code, 0, "only live keys fail the run");
    let (code, report) = verify(&tree, &mock, &["--only-live"]);
    assert_eq!((code, report["findings"].as_array().unwrap().len()), (0, 0));
}

#[test]
fn unexpected_answers_html_and_server_errors_are_unknown_never_dead() {
    for (answer, reason) in [
        (Answer::json(402, "{}"), "unexpected answer (HTTP 402)"),
        (Answer { content_type: "text/html", ..Answer::json(200, "<html>blocked</html>") }, "HTML page"),
        (Answer::json(503, "{}"), "provider error (HTTP 503)"),
    ] {
        let mock = MockProvider::start(vec![answer]);
        let (_, report) = verify(&tree(), &mock, &[]);
        let verification = verification(&report);
        assert_eq!(verification["status"], "unknown");
        assert!(verification["reason"].as_str().unwrap().contains(reason), "{verification}");
    }
}

#[test]
fn rate_limits_are_retried_after_the_delay_the_provider_asks() {
    let mock = MockProvider::start(vec![
        Answer::json(429, "{}").header("Retry-After", "1"),
        Answer::json(200, r#"{"account": "acme"}"#),
    ]);
    let started = Instant::now();
    let (_, report) = verify(&tree(), &mock, &[]);
    assert_eq!(verification(&report)["status"], "live");
    assert_eq!(mock.seen().len(), 2);
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was honoured");
}

#[test]
fn timeouts_and_network_failures_are_unknown_and_quick() {
    let slow = MockProvider::start(vec![Answer::json(200, "{}").delayed(Duration::from_secs(5))]);
    let started = Instant::now();
    let (_, report) = verify(&tree(), &slow, &["--request-timeout", "1"]);
    assert_eq!(verification(&report), serde_json::json!({"status": "unknown", "reason": "timeout"}));
    assert!(started.elapsed() < Duration::from_secs(4));

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let output = keyhound()
        .current_dir(tree().path())
        .args(["scan", "--format", "json", "--verify", "--allow-custom-verify", "--config"])
        .arg(tree().path().join("acme.toml"))
        .arg(tree().path().join("src"))
        .args(["--endpoint", &format!("acme=http://127.0.0.1:{port}")])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let reason = verification(&report)["reason"].as_str().unwrap().to_string();
    assert!(reason.starts_with("network:"), "{reason}");
}

#[test]
fn each_distinct_secret_is_checked_once() {
    let mock = MockProvider::start(vec![Answer::json(200, "{}")]);
    let tree = tree();
    tree.write("src/b.py", format!("T = '{TOKEN}'\nU = '{TOKEN}'\n"));
    let (_, report) = verify(&tree, &mock, &[]);
    assert_eq!(report["findings"].as_array().unwrap().len(), 3);
    assert_eq!(mock.seen().len(), 1);
}

#[test]
fn a_scanned_repository_cannot_make_keyhound_send_secrets_anywhere() {
    let mock = MockProvider::start(vec![Answer::json(200, "{}")]);
    let tree = Tree::new();
    // The repository's own config points verification at "its" server.
    tree.write(
        ".keyhound.toml",
        ACME_RULES.replace("https://api.acme.invalid", &mock.url.replace("http://", "https://")),
    );
    tree.write("a.py", format!("T = '{TOKEN}'\n"));
    let output =
        keyhound().current_dir(tree.path()).args(["scan", ".", "--format", "json", "--verify"]).output().unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(verification(&report)["status"], "unknown");
    assert!(verification(&report)["reason"].as_str().unwrap().contains("--allow-custom-verify"));
    assert!(mock.seen().is_empty(), "nothing was sent");

    let http = ACME_RULES.replace("https://api.acme.invalid", "http://evil.example");
    tree.write(".keyhound.toml", http);
    // Refused, named, and the run fails closed; given with --config it is a usage error.
    keyhound()
        .current_dir(tree.path())
        .args(["scan", ".", "--verify"])
        .assert()
        .code(3)
        .stderr(predicates::str::contains("must be https://"));
    keyhound().current_dir(tree.path()).args(["scan", ".", "--verify", "--config", ".keyhound.toml"]).assert().code(2);
}

#[test]
fn a_saved_report_can_be_verified_later() {
    let mock = MockProvider::start(vec![Answer::json(200, r#"{"account": "acme"}"#)]);
    let tree = tree();
    for (name, show) in [("full.json", true), ("redacted.json", false)] {
        let mut scan = keyhound();
        scan.current_dir(tree.path()).args(["scan", "src", "--config", "acme.toml", "--format", "json", "-o", name]);
        if show {
            scan.arg("--show-secrets");
        }
        scan.assert().code(1);
    }
    let run = |report: &str| {
        let output = keyhound()
            .current_dir(tree.path())
            .args(["verify", report, "--config", "acme.toml", "--allow-custom-verify", "--format", "json"])
            .args(["--endpoint", &format!("acme={}", mock.url)])
            .output()
            .unwrap();
        serde_json::from_slice::<Value>(&output.stdout).unwrap()
    };
    assert_eq!(verification(&run("full.json"))["status"], "live");
    let redacted = verification(&run("redacted.json"));
    assert!(redacted["reason"].as_str().unwrap().contains("--show-secrets"), "{redacted}");
    assert_eq!(mock.seen().len(), 1);
    keyhound().current_dir(tree.path()).args(["verify", "acme.toml"]).assert().code(2);
}

/// DeepSeek, the first-class case, through its built-in rule.
mod deepseek {
    use super::*;
    use crate::common::DEEPSEEK_KEY;

    fn scan(tree: &Tree, mock: &MockProvider) -> (i32, Value) {
        let output = keyhound()
            .current_dir(tree.path())
            .args(["scan", ".", "--no-config", "--format", "json", "--verify"])
            .env("KEYHOUND_ENDPOINT_DEEPSEEK", &mock.url)
            .output()
            .unwrap();
        assert!(!String::from_utf8_lossy(&output.stdout).contains(DEEPSEEK_KEY));
        (output.status.code().unwrap(), serde_json::from_slice(&output.stdout).unwrap())
    }

    fn leaky_tree() -> Tree {
        let tree = Tree::new();
        tree.write(".env", format!("DEEPSEEK_API_KEY={DEEPSEEK_KEY}\n"));
        tree
    }

    #[test]
    fn a_live_key_reports_its_balance() {
        let balance = r#"{"is_available": true, "balance_infos": [{"currency": "CNY", "total_balance": "110.00", "granted_balance": "10.00", "topped_up_balance": "100.00"}]}"#;
        let mock = MockProvider::start(vec![Answer::json(200, balance)]);
        let (code, report) = scan(&leaky_tree(), &mock);
        assert_eq!(code, 1);
        assert_eq!(
            verification(&report),
            serde_json::json!({"status": "live", "details": {"balance": "110.00", "currency": "CNY", "is_available": true}})
        );
        let seen = mock.seen();
        assert_eq!(seen[0].line, "GET /user/balance");
        assert!(seen[0].headers.contains(&("authorization".into(), format!("Bearer {DEEPSEEK_KEY}"))));
    }

    #[test]
    fn a_revoked_key_is_dead_and_an_empty_balance_is_unknown() {
        let mock = MockProvider::start(vec![Answer::json(401, r#"{"error": {"message": "Authentication Fails"}}"#)]);
        assert_eq!(verification(&scan(&leaky_tree(), &mock).1)["status"], "dead");
        let mock = MockProvider::start(vec![Answer::json(402, r#"{"error": {"message": "Insufficient Balance"}}"#)]);
        let result = verification(&scan(&leaky_tree(), &mock).1);
        assert_eq!(result["status"], "unknown");
        assert!(result["reason"].as_str().unwrap().contains("402"));
    }

    #[test]
    fn a_key_without_deepseek_context_is_never_sent() {
        let mock = MockProvider::start(vec![Answer::json(200, "{}")]);
        let tree = Tree::new();
        tree.write("gateway.sh", format!("export OPENAI_API_KEY={DEEPSEEK_KEY}\n"));
        let result = verification(&scan(&tree, &mock).1);
        assert_eq!(result["status"], "unknown");
        assert!(result["reason"].as_str().unwrap().contains("low confidence"));
        assert!(mock.seen().is_empty(), "a look-alike key may belong to another vendor");
    }
}

#[test]
fn an_expired_jwt_is_dead_without_any_request_and_says_whose_it_was() {
    let dir = tempfile::tempdir().unwrap();
    // exp 1719536547 (2024-06-28): expired. Claims: sub user_657469945, scope "read write".
    std::fs::write(
        dir.path().join("client.sh"),
        "curl -H \"Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyXzY1NzQ2OTk0NSIsImVtYWlsIjoiZGV2NTQzQGFjbWUuaW8iLCJzY29wZSI6InJlYWQgd3JpdGUiLCJpYXQiOjE3MTg2NjEyODYsImV4cCI6MTcxOTUzNjU0N30.99S3j34v_iOok4F1lOGJNYNs2ad6GXPI3XRCVp7Arp8\" https://api.acme.io/v1/me\n",
    )
    .unwrap();
    // No endpoint is configured and none is needed: an HTTP request would fail the run's verification.
    let (_, report) = crate::common::scan_json(dir.path(), &["--verify"]);
    let jwt = report["findings"].as_array().unwrap().iter().find(|f| f["rule_id"] == "jwt").expect("jwt finding");
    assert_eq!(jwt["verification"]["status"], "dead", "{jwt}");
    let details = &jwt["verification"]["details"];
    assert_eq!(details["sub"], "user_657469945");
    assert_eq!(details["scope"], "read write");
    assert_eq!(details["expired"], true);
    assert_eq!(details["expires_at"], "2024-06-28T01:02:27Z");
}
