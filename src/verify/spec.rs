//! Compiled `[rules.verify]` sections: a request template (or a built-in
//! verifier) and how to read the answer.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::rules::schema::{ReachSpec, ResponseMatch, VerifySpec};

use super::http::Response;
use super::{template, Status, Verification};

/// How a verifier asks.
#[derive(Debug, Clone)]
pub enum Method {
    /// An HTTP request from templates.
    Template(RequestTemplate),
    /// AWS STS GetCallerIdentity signed with SigV4 (needs the key id as companion).
    AwsSts,
    /// No request: a JWT's claims are decoded and its expiry checked ([`super::jwt`]).
    JwtOffline,
    /// No request: a private key's type, size and fingerprint ([`super::private_key`]).
    PrivateKeyOffline,
    /// A login to the database host the finding names ([`super::database`]), only with `--verify-network-hosts`.
    Database,
    /// A JWT signed with a service-account key file's key, offered to Google's token endpoint ([`super::gcp`]).
    GcpServiceAccount,
}

/// An HTTP request template.
#[derive(Debug, Clone)]
pub struct RequestTemplate {
    /// GET, POST or HEAD.
    pub method: String,
    /// Path template appended to the base URL.
    pub path: String,
    /// Header name and value template.
    pub headers: Vec<(String, String)>,
    /// Basic auth user and password templates.
    pub basic_auth: Option<[String; 2]>,
    /// Body template and its content type.
    pub body: Option<(String, String)>,
}

/// A validated verifier.
#[derive(Debug, Clone)]
pub struct Verifier {
    /// Provider name (endpoint override key).
    pub provider: String,
    /// The provider's default base URL.
    pub base_url: String,
    /// Other regions' base URLs, asked while the answer is dead.
    pub region_urls: Vec<String>,
    /// How to ask.
    pub method: Method,
    /// Rules whose same-file secret the request needs.
    pub requires: Vec<String>,
    live: Matcher,
    /// Other answers of a valid key.
    also_live: Vec<Matcher>,
    dead: Matcher,
    details: BTreeMap<String, String>,
    /// Further GETs for a live key: path template and the facts each records.
    pub reach: Vec<ReachSpec>,
}

/// Conditions on a response (all given must hold; none given never matches).
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    status: Vec<u16>,
    /// Pointer and the values it may hold (one for `json`, several for `json_any`).
    json: Vec<(String, Vec<Value>)>,
    body_contains: Vec<String>,
}

