//! "Update the applications": putting a replacement key where the
//! applications read it. A `.env`-style file (atomic rewrite that keeps every
//! other line), HashiCorp Vault KV v2 (`VAULT_ADDR`, `VAULT_TOKEN`), or the
//! user's command. The new key is never printed.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};

use crate::verify::http::{Client, Request};

use super::hooks::{run_command, HOOK_TIMEOUT};
use super::state::write_atomically;

/// Where a replacement key goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// A `.env`-style file; the variable to set, or the line holding the old key.
    EnvFile {
        /// The file.
        path: PathBuf,
        /// The variable to set; `None` replaces whichever variable holds the old key.
        variable: Option<String>,
    },
    /// A Vault KV v2 secret.
    Vault {
        /// Secrets engine mount (`secret`).
        mount: String,
        /// Secret path under the mount.
        path: String,
        /// Field to set; `None` replaces whichever field holds the old key.
        field: Option<String>,
    },
    /// A command that receives `{"old_secret", "new_secret", "new_key_id", "finding"}` on stdin.
    Exec(String),
}

/// What a delivery needs to know.
pub struct Handover<'a> {
    /// The exposed key (to find where it is used).
    pub old_secret: &'a str,
    /// The replacement.
    pub new_secret: &'a str,
    /// The replacement's id at the provider.
    pub new_key_id: Option<&'a str>,
    /// The finding, redacted (for the exec hook).
    pub finding: &'a Value,
    /// HTTP client (Vault).
    pub client: &'a Client,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl Delivery {
    /// Parses `--deliver-env FILE[:VAR]`.
    pub fn env_file(text: &str) -> Result<Delivery, String> {
        let (path, variable) = match text.rsplit_once(':') {
            Some((path, variable)) if is_variable_name(variable) && !path.is_empty() => {
                (path, Some(variable.to_string()))
            }
            _ => (text, None),
        };
        if path.is_empty() {
            return Err("expected FILE or FILE:VARIABLE, e.g. .env:DEEPSEEK_API_KEY".into());
        }
        Ok(Delivery::EnvFile { path: PathBuf::from(path), variable })
    }

    /// Parses `--deliver-vault MOUNT/PATH[#FIELD]`.
    pub fn vault(text: &str) -> Result<Delivery, String> {
        let (location, field) = match text.split_once('#') {
            Some((location, field)) if !field.is_empty() => (location, Some(field.to_string())),
            Some(_) => return Err(format!("`{text}`: the field after `#` is empty")),
            None => (text, None),
        };
        let (mount, path) = location
            .trim_matches('/')
            .split_once('/')
            .filter(|(mount, path)| !mount.is_empty() && !path.is_empty())
            .ok_or_else(|| format!("`{text}`: expected MOUNT/PATH[#FIELD], e.g. secret/myapp#DEEPSEEK_API_KEY"))?;
        Ok(Delivery::Vault { mount: mount.to_string(), path: path.to_string(), field })
    }

    /// For plans and messages.
    pub fn describe(&self) -> String {
        match self {
            Delivery::EnvFile { path, variable: Some(variable) } => format!("set {variable} in {}", path.display()),
            Delivery::EnvFile { path, variable: None } => format!("replace the exposed key in {}", path.display()),
            Delivery::Vault { mount, path, field } => {
                format!("write Vault KV {mount}/{path}{}", field.as_ref().map(|f| format!("#{f}")).unwrap_or_default())
            }
            Delivery::Exec(command) => format!("run `{command}`"),
        }
    }

    /// Delivers the new key; returns what was done.
    pub fn deliver(&self, handover: &Handover<'_>) -> Result<String, String> {
        match self {
            Delivery::EnvFile { path, variable } => {
                let text = match std::fs::read_to_string(path) {
                    Ok(text) => text,
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound && variable.is_some() => String::new(),
                    Err(err) => return Err(format!("cannot read {}: {err}", path.display())),
                };
                let updated = update_env_text(&text, variable.as_deref(), handover.old_secret, handover.new_secret)
                    .map_err(|problem| format!("{}: {problem}", path.display()))?;
                write_atomically(path, updated.as_bytes()).map_err(|err| format!("{err:#}"))?;
                Ok(self.describe())
            }
            Delivery::Vault { mount, path, field } => deliver_to_vault(mount, path, field.as_deref(), handover),
            Delivery::Exec(command) => {
                let input = json!({
                    "event": "deliver",
                    "old_secret": handover.old_secret,
                    "new_secret": handover.new_secret,
                    "new_key_id": handover.new_key_id,
                    "finding": handover.finding,
                });
                run_command(command, &input.to_string(), HOOK_TIMEOUT)?;
                Ok(self.describe())
            }
        }
    }
}

