//! Key rotation through an organization's own gateway admin API, for
//! providers without one (DeepSeek behind an LLM gateway). Described in the
//! user's `--rotate-config` file, never in a scanned repository:
//!
//! ```toml
//! [gateway.deepseek]
//! base_url = "https://llm-gateway.example.com"
//! admin_key_env = "KEYHOUND_DEEPSEEK_ADMIN_KEY"   # the default: KEYHOUND_<PROVIDER>_ADMIN_KEY
//! grace = "7d"                                     # keep the old key working this long
//! [gateway.deepseek.create]
//! method = "POST"
//! path = "/admin/keys"
//! body = '{"name": "rotated-{{fingerprint}}"}'
//! new_key = "/key"          # JSON pointers into the answer
//! new_key_id = "/id"
//! [gateway.deepseek.deactivate]
//! method = "POST"
//! path = "/admin/keys/deactivate"
//! body = '{"key_sha256": "{{secret_sha256}}"}'
//! ```
//!
//! Templates may use `{{admin_key}}`, `{{secret}}`, `{{secret_sha256}}`,
//! `{{fingerprint}}` and `{{new_key_id}}`. Requests carry
//! `Authorization: Bearer {{admin_key}}` unless `headers` says otherwise.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::finding::Secret;
use crate::verify::http::{Client, Request};

/// The `--rotate-config` file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateConfig {
    /// Gateways by provider name (`deepseek`).
    #[serde(default)]
    pub gateway: BTreeMap<String, Gateway>,
}

impl RotateConfig {
    /// Reads and checks the file; errors name it.
    pub fn load(path: &Path) -> Result<RotateConfig, String> {
        let text = std::fs::read_to_string(path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        let config: RotateConfig = toml::from_str(&text).map_err(|err| format!("{}: {err}", path.display()))?;
        for (provider, gateway) in &config.gateway {
            if !gateway.base_url.starts_with("https://") && !gateway.base_url.starts_with("http://") {
                return Err(format!("{}: gateway.{provider}.base_url must be an http(s) URL", path.display()));
            }
            parse_duration(&gateway.grace)
                .map_err(|problem| format!("{}: gateway.{provider}.grace: {problem}", path.display()))?;
        }
        Ok(config)
    }
}

/// One provider's gateway.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gateway {
    /// The gateway's base URL.
    pub base_url: String,
    /// Environment variable holding the admin key.
    #[serde(default)]
    pub admin_key_env: Option<String>,
    /// How long the old key keeps working after the new one is delivered (`0`, `30m`, `12h`, `7d`).
    #[serde(default = "no_grace")]
    pub grace: String,
    /// Headers of every request (templates).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Creates the new key.
    pub create: Call,
    /// Deactivates the exposed key.
    pub deactivate: Call,
}

fn no_grace() -> String {
    "0".into()
}

/// One admin-API request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Call {
    /// HTTP method (default POST).
    #[serde(default = "post")]
    pub method: String,
    /// Path (template).
    pub path: String,
    /// JSON body (template).
    #[serde(default)]
    pub body: Option<String>,
    /// JSON pointer to the new key in the answer (create only).
    #[serde(default)]
    pub new_key: Option<String>,
    /// JSON pointer to the new key's id in the answer (create only).
    #[serde(default)]
    pub new_key_id: Option<String>,
}

fn post() -> String {
    "POST".into()
}

/// What templates may refer to.
pub struct Bindings<'a> {
    /// The exposed key.
    pub secret: &'a str,
    /// The finding's fingerprint.
    pub fingerprint: &'a str,
    /// The replacement's id, once known.
    pub new_key_id: Option<&'a str>,
}

impl Gateway {
    /// The grace period.
    pub fn grace(&self) -> Duration {
        parse_duration(&self.grace).unwrap_or_default()
    }

    /// The environment variable that holds the gateway's admin key.
    pub fn admin_key_variable(&self, provider: &str) -> String {
        self.admin_key_env
            .clone()
            .unwrap_or_else(|| format!("KEYHOUND_{}_ADMIN_KEY", provider.to_ascii_uppercase().replace('-', "_")))
    }

