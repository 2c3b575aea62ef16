//! Keys no service can be asked about: a private key's rotation says its
//! fingerprint and where GitHub trusts it (with GITHUB_TOKEN, and
//! GITHUB_REPOSITORY for deploy keys), stays pending, and `--complete` records
//! it done once GitHub no longer lists it; a JWT is done once it has expired.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use base64::Engine as _;

use crate::common::Tree;
use crate::mock_provider::{Answer, MockProvider};
use crate::rotate::{assert_never_printed, fingerprint, report, rotate, state, Found};

const GITHUB_TOKEN: &str = "ghp_managementTokenForKeyLookups0000000";

/// A fresh ed25519 key pair (ssh-keygen, which scripts/test installs): private PEM and public line.
fn key_pair(tree: &Tree) -> (String, String) {
    let path = tree.path().join("id_ed25519");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "deploy@acme", "-f", path.to_str().unwrap()])
        .status()
        .expect("ssh-keygen (scripts/test installs openssh-client)");
    assert!(status.success());
    let private = std::fs::read_to_string(&path).unwrap();
    let public = std::fs::read_to_string(path.with_extension("pub")).unwrap().trim().to_string();
    std::fs::remove_file(&path).unwrap();
    std::fs::remove_file(path.with_extension("pub")).unwrap();
    (private, public)
}

/// GitHub listing the user's keys and the repository's deploy keys; `removed` takes the key away.
fn github(public: &str, removed: Arc<AtomicBool>) -> MockProvider {
    let listed = serde_json::json!([
        { "id": 1, "title": "laptop", "key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFake" },
        { "id": 77, "title": "ci deploy", "key": public },
    ]);
    MockProvider::with_handler(move |seen| {
        if seen.header("authorization") != Some(&format!("Bearer {GITHUB_TOKEN}")) {
            return Answer::json(401, r#"{"message": "Bad credentials"}"#);
        }
        match seen.line.split('?').next().unwrap() {
            "GET /user/keys" => Answer::json(200, "[]"),
            "GET /repos/acme/app/keys" if removed.load(Ordering::SeqCst) => Answer::json(200, "[]"),
            "GET /repos/acme/app/keys" => Answer::json(200, &listed.to_string()),
            _ => Answer::json(404, "{}"),
        }
    })
}

#[test]
fn a_private_key_is_found_among_deploy_keys_and_done_once_github_no_longer_lists_it() {
    let tree = Tree::new();
    let (private, public) = key_pair(&tree);
    report(&tree, &[Found("private-key", &private, None)]);
    let removed = Arc::new(AtomicBool::new(false));
    let mock = github(&public, removed.clone());
    let endpoint = format!("github={}", mock.url);
    let env = [("GITHUB_TOKEN", GITHUB_TOKEN), ("GITHUB_REPOSITORY", "acme/app")];

    let plan = rotate(&tree, &["--force-unverified"], &env);
    assert!(plan.stderr.contains("guide a person"), "{}", plan.stderr);
    assert!(mock.seen().is_empty(), "the dry run asks nothing");

    let first = rotate(&tree, &["--yes", "--force-unverified", "--endpoint", &endpoint], &env);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let blob = base64::engine::general_purpose::STANDARD.decode(public.split_whitespace().nth(1).unwrap()).unwrap();
    let fingerprint_text = keyhound::verify::private_key::fingerprint(&blob);
    assert!(first.stderr.contains(&fingerprint_text), "{}", first.stderr);
    assert!(first.stderr.contains("a deploy key of acme/app \"ci deploy\" (id 77)"), "{}", first.stderr);
    assert_eq!(state(&tree)[&fingerprint("private-key-0")]["progress"], "pending");

    let still = rotate(&tree, &["--yes", "--complete", "--endpoint", &endpoint], &env);
    assert_eq!(still.code, 0, "{}", still.stderr);
    assert_eq!(state(&tree)[&fingerprint("private-key-0")]["progress"], "pending", "still installed");

    removed.store(true, Ordering::SeqCst);
    let done = rotate(&tree, &["--yes", "--complete", "--endpoint", &endpoint], &env);
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(state(&tree)[&fingerprint("private-key-0")]["progress"], "done", "{}", done.stderr);
    for run in [&first, &still, &done] {
        assert_never_printed(&tree, run, &[GITHUB_TOKEN, private.lines().nth(1).unwrap()]);
    }
}

fn jwt(expires: i64) -> String {
    let encode = |value: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string());
    format!(
        "{}.{}.c2lnbmF0dXJlLW5vdC1jaGVja2Vk",
        encode(serde_json::json!({ "alg": "HS256", "typ": "JWT" })),
        encode(serde_json::json!({ "iss": "https://auth.acme.example", "sub": "svc-billing", "exp": expires })),
    )
}

#[test]
fn an_expired_jwt_is_done_and_a_live_one_waits_with_its_issuer() {
    let tree = Tree::new();
    let expired = jwt(1_600_000_000);
    let valid = jwt(4_102_444_800);
    report(&tree, &[Found("jwt", &expired, None), Found("jwt", &valid, None)]);
    let run = rotate(&tree, &["--yes", "--force-unverified"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(state(&tree)[&fingerprint("jwt-0")]["progress"], "done", "{}", run.stderr);
    assert_eq!(state(&tree)[&fingerprint("jwt-1")]["progress"], "pending", "{}", run.stderr);
    assert!(run.stderr.contains("https://auth.acme.example"), "{}", run.stderr);
    assert_never_printed(&tree, &run, &[&expired, &valid]);
}
