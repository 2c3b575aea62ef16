//! Private keys are described without any request: type, size, the public
//! key's fingerprint as ssh-keygen prints it, and the .pub file next to them.
//! Keys are generated for each test with ssh-keygen and openssl (scripts/test
//! installs them when missing).

use std::path::Path;
use std::process::Command;

use keyhound::verify::private_key::describe;
use keyhound::verify::private_key::inspect;

fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("{program} must be installed (scripts/test installs it): {err}"));
    assert!(output.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The `SHA256:...` fingerprint ssh-keygen prints for a public key file.
fn ssh_keygen_fingerprint(public: &Path) -> String {
    let listed = run("ssh-keygen", &["-l", "-E", "sha256", "-f", public.to_str().unwrap()]);
    listed.split_whitespace().nth(1).unwrap().to_string()
}

#[test]
fn an_openssh_key_is_described_and_its_public_half_found_next_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id_ed25519");
    run("ssh-keygen", &["-q", "-t", "ed25519", "-N", "", "-C", "ci@example", "-f", key.to_str().unwrap()]);
    let pem = std::fs::read_to_string(&key).unwrap();
    let expected = ssh_keygen_fingerprint(&dir.path().join("id_ed25519.pub"));

    let facts = describe(&pem).unwrap();
    assert_eq!((facts.kind.as_str(), facts.bits, facts.encrypted), ("ssh-ed25519", Some(256), false));
    assert_eq!(facts.fingerprint.as_deref(), Some(expected.as_str()));

    let verification = inspect(&pem, Some(&key));
    assert_eq!(verification.status.label(), "unknown");
    assert_eq!(verification.details["fingerprint"], expected.as_str());
    assert!(verification.details["public_key_next_to_it"].as_str().unwrap().ends_with("id_ed25519.pub"));

    let elsewhere = tempfile::tempdir().unwrap();
    let alone = inspect(&pem, Some(&elsewhere.path().join("id_ed25519")));
    assert!(!alone.details.contains_key("public_key_next_to_it"));
}

#[test]
fn an_encrypted_openssh_key_still_gives_its_public_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("deploy");
    run("ssh-keygen", &["-q", "-t", "rsa", "-b", "3072", "-N", "correct horse", "-f", key.to_str().unwrap()]);
    let facts = describe(&std::fs::read_to_string(&key).unwrap()).unwrap();
    assert_eq!((facts.kind.as_str(), facts.bits, facts.encrypted), ("ssh-rsa", Some(3072), true));
    assert_eq!(facts.fingerprint.unwrap(), ssh_keygen_fingerprint(&dir.path().join("deploy.pub")));
}

#[test]
fn pem_rsa_keys_in_pkcs1_and_pkcs8_give_size_and_the_ssh_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let pkcs1 = dir.path().join("pkcs1.pem");
    run("openssl", &["genrsa", "-traditional", "-out", pkcs1.to_str().unwrap(), "2048"]);
    let pkcs8 = dir.path().join("pkcs8.pem");
    run("openssl", &["pkcs8", "-topk8", "-nocrypt", "-in", pkcs1.to_str().unwrap(), "-out", pkcs8.to_str().unwrap()]);
    let public = dir.path().join("key.pub");
    std::fs::write(&public, run("ssh-keygen", &["-y", "-f", pkcs1.to_str().unwrap()])).unwrap();
    let expected = ssh_keygen_fingerprint(&public);
    for file in [&pkcs1, &pkcs8] {
        let pem = std::fs::read_to_string(file).unwrap();
        let facts = describe(&pem).unwrap();
        assert_eq!((facts.kind.as_str(), facts.bits), ("ssh-rsa", Some(2048)), "{}", file.display());
        assert_eq!(facts.fingerprint.as_deref(), Some(expected.as_str()), "{}", file.display());
    }
}

#[test]
fn a_scan_with_verify_reports_the_key_type_and_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id_ed25519");
    run("ssh-keygen", &["-q", "-t", "ed25519", "-N", "", "-f", key.to_str().unwrap()]);
    let (_, report) = crate::common::scan_json(dir.path(), &["--verify"]);
    let finding =
        report["findings"].as_array().unwrap().iter().find(|f| f["rule_id"] == "private-key").expect("private-key");
    assert_eq!(finding["verification"]["status"], "unknown");
    assert_eq!(finding["verification"]["details"]["key_type"], "ssh-ed25519");
    assert!(finding["verification"]["details"]["fingerprint"].as_str().unwrap().starts_with("SHA256:"));
}
