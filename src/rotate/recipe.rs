//! Provider rotations described as data: which requests retire (and where the
//! provider can, replace) a key, and how each answer reads. One interpreter
//! ([`run`]) serves every recipe in [`super::recipes`]; base URLs are fixed
//! there and only the user's `--endpoint NAME=URL` moves them.
//!
//! Templates in paths, headers and bodies: `{secret}` (the exposed key),
//! `{secret_id}` (the id a key carries inside it), `{management}` (the user's
//! management credential), `{credential}` (the management credential when
//! set, else the exposed key), `{companion:RULE}` (a same-file secret of another
//! rule, e.g. an account SID), and any name a lookup captured (`{id}`). In
//! paths and forms values are percent-encoded, except `{raw:name}`.

use std::collections::BTreeMap;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use crate::finding::Secret;
use crate::verify::http::Request;

use super::action::{ActionContext, Effect};
use super::providers::{json_of, send, unexpected};

/// What values are percent-encoded in paths and forms: all but RFC 3986's unreserved characters.
const ENCODED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// What a recipe does to the exposed key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Revoke (or delete) it; nothing replaces it.
    Revoke,
    /// The provider issues a new value and retires the old one in the same request.
    Roll,
    /// Create a new key, deliver and check it, then revoke the old one.
    Replace,
}

/// How requests authenticate.
#[derive(Debug, Clone, Copy)]
pub struct Auth {
    /// Headers (name, value template).
    pub headers: &'static [(&'static str, &'static str)],
    /// HTTP Basic (user template, password template).
    pub basic: Option<(&'static str, &'static str)>,
}

/// No authentication: the key travels in the request itself.
pub const NO_AUTH: Auth = Auth { headers: &[], basic: None };

/// `Authorization: Bearer <key>`.
pub const BEARER: Auth = Auth { headers: &[("Authorization", "Bearer {secret}")], basic: None };

/// A management credential the user may give in the environment; when set it
/// authenticates instead of the exposed key.
#[derive(Debug, Clone, Copy)]
pub struct Management {
    /// The environment variable holding it.
    pub variable: &'static str,
    /// How it authenticates (`{management}` is its value).
    pub auth: Auth,
}