fn is_variable_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// One `NAME=value` line, split so that the value can be replaced in place.
struct Assignment<'a> {
    /// Everything up to and including `=` and an opening quote.
    head: &'a str,
    name: &'a str,
    value: &'a str,
    /// The closing quote, a comment, the line ending.
    tail: &'a str,
}

fn parse_assignment(line: &str) -> Option<Assignment<'_>> {
    let body = line.trim_start();
    let body = body.strip_prefix("export ").map(str::trim_start).unwrap_or(body);
    let eq = body.find('=')?;
    let name = body[..eq].trim_end();
    if !is_variable_name(name) {
        return None;
    }
    let value_start = line.len() - body.len() + eq + 1;
    let rest = &line[value_start..];
    let leading = rest.len() - rest.trim_start().len();
    let rest_trimmed = &rest[leading..];
    let (open, quote) = match rest_trimmed.chars().next() {
        Some(quote @ ('"' | '\'')) => (leading + 1, Some(quote)),
        _ => (leading, None),
    };
    let value_from = value_start + open;
    let after = &line[value_from..];
    let value_len = match quote {
        Some(quote) => after.find(quote).unwrap_or(after.trim_end_matches(['\r', '\n']).len()),
        None => after.find([' ', '\t', '#', '\r', '\n']).unwrap_or(after.len()),
    };
    Some(Assignment { head: &line[..value_from], name, value: &after[..value_len], tail: &after[value_len..] })
}

/// The `.env` text with the new key in place of the old (or set for `variable`).
/// A value that is a connection string with the old key as its password
/// (`postgres://app:OLD@db/app`) gets the new password in the same place.
pub fn update_env_text(text: &str, variable: Option<&str>, old: &str, new: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len() + new.len());
    let mut replaced = 0;
    let in_uri = format!(":{old}@");
    for line in text.split_inclusive('\n') {
        match parse_assignment(line) {
            Some(assignment) if variable.map_or(assignment.value == old, |variable| assignment.name == variable) => {
                out.push_str(assignment.head);
                out.push_str(new);
                out.push_str(assignment.tail);
                replaced += 1;
            }
            Some(assignment)
                if variable.is_none() && assignment.value.contains("://") && assignment.value.contains(&in_uri) =>
            {
                out.push_str(assignment.head);
                out.push_str(&assignment.value.replacen(&in_uri, &format!(":{new}@"), 1));
                out.push_str(assignment.tail);
                replaced += 1;
            }
            _ => out.push_str(line),
        }
    }
    match (replaced, variable) {
        (0, Some(variable)) => {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&format!("{variable}={new}\n"));
        }
        (0, None) => return Err("no variable holds the exposed key; name the one to set with FILE:VARIABLE".into()),
        _ => {}
    }
    Ok(out)
}

