//! The built-in provider actions: one HTTP exchange (or a short lookup and
//! one change) per key, each returning an [`Effect`] or why it failed.

use serde_json::{json, Value};

use crate::finding::Secret;
use crate::verify::aws;
use crate::verify::http::{Request, Response};

use super::action::{ActionContext, ActionKind, Effect};

/// Most tokens in one GitHub revocation request.
pub const GITHUB_BATCH: usize = 1000;

/// Runs a single-key action (everything but the batched GitHub revocation and the guided flow).
pub fn execute(kind: ActionKind, ctx: &ActionContext<'_>) -> Result<Effect, String> {
    match kind {
        ActionKind::GithubRevoke => github_revoke(ctx, &[ctx.secret]),
        ActionKind::GitlabRotate if ctx.revoke_only => gitlab_revoke(ctx),
        ActionKind::GitlabRotate => gitlab_rotate(ctx),
        ActionKind::SlackRevoke => slack_revoke(ctx),
        ActionKind::AwsDeactivate => aws_deactivate(ctx),
        ActionKind::OpenaiDelete => super::admin_keys::openai_delete(ctx),
        ActionKind::AnthropicDeactivate => super::admin_keys::anthropic_deactivate(ctx),
        ActionKind::NpmDelete => npm_delete(ctx),
        ActionKind::SendgridDelete => sendgrid_delete(ctx),
        ActionKind::GcpKeyDelete => super::gcp::delete_key(ctx),
        ActionKind::Guided => Err("the guided flow is not a single request".into()),
        ActionKind::Api(_) => Err("provider recipes run through rotate::recipe".into()),
        ActionKind::DatabasePassword => Err("database passwords are changed by rotate::database".into()),
        ActionKind::OfflineGuided => Err("private keys and JWTs are guided by rotate::offline".into()),
    }
}

/// Sends a request; the error says which provider did not answer.
pub fn send(ctx: &ActionContext<'_>, request: &Request) -> Result<Response, String> {
    ctx.client.send(request, ctx.timeout)
}

/// A request with headers and an optional JSON body.
pub fn request(method: &str, url: String, headers: &[(&str, &str)], body: Option<Value>) -> Request {
    Request {
        method: method.into(),
        url,
        headers: headers.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect(),
        body: body.map(|body| (body.to_string(), "application/json".into())),
    }
}

/// The body as JSON (`null` when it is not JSON).
pub fn json_of(response: &Response) -> Value {
    serde_json::from_str(&response.body).unwrap_or(Value::Null)
}

/// A failure naming the provider, the status and the provider's message.
pub fn unexpected(provider: &str, response: &Response) -> String {
    let body = json_of(response);
    let message = ["/error/message", "/message", "/error", "/errors/0/message", "/errors/0"]
        .iter()
        .find_map(|pointer| body.pointer(pointer).and_then(Value::as_str))
        .map(|message| format!(": {}", message.chars().take(200).collect::<String>()))
        .unwrap_or_default();
    format!("{provider} answered HTTP {}{message}", response.status)
}

/// GitHub's credential-revocation API, up to [`GITHUB_BATCH`] tokens a request.
/// It must be called without authentication; 202 means accepted (asynchronous).
pub fn github_revoke(ctx: &ActionContext<'_>, tokens: &[&str]) -> Result<Effect, String> {
    for chunk in tokens.chunks(GITHUB_BATCH) {
        let request = request(
            "POST",
            ctx.url("/credentials/revoke"),
            &[("Accept", "application/vnd.github+json"), ("X-GitHub-Api-Version", "2022-11-28")],
            Some(json!({ "credentials": chunk })),
        );
        let response = send(ctx, &request)?;
        if response.status != 202 && response.status != 200 {
            return Err(unexpected("GitHub", &response));
        }
    }
    Ok(Effect::Revoked("GitHub accepted the revocation (202); it revokes asynchronously and notifies the owner".into()))
}

