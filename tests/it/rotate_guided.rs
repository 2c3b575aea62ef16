//! The guided rotation of keys without a key-management API (DeepSeek):
//! replacement checked and delivered (Vault, env file, exec), the old key
//! watched until it dies, notification and `--complete` in CI, the gateway
//! admin-API template, and the hidden prompt at a terminal.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use crate::common::Tree;
use crate::mock_provider::{Answer, MockProvider};
use crate::rotate::{
    assert_never_printed, fingerprint, pair, report, rotate, state, steps, Found, DEEPSEEK_NEW, DEEPSEEK_OLD,
};

/// A DeepSeek balance endpoint whose exposed key dies once Vault holds the replacement.
fn deepseek_and_vault_mock() -> (MockProvider, Arc<AtomicBool>) {
    let delivered = Arc::new(AtomicBool::new(false));
    let mock = {
        let delivered = delivered.clone();
        MockProvider::with_handler(move |seen| {
            let bearer = seen.header("authorization").unwrap_or_default().to_string();
            match seen.line.as_str() {
                "GET /user/balance" if bearer == format!("Bearer {DEEPSEEK_NEW}") => {
                    Answer::json(200, r#"{"is_available": true, "balance_infos": []}"#)
                }
                "GET /user/balance" if bearer == format!("Bearer {DEEPSEEK_OLD}") && !delivered.load(Ordering::SeqCst) => {
                    Answer::json(200, r#"{"is_available": true, "balance_infos": []}"#)
                }
                "GET /user/balance" => Answer::json(401, r#"{"error": {"message": "Authentication Fails"}}"#),
                "GET /v1/secret/data/apps/chat" => Answer::json(
                    200,
                    &json!({ "data": { "data": { "DEEPSEEK_API_KEY": DEEPSEEK_OLD, "MODE": "prod" }, "metadata": { "version": 3 } } })
                        .to_string(),
                ),
                "POST /v1/secret/data/apps/chat" => {
                    let body: Value = serde_json::from_str(&seen.body).unwrap();
                    let expected = json!({ "options": { "cas": 3 }, "data": { "DEEPSEEK_API_KEY": DEEPSEEK_NEW, "MODE": "prod" } });
                    if body == expected && seen.header("x-vault-token") == Some("vault-root") {
                        delivered.store(true, Ordering::SeqCst);
                        Answer::json(200, r#"{"data": {"version": 4}}"#)
                    } else {
                        Answer::json(400, r#"{"errors": ["unexpected write"]}"#)
                    }
                }
                "POST /hook" => Answer::json(200, "ok"),
                _ => Answer::json(404, "{}"),
            }
        })
    };
    (mock, delivered)
}

#[test]
fn deepseek_guided_flow_in_ci_checks_the_new_key_delivers_it_to_vault_and_waits_for_the_old_key_to_die() {
    let (mock, delivered) = deepseek_and_vault_mock();
    let tree = Tree::new();
    report(&tree, &[Found("deepseek-api-key", DEEPSEEK_OLD, Some("live"))]);
    let endpoint = format!("deepseek={}", mock.url);
    let args = [
        "--yes",
        "--endpoint",
        &endpoint,
        "--deliver-vault",
        "secret/apps/chat",
        "--wait",
        "5",
        "--poll-interval",
        "1",
    ];
    let env =
        [("KEYHOUND_NEW_KEY_DEEPSEEK", DEEPSEEK_NEW), ("VAULT_ADDR", mock.url.as_str()), ("VAULT_TOKEN", "vault-root")];
    let run = rotate(&tree, &args, &env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(delivered.load(Ordering::SeqCst), "Vault never received the replacement: {}", run.stderr);
    assert_eq!(steps(&tree), [pair("check-new", "ok"), pair("deliver", "ok"), pair("confirm", "ok")]);
    assert_eq!(state(&tree)[&fingerprint("deepseek-api-key-0")]["progress"], "done");
    assert!(
        run.stderr.contains("platform.deepseek.com/api_keys") && run.stderr.contains("110.00 CNY"),
        "{}",
        run.stderr
    );
    assert_never_printed(&tree, &run, &[DEEPSEEK_OLD, DEEPSEEK_NEW]);
}

#[test]
fn a_dead_replacement_key_is_never_delivered() {
    let (mock, delivered) = deepseek_and_vault_mock();
    let tree = Tree::new();
    report(&tree, &[Found("deepseek-api-key", DEEPSEEK_OLD, Some("live"))]);
    let endpoint = format!("deepseek={}", mock.url);
    let env = [
        ("KEYHOUND_NEW_KEY_DEEPSEEK", "sk-ffffffffffffffffffffffffffffffff"),
        ("VAULT_ADDR", mock.url.as_str()),
        ("VAULT_TOKEN", "vault-root"),
    ];
    let run = rotate(&tree, &["--yes", "--endpoint", &endpoint, "--deliver-vault", "secret/apps/chat"], &env);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("the replacement key is not live (dead): nothing was delivered"), "{}", run.stderr);
    assert!(!delivered.load(Ordering::SeqCst));
    assert!(!mock.seen().iter().any(|seen| seen.line.contains("secret/data")), "Vault was touched");
}

#[test]
fn deepseek_in_ci_without_a_replacement_notifies_then_completes_once_the_old_key_is_dead() {
    let (mock, delivered) = deepseek_and_vault_mock();
    let tree = Tree::new();
    report(&tree, &[Found("deepseek-api-key", DEEPSEEK_OLD, Some("live"))]);
    let endpoint = format!("deepseek={}", mock.url);
    let webhook = format!("{}/hook", mock.url);
    let notes = tree.path().join("notice.json");
    let notify_exec = format!("cat > {}", notes.display());
    let run = rotate(
        &tree,
        &["--yes", "--endpoint", &endpoint, "--notify-webhook", &webhook, "--notify-exec", &notify_exec],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(state(&tree)[&fingerprint("deepseek-api-key-0")]["progress"], "pending");
    let hook = mock.seen().into_iter().find(|seen| seen.line == "POST /hook").expect("the webhook was called");
    let payload: Value = serde_json::from_str(&hook.body).unwrap();
    assert!(payload["text"].as_str().unwrap().contains("platform.deepseek.com/api_keys"), "{payload}");
    assert_eq!(payload["keyhound"]["secret"], "sk-6*****");
    assert!(!hook.body.contains(DEEPSEEK_OLD), "the webhook received the key");
    let notice = std::fs::read_to_string(&notes).unwrap();
    assert!(notice.contains("\"event\":\"notify\"") && !notice.contains(DEEPSEEK_OLD), "{notice}");
    assert!(steps(&tree).contains(&pair("notify", "ok")));

    let early = rotate(&tree, &["--yes", "--endpoint", &endpoint], &[]);
    assert!(early.stderr.contains("pending since"), "{}", early.stderr);

    delivered.store(true, Ordering::SeqCst); // the owner deleted the key in the console
    let complete = rotate(&tree, &["--complete", "--yes", "--endpoint", &endpoint], &[]);
    assert_eq!(complete.code, 0, "{}", complete.stderr);
    assert_eq!(state(&tree)[&fingerprint("deepseek-api-key-0")]["progress"], "done");
    assert_eq!(steps(&tree).last(), Some(&pair("complete", "ok")));
    assert_never_printed(&tree, &complete, &[DEEPSEEK_OLD]);
}

/// A gateway admin API in front of DeepSeek, and its balance endpoint.
fn gateway_mock(deactivated: Arc<AtomicBool>) -> MockProvider {
    MockProvider::with_handler(move |seen| {
        let bearer = seen.header("authorization").unwrap_or_default().to_string();
        match seen.line.as_str() {
            "POST /admin/keys" if bearer == "Bearer gateway-admin" => {
                Answer::json(201, &json!({ "id": "key_77", "key": DEEPSEEK_NEW }).to_string())
            }
            "POST /admin/keys/deactivate" if bearer == "Bearer gateway-admin" => {
                let digest = <sha2::Sha256 as sha2::Digest>::digest(DEEPSEEK_OLD.as_bytes());
                let expected: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
                assert!(seen.body.contains(&expected), "{}", seen.body);
                deactivated.store(true, Ordering::SeqCst);
                Answer::json(200, "{}")
            }
            "GET /user/balance" if bearer == format!("Bearer {DEEPSEEK_NEW}") => Answer::json(200, "{}"),
            "GET /user/balance" if !deactivated.load(Ordering::SeqCst) => Answer::json(200, "{}"),
            "GET /user/balance" => Answer::json(401, "{}"),
            _ => Answer::json(404, "{}"),
        }
    })
}

fn gateway_config(tree: &Tree, url: &str, grace: &str) {
    tree.write(
        "rotate.toml",
        format!(
            r#"[gateway.deepseek]
base_url = "{url}"
grace = "{grace}"
[gateway.deepseek.create]
path = "/admin/keys"
body = '{{"name": "rotated-{{{{fingerprint}}}}"}}'
new_key = "/key"
new_key_id = "/id"
[gateway.deepseek.deactivate]
path = "/admin/keys/deactivate"
body = '{{"key_sha256": "{{{{secret_sha256}}}}"}}'
"#
        ),
    );
}

#[test]
fn a_deepseek_gateway_creates_delivers_then_deactivates_at_once_or_after_the_grace_period() {
    let deactivated = Arc::new(AtomicBool::new(false));
    let mock = gateway_mock(deactivated.clone());
    let tree = Tree::new();
    report(&tree, &[Found("deepseek-api-key", DEEPSEEK_OLD, Some("live"))]);
    tree.write("app.env", format!("DEEPSEEK_API_KEY={DEEPSEEK_OLD}\n"));
    gateway_config(&tree, &mock.url, "7d");
    let endpoint = format!("deepseek={}", mock.url);
    let args = [
        "--yes",
        "--endpoint",
        &endpoint,
        "--rotate-config",
        "rotate.toml",
        "--deliver-env",
        "app.env:DEEPSEEK_API_KEY",
    ];
    let env = [("KEYHOUND_DEEPSEEK_ADMIN_KEY", "gateway-admin")];
    let run = rotate(&tree, &args, &env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(tree.path().join("app.env")).unwrap(),
        format!("DEEPSEEK_API_KEY={DEEPSEEK_NEW}\n")
    );
    let entry = &state(&tree)[&fingerprint("deepseek-api-key-0")];
    assert_eq!(entry["progress"], "pending");
    assert_eq!(entry["new_key_id"], "key_77");
    assert!(entry["deactivate_after"].as_str().unwrap() > "2026", "{entry}");
    assert!(!deactivated.load(Ordering::SeqCst), "the old key must keep working during the grace period");
    let early =
        rotate(&tree, &["--complete", "--yes", "--endpoint", &endpoint, "--rotate-config", "rotate.toml"], &env);
    assert!(early.stderr.contains("grace period runs until"), "{}", early.stderr);
    assert!(!deactivated.load(Ordering::SeqCst));
    assert_never_printed(&tree, &run, &[DEEPSEEK_OLD, DEEPSEEK_NEW, "gateway-admin"]);

    // Without a grace period the old key is deactivated at once and confirmed dead.
    let tree = Tree::new();
    report(&tree, &[Found("deepseek-api-key", DEEPSEEK_OLD, Some("live"))]);
    tree.write("app.env", format!("DEEPSEEK_API_KEY={DEEPSEEK_OLD}\n"));
    gateway_config(&tree, &mock.url, "0");
    let run = rotate(&tree, &args, &env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(deactivated.load(Ordering::SeqCst));
    assert_eq!(state(&tree)[&fingerprint("deepseek-api-key-0")]["progress"], "done");
    assert_eq!(
        steps(&tree),
        [pair("rotate", "ok"), pair("deliver", "ok"), pair("deactivate", "ok"), pair("confirm", "ok")]
    );
}

/// A person at a terminal: the replacement is typed at a hidden prompt (run under
/// `script`, which gives keyhound a pseudo-terminal), never echoed.
#[test]
fn deepseek_guided_flow_at_a_terminal_reads_the_replacement_without_echo() {
    use std::io::{Read as _, Write as _};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let (mock, delivered) = deepseek_and_vault_mock();
    let tree = Tree::new();
    report(&tree, &[Found("deepseek-api-key", DEEPSEEK_OLD, Some("live"))]);
    tree.write(".env", format!("DEEPSEEK_API_KEY={DEEPSEEK_OLD}\n"));
    let binary = assert_cmd::cargo::cargo_bin("keyhound");
    let command = format!(
        "{} rotate findings.json --yes --endpoint deepseek={} --deliver-env .env --deliver-exec 'touch delivered' --poll-interval 1",
        binary.display(),
        mock.url
    );
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(tree.path())
        .env("NO_COLOR", "1")
        .env_remove("KEYHOUND_NEW_KEY_DEEPSEEK")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("`script` (util-linux) runs keyhound on a pseudo-terminal");
    let output = Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let (output, mut stdout) = (output.clone(), child.stdout.take().unwrap());
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(read @ 1..) = stdout.read(&mut buffer) {
                output.lock().unwrap().push_str(&String::from_utf8_lossy(&buffer[..read]));
            }
        })
    };
    let wait_for = |text: &str| {
        let started = Instant::now();
        while !output.lock().unwrap().contains(text) {
            assert!(started.elapsed() < Duration::from_secs(30), "no `{text}` in:\n{}", output.lock().unwrap());
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let mut stdin = child.stdin.take().unwrap();
    wait_for("Paste the replacement key");
    std::thread::sleep(Duration::from_millis(200)); // echo is off once the prompt is shown
    stdin.write_all(format!("{DEEPSEEK_NEW}\n").as_bytes()).unwrap();
    wait_for("then press Enter");
    std::thread::sleep(Duration::from_millis(200));
    delivered.store(true, Ordering::SeqCst); // the person deleted the old key in the console
    stdin.write_all(b"\n").unwrap();
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let output = output.lock().unwrap().clone();
    assert!(status.success(), "{output}");
    assert!(output.contains("1 done"), "{output}");
    assert!(!output.contains(DEEPSEEK_NEW), "the replacement was echoed:\n{output}");
    assert_eq!(
        std::fs::read_to_string(tree.path().join(".env")).unwrap(),
        format!("DEEPSEEK_API_KEY={DEEPSEEK_NEW}\n")
    );
    assert!(tree.path().join("delivered").exists(), "the exec delivery did not run");
}

/// Every provider keyhound verifies through its API has a rotation: its own
/// API, or the guided flow with the console where its keys are managed. The
/// dry run plans one for each, sends nothing and writes nothing.
#[test]
fn the_dry_run_plans_a_rotation_for_every_provider_keyhound_verifies() {
    let rules = keyhound::rules::RuleSet::defaults().unwrap();
    let verifying: Vec<&keyhound::rules::Rule> = rules.rules.iter().filter(|rule| rule.verify.is_some()).collect();
    assert!(verifying.len() > 280, "{} rules verify", verifying.len());
    let secrets: Vec<String> = verifying.iter().map(|rule| format!("{}-Kq8mP3xZ7wL2vB9n", rule.id)).collect();
    let found: Vec<Found<'_>> =
        verifying.iter().zip(&secrets).map(|(rule, secret)| Found(&rule.id, secret, Some("live"))).collect();
    let tree = Tree::new();
    report(&tree, &found);
    let run = rotate(&tree, &["--force-unverified"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("no rotation for this provider"), "{}", run.stderr);
    assert!(!run.stderr.contains("  skip "), "every finding gets a plan:\n{}", run.stderr);
    assert_eq!(run.stderr.matches("  plan ").count(), verifying.len(), "{}", run.stderr);
    assert!(!tree.path().join(".keyhound").exists(), "the dry run wrote state or audit files");
    let wise = run.stderr.lines().find(|line| line.contains("wise-api-token")).expect("a plan line for wise-api-token");
    assert!(wise.contains("guided replacement"), "{wise}");
    // Grouped by provider and action, with what each group needs.
    assert!(run.stderr.contains("  Wise: guided, 1 key (needs a person at the provider's console"), "{}", run.stderr);
    assert!(run.stderr.contains("  GitHub: API revoke, "), "{}", run.stderr);
    assert!(
        run.stderr.contains("  OpenAI: API revoke, ") && run.stderr.contains("(needs OPENAI_ADMIN_KEY)"),
        "{}",
        run.stderr
    );

    // --provider and --rule narrow the plan; a name no rule has is a usage error.
    let wise_only = rotate(&tree, &["--provider", "wise"], &[]);
    assert_eq!(wise_only.code, 0, "{}", wise_only.stderr);
    assert_eq!(wise_only.stderr.matches("  plan ").count(), 1, "{}", wise_only.stderr);
    assert!(wise_only.stderr.contains(&format!("{} of {} findings left out", found.len() - 1, found.len())));
    let two_rules = rotate(&tree, &["--rule", "wise-api-token", "--rule", "github-pat"], &[]);
    assert_eq!(two_rules.stderr.matches("  plan ").count(), 2, "{}", two_rules.stderr);
    let typo = rotate(&tree, &["--rule", "wise-api-tokne"], &[]);
    assert_eq!(typo.code, 2, "{}", typo.stderr);
    assert!(typo.stderr.contains("--rule wise-api-tokne: no such rule"), "{}", typo.stderr);
    let unknown = rotate(&tree, &["--provider", "Nonexistent Cloud"], &[]);
    assert_eq!(unknown.code, 2);
    assert!(unknown.stderr.contains("--provider Nonexistent Cloud: no rule has this provider"), "{}", unknown.stderr);
}