impl Matcher {
    fn compile(spec: ResponseMatch, which: &str) -> Result<Self, String> {
        let json = spec
            .json
            .into_iter()
            .map(|(pointer, value)| (pointer, vec![value]))
            .chain(spec.json_any)
            .map(|(pointer, values)| {
                if !pointer.is_empty() && !pointer.starts_with('/') {
                    return Err(format!("`{which}.json` key {pointer:?} must be a JSON pointer starting with `/`"));
                }
                if values.is_empty() {
                    return Err(format!("`{which}.json_any` {pointer:?} lists no values"));
                }
                let values = values
                    .into_iter()
                    .map(|value| {
                        serde_json::to_value(value).map_err(|err| format!("`{which}.json` {pointer:?}: {err}"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((pointer, values))
            })
            .collect::<Result<_, _>>()?;
        let matcher = Matcher { status: spec.status, json, body_contains: spec.body_contains };
        if matcher.status.is_empty() && matcher.json.is_empty() && matcher.body_contains.is_empty() {
            return Err(format!("`{which}` needs at least one of status, json, body_contains"));
        }
        Ok(matcher)
    }

    fn matches(&self, response: &Response, json: Option<&Value>) -> bool {
        (self.status.is_empty() || self.status.contains(&response.status))
            && self.json.iter().all(|(pointer, expected)| {
                json.and_then(|json| json.pointer(pointer)).is_some_and(|found| expected.contains(found))
            })
            && self.body_contains.iter().all(|needle| response.body.contains(needle.as_str()))
    }
}

impl Verifier {
    /// Whether verifying sends an HTTP request to the provider (offline checks
    /// and database logins do not).
    pub fn sends_requests(&self) -> bool {
        matches!(self.method, Method::Template(_) | Method::AwsSts | Method::GcpServiceAccount)
    }

    /// Whether verifying reads the key file the secret was found in (service-account keys).
    pub fn reads_key_file(&self) -> bool {
        matches!(self.method, Method::GcpServiceAccount)
    }

    /// Whether the secret is a private key (described offline).
    pub fn reads_private_key(&self) -> bool {
        matches!(self.method, Method::PrivateKeyOffline)
    }

    /// Whether the secret is checked without any request (JWTs, private keys).
    pub fn is_offline(&self) -> bool {
        matches!(self.method, Method::JwtOffline | Method::PrivateKeyOffline)
    }

    /// Whether verifying logs in to the database a connection string names.
    pub fn is_database_login(&self) -> bool {
        matches!(self.method, Method::Database)
    }

    /// Whether the request's path is taken from the secret, a URL (`{{secret.path}}`: webhooks).
    pub fn path_from_secret(&self) -> bool {
        matches!(&self.method, Method::Template(template) if template.path.replace(' ', "").contains("{{secret.path}}"))
    }

    /// The names of the facts a live answer records (`details`).
    pub fn detail_names(&self) -> impl Iterator<Item = &str> {
        self.details.keys().map(String::as_str)
    }

    /// Validates a `[rules.verify]` section; the error says which field is wrong.
    pub fn compile(spec: VerifySpec) -> Result<Self, String> {
        if spec.provider.is_empty()
            || !spec.provider.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err("`verify.provider` must be a lowercase name (letters, digits, `-`)".into());
        }
        let method = match spec.builtin.as_deref() {
            Some("aws-sts") => Method::AwsSts,
            Some("gcp-service-account") => Method::GcpServiceAccount,
            Some("jwt") => Method::JwtOffline,
            Some("private-key") => Method::PrivateKeyOffline,
            Some("database") => Method::Database,
            Some(other) => {
                return Err(format!(
                    "unknown `verify.builtin = \"{other}\"` (supported: aws-sts, gcp-service-account, jwt, private-key, database)"
                ))
            }
            None => Method::Template(request_template(&spec)?),
        };
        if matches!(method, Method::JwtOffline | Method::PrivateKeyOffline | Method::Database) {
            // No HTTP: no URL, no answer to match.
            return Ok(Verifier {
                provider: spec.provider,
                base_url: String::new(),
                region_urls: Vec::new(),
                method,
                requires: Vec::new(),
                live: Matcher::default(),
                also_live: Vec::new(),
                dead: Matcher::default(),
                details: BTreeMap::new(),
                reach: Vec::new(),
            });
        }
        let base_url = match (&method, spec.base_url) {
            (Method::AwsSts, url) => url.unwrap_or_else(|| super::aws::STS_URL.into()),
            (Method::GcpServiceAccount, url) => url.unwrap_or_else(|| super::gcp::TOKEN_URL.into()),
            (_, Some(url)) => url,
            (_, None) => return Err("`verify.base_url` is required".into()),
        };
        for url in std::iter::once(&base_url).chain(&spec.region_urls) {
            if !url.starts_with("https://") {
                return Err(format!(
                    "`verify.base_url`/`region_urls` {url:?} must be https:// (secrets never travel in clear text)"
                ));
            }
        }
        check_details("verify.details", &spec.details)?;
        for (index, reach) in spec.reach.iter().enumerate() {
            if !matches!(method, Method::Template(_)) {
                return Err("`verify.reach` needs an HTTP request template".into());
            }
            if !reach.path.starts_with('/') {
                return Err(format!("`verify.reach[{index}].path = {:?}` must start with `/`", reach.path));
            }
            if reach.details.is_empty() {
                return Err(format!("`verify.reach[{index}]` records no details"));
            }
            check_details(&format!("verify.reach[{index}].details"), &reach.details)?;
        }
        Ok(Verifier {
            provider: spec.provider,
            base_url: base_url.trim_end_matches('/').to_string(),
            region_urls: spec.region_urls.iter().map(|url| url.trim_end_matches('/').to_string()).collect(),
            method,
            requires: spec.requires,
            live: Matcher::compile(spec.live, "verify.live")?,
            also_live: spec
                .also_live
                .into_iter()
                .enumerate()
                .map(|(index, answer)| Matcher::compile(answer, &format!("verify.also_live[{index}]")))
                .collect::<Result<_, _>>()?,
            dead: Matcher::compile(spec.dead, "verify.dead")?,
            details: spec.details,
            reach: spec.reach,
        })
    }

    /// Reads a provider's answer: dead, live (with details) or unknown (why).
    pub fn classify(&self, response: &Response) -> Verification {
        let json: Option<Value> = serde_json::from_str(&response.body).ok();
        // An HTML page (a proxy, WAF or captive portal) counts only where a
        // matcher looks for text in it; a status alone says nothing then.
        let html = response.content_type.contains("text/html");
        let holds = |matcher: &Matcher| {
            matcher.matches(response, json.as_ref()) && (!html || !matcher.body_contains.is_empty())
        };
        if holds(&self.dead) {
            return Verification { status: Status::Dead, details: BTreeMap::new() };
        }
        let live = holds(&self.live) || self.also_live.iter().any(&holds);
        if html && !live {
            return Verification::unknown(format!(
                "HTTP {} with an HTML page instead of an API answer (a proxy, WAF or captive portal?)",
                response.status
            ));
        }
        if live {
            return Verification { status: Status::Live, details: facts(response, json.as_ref(), &self.details) };
        }
        Verification::unknown(match response.status {
            429 => "rate limited (HTTP 429)".to_string(),
            status @ 500..=599 => format!("provider error (HTTP {status})"),
            status => format!("unexpected answer (HTTP {status})"),
        })
    }
}

/// The facts `details` names in a successful answer to a `reach` request.
pub fn reached_details(response: &Response, details: &BTreeMap<String, String>) -> BTreeMap<String, Value> {
    if response.status != 200 {
        return BTreeMap::new();
    }
    let json: Option<Value> = serde_json::from_str(&response.body).ok();
    facts(response, json.as_ref(), details)
}

/// The facts `details` names (name -> pointer or `header:NAME`) that an answer holds.
fn facts(response: &Response, json: Option<&Value>, details: &BTreeMap<String, String>) -> BTreeMap<String, Value> {
    details.iter().filter_map(|(name, pointer)| Some((name.clone(), detail(response, json, pointer)?))).collect()
}

/// One fact of an answer: a recordable header, a JSON pointer, or a pointer
/// with a `*` step (the rest of the pointer in every element of that list).
fn detail(response: &Response, json: Option<&Value>, pointer: &str) -> Option<Value> {
    if let Some(header) = pointer.strip_prefix("header:") {
        return Some(Value::String(response.headers.get(header)?.clone()));
    }
    pointed(json?, pointer)
}

fn pointed(json: &Value, pointer: &str) -> Option<Value> {
    match pointer.split_once("/*") {
        Some((list, rest)) => {
            let items = json.pointer(list)?.as_array()?;
            Some(Value::Array(items.iter().filter_map(|item| pointed(item, rest)).collect()))
        }
        None => json.pointer(pointer).cloned(),
    }
}

/// Checks that every detail is a JSON pointer or a recordable header.
fn check_details(field: &str, details: &BTreeMap<String, String>) -> Result<(), String> {
    for (name, pointer) in details {
        let header = pointer.strip_prefix("header:");
        if header.is_some_and(|header| !super::http::RECORDABLE_HEADERS.contains(&header)) {
            return Err(format!(
                "`{field}.{name}` reads header `{pointer}`: only {} may be recorded",
                super::http::RECORDABLE_HEADERS.join(", ")
            ));
        }
        if header.is_none() && !pointer.is_empty() && !pointer.starts_with('/') {
            return Err(format!("`{field}.{name}` = {pointer:?} must be a JSON pointer (`/a/b`) or `header:NAME`"));
        }
    }
    Ok(())
}

fn request_template(spec: &VerifySpec) -> Result<RequestTemplate, String> {
    let method = spec.method.clone().unwrap_or_else(|| "GET".into()).to_ascii_uppercase();
    if !["GET", "POST", "HEAD"].contains(&method.as_str()) {
        return Err(format!(
            "`verify.method = {method:?}` must be GET, POST or HEAD (verification never changes anything)"
        ));
    }
    let path = spec.path.clone().unwrap_or_default();
    let from_secret_url = path.replace(' ', "").starts_with("{{secret.path}}");
    if !path.is_empty() && !path.starts_with('/') && !from_secret_url {
        return Err(format!("`verify.path = {path:?}` must start with `/`"));
    }
    let check =
        |what: &str, text: &str| template::check(text, &spec.requires).map_err(|err| format!("`verify.{what}`: {err}"));
    check("path", &path)?;
    for (name, value) in &spec.headers {
        check(&format!("headers.{name}"), value)?;
    }
    if let Some([user, password]) = &spec.basic_auth {
        check("basic_auth", user)?;
        check("basic_auth", password)?;
    }
    if let Some(body) = &spec.body {
        check("body", body)?;
    }
    Ok(RequestTemplate {
        method,
        path,
        headers: spec.headers.iter().map(|(name, value)| (name.clone(), value.clone())).collect(),
        basic_auth: spec.basic_auth.clone(),
        body: spec
            .body
            .clone()
            .map(|body| (body, spec.content_type.clone().unwrap_or_else(|| "application/json".into()))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verifier(toml_text: &str) -> Result<Verifier, String> {
        Verifier::compile(toml::from_str(toml_text).unwrap())
    }

    const SLACK: &str = r#"
provider = "slack"
base_url = "https://slack.com/api"
path = "/auth.test"
headers = { Authorization = "Bearer {{secret}}" }
live = { status = [200], json = { "/ok" = true } }
dead = { status = [200], json = { "/error" = "invalid_auth" } }
details = { team = "/team" }
"#;

    fn response(status: u16, content_type: &str, body: &str) -> Response {
        Response {
            status,
            content_type: content_type.into(),
            body: body.into(),
            retry_after: None,
            headers: Default::default(),
        }
    }

    #[test]
    fn reach_requests_are_checked_like_the_main_one() {
        let with = |reach: &str| verifier(&format!("{SLACK}{reach}"));
        assert!(with("[[reach]]\npath = \"/users.list\"\ndetails = { users = \"/members/*/name\" }\n").is_ok());
        let err = with("[[reach]]\npath = \"users.list\"\ndetails = { users = \"/members\" }\n").unwrap_err();
        assert!(err.contains("verify.reach[0].path") && err.contains("must start with `/`"), "{err}");
        let err = with("[[reach]]\npath = \"/users.list\"\ndetails = {}\n").unwrap_err();
        assert!(err.contains("records no details"), "{err}");
        let err = with("[[reach]]\npath = \"/x\"\ndetails = { cookie = \"header:set-cookie\" }\n").unwrap_err();
        assert!(err.contains("verify.reach[0].details.cookie") && err.contains("only"), "{err}");
    }

    #[test]
    fn details_record_json_fields_and_the_scope_headers_a_provider_sends() {
        let slack = verifier(&SLACK.replace(
            r#"details = { team = "/team" }"#,
            r#"details = { team = "/team", scopes = "header:x-oauth-scopes" }"#,
        ))
        .unwrap();
        let mut answer = response(200, "application/json", r#"{"ok": true, "team": "Quill Labs"}"#);
        answer.headers.insert("x-oauth-scopes".into(), "chat:write,users:read".into());
        let verification = slack.classify(&answer);
        assert_eq!(verification.status, Status::Live);
        assert_eq!(verification.details["team"], "Quill Labs");
        assert_eq!(verification.details["scopes"], "chat:write,users:read");
        let unlisted =
            verifier(&SLACK.replace(r#"details = { team = "/team" }"#, r#"details = { c = "header:set-cookie" }"#));
        assert!(unlisted.unwrap_err().contains("only x-oauth-scopes"), "only scope headers may be recorded");
    }

    #[test]
    fn answers_are_read_by_status_and_json() {
        let slack = verifier(SLACK).unwrap();
        let live = slack.classify(&response(200, "application/json", r#"{"ok": true, "team": "Acme"}"#));
        assert_eq!(live.status, Status::Live);
        assert_eq!(live.details["team"], "Acme");
        let dead = slack.classify(&response(200, "application/json", r#"{"ok": false, "error": "invalid_auth"}"#));
        assert_eq!(dead.status, Status::Dead);
        let other = slack.classify(&response(200, "application/json", r#"{"ok": false, "error": "ratelimited"}"#));
        assert!(matches!(other.status, Status::Unknown(_)));
    }

    #[test]
    fn rate_limits_server_errors_and_html_are_unknown_never_dead() {
        let slack = verifier(SLACK).unwrap();
        for (status, content_type, reason) in [
            (429, "application/json", "rate limited"),
            (503, "application/json", "provider error"),
            (200, "text/html; charset=utf-8", "HTML page"),
            (302, "text/plain", "unexpected"),
        ] {
            let result = slack.classify(&response(status, content_type, "{}"));
            assert!(matches!(&result.status, Status::Unknown(why) if why.contains(reason)), "{status}: {result:?}");
        }
    }

    #[test]
    fn invalid_specs_are_explained() {
        let err = verifier(&SLACK.replace("https://slack.com/api", "http://slack.com/api")).unwrap_err();
        assert!(err.contains("https://"), "{err}");
        let err = verifier(&SLACK.replace("{{secret}}", "{{token}}")).unwrap_err();
        assert!(err.contains("unknown placeholder"), "{err}");
        let err = verifier(&format!("method = \"DELETE\"\n{SLACK}")).unwrap_err();
        assert!(err.contains("GET, POST or HEAD"), "{err}");
    }
}
