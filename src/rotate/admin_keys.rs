//! Providers whose keys are managed with a separate admin key (OpenAI,
//! Anthropic): list the organization's keys, find the exposed one by the
//! redacted hint the provider shows (`sk-abc...xyz`), then delete or disable it.
//! The admin key comes only from the environment.

use serde_json::{json, Value};

use super::action::{ActionContext, Effect};
use super::providers::{json_of, request, send, unexpected};

/// Most pages read while looking for a key.
const MAX_PAGES: usize = 200;

/// Whether a provider's redacted hint (`sk-abc...xyz`, `sk-ant-api03-R2D...igAA`)
/// can be `secret`: the part before the dots or stars is its start, the part after its end.
pub fn hint_matches(hint: &str, secret: &str) -> bool {
    let Some(gap_start) = hint.find(['.', '*', '…']) else { return false };
    let gap_end = hint.rfind(['.', '*', '…']).map(|end| end + hint[end..].chars().next().map_or(1, char::len_utf8));
    let (prefix, suffix) = (&hint[..gap_start], &hint[gap_end.unwrap_or(hint.len())..]);
    prefix.len() >= 3
        && !suffix.is_empty()
        && secret.len() >= prefix.len() + suffix.len()
        && secret.starts_with(prefix)
        && secret.ends_with(suffix)
}

fn admin_key(variable: &str, provider: &str) -> Result<String, String> {
    super::env_var(variable).ok_or_else(|| {
        format!("{provider} keys are retired with an admin key: set {variable} (it is read only from the environment)")
    })
}

/// Reads every page of a list endpoint; `next` builds the next URL from the last page.
fn list_all(
    ctx: &ActionContext<'_>,
    provider: &str,
    headers: &[(&str, &str)],
    first: String,
    next: impl Fn(&Value) -> Option<String>,
) -> Result<Vec<Value>, String> {
    let mut items = Vec::new();
    let mut url = Some(first);
    for _ in 0..MAX_PAGES {
        let Some(current) = url.take() else { break };
        let response = send(ctx, &request("GET", current, headers, None))?;
        if response.status != 200 {
            return Err(unexpected(provider, &response));
        }
        let page = json_of(&response);
        items.extend(page.get("data").and_then(Value::as_array).cloned().unwrap_or_default());
        if page.get("has_more").and_then(Value::as_bool) == Some(true) {
            url = next(&page);
        }
    }
    Ok(items)
}

/// The single item whose hint matches the secret.
fn find_one<'a>(items: &'a [Value], hint_field: &str, secret: &str, provider: &str) -> Result<&'a Value, String> {
    let matching: Vec<&Value> = items
        .iter()
        .filter(|item| item.get(hint_field).and_then(Value::as_str).is_some_and(|hint| hint_matches(hint, secret)))
        .collect();
    match matching.as_slice() {
        [one] => Ok(one),
        [] => Err(format!(
            "no {provider} key in the organization matches the exposed key (already deleted, or another organization)"
        )),
        many => Err(format!("{} {provider} keys match the exposed key's hint; retire it in the console", many.len())),
    }
}

fn id_of(item: &Value) -> Result<&str, String> {
    item.get("id").and_then(Value::as_str).ok_or_else(|| "a listed key has no id".to_string())
}

