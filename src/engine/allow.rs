//! Allowlists: conditions (paths, regexes, stopwords, commits) under which a
//! match is not reported, with gitleaks' `OR`/`AND` semantics.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};

use std::sync::OnceLock;

use crate::rules::schema::AllowlistSpec;
use crate::rules::LazyRegex;

/// What an allowlist's `regexes` are tested against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegexTarget {
    /// The secret (capture group).
    Secret,
    /// The whole regex match.
    Match,
    /// The whole line containing the match.
    Line,
    /// The secret decoded from base64 or hex (the secret itself when it is
    /// neither): a Kubernetes `data:` value that encodes `changeme`.
    Decoded,
}

/// A match being considered for reporting.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// The rule that matched.
    pub rule_id: &'a str,
    /// The secret bytes.
    pub secret: &'a [u8],
    /// The whole match.
    pub matched: &'a [u8],
    /// The line(s) containing the match.
    pub line: &'a [u8],
    /// Normalised path, if the bytes came from a file.
    pub path: Option<&'a str>,
    /// Commit id, for history scans.
    pub commit: Option<&'a str>,
}

/// A compiled allowlist.
#[derive(Debug)]
pub struct Allowlist {
    /// What it is for.
    pub description: Option<String>,
    require_all: bool,
    commits: Vec<String>,
    /// All `paths` entries as one alternation (one compile, one search).
    paths: Option<LazyRegex>,
    /// All `regexes` entries as one alternation.
    regexes: Option<LazyRegex>,
    target: RegexTarget,
    stopwords: Vec<String>,
    stopword_automaton: OnceLock<Option<AhoCorasick>>,
    target_rules: Vec<String>,
    /// Whether it comes from a config file (not keyhound's own rules): its
    /// suppressions are counted, so a scanned repository cannot hide findings silently.
    pub from_config_file: bool,
}

impl Allowlist {
    /// Validates and compiles an allowlist; the error says which field is wrong.
    pub fn compile(spec: AllowlistSpec) -> Result<Self, String> {
        Self::compile_checked(spec, true)
    }

    /// [`Allowlist::compile`], parsing each regex now only when `validate` is set
    /// (built-in rule files are checked when keyhound is built).
    pub fn compile_checked(spec: AllowlistSpec, validate: bool) -> Result<Self, String> {
        let require_all = match spec.condition.as_deref().map(str::to_ascii_uppercase).as_deref() {
            None | Some("OR") => false,
            Some("AND") => true,
            Some(other) => return Err(format!("`condition = \"{other}\"` must be \"OR\" or \"AND\"")),
        };
        let target = match spec.regex_target.as_deref() {
            None | Some("secret") => RegexTarget::Secret,
            Some("match") => RegexTarget::Match,
            Some("line") => RegexTarget::Line,
            Some("decoded") => RegexTarget::Decoded,
            Some(other) => {
                return Err(format!(
                    "`regexTarget = \"{other}\"` must be \"secret\", \"match\", \"line\" or \"decoded\""
                ))
            }
        };
        let paths = union_of(&spec.paths, "paths", validate)?;
        let regexes = union_of(&spec.regexes, "regexes", validate)?;
        if spec.stopwords.iter().any(String::is_empty) {
            return Err("`stopwords` must not contain an empty string".into());
        }
        let commits = spec.commits.iter().map(|commit| commit.to_ascii_lowercase()).collect();
        Ok(Allowlist {
            description: spec.description,
            require_all,
            commits,
            paths,
            regexes,
            target,
            stopwords: spec.stopwords,
            stopword_automaton: OnceLock::new(),
            target_rules: spec.target_rules,
            from_config_file: false,
        })
    }

    /// Whether this allowlist suppresses `candidate`.
    pub fn allows(&self, candidate: &Candidate<'_>) -> bool {
        if !self.target_rules.is_empty() && !self.target_rules.iter().any(|id| id == candidate.rule_id) {
            return false;
        }
        let checks = [
            (!self.commits.is_empty()).then(|| self.commit_matches(candidate.commit)),
            self.paths.is_some().then(|| self.path_matches(candidate.path)),
            self.regexes.is_some().then(|| self.regex_matches(candidate)),
            (!self.stopwords.is_empty()).then(|| self.stopword_matches(candidate.secret)),
        ];
        let mut given = checks.iter().flatten().peekable();
        if given.peek().is_none() {
            return false;
        }
        if self.require_all {
            given.all(|passed| *passed)
        } else {
            given.any(|passed| *passed)
        }
    }

    /// Whether every match in `path` is suppressed whatever its content, so
    /// the file need not be scanned at all.
    pub fn allows_whole_path(&self, path: &str) -> bool {
        let only_paths = self.commits.is_empty()
            && self.regexes.is_none()
            && self.stopwords.is_empty()
            && self.target_rules.is_empty();
        (only_paths || !self.require_all) && self.target_rules.is_empty() && self.path_matches(Some(path))
    }

    fn commit_matches(&self, commit: Option<&str>) -> bool {
        commit.is_some_and(|commit| self.commits.iter().any(|allowed| commit.eq_ignore_ascii_case(allowed)))
    }

    fn path_matches(&self, path: Option<&str>) -> bool {
        match (&self.paths, path) {
            (Some(paths), Some(path)) => paths.is_match(path.as_bytes()),
            _ => false,
        }
    }

