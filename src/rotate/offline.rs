//! Keys no service can be asked about: private keys and JWTs. keyhound cannot
//! replace them, but it can say exactly what a person has to do, and check
//! what it can: a private key's public half among the GitHub user's SSH keys
//! and the repository's deploy keys (with `GITHUB_TOKEN`, and
//! `GITHUB_REPOSITORY` for deploy keys, as GitHub Actions sets), and a JWT's
//! expiry. The key stays pending until `--complete` finds it retired (the
//! public key installed nowhere keyhound can see, or the token expired).

use base64::Engine as _;
use serde_json::Value;

use crate::verify::http::Request;
use crate::verify::private_key::describe;
use crate::verify::Status;

use super::runner::{Outcome, Rotator};
use super::target::Target;

/// Runs the guided flow for a private key or a JWT.
pub(super) fn run(rotator: &mut Rotator<'_>, target: &Target<'_>) -> anyhow::Result<Outcome> {
    if target.rule.verify.as_deref().is_some_and(|verifier| verifier.reads_private_key()) {
        private_key(rotator, target, false)
    } else {
        jwt(rotator, target)
    }
}

/// `--complete` for a private key: done once GitHub shows its public half nowhere.
pub(super) fn complete(rotator: &mut Rotator<'_>, target: &Target<'_>) -> anyhow::Result<Outcome> {
    private_key(rotator, target, true)
}

fn private_key(rotator: &mut Rotator<'_>, target: &Target<'_>, completing: bool) -> anyhow::Result<Outcome> {
    let facts = describe(target.secret.expose());
    let Some(fingerprint) = facts.as_ref().and_then(|facts| facts.fingerprint.clone()) else {
        let detail = "keyhound cannot compute this key's public fingerprint (an encrypted or unusual container): \
                      replace the key pair and remove its public half wherever it is trusted";
        rotator.record(target, "pending", "pending", detail, None)?;
        return Ok(Outcome::Pending { detail: detail.into(), new_key_id: None, deactivate_after: None });
    };
    let kind = facts.map(|facts| facts.kind).unwrap_or_default();
    let installed = match github_installations(rotator, &fingerprint) {
        Ok(found) => Some(found),
        Err(reason) => {
            rotator.record(target, "lookup", "failed", &reason, None)?;
            None
        }
    };
    let checked = github_scope();
    match (&installed, completing, &checked) {
        (Some(found), true, Some(scope)) if found.is_empty() => {
            let detail = format!("the {kind} key {fingerprint} is no longer installed in {scope}");
            rotator.record(target, "confirm", "ok", &detail, None)?;
            return Ok(Outcome::Done { detail, new_key_id: None });
        }
        (_, true, _) if rotator.options.interactive => {
            let answer = rpassword::prompt_password(format!(
                "Is the {kind} key {fingerprint} removed from every place that trusted it? Type yes: "
            ))?;
            if answer.trim().eq_ignore_ascii_case("yes") {
                let detail =
                    format!("the {kind} key {fingerprint} was retired (confirmed by {})", super::state::current_user());
                rotator.record(target, "confirm", "ok", &detail, None)?;
                return Ok(Outcome::Done { detail, new_key_id: None });
            }
        }
        _ => {}
    }
    let mut places: Vec<String> = installed.unwrap_or_default();
    if let Some(public) = target.details.get("public_key_next_to_it").and_then(Value::as_str) {
        places.push(format!("the public key file next to it ({public})"));
    }
    let where_text = if places.is_empty() {
        match checked {
            Some(scope) => format!("not installed in {scope}; check authorized_keys and other places"),
            None => "unknown to keyhound (set GITHUB_TOKEN, and GITHUB_REPOSITORY for deploy keys, to look in GitHub)"
                .to_string(),
        }
    } else {
        places.join("; ")
    };
    let message = format!(
        "an exposed {kind} private key ({fingerprint}) at {}: make a new key pair, install its public half where \
         the old one is trusted, then remove the old public key. Installed: {where_text}. \
         `keyhound rotate REPORT --complete` checks again",
        target.locations.join(", ")
    );
    let told = if rotator.options.interactive || completing { Vec::new() } else { rotator.notify(target, &message)? };
    let detail = if told.is_empty() { message } else { format!("{message}; notified {}", told.join(", ")) };
    rotator.record(target, "pending", "pending", &detail, None)?;
    Ok(Outcome::Pending { detail, new_key_id: None, deactivate_after: None })
}

