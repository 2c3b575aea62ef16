//! `keyhound image` on images the test builds: an OCI image layout and the
//! same image as a `docker save` tarball, with a gzip layer holding a secret
//! that a zstd layer deletes (a whiteout), secrets in the config's ENV and
//! build history, and a publicly known key (low confidence: left out by
//! default for images, counted in the summary).

use std::path::Path;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::common::{keyhound, Tree, DEEPSEEK_KEY};

const GITHUB_TOKEN: &str = "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";
const NPM_TOKEN: &str = "npm_69LEsLHWAvJEui2InbgTYRQX6FzRjmgemOKJ";
/// RFC 6749's example client credentials: publicly known.
const RFC_BASIC: &str = "czZCaGRSa3F0MzpnWDFmQmF0M2JW";

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect::<String>())
}

/// A tar of `files` (path, content).
fn tar_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append_data(&mut header, path, content.as_slice()).unwrap();
    }
    builder.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A blob: its digest and bytes.
type Blob = (String, Vec<u8>);

/// The image's blobs: the config and the layers.
fn blobs() -> (Blob, Vec<Blob>) {
    let base = gzip(&tar_of(&[
        ("etc/app/.env", format!("DEEPSEEK_API_KEY={DEEPSEEK_KEY}\n").into_bytes()),
        ("usr/share/doc/oauth/README", format!("Authorization: Basic {RFC_BASIC}\n").into_bytes()),
        ("opt/app/main.py", b"print('hello')\n".to_vec()),
    ]));
    let cleanup_tar = tar_of(&[("etc/app/.wh..env", Vec::new()), ("opt/app/VERSION", b"1.2.0\n".to_vec())]);
    let cleanup =
        ruzstd::encoding::compress_to_vec(cleanup_tar.as_slice(), ruzstd::encoding::CompressionLevel::Fastest);
    let layers = vec![(digest(&base), base), (digest(&cleanup), cleanup)];
    let config = json!({
        "architecture": "amd64", "os": "linux",
        "config": { "Env": ["PATH=/usr/local/bin:/usr/bin", format!("GITHUB_TOKEN={GITHUB_TOKEN}")], "Cmd": ["python", "main.py"] },
        "rootfs": { "type": "layers", "diff_ids": [] },
        "history": [
            { "created_by": "COPY . /opt/app" },
            { "created_by": format!("RUN /bin/sh -c NPM_TOKEN={NPM_TOKEN} npm ci && rm -f /etc/app/.env") },
        ],
    })
    .to_string()
    .into_bytes();
    ((digest(&config), config), layers)
}

fn manifest_json(config: &Blob, layers: &[Blob]) -> Vec<u8> {
    json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.0, "size": config.1.len() },
        "layers": [
            { "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layers[0].0, "size": layers[0].1.len() },
            { "mediaType": "application/vnd.oci.image.layer.v1.tar+zstd", "digest": layers[1].0, "size": layers[1].1.len() },
        ],
    })
    .to_string()
    .into_bytes()
}

fn blob_name(digest: &str) -> String {
    format!("blobs/sha256/{}", digest.trim_start_matches("sha256:"))
}

/// The image as an OCI layout directory.
fn oci_layout(tree: &Tree) -> std::path::PathBuf {
    let (config, layers) = blobs();
    let manifest = manifest_json(&config, &layers);
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{ "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest(&manifest), "size": manifest.len(),
                        "platform": { "os": "linux", "architecture": "amd64" } }],
    });
    tree.write("app-oci/oci-layout", r#"{"imageLayoutVersion": "1.0.0"}"#);
    tree.write("app-oci/index.json", index.to_string());
    tree.write(&format!("app-oci/{}", blob_name(&digest(&manifest))), &manifest);
    tree.write(&format!("app-oci/{}", blob_name(&config.0)), &config.1);
    for (layer_digest, bytes) in &layers {
        tree.write(&format!("app-oci/{}", blob_name(layer_digest)), bytes);
    }
    tree.path().join("app-oci")
}

/// The image as `docker save` writes it (manifest.json naming blobs in the tarball).
fn docker_save(tree: &Tree) -> std::path::PathBuf {
    let (config, layers) = blobs();
    let manifest = json!([{ "Config": blob_name(&config.0), "RepoTags": ["acme/app:1.2"],
                            "Layers": layers.iter().map(|(layer, _)| blob_name(layer)).collect::<Vec<_>>() }]);
    let mut files: Vec<(String, Vec<u8>)> = vec![(blob_name(&config.0), config.1.clone())];
    files.extend(layers.iter().map(|(layer, bytes)| (blob_name(layer), bytes.clone())));
    files.push(("manifest.json".into(), manifest.to_string().into_bytes()));
    let borrowed: Vec<(&str, Vec<u8>)> = files.iter().map(|(name, bytes)| (name.as_str(), bytes.clone())).collect();
    tree.write("app.tar", tar_of(&borrowed))
}

fn scan(image: &Path, args: &[&str]) -> (i32, Value, String) {
    let output =
        keyhound().arg("image").arg(image).args(["--format", "json", "--no-config"]).args(args).output().unwrap();
    let report = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output.status.code().unwrap(), report, String::from_utf8_lossy(&output.stderr).into_owned())
}

fn finding<'a>(report: &'a Value, rule: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|finding| finding["rule_id"] == rule)
        .unwrap_or_else(|| panic!("no {rule} finding: {report}"))
}

fn assert_image_findings(image: &Path) {
    let (_, layers) = blobs();
    let (code, report, stderr) = scan(image, &[]);
    assert_eq!(code, 1, "{stderr}");
    let deleted = finding(&report, "deepseek-api-key");
    let path = deleted["path"].as_str().unwrap();
    assert!(path.ends_with(&format!("!{}!etc/app/.env", layers[0].0)), "image, layer digest and path: {path}");
    let context = deleted["context"][0].as_str().unwrap();
    assert!(context.starts_with("deleted by layer 2") && context.contains(&layers[1].0), "{context}");
    assert!(finding(&report, "github-pat")["path"].as_str().unwrap().ends_with("!config/Env"));
    let history = finding(&report, "npm-access-token");
    assert!(history["path"].as_str().unwrap().ends_with("!config/history"));
    assert_eq!(history["line"], 2, "the second build step");
    // The publicly known key is low: left out of an image scan by default, and counted.
    assert!(report["findings"].as_array().unwrap().iter().all(|finding| finding["confidence"] != "low"));
    assert!(stderr.contains("1 finding(s) below --min-confidence medium were left out"), "{stderr}");
    for secret in [DEEPSEEK_KEY, GITHUB_TOKEN, NPM_TOKEN] {
        assert!(!report.to_string().contains(secret) && !stderr.contains(secret), "redacted by default");
    }
    let (_, everything, _) = scan(image, &["--min-confidence", "low"]);
    let rfc = finding(&everything, "http-basic-auth-header");
    assert!(rfc["context"].to_string().contains("publicly-known"), "{rfc}");
}

#[test]
fn an_oci_layout_is_scanned_layer_by_layer_with_its_config() {
    let tree = Tree::new();
    assert_image_findings(&oci_layout(&tree));
}

#[test]
fn a_docker_save_tarball_is_scanned_layer_by_layer_with_its_config() {
    let tree = Tree::new();
    assert_image_findings(&docker_save(&tree));
}

#[test]
fn something_that_is_not_an_image_is_a_usage_error_naming_it() {
    let tree = Tree::new();
    let notes = tree.write("notes.txt", "just text\n");
    let output = keyhound().arg("image").arg(&notes).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("notes.txt") && stderr.contains("not a container image"), "{stderr}");
}