fn gitlab_rotate(ctx: &ActionContext<'_>) -> Result<Effect, String> {
    let request =
        request("POST", ctx.url("/api/v4/personal_access_tokens/self/rotate"), &[("PRIVATE-TOKEN", ctx.secret)], None);
    // Never retried: GitLab treats a second rotation with the old token as token
    // theft and revokes the whole token family, the new token included.
    let response = send(ctx, &request)?;
    match response.status {
        200 | 201 => {
            let body = json_of(&response);
            let new_secret = body
                .get("token")
                .and_then(Value::as_str)
                .ok_or("GitLab rotated the token but its answer holds no new token")?;
            let new_key_id = body.get("id").map(|id| id.to_string().trim_matches('"').to_string());
            let expires = body.get("expires_at").and_then(Value::as_str).unwrap_or("no expiry given");
            Ok(Effect::Replaced {
                new_secret: Secret::new(new_secret),
                new_key_id,
                detail: format!("GitLab issued a new token (expires {expires}) and revoked the exposed one"),
            })
        }
        401 => Ok(Effect::AlreadyDead("GitLab: the token is already revoked, expired or unknown (401)".into())),
        403 => Err("GitLab refused (403): the token lacks the `api` or `self_rotate` scope; use --revoke-only".into()),
        _ => Err(unexpected("GitLab", &response)),
    }
}

fn gitlab_revoke(ctx: &ActionContext<'_>) -> Result<Effect, String> {
    let request =
        request("DELETE", ctx.url("/api/v4/personal_access_tokens/self"), &[("PRIVATE-TOKEN", ctx.secret)], None);
    let response = send(ctx, &request)?;
    match response.status {
        200 | 204 => Ok(Effect::Revoked("GitLab revoked the token".into())),
        401 => Ok(Effect::AlreadyDead("GitLab: the token is already revoked, expired or unknown (401)".into())),
        _ => Err(unexpected("GitLab", &response)),
    }
}

fn slack_revoke(ctx: &ActionContext<'_>) -> Result<Effect, String> {
    let bearer = format!("Bearer {}", ctx.secret);
    let mut request = request("POST", ctx.url("/auth.revoke"), &[("Authorization", &bearer)], None);
    request.body = Some((String::new(), "application/x-www-form-urlencoded".into()));
    let response = send(ctx, &request)?;
    if response.status != 200 {
        return Err(unexpected("Slack", &response));
    }
    let body = json_of(&response);
    match (body.get("ok").and_then(Value::as_bool), body.get("error").and_then(Value::as_str)) {
        (Some(true), _) if body.get("revoked").and_then(Value::as_bool) == Some(true) => {
            Ok(Effect::Revoked("Slack revoked the token".into()))
        }
        (Some(true), _) => Err("Slack answered ok but did not revoke the token".into()),
        (_, Some(error @ ("invalid_auth" | "token_revoked" | "account_inactive" | "token_expired"))) => {
            Ok(Effect::AlreadyDead(format!("Slack: the token no longer works ({error})")))
        }
        (_, Some(error)) => Err(format!("Slack refused: {error}")),
        _ => {
            Err(format!("Slack answered something unexpected: {}", response.body.chars().take(200).collect::<String>()))
        }
    }
}

