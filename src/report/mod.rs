//! Report writers, one module per format. Writers only format: they never
//! scan, and they redact secrets unless told otherwise.

pub mod csv;
pub mod html;
pub mod human;
pub mod json;
pub mod junit;
pub mod mask;
pub mod read;
pub mod sarif;

use std::io::{self, Write};

use clap::ValueEnum;

use crate::finding::Finding;
use crate::rules::RuleSet;
use crate::stats::ScanStats;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Readable text, coloured on a terminal.
    Human,
    /// One JSON document: {"findings": [...], "stats": {...}}.
    Json,
    /// One JSON object per finding per line.
    Jsonl,
    /// SARIF 2.1.0 for GitHub code scanning and other tools.
    Sarif,
    /// Comma-separated values, one row per finding.
    Csv,
    /// JUnit XML, one failing test case per finding.
    Junit,
}

/// What a report contains.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    /// Findings, already sorted.
    pub findings: &'a [Finding],
    /// Scan totals.
    pub stats: &'a ScanStats,
    /// The rules in effect (for SARIF rule metadata).
    pub rules: &'a RuleSet,
}

/// How to render.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// How much of each secret to print.
    pub redaction: crate::finding::Redaction,
    /// Use ANSI colours (human format only).
    pub color: bool,
}

/// Writes `report` in `format` to `out`.
pub fn write_report(
    format: Format,
    report: &Report<'_>,
    options: RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Human => human::write(report, options, out),
        Format::Json => json::write_document(report, options, out),
        Format::Jsonl => json::write_lines(report, options, out),
        Format::Sarif => sarif::write(report, options, out),
        Format::Csv => csv::write(report, options, out),
        Format::Junit => junit::write(report, options, out),
    }?;
    out.flush()
}
