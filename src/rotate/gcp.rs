//! Google Cloud service-account keys: deleted through IAM. The bearer token is
//! the user's (`GOOGLE_OAUTH_ACCESS_TOKEN`, e.g. `gcloud auth print-access-token`)
//! or one the key file itself obtains (which works only when the account may
//! delete its own keys). The token request goes to Google's token endpoint
//! (or the user's `--endpoint gcp-service-account=URL`), never to the file's
//! own `token_uri`.

use serde_json::Value;

use crate::verify::gcp::{self, ServiceAccount};

use super::action::{ActionContext, Effect};
use super::providers::{json_of, request, send, unexpected};

/// Deletes the key of the key file the finding came from.
pub fn delete_key(ctx: &ActionContext<'_>) -> Result<Effect, String> {
    let path = ctx.key_file.ok_or(
        "the key file is not on disk (found in git history or an archive): delete the \
                                   key in the console",
    )?;
    let account = ServiceAccount::from_file(path, ctx.secret)?;
    let token = match super::env_var("GOOGLE_OAUTH_ACCESS_TOKEN") {
        Some(token) => token,
        None => match token_of(ctx, &account)? {
            Some(token) => token,
            None => {
                return Ok(Effect::AlreadyDead(
                    "Google refuses the key (invalid_grant): it is deleted or disabled".into(),
                ))
            }
        },
    };
    let url = ctx.url(&format!(
        "/v1/projects/{}/serviceAccounts/{}/keys/{}",
        account.project_id, account.client_email, account.private_key_id
    ));
    let bearer = format!("Bearer {token}");
    let response = send(ctx, &request("DELETE", url, &[("Authorization", &bearer)], None))?;
    match response.status {
        200 => Ok(Effect::Revoked(format!(
            "IAM deleted key {} of {} (tokens it already issued live until they expire, at most an hour)",
            account.private_key_id, account.client_email
        ))),
        404 => Ok(Effect::AlreadyDead(format!("IAM: key {} no longer exists", account.private_key_id))),
        403 => Err(format!(
            "IAM refused (403): {} may not delete its own keys; set GOOGLE_OAUTH_ACCESS_TOKEN to the token of an \
             account that may (gcloud auth print-access-token)",
            account.client_email
        )),
        _ => Err(unexpected("Google Cloud IAM", &response)),
    }
}

/// A cloud-platform access token obtained with the key file; `None` when Google refuses the key.
fn token_of(ctx: &ActionContext<'_>, account: &ServiceAccount) -> Result<Option<String>, String> {
    let token_url = ctx.endpoints.get("gcp-service-account").map_or(gcp::TOKEN_URL, String::as_str);
    let request = gcp::token_request(token_url, account, gcp::now(), gcp::CLOUD_PLATFORM_SCOPE)?;
    let response = send(ctx, &request)?;
    let body = json_of(&response);
    match (response.status, body.get("error").and_then(Value::as_str)) {
        (200, _) => body
            .get("access_token")
            .and_then(Value::as_str)
            .map(|token| Some(token.to_string()))
            .ok_or_else(|| "Google answered without an access token".to_string()),
        (400, Some("invalid_grant")) => Ok(None),
        _ => Err(unexpected("Google's token endpoint", &response)),
    }
}
