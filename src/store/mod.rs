//! The findings datastore: what security teams keep between scans.
//!
//! Embedded SQLite by default (`--datastore DIR_OR_FILE`), or PostgreSQL
//! (`--datastore postgres://...`) when many shards write at once. It holds,
//! per repository and rule-set version, the commits and blobs already scanned
//! (so nightly rescans only look at what is new), every finding with all its
//! occurrences, the latest verification, and triage status with its history.
//! Secrets themselves are never stored: only their redacted form and SHA-256.
//!
//! Each repository's results are written in one transaction, so a scan that
//! is killed leaves the store as it was before that repository, and the next
//! run simply does it again.

pub mod backend;
mod schema;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sha2::{Digest, Sha256};

use crate::finding::{Finding, Origin, Redaction};
use crate::redact::Masker;
use crate::verify::Status;

use backend::{Backend, Value};

/// Triage states.
pub const STATUSES: [&str; 4] = ["open", "accepted-risk", "false-positive", "revoked"];

/// The store.
#[derive(Debug)]
pub struct Store {
    backend: Backend,
    /// What was opened, for messages.
    pub location: String,
}

/// One finding as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredFinding {
    /// Fingerprint (rule, path, secret).
    pub fingerprint: String,
    /// Rule.
    pub rule_id: String,
    /// Rule description.
    pub description: String,
    /// Provider (the verifier's, or the rule's first tag).
    pub provider: String,
    /// The secret, redacted.
    pub secret: String,
    /// The line, redacted.
    pub snippet: String,
    /// low, medium or high.
    pub confidence: String,
    /// When a scan first recorded it.
    pub first_seen: String,
    /// When a scan last saw it.
    pub last_seen: String,
    /// Date of the earliest commit it is known in (empty outside git).
    pub first_commit_date: String,
    /// live, dead, unknown or "" (not verified).
    pub verification: String,
    /// What verification said.
    pub verification_detail: String,
    /// Triage status.
    pub status: String,
    /// Who set it.
    pub status_by: String,
    /// When.
    pub status_at: String,
    /// Why.
    pub status_comment: String,
    /// Where it occurs.
    pub occurrences: Vec<StoredOccurrence>,
}

/// One place a finding occurs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredOccurrence {
    /// Repository id (path or URL as listed).
    pub repo: String,
    /// Commit (empty for working trees).
    pub commit: String,
    /// Path in the repository.
    pub path: String,
    /// Line.
    pub line: i64,
    /// Commit author.
    pub author: String,
    /// Commit date.
    pub date: String,
}

/// Which findings a report shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this rule.
    pub rule: Option<String>,
    /// Only findings occurring in this repository.
    pub repo: Option<String>,
    /// Only this triage status.
    pub status: Option<String>,
    /// Only findings verified live.
    pub live: bool,
}

/// What one repository's scan adds to the store.
#[derive(Debug)]
pub struct ScanRecord<'a> {
    /// Repository id.
    pub repo: &'a str,
    /// Rule-set version.
    pub ruleset: &'a str,
    /// Ref tips the scan covered (the next scan starts from them).
    pub tips: &'a [String],
    /// Blobs scanned.
    pub blobs: &'a [String],
    /// Findings (secrets are redacted before storing).
    pub findings: &'a [Finding],
}