fn deliver_to_vault(mount: &str, path: &str, field: Option<&str>, handover: &Handover<'_>) -> Result<String, String> {
    let address = super::env_var("VAULT_ADDR").ok_or("--deliver-vault needs VAULT_ADDR")?;
    let token = super::env_var("VAULT_TOKEN").ok_or("--deliver-vault needs VAULT_TOKEN")?;
    let url = format!("{}/v1/{mount}/data/{path}", address.trim_end_matches('/'));
    let headers = vec![("X-Vault-Token".to_string(), token)];
    let read = Request { method: "GET".into(), url: url.clone(), headers: headers.clone(), body: None };
    let response = handover.client.send(&read, handover.timeout).map_err(|err| format!("Vault: {err}"))?;
    let (mut data, version) = match response.status {
        200 => {
            let body: Value =
                serde_json::from_str(&response.body).map_err(|err| format!("Vault answered non-JSON: {err}"))?;
            let data = body.pointer("/data/data").and_then(Value::as_object).cloned().unwrap_or_default();
            let version = body.pointer("/data/metadata/version").and_then(Value::as_u64).unwrap_or(0);
            (data, version)
        }
        404 => (serde_json::Map::new(), 0),
        status => return Err(format!("Vault answered HTTP {status} reading {mount}/{path}")),
    };
    let field = match field {
        Some(field) => field.to_string(),
        None => data
            .iter()
            .find(|(_, value)| value.as_str() == Some(handover.old_secret))
            .map(|(name, _)| name.clone())
            .ok_or_else(|| format!("no field of Vault {mount}/{path} holds the exposed key; name it with #FIELD"))?,
    };
    data.insert(field.clone(), Value::String(handover.new_secret.to_string()));
    let body = json!({ "options": { "cas": version }, "data": data });
    let write =
        Request { method: "POST".into(), url, headers, body: Some((body.to_string(), "application/json".into())) };
    let response = handover.client.send(&write, handover.timeout).map_err(|err| format!("Vault: {err}"))?;
    if (200..300).contains(&response.status) {
        Ok(format!("wrote Vault KV {mount}/{path}#{field} (after version {version})"))
    } else {
        Err(format!("Vault answered HTTP {} writing {mount}/{path}", response.status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_holding_the_old_key_is_replaced_and_every_other_line_kept() {
        let text = "# app\nexport DEEPSEEK_API_KEY=\"sk-old\" # prod\r\nOTHER=1\nUNRELATED=sk-older\n";
        let updated = update_env_text(text, None, "sk-old", "sk-new").unwrap();
        assert_eq!(updated, "# app\nexport DEEPSEEK_API_KEY=\"sk-new\" # prod\r\nOTHER=1\nUNRELATED=sk-older\n");
    }

    #[test]
    fn a_connection_string_gets_the_new_password_in_place_of_the_old() {
        let text = "DATABASE_URL=postgres://app:Old9pw@db:5432/app?sslmode=require\nOTHER=postgres://x:Old9pwX@db/x\n";
        let updated = update_env_text(text, None, "Old9pw", "New7pw").unwrap();
        assert_eq!(
            updated,
            "DATABASE_URL=postgres://app:New7pw@db:5432/app?sslmode=require\nOTHER=postgres://x:Old9pwX@db/x\n"
        );
    }

    #[test]
    fn a_named_variable_is_set_or_appended() {
        assert_eq!(update_env_text("A=1\nKEY='x'\n", Some("KEY"), "old", "new").unwrap(), "A=1\nKEY='new'\n");
        assert_eq!(update_env_text("A=1", Some("KEY"), "old", "new").unwrap(), "A=1\nKEY=new\n");
        assert_eq!(update_env_text("", Some("KEY"), "old", "new").unwrap(), "KEY=new\n");
    }

    #[test]
    fn without_a_variable_a_file_lacking_the_old_key_is_an_error() {
        let err = update_env_text("A=1\n", None, "sk-old", "sk-new").unwrap_err();
        assert!(err.contains("FILE:VARIABLE"), "{err}");
    }

    #[test]
    fn delivery_targets_parse_from_flags() {
        assert_eq!(
            Delivery::env_file("config/.env:DEEPSEEK_API_KEY").unwrap(),
            Delivery::EnvFile { path: "config/.env".into(), variable: Some("DEEPSEEK_API_KEY".into()) }
        );
        assert_eq!(Delivery::env_file("C:.env").unwrap(), Delivery::EnvFile { path: "C:.env".into(), variable: None });
        assert_eq!(
            Delivery::vault("secret/apps/web#API_KEY").unwrap(),
            Delivery::Vault { mount: "secret".into(), path: "apps/web".into(), field: Some("API_KEY".into()) }
        );
        assert!(Delivery::vault("secret").is_err());
        assert!(Delivery::vault("secret/app#").is_err());
    }
}
