//! `keyhound rotate` end to end against local mock providers: what each
//! built-in action sends, the guided DeepSeek flow, delivery (env file, Vault,
//! exec), notification, the gateway template, dry runs that send nothing,
//! idempotence, failures, and never a full key in output or the audit trail.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use crate::common::{keyhound, Tree};
use crate::mock_provider::{Answer, MockProvider, Seen};
use crate::verify::ACME_RULES;

const GHP_1: &str = "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";
const GHP_2: &str = "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";
const GLPAT: &str = "glpat-VDDO44PXkeXvgC0snLwM";
const GLPAT_NEW: &str = "glpat-NEWnewNEWnewNEWnew1";
const SLACK: &str = "xoxb-9035694175815-2910593124758-2X32DsuVtXTF2pkSIc5MjREA";
pub(crate) const DEEPSEEK_OLD: &str = "sk-64cf339f875dfaf8d189e48f1f0ee868";
pub(crate) const DEEPSEEK_NEW: &str = "sk-0123456789abcdef0123456789abcdef";
const SENDGRID: &str = "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";
const NPM: &str = "npm_69LEsLHWAvJEui2InbgTYRQX6FzRjmgemOKJ";
const ANTHROPIC: &str =
    "sk-ant-api03-J2E8Db6ZE1Ec5UwHHhC6pyZYVPOcVo_tFtDeTRnmFjuDB4pJ0Y-A4w_PvTnBQiuG7W1p9SveqBe-7LOGHYZqhilCMxwjYAA";
const OPENAI: &str = "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";
const AWS_ID: &str = "AKIAIXXAFLSBSD4C63FY";
const AWS_SECRET: &str = "yiejYd62EaHJTl8mc/S5foWmsMjFNIcQf1r10KwXYDg1";

/// One finding of a hand-written report: rule, secret, verification status.
pub(crate) struct Found<'a>(pub &'a str, pub &'a str, pub Option<&'a str>);

