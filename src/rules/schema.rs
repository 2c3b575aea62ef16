//! The on-disk rule/config format: a superset of the gitleaks TOML schema.
//!
//! These types only describe what a file says; [`super::load`] validates them
//! into compiled [`super::Rule`]s. Unknown fields are rejected so that a typo
//! is an error rather than a silently ignored setting.

use serde::Deserialize;

use crate::finding::Confidence;

/// One configuration or rule file (`.keyhound.toml`, `.gitleaks.toml`, `rules/*.toml`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Free-form title (gitleaks).
    #[serde(default)]
    pub title: Option<String>,
    /// Free-form description (gitleaks).
    #[serde(default)]
    pub description: Option<String>,
    /// Minimum gitleaks version (accepted and ignored).
    #[serde(default, rename = "minVersion")]
    pub min_version: Option<String>,
    /// How this config builds on the default rules.
    #[serde(default)]
    pub extend: Option<ExtendSpec>,
    /// Rules defined by this file.
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
    /// The global allowlist (gitleaks before 8.25).
    #[serde(default)]
    pub allowlist: Option<AllowlistSpec>,
    /// Global allowlists (gitleaks 8.25 and later).
    #[serde(default)]
    pub allowlists: Vec<AllowlistSpec>,
}

/// `[extend]`: build on the default rules or another file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtendSpec {
    /// Start from keyhound's default rules.
    #[serde(default, rename = "useDefault")]
    pub use_default: bool,
    /// Start from another config file (relative to this one).
    #[serde(default)]
    pub path: Option<String>,
    /// Ids of base rules to drop.
    #[serde(default, rename = "disabledRules")]
    pub disabled_rules: Vec<String>,
}

/// `[[rules]]`: one detection rule.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Unique rule id, e.g. `deepseek-api-key`.
    pub id: String,
    /// What the rule finds, for humans.
    #[serde(default)]
    pub description: Option<String>,
    /// The pattern (Rust `regex` syntax, RE2-compatible).
    #[serde(default)]
    pub regex: Option<String>,
    /// Which capture group holds the secret.
    #[serde(default, rename = "secretGroup")]
    pub secret_group: Option<usize>,
    /// Minimum Shannon entropy of the secret, in bits per byte.
    #[serde(default)]
    pub entropy: Option<f32>,
    /// Literals (ASCII case-insensitive) that must occur near a match.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Regex the file path must match for the rule to apply.
    #[serde(default)]
    pub path: Option<String>,
    /// Labels.
    #[serde(default)]
    pub tags: Vec<String>,
    /// A single allowlist (gitleaks before 8.25).
    #[serde(default)]
    pub allowlist: Option<AllowlistSpec>,
    /// Allowlists (gitleaks 8.25 and later).
    #[serde(default)]
    pub allowlists: Vec<AllowlistSpec>,
    /// gitleaks 8.28: the rule's matches are never reported; they only serve
    /// as `required` parts of other (composite) rules.
    #[serde(default, rename = "skipReport")]
    pub skip_report: bool,
    /// gitleaks 8.28: a composite rule reports only when each of these rules
    /// also matches nearby in the same input.
    #[serde(default)]
    pub required: Vec<RequiredSpec>,
    /// keyhound: base confidence of the rule's findings.
    #[serde(default)]
    pub confidence: Option<Confidence>,
    /// keyhound: raise (or set) confidence when context words occur in the same file.
    #[serde(default)]
    pub context: Option<ContextSpec>,
    /// keyhound: a named checksum the secret must satisfy (`github-crc32`).
    #[serde(default)]
    pub checksum: Option<String>,
    /// keyhound: bytes searched either side of a keyword hit, across lines.
    #[serde(default)]
    pub window: Option<usize>,
    /// keyhound: only report when no other rule found an overlapping secret.
    #[serde(default)]
    pub fallback: bool,
    /// keyhound: texts this rule must report (tested in CI).
    #[serde(default)]
    pub examples: Vec<String>,
    /// keyhound: texts this rule must not report (tested in CI).
    #[serde(default)]
    pub negative_examples: Vec<String>,
    /// keyhound: how to ask the provider whether a found secret is live.
    #[serde(default)]
    pub verify: Option<VerifySpec>,
    /// keyhound: how to revoke or rotate the rule's secrets when they are live.
    #[serde(default)]
    pub rotate: Option<RotateSpec>,
    /// keyhound: who issues the rule's secrets and where they are managed.
    #[serde(default)]
    pub provider: Option<ProviderSpec>,
}

/// `[rules.provider]` (or `provider = { ... }`): the service that issues a rule's secrets.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSpec {
    /// The provider's name as people know it (`Stripe`, `GitHub`).
    pub name: String,
    /// The page of the provider's console where these keys are managed (https).
    #[serde(default)]
    pub console: Option<String>,
    /// The provider's documentation of these keys (https).
    #[serde(default)]
    pub docs: Option<String>,
}

/// `[[rules.required]]`: a rule that must also match near a composite rule's match.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredSpec {
    /// The required rule's id.
    pub id: String,
    /// At most this many lines away (either direction).
    #[serde(default, rename = "withinLines")]
    pub within_lines: Option<usize>,
    /// At most this many columns away (either direction).
    #[serde(default, rename = "withinColumns")]
    pub within_columns: Option<usize>,
}

