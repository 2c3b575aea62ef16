//! Google Cloud service-account keys: is the key in a key file still enabled?
//!
//! The key file (the JSON that `gcloud iam service-accounts keys create`
//! writes) holds the private key, its id and the account's email. keyhound
//! signs a short-lived JWT with that key and offers it to Google's OAuth token
//! endpoint (the JWT-bearer grant, read-only: it changes nothing on the
//! account). Google answers with an access token (not kept: the key is live)
//! or `invalid_grant` (the key was deleted or disabled, the account removed).
//! The file's own `token_uri` is ignored: the JWT goes to Google only.

use std::fmt;
use std::path::Path;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::Value;

use super::http::Request;

/// Google's OAuth token endpoint (the default base URL of the verifier).
pub const TOKEN_URL: &str = "https://oauth2.googleapis.com";
/// The scope verification asks for: reading only.
pub const READ_ONLY_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform.read-only";
/// The scope rotation asks for: deleting the key needs more than reading.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// Content type of the token request.
const FORM: &str = "application/x-www-form-urlencoded";
/// Largest key file read.
const MAX_KEY_FILE: u64 = 1 << 20;

/// What a service-account key file says about its key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ServiceAccount {
    /// The account's email (`name@project.iam.gserviceaccount.com`).
    pub client_email: String,
    /// The project the account belongs to.
    pub project_id: String,
    /// The key's id (the finding's secret).
    pub private_key_id: String,
    /// The PEM of the private key.
    private_key: String,
}

impl fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("project_id", &self.project_id)
            .field("private_key_id", &self.private_key_id)
            .finish_non_exhaustive()
    }
}

impl ServiceAccount {
    /// The key file at `path`, if it is the one of key `private_key_id`.
    pub fn from_file(path: &Path, private_key_id: &str) -> Result<ServiceAccount, String> {
        let size = std::fs::metadata(path).map_err(|_| "the key file is not readable any more".to_string())?.len();
        if size > MAX_KEY_FILE {
            return Err("the key file is too large to be a service-account key".into());
        }
        let text = std::fs::read_to_string(path).map_err(|_| "the key file is not readable any more".to_string())?;
        Self::from_json(&text, private_key_id)
    }

    /// The key file's JSON, if it is the one of key `private_key_id`.
    pub fn from_json(text: &str, private_key_id: &str) -> Result<ServiceAccount, String> {
        let json: Value = serde_json::from_str(text).map_err(|_| {
            "the private_key_id is not in a service-account key file (JSON) keyhound can read".to_string()
        })?;
        let field = |name: &str| json.get(name).and_then(Value::as_str).map(str::to_string);
        if field("type").as_deref() != Some("service_account")
            || field("private_key_id").as_deref() != Some(private_key_id)
        {
            return Err("the file is not this key's service-account key file".into());
        }
        match (field("client_email"), field("private_key")) {
            (Some(client_email), Some(private_key)) => Ok(ServiceAccount {
                client_email,
                project_id: field("project_id").unwrap_or_default(),
                private_key_id: private_key_id.to_string(),
                private_key,
            }),
            _ => Err("the key file has no client_email or private_key".into()),
        }
    }
}

/// The token request: a JWT (RS256, valid five minutes from `now`, Unix
/// seconds) signed with the account's key, for the JWT-bearer grant of `scope`.
pub fn token_request(base_url: &str, account: &ServiceAccount, now: u64, scope: &str) -> Result<Request, String> {
    let audience = format!("{TOKEN_URL}/token");
    let header = serde_json::json!({ "alg": "RS256", "typ": "JWT", "kid": account.private_key_id });
    let claims = serde_json::json!({
        "iss": account.client_email,
        "scope": scope,
        "aud": audience,
        "iat": now,
        "exp": now + 300,
    });
    let signing_input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = sign_rs256(&account.private_key, signing_input.as_bytes())?;
    let assertion = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature));
    Ok(Request {
        method: "POST".into(),
        url: format!("{}/token", base_url.trim_end_matches('/')),
        headers: Vec::new(),
        body: Some((
            format!("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}"),
            FORM.into(),
        )),
    })
}

/// An RSA PKCS#1 v1.5 SHA-256 signature with a PKCS#8 PEM key.
fn sign_rs256(pem: &str, message: &[u8]) -> Result<Vec<u8>, String> {
    let body: String = pem.lines().filter(|line| !line.starts_with("-----")).map(str::trim).collect();
    let der = STANDARD.decode(body).map_err(|_| "the key file's private_key is not a PEM key".to_string())?;
    let key = ring::signature::RsaKeyPair::from_pkcs8(&der)
        .map_err(|_| "the key file's private_key is not an RSA PKCS#8 key".to_string())?;
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(&ring::signature::RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), message, &mut signature)
        .map_err(|_| "signing with the key file's private_key failed".to_string())?;
    Ok(signature)
}

/// The current time, Unix seconds.
pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_key_file_of_the_found_key_is_used() {
        let file = r#"{"type": "service_account", "project_id": "acme-prod", "private_key_id": "86794d2dc59d964b4981549837f65361f32f0c16",
            "private_key": "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n", "client_email": "ci@acme-prod.iam.gserviceaccount.com",
            "token_uri": "https://attacker.example/token"}"#;
        let account = ServiceAccount::from_json(file, "86794d2dc59d964b4981549837f65361f32f0c16").unwrap();
        assert_eq!(account.project_id, "acme-prod");
        assert!(!format!("{account:?}").contains("PRIVATE KEY"), "Debug never shows the key");
        assert!(ServiceAccount::from_json(file, "0000000000000000000000000000000000000000").is_err());
        assert!(ServiceAccount::from_json("{\"private_key_id\": 1}", "x").is_err());
        let request = token_request("https://oauth2.googleapis.com", &account, 1_700_000_000, READ_ONLY_SCOPE);
        assert!(request.is_err(), "a key that is not RSA PKCS#8 is named, not sent");
    }
}
