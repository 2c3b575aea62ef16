//! `keyhound image` on images the test builds: an OCI image layout and the
//! same image as a `docker save` tarball, with a gzip layer holding a secret
//! that a zstd layer deletes (a whiteout), secrets in the config's ENV and
//! build history, and a publicly known key (low confidence: left out by
//! default for images, counted in the summary).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::common::{keyhound, Tree, DEEPSEEK_KEY};
use crate::mock_provider::{Answer, MockProvider};

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
        ("usr/share/doc/acme/examples/client.conf", b"api_key = \"q8ZtR2vLm5XwN7cKp3HdF9sJ\"\n".to_vec()),
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

fn scan(image: &std::ffi::OsStr, args: &[&str]) -> (i32, Value, String) {
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

fn assert_image_findings(image: &std::ffi::OsStr) {
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
    // The publicly known key and the package documentation's example are low:
    // left out of an image scan by default, and counted.
    assert!(report["findings"].as_array().unwrap().iter().all(|finding| finding["confidence"] != "low"));
    assert!(stderr.contains("2 finding(s) below --min-confidence medium were left out"), "{stderr}");
    for secret in [DEEPSEEK_KEY, GITHUB_TOKEN, NPM_TOKEN] {
        assert!(!report.to_string().contains(secret) && !stderr.contains(secret), "redacted by default");
    }
    let (_, everything, _) = scan(image, &["--min-confidence", "low"]);
    let rfc = finding(&everything, "http-basic-auth-header");
    assert!(rfc["context"].to_string().contains("publicly-known"), "{rfc}");
    let documented = finding(&everything, "generic-secret");
    assert!(documented["path"].as_str().unwrap().ends_with("!usr/share/doc/acme/examples/client.conf"));
    assert_eq!(documented["context"][0], "package documentation (/usr/share/doc)", "{documented}");
}

#[test]
fn an_oci_layout_is_scanned_layer_by_layer_with_its_config() {
    let tree = Tree::new();
    assert_image_findings(oci_layout(&tree).as_os_str());
}

#[test]
fn a_docker_save_tarball_is_scanned_layer_by_layer_with_its_config() {
    let tree = Tree::new();
    assert_image_findings(docker_save(&tree).as_os_str());
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

/// A registry that wants a bearer token (from its token service) and serves one
/// layer through a redirect to its storage, as registries backed by object stores do.
fn registry() -> (MockProvider, Arc<Mutex<Vec<String>>>) {
    let (config, layers) = blobs();
    let manifest = manifest_json(&config, &layers);
    let mut store: HashMap<String, Vec<u8>> = HashMap::new();
    store.insert(config.0.clone(), config.1.clone());
    for (layer, bytes) in &layers {
        store.insert(layer.clone(), bytes.clone());
    }
    let redirected = layers[0].0.clone();
    let own_url = Arc::new(Mutex::new(String::new()));
    let storage_auth = Arc::new(Mutex::new(Vec::new()));
    let mock = {
        let (own_url, storage_auth) = (own_url.clone(), storage_auth.clone());
        MockProvider::with_handler(move |seen| {
            let path = seen.line.split('?').next().unwrap().trim_start_matches("GET ");
            let authorized = seen.header("authorization") == Some("Bearer pull-token");
            if path == "/token" {
                assert!(seen.line.contains("scope=repository%3Aacme%2Fapp%3Apull"), "{}", seen.line);
                return Answer::json(200, r#"{"token": "pull-token", "expires_in": 300}"#);
            }
            if let Some(hex) = path.strip_prefix("/storage/") {
                storage_auth.lock().unwrap().push(seen.header("authorization").unwrap_or("none").to_string());
                return Answer::bytes(200, store[&format!("sha256:{hex}")].clone());
            }
            if !authorized {
                let realm = format!("{}/token", own_url.lock().unwrap());
                let challenge = format!("Bearer realm=\"{realm}\",service=\"mock\",scope=\"repository:acme/app:pull\"");
                return Answer::json(401, r#"{"errors": [{"code": "UNAUTHORIZED"}]}"#)
                    .header("WWW-Authenticate", &challenge);
            }
            match path.strip_prefix("/v2/acme/app/") {
                Some("manifests/1.2") => Answer {
                    content_type: "application/vnd.oci.image.manifest.v1+json",
                    ..Answer::bytes(200, manifest.clone())
                },
                Some(blob) if blob == format!("blobs/{redirected}") => Answer::json(307, "")
                    .header("Location", &format!("/storage/{}", redirected.trim_start_matches("sha256:"))),
                Some(blob) => match blob.strip_prefix("blobs/").and_then(|digest| store.get(digest)) {
                    Some(bytes) => Answer::bytes(200, bytes.clone()),
                    None => Answer::json(404, r#"{"errors": [{"code": "BLOB_UNKNOWN"}]}"#),
                },
                None => Answer::json(404, "{}"),
            }
        })
    };
    *own_url.lock().unwrap() = mock.url.clone();
    (mock, storage_auth)
}

#[test]
fn a_registry_image_is_pulled_with_a_token_through_a_storage_redirect_and_scanned() {
    let (mock, storage_auth) = registry();
    let reference = format!("{}/acme/app:1.2", mock.url.trim_start_matches("http://"));
    assert_image_findings(std::ffi::OsStr::new(&reference));
    assert!(!storage_auth.lock().unwrap().is_empty(), "a layer came through the storage redirect");
    assert!(
        storage_auth.lock().unwrap().iter().all(|header| header == "none"),
        "the registry's token is never sent to its storage"
    );
    let (_, report, _) = scan(std::ffi::OsStr::new(&reference), &[]);
    let path = report["findings"][0]["path"].as_str().unwrap();
    assert!(path.starts_with(&reference), "findings are named after the reference: {path}");
}

#[test]
fn a_missing_image_in_a_registry_fails_with_the_registrys_answer() {
    let (mock, _) = registry();
    let reference = format!("{}/acme/app:9.9", mock.url.trim_start_matches("http://"));
    let output = keyhound().arg("image").arg(&reference).output().unwrap();
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("pulling") && stderr.contains("404"), "{stderr}");
}

/// Pushes the test image to the registry scripts/test starts, through the distribution API.
fn push_to_registry(registry: &str) {
    let (config, layers) = blobs();
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    for (digest, bytes) in std::iter::once(&config).chain(&layers) {
        let started = agent.post(&format!("http://{registry}/v2/acme/app/blobs/uploads/")).call().unwrap();
        assert_eq!(started.status(), 202);
        let location = started.header("Location").unwrap().to_string();
        let upload = if location.starts_with('/') { format!("http://{registry}{location}") } else { location };
        let separator = if upload.contains('?') { '&' } else { '?' };
        let done = agent
            .put(&format!("{upload}{separator}digest={digest}"))
            .set("Content-Type", "application/octet-stream")
            .send_bytes(bytes)
            .unwrap();
        assert_eq!(done.status(), 201);
    }
    let stored = agent
        .put(&format!("http://{registry}/v2/acme/app/manifests/1.2"))
        .set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        .send_bytes(&manifest_json(&config, &layers))
        .unwrap();
    assert_eq!(stored.status(), 201);
}

#[test]
fn an_image_pushed_to_a_real_registry_is_pulled_and_scanned() {
    let registry = std::env::var("KEYHOUND_TEST_REGISTRY")
        .expect("KEYHOUND_TEST_REGISTRY names the registry scripts/test starts: run the tests with scripts/test");
    push_to_registry(&registry);
    assert_image_findings(std::ffi::OsStr::new(&format!("{registry}/acme/app:1.2")));
}

#[test]
fn image_scans_are_recorded_in_a_datastore_and_a_rescan_reports_only_new_findings() {
    let tree = Tree::new();
    let layout = oci_layout(&tree);
    let store = tree.path().join("store.db");
    let args = ["--datastore", store.to_str().unwrap()];
    let (code, first, stderr) = scan(layout.as_os_str(), &args);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(first["findings"].as_array().unwrap().len(), 3, "{first}");
    let (code, again, stderr) = scan(layout.as_os_str(), &args);
    assert_eq!(code, 0, "{stderr}");
    assert!(again["findings"].as_array().unwrap().is_empty(), "nothing new: {again}");
    let (_, everything, _) = scan(layout.as_os_str(), &["--datastore", store.to_str().unwrap(), "--all"]);
    assert_eq!(everything["findings"].as_array().unwrap().len(), 3);
}