    /// Stopwords are matched by one case-insensitive automaton, built on first use.
    fn stopword_matches(&self, secret: &[u8]) -> bool {
        let automaton = self
            .stopword_automaton
            .get_or_init(|| AhoCorasickBuilder::new().ascii_case_insensitive(true).build(&self.stopwords).ok());
        match automaton {
            Some(automaton) => automaton.is_match(secret),
            // Building only fails past aho-corasick's size limits: fall back to a plain search.
            None => {
                let secret = secret.to_ascii_lowercase();
                self.stopwords
                    .iter()
                    .any(|word| memchr::memmem::find(&secret, word.to_ascii_lowercase().as_bytes()).is_some())
            }
        }
    }

    fn regex_matches(&self, candidate: &Candidate<'_>) -> bool {
        let Some(regexes) = &self.regexes else {
            return false;
        };
        match self.target {
            RegexTarget::Secret => regexes.is_match(candidate.secret),
            RegexTarget::Match => regexes.is_match(candidate.matched),
            RegexTarget::Line => regexes.is_match(candidate.line),
            RegexTarget::Decoded => match crate::source::decode::decode_value(candidate.secret) {
                Some(decoded) => regexes.is_match(&decoded),
                None => regexes.is_match(candidate.secret),
            },
        }
    }
}

/// Validates each pattern (naming the bad entry) and joins them into one
/// lazily compiled alternation; inline flags stay scoped to their entry.
fn union_of(patterns: &[String], field: &str, validate: bool) -> Result<Option<LazyRegex>, String> {
    for pattern in patterns.iter().filter(|_| validate) {
        LazyRegex::validated(pattern).map_err(|err| format!("`{field}` entry {pattern:?}: {err}"))?;
    }
    if patterns.is_empty() {
        return Ok(None);
    }
    let union = patterns.iter().map(|pattern| format!("(?:{pattern})")).collect::<Vec<_>>().join("|");
    Ok(Some(LazyRegex::new(union)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowlist(toml_text: &str) -> Allowlist {
        Allowlist::compile(toml::from_str(toml_text).unwrap()).unwrap()
    }

    fn candidate<'a>(secret: &'a str, path: Option<&'a str>) -> Candidate<'a> {
        Candidate {
            rule_id: "rule",
            secret: secret.as_bytes(),
            matched: secret.as_bytes(),
            line: secret.as_bytes(),
            path,
            commit: None,
        }
    }

    #[test]
    fn stopwords_are_case_insensitive_substrings_of_the_secret() {
        let list = allowlist("stopwords = [\"example\"]");
        assert!(list.allows(&candidate("AKIAIOSFODNN7EXAMPLE", None)));
        assert!(!list.allows(&candidate("AKIAQYLPMN5HHHFPZAM2", None)));
    }

    #[test]
    fn or_needs_one_criterion_and_needs_all() {
        let either = allowlist("paths = ['^test/']\nstopwords = [\"dummy\"]");
        assert!(either.allows(&candidate("real", Some("test/a.py"))));
        assert!(either.allows(&candidate("dummy1", Some("src/a.py"))));
        let both = allowlist("condition = \"AND\"\npaths = ['^test/']\nstopwords = [\"dummy\"]");
        assert!(!both.allows(&candidate("real", Some("test/a.py"))));
        assert!(both.allows(&candidate("dummy1", Some("test/a.py"))));
    }

    #[test]
    fn an_empty_allowlist_allows_nothing() {
        assert!(!allowlist("description = \"nothing\"").allows(&candidate("x", Some("a"))));
    }

    #[test]
    fn target_rules_limit_a_global_allowlist() {
        let list = allowlist("targetRules = [\"other\"]\nstopwords = [\"x\"]");
        assert!(!list.allows(&candidate("x", None)));
    }

    #[test]
    fn whole_path_skip_only_for_path_criteria() {
        assert!(allowlist("paths = ['\\.lock$']").allows_whole_path("Cargo.lock"));
        assert!(!allowlist("condition = \"AND\"\npaths = ['\\.lock$']\nstopwords = [\"a\"]")
            .allows_whole_path("Cargo.lock"));
    }

    #[test]
    fn inline_flags_stay_scoped_to_their_entry() {
        let list = allowlist("regexes = ['(?i)^abc$', '^XYZ$']");
        assert!(list.allows(&candidate("ABC", None)));
        assert!(list.allows(&candidate("XYZ", None)));
        assert!(!list.allows(&candidate("xyz", None)), "the (?i) of the first entry must not leak");
    }

    #[test]
    fn decoded_target_sees_what_base64_and_hex_values_encode() {
        let list = allowlist("regexTarget = \"decoded\"\nregexes = ['changeme']");
        assert!(list.allows(&candidate("U0VDUkVUX0tFWT1jaGFuZ2VtZQ==", None)), "base64 of SECRET_KEY=changeme");
        assert!(list.allows(&candidate("6368616e67656d65", None)), "hex of changeme");
        assert!(list.allows(&candidate("changeme!", None)), "not encoded: the value itself");
        assert!(!list.allows(&candidate("VkszUjR5dFRxQ3ZnV1lSZmlDWGxRZmpo", None)));
    }

    #[test]
    fn invalid_fields_are_named() {
        let err = Allowlist::compile(toml::from_str("regexTarget = \"file\"").unwrap()).unwrap_err();
        assert!(err.contains("regexTarget"), "{err}");
        let err = Allowlist::compile(toml::from_str("condition = \"XOR\"").unwrap()).unwrap_err();
        assert!(err.contains("condition"), "{err}");
    }
}