/// What GitHub lookups cover: the token's user and, when named, the repository.
fn github_scope() -> Option<String> {
    super::env_var("GITHUB_TOKEN")?;
    Some(match super::env_var("GITHUB_REPOSITORY") {
        Some(repository) => format!("GitHub (your SSH keys and the deploy keys of {repository})"),
        None => "GitHub (your SSH keys)".to_string(),
    })
}

/// Where GitHub trusts the key with `fingerprint` (empty without `GITHUB_TOKEN`).
fn github_installations(rotator: &Rotator<'_>, fingerprint: &str) -> Result<Vec<String>, String> {
    let Some(token) = super::env_var("GITHUB_TOKEN") else { return Ok(Vec::new()) };
    let base = rotator.options.verify.endpoints.get("github").map_or("https://api.github.com", String::as_str);
    let mut lists = vec![("/user/keys".to_string(), "your GitHub SSH key".to_string())];
    if let Some(repository) = super::env_var("GITHUB_REPOSITORY") {
        if repository.split('/').count() == 2
            && repository.chars().all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
        {
            lists.push((format!("/repos/{repository}/keys"), format!("a deploy key of {repository}")));
        }
    }
    let mut found = Vec::new();
    for (path, place) in lists {
        let request = Request {
            method: "GET".into(),
            url: format!("{}{path}?per_page=100", base.trim_end_matches('/')),
            headers: vec![
                ("Authorization".into(), format!("Bearer {token}")),
                ("Accept".into(), "application/vnd.github+json".into()),
                ("X-GitHub-Api-Version".into(), "2022-11-28".into()),
            ],
            body: None,
        };
        let response = rotator.client.send(&request, rotator.options.verify.request_timeout)?;
        if response.status != 200 {
            return Err(format!("GitHub answered HTTP {} listing {path}", response.status));
        }
        let keys: Value = serde_json::from_str(&response.body).unwrap_or(Value::Null);
        for key in keys.as_array().into_iter().flatten() {
            let blob = key
                .get("key")
                .and_then(Value::as_str)
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|encoded| base64::engine::general_purpose::STANDARD.decode(encoded).ok());
            if blob.is_some_and(|blob| crate::verify::private_key::fingerprint(&blob) == fingerprint) {
                let title = key.get("title").and_then(Value::as_str).unwrap_or("untitled");
                let id = key.get("id").map(Value::to_string).unwrap_or_default();
                found.push(format!("{place} \"{title}\" (id {id})"));
            }
        }
    }
    Ok(found)
}

/// A JWT: done when it has expired, else pending with what its claims say.
fn jwt(rotator: &mut Rotator<'_>, target: &Target<'_>) -> anyhow::Result<Outcome> {
    let verification = rotator.check(target, target.secret.expose());
    let claim = |name: &str| verification.details.get(name).and_then(Value::as_str).map(str::to_string);
    if verification.status == Status::Dead {
        let detail = format!("the token expired ({})", claim("expires_at").unwrap_or_default());
        rotator.record(target, "confirm", "ok", &detail, None)?;
        return Ok(Outcome::Done { detail, new_key_id: None });
    }
    let issuer = claim("iss").map_or("its issuer".to_string(), |iss| format!("its issuer ({iss})"));
    let expiry = claim("expires_at").map_or("it has no expiry".to_string(), |at| format!("it expires at {at}"));
    let message = format!(
        "an exposed JWT at {}: revoke its session or rotate the signing key at {issuer} ({expiry}); \
         `keyhound rotate REPORT --complete` records it done once it has expired",
        target.locations.join(", ")
    );
    let told = if rotator.options.interactive { Vec::new() } else { rotator.notify(target, &message)? };
    let detail = if told.is_empty() { message } else { format!("{message}; notified {}", told.join(", ")) };
    rotator.record(target, "pending", "pending", &detail, None)?;
    Ok(Outcome::Pending { detail, new_key_id: None, deactivate_after: None })
}
