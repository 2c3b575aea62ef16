//! `keyhound verify REPORT.json`: verify the findings of a saved JSON report
//! (written with `--show-secrets`, since redacted secrets cannot be checked).

use std::path::PathBuf;

use serde::Deserialize;

use crate::cli::VerifyReportArgs;
use crate::finding::{Confidence, Finding, Fingerprint, Location, Origin, Secret};
use crate::source::ScanResults;
use crate::verify::Verification;

use super::common::{Hint, Session};
use super::CmdError;

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
    fingerprint: Option<String>,
}

#[derive(Debug, Deserialize)]
struct StoredReport {
    findings: Vec<StoredFinding>,
}

/// Verifies a saved report's findings and writes a new report.
pub fn run(args: &VerifyReportArgs) -> Result<u8, CmdError> {
    let text = std::fs::read_to_string(&args.report)
        .map_err(|err| CmdError::Usage(format!("cannot read report {}: {err}", args.report.display())))?;
    let stored: StoredReport = serde_json::from_str(&text).map_err(|err| {
        CmdError::Usage(format!(
            "{} is not a keyhound JSON report (write one with --format json --show-secrets): {err}",
            args.report.display()
        ))
    })?;
    let mut session = Session::start(&args.common, &[PathBuf::from(".")])?;
    session.always_verify = true;
    let results =
        ScanResults { findings: stored.findings.into_iter().map(into_finding).collect(), ..ScanResults::default() };
    session.finish(&args.common, results, Hint::History)
}

fn into_finding(stored: StoredFinding) -> Finding {
    let redacted = stored.secret.ends_with("*****");
    let fingerprint = stored.fingerprint.map(Fingerprint::from_stored);
    let fingerprint =
        fingerprint.unwrap_or_else(|| Fingerprint::compute(&stored.rule_id, &stored.path, &stored.secret));
    Finding {
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
        fingerprint,
        // A redacted secret cannot be checked; the runner leaves set results alone.
        verification: redacted.then(|| {
            Verification::unknown("the report holds a redacted secret: write it with --show-secrets to verify later")
        }),
    }
}
