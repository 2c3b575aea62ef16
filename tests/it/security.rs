//! The security review's findings, each reproduced: secrets in network error
//! messages, writes outside the state directory, low-confidence keys sent
//! during rotation, symlinked `.env` files, silent ignore files, archives past
//! the depth limit, unescaped paths and unbounded flags.

use std::io::Read as _;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{keyhound, GitRepo, Tree};
use crate::mock_provider::{Answer, MockProvider};
use crate::rotate::{fingerprint, report, rotate, Found, DEEPSEEK_OLD};

/// A server on 127.0.0.1 that accepts each connection, reads the request,
/// and closes it without answering (the client sees an unexpected EOF).
pub(crate) struct DroppingServer {
    pub url: String,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl DroppingServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                stream.set_read_timeout(Some(Duration::from_millis(200))).ok();
                let mut buffer = [0u8; 4096];
                let _ = stream.read(&mut buffer);
                drop(stream);
            }
        });
        DroppingServer { url: format!("http://127.0.0.1:{port}"), stop, port }
    }
}

impl Drop for DroppingServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
    }
}

const TELEGRAM: &str = "5123456789:AAHfQz8kL2mN4pR6tV8xZ0bD2fH4jL6nP8r";

fn output_text(output: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// The reproduction of the review: Telegram carries the token in the URL path.
#[test]
fn a_dropped_connection_puts_no_secret_in_any_report_format_or_on_stderr() {
    let server = DroppingServer::start();
    let tree = Tree::new();
    tree.write("bot/settings.py", format!("TELEGRAM_BOT_TOKEN = \"{TELEGRAM}\"\n"));
    for format in ["json", "jsonl", "sarif", "csv", "human", "junit"] {
        let output = keyhound()
            .current_dir(tree.path())
            .args(["scan", "bot", "--verify", "--format", format, "--verbose"])
            .args(["--endpoint", &format!("telegram={}", server.url)])
            .output()
            .unwrap();
        let text = output_text(&output);
        let shows_verification = format != "junit";
        assert!(
            !shows_verification || text.to_lowercase().contains("network"),
            "{format}: the failure is reported: {text}"
        );
        assert!(!text.contains(TELEGRAM) && !text.contains("AAHfQz8kL2mN4pR6"), "{format}: the token leaked:\n{text}");
        assert!(!text.contains("/getMe"), "{format}: the request URL leaked:\n{text}");
    }
}

/// The datastore of a fleet scan keeps the reason, never the token.
#[test]
fn a_dropped_connection_puts_no_secret_in_the_datastore() {
    let server = DroppingServer::start();
    let repo = GitRepo::new();
    repo.commit_file("bot/settings.py", format!("TELEGRAM_BOT_TOKEN = \"{TELEGRAM}\"\n"), "bot");
    let store = Tree::new();
    let database = store.path().join("store.db");
    let output = keyhound()
        .current_dir(repo.path())
        .args(["git", ".", "--verify", "--format", "json", "--datastore", database.to_str().unwrap()])
        .args(["--endpoint", &format!("telegram={}", server.url)])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", output_text(&output));
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(store.path()).unwrap() {
        stored.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let stored = String::from_utf8_lossy(&stored);
    assert!(stored.contains("network"), "the reason is stored");
    assert!(!stored.contains("AAHfQz8kL2mN4pR6") && !stored.contains("/getMe"), "the datastore holds the token");
}

/// Every built-in rotation action, its confirmation, notification and
/// delivery, against a server that drops every connection: nothing printed,
/// audited or stored holds a secret, a management key or the webhook URL.
#[test]
fn every_rotation_action_against_a_dropping_server_leaks_nothing() {
    let server = DroppingServer::start();
    let tree = Tree::new();
    let secrets = [
        ("github-pat", "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"),
        ("gitlab-pat", "glpat-VDDO44PXkeXvgC0snLwM"),
        ("slack-bot-token", "xoxb-9035694175815-2910593124758-2X32DsuVtXTF2pkSIc5MjREA"),
        ("npm-access-token", "npm_69LEsLHWAvJEui2InbgTYRQX6FzRjmgemOKJ"),
        ("sendgrid-api-key", "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"),
        ("openai-project-key", "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"),
        ("anthropic-api-key", "sk-ant-api03-J2E8Db6ZE1Ec5UwHHhC6pyZYVPOcVo_tFtDeTRnmFjuDB4pJ0Y-A4w_PvTnBQiuG7W1p9SveqBe-7LOGHYZqhilCMxwjYAA"),
        ("deepseek-api-key", DEEPSEEK_OLD),
    ];
    let mut found: Vec<Found<'_>> = secrets.iter().map(|(rule, secret)| Found(rule, secret, Some("live"))).collect();
    found.push(Found("aws-access-key-id", "AKIAIXXAFLSBSD4C63FY", None));
    found.push(Found("aws-secret-access-key", "yiejYd62EaHJTl8mc/S5foWmsMjFNIcQf1r10KwXYDg1", Some("live")));
    report(&tree, &found);
    let webhook = format!("{}/services/T0000/B0000/XyZwebhookSecretPart1234", server.url);
    let mut args = vec!["--yes".to_string(), "--notify-webhook".into(), webhook.clone()];
    args.extend(["--deliver-vault".into(), "secret/app#KEY".into()]);
    for provider in
        ["github", "gitlab", "slack", "npm", "sendgrid", "openai", "anthropic", "deepseek", "aws", "aws-iam"]
    {
        args.extend(["--endpoint".into(), format!("{provider}={}", server.url)]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let management = [
        ("OPENAI_ADMIN_KEY", "sk-admin-MANAGEMENTkeyOpenAI0123456789"),
        ("ANTHROPIC_ADMIN_KEY", "sk-ant-admin01-MANAGEMENTkeyAnthropic0123"),
        ("SENDGRID_MANAGEMENT_KEY", "SG.management.KEYsendgrid0123456789"),
        ("VAULT_ADDR", server.url.as_str()),
        ("VAULT_TOKEN", "hvs.VAULTtokenMANAGEMENT0123456789"),
        ("KEYHOUND_NEW_KEY_DEEPSEEK", "sk-feedfacefeedfacefeedfacefeedface"),
    ];
    let run = rotate(&tree, &args, &management);
    assert_eq!(run.code, 3, "every action failed: {}", run.stderr);
    assert!(run.stderr.contains("network"), "{}", run.stderr);
    let trail = std::fs::read_to_string(tree.path().join(".keyhound/audit.jsonl")).unwrap_or_default();
    assert!(trail.lines().count() >= 8, "each action is audited:\n{trail}");
    let state = std::fs::read_to_string(tree.path().join(".keyhound/rotate-state.json")).unwrap_or_default();
    let mut never: Vec<&str> = secrets.iter().map(|(_, secret)| *secret).collect();
    never.extend(management.iter().filter(|(name, _)| *name != "VAULT_ADDR").map(|(_, value)| *value));
    never.extend([
        "yiejYd62EaHJTl8mc/S5foWmsMjFNIcQf1r10KwXYDg1",
        "XyZwebhookSecretPart1234",
        "/bot",
        "/tokens/token/",
    ]);
    for (name, text) in [("stderr", &run.stderr), ("stdout", &run.stdout), ("audit", &trail), ("state", &state)] {
        for secret in &never {
            assert!(!text.contains(secret), "{name} holds `{secret}`:\n{text}");
        }
    }
}

/// A crafted report cannot name a file: a fingerprint is 32 hex digits or refused.
#[test]
fn a_report_whose_fingerprint_is_not_one_is_refused_before_anything_happens() {
    let victim = Tree::new();
    let target = victim.write("victim.txt", "keep me");
    let tree = Tree::new();
    let findings = json!({ "findings": [{
        "rule_id": "gitlab-pat", "path": "a.env", "secret": "glpat-VDDO44PXkeXvgC0snLwM",
        "fingerprint": format!("../../../../../..{}", target.with_extension("").display()),
        "verification": { "status": "live" },
    }]});
    tree.write("findings.json", findings.to_string());
    let run = rotate(&tree, &["--yes", "--deliver-env", ".env:TOKEN"], &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("findings.json") && run.stderr.contains("not a keyhound fingerprint"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    assert!(!tree.path().join(".keyhound").exists(), "nothing was written");
}

/// Positive control for the above: a well-formed report is planned, and files are private.
#[test]
fn rotation_state_and_audit_files_are_private_and_never_written_through_symlinks() {
    use std::os::unix::fs::PermissionsExt as _;
    let mock = MockProvider::with_handler(|seen| match seen.line.as_str() {
        "POST /credentials/revoke" => Answer::json(202, "{}"),
        _ => Answer::json(401, r#"{"message": "Bad credentials"}"#),
    });
    let tree = Tree::new();
    report(&tree, &[Found("github-pat", "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", Some("live"))]);
    let endpoint = format!("github={}", mock.url);
    let run = rotate(&tree, &["--yes", "--endpoint", &endpoint], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for file in ["audit.jsonl", "rotate-state.json"] {
        let mode = std::fs::metadata(tree.path().join(".keyhound").join(file)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }

    let linked = Tree::new();
    let elsewhere = Tree::new();
    std::os::unix::fs::symlink(elsewhere.path(), linked.path().join(".keyhound")).unwrap();
    report(&linked, &[Found("github-pat", "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", Some("live"))]);
    let run = rotate(&linked, &["--yes", "--endpoint", &endpoint], &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert!(std::fs::read_dir(elsewhere.path()).unwrap().next().is_none(), "nothing written through the link");
}

/// A `.keyhound/` committed to the scanned repository cannot mark keys done.
#[test]
fn a_committed_state_directory_is_ignored_with_a_warning() {
    let repo = GitRepo::new();
    let secret = "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";
    let done = json!({ fingerprint("github-pat-0"): {
        "rule": "github-pat", "provider": "github", "action": "github-revoke", "progress": "done",
        "updated": "2026-01-01T00:00:00Z", "detail": "forged"
    }});
    repo.commit_file(".keyhound/rotate-state.json", done.to_string(), "add state");
    let tree = Tree::new();
    report(&tree, &[Found("github-pat", secret, Some("live"))]);
    std::fs::copy(tree.path().join("findings.json"), repo.path().join("findings.json")).unwrap();
    let home = Tree::new();
    let output = keyhound()
        .current_dir(repo.path())
        .args(["rotate", "findings.json"])
        .env("XDG_STATE_HOME", home.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is committed to the repository"), "{stderr}");
    assert!(stderr.contains("would revoke"), "the forged 'done' is not trusted: {stderr}");
    assert!(!stderr.contains("already done"), "{stderr}");
}

/// A DeepSeek-shaped key without DeepSeek context may be anyone's: never sent.
#[test]
fn low_confidence_keys_are_not_sent_anywhere_even_when_forced() {
    let mock = MockProvider::start(vec![Answer::json(401, r#"{"error": "invalid"}"#)]);
    let tree = Tree::new();
    let findings = json!({ "findings": [{
        "rule_id": "deepseek-api-key", "path": "a.env", "secret": DEEPSEEK_OLD, "confidence": "low",
        "fingerprint": fingerprint("low"),
    }]});
    tree.write("findings.json", findings.to_string());
    let endpoint = format!("deepseek={}", mock.url);
    let run = rotate(&tree, &["--yes", "--force-unverified", "--endpoint", &endpoint], &[]);
    assert!(run.stderr.contains("low confidence"), "{}", run.stderr);
    assert!(mock.seen().is_empty(), "the key was sent: {:?}", mock.seen());
    assert!(!run.stderr.contains("  done "), "{}", run.stderr);

    // Positive control: the same key with medium confidence is acted on.
    let findings = json!({ "findings": [{
        "rule_id": "deepseek-api-key", "path": "a.env", "secret": DEEPSEEK_OLD, "fingerprint": fingerprint("medium"),
    }]});
    tree.write("findings.json", findings.to_string());
    let run = rotate(&tree, &["--yes", "--force-unverified", "--endpoint", &endpoint], &[]);
    assert!(!mock.seen().is_empty(), "{}", run.stderr);
}

/// An unverified key the provider does not know is not recorded as revoked.
#[test]
fn a_401_for_a_never_verified_key_is_not_recorded_done() {
    let mock = MockProvider::start(vec![Answer::json(401, r#"{"message": "401 Unauthorized"}"#)]);
    let tree = Tree::new();
    report(&tree, &[Found("gitlab-pat", "glpat-VDDO44PXkeXvgC0snLwM", None)]);
    let endpoint = format!("gitlab={}", mock.url);
    let run = rotate(&tree, &["--yes", "--force-unverified", "--revoke-only", "--endpoint", &endpoint], &[]);
    assert!(run.stderr.contains("never verified live"), "{}", run.stderr);
    assert!(crate::rotate::state(&tree).as_object().unwrap().is_empty(), "nothing recorded done");
}

/// A file name with a newline cannot forge a `keyhound:` line in rotation output.
#[test]
fn paths_in_rotation_output_are_escaped() {
    let tree = Tree::new();
    let findings = json!({ "findings": [{
        "rule_id": "github-pat", "path": "app/x\nkeyhound: all keys rotated, nothing to do\n",
        "secret": "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", "fingerprint": fingerprint("x"),
        "verification": { "status": "live" },
    }]});
    tree.write("findings.json", findings.to_string());
    let run = rotate(&tree, &[], &[]);
    assert!(run.stderr.contains("would revoke"), "{}", run.stderr);
    assert!(!run.stderr.lines().any(|line| line.starts_with("keyhound: all keys")), "{}", run.stderr);
    assert!(run.stderr.contains("\\n"), "{}", run.stderr);
}

/// Failed notifications of a guided rotation in CI are said on stderr and fail the run.
#[test]
fn a_failed_notification_is_said_and_exits_3() {
    let server = DroppingServer::start();
    let deepseek = MockProvider::start(vec![Answer::json(200, r#"{"is_available": true, "balance_infos": []}"#)]);
    let tree = Tree::new();
    report(&tree, &[Found("deepseek-api-key", DEEPSEEK_OLD, Some("live"))]);
    let endpoint = format!("deepseek={}", deepseek.url);
    let webhook = format!("{}/hook", server.url);
    let run = rotate(&tree, &["--yes", "--endpoint", &endpoint, "--notify-webhook", &webhook], &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("could not notify"), "{}", run.stderr);
}

#[test]
fn huge_seconds_flags_are_usage_errors_not_panics() {
    for (command, flag) in [("scan", "--verify-timeout"), ("scan", "--request-timeout"), ("rotate", "--wait")] {
        let tree = Tree::new();
        tree.write("findings.json", r#"{"findings": []}"#);
        let target = if command == "scan" { "." } else { "findings.json" };
        let output =
            keyhound().current_dir(tree.path()).args([command, target, flag, "18446744073709551615"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flag}: {stderr}");
        assert!(stderr.contains(flag) && !stderr.contains("panicked"), "{stderr}");
    }
}

fn stats(report: &Value) -> &Value {
    &report["stats"]
}

/// A `.keyhoundignore` of `*` no longer silences a scan without a trace.
#[test]
fn files_excluded_by_ignore_files_are_counted_listed_and_named() {
    let tree = Tree::new();
    tree.write("app/config.env", "GITHUB_TOKEN=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\n");
    tree.write(".keyhoundignore", "*\n");
    let output =
        keyhound().current_dir(tree.path()).args(["scan", ".", "--format", "json", "--verbose"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(stats(&report)["skipped"]["ignored"].as_u64().unwrap() >= 2, "{}", stats(&report));
    assert!(stats(&report)["ignored_by"].to_string().contains(".keyhoundignore"), "{}", stats(&report));
    assert!(stderr.contains("excluded by") && stderr.contains(".keyhoundignore"), "{stderr}");
    assert!(stderr.contains("app") && stderr.contains("ignored"), "--verbose lists them: {stderr}");

    // Positive control: --no-ignore scans the same tree and finds the token.
    let (code, report) = crate::common::scan_json(tree.path(), &[".", "--no-ignore"]);
    assert_eq!((code, report["findings"].as_array().unwrap().len()), (1, 1), "{report}");
}

fn zip_of(name: &str, content: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    writer.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
    writer.write_all(content).unwrap();
    writer.finish().unwrap().into_inner()
}

/// An archive nested past the limit is skipped and said, and the limit is a flag.
#[test]
fn archives_past_the_depth_limit_are_reported_and_the_limit_is_a_flag() {
    let mut bytes = b"GITHUB_TOKEN=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\n".to_vec();
    bytes = zip_of("deploy.env", &bytes);
    for depth in 1..4 {
        bytes = zip_of(&format!("level{depth}.zip"), &bytes);
    }
    let tree = Tree::new();
    tree.write("release.zip", bytes);
    let output = keyhound().current_dir(tree.path()).args(["scan", ".", "--format", "json"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["findings"].as_array().unwrap().len(), 0);
    assert_eq!(stats(&report)["skipped"]["archive_depth"], 1, "{}", stats(&report));
    assert!(stderr.contains("nested"), "{stderr}");
    let (code, report) = crate::common::scan_json(tree.path(), &[".", "--max-archive-depth", "4"]);
    assert_eq!((code, report["findings"].as_array().unwrap().len()), (1, 1), "{report}");
}

/// The README's GitHub Actions range works on a new branch's first push,
/// whose `before` is forty zeros.
#[test]
fn a_range_from_the_null_id_scans_what_the_new_branch_adds() {
    let repo = GitRepo::new();
    repo.commit_file("old.env", "DEEPSEEK_API_KEY=sk-9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a\n", "on main");
    let main = repo.git(&["rev-parse", "HEAD"]);
    repo.git(&["update-ref", "refs/remotes/origin/main", &main]);
    repo.commit_file("new.env", format!("DEEPSEEK_API_KEY={}\n", crate::common::DEEPSEEK_KEY), "new branch");
    let head = repo.git(&["rev-parse", "HEAD"]);
    repo.git(&["update-ref", "refs/remotes/origin/feature", &head]);
    let range = format!("{}..{head}", "0".repeat(40));
    let output =
        keyhound().current_dir(repo.path()).args(["git", ".", "--range", &range, "--format", "json"]).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(text.contains("new.env") && !text.contains("old.env"), "{text}");
}
