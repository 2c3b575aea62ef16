//! Keys without a key-management API (DeepSeek): a guided, resumable flow.
//!
//! keyhound shows where the key leaked, its balance and the console page;
//! reads the replacement (without echo, or from `KEYHOUND_NEW_KEY_<PROVIDER>`),
//! checks it is live, delivers it, then waits for the exposed key to answer
//! 401. With no person at the terminal it notifies the user's webhooks or
//! commands and records the rotation pending until `--complete` finds the old
//! key dead. An organization's gateway admin API ([`super::gateway`]) replaces
//! the person: create, deliver, deactivate after the grace period.

use std::time::Duration;

use serde_json::Value;

use crate::finding::Secret;
use crate::verify::Status;

use super::gateway::Bindings;
use super::runner::{Outcome, Rotator};
use super::state::Entry;
use super::target::Target;

/// How long an interactive run waits for the old key to die after the person says it is deleted.
const INTERACTIVE_WAIT: Duration = Duration::from_secs(120);

/// Runs the guided flow for one key.
pub(super) fn run(rotator: &mut Rotator<'_>, target: &Target<'_>) -> anyhow::Result<Outcome> {
    let provider = target.provider();
    if rotator.options.gateways.contains_key(&provider) {
        return through_gateway(rotator, target);
    }
    let console = target.console.clone().unwrap_or_else(|| format!("the {provider} console"));
    eprintln!("{}", rotator.masked(&banner(target, &console)));
    let mut delivered = Vec::new();
    if !rotator.options.deliveries.is_empty() {
        let Some(new_secret) = replacement_key(rotator, &provider)? else {
            let message = format!(
                "a live {} ({}) is exposed at {}: create a replacement at {console}, then run keyhound rotate with \
                 KEYHOUND_NEW_KEY_{} set",
                target.rule.description,
                target.redacted(),
                target.locations.join(", "),
                env_suffix(&provider)
            );
            return pending_after_notice(rotator, target, &message, "waiting for a replacement key");
        };
        rotator.learn_secret(&new_secret);
        if new_secret.expose() == target.secret.expose() {
            return Ok(Outcome::Failed("the replacement is the exposed key itself".into()));
        }
        let check = rotator.check(target, new_secret.expose());
        if check.status != Status::Live {
            let reason = format!("the replacement key is not live ({}): nothing was delivered", check.status);
            rotator.record(target, "check-new", "failed", &reason, None)?;
            return Ok(Outcome::Failed(reason));
        }
        rotator.record(target, "check-new", "ok", "the replacement key is live", None)?;
        if let Err(reason) = rotator.deliver_all(target, &new_secret, None)? {
            return Ok(Outcome::Failed(reason));
        }
        delivered = rotator.options.deliveries.iter().map(|delivery| delivery.describe()).collect();
    }
    let wait = if rotator.options.interactive {
        let _ = rpassword::prompt_password(format!(
            "Now delete the exposed key {} at {console}, then press Enter: ",
            target.redacted()
        ));
        rotator.options.wait.max(INTERACTIVE_WAIT)
    } else {
        rotator.options.wait
    };
    let done_detail = if delivered.is_empty() {
        "the exposed key no longer works".to_string()
    } else {
        format!("replacement delivered ({}); the exposed key no longer works", delivered.join(", "))
    };
    match rotator.wait_until_dead(target, wait) {
        Some(verification) if verification.status != Status::Dead => {
            let message = format!(
                "a live {} ({}) is exposed at {}{}: delete it at {console}; `keyhound rotate REPORT --complete` \
                 confirms",
                target.rule.description,
                target.redacted(),
                target.locations.join(", "),
                if delivered.is_empty() { String::new() } else { " and its replacement is delivered".into() },
            );
            pending_after_notice(rotator, target, &message, "the exposed key still works")
        }
        _ => {
            rotator.record(target, "confirm", "ok", &done_detail, None)?;
            Ok(Outcome::Done { detail: done_detail, new_key_id: None })
        }
    }
}

/// Tells the user's webhooks/commands (when not interactive) and records the key pending.
fn pending_after_notice(
    rotator: &mut Rotator<'_>,
    target: &Target<'_>,
    message: &str,
    why: &str,
) -> anyhow::Result<Outcome> {
    let told = if rotator.options.interactive { Vec::new() } else { rotator.notify(target, message)? };
    let detail =
        if told.is_empty() { format!("{why}: {message}") } else { format!("{why}; notified {}", told.join(", ")) };
    rotator.record(target, "pending", "pending", &detail, None)?;
    Ok(Outcome::Pending { detail, new_key_id: None, deactivate_after: None })
}

/// The replacement key: from `KEYHOUND_NEW_KEY_<PROVIDER>`, or typed at the terminal without echo.
fn replacement_key(rotator: &Rotator<'_>, provider: &str) -> anyhow::Result<Option<Secret>> {
    let variable = format!("KEYHOUND_NEW_KEY_{}", env_suffix(provider));
    if let Some(value) = super::env_var(&variable) {
        return Ok(Some(Secret::new(value.trim())));
    }
    if !rotator.options.interactive {
        return Ok(None);
    }
    let typed = rpassword::prompt_password("Paste the replacement key (input is hidden; empty to stop): ")?;
    let typed = typed.trim().to_string();
    Ok((!typed.is_empty()).then(|| Secret::new(typed)))
}

