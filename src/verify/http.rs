//! The HTTP side of verification: one `ureq` agent (rustls, no redirects, so
//! a secret never follows a redirect elsewhere), bounded bodies, and network
//! failures turned into reasons instead of errors.

use std::io::Read;
use std::time::Duration;

use base64::Engine as _;

/// Largest response body read (bytes).
const MAX_BODY: u64 = 1 << 20;

/// A request ready to send.
#[derive(Debug, Clone)]
pub struct Request {
    /// GET, POST or HEAD.
    pub method: String,
    /// Full URL.
    pub url: String,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body and content type.
    pub body: Option<(String, String)>,
}

impl Request {
    /// `text` with every part of this request that may carry a secret (URL,
    /// path segments, query values, header values, body) cut out: a failure
    /// message is shown and stored, and must never repeat the request.
    pub fn scrub(&self, text: &str) -> String {
        let mut parts: Vec<&str> = vec![self.url.as_str()];
        let after_host = self.url.split("://").nth(1).and_then(|rest| rest.find('/').map(|at| &rest[at..]));
        if let Some(path) = after_host {
            parts.push(path);
            parts.extend(path.split(['/', '?', '&', '=', '#']));
        }
        for (_, value) in &self.headers {
            parts.push(value);
            parts.extend(value.split_whitespace());
        }
        if let Some((body, _)) = &self.body {
            parts.push(body);
            parts.extend(body.split(|c: char| c == '"' || c == '&' || c == '=' || c.is_whitespace()));
        }
        parts.retain(|part| part.len() >= 6);
        parts.sort_by_key(|part| std::cmp::Reverse(part.len()));
        let mut scrubbed = text.to_string();
        for part in parts {
            if scrubbed.contains(part) {
                scrubbed = scrubbed.replace(part, "[request]");
            }
        }
        scrubbed
    }

    /// Adds an `Authorization: Basic` header.
    pub fn basic_auth(&mut self, user: &str, password: &str) {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.headers.push(("Authorization".into(), format!("Basic {token}")));
    }
}

/// What came back.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type` (lowercase), or empty.
    pub content_type: String,
    /// Body as text (at most 1 MiB).
    pub body: String,
    /// `Retry-After`, when given in seconds.
    pub retry_after: Option<Duration>,
    /// The headers a verifier may record (`details = { scopes = "header:x-oauth-scopes" }`),
    /// by lowercase name.
    pub headers: std::collections::BTreeMap<String, String>,
}

impl Response {
    /// Whether trying again later may give an answer (429 or 5xx).
    pub fn is_retryable(&self) -> bool {
        self.status == 429 || (500..600).contains(&self.status)
    }
}

/// Response headers that say what a key may do (scopes, permissions) and
/// may be recorded as verification details; nothing else is kept.
pub const RECORDABLE_HEADERS: [&str; 7] = [
    "x-oauth-scopes",
    "x-accepted-oauth-scopes",
    "x-oauth-client-id",
    "x-gitlab-meta",
    "openai-organization",
    "anthropic-organization-id",
    // GitLab: how many items a list has (a token's projects).
    "x-total",
];

/// An HTTP client for verification.
#[derive(Debug, Clone)]
pub struct Client {
    agent: ureq::Agent,
}

impl Client {
    /// A client; `connect_timeout` bounds connection set-up (DNS, TCP, TLS).
    pub fn new(connect_timeout: Duration) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(connect_timeout)
            .redirects(0)
            .user_agent(concat!("keyhound/", env!("CARGO_PKG_VERSION"), " (secret verification)"))
            .build();
        Client { agent }
    }

    /// Sends `request`, waiting at most `timeout` in all; a failure is a reason.
    pub fn send(&self, request: &Request, timeout: Duration) -> Result<Response, String> {
        let mut call = self.agent.request(&request.method, &request.url).timeout(timeout);
        for (name, value) in &request.headers {
            call = call.set(name, value);
        }
        let result = match &request.body {
            Some((body, content_type)) => call.set("Content-Type", content_type).send_string(body),
            None => call.call(),
        };
        let response = match result {
            Ok(response) | Err(ureq::Error::Status(_, response)) => response,
            Err(ureq::Error::Transport(transport)) => return Err(request.scrub(&describe_transport(&transport))),
        };
        let status = response.status();
        let content_type = response.header("content-type").unwrap_or_default().to_ascii_lowercase();
        let retry_after =
            response.header("retry-after").and_then(|value| value.trim().parse::<u64>().ok()).map(Duration::from_secs);
        let headers = response
            .headers_names()
            .into_iter()
            .filter(|name| RECORDABLE_HEADERS.contains(&name.to_ascii_lowercase().as_str()))
            .filter_map(|name| Some((name.to_ascii_lowercase(), response.header(&name)?.to_string())))
            .collect();
        let mut body = Vec::new();
        response
            .into_reader()
            .take(MAX_BODY)
            .read_to_end(&mut body)
            .map_err(|err| request.scrub(&format!("network: reading the answer failed: {}", err.kind())))?;
        Ok(Response { status, content_type, body: String::from_utf8_lossy(&body).into_owned(), retry_after, headers })
    }
}

/// A transport failure in words that never hold the request: its kind, and
/// the underlying I/O error's kind. ureq's own text starts with the full URL,
/// which can carry the secret (`/bot<token>/getMe`, `?access_token=`).
fn describe_transport(transport: &ureq::Transport) -> String {
    use std::error::Error as _;
    let io_kind = transport.source().and_then(|source| source.downcast_ref::<std::io::Error>()).map(|err| err.kind());
    if io_kind == Some(std::io::ErrorKind::TimedOut)
        || io_kind == Some(std::io::ErrorKind::WouldBlock)
        || transport.to_string().contains("timed out")
        || transport.message().is_some_and(|message| message.contains("Timeout"))
    {
        return "timeout".into();
    }
    let mut text = format!("network: {}", transport.kind());
    if let Some(message) = transport.message() {
        text.push_str(&format!(": {message}"));
    }
    if let Some(kind) = io_kind {
        text.push_str(&format!(" ({kind})"));
    }
    text
}
