//! Known findings that are not reported again: baselines
//! (`--baseline FILE`, `keyhound baseline create|update`) and ignore entries in
//! `.keyhoundignore` / `.gitleaksignore`.
//!
//! A finding is suppressed when its fingerprint is listed, or when the same
//! rule found the same secret at a path that ends with the recorded one (so a
//! baseline made with `scan .` still applies to `scan /abs/path/to/repo`).
//! Ignore files may also name `path:rule:line` or `commit:path:rule:line`
//! (the gitleaks format).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::finding::Finding;

/// Version of the baseline file format.
pub const BASELINE_VERSION: u32 = 1;

/// A baseline file's error, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// It could not be read or written.
    #[error("baseline {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// It is not a keyhound baseline.
    #[error("baseline {path} is not a keyhound baseline (create one with `keyhound baseline create`): {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the JSON parser said.
        message: String,
    },
}

/// One known finding. The secret itself is never stored, only a hash.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineEntry {
    /// The finding's fingerprint.
    pub fingerprint: String,
    /// Rule id.
    pub rule_id: String,
    /// Path when recorded.
    pub path: String,
    /// Line when recorded (informational: entries survive line moves).
    pub line: usize,
    /// SHA-256 of rule id and secret, hex.
    pub secret_hash: String,
}

/// A baseline file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Always `keyhound`.
    pub tool: String,
    /// Format version.
    pub version: u32,
    /// Known findings.
    pub entries: Vec<BaselineEntry>,
}

impl Baseline {
    /// A baseline holding `findings`.
    pub fn from_findings(findings: &[Finding]) -> Self {
        let mut entries: Vec<BaselineEntry> = findings.iter().map(entry_for).collect();
        entries.sort_by(|a, b| (&a.path, &a.rule_id, a.line).cmp(&(&b.path, &b.rule_id, b.line)));
        entries.dedup_by(|a, b| a.fingerprint == b.fingerprint);
        Baseline { tool: "keyhound".into(), version: BASELINE_VERSION, entries }
    }

    /// Reads a baseline file.
    pub fn load(path: &Path) -> Result<Self, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Io { path: path.into(), source })?;
        let baseline: Baseline = serde_json::from_str(&text)
            .map_err(|err| BaselineError::Parse { path: path.into(), message: err.to_string() })?;
        if baseline.tool != "keyhound" || baseline.version != BASELINE_VERSION {
            let message = format!("tool {:?} version {}", baseline.tool, baseline.version);
            return Err(BaselineError::Parse { path: path.into(), message });
        }
        for (index, entry) in baseline.entries.iter().enumerate() {
            crate::finding::Fingerprint::parse(&entry.fingerprint).map_err(|problem| BaselineError::Parse {
                path: path.into(),
                message: format!("entry {}: {problem}", index + 1),
            })?;
        }
        Ok(baseline)
    }

    /// Writes the baseline as pretty JSON.
    pub fn save(&self, path: &Path) -> Result<(), BaselineError> {
        let text = serde_json::to_string_pretty(self).expect("a baseline always serializes") + "\n";
        std::fs::write(path, text).map_err(|source| BaselineError::Io { path: path.into(), source })
    }

    /// Keeps only entries that `findings` still contain; returns how many were dropped.
    pub fn retain_found(&mut self, findings: &[Finding]) -> usize {
        let mut current = Suppressions::default();
        current.add_baseline(&Baseline::from_findings(findings));
        let before = self.entries.len();
        self.entries.retain(|entry| {
            current.fingerprints.contains(&entry.fingerprint)
                || current.secrets.iter().any(|(rule, hash, path)| {
                    rule == &entry.rule_id && hash == &entry.secret_hash && paths_agree(path, &entry.path)
                })
        });
        before - self.entries.len()
    }
}

fn entry_for(finding: &Finding) -> BaselineEntry {
    BaselineEntry {
        fingerprint: finding.fingerprint.to_string(),
        rule_id: finding.rule_id.clone(),
        path: finding.origin.display_path(),
        line: finding.location.line,
        secret_hash: secret_hash(&finding.rule_id, finding.secret.expose()),
    }
}