fn aws_deactivate(ctx: &ActionContext<'_>) -> Result<Effect, String> {
    let key_id = ctx
        .companions
        .values()
        .find(|value| value.starts_with("AKIA"))
        .ok_or("no AWS access key id (AKIA...) was found next to the secret key")?;
    let management = super::env_var("AWS_ACCESS_KEY_ID").zip(super::env_var("AWS_SECRET_ACCESS_KEY"));
    let session_token = management.as_ref().and_then(|_| super::env_var("AWS_SESSION_TOKEN"));
    let (signing_id, signing_secret) = management.clone().unwrap_or_else(|| (key_id.clone(), ctx.secret.to_string()));
    let mut body = format!("Action=UpdateAccessKey&Version=2010-05-08&AccessKeyId={key_id}&Status=Inactive");
    // The user owning the key, from verification (`arn:aws:iam::ACCOUNT:user/PATH/NAME`);
    // needed when signing with other (management or temporary) credentials.
    let user = ctx
        .details
        .get("arn")
        .and_then(Value::as_str)
        .and_then(|arn| arn.split_once(":user/"))
        .map(|(_, path)| path.rsplit('/').next().unwrap_or(path).to_string());
    if let (Some(user), true) = (&user, management.is_some()) {
        body.push_str(&format!("&UserName={user}"));
    }
    let host = ctx.base_url.split("://").nth(1).unwrap_or(ctx.base_url).split('/').next().unwrap_or_default();
    let amz_date = aws::amz_date_now();
    let authorization = aws::sign(&aws::SignInput {
        method: "POST",
        host,
        path: "/",
        query: "",
        content_type: aws::CONTENT_TYPE,
        payload: &body,
        key_id: &signing_id,
        secret: &signing_secret,
        amz_date: &amz_date,
        region: "us-east-1",
        service: "iam",
        security_token: session_token.as_deref(),
    });
    let mut headers = vec![("X-Amz-Date".to_string(), amz_date), ("Authorization".to_string(), authorization)];
    if let Some(token) = session_token {
        headers.push(("X-Amz-Security-Token".into(), token));
    }
    let request =
        Request { method: "POST".into(), url: ctx.url("/"), headers, body: Some((body, aws::CONTENT_TYPE.into())) };
    let response = send(ctx, &request)?;
    let code = aws::xml_field(&response.body, "Code").unwrap_or_default();
    let signer = if management.is_some() { "the management credentials" } else { "the exposed key itself" };
    match (response.status, code.as_str()) {
        (200, _) => Ok(Effect::Revoked(format!("IAM set access key {key_id} Inactive (signed with {signer})"))),
        (404, _) | (_, "NoSuchEntity") => Ok(Effect::AlreadyDead(format!("IAM: access key {key_id} no longer exists"))),
        (403, "InvalidClientTokenId") if management.is_none() => {
            Ok(Effect::AlreadyDead(format!("IAM: access key {key_id} is no longer valid")))
        }
        (_, code) if !code.is_empty() => {
            let message = aws::xml_field(&response.body, "Message").unwrap_or_default();
            Err(format!("IAM refused with {code} (signed with {signer}): {message}"))
        }
        _ => Err(unexpected("AWS IAM", &response)),
    }
}

fn npm_delete(ctx: &ActionContext<'_>) -> Result<Effect, String> {
    let bearer = format!("Bearer {}", ctx.secret);
    // The registry accepts the token itself in place of its key (sha512) here.
    let url = ctx.url(&format!("/-/npm/v1/tokens/token/{}", ctx.secret));
    let response = send(ctx, &request("DELETE", url, &[("Authorization", &bearer)], None))?;
    match response.status {
        200 | 204 => Ok(Effect::Revoked(
            "npm deleted the token (the registry may honour cached copies for up to an hour)".into(),
        )),
        401 | 404 => Ok(Effect::AlreadyDead(format!("npm: the token no longer exists ({})", response.status))),
        _ => Err(unexpected("npm", &response)),
    }
}

fn sendgrid_delete(ctx: &ActionContext<'_>) -> Result<Effect, String> {
    let key_id = ctx
        .secret
        .strip_prefix("SG.")
        .and_then(|rest| rest.split_once('.'))
        .map(|(id, _)| id)
        .filter(|id| !id.is_empty())
        .ok_or("not a SendGrid key of the form SG.<id>.<secret>")?;
    let management = super::env_var("SENDGRID_MANAGEMENT_KEY");
    let bearer = format!("Bearer {}", management.as_deref().unwrap_or(ctx.secret));
    let url = ctx.url(&format!("/v3/api_keys/{key_id}"));
    let response = send(ctx, &request("DELETE", url, &[("Authorization", &bearer)], None))?;
    match response.status {
        200 | 204 => Ok(Effect::Revoked(format!("SendGrid deleted API key {key_id}"))),
        404 => Ok(Effect::AlreadyDead(format!("SendGrid: API key {key_id} no longer exists"))),
        401 if management.is_none() => Ok(Effect::AlreadyDead("SendGrid: the key no longer works (401)".into())),
        403 => Err("SendGrid refused (403): the key lacks the api_keys scope; set SENDGRID_MANAGEMENT_KEY".into()),
        _ => Err(unexpected("SendGrid", &response)),
    }
}