    fn admin_key(&self, provider: &str) -> Result<String, String> {
        let variable = self.admin_key_variable(provider);
        super::env_var(&variable).ok_or_else(|| format!("the {provider} gateway needs its admin key in {variable}"))
    }

    fn send(
        &self,
        provider: &str,
        call: &Call,
        bindings: &Bindings<'_>,
        client: &Client,
        timeout: Duration,
    ) -> Result<Value, String> {
        let admin_key = self.admin_key(provider)?;
        let render = |template: &str| {
            template
                .replace("{{admin_key}}", &admin_key)
                .replace("{{secret}}", bindings.secret)
                .replace("{{secret_sha256}}", &hex_sha256(bindings.secret))
                .replace("{{fingerprint}}", bindings.fingerprint)
                .replace("{{new_key_id}}", bindings.new_key_id.unwrap_or(""))
        };
        let mut headers: Vec<(String, String)> =
            self.headers.iter().map(|(name, value)| (name.clone(), render(value))).collect();
        if headers.is_empty() {
            headers.push(("Authorization".into(), format!("Bearer {admin_key}")));
        }
        let request = Request {
            method: call.method.to_ascii_uppercase(),
            url: format!("{}{}", self.base_url.trim_end_matches('/'), render(&call.path)),
            headers,
            body: call.body.as_deref().map(|body| (render(body), "application/json".to_string())),
        };
        let response = client.send(&request, timeout).map_err(|err| format!("{provider} gateway: {err}"))?;
        if !(200..300).contains(&response.status) {
            return Err(format!(
                "the {provider} gateway answered HTTP {} to {} {}",
                response.status, request.method, call.path
            ));
        }
        Ok(serde_json::from_str(&response.body).unwrap_or(Value::Null))
    }

    /// Creates a replacement key; returns it and its id.
    pub fn create(
        &self,
        provider: &str,
        bindings: &Bindings<'_>,
        client: &Client,
        timeout: Duration,
    ) -> Result<(Secret, Option<String>), String> {
        let answer = self.send(provider, &self.create, bindings, client, timeout)?;
        let pointer = self.create.new_key.as_deref().unwrap_or("/key");
        let new_key = answer
            .pointer(pointer)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("the {provider} gateway's answer has no new key at {pointer}"))?;
        let new_key_id = self
            .create
            .new_key_id
            .as_deref()
            .and_then(|pointer| answer.pointer(pointer))
            .map(|id| id.as_str().map_or_else(|| id.to_string(), str::to_string));
        Ok((Secret::new(new_key), new_key_id))
    }

    /// Deactivates the exposed key.
    pub fn deactivate(
        &self,
        provider: &str,
        bindings: &Bindings<'_>,
        client: &Client,
        timeout: Duration,
    ) -> Result<(), String> {
        self.send(provider, &self.deactivate, bindings, client, timeout).map(|_| ())
    }
}

fn hex_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Parses `0`, `90s`, `30m`, `12h`, `7d`, `2w`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| format!("`{text}` is not a duration like 30m, 12h or 7d"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(format!("`{text}`: the unit must be s, m, h, d or w")),
    };
    Ok(Duration::from_secs(number.saturating_mul(seconds)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(7 * 86_400));
        assert!(parse_duration("7 days").is_err());
        assert!(parse_duration("d").is_err());
    }

    #[test]
    fn a_rotate_config_with_a_bad_grace_names_the_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rotate.toml");
        std::fs::write(
            &path,
            "[gateway.deepseek]\nbase_url = \"https://gw\"\ngrace = \"soon\"\n[gateway.deepseek.create]\npath = \"/k\"\n[gateway.deepseek.deactivate]\npath = \"/d\"\n",
        )
        .unwrap();
        let err = RotateConfig::load(&path).unwrap_err();
        assert!(err.contains("rotate.toml") && err.contains("gateway.deepseek.grace"), "{err}");
    }
}