/// How a lookup picks an element of a JSON array.
#[derive(Debug, Clone, Copy)]
pub enum Pick {
    /// The element whose field equals the exposed key.
    Equals(&'static str),
    /// The element whose field (a shown prefix) begins the exposed key.
    PrefixOfKey(&'static str),
    /// The element whose field equals the exposed key's last four characters.
    LastFour(&'static str),
}

/// A value a request's answer provides for later templates.
#[derive(Debug, Clone, Copy)]
pub struct Capture {
    /// The variable's name (`{name}` in templates; `{json:name}` in JSON bodies keeps its JSON form).
    pub name: &'static str,
    /// JSON pointer into the answer (into the picked element when `pick` is set).
    pub pointer: &'static str,
}

/// A request body.
#[derive(Debug, Clone, Copy)]
pub enum Body {
    /// No body.
    Empty,
    /// JSON text; string values are templates, `"{json:name}"` inserts a captured value as is.
    Json(&'static str),
    /// Form fields (name, value template), URL-encoded.
    Form(&'static [(&'static str, &'static str)]),
}

/// One request of a recipe.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    /// HTTP method.
    pub method: &'static str,
    /// Path (and query) template, appended to the base URL.
    pub path: &'static str,
    /// The body.
    pub body: Body,
    /// Statuses that mean it worked.
    pub ok: &'static [u16],
    /// Answers that mean the exposed key is already dead: status, and optionally a
    /// JSON pointer and the value it must hold (a 401 alone may mean "no permission").
    pub gone: &'static [(u16, Option<(&'static str, &'static str)>)],
    /// For lookups in a list: which element.
    pub pick: Option<(&'static str, Pick)>,
    /// Values taken from the answer.
    pub captures: &'static [Capture],
}

/// A provider's rotation.
#[derive(Debug)]
pub struct Recipe {
    /// The action name in rule files and the audit trail.
    pub name: &'static str,
    /// The provider, as `--endpoint NAME=URL` names it.
    pub endpoint: &'static str,
    /// The default base URL; empty when only the user can say it (self-hosted servers).
    pub base_url: &'static str,
    /// An environment variable that may hold the base URL instead (`VAULT_ADDR`).
    pub base_url_variable: Option<&'static str>,
    /// What it does.
    pub shape: Shape,
    /// How the exposed key authenticates.
    pub auth: Auth,
    /// A management credential used instead, when set.
    pub management: Option<Management>,
    /// Whether the recipe cannot work without the management credential.
    pub management_required: bool,
    /// Finds what the other requests need (the key's id...).
    pub lookup: Option<Call>,
    /// Issues the new key (roll or create).
    pub create: Option<Call>,
    /// JSON pointers of the new key and its id in the create answer.
    pub new_key: (&'static str, Option<&'static str>),
    /// Revokes the exposed key.
    pub revoke: Option<Call>,
    /// Whether the revoke request works without a create first (`--revoke-only`);
    /// Twilio's promotion needs the secondary token it promotes.
    pub revoke_alone: bool,
    /// The rule whose companion the new key id replaces (a new access id for a new access key).
    pub new_id_companion: Option<&'static str>,
    /// The id a key carries inside it (`tskey-api-<id>-...`).
    pub secret_id: Option<fn(&str) -> Option<String>>,
    /// What the action does, for the dry-run plan.
    pub describe: &'static str,
    /// What it needs, for the dry-run plan.
    pub needs: &'static str,
    /// The provider's documentation of these endpoints.
    pub docs: &'static str,
}

impl Recipe {
    /// Whether a run issues a new key (which must then go somewhere).
    pub fn issues_new_key(&self, revoke_only: bool) -> bool {
        match self.shape {
            Shape::Revoke => false,
            Shape::Roll | Shape::Replace => !(revoke_only && self.can_revoke_alone()),
        }
    }

    /// Whether `--revoke-only` can retire the key without issuing a new one.
    pub fn can_revoke_alone(&self) -> bool {
        self.revoke.is_some() && self.revoke_alone
    }
}

/// Values known while a recipe runs.
pub struct Vars<'a> {
    ctx: &'a ActionContext<'a>,
    management: Option<String>,
    captured: BTreeMap<String, Value>,
}

impl<'a> Vars<'a> {
    /// The exposed key, the management credential (when the user set it) and the key's own id.
    pub fn new(recipe: &Recipe, ctx: &'a ActionContext<'a>) -> Vars<'a> {
        let management = recipe.management.and_then(|management| super::env_var(management.variable));
        let mut captured = BTreeMap::new();
        if let Some(id) = recipe.secret_id.and_then(|extract| extract(ctx.secret)) {
            captured.insert("secret_id".to_string(), Value::String(id));
        }
        Vars { ctx, management, captured }
    }

    fn value(&self, name: &str) -> Result<String, String> {
        if name == "secret" {
            return Ok(self.ctx.secret.to_string());
        }
        if name == "credential" {
            return Ok(self.management.clone().unwrap_or_else(|| self.ctx.secret.to_string()));
        }
        if name == "management" {
            return self.management.clone().ok_or_else(|| "no management credential is set".to_string());
        }
        if let Some(rule) = name.strip_prefix("companion:") {
            return self
                .ctx
                .companions
                .get(rule)
                .cloned()
                .ok_or_else(|| format!("no {rule} was found next to the key (it is needed to act on it)"));
        }
        match self.captured.get(name) {
            Some(Value::String(text)) => Ok(text.clone()),
            Some(value) => Ok(value.to_string()),
            None => Err(format!("the provider's answer did not give `{name}`")),
        }
    }

    /// `template` with every `{name}` replaced; `encode` percent-encodes values (paths, forms).
    fn fill(&self, template: &str, encode: bool) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = rest[open..].find('}').ok_or_else(|| format!("unclosed `{{` in `{template}`"))? + open;
            let name = &rest[open + 1..close];
            // `{raw:name}`: a value that is itself a path (`<id>/<token>`), never encoded.
            let (name, raw) = name.strip_prefix("raw:").map_or((name, false), |name| (name, true));
            let value = self.value(name)?;
            // A raw value is a path the provider gave; it must stay a path on the same host.
            if raw && !(value.starts_with('/') && !value.starts_with("//") && !value.contains("://")) {
                return Err(format!("`{name}` is not a path on the provider's host"));
            }
            let encode = encode && !raw;
            if encode {
                out.extend(utf8_percent_encode(&value, ENCODED));
            } else {
                out.push_str(&value);
            }
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn fill_json(&self, value: &mut Value) -> Result<(), String> {
        match value {
            Value::String(text) => {
                if let Some(name) = text.strip_prefix("{json:").and_then(|name| name.strip_suffix('}')) {
                    *value = self.captured.get(name).cloned().unwrap_or(Value::Null);
                } else {
                    *text = self.fill(text, false)?;
                }
            }
            Value::Array(items) => items.iter_mut().try_for_each(|item| self.fill_json(item))?,
            Value::Object(fields) => fields.values_mut().try_for_each(|field| self.fill_json(field))?,
            _ => {}
        }
        Ok(())
    }
}

/// The base URL: the user's `--endpoint` override, else the recipe's variable, else its default.
pub fn base_url(recipe: &Recipe, overrides: &BTreeMap<String, String>) -> String {
    overrides
        .get(recipe.endpoint)
        .cloned()
        .or_else(|| recipe.base_url_variable.and_then(super::env_var))
        .unwrap_or_else(|| recipe.base_url.to_string())
}

/// Where a run ended, for the runner.
pub enum Step {
    /// Done with the provider (revoked, rolled, or already dead).
    Finished(Effect),
    /// A new key exists; the old one is retired by [`retire`] once the new one is delivered and checked.
    Issued {
        /// The new key.
        new_secret: Secret,
        /// Its id.
        new_key_id: Option<String>,
        /// What happened.
        detail: String,
    },
}

/// Runs a recipe's first part: lookup, then revoke, roll or create.
pub fn run(recipe: &Recipe, ctx: &ActionContext<'_>) -> Result<Step, String> {
    if ctx.base_url.is_empty() {
        return Err(format!(
            "{} has no fixed address: give --endpoint {}=URL{}",
            recipe.endpoint,
            recipe.endpoint,
            recipe.base_url_variable.map(|name| format!(" or set {name}")).unwrap_or_default()
        ));
    }
    let mut vars = Vars::new(recipe, ctx);
    if recipe.management_required && vars.management.is_none() {
        let variable = recipe.management.map_or("a management credential", |management| management.variable);
        return Err(format!("{} can only be retired with {variable} (the key cannot act on itself)", recipe.endpoint));
    }
    if let Some(lookup) = &recipe.lookup {
        if let Answer::Dead(dead) = call(recipe, lookup, &mut vars, true)? {
            return Ok(Step::Finished(dead));
        }
    }
    let revoke_now = recipe.shape == Shape::Revoke || (ctx.revoke_only && recipe.can_revoke_alone());
    if revoke_now {
        return retire_with(recipe, &mut vars).map(Step::Finished);
    }
    let create = recipe.create.as_ref().ok_or("the recipe has no create request")?;
    let answer = match call(recipe, create, &mut vars, false)? {
        Answer::Dead(dead) => return Ok(Step::Finished(dead)),
        Answer::Body(answer) => answer,
    };
    let (key_pointer, id_pointer) = recipe.new_key;
    let new_secret = answer
        .pointer(key_pointer)
        .and_then(Value::as_str)
        .map(Secret::new)
        .ok_or_else(|| format!("{} answered without the new key", recipe.endpoint))?;
    let new_key_id = id_pointer
        .and_then(|pointer| answer.pointer(pointer))
        .filter(|id| !id.is_null())
        .map(|id| id.as_str().map_or_else(|| id.to_string(), str::to_string));
    Ok(match recipe.shape {
        Shape::Roll => Step::Finished(Effect::Replaced {
            new_secret,
            new_key_id,
            detail: format!("{} issued a new value and retired the exposed one", recipe.endpoint),
        }),
        _ => Step::Issued {
            new_secret,
            new_key_id,
            detail: format!(
                "{} issued a new key; the exposed one is retired once the new one is checked",
                recipe.endpoint
            ),
        },
    })
}

/// Revokes the exposed key (after a replacement was delivered, or on `--complete`).
pub fn retire(recipe: &Recipe, ctx: &ActionContext<'_>) -> Result<Effect, String> {
    let mut vars = Vars::new(recipe, ctx);
    if let Some(lookup) = &recipe.lookup {
        if let Answer::Dead(dead) = call(recipe, lookup, &mut vars, true)? {
            return Ok(dead);
        }
    }
    retire_with(recipe, &mut vars)
}

fn retire_with(recipe: &Recipe, vars: &mut Vars<'_>) -> Result<Effect, String> {
    let revoke = recipe.revoke.as_ref().ok_or_else(|| format!("{} has no way to revoke only", recipe.endpoint))?;
    if let Answer::Dead(dead) = call(recipe, revoke, vars, false)? {
        return Ok(dead);
    }
    Ok(Effect::Revoked(format!("{} revoked the key ({} {})", recipe.endpoint, revoke.method, revoke.path)))
}

/// What one request found.
enum Answer {
    /// The provider says the key is already dead.
    Dead(Effect),
    /// It worked: the answer (the picked element for list lookups).
    Body(Value),
}

/// Sends one request and takes its captures. A lookup (`as_key`) asks about
/// the exposed key, so it authenticates as that key, never as the management credential.
fn call(recipe: &Recipe, call: &Call, vars: &mut Vars<'_>, as_key: bool) -> Result<Answer, String> {
    let request = build(recipe, call, vars, as_key)?;
    let response = send(vars.ctx, &request)?;
    let body = json_of(&response);
    if let Some(reason) = gone(call, response.status, &body) {
        return Ok(Answer::Dead(Effect::AlreadyDead(format!(
            "{}: the key is already revoked or unknown ({reason})",
            recipe.endpoint
        ))));
    }
    if !call.ok.contains(&response.status) {
        return Err(unexpected(recipe.endpoint, &response));
    }
    let source = match call.pick {
        None => body,
        Some((array, pick)) => pick_element(&body, array, pick, vars.ctx.secret)
            .ok_or_else(|| format!("{} lists no key matching the exposed one", recipe.endpoint))?,
    };
    for capture in call.captures {
        let value = source
            .pointer(capture.pointer)
            .filter(|value| !value.is_null())
            .cloned()
            .ok_or_else(|| format!("{} answered without {}", recipe.endpoint, capture.pointer))?;
        vars.captured.insert(capture.name.to_string(), value);
    }
    Ok(Answer::Body(source))
}

fn build(recipe: &Recipe, call: &Call, vars: &Vars<'_>, as_key: bool) -> Result<Request, String> {
    let auth = match (&vars.management, recipe.management) {
        (Some(_), Some(management)) if !as_key => management.auth,
        _ => recipe.auth,
    };
    let path = vars.fill(call.path, true)?;
    let mut request = Request {
        method: call.method.into(),
        url: vars.ctx.url(&path),
        headers: auth
            .headers
            .iter()
            .map(|(name, value)| Ok((name.to_string(), vars.fill(value, false)?)))
            .collect::<Result<_, String>>()?,
        body: None,
    };
    if let Some((user, password)) = auth.basic {
        request.basic_auth(&vars.fill(user, false)?, &vars.fill(password, false)?);
    }
    request.body = match call.body {
        Body::Empty => None,
        Body::Json(template) => {
            let mut value: Value = serde_json::from_str(template).map_err(|err| format!("recipe body: {err}"))?;
            vars.fill_json(&mut value)?;
            Some((value.to_string(), "application/json".into()))
        }
        Body::Form(fields) => {
            let encoded = fields
                .iter()
                .map(|(name, value)| Ok(format!("{name}={}", vars.fill(value, true)?)))
                .collect::<Result<Vec<String>, String>>()?;
            Some((encoded.join("&"), "application/x-www-form-urlencoded".into()))
        }
    };
    Ok(request)
}

fn gone(call: &Call, answered: u16, body: &Value) -> Option<String> {
    call.gone.iter().find_map(|(status, check)| {
        if *status != answered {
            return None;
        }
        match check {
            None => Some(format!("HTTP {status}")),
            Some((pointer, expected)) => {
                let value = body.pointer(pointer)?;
                let text = value.as_str().map_or_else(|| value.to_string(), str::to_string);
                (text == *expected).then(|| format!("HTTP {status}, {pointer} = {expected}"))
            }
        }
    })
}

fn pick_element(body: &Value, array: &str, pick: Pick, secret: &str) -> Option<Value> {
    let items = body.pointer(array)?.as_array()?;
    let last_four = secret.get(secret.len().saturating_sub(4)..).unwrap_or(secret);
    items
        .iter()
        .find(|item| match pick {
            Pick::Equals(field) => item.pointer(field).and_then(Value::as_str) == Some(secret),
            Pick::PrefixOfKey(field) => item
                .pointer(field)
                .and_then(Value::as_str)
                .is_some_and(|shown| shown.len() >= 8 && secret.starts_with(shown.trim_end_matches('*'))),
            Pick::LastFour(field) => item.pointer(field).and_then(Value::as_str) == Some(last_four),
        })
        .cloned()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use serde_json::Value;

    use super::*;
    use crate::verify::http::Client;

    fn with_vars(secret: &str, check: impl FnOnce(&mut Vars<'_>)) {
        let client = Client::new(Duration::from_secs(1));
        let (companions, details, endpoints) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        let ctx = ActionContext {
            client: &client,
            base_url: "https://api.example.com",
            timeout: Duration::from_secs(1),
            secret,
            companions: &companions,
            details: &details,
            revoke_only: false,
            key_file: None,
            endpoints: &endpoints,
        };
        let recipe = &super::super::recipes::RECIPES[0];
        let mut vars = Vars::new(recipe, &ctx);
        check(&mut vars);
    }

    #[test]
    fn values_are_percent_encoded_in_paths_but_unreserved_characters_stay() {
        with_vars("tok/en?x=1 y._~-", |vars| {
            assert_eq!(vars.fill("/keys/{secret}", true).unwrap(), "/keys/tok%2Fen%3Fx%3D1%20y._~-");
            assert_eq!(vars.fill("{secret}", false).unwrap(), "tok/en?x=1 y._~-");
        });
    }

    #[test]
    fn a_raw_path_from_an_answer_must_stay_on_the_providers_host() {
        with_vars("k", |vars| {
            vars.captured.insert("path".into(), Value::String("/api/v2/authentication-tokens/at-1".into()));
            assert_eq!(vars.fill("{raw:path}", true).unwrap(), "/api/v2/authentication-tokens/at-1");
            for hostile in ["https://evil.example/x", "//evil.example/x", "evil.example/x"] {
                vars.captured.insert("path".into(), Value::String(hostile.into()));
                assert!(vars.fill("{raw:path}", true).is_err(), "{hostile}");
            }
        });
    }

    #[test]
    fn json_bodies_fill_strings_and_insert_captured_values_as_they_are() {
        with_vars("s3cret", |vars| {
            vars.captured.insert("scopes".into(), serde_json::json!(["a", "b"]));
            let mut body = serde_json::json!({ "token": "{secret}", "scopes": "{json:scopes}" });
            vars.fill_json(&mut body).unwrap();
            assert_eq!(body, serde_json::json!({ "token": "s3cret", "scopes": ["a", "b"] }));
        });
    }

    #[test]
    fn a_missing_companion_or_capture_is_an_error_that_names_it() {
        with_vars("k", |vars| {
            let err = vars.fill("/a/{companion:twilio-account-sid}", true).unwrap_err();
            assert!(err.contains("twilio-account-sid"), "{err}");
            assert!(vars.fill("/a/{id}", true).unwrap_err().contains("`id`"));
        });
    }
}