fn env_suffix(provider: &str) -> String {
    provider.to_ascii_uppercase().replace('-', "_")
}

fn banner(target: &Target<'_>, console: &str) -> String {
    let mut text = format!("\n  {} {} is live and exposed at:\n", target.rule.description, target.redacted());
    for location in &target.locations {
        text.push_str(&format!("    {}\n", crate::finding::printable(location)));
    }
    let balance = target.details.get("balance").and_then(Value::as_str);
    let currency = target.details.get("currency").and_then(Value::as_str).unwrap_or("");
    if let Some(balance) = balance {
        text.push_str(&format!("  Balance at stake: {balance} {currency}\n"));
    }
    text.push_str(&format!(
        "  The provider has no API to create or delete keys. Replace it in this order:\n    \
         1. create a new key at {console}\n    \
         2. give it to keyhound (hidden prompt, or KEYHOUND_NEW_KEY_{}) so it is checked and delivered\n    \
         3. delete the exposed key in the console; keyhound confirms it answers 401\n",
        env_suffix(&target.provider())
    ));
    text
}

/// Gateway flow: create → check → deliver → deactivate now, or after the grace period.
fn through_gateway(rotator: &mut Rotator<'_>, target: &Target<'_>) -> anyhow::Result<Outcome> {
    let provider = target.provider();
    let gateway = rotator.options.gateways[&provider].clone();
    let bindings = Bindings { secret: target.secret.expose(), fingerprint: &target.fingerprints[0], new_key_id: None };
    let timeout = rotator.options.verify.request_timeout;
    let (new_secret, new_key_id) = match gateway.create(&provider, &bindings, &rotator.client, timeout) {
        Ok(created) => created,
        Err(reason) => {
            rotator.record(target, "rotate", "failed", &reason, None)?;
            return Ok(Outcome::Failed(reason));
        }
    };
    rotator.learn_secret(&new_secret);
    let id = new_key_id.as_deref();
    rotator.record(target, "rotate", "ok", &format!("the {provider} gateway created a replacement"), id)?;
    let check = rotator.check(target, new_secret.expose());
    if check.status != Status::Live {
        let reason =
            format!("the gateway's new key is not live ({}): nothing delivered, the old key kept", check.status);
        rotator.record(target, "check-new", "failed", &reason, id)?;
        return Ok(Outcome::Failed(reason));
    }
    if let Err(reason) = rotator.deliver_all(target, &new_secret, id)? {
        return Ok(Outcome::Failed(format!("{reason}; the old key was kept working")));
    }
    let grace = gateway.grace();
    if grace.is_zero() {
        let entry = Entry {
            rule: target.rule.id.clone(),
            provider: provider.clone(),
            action: "guided".into(),
            progress: super::state::Progress::Pending,
            updated: super::state::now(),
            detail: String::new(),
            new_key_id: new_key_id.clone(),
            deactivate_after: None,
            resume: None,
        };
        return match deactivate_through_gateway(rotator, target, &entry)? {
            Some(outcome) => Ok(outcome),
            None => rotator.confirm(target, "replacement delivered; old key deactivated".into(), new_key_id),
        };
    }
    let after = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(i64::try_from(grace.as_secs()).unwrap_or(i64::MAX)))
        .unwrap_or(jiff::Timestamp::MAX)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let detail = format!("replacement delivered; the old key is deactivated after {after} by `rotate --complete`");
    Ok(Outcome::Pending { detail, new_key_id, deactivate_after: Some(after) })
}

/// Deactivates the exposed key through the provider's gateway; `None` when
/// there is no gateway or it worked (the caller then confirms).
pub(super) fn deactivate_through_gateway(
    rotator: &mut Rotator<'_>,
    target: &Target<'_>,
    entry: &Entry,
) -> anyhow::Result<Option<Outcome>> {
    let provider = target.provider();
    let Some(gateway) = rotator.options.gateways.get(&provider).cloned() else {
        return Ok(Some(Outcome::Failed(format!(
            "the rotation waits for a gateway deactivation, but --rotate-config has no gateway.{provider}"
        ))));
    };
    let bindings = Bindings {
        secret: target.secret.expose(),
        fingerprint: &target.fingerprints[0],
        new_key_id: entry.new_key_id.as_deref(),
    };
    match gateway.deactivate(&provider, &bindings, &rotator.client, rotator.options.verify.request_timeout) {
        Ok(()) => {
            rotator.record(
                target,
                "deactivate",
                "ok",
                "the gateway deactivated the exposed key",
                entry.new_key_id.as_deref(),
            )?;
            Ok(None)
        }
        Err(reason) => {
            rotator.record(target, "deactivate", "failed", &reason, entry.new_key_id.as_deref())?;
            Ok(Some(Outcome::Failed(reason)))
        }
    }
}