impl Store {
    /// Opens a store: a `postgres://` URL, a `.db`/`.sqlite` file, or a
    /// directory (holding `keyhound.db`); creates and migrates it as needed.
    pub fn open(spec: &str) -> anyhow::Result<Store> {
        let (backend, location) = if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
            (Backend::postgres(spec)?, backend::redact_url(spec))
        } else {
            let path = sqlite_path(Path::new(spec))?;
            (Backend::sqlite(&path)?, path.display().to_string())
        };
        let mut store = Store { backend, location };
        store.migrate().with_context(|| format!("preparing the datastore {}", store.location))?;
        Ok(store)
    }

    fn migrate(&mut self) -> anyhow::Result<()> {
        self.backend.begin()?;
        let result = (|| {
            if self.backend.is_postgres() {
                // Shards starting together: one migrates, the others wait (even
                // `CREATE TABLE IF NOT EXISTS` races in PostgreSQL).
                self.backend.query("SELECT pg_advisory_xact_lock(7281001)::TEXT", &[])?;
            }
            self.backend.batch(schema::VERSION_TABLE)?;
            let applied = self.backend.query("SELECT COUNT(*) FROM keyhound_schema", &[])?;
            let applied = applied.first().and_then(|row| row.first()).map_or(0, Value::int) as usize;
            for (index, migration) in schema::MIGRATIONS.iter().enumerate().skip(applied) {
                self.backend.batch(migration)?;
                self.backend.execute(
                    "INSERT INTO keyhound_schema (version, applied_at) VALUES ($1, $2)",
                    &[Value::Int(index as i64 + 1), now().into()],
                )?;
            }
            Ok(())
        })();
        self.finish(result)
    }

    fn finish<T>(&mut self, result: anyhow::Result<T>) -> anyhow::Result<T> {
        match result {
            Ok(value) => {
                self.backend.commit()?;
                Ok(value)
            }
            Err(err) => {
                self.backend.rollback();
                Err(err)
            }
        }
    }

    /// The schema version.
    pub fn schema_version(&mut self) -> anyhow::Result<i64> {
        let rows = self.backend.query("SELECT COUNT(*) FROM keyhound_schema", &[])?;
        Ok(rows.first().and_then(|row| row.first()).map_or(0, Value::int))
    }

    /// Ref tips already scanned in `repo` with `ruleset`.
    pub fn tips(&mut self, repo: &str, ruleset: &str) -> anyhow::Result<Vec<String>> {
        self.texts("SELECT commit_id FROM scanned_tips WHERE repo = $1 AND ruleset = $2", repo, ruleset)
    }

    /// Blobs already scanned in `repo` with `ruleset`.
    pub fn scanned_blobs(&mut self, repo: &str, ruleset: &str) -> anyhow::Result<HashSet<String>> {
        self.texts("SELECT blob_id FROM scanned_blobs WHERE repo = $1 AND ruleset = $2", repo, ruleset)
    }

    /// The single text column `sql` selects for `repo` and `ruleset`.
    fn texts<C: FromIterator<String>>(&mut self, sql: &str, repo: &str, ruleset: &str) -> anyhow::Result<C> {
        let rows = self.backend.query(sql, &[repo.into(), ruleset.into()])?;
        Ok(rows.into_iter().map(|row| row[0].text().to_string()).collect())
    }

    /// Records one repository's scan in one transaction; returns the
    /// fingerprints that were not in the store before.
    pub fn record(&mut self, record: &ScanRecord<'_>) -> anyhow::Result<HashSet<String>> {
        self.backend.begin()?;
        let result = self.record_in_transaction(record);
        self.finish(result)
    }

    fn record_in_transaction(&mut self, record: &ScanRecord<'_>) -> anyhow::Result<HashSet<String>> {
        let at = now();
        let mut new = HashSet::new();
        // Nothing stored holds a secret: not the snippet (a line can hold two
        // keys), not a verification reason or detail.
        let masker = Masker::redacting(record.findings.iter().map(|finding| finding.secret.expose()));
        for finding in record.findings {
            let fingerprint = finding.fingerprint.as_str().to_string();
            let (verification, detail) = match &finding.verification {
                Some(verification) => (
                    verification.status.label().to_string(),
                    masker
                        .mask(&match &verification.status {
                            Status::Unknown(reason) => reason.clone(),
                            _ => serde_json::to_string(&verification.details).unwrap_or_default(),
                        })
                        .into_owned(),
                ),
                None => (String::new(), String::new()),
            };
            let commit = finding.origin.commit();
            let commit_date = commit.map(|commit| commit.date.clone()).unwrap_or_default();
            let inserted = self.backend.execute(
                "INSERT INTO findings (fingerprint, rule_id, description, provider, secret, secret_sha256, snippet,
                    confidence, first_seen, last_seen, first_commit_date, verification, verification_detail,
                    verified_at, status, status_by, status_at, status_comment)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12, $13, 'open', '', '', '')
                 ON CONFLICT (fingerprint) DO NOTHING",
                &[
                    fingerprint.clone().into(),
                    finding.rule_id.clone().into(),
                    finding.description.clone().into(),
                    provider_of(finding).into(),
                    finding.secret.redacted().into(),
                    sha256_hex(finding.secret.expose()).into(),
                    masker
                        .mask(finding.line_text(Redaction::Prefix).trim())
                        .chars()
                        .take(300)
                        .collect::<String>()
                        .into(),
                    finding.confidence.to_string().into(),
                    at.clone().into(),
                    commit_date.clone().into(),
                    verification.clone().into(),
                    detail.clone().into(),
                    if verification.is_empty() { String::new() } else { at.clone() }.into(),
                ],
            )?;
            if inserted > 0 {
                new.insert(fingerprint.clone());
            } else {
                self.backend.execute(
                    "UPDATE findings SET last_seen = $2 WHERE fingerprint = $1",
                    &[fingerprint.clone().into(), at.clone().into()],
                )?;
                if !verification.is_empty() {
                    self.backend.execute(
                        "UPDATE findings SET verification = $2, verification_detail = $3, verified_at = $4
                         WHERE fingerprint = $1",
                        &[fingerprint.clone().into(), verification.into(), detail.into(), at.clone().into()],
                    )?;
                }
                if !commit_date.is_empty() {
                    self.backend.execute(
                        "UPDATE findings SET first_commit_date = $2
                         WHERE fingerprint = $1 AND (first_commit_date = '' OR first_commit_date > $2)",
                        &[fingerprint.clone().into(), commit_date.into()],
                    )?;
                }
            }
            for occurrence in occurrences_of(finding) {
                self.backend.execute(
                    "INSERT INTO occurrences (fingerprint, repo, commit_id, path, line, author, commit_date)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                    &[
                        fingerprint.clone().into(),
                        record.repo.into(),
                        occurrence.commit.into(),
                        occurrence.path.into(),
                        Value::Int(occurrence.line),
                        occurrence.author.into(),
                        occurrence.date.into(),
                    ],
                )?;
            }
        }
        self.backend.execute(
            "DELETE FROM scanned_tips WHERE repo = $1 AND ruleset = $2",
            &[record.repo.into(), record.ruleset.into()],
        )?;
        for tip in record.tips {
            self.backend.execute(
                "INSERT INTO scanned_tips (repo, ruleset, commit_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[record.repo.into(), record.ruleset.into(), tip.as_str().into()],
            )?;
        }
        for blob in record.blobs {
            self.backend.execute(
                "INSERT INTO scanned_blobs (repo, ruleset, blob_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[record.repo.into(), record.ruleset.into(), blob.as_str().into()],
            )?;
        }
        Ok(new)
    }

    /// Sets a finding's triage status; the error says when the fingerprint is unknown.
    pub fn triage(&mut self, fingerprint: &str, status: &str, who: &str, comment: &str) -> anyhow::Result<()> {
        anyhow::ensure!(STATUSES.contains(&status), "unknown status `{status}` (use {})", STATUSES.join(", "));
        self.backend.begin()?;
        let result = (|| {
            let at = now();
            let changed = self.backend.execute(
                "UPDATE findings SET status = $2, status_by = $3, status_at = $4, status_comment = $5 WHERE fingerprint = $1",
                &[fingerprint.into(), status.into(), who.into(), at.clone().into(), comment.into()],
            )?;
            anyhow::ensure!(changed > 0, "no finding with fingerprint {fingerprint} in the datastore");
            self.backend.execute(
                "INSERT INTO triage_log (fingerprint, status, who, at, comment) VALUES ($1, $2, $3, $4, $5)",
                &[fingerprint.into(), status.into(), who.into(), at.into(), comment.into()],
            )?;
            Ok(())
        })();
        self.finish(result)
    }

    /// The triage history of a finding, oldest first: (status, who, at, comment).
    pub fn triage_history(&mut self, fingerprint: &str) -> anyhow::Result<Vec<[String; 4]>> {
        let rows = self.backend.query(
            "SELECT status, who, at, comment FROM triage_log WHERE fingerprint = $1 ORDER BY at, status",
            &[fingerprint.into()],
        )?;
        Ok(rows.into_iter().map(|row| std::array::from_fn(|index| row[index].text().to_string())).collect())
    }

    /// Findings matching `filter`, with their occurrences, by rule then fingerprint.
    pub fn findings(&mut self, filter: &Filter) -> anyhow::Result<Vec<StoredFinding>> {
        let rows = self.backend.query(
            "SELECT fingerprint, rule_id, description, provider, secret, snippet, confidence, first_seen, last_seen,
                first_commit_date, verification, verification_detail, status, status_by, status_at, status_comment
             FROM findings ORDER BY rule_id, fingerprint",
            &[],
        )?;
        let occurrence_rows = self.backend.query(
            "SELECT fingerprint, repo, commit_id, path, line, author, commit_date FROM occurrences
             ORDER BY fingerprint, commit_date, repo, path, line",
            &[],
        )?;
        let mut occurrences: BTreeMap<String, Vec<StoredOccurrence>> = BTreeMap::new();
        for row in occurrence_rows {
            occurrences.entry(row[0].text().to_string()).or_default().push(StoredOccurrence {
                repo: row[1].text().into(),
                commit: row[2].text().into(),
                path: row[3].text().into(),
                line: row[4].int(),
                author: row[5].text().into(),
                date: row[6].text().into(),
            });
        }
        let text = |row: &[Value], index: usize| row[index].text().to_string();
        let findings = rows
            .iter()
            .map(|row| StoredFinding {
                fingerprint: text(row, 0),
                rule_id: text(row, 1),
                description: text(row, 2),
                provider: text(row, 3),
                secret: text(row, 4),
                snippet: text(row, 5),
                confidence: text(row, 6),
                first_seen: text(row, 7),
                last_seen: text(row, 8),
                first_commit_date: text(row, 9),
                verification: text(row, 10),
                verification_detail: text(row, 11),
                status: text(row, 12),
                status_by: text(row, 13),
                status_at: text(row, 14),
                status_comment: text(row, 15),
                occurrences: occurrences.remove(&text(row, 0)).unwrap_or_default(),
            })
            .filter(|finding| filter.rule.as_ref().is_none_or(|rule| &finding.rule_id == rule))
            .filter(|finding| filter.status.as_ref().is_none_or(|status| &finding.status == status))
            .filter(|finding| !filter.live || finding.verification == "live")
            .filter(|finding| {
                filter.repo.as_ref().is_none_or(|repo| finding.occurrences.iter().any(|place| &place.repo == repo))
            })
            .collect();
        Ok(findings)
    }

    /// Blob and tip counts (for progress and notes).
    pub fn counts(&mut self) -> anyhow::Result<(i64, i64)> {
        let count = |backend: &mut Backend, sql: &str| -> anyhow::Result<i64> {
            Ok(backend.query(sql, &[])?.first().and_then(|row| row.first()).map_or(0, Value::int))
        };
        Ok((
            count(&mut self.backend, "SELECT COUNT(*) FROM findings")?,
            count(&mut self.backend, "SELECT COUNT(*) FROM scanned_blobs")?,
        ))
    }
}

