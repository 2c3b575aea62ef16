//! CSV output: one row per finding, a header row first.

use std::io::{self, Write};

use super::{RenderOptions, Report};

const HEADER: [&str; 17] = [
    "rule_id",
    "description",
    "path",
    "line",
    "column",
    "end_line",
    "end_column",
    "offset",
    "secret",
    "match",
    "entropy",
    "confidence",
    "fingerprint",
    "commit",
    "author",
    "date",
    "verification",
];

/// Writes the findings as CSV (RFC 4180 quoting by the `csv` crate).
pub fn write(report: &Report<'_>, options: RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(HEADER)?;
    for finding in report.findings {
        let location = &finding.location;
        let commit = finding.origin.commit();
        let verification = finding.verification.as_ref().map(|verification| verification.status.to_string());
        writer.write_record([
            finding.rule_id.clone(),
            finding.description.clone(),
            finding.origin.display_path(),
            location.line.to_string(),
            location.column.to_string(),
            location.end_line.to_string(),
            location.end_column.to_string(),
            location.offset.to_string(),
            finding.secret_text(options.redaction),
            finding.match_text(options.redaction),
            format!("{:.2}", finding.entropy),
            finding.confidence.to_string(),
            finding.fingerprint.to_string(),
            commit.map(|commit| commit.id.clone()).unwrap_or_default(),
            commit.map(|commit| commit.author.clone()).unwrap_or_default(),
            commit.map(|commit| commit.date.clone()).unwrap_or_default(),
            verification.unwrap_or_default(),
        ])?;
    }
    writer.flush()
}