/// Writes a keyhound JSON report (as `--format json --show-secrets --verify` does) into the tree.
pub(crate) fn report(tree: &Tree, found: &[Found<'_>]) -> PathBuf {
    let findings: Vec<Value> = found
        .iter()
        .enumerate()
        .map(|(index, Found(rule, secret, status))| {
            let mut finding = json!({
                "rule_id": rule, "path": "app/config.env", "line": index + 1, "column": 1,
                "secret": secret, "fingerprint": fingerprint(&format!("{rule}-{index}")),
            });
            if let Some(status) = status {
                finding["verification"] =
                    json!({ "status": status, "details": { "balance": "110.00", "currency": "CNY" } });
            }
            finding
        })
        .collect();
    tree.write("findings.json", json!({ "findings": findings }).to_string())
}

/// A well-formed fingerprint (32 hex digits) derived from `seed`.
pub(crate) fn fingerprint(seed: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(seed.as_bytes())[..16].iter().map(|byte| format!("{byte:02x}")).collect()
}

pub(crate) struct Run {
    pub code: i32,
    pub stderr: String,
    pub stdout: String,
}

pub(crate) fn rotate(tree: &Tree, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = keyhound();
    command.current_dir(tree.path()).arg("rotate").arg("findings.json").args(args);
    for variable in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "OPENAI_ADMIN_KEY",
        "ANTHROPIC_ADMIN_KEY",
        "SENDGRID_MANAGEMENT_KEY",
        "KEYHOUND_NEW_KEY_DEEPSEEK",
        "KEYHOUND_DEEPSEEK_ADMIN_KEY",
        "VAULT_ADDR",
        "VAULT_TOKEN",
        "OKTA_ORG_URL",
        "TAILSCALE_API_KEY",
        "CLOUDFLARE_API_TOKEN",
        "MAPBOX_ACCESS_TOKEN",
        "GOOGLE_OAUTH_ACCESS_TOKEN",
        "DD_APP_KEY",
        "GITHUB_TOKEN",
        "GITHUB_REPOSITORY",
    ] {
        command.env_remove(variable);
    }
    command.envs(env.iter().copied());
    let output = command.output().unwrap();
    Run {
        code: output.status.code().unwrap(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
    }
}

pub(crate) fn audit(tree: &Tree) -> Vec<Value> {
    let text = std::fs::read_to_string(tree.path().join(".keyhound/audit.jsonl")).unwrap_or_default();
    text.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

pub(crate) fn state(tree: &Tree) -> Value {
    let text = std::fs::read_to_string(tree.path().join(".keyhound/rotate-state.json")).unwrap_or("{}".into());
    serde_json::from_str(&text).unwrap()
}

/// Asserts that none of `secrets` appears in the output or the audit trail.
pub(crate) fn assert_never_printed(tree: &Tree, run: &Run, secrets: &[&str]) {
    let trail = std::fs::read_to_string(tree.path().join(".keyhound/audit.jsonl")).unwrap_or_default();
    let state = std::fs::read_to_string(tree.path().join(".keyhound/rotate-state.json")).unwrap_or_default();
    for secret in secrets {
        for (name, text) in [("stderr", &run.stderr), ("stdout", &run.stdout), ("audit", &trail), ("state", &state)] {
            assert!(!text.contains(secret), "{name} holds a full key:\n{text}");
        }
    }
}

pub(crate) fn steps(tree: &Tree) -> Vec<(String, String)> {
    audit(tree)
        .iter()
        .map(|record| (record["step"].as_str().unwrap().to_string(), record["outcome"].as_str().unwrap().to_string()))
        .collect()
}

pub(crate) fn pair(step: &str, outcome: &str) -> (String, String) {
    (step.to_string(), outcome.to_string())
}

fn starts(seen: &Seen, prefix: &str) -> bool {
    seen.line.starts_with(prefix)
}

/// GitHub: revocation accepted (202), and the token then answers 401.
fn github_mock() -> MockProvider {
    MockProvider::with_handler(|seen| match seen.line.as_str() {
        "POST /credentials/revoke" => Answer::json(202, "{}"),
        "GET /user" => Answer::json(401, r#"{"message": "Bad credentials"}"#),
        _ => Answer::json(404, "{}"),
    })
}

#[test]
fn github_tokens_are_revoked_in_one_unauthenticated_batch_then_confirmed_dead_and_a_rerun_does_nothing() {
    let mock = github_mock();
    let tree = Tree::new();
    report(&tree, &[Found("github-pat", GHP_1, Some("live")), Found("github-pat", GHP_2, Some("live"))]);
    let endpoint = format!("github={}", mock.url);
    let run = rotate(&tree, &["--yes", "--endpoint", &endpoint], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let revokes: Vec<Seen> = mock.seen().into_iter().filter(|seen| starts(seen, "POST /credentials/revoke")).collect();
    assert_eq!(revokes.len(), 1, "one batch for both tokens");
    let body: Value = serde_json::from_str(&revokes[0].body).unwrap();
    assert_eq!(body["credentials"], json!([GHP_1, GHP_2]));
    assert_eq!(revokes[0].header("authorization"), None, "GitHub's revocation API refuses authenticated calls");
    assert_eq!(state(&tree)[&fingerprint("github-pat-0")]["progress"], "done");
    assert_eq!(state(&tree)[&fingerprint("github-pat-1")]["progress"], "done");
    assert!(run.stderr.contains("2 done, 0 pending, 0 failed"), "{}", run.stderr);
    assert_eq!(
        steps(&tree),
        [pair("revoke", "ok"), pair("confirm", "ok"), pair("revoke", "ok"), pair("confirm", "ok")]
    );
    assert_never_printed(&tree, &run, &[GHP_1, GHP_2]);
    let record = &audit(&tree)[0];
    assert_eq!(record["secret"], "ghp_*****");
    assert!(record["time"].as_str().unwrap().ends_with('Z') && !record["user"].as_str().unwrap().is_empty());

    let requests = mock.seen().len();
    let again = rotate(&tree, &["--yes", "--endpoint", &endpoint], &[]);
    assert_eq!(again.code, 0);
    assert_eq!(mock.seen().len(), requests, "a second run sends nothing");
    assert!(again.stderr.contains("already done"), "{}", again.stderr);
    assert_eq!(audit(&tree).len(), 4, "a second run audits nothing new");
}

#[test]
fn the_dry_run_sends_nothing_and_writes_nothing_but_says_what_would_happen() {
    let mock = github_mock();
    let tree = Tree::new();
    report(&tree, &[Found("github-pat", GHP_1, Some("live")), Found("deepseek-api-key", DEEPSEEK_OLD, Some("live"))]);
    let run = rotate(&tree, &["--endpoint", &format!("github={}", mock.url)], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(mock.seen().is_empty(), "the dry run sent {:?}", mock.seen());
    assert!(!tree.path().join(".keyhound").exists(), "the dry run wrote state or audit files");
    assert!(run.stderr.contains("would revoke through GitHub's credential-revocation API"), "{}", run.stderr);
    assert!(
        run.stderr.contains("platform.deepseek.com") || run.stderr.contains("guided replacement"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("2 key(s) would be acted on") && run.stderr.contains("add --yes"), "{}", run.stderr);
    assert_never_printed(&tree, &run, &[GHP_1, DEEPSEEK_OLD]);
}

#[test]
fn a_failed_revocation_is_reported_audited_exits_3_and_is_retried_next_time() {
    let tree = Tree::new();
    report(&tree, &[Found("github-pat", GHP_1, Some("live"))]);
    let failing = MockProvider::start(vec![Answer::json(422, r#"{"message": "Validation Failed"}"#)]);
    let run = rotate(&tree, &["--yes", "--endpoint", &format!("github={}", failing.url)], &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("FAILED") && run.stderr.contains("422") && run.stderr.contains("Validation Failed"));
    assert_eq!(steps(&tree), [pair("revoke", "failed")]);
    assert!(state(&tree).get("github-pat-0").is_none(), "a failure is not recorded as done");

    let working = github_mock();
    let retry = rotate(&tree, &["--yes", "--endpoint", &format!("github={}", working.url)], &[]);
    assert_eq!(retry.code, 0, "{}", retry.stderr);
    assert_eq!(state(&tree)[&fingerprint("github-pat-0")]["progress"], "done");
}

#[test]
fn only_keys_verified_live_are_touched_unless_forced_and_redacted_reports_are_refused() {
    let mock = github_mock();
    let tree = Tree::new();
    report(
        &tree,
        &[
            Found("github-pat", GHP_1, Some("dead")),
            Found("github-pat", GHP_2, None),
            Found("slack-bot-token", "xoxb-9035*****", Some("live")),
        ],
    );
    let endpoint = format!("github={}", mock.url);
    let run = rotate(&tree, &["--yes", "--endpoint", &endpoint], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(mock.seen().is_empty());
    assert!(run.stderr.contains("not verified live (dead)"), "{}", run.stderr);
    assert!(run.stderr.contains("not verified live (not verified)"), "{}", run.stderr);
    assert!(run.stderr.contains("redacted secret: write it with --show-secrets"), "{}", run.stderr);

    let forced = rotate(&tree, &["--yes", "--force-unverified", "--endpoint", &endpoint], &[]);
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert_eq!(state(&tree)[&fingerprint("github-pat-0")]["progress"], "done");
    assert_eq!(state(&tree)[&fingerprint("github-pat-1")]["progress"], "done");
}

#[test]
fn gitlab_rotation_delivers_the_new_token_to_the_env_file_and_never_prints_it() {
    let mock = MockProvider::with_handler(|seen| {
        let token = seen.header("private-token").unwrap_or_default().to_string();
        match (seen.line.as_str(), token.as_str()) {
            ("POST /api/v4/personal_access_tokens/self/rotate", GLPAT) => Answer::json(
                200,
                &json!({ "id": 42, "token": GLPAT_NEW, "expires_at": "2026-12-01", "active": true }).to_string(),
            ),
            ("GET /api/v4/personal_access_tokens/self", GLPAT_NEW) => {
                Answer::json(200, r#"{"id": 42, "active": true}"#)
            }
            ("GET /api/v4/personal_access_tokens/self", _) => Answer::json(401, r#"{"message": "401 Unauthorized"}"#),
            _ => Answer::json(404, "{}"),
        }
    });
    let tree = Tree::new();
    report(&tree, &[Found("gitlab-pat", GLPAT, Some("live"))]);
    tree.write("deploy/.env", format!("# deploy\nGITLAB_TOKEN={GLPAT}\nOTHER=1\n"));
    let endpoint = format!("gitlab={}", mock.url);

    let without_delivery = rotate(&tree, &["--yes", "--endpoint", &endpoint], &[]);
    assert!(without_delivery.stderr.contains("with nowhere to put it"), "{}", without_delivery.stderr);
    assert!(mock.seen().is_empty(), "a token must not be rotated when its replacement cannot be stored");

    let run = rotate(&tree, &["--yes", "--endpoint", &endpoint, "--deliver-env", "deploy/.env"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let env = std::fs::read_to_string(tree.path().join("deploy/.env")).unwrap();
    assert_eq!(env, format!("# deploy\nGITLAB_TOKEN={GLPAT_NEW}\nOTHER=1\n"));
    assert_eq!(steps(&tree), [pair("rotate", "ok"), pair("deliver", "ok"), pair("confirm", "ok")]);
    assert_eq!(audit(&tree)[0]["new_key_id"], "42");
    assert_eq!(state(&tree)[&fingerprint("gitlab-pat-0")]["new_key_id"], "42");
    let rotations = mock.seen().iter().filter(|seen| starts(seen, "POST")).count();
    assert_eq!(rotations, 1, "a GitLab rotation is never retried");
    assert_never_printed(&tree, &run, &[GLPAT, GLPAT_NEW]);
}

#[test]
fn slack_npm_and_sendgrid_keys_revoke_themselves() {
    let revoked = Arc::new(AtomicBool::new(false));
    let mock = {
        let revoked = revoked.clone();
        MockProvider::with_handler(move |seen| match seen.line.as_str() {
            "POST /auth.revoke" => {
                revoked.store(true, Ordering::SeqCst);
                Answer::json(200, r#"{"ok": true, "revoked": true}"#)
            }
            "GET /auth.test" => Answer::json(200, r#"{"ok": false, "error": "invalid_auth"}"#),
            line if line.starts_with("DELETE /-/npm/v1/tokens/token/") => Answer::json(204, ""),
            "GET /-/whoami" => Answer::json(401, "{}"),
            "DELETE /v3/api_keys/WltKWM8ajMZAFpnypzDx9V" => Answer::json(204, ""),
            "GET /v3/scopes" => Answer::json(401, "{}"),
            _ => Answer::json(404, "{}"),
        })
    };
    let tree = Tree::new();
    report(
        &tree,
        &[
            Found("slack-bot-token", SLACK, Some("live")),
            Found("npm-access-token", NPM, Some("live")),
            Found("sendgrid-api-key", SENDGRID, Some("live")),
        ],
    );
    let mut args = vec!["--yes".to_string()];
    for provider in ["slack", "npm", "sendgrid"] {
        args.extend(["--endpoint".to_string(), format!("{provider}={}", mock.url)]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = rotate(&tree, &args, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(revoked.load(Ordering::SeqCst));
    let seen = mock.seen();
    let slack = seen.iter().find(|seen| starts(seen, "POST /auth.revoke")).unwrap();
    assert_eq!(slack.header("authorization"), Some(format!("Bearer {SLACK}").as_str()));
    assert!(seen.iter().any(|seen| seen.line == "DELETE /v3/api_keys/WltKWM8ajMZAFpnypzDx9V"));
    assert!(seen.iter().any(|seen| seen.line == format!("DELETE /-/npm/v1/tokens/token/{NPM}")));
    for rule in ["slack-bot-token-0", "npm-access-token-1", "sendgrid-api-key-2"] {
        assert_eq!(state(&tree)[&fingerprint(rule)]["progress"], "done", "{rule}: {}", run.stderr);
    }
    assert_never_printed(&tree, &run, &[SLACK, SENDGRID, NPM]);
}

#[test]
fn the_exec_action_gets_the_secret_only_on_stdin_and_its_reply_is_audited() {
    let mock = MockProvider::start(vec![Answer::json(401, "{}")]);
    let tree = Tree::new();
    tree.write("acme.toml", ACME_RULES);
    report(&tree, &[Found("test-token", "tok_abcdef0123456789", Some("live"))]);
    let script = tree.write("rotate-acme.sh", "#!/bin/sh\ncat > received.json\necho '{\"new_key_id\": \"acme-99\"}'\n");
    let command = format!("sh {} --rotate", script.display());
    let run = rotate(
        &tree,
        &[
            "--yes",
            "--config",
            "acme.toml",
            "--exec",
            &command,
            "--endpoint",
            &format!("acme={}", mock.url),
            "--allow-custom-verify",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let received: Value =
        serde_json::from_str(&std::fs::read_to_string(tree.path().join("received.json")).unwrap()).unwrap();
    assert_eq!(received["secret"], "tok_abcdef0123456789");
    assert_eq!(received["finding"]["rule"], "test-token");
    assert_eq!(received["finding"]["secret"], "tok_*****");
    assert_eq!(state(&tree)[&fingerprint("test-token-0")]["progress"], "done");
    assert_eq!(audit(&tree)[0]["action"], "exec");

    let failing = Tree::new();
    failing.write("acme.toml", std::fs::read_to_string(tree.path().join("acme.toml")).unwrap());
    report(&failing, &[Found("test-token", "tok_abcdef0123456789", Some("live"))]);
    let run = rotate(&failing, &["--yes", "--config", "acme.toml", "--exec", "echo 'no such key' >&2; exit 7"], &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("exit status: 7") && run.stderr.contains("no such key"), "{}", run.stderr);
    assert_eq!(steps(&failing), [pair("exec", "failed")]);
}

#[test]
fn openai_and_anthropic_keys_are_found_by_their_hint_and_retired_with_the_admin_key() {
    let openai_hint = format!("{}...{}", &OPENAI[..12], &OPENAI[OPENAI.len() - 4..]);
    let anthropic_hint = format!("{}...{}", &ANTHROPIC[..16], &ANTHROPIC[ANTHROPIC.len() - 4..]);
    let mock = MockProvider::with_handler(move |seen| {
        let admin = seen.header("authorization") == Some("Bearer openai-admin")
            || seen.header("x-api-key") == Some("anthropic-admin");
        match seen.line.as_str() {
            _ if !admin => Answer::json(401, r#"{"error": {"code": "invalid_api_key", "type": "authentication_error"}}"#),
            "GET /v1/organization/projects?limit=100" => {
                Answer::json(200, r#"{"data": [{"id": "proj_a"}], "has_more": true, "last_id": "proj_a"}"#)
            }
            "GET /v1/organization/projects?limit=100&after=proj_a" => {
                Answer::json(200, r#"{"data": [{"id": "proj_b"}], "has_more": false, "last_id": "proj_b"}"#)
            }
            "GET /v1/organization/projects/proj_a/api_keys?limit=100" => {
                Answer::json(200, r#"{"data": [{"id": "key_other", "redacted_value": "sk-proj-zzzz...zzzz"}], "has_more": false}"#)
            }
            "GET /v1/organization/projects/proj_b/api_keys?limit=100" => Answer::json(
                200,
                &json!({ "data": [{ "id": "key_leaked", "redacted_value": openai_hint }], "has_more": false }).to_string(),
            ),
            "DELETE /v1/organization/projects/proj_b/api_keys/key_leaked" => Answer::json(200, r#"{"deleted": true}"#),
            "GET /v1/organizations/api_keys?limit=1000" => Answer::json(
                200,
                &json!({ "data": [{ "id": "apikey_01", "partial_key_hint": anthropic_hint, "status": "active" }], "has_more": false })
                    .to_string(),
            ),
            "POST /v1/organizations/api_keys/apikey_01" if seen.body.contains("inactive") => Answer::json(200, "{}"),
            _ => Answer::json(404, "{}"),
        }
    });
    let tree = Tree::new();
    report(
        &tree,
        &[Found("openai-project-key", OPENAI, Some("live")), Found("anthropic-api-key", ANTHROPIC, Some("live"))],
    );
    let openai = format!("openai={}", mock.url);
    let anthropic = format!("anthropic={}", mock.url);
    let no_admin = rotate(&tree, &["--yes", "--endpoint", &openai, "--endpoint", &anthropic], &[]);
    assert_eq!(no_admin.code, 3);
    assert!(
        no_admin.stderr.contains("set OPENAI_ADMIN_KEY") && no_admin.stderr.contains("platform.openai.com"),
        "{}",
        no_admin.stderr
    );

    let env = [("OPENAI_ADMIN_KEY", "openai-admin"), ("ANTHROPIC_ADMIN_KEY", "anthropic-admin")];
    let run = rotate(&tree, &["--yes", "--endpoint", &openai, "--endpoint", &anthropic], &env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let seen: Vec<String> = mock.seen().into_iter().map(|seen| seen.line).collect();
    assert!(seen.contains(&"DELETE /v1/organization/projects/proj_b/api_keys/key_leaked".to_string()), "{seen:?}");
    assert!(!seen.iter().any(|line| line.contains("key_other") && line.starts_with("DELETE")));
    assert!(seen.contains(&"POST /v1/organizations/api_keys/apikey_01".to_string()), "{seen:?}");
    assert_eq!(state(&tree)[&fingerprint("openai-project-key-0")]["progress"], "done");
    assert_eq!(state(&tree)[&fingerprint("anthropic-api-key-1")]["progress"], "done");
    assert_never_printed(&tree, &run, &[OPENAI, ANTHROPIC, "openai-admin", "anthropic-admin"]);
}

#[test]
fn aws_keys_are_set_inactive_with_management_credentials_for_the_user_verification_named() {
    let mock = MockProvider::with_handler(|seen| {
        if seen.body.contains("Action=UpdateAccessKey") {
            Answer::json(200, "<UpdateAccessKeyResponse><ResponseMetadata/></UpdateAccessKeyResponse>")
        } else {
            Answer::json(403, "<ErrorResponse><Error><Code>InvalidClientTokenId</Code></Error></ErrorResponse>")
        }
    });
    let tree = Tree::new();
    let findings = json!({ "findings": [
        { "rule_id": "aws-access-key-id", "path": "cfg/credentials", "line": 2, "secret": AWS_ID, "fingerprint": fingerprint("id-0") },
        { "rule_id": "aws-secret-access-key", "path": "cfg/credentials", "line": 3, "secret": AWS_SECRET, "fingerprint": fingerprint("aws-0"),
          "verification": { "status": "live", "details": { "arn": "arn:aws:iam::123456789012:user/ci/deployer" } } },
    ]});
    tree.write("findings.json", findings.to_string());
    let endpoints = ["--endpoint", &format!("aws-iam={}", mock.url), "--endpoint", &format!("aws={}", mock.url)];
    let env = [("AWS_ACCESS_KEY_ID", "AKIAMANAGEMENT000000"), ("AWS_SECRET_ACCESS_KEY", "management-secret")];
    let run = rotate(&tree, &[&["--yes"][..], &endpoints[..]].concat(), &env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let update = mock.seen().into_iter().find(|seen| seen.body.contains("UpdateAccessKey")).unwrap();
    assert!(update.body.contains(&format!("AccessKeyId={AWS_ID}")) && update.body.contains("Status=Inactive"));
    assert!(update.body.contains("UserName=deployer"), "{}", update.body);
    let authorization = update.header("authorization").unwrap();
    assert!(
        authorization.contains("Credential=AKIAMANAGEMENT000000/")
            && authorization.contains("/us-east-1/iam/aws4_request")
    );
    assert_eq!(state(&tree)[&fingerprint("aws-0")]["progress"], "done");
    assert!(state(&tree).get("id-0").is_none(), "the key id alone is not a rotation target");
    assert_never_printed(&tree, &run, &[AWS_SECRET, "management-secret"]);
}

#[test]
fn scan_verify_rotate_yes_finds_verifies_and_revokes_in_one_go() {
    let revoked = Arc::new(AtomicBool::new(false));
    let mock = {
        let revoked = revoked.clone();
        MockProvider::with_handler(move |seen| match seen.line.as_str() {
            "POST /credentials/revoke" => {
                revoked.store(true, Ordering::SeqCst);
                Answer::json(202, "{}")
            }
            "GET /user" if !revoked.load(Ordering::SeqCst) => Answer::json(200, r#"{"login": "octocat"}"#),
            "GET /user" => Answer::json(401, "{}"),
            _ => Answer::json(404, "{}"),
        })
    };
    let tree = Tree::new();
    tree.write("src/deploy.sh", format!("export GITHUB_TOKEN={GHP_1}\n"));
    let output = keyhound()
        .current_dir(tree.path())
        .args(["scan", "src", "--no-config", "--verify", "--rotate", "--yes", "--format", "json"])
        .args(["--endpoint", &format!("github={}", mock.url)])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(revoked.load(Ordering::SeqCst), "{stderr}");
    assert!(stderr.contains("1 done, 0 pending, 0 failed"), "{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["findings"][0]["verification"]["status"], "live");
    assert!(!String::from_utf8_lossy(&output.stdout).contains(GHP_1) && !stderr.contains(GHP_1));
    assert_eq!(steps(&tree), [pair("revoke", "ok"), pair("confirm", "ok")]);
}

#[test]
fn bad_rotation_flags_are_usage_errors_naming_the_flag() {
    let tree = Tree::new();
    report(&tree, &[Found("github-pat", GHP_1, Some("live"))]);
    let run = rotate(&tree, &["--deliver-vault", "secret"], &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--deliver-vault") && run.stderr.contains("MOUNT/PATH"), "{}", run.stderr);
    tree.write("rotate.toml", "[gateway.deepseek]\nbase_url = \"ftp://x\"\n");
    let run = rotate(&tree, &["--rotate-config", "rotate.toml"], &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("rotate.toml"), "{}", run.stderr);
    let missing = keyhound().current_dir(tree.path()).args(["rotate", "nope.json"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.json"));
}
