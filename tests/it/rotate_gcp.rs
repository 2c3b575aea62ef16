//! Google Cloud service-account keys: `keyhound rotate` deletes the key of
//! the key file through IAM (with the user's token, or one the key file
//! obtains), confirms that Google no longer issues tokens for it, and names
//! what it needs when the account may not delete its own keys.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::common::Tree;
use crate::mock_provider::{Answer, MockProvider};
use crate::rotate::{assert_never_printed, fingerprint, rotate, state, steps, Run};

const KEY_ID: &str = "3f9d2c71a8b64e05d1c7e9a2b4f60813c5d7e9a1";
const EMAIL: &str = "deployer@acme-prod-311206.iam.gserviceaccount.com";
const MANAGEMENT: &str = "ya29.management-token-of-an-admin-0123456789";

/// A key file with a fresh RSA key (openssl, which scripts/test installs), and a report naming it;
/// also returns a line of the private key, which no output may show.
fn tree_with_key_file() -> (Tree, String) {
    let tree = Tree::new();
    let output = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
        .output()
        .expect("openssl makes the test's RSA key (scripts/test installs it)");
    let pem = String::from_utf8(output.stdout).unwrap();
    let key_line = pem.lines().nth(1).unwrap().to_string();
    let file = serde_json::json!({
        "type": "service_account",
        "project_id": "acme-prod-311206",
        "private_key_id": KEY_ID,
        "private_key": pem,
        "client_email": EMAIL,
        "token_uri": "https://attacker.example/token",
    });
    tree.write("deploy/sa.json", file.to_string());
    let finding = serde_json::json!({
        "rule_id": "gcp-service-account-key", "path": "deploy/sa.json", "line": 4, "column": 1,
        "secret": KEY_ID, "fingerprint": fingerprint("gcp-service-account-key-0"), "confidence": "high",
        "verification": { "status": "live", "details": { "client_email": EMAIL } },
    });
    tree.write("findings.json", serde_json::json!({ "findings": [finding] }).to_string());
    (tree, key_line)
}

/// Google: tokens for the key until it is deleted, then `invalid_grant`; IAM deletes once.
fn google(allow_self_delete: bool) -> MockProvider {
    let deleted = Arc::new(AtomicBool::new(false));
    let delete_path = format!("DELETE /v1/projects/acme-prod-311206/serviceAccounts/{EMAIL}/keys/{KEY_ID}");
    MockProvider::with_handler(move |seen| match seen.line.as_str() {
        "POST /token" if deleted.load(Ordering::SeqCst) => {
            Answer::json(400, r#"{"error": "invalid_grant", "error_description": "Invalid JWT Signature."}"#)
        }
        "POST /token" => Answer::json(200, r#"{"access_token": "ya29.from-the-key-file", "expires_in": 3599}"#),
        line if line == delete_path => {
            let bearer = seen.header("authorization").unwrap_or_default();
            if bearer == "Bearer ya29.from-the-key-file" && !allow_self_delete {
                return Answer::json(403, r#"{"error": {"code": 403, "status": "PERMISSION_DENIED"}}"#);
            }
            if deleted.swap(true, Ordering::SeqCst) {
                Answer::json(404, r#"{"error": {"code": 404, "status": "NOT_FOUND"}}"#)
            } else {
                Answer::json(200, "{}")
            }
        }
        _ => Answer::json(404, "{}"),
    })
}

fn run(tree: &Tree, mock: &MockProvider, env: &[(&str, &str)]) -> Run {
    let iam = format!("gcp-iam={}", mock.url);
    let token = format!("gcp-service-account={}", mock.url);
    rotate(tree, &["--yes", "--endpoint", &iam, "--endpoint", &token], env)
}

#[test]
fn a_key_that_may_delete_itself_is_deleted_and_confirmed_dead() {
    let (tree, key_line) = tree_with_key_file();
    let mock = google(true);
    let first = run(&tree, &mock, &[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(state(&tree)[&fingerprint("gcp-service-account-key-0")]["progress"], "done", "{}", first.stderr);
    let lines: Vec<String> = mock.seen().iter().map(|seen| seen.line.clone()).collect();
    assert_eq!(lines[0], "POST /token", "the token comes from Google's endpoint, not the file's token_uri");
    assert!(lines[1].starts_with("DELETE /v1/projects/acme-prod-311206/"), "{lines:?}");
    assert_eq!(lines.last().unwrap(), "POST /token", "the confirmation asks for a token again: {lines:?}");
    assert_eq!(steps(&tree).iter().map(|(step, _)| step.as_str()).collect::<Vec<_>>(), ["revoke", "confirm"]);
    assert_never_printed(&tree, &first, &[&key_line]);

    let again = run(&tree, &mock, &[]);
    assert!(again.stderr.contains("already done"), "{}", again.stderr);
    assert_eq!(mock.seen().len(), lines.len(), "a rerun sends nothing");
}

#[test]
fn without_the_permission_the_run_fails_and_names_the_management_token_which_then_deletes_it() {
    let (tree, key_line) = tree_with_key_file();
    let mock = google(false);
    let refused = run(&tree, &mock, &[]);
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    assert!(refused.stderr.contains("GOOGLE_OAUTH_ACCESS_TOKEN"), "{}", refused.stderr);
    assert_eq!(steps(&tree), [("revoke".to_string(), "failed".to_string())]);

    let done = run(&tree, &mock, &[("GOOGLE_OAUTH_ACCESS_TOKEN", MANAGEMENT)]);
    assert_eq!(done.code, 0, "{}", done.stderr);
    let delete = mock.seen().into_iter().rfind(|seen| seen.line.starts_with("DELETE")).unwrap();
    assert_eq!(delete.header("authorization"), Some(format!("Bearer {MANAGEMENT}").as_str()));
    assert_eq!(state(&tree)[&fingerprint("gcp-service-account-key-0")]["progress"], "done");
    assert_never_printed(&tree, &done, &[MANAGEMENT, &key_line]);
}
