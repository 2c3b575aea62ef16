//! Rules as data: the compiled [`Rule`] and [`RuleSet`], loaded from the
//! embedded default files in `rules/` and from user configs (see [`load`]).

pub mod examples;
pub mod import;
pub mod load;
pub mod regex_compat;
pub mod repo_config;
pub mod schema;

use std::sync::OnceLock;

use regex::bytes::{Regex, RegexBuilder};

use crate::engine::allow::Allowlist;
use crate::engine::checksum::Checksum;
use crate::finding::Confidence;

pub use load::{ConfigError, RuleSource};

include!(concat!(env!("OUT_DIR"), "/embedded_rules.rs"));

/// Largest compiled program a rule regex may produce (bytes).
const REGEX_SIZE_LIMIT: usize = 16 * (1 << 20);

/// `pattern` without a trailing boundary (`\b`, or `(?:[^...]|$)`), if it has one.
pub fn without_trailing_boundary(pattern: &str) -> Option<&str> {
    if let Some(head) = pattern.strip_suffix(r"\b") {
        // `\\b` is an escaped backslash followed by `b`, not a boundary.
        let backslashes = head.chars().rev().take_while(|&c| c == '\\').count();
        return (backslashes % 2 == 0 && !head.is_empty()).then_some(head);
    }
    let head = pattern.strip_suffix("|$)")?;
    let open = head.rfind("(?:[^")?;
    let class = &head[open + "(?:".len()..];
    (class.ends_with(']') && !class[..class.len() - 1].contains(']') && open > 0).then_some(&head[..open])
}

/// A regex compiled on first use, so that a scan pays only for the rules
/// whose keywords actually occur.
#[derive(Debug)]
pub struct LazyRegex {
    pattern: String,
    compiled: OnceLock<Result<Regex, String>>,
}

impl LazyRegex {
    /// Wraps `pattern` without compiling it.
    pub fn new(pattern: impl Into<String>) -> Self {
        LazyRegex { pattern: pattern.into(), compiled: OnceLock::new() }
    }

    /// Checks the pattern's syntax now (cheap: no compilation) and wraps it
    /// for compilation on first use. The error text says what is wrong.
    pub fn validated(pattern: &str) -> Result<Self, String> {
        regex_compat::parse(pattern)?;
        Ok(LazyRegex::new(pattern))
    }

    /// Whether the pattern matches `haystack`. A pattern that fails to compile
    /// (only possible past the size limits) matches nothing; see [`LazyRegex::failure`].
    pub fn is_match(&self, haystack: &[u8]) -> bool {
        self.get().is_ok_and(|regex| regex.is_match(haystack))
    }

    /// The source pattern.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The compile error, if compilation was attempted and failed.
    pub fn failure(&self) -> Option<&str> {
        self.compiled.get()?.as_ref().err().map(String::as_str)
    }

    /// The compiled regex, compiling it now if needed. Errors (e.g. a pattern
    /// over the size limit) are cached and returned as text.
    pub fn get(&self) -> Result<&Regex, &str> {
        self.compiled.get_or_init(|| compile_bytes_regex(&self.pattern)).as_ref().map_err(String::as_str)
    }
}

/// Compiles a rule pattern for byte haystacks: ASCII semantics first (smaller
/// and faster), falling back to Unicode when the pattern needs it.
pub fn compile_bytes_regex(pattern: &str) -> Result<Regex, String> {
    let pattern = regex_compat::go_to_rust(pattern);
    let build = |unicode: bool| {
        RegexBuilder::new(&pattern)
            .unicode(unicode)
            // `^` and `$` mean line start and end (LF, CRLF or CR), as they do on
            // the line windows the engine searches: a rule finds the same secrets
            // whether it runs on a window or on the whole input.
            .multi_line(true)
            .crlf(true)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(4 * REGEX_SIZE_LIMIT)
            .build()
    };
    build(false).or_else(|_| build(true)).map_err(|err| err.to_string())
}

/// Context that changes a finding's confidence when present in the same file.
#[derive(Debug)]
pub struct Context {
    /// Literals searched (ASCII case-insensitive) anywhere in the file.
    pub keywords: Vec<String>,
    /// Confidence to report when one occurs.
    pub confidence: Confidence,
}