/// `[rules.rotate]`: which built-in rotation the rule's secrets get.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateSpec {
    /// A built-in action: `github-revoke`, `gitlab-rotate`, `slack-revoke`, `aws-deactivate`,
    /// `openai-delete`, `anthropic-deactivate`, `npm-delete`, `sendgrid-delete` or `guided`.
    pub action: String,
    /// The provider's console page for managing keys.
    #[serde(default)]
    pub console: Option<String>,
}

/// `[rules.verify]`: an HTTP request that tells live from dead keys.
///
/// Templates may use `{{secret}}` and `{{companion.RULE_ID}}` (the nearest
/// secret of another rule in the same file, e.g. an AWS key id for a secret).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifySpec {
    /// Provider name: the key for `--endpoint NAME=URL` / `KEYHOUND_ENDPOINT_NAME`.
    pub provider: String,
    /// A built-in verifier instead of a template (`aws-sts`).
    #[serde(default)]
    pub builtin: Option<String>,
    /// The provider's HTTPS base URL (only the user running keyhound may override it).
    #[serde(default)]
    pub base_url: Option<String>,
    /// Other regions' base URLs, asked in turn while each region calls the
    /// key invalid (a key works in its own region only): dead only when every
    /// region says so.
    #[serde(default)]
    pub region_urls: Vec<String>,
    /// HTTP method (default GET).
    #[serde(default)]
    pub method: Option<String>,
    /// Path (template) appended to the base URL.
    #[serde(default)]
    pub path: Option<String>,
    /// Request headers (values are templates).
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    /// Basic auth `[user, password]` (templates).
    #[serde(default)]
    pub basic_auth: Option<[String; 2]>,
    /// Request body (template), sent with `content_type`.
    #[serde(default)]
    pub body: Option<String>,
    /// Content type of the body (default `application/json`).
    #[serde(default)]
    pub content_type: Option<String>,
    /// Rules whose secret in the same file this request needs.
    #[serde(default)]
    pub requires: Vec<String>,
    /// What a live answer looks like (not for offline built-ins such as `jwt`).
    #[serde(default)]
    pub live: ResponseMatch,
    /// Other answers that also prove the key valid (`[[rules.verify.also_live]]`:
    /// a Google API key refused by its own restrictions still exists).
    #[serde(default)]
    pub also_live: Vec<ResponseMatch>,
    /// What a dead (revoked, invalid) answer looks like.
    #[serde(default)]
    pub dead: ResponseMatch,
    /// Facts to record from a live answer: name -> JSON pointer (e.g. `/balance_infos/0/total_balance`).
    #[serde(default)]
    pub details: std::collections::BTreeMap<String, String>,
    /// Further read-only GETs made only for a live key, with the same headers,
    /// to record what it can reach (a GitHub token's organisations).
    #[serde(default)]
    pub reach: Vec<ReachSpec>,
}

/// `[[rules.verify.reach]]`: one more GET for a live key and the facts it records.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReachSpec {
    /// Path (template) appended to the base URL.
    pub path: String,
    /// Facts to record: name -> JSON pointer, `header:NAME`, or a pointer with
    /// one `*` step (`/*/login`: that field of every element of a list).
    pub details: std::collections::BTreeMap<String, String>,
}

/// Conditions on a response; all given must hold.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseMatch {
    /// Accepted status codes.
    #[serde(default)]
    pub status: Vec<u16>,
    /// JSON pointer -> expected value in the response body.
    #[serde(default)]
    pub json: std::collections::BTreeMap<String, toml::Value>,
    /// JSON pointer -> the values it may hold (any one of them).
    #[serde(default)]
    pub json_any: std::collections::BTreeMap<String, Vec<toml::Value>>,
    /// Substrings the body must contain.
    #[serde(default)]
    pub body_contains: Vec<String>,
}

/// `context = { keywords = [...], confidence = "high" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextSpec {
    /// Literals whose presence anywhere in the file sets the confidence.
    pub keywords: Vec<String>,
    /// The confidence to report when any context keyword occurs.
    #[serde(default = "high")]
    pub confidence: Confidence,
}

fn high() -> Confidence {
    Confidence::High
}

/// An allowlist: conditions under which a match is not reported.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowlistSpec {
    /// What the allowlist is for.
    #[serde(default)]
    pub description: Option<String>,
    /// `OR` (any criterion suffices, the default) or `AND` (all given criteria).
    #[serde(default)]
    pub condition: Option<String>,
    /// Commit ids whose findings are allowed (git scans).
    #[serde(default)]
    pub commits: Vec<String>,
    /// Path regexes.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Regexes tested against `regexTarget`.
    #[serde(default)]
    pub regexes: Vec<String>,
    /// `secret` (default), `match` or `line`.
    #[serde(default, rename = "regexTarget")]
    pub regex_target: Option<String>,
    /// Substrings (case-insensitive) of the secret that mark it as not a secret.
    #[serde(default)]
    pub stopwords: Vec<String>,
    /// gitleaks 8.25: rule ids a global allowlist applies to.
    #[serde(default, rename = "targetRules")]
    pub target_rules: Vec<String>,
}