/// `DIR/keyhound.db` for a directory (created if missing), else the file itself.
fn sqlite_path(spec: &Path) -> anyhow::Result<PathBuf> {
    let is_file = spec.extension().is_some_and(|ext| ext == "db" || ext == "sqlite" || ext == "sqlite3");
    if is_file {
        if let Some(parent) = spec.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        Ok(spec.to_path_buf())
    } else {
        std::fs::create_dir_all(spec)
            .with_context(|| format!("creating the datastore directory {}", spec.display()))?;
        Ok(spec.join("keyhound.db"))
    }
}

fn provider_of(finding: &Finding) -> String {
    finding.tags.first().cloned().unwrap_or_else(|| finding.rule_id.split('-').next().unwrap_or_default().to_string())
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

fn occurrences_of(finding: &Finding) -> Vec<StoredOccurrence> {
    let line = finding.location.line as i64;
    match &finding.origin {
        Origin::GitBlob(blob) => std::iter::once(&blob.first)
            .chain(&blob.also)
            .map(|place| StoredOccurrence {
                repo: String::new(),
                commit: place.commit.id.clone(),
                path: place.path.clone(),
                line,
                author: format!("{} <{}>", place.commit.author, place.commit.email),
                date: place.commit.date.clone(),
            })
            .collect(),
        other => vec![StoredOccurrence {
            repo: String::new(),
            commit: other.commit().map(|commit| commit.id.clone()).unwrap_or_default(),
            path: other.display_path(),
            line,
            author: other.commit().map(|commit| format!("{} <{}>", commit.author, commit.email)).unwrap_or_default(),
            date: other.commit().map(|commit| commit.date.clone()).unwrap_or_default(),
        }],
    }
}

fn now() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}
