//! Pulling an image from a registry through the OCI distribution API into a
//! temporary OCI image layout, which [`super::image`] then scans. Only what
//! the user names is contacted: the registry of the reference (plain HTTP
//! only for a loopback address, as docker does), its token service, and the
//! storage its blob answers redirect to (without credentials). Credentials
//! come from `KEYHOUND_REGISTRY_USERNAME`/`KEYHOUND_REGISTRY_PASSWORD` or
//! `~/.docker/config.json` (`auths`); every blob's SHA-256 is checked.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The media types asked for, most specific first.
const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, \
                      application/vnd.docker.distribution.manifest.list.v2+json, \
                      application/vnd.docker.distribution.manifest.v2+json";
/// Largest manifest read.
const MAX_MANIFEST: u64 = 4 << 20;
/// Redirects followed for one blob.
const MAX_REDIRECTS: usize = 5;

/// `[registry/]repository[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Host (and port) of the registry; `docker.io` for Docker Hub.
    pub registry: String,
    /// Repository path (`library/alpine`).
    pub repository: String,
    /// Tag or `sha256:` digest.
    pub reference: String,
}

impl Reference {
    /// Parses an image reference as docker does (`alpine` is `docker.io/library/alpine:latest`).
    pub fn parse(text: &str) -> Result<Reference, String> {
        let invalid = || format!("`{text}` is not an image reference ([registry/]name[:tag][@digest])");
        if text.is_empty() || text.contains("://") || text.chars().any(char::is_whitespace) {
            return Err(invalid());
        }
        let (name, reference) = match text.split_once('@') {
            Some((name, digest)) => (name, digest.to_string()),
            None => match text.rsplit_once(':') {
                Some((name, tag)) if !tag.contains('/') => (name, tag.to_string()),
                _ => (text, "latest".to_string()),
            },
        };
        let (registry, repository) = match name.split_once('/') {
            Some((host, rest)) if host.contains('.') || host.contains(':') || host == "localhost" => {
                (host.to_string(), rest.to_string())
            }
            _ => ("docker.io".to_string(), name.to_string()),
        };
        let repository = if registry == "docker.io" && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        let valid_path = repository.split('/').all(|part| {
            !part.is_empty()
                && !part.starts_with(['.', '-', '_'])
                && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        });
        if !valid_path || reference.is_empty() {
            return Err(invalid());
        }
        Ok(Reference { registry, repository, reference })
    }

    /// The registry's base URL: plain HTTP only on a loopback address.
    fn base_url(&self) -> String {
        let host = self.registry.rsplit_once(':').map_or(self.registry.as_str(), |(host, _)| host);
        let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
        match (self.registry.as_str(), loopback) {
            ("docker.io", _) => "https://registry-1.docker.io".to_string(),
            (_, true) => format!("http://{}", self.registry),
            _ => format!("https://{}", self.registry),
        }
    }
}

/// A registry session: the agent, credentials and the token once obtained.
struct Session {
    agent: ureq::Agent,
    base: String,
    repository: String,
    basic: Option<String>,
    bearer: Option<String>,
}

impl Session {
    fn new(reference: &Reference, timeout: Duration) -> Session {
        let agent = ureq::AgentBuilder::new().timeout(timeout).redirects(0).build();
        Session {
            agent,
            base: reference.base_url(),
            repository: reference.repository.clone(),
            basic: credentials(&reference.registry),
            bearer: None,
        }
    }

    /// GET on the registry, answering one authentication challenge; 3xx answers are returned as they are.
    fn get(&mut self, path: &str, accept: Option<&str>) -> Result<ureq::Response, String> {
        for _ in 0..2 {
            let url = format!("{}/v2/{}/{path}", self.base, self.repository);
            let mut request = self.agent.get(&url);
            if let Some(accept) = accept {
                request = request.set("Accept", accept);
            }
            if let Some(token) = &self.bearer {
                request = request.set("Authorization", &format!("Bearer {token}"));
            } else if let Some(basic) = &self.basic {
                request = request.set("Authorization", &format!("Basic {basic}"));
            }
            match request.call() {
                Ok(response) => return Ok(response),
                Err(ureq::Error::Status(401, response)) if self.bearer.is_none() => {
                    let challenge = response.header("WWW-Authenticate").unwrap_or_default().to_string();
                    self.bearer = Some(self.token(&challenge)?);
                }
                Err(ureq::Error::Status(status, response)) => {
                    let body = response.into_string().unwrap_or_default();
                    let message = serde_json::from_str::<Value>(&body)
                        .ok()
                        .and_then(|body| body.pointer("/errors/0/message").and_then(Value::as_str).map(str::to_string))
                        .unwrap_or_default();
                    return Err(format!("the registry answered HTTP {status} for {path} {message}"));
                }
                Err(err) => return Err(format!("the registry at {} cannot be reached: {err}", self.base)),
            }
        }
        Err("the registry refused the credentials (HTTP 401)".into())
    }

