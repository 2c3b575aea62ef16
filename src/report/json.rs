//! JSON and JSON Lines output.

use std::io::{self, Write};

use serde::Serialize;

use crate::finding::{CommitInfo, Confidence, Finding, Occurrence, Origin};
use crate::stats::ScanStats;

use super::{RenderOptions, Report};

/// The JSON shape of one finding.
#[derive(Debug, Serialize)]
pub struct JsonFinding<'a> {
    /// Rule id.
    pub rule_id: &'a str,
    /// Rule description.
    pub description: &'a str,
    /// Path (`-` for stdin; for history, the path where the secret first appeared).
    pub path: String,
    /// 1-based line of the secret (0 in binary content: see `offset`).
    pub line: usize,
    /// 1-based column of the secret.
    pub column: usize,
    /// Line of the secret's last character.
    pub end_line: usize,
    /// Column of the secret's last character (inclusive).
    pub end_column: usize,
    /// The secret, redacted unless `--show-secrets`.
    pub secret: String,
    /// The whole match, with the secret redacted unless `--show-secrets`.
    #[serde(rename = "match")]
    pub matched: String,
    /// Shannon entropy of the secret (bits per byte, two decimals).
    pub entropy: f64,
    /// Rule confidence after context.
    pub confidence: Confidence,
    /// Stable finding identity.
    pub fingerprint: &'a str,
    /// Rule tags.
    pub tags: &'a [String],
    /// The provider that issues the secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<&'a str>,
    /// Rules from config files that matched the same secret at the same place
    /// (reported once, under the built-in rule).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub also_matched: &'a [String],
    /// Why the place makes a fresh leak less likely (the confidence was lowered for it).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub context: &'a [String],
    /// Other places of the same publicly known set, reported under this finding.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub also_at: &'a [crate::finding::Place],
    /// The encodings the secret was decoded from (`base64`, `base64 > percent`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoded: Option<&'a str>,
    /// Byte offset of the secret in the file or blob.
    pub offset: usize,
    /// Set when the secret was found in the printable strings of binary content.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub binary: bool,
    /// History scans: the commit that introduced the secret.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub commit: Option<JsonCommit<'a>>,
    /// What the provider said, when `--verify` ran and the rule can verify.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<&'a crate::verify::Verification>,
    /// History scans: other commits/paths where the same content appears (capped).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub also_in: &'a [Occurrence],
}

/// Commit fields of a history finding.
#[derive(Debug, Serialize)]
pub struct JsonCommit<'a> {
    /// Commit id.
    pub commit: &'a str,
    /// Author name.
    pub author: &'a str,
    /// Author email.
    pub email: &'a str,
    /// Author date (RFC 3339).
    pub date: &'a str,
    /// Commit summary line.
    pub message: &'a str,
}

impl<'a> From<&'a CommitInfo> for JsonCommit<'a> {
    fn from(commit: &'a CommitInfo) -> Self {
        JsonCommit {
            commit: &commit.id,
            author: &commit.author,
            email: &commit.email,
            date: &commit.date,
            message: &commit.summary,
        }
    }
}

impl<'a> JsonFinding<'a> {
    /// Builds the JSON view of `finding` under `options`.
    pub fn new(finding: &'a Finding, options: RenderOptions) -> Self {
        JsonFinding {
            rule_id: &finding.rule_id,
            description: &finding.description,
            path: finding.origin.display_path(),
            line: finding.location.line,
            column: finding.location.column,
            end_line: finding.location.end_line,
            end_column: finding.location.end_column,
            secret: finding.secret_text(options.redaction),
            matched: finding.match_text(options.redaction),
            entropy: (f64::from(finding.entropy) * 100.0).round() / 100.0,
            confidence: finding.confidence,
            fingerprint: finding.fingerprint.as_str(),
            tags: &finding.tags,
            provider: finding.provider.as_deref(),
            also_matched: &finding.also_matched,
            context: &finding.context,
            also_at: &finding.also_at,
            decoded: finding.decoded.as_deref(),
            offset: finding.location.offset,
            binary: finding.location.in_binary,
            commit: finding.origin.commit().map(JsonCommit::from),
            verification: finding.verification.as_ref(),
            also_in: match &finding.origin {
                Origin::GitBlob(blob) => &blob.also,
                _ => &[],
            },
        }
    }
}

#[derive(Serialize)]
struct Document<'a> {
    tool: &'static str,
    version: &'static str,
    findings: Vec<JsonFinding<'a>>,
    stats: &'a ScanStats,
}

/// Writes `{"tool", "version", "findings": [...], "stats": {...}}`.
pub fn write_document(report: &Report<'_>, options: RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let document = Document {
        tool: "keyhound",
        version: env!("CARGO_PKG_VERSION"),
        findings: report.findings.iter().map(|finding| JsonFinding::new(finding, options)).collect(),
        stats: report.stats,
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}

/// Writes one JSON object per finding per line.
pub fn write_lines(report: &Report<'_>, options: RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    for finding in report.findings {
        serde_json::to_writer(&mut *out, &JsonFinding::new(finding, options))?;
        writeln!(out)?;
    }
    Ok(())
}
