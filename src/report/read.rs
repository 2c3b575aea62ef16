//! Reading keyhound's own JSON reports back (for `verify`, `rotate` and `baseline create --from`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::finding::{Confidence, Finding, Fingerprint, Location, Origin, Place, Secret};
use crate::verify::{Status, Verification};

/// Reads the findings of a JSON report; the error names the file.
pub fn read_report(path: &Path) -> Result<Vec<Finding>, String> {
    let text = std::fs::read_to_string(path).map_err(|err| format!("cannot read report {}: {err}", path.display()))?;
    let stored: StoredReport = serde_json::from_str(&text).map_err(|err| {
        format!("{} is not a keyhound JSON report (write one with --format json): {err}", path.display())
    })?;
    let mut findings = Vec::with_capacity(stored.findings.len());
    for (index, stored) in stored.findings.into_iter().enumerate() {
        let finding =
            into_finding(stored).map_err(|problem| format!("{}: finding {}: {problem}", path.display(), index + 1))?;
        findings.extend(finding.also_at.iter().map(|place| copy_at(&finding, place)));
        findings.push(finding);
    }
    Ok(findings)
}

/// A grouped finding's copy at `place`, as its own finding (a baseline made
/// from a grouped report must name every copy). A set's copies may hold other
/// secrets than the finding that stands for them, so the copy's secret is
/// unknown: it matches by fingerprint and is never verified or rotated.
fn copy_at(finding: &Finding, place: &Place) -> Finding {
    let mut copy = finding.clone();
    copy.secret = Secret::new("*****");
    copy.matched = Secret::new("*****");
    copy.line = Secret::new("*****");
    copy.verification = Some(Verification::unknown(
        "a copy listed under a publicly known set: its secret is not in the report (scan with --expand-known)",
    ));
    copy.origin = Origin::File(PathBuf::from(&place.path));
    copy.location = Location {
        line: place.line,
        column: 0,
        end_line: place.line,
        end_column: 0,
        offset: place.offset,
        ..finding.location
    };
    copy.fingerprint = place.fingerprint.clone();
    copy.also_at = Vec::new();
    copy
}

/// What keyhound's JSON report holds per finding (the fields verification needs).
#[derive(Debug, Deserialize)]
struct StoredFinding {
    rule_id: String,
    #[serde(default)]
    description: String,
    path: String,
    #[serde(default)]
    line: usize,
    #[serde(default)]
    column: usize,
    #[serde(default)]
    end_line: usize,
    #[serde(default)]
    end_column: usize,
    #[serde(default)]
    offset: usize,
    #[serde(default)]
    binary: bool,
    secret: String,
    #[serde(default, rename = "match")]
    matched: String,
    #[serde(default)]
    entropy: f32,
    #[serde(default)]
    confidence: Confidence,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    also_matched: Vec<String>,
    #[serde(default)]
    context: Vec<String>,
    #[serde(default)]
    also_at: Vec<StoredPlace>,
    #[serde(default)]
    decoded: Option<String>,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    fingerprint: Option<String>,
    #[serde(default)]
    verification: Option<StoredVerification>,
}

/// Another copy of a grouped finding as the JSON report writes it.
#[derive(Debug, Deserialize)]
struct StoredPlace {
    path: String,
    #[serde(default)]
    line: usize,
    #[serde(default)]
    offset: usize,
    fingerprint: String,
}

impl StoredPlace {
    fn into_place(self) -> Result<Place, String> {
        let fingerprint = Fingerprint::parse(&self.fingerprint).map_err(|problem| format!("also_at: {problem}"))?;
        Ok(Place { path: self.path, line: self.line, offset: self.offset, fingerprint })
    }
}

/// A finding's verification as the JSON report writes it.
#[derive(Debug, Deserialize)]
struct StoredVerification {
    status: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    details: std::collections::BTreeMap<String, serde_json::Value>,
}

impl StoredVerification {
    fn into_verification(self) -> Verification {
        let status = match self.status.as_str() {
            "live" => Status::Live,
            "dead" => Status::Dead,
            _ => Status::Unknown(self.reason.unwrap_or_else(|| "unknown".into())),
        };
        Verification { status, details: self.details }
    }
}

#[derive(Debug, Deserialize)]
struct StoredReport {
    findings: Vec<StoredFinding>,
}

/// A stored finding as a [`Finding`]; a redacted secret gets an `unknown` verification.
fn into_finding(stored: StoredFinding) -> Result<Finding, String> {
    let redacted = stored.secret.ends_with("*****");
    let fingerprint = match &stored.fingerprint {
        Some(text) => Fingerprint::parse(text)?,
        None => Fingerprint::compute(&stored.rule_id, &stored.path, &stored.secret),
    };
    Ok(Finding {
        description: if stored.description.is_empty() { stored.rule_id.clone() } else { stored.description },
        rule_id: stored.rule_id,
        origin: Origin::File(PathBuf::from(stored.path)),
        location: Location {
            line: stored.line,
            column: stored.column,
            end_line: stored.end_line,
            end_column: stored.end_column,
            offset: stored.offset,
            in_binary: stored.binary,
        },
        matched: Secret::new(stored.matched.clone()),
        line: Secret::new(stored.matched),
        secret: Secret::new(stored.secret),
        entropy: stored.entropy,
        confidence: stored.confidence,
        tags: stored.tags,
        also_matched: stored.also_matched,
        context: stored.context,
        also_at: stored.also_at.into_iter().map(StoredPlace::into_place).collect::<Result<_, _>>()?,
        decoded: stored.decoded,
        provider: stored.provider,
        fingerprint,
        // A redacted secret cannot be checked again; the runner leaves set results alone.
        verification: if redacted {
            Some(Verification::unknown(
                "the report holds a redacted secret: write it with --show-secrets to verify later",
            ))
        } else {
            stored.verification.map(StoredVerification::into_verification)
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report_with_copy(fingerprint: &str) -> tempfile::NamedTempFile {
        let report = serde_json::json!({"findings": [{
            "rule_id": "private-key", "path": "libgnutls.a", "secret": "-----BEGIN RSA PRIVATE KEY-----\\nMIIE",
            "fingerprint": "0123456789abcdef0123456789abcdef",
            "also_at": [{"path": "libgnutls.so.30", "line": 0, "offset": 1582976, "fingerprint": fingerprint}],
        }]});
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), report.to_string()).unwrap();
        file
    }

    #[test]
    fn a_grouped_copy_is_read_back_as_its_own_finding_that_is_never_verified() {
        let file = report_with_copy("fedcba9876543210fedcba9876543210");
        let findings = read_report(file.path()).unwrap();
        assert_eq!(findings.len(), 2);
        let copy = findings.iter().find(|finding| finding.origin.display_path() == "libgnutls.so.30").unwrap();
        assert_eq!(copy.fingerprint.as_str(), "fedcba9876543210fedcba9876543210");
        assert_eq!(copy.location.offset, 1582976);
        assert_eq!(copy.secret.expose(), "*****", "a copy's secret may differ from its set's: not taken");
        assert!(matches!(copy.verification.as_ref().unwrap().status, Status::Unknown(_)));
    }

    #[test]
    fn a_crafted_fingerprint_of_a_copy_is_refused() {
        let file = report_with_copy("../../etc/passwd");
        let err = read_report(file.path()).unwrap_err();
        assert!(err.contains("finding 1") && err.contains("also_at"), "{err}");
    }
}