/// A validated detection rule.
#[derive(Debug)]
pub struct Rule {
    /// Unique id.
    pub id: String,
    /// Human description.
    pub description: String,
    /// The content pattern; `None` for a path-only rule.
    pub regex: Option<LazyRegex>,
    /// For the printable strings of binary content: the pattern without its
    /// trailing boundary (`\b`, `(?:[^A-Za-z0-9_-]|$)`), so that a token that
    /// runs straight into the next field's bytes (SQLite records, `.pyc`
    /// constants) is cut at the end of its format. High-confidence rules only.
    pub binary_regex: Option<LazyRegex>,
    /// Capture group holding the secret (`None`: first non-empty group).
    pub secret_group: Option<usize>,
    /// Minimum Shannon entropy of the secret.
    pub entropy: Option<f32>,
    /// Prefilter literals; empty means the rule runs on every file.
    pub keywords: Vec<String>,
    /// Path restriction (matched against the `/`-separated path).
    pub path: Option<LazyRegex>,
    /// Labels.
    pub tags: Vec<String>,
    /// Rule-specific allowlists.
    pub allowlists: Vec<Allowlist>,
    /// Base confidence.
    pub confidence: Confidence,
    /// Optional confidence from file context.
    pub context: Option<Context>,
    /// Optional checksum the secret must pass.
    pub checksum: Option<Checksum>,
    /// Bytes either side of a keyword hit to search, across lines.
    pub window: Option<usize>,
    /// Report only when no other rule found an overlapping secret.
    pub fallback: bool,
    /// Never reported: only a requirement of composite rules (gitleaks `skipReport`).
    pub skip_report: bool,
    /// Rules that must also match nearby for this one to report (gitleaks `[[rules.required]]`).
    pub required: Vec<schema::RequiredSpec>,
    /// How to verify the rule's secrets with the provider.
    pub verify: Option<Box<crate::verify::spec::Verifier>>,
    /// How to revoke or rotate the rule's secrets.
    pub rotate: Option<crate::rotate::action::Rotation>,
    /// Who issues the rule's secrets and where they are managed.
    pub provider: Option<Provider>,
    /// Texts this rule must report.
    pub examples: Vec<String>,
    /// Texts this rule must not report.
    pub negative_examples: Vec<String>,
    /// The file the rule came from.
    pub source: RuleSource,
}

/// The service that issues a rule's secrets (validated [`schema::ProviderSpec`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// Name as people know it.
    pub name: String,
    /// Console page where the keys are managed (an https URL).
    pub console: Option<String>,
    /// Documentation of the keys (an https URL).
    pub docs: Option<String>,
}

/// All rules of a scan plus the global allowlists.
#[derive(Debug, Default)]
pub struct RuleSet {
    /// Rules in a stable order.
    pub rules: Vec<Rule>,
    /// Allowlists applied to every rule.
    pub global_allowlists: Vec<Allowlist>,
}

impl RuleSet {
    /// A short hash of everything that decides what these rules find (with
    /// keyhound's version): blobs scanned under another value are scanned again.
    pub fn version_hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(env!("CARGO_PKG_VERSION"));
        for rule in &self.rules {
            let described = format!(
                "{}\0{:?}\0{:?}\0{:?}\0{:?}\0{:?}\0{:?}\0{}\0{:?}\0{}\n",
                rule.id,
                rule.regex.as_ref().map(LazyRegex::pattern),
                rule.path.as_ref().map(LazyRegex::pattern),
                rule.keywords,
                rule.secret_group,
                rule.entropy,
                rule.checksum,
                rule.allowlists.len(),
                rule.window,
                rule.fallback,
            );
            hasher.update(described.as_bytes());
        }
        hasher.update(self.global_allowlists.len().to_string());
        hasher.finalize().iter().take(8).map(|byte| format!("{byte:02x}")).collect()
    }

    /// keyhound's default rules, embedded at build time, without their
    /// examples (a scan does not need them: see [`RuleSet::with_builtin_examples`]).
    pub fn defaults() -> Result<RuleSet, ConfigError> {
        load::load_defaults()
    }

    /// The same rules with the `examples` and `negative_examples` of every
    /// built-in rule filled in (`keyhound rules test`, the tests). Examples are
    /// embedded apart from the rules, so that a scan neither parses nor keeps them.
    pub fn with_builtin_examples(mut self) -> Result<RuleSet, ConfigError> {
        load::attach_builtin_examples(&mut self)?;
        Ok(self)
    }

    /// Looks a rule up by id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|rule| rule.id == id)
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules at all.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}
