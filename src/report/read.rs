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
/// from a grouped report must name every copy).
fn copy_at(finding: &Finding, place: &Place) -> Finding {
    let mut copy = finding.clone();
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
    also_at: Vec<Place>,
    #[serde(default)]
    decoded: Option<String>,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    fingerprint: Option<String>,
    #[serde(default)]
    verification: Option<StoredVerification>,
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
        also_at: stored.also_at,
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