    /// A bearer token from the challenge's realm (with the credentials, when there are any).
    fn token(&self, challenge: &str) -> Result<String, String> {
        let Some(parameters) = challenge.strip_prefix("Bearer ") else {
            return Err(format!(
                "the registry wants credentials ({challenge}): set KEYHOUND_REGISTRY_USERNAME and \
                 KEYHOUND_REGISTRY_PASSWORD, or log in with docker"
            ));
        };
        let field = |name: &str| {
            parameters.split(',').find_map(|pair| {
                let (key, value) = pair.trim().split_once('=')?;
                (key == name).then(|| value.trim_matches('"').to_string())
            })
        };
        let realm = field("realm").ok_or("the registry's challenge names no token service")?;
        if !realm.starts_with("https://")
            && !realm.starts_with("http://127.0.0.1")
            && !realm.starts_with("http://localhost")
        {
            return Err(format!("the registry's token service is not HTTPS: {realm}"));
        }
        let mut request = self.agent.get(&realm);
        for name in ["service", "scope"] {
            if let Some(value) = field(name) {
                request = request.query(name, &value);
            }
        }
        if let Some(basic) = &self.basic {
            request = request.set("Authorization", &format!("Basic {basic}"));
        }
        let body: Value = request
            .call()
            .map_err(|err| format!("the registry's token service refused: {err}"))?
            .into_json()
            .map_err(|err| format!("the registry's token service answered no JSON: {err}"))?;
        body.get("token")
            .or_else(|| body.get("access_token"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| "the registry's token service answered no token".to_string())
    }

    fn manifest(&mut self, reference: &str) -> Result<Vec<u8>, String> {
        let response = self.get(&format!("manifests/{reference}"), Some(ACCEPT))?;
        let mut body = Vec::new();
        response.into_reader().take(MAX_MANIFEST).read_to_end(&mut body).map_err(|err| err.to_string())?;
        Ok(body)
    }

    /// Streams a blob into `path`, following redirects without credentials, and checks its digest.
    fn blob(&mut self, digest: &str, path: &Path) -> Result<(), String> {
        let mut response = self.get(&format!("blobs/{digest}"), None)?;
        for _ in 0..MAX_REDIRECTS {
            if !(300..400).contains(&response.status()) {
                break;
            }
            let location = response.header("Location").ok_or("a redirect without a Location")?.to_string();
            let location = if location.starts_with('/') { format!("{}{location}", self.base) } else { location };
            // The storage URL may carry a signature: errors name its host only.
            let host = location.split("://").nth(1).and_then(|rest| rest.split('/').next()).unwrap_or("its storage");
            response = self
                .agent
                .get(&location)
                .call()
                .map_err(|err| format!("fetching blob {digest} from {host}: {}", err.kind()))?;
        }
        let mut file = std::fs::File::create(path).map_err(|err| format!("{}: {err}", path.display()))?;
        let mut hasher = Sha256::new();
        let mut reader = response.into_reader();
        let mut buffer = vec![0u8; 1 << 16];
        loop {
            let read = reader.read(&mut buffer).map_err(|err| format!("fetching blob {digest}: {err}"))?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
            file.write_all(&buffer[..read]).map_err(|err| format!("{}: {err}", path.display()))?;
        }
        let actual = format!("sha256:{}", hex(&hasher.finalize()));
        if actual != digest {
            return Err(format!("blob {digest} does not match its digest (got {actual})"));
        }
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Base64 `user:password` for `registry`: from the environment, else docker's config.
fn credentials(registry: &str) -> Option<String> {
    let user = std::env::var("KEYHOUND_REGISTRY_USERNAME").ok().filter(|value| !value.is_empty());
    let password = std::env::var("KEYHOUND_REGISTRY_PASSWORD").ok().filter(|value| !value.is_empty());
    if let (Some(user), Some(password)) = (user, password) {
        return Some(base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")));
    }
    let home = std::env::var_os("DOCKER_CONFIG")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".docker")))?;
    let config: Value = serde_json::from_str(&std::fs::read_to_string(home.join("config.json")).ok()?).ok()?;
    let auths = config.get("auths")?.as_object()?;
    let keys = if registry == "docker.io" {
        vec!["https://index.docker.io/v1/".to_string(), "docker.io".to_string()]
    } else {
        vec![registry.to_string(), format!("https://{registry}")]
    };
    keys.iter().find_map(|key| auths.get(key)?.get("auth")?.as_str().map(str::to_string))
}

/// Digests must be `sha256:<64 hex>` before they name a file.
fn checked_digest(digest: &str) -> Result<&str, String> {
    match digest.strip_prefix("sha256:") {
        Some(hex) if hex.len() == 64 && hex.bytes().all(|byte| byte.is_ascii_hexdigit()) => Ok(hex),
        _ => Err(format!("`{digest}` is not a sha256 digest")),
    }
}

/// Pulls `reference` into an OCI image layout at `dir` (the linux/amd64 image of a multi-platform index).
pub fn pull(reference: &Reference, dir: &Path, timeout: Duration) -> Result<(), String> {
    let mut session = Session::new(reference, timeout);
    std::fs::create_dir_all(dir.join("blobs/sha256")).map_err(|err| err.to_string())?;
    let mut body = session.manifest(&reference.reference)?;
    for _ in 0..2 {
        let document: Value =
            serde_json::from_slice(&body).map_err(|err| format!("the manifest is not JSON: {err}"))?;
        let Some(manifests) = document.get("manifests").and_then(Value::as_array) else { break };
        let chosen = manifests
            .iter()
            .find(|entry| {
                entry.pointer("/platform/os").and_then(Value::as_str) == Some("linux")
                    && entry.pointer("/platform/architecture").and_then(Value::as_str) == Some("amd64")
            })
            .or_else(|| manifests.first())
            .and_then(|entry| entry.get("digest").and_then(Value::as_str))
            .ok_or("the image index lists no image")?;
        body = session.manifest(chosen)?;
    }
    let document: Value = serde_json::from_slice(&body).map_err(|err| format!("the manifest is not JSON: {err}"))?;
    let manifest_digest = format!("sha256:{}", hex(&Sha256::digest(&body)));
    let write = |digest: &str, bytes: &[u8]| -> Result<(), String> {
        let hex = checked_digest(digest)?;
        std::fs::write(dir.join("blobs/sha256").join(hex), bytes).map_err(|err| err.to_string())
    };
    write(&manifest_digest, &body)?;
    let mut blobs: Vec<String> = Vec::new();
    if let Some(config) = document.pointer("/config/digest").and_then(Value::as_str) {
        blobs.push(config.to_string());
    }
    for layer in document.get("layers").and_then(Value::as_array).ok_or("the manifest has no layers")? {
        blobs.push(layer.get("digest").and_then(Value::as_str).ok_or("a layer has no digest")?.to_string());
    }
    for digest in &blobs {
        let hex = checked_digest(digest)?;
        session.blob(digest, &dir.join("blobs/sha256").join(hex))?;
    }
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{ "mediaType": document.get("mediaType").cloned().unwrap_or(Value::Null),
                        "digest": manifest_digest, "size": body.len() }],
    });
    std::fs::write(dir.join("index.json"), index.to_string()).map_err(|err| err.to_string())?;
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion": "1.0.0"}"#).map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_as_docker_reads_them() {
        let alpine = Reference::parse("alpine").unwrap();
        assert_eq!(
            (alpine.registry.as_str(), alpine.repository.as_str(), alpine.reference.as_str()),
            ("docker.io", "library/alpine", "latest")
        );
        let local = Reference::parse("127.0.0.1:5000/acme/app:1.2").unwrap();
        assert_eq!(
            (local.registry.as_str(), local.repository.as_str(), local.reference.as_str()),
            ("127.0.0.1:5000", "acme/app", "1.2")
        );
        assert_eq!(local.base_url(), "http://127.0.0.1:5000");
        let pinned = Reference::parse(&format!("ghcr.io/acme/app@sha256:{}", "a".repeat(64))).unwrap();
        assert_eq!(pinned.base_url(), "https://ghcr.io");
        assert!(pinned.reference.starts_with("sha256:"));
        assert!(Reference::parse("https://evil/x").is_err());
        assert!(Reference::parse("acme/../../x").is_err());
        assert!(checked_digest("sha256:../../etc").is_err());
    }
}
