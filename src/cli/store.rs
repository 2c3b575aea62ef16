//! `keyhound report`, `keyhound triage` and the `--shard` parser.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Parses `--shard I/N`.
pub fn parse_shard(text: &str) -> Result<crate::source::git::repos::Shard, String> {
    crate::source::git::repos::Shard::parse(text)
}

/// `keyhound report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The datastore (as given to `keyhound git --datastore`).
    #[arg(long, value_name = "DIR|FILE|URL")]
    pub datastore: String,

    /// Only findings of this rule.
    #[arg(long, value_name = "RULE")]
    pub rule: Option<String>,

    /// Only findings in this repository (its line in the --repos list, or its path).
    #[arg(long, value_name = "REPO")]
    pub repo: Option<String>,

    /// Only findings with this triage status: open, accepted-risk, false-positive, revoked.
    #[arg(long, value_name = "STATUS")]
    pub status: Option<String>,

    /// Only findings verified live.
    #[arg(long)]
    pub live: bool,

    /// human, json, csv, sarif or html (a self-contained page with charts and a sortable table).
    #[arg(short, long, value_enum, default_value_t = StoreFormat::Human, value_name = "FORMAT")]
    pub format: StoreFormat,

    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Formats of `keyhound report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreFormat {
    /// Readable text.
    Human,
    /// JSON: every finding with its occurrences and triage.
    Json,
    /// One row per finding.
    Csv,
    /// SARIF 2.1.0.
    Sarif,
    /// A self-contained HTML page.
    Html,
}

/// `keyhound triage`.
#[derive(Debug, Args)]
pub struct TriageArgs {
    /// The finding's fingerprint (from any report).
    pub fingerprint: String,

    /// open, accepted-risk, false-positive or revoked.
    #[arg(long, value_name = "STATUS")]
    pub status: String,

    /// Why.
    #[arg(long, default_value = "", value_name = "TEXT")]
    pub comment: String,

    /// Who (default: $USER).
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,

    /// The datastore.
    #[arg(long, value_name = "DIR|FILE|URL")]
    pub datastore: String,
}
