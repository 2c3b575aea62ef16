//! Scan statistics: what was scanned, what was skipped and why.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// Why a file or input was not scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Contains NUL bytes in its first 8 KiB.
    Binary,
    /// Larger than `--max-file-size`.
    TooLarge,
    /// Could not be opened or read (permissions, I/O error, vanished).
    Unreadable,
    /// A symbolic link (not followed).
    Symlink,
    /// Not a regular file (FIFO, socket, device).
    Special,
    /// Matched a global path allowlist.
    Allowlisted,
    /// A git submodule (a separate repository; scan it on its own).
    Submodule,
    /// A git object or ref that is missing or corrupt.
    MissingObject,
    /// An archive nested deeper than `--max-archive-depth` (not opened).
    ArchiveDepth,
    /// Bytes after an archive's compressed data that are not more of it (what decoded was scanned).
    TrailingData,
    /// Excluded by an ignore file (`.gitignore`, `.ignore`, `.keyhoundignore`).
    Ignored,
}

impl SkipReason {
    /// A short human label.
    pub fn label(self) -> &'static str {
        match self {
            SkipReason::Binary => "binary",
            SkipReason::TooLarge => "too large",
            SkipReason::Unreadable => "unreadable",
            SkipReason::Symlink => "symlink (not followed)",
            SkipReason::Special => "not a regular file",
            SkipReason::Allowlisted => "allowlisted path",
            SkipReason::Submodule => "submodule",
            SkipReason::MissingObject => "missing or corrupt git object",
            SkipReason::ArchiveDepth => "archive nested too deep",
            SkipReason::Ignored => "ignored by an ignore file",
            SkipReason::TrailingData => "trailing data after an archive",
        }
    }

    /// Whether a skip of this kind means content that might hold a secret went
    /// unscanned for a reason the user should hear about without `--verbose`.
    pub fn is_warning(self) -> bool {
        matches!(
            self,
            SkipReason::Unreadable | SkipReason::MissingObject | SkipReason::ArchiveDepth | SkipReason::TrailingData
        )
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One skipped input, kept for `--verbose` and the JSON report.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// The path (or `-`).
    pub path: String,
    /// Why.
    pub reason: SkipReason,
    /// Details, e.g. the I/O error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// How many skipped entries are kept individually (counts are always exact).
pub const MAX_SKIPPED_LISTED: usize = 10_000;

/// Totals for one scan.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScanStats {
    /// Inputs whose content was scanned (files, or blobs in a history scan).
    pub files_scanned: u64,
    /// Commits in a history scan.
    #[serde(skip_serializing_if = "is_zero")]
    pub commits_scanned: u64,
    /// Bytes scanned.
    pub bytes_scanned: u64,
    /// Findings reported.
    pub findings: u64,
    /// Findings in compiled files that repeat their scanned source's (`__pycache__/*.pyc`), reported once.
    #[serde(skip_serializing_if = "is_zero")]
    pub compiled_copies: u64,
    /// Findings in archive members whose unpacked file was scanned with the same secret, reported once.
    #[serde(skip_serializing_if = "is_zero")]
    pub archived_copies: u64,
    /// Copies of publicly known secrets reported under their set's one finding (`also_at`).
    #[serde(skip_serializing_if = "is_zero")]
    pub publicly_known_grouped: u64,
    /// Findings below `--min-confidence`, left out of the report.
    #[serde(skip_serializing_if = "is_zero")]
    pub below_min_confidence: u64,
    /// Findings not reported because a baseline or an ignore file lists them.
    #[serde(skip_serializing_if = "is_zero")]
    pub suppressed: u64,
    /// Matches and files that allowlists of a config file suppressed.
    #[serde(skip_serializing_if = "is_zero")]
    pub suppressed_by_config: u64,
    /// Skipped inputs by reason.
    pub skipped: BTreeMap<SkipReason, u64>,
    /// Files and directories excluded, by the ignore file that excluded them.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ignored_by: BTreeMap<String, u64>,
    /// Individually listed skipped inputs (at most [`MAX_SKIPPED_LISTED`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_files: Vec<Skipped>,
    /// Rules loaded.
    pub rules: usize,
    /// Config files found in the scanned tree that could not be loaded (`FILE:LINE: problem`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub config_errors: Vec<String>,
    /// Wall-clock duration in milliseconds.
    pub duration_ms: u64,
}

impl ScanStats {
    /// Records one scanned input.
    pub fn scanned(&mut self, bytes: usize) {
        self.files_scanned += 1;
        self.bytes_scanned += bytes as u64;
    }

    /// Records one skipped input.
    pub fn skip(&mut self, path: String, reason: SkipReason, detail: Option<String>) {
        *self.skipped.entry(reason).or_default() += 1;
        if self.skipped_files.len() < MAX_SKIPPED_LISTED {
            self.skipped_files.push(Skipped { path, reason, detail });
        }
    }

    /// Total skipped inputs.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    /// Adds another worker's totals into these.
    pub fn merge(&mut self, other: ScanStats) {
        self.files_scanned += other.files_scanned;
        self.commits_scanned += other.commits_scanned;
        self.bytes_scanned += other.bytes_scanned;
        self.findings += other.findings;
        self.suppressed += other.suppressed;
        for (reason, count) in other.skipped {
            *self.skipped.entry(reason).or_default() += count;
        }
        for (file, count) in other.ignored_by {
            *self.ignored_by.entry(file).or_default() += count;
        }
        let room = MAX_SKIPPED_LISTED.saturating_sub(self.skipped_files.len());
        self.skipped_files.extend(other.skipped_files.into_iter().take(room));
    }
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_counts_and_lists() {
        let mut a = ScanStats::default();
        a.scanned(10);
        a.skip("x".into(), SkipReason::Binary, None);
        let mut b = ScanStats::default();
        b.scanned(5);
        b.skip("y".into(), SkipReason::Binary, None);
        b.skip("z".into(), SkipReason::Unreadable, Some("denied".into()));
        a.merge(b);
        assert_eq!((a.files_scanned, a.bytes_scanned), (2, 15));
        assert_eq!(a.skipped[&SkipReason::Binary], 2);
        assert_eq!(a.skipped_total(), 3);
        assert_eq!(a.skipped_files.len(), 3);
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["skipped"]["binary"], 2);
    }
}