fn secret_hash(rule_id: &str, secret: &str) -> String {
    let digest = Sha256::digest(format!("{rule_id}\0{secret}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether two recorded paths name the same file seen from different roots.
fn paths_agree(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    long == short || long.ends_with(&format!("/{short}"))
}

/// A detect-secrets `.secrets.baseline` (the parts keyhound uses).
#[derive(Debug, Deserialize)]
struct DetectSecretsBaseline {
    results: std::collections::BTreeMap<String, Vec<DetectSecretsResult>>,
}

#[derive(Debug, Deserialize)]
struct DetectSecretsResult {
    hashed_secret: String,
}

/// Everything that suppresses findings in one run.
#[derive(Debug, Default)]
pub struct Suppressions {
    /// detect-secrets entries: (path, SHA-1 of the secret).
    sha1_secrets: HashSet<(String, String)>,
    fingerprints: HashSet<String>,
    secrets: Vec<(String, String, String)>,
    locations: HashSet<(String, String, usize)>,
    commit_locations: HashSet<(String, String, String, usize)>,
}

impl Suppressions {
    /// Adds the entries of a baseline file: keyhound's own, or a detect-secrets
    /// `.secrets.baseline` (matched by path and the SHA-1 of the secret it stores).
    pub fn add_baseline_file(&mut self, path: &Path) -> Result<(), BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Io { path: path.into(), source })?;
        if let Ok(detect_secrets) = serde_json::from_str::<DetectSecretsBaseline>(&text) {
            for (file, results) in detect_secrets.results {
                for result in results {
                    self.sha1_secrets.insert((file.clone(), result.hashed_secret.to_ascii_lowercase()));
                }
            }
            return Ok(());
        }
        self.add_baseline(&Baseline::load(path)?);
        Ok(())
    }

    /// Adds a baseline's entries.
    pub fn add_baseline(&mut self, baseline: &Baseline) {
        for entry in &baseline.entries {
            self.fingerprints.insert(entry.fingerprint.clone());
            self.secrets.push((entry.rule_id.clone(), entry.secret_hash.clone(), entry.path.clone()));
        }
    }

    /// Adds the entries of `.keyhoundignore` and `.gitleaksignore` in `dir`:
    /// fingerprints, `path:rule:line` and `commit:path:rule:line` lines. Other
    /// lines (gitignore-style path patterns, comments) are left to the walker.
    pub fn add_ignore_files(&mut self, dir: &Path) {
        for name in [".keyhoundignore", ".gitleaksignore"] {
            if let Ok(text) = std::fs::read_to_string(dir.join(name)) {
                self.add_ignore_text(&text);
            }
        }
    }

    fn add_ignore_text(&mut self, text: &str) {
        for line in text.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#')) {
            if line.len() == 32 && line.bytes().all(|b| b.is_ascii_hexdigit()) {
                self.fingerprints.insert(line.to_ascii_lowercase());
                continue;
            }
            let parts: Vec<&str> = line.rsplitn(3, ':').collect();
            let [line_number, rule, rest] = parts[..] else { continue };
            let Ok(line_number) = line_number.parse::<usize>() else { continue };
            match rest.split_once(':') {
                Some((commit, path)) if commit.len() >= 7 && commit.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    self.commit_locations.insert((commit.to_ascii_lowercase(), path.into(), rule.into(), line_number));
                }
                _ => {
                    self.locations.insert((rest.into(), rule.into(), line_number));
                }
            }
        }
    }

    /// Whether nothing is suppressed.
    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty()
            && self.secrets.is_empty()
            && self.locations.is_empty()
            && self.commit_locations.is_empty()
    }

    /// Whether `finding` is known.
    pub fn suppresses(&self, finding: &Finding) -> bool {
        if self.fingerprints.contains(finding.fingerprint.as_str()) {
            return true;
        }
        let path = finding.origin.display_path();
        let line = finding.location.line;
        if self.locations.iter().any(|(p, rule, l)| rule == &finding.rule_id && *l == line && paths_agree(p, &path)) {
            return true;
        }
        if let Some(commit) = finding.origin.commit() {
            let matches = |(c, p, rule, l): &(String, String, String, usize)| {
                commit.id.starts_with(c.as_str()) && rule == &finding.rule_id && *l == line && paths_agree(p, &path)
            };
            if self.commit_locations.iter().any(matches) {
                return true;
            }
        }
        if !self.sha1_secrets.is_empty() {
            let digest = Sha1::digest(finding.secret.expose().as_bytes());
            let hash: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            if self.sha1_secrets.iter().any(|(p, h)| h == &hash && paths_agree(p, &path)) {
                return true;
            }
        }
        if self.secrets.is_empty() {
            return false;
        }
        let hash = secret_hash(&finding.rule_id, finding.secret.expose());
        self.secrets
            .iter()
            .any(|(rule, secret, p)| rule == &finding.rule_id && secret == &hash && paths_agree(p, &path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Origin;

    fn finding(path: &str, line: usize, secret: &str) -> Finding {
        Finding::sample("r", secret, Origin::File(path.into()), line)
    }

    #[test]
    fn a_baseline_survives_line_moves_and_other_roots_but_not_new_secrets() {
        let baseline = Baseline::from_findings(&[finding("src/a.py", 3, "s3cr3t-value")]);
        assert!(!serde_json::to_string(&baseline).unwrap().contains("s3cr3t-value"), "never stores the secret");
        let mut suppressions = Suppressions::default();
        suppressions.add_baseline(&baseline);
        assert!(suppressions.suppresses(&finding("src/a.py", 40, "s3cr3t-value")));
        assert!(suppressions.suppresses(&finding("/home/ci/repo/src/a.py", 3, "s3cr3t-value")));
        assert!(!suppressions.suppresses(&finding("src/a.py", 3, "another-value")));
        assert!(!suppressions.suppresses(&finding("src/b.py", 3, "s3cr3t-value")));
    }

    #[test]
    fn ignore_files_take_fingerprints_and_gitleaks_locations() {
        let target = finding("config/.env", 7, "v");
        let mut suppressions = Suppressions::default();
        suppressions.add_ignore_text(&format!("# comment\nnode_modules/\n{}\n", target.fingerprint));
        assert!(suppressions.suppresses(&target));
        let mut suppressions = Suppressions::default();
        suppressions.add_ignore_text("config/.env:r:7\n");
        assert!(suppressions.suppresses(&target));
        assert!(!suppressions.suppresses(&finding("config/.env", 8, "v")));
    }

    #[test]
    fn a_detect_secrets_baseline_is_honoured() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".secrets.baseline");
        // sha1("s3cr3t-value")
        let sha1: String = Sha1::digest(b"s3cr3t-value").iter().map(|b| format!("{b:02x}")).collect();
        let text = format!(
            r#"{{"version": "1.5.0", "plugins_used": [], "filters_used": [], "results": {{"src/a.py": [{{"type": "Secret Keyword", "filename": "src/a.py", "hashed_secret": "{sha1}", "is_verified": false, "line_number": 3}}]}}, "generated_at": "2024-01-01T00:00:00Z"}}"#
        );
        std::fs::write(&file, text).unwrap();
        let mut suppressions = Suppressions::default();
        suppressions.add_baseline_file(&file).unwrap();
        assert!(suppressions.suppresses(&finding("src/a.py", 9, "s3cr3t-value")));
        assert!(!suppressions.suppresses(&finding("src/a.py", 3, "other-value")));
    }

    #[test]
    fn update_drops_entries_that_no_longer_occur() {
        let mut baseline = Baseline::from_findings(&[finding("a", 1, "one-secret"), finding("b", 1, "two-secret")]);
        assert_eq!(baseline.retain_found(&[finding("a", 9, "one-secret")]), 1);
        assert_eq!(baseline.entries.len(), 1);
    }
}
