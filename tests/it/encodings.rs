//! Secrets hidden in encodings (base64, hex, percent-encoded credentials,
//! escapes, Basic auth) and in UTF-16 files: found, placed at the encoded
//! span, reported once with the decoded (real) secret and its encoding.

use base64::Engine as _;
use serde_json::Value;

use crate::common::{keyhound, scan_json, GitRepo, Tree};

const GITHUB: &str = "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";

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn findings(report: &Value) -> Vec<(String, String, u64, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| {
            (
                finding["rule_id"].as_str().unwrap().to_string(),
                finding["path"].as_str().unwrap().to_string(),
                finding["line"].as_u64().unwrap(),
                finding["decoded"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn encoded_secrets_are_found_once_at_their_encoded_span_with_the_encoding_named() {
    let tree = Tree::new();
    tree.write("k8s/secret.yaml", format!("apiVersion: v1\nkind: Secret\ndata:\n  token: {}\n", b64(GITHUB)));
    let hex: String = format!("GITHUB_TOKEN={GITHUB}").bytes().map(|byte| format!("{byte:02x}")).collect();
    tree.write("blob.txt", format!("payload = \"{hex}\"\n"));
    tree.write("db.env", "DATABASE_URL=postgres://app:Xq7%21mK2%23pL9wZ@db.internal:5432/app\n");
    tree.write("escaped.json", format!("{{\"token\": \"{}\"}}\n", GITHUB.replace('_', "\\u005f")));
    let nested = b64(&format!("export GITHUB_TOKEN={GITHUB}\n"));
    tree.write("twice.env", format!("BUNDLE={}\n", b64(&format!("inner: {nested}"))));
    let (code, report) = scan_json(tree.path(), &["."]);
    assert_eq!(code, 1, "{report:#}");
    let mut found = findings(&report);
    found.sort();
    assert_eq!(
        found,
        [
            ("database-connection-string".into(), "db.env".into(), 1, "percent".into()),
            ("github-pat".into(), "blob.txt".into(), 1, "hex".into()),
            ("github-pat".into(), "escaped.json".into(), 1, "escapes".into()),
            ("github-pat".into(), "k8s/secret.yaml".into(), 4, "base64".into()),
            ("github-pat".into(), "twice.env".into(), 1, "base64 > base64".into()),
        ]
    );
    let k8s = report["findings"].as_array().unwrap().iter().find(|f| f["path"] == "k8s/secret.yaml").unwrap();
    assert_eq!(k8s["also_matched"], serde_json::json!(["kubernetes-secret-data"]), "one secret, one finding");
    assert_eq!(k8s["column"], 10, "the encoded span's column");
    // The decoded secret is the real key (verification and rotation use it), redacted as usual.
    let shown = keyhound()
        .current_dir(tree.path())
        .args(["scan", "k8s", "--format", "json", "--show-secrets"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&shown.stdout).contains(GITHUB));
    let redacted = String::from_utf8_lossy(
        &keyhound().current_dir(tree.path()).args(["scan", ".", "--format", "json"]).output().unwrap().stdout,
    )
    .into_owned();
    assert!(!redacted.contains(GITHUB) && !redacted.contains(&b64(GITHUB)), "neither form printed in full");

    // --max-decode-depth 0 turns decoding off; 1 stops before the nested level.
    let (_, report) = scan_json(tree.path(), &[".", "--max-decode-depth", "0"]);
    assert!(findings(&report).iter().all(|(_, _, _, decoded)| decoded.is_empty()), "{report:#}");
    let (_, report) = scan_json(tree.path(), &[".", "--max-decode-depth", "1"]);
    assert!(!findings(&report).iter().any(|(_, path, _, _)| path == "twice.env"), "{report:#}");
}

#[test]
fn encoded_look_alikes_are_not_reported() {
    let tree = Tree::new();
    // Text that decodes but holds no secret, hashes, binary base64, a SAS URL as written.
    tree.write(
        "a.yaml",
        format!("data:\n  readme: {}\n", b64("This is just a long readme paragraph, nothing secret.")),
    );
    tree.write("b.txt", "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n");
    let random: Vec<u8> = (0u8..90).map(|n| n.wrapping_mul(97).wrapping_add(13)).collect();
    tree.write("c.txt", format!("blob: {}\n", base64::engine::general_purpose::STANDARD.encode(random)));
    tree.write("d.txt", format!("placeholder: {}\n", b64("GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")));
    tree.write("e.txt", format!("Authorization: Basic {}\n", b64("username:password")));
    let (code, report) = scan_json(tree.path(), &["."]);
    assert_eq!((code, report["findings"].as_array().unwrap().len()), (0, 0), "{report:#}");
    // Positive control: a real key encoded the same way is found.
    tree.write("f.txt", format!("blob: {}\n", b64(&format!("GITHUB_TOKEN={GITHUB}"))));
    let (code, _) = scan_json(tree.path(), &["."]);
    assert_eq!(code, 1);
}

#[test]
fn utf16_files_with_a_byte_order_mark_are_scanned_as_text() {
    let tree = Tree::new();
    let text = format!(
        "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\Software\\Acme]\r\n\"Token\"=\"{GITHUB}\"\r\n"
    );
    let bytes: Vec<u8> = [0xFF, 0xFE].into_iter().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect();
    tree.write("settings.reg", &bytes);
    let (code, report) = scan_json(tree.path(), &["."]);
    assert_eq!(code, 1, "{report:#}");
    let finding = &report["findings"][0];
    assert_eq!(
        (finding["rule_id"].as_str(), finding["line"].as_u64(), finding["column"].as_u64()),
        (Some("github-pat"), Some(4), Some(10))
    );
    let offset = finding["offset"].as_u64().unwrap() as usize;
    assert_eq!(&bytes[offset..offset + 4], &[b'g', 0, b'h', 0], "the offset is the UTF-16 file's");

    // The same file committed: a history scan finds it too (blobs are looked at before their paths).
    let repo = GitRepo::new();
    repo.commit_file("settings.reg", &bytes, "registry export");
    let output = keyhound().current_dir(repo.path()).args(["git", ".", "--format", "json"]).output().unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["findings"][0]["rule_id"], "github-pat", "{report:#}");
}
