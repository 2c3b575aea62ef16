//! Allowlists: conditions (paths, regexes, stopwords, commits) under which a
//! match is not reported, with gitleaks' `OR`/`AND` semantics.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};

use crate::rules::compile_bytes_regex;
use crate::rules::regex_compat::go_to_rust;
use crate::rules::schema::AllowlistSpec;

/// What an allowlist's `regexes` are tested against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegexTarget {
    /// The secret (capture group).
    Secret,
    /// The whole regex match.
    Match,
    /// The whole line containing the match.
    Line,
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
    paths: Vec<regex::Regex>,
    regexes: Vec<regex::bytes::Regex>,
    target: RegexTarget,
    stopwords: Option<AhoCorasick>,
    target_rules: Vec<String>,
}

impl Allowlist {
    /// Validates and compiles an allowlist; the error says which field is wrong.
    pub fn compile(spec: AllowlistSpec) -> Result<Self, String> {
        let require_all = match spec.condition.as_deref().map(str::to_ascii_uppercase).as_deref() {
            None | Some("OR") => false,
            Some("AND") => true,
            Some(other) => return Err(format!("`condition = \"{other}\"` must be \"OR\" or \"AND\"")),
        };
        let target = match spec.regex_target.as_deref() {
            None | Some("secret") => RegexTarget::Secret,
            Some("match") => RegexTarget::Match,
            Some("line") => RegexTarget::Line,
            Some(other) => {
                return Err(format!("`regexTarget = \"{other}\"` must be \"secret\", \"match\" or \"line\""))
            }
        };
        let paths = spec
            .paths
            .iter()
            .map(|pattern| {
                regex::Regex::new(&go_to_rust(pattern)).map_err(|err| format!("`paths` entry {pattern:?}: {err}"))
            })
            .collect::<Result<_, _>>()?;
        let regexes = spec
            .regexes
            .iter()
            .map(|pattern| compile_bytes_regex(pattern).map_err(|err| format!("`regexes` entry {pattern:?}: {err}")))
            .collect::<Result<_, _>>()?;
        let stopwords = if spec.stopwords.is_empty() {
            None
        } else {
            let automaton = AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .build(&spec.stopwords)
                .map_err(|err| format!("`stopwords`: {err}"))?;
            Some(automaton)
        };
        let commits = spec.commits.iter().map(|commit| commit.to_ascii_lowercase()).collect();
        Ok(Allowlist {
            description: spec.description,
            require_all,
            commits,
            paths,
            regexes,
            target,
            stopwords,
            target_rules: spec.target_rules,
        })
    }

    /// Whether this allowlist suppresses `candidate`.
    pub fn allows(&self, candidate: &Candidate<'_>) -> bool {
        if !self.target_rules.is_empty() && !self.target_rules.iter().any(|id| id == candidate.rule_id) {
            return false;
        }
        let checks = [
            (!self.commits.is_empty()).then(|| self.commit_matches(candidate.commit)),
            (!self.paths.is_empty()).then(|| self.path_matches(candidate.path)),
            (!self.regexes.is_empty()).then(|| self.regex_matches(candidate)),
            self.stopwords.as_ref().map(|stopwords| stopwords.is_match(candidate.secret)),
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
            && self.regexes.is_empty()
            && self.stopwords.is_none()
            && self.target_rules.is_empty();
        (only_paths || !self.require_all) && self.target_rules.is_empty() && self.path_matches(Some(path))
    }

    fn commit_matches(&self, commit: Option<&str>) -> bool {
        commit.is_some_and(|commit| self.commits.iter().any(|allowed| commit.eq_ignore_ascii_case(allowed)))
    }

    fn path_matches(&self, path: Option<&str>) -> bool {
        path.is_some_and(|path| self.paths.iter().any(|regex| regex.is_match(path)))
    }

    fn regex_matches(&self, candidate: &Candidate<'_>) -> bool {
        let haystack = match self.target {
            RegexTarget::Secret => candidate.secret,
            RegexTarget::Match => candidate.matched,
            RegexTarget::Line => candidate.line,
        };
        self.regexes.iter().any(|regex| regex.is_match(haystack))
    }
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
    fn invalid_fields_are_named() {
        let err = Allowlist::compile(toml::from_str("regexTarget = \"file\"").unwrap()).unwrap_err();
        assert!(err.contains("regexTarget"), "{err}");
        let err = Allowlist::compile(toml::from_str("condition = \"XOR\"").unwrap()).unwrap_err();
        assert!(err.contains("condition"), "{err}");
    }
}