/// OpenAI: find the key among admin keys (`sk-admin-`) or every project's keys, and delete it.
pub fn openai_delete(ctx: &ActionContext<'_>) -> Result<Effect, String> {
    let admin = admin_key("OPENAI_ADMIN_KEY", "OpenAI")?;
    let bearer = format!("Bearer {admin}");
    let headers = [("Authorization", bearer.as_str())];
    let after = |base: String| {
        move |page: &Value| page.get("last_id").and_then(Value::as_str).map(|last| format!("{base}&after={last}"))
    };
    let delete_url = if ctx.secret.starts_with("sk-admin-") {
        let base = ctx.url("/v1/organization/admin_api_keys?limit=100");
        let keys = list_all(ctx, "OpenAI", &headers, base.clone(), after(base))?;
        ctx.url(&format!(
            "/v1/organization/admin_api_keys/{}",
            id_of(find_one(&keys, "redacted_value", ctx.secret, "OpenAI")?)?
        ))
    } else {
        let base = ctx.url("/v1/organization/projects?limit=100");
        let projects = list_all(ctx, "OpenAI", &headers, base.clone(), after(base))?;
        let mut found = None;
        for project in &projects {
            let project_id = id_of(project)?;
            let base = ctx.url(&format!("/v1/organization/projects/{project_id}/api_keys?limit=100"));
            let keys = list_all(ctx, "OpenAI", &headers, base.clone(), after(base))?;
            if let Ok(key) = find_one(&keys, "redacted_value", ctx.secret, "OpenAI") {
                found = Some(ctx.url(&format!("/v1/organization/projects/{project_id}/api_keys/{}", id_of(key)?)));
                break;
            }
        }
        found.ok_or("no OpenAI project key matches the exposed key (already deleted, or another organization)")?
    };
    let response = send(ctx, &request("DELETE", delete_url, &headers, None))?;
    match response.status {
        200 | 204 => Ok(Effect::Revoked("OpenAI deleted the key".into())),
        404 => Ok(Effect::AlreadyDead("OpenAI: the key no longer exists".into())),
        _ => Err(unexpected("OpenAI", &response)),
    }
}

/// Anthropic: find the key by its `partial_key_hint` and set it inactive.
pub fn anthropic_deactivate(ctx: &ActionContext<'_>) -> Result<Effect, String> {
    let admin = admin_key("ANTHROPIC_ADMIN_KEY", "Anthropic")?;
    let headers = [("x-api-key", admin.as_str()), ("anthropic-version", "2023-06-01")];
    let base = ctx.url("/v1/organizations/api_keys?limit=1000");
    let next = {
        let base = base.clone();
        move |page: &Value| page.get("last_id").and_then(Value::as_str).map(|last| format!("{base}&after_id={last}"))
    };
    let keys = list_all(ctx, "Anthropic", &headers, base, next)?;
    let key = find_one(&keys, "partial_key_hint", ctx.secret, "Anthropic")?;
    let id = id_of(key)?;
    if key.get("status").and_then(Value::as_str).is_some_and(|status| status != "active") {
        return Ok(Effect::AlreadyDead(format!(
            "Anthropic: key {id} is already {}",
            key["status"].as_str().unwrap_or("")
        )));
    }
    let url = ctx.url(&format!("/v1/organizations/api_keys/{id}"));
    let response = send(ctx, &request("POST", url, &headers, Some(json!({ "status": "inactive" }))))?;
    match response.status {
        200 => Ok(Effect::Revoked(format!("Anthropic set key {id} inactive"))),
        404 => Ok(Effect::AlreadyDead(format!("Anthropic: key {id} no longer exists"))),
        _ => Err(unexpected("Anthropic", &response)),
    }
}

#[cfg(test)]
mod tests {
    use super::hint_matches;

    #[test]
    fn redacted_hints_match_only_their_key() {
        let key = "sk-ant-api03-R2D4xxxxxxxxxxxxxxxxxxxxigAA";
        assert!(hint_matches("sk-ant-api03-R2D...igAA", key));
        assert!(hint_matches("sk-ant-api03-R2D***igAA", key));
        assert!(!hint_matches("sk-ant-api03-R2E...igAA", key));
        assert!(!hint_matches("sk-ant-api03-R2D...igAB", key));
        assert!(hint_matches("sk-abc…xyz", "sk-abc123xyz"));
        assert!(!hint_matches("sk-abc", "sk-abc"), "a hint without a gap is not a hint");
        assert!(!hint_matches("...xyz", "sk-xyz"), "a hint needs a prefix");
    }
}
