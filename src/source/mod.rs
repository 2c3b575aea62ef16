//! Sources of bytes to scan. Each source hands blobs with an [`Origin`] to a
//! per-thread [`Worker`], which runs the engine and collects findings and stats.

pub mod fs;
pub mod stdin;

use crate::engine::location::Locator;
use crate::engine::{Input, Match, Scanner, Scratch};
use crate::finding::{Finding, Origin};
use crate::stats::ScanStats;

/// How many leading bytes are checked for NUL to call content binary.
pub const BINARY_SNIFF_LEN: usize = 8 * 1024;

/// Whether `bytes` look binary: a NUL byte in the first 8 KiB (as git does).
pub fn is_binary(bytes: &[u8]) -> bool {
    memchr::memchr(0, &bytes[..bytes.len().min(BINARY_SNIFF_LEN)]).is_some()
}

/// Everything a scan produced.
#[derive(Debug, Default)]
pub struct ScanResults {
    /// Findings, in no particular order until [`ScanResults::sort`].
    pub findings: Vec<Finding>,
    /// Totals.
    pub stats: ScanStats,
}

impl ScanResults {
    /// Adds another worker's results.
    pub fn merge(&mut self, other: ScanResults) {
        self.findings.extend(other.findings);
        self.stats.merge(other.stats);
    }

    /// Orders findings by path, position and rule, for stable output.
    pub fn sort(&mut self) {
        self.findings.sort_by(|a, b| (&a.origin, a.location, &a.rule_id).cmp(&(&b.origin, b.location, &b.rule_id)));
        self.stats.findings = self.findings.len() as u64;
    }
}

/// Per-thread scanning state: engine scratch and reusable buffers.
#[derive(Debug)]
pub struct Worker<'s> {
    scanner: &'s Scanner,
    scratch: Scratch,
    matches: Vec<Match>,
    /// Reusable read buffer for sources that read files.
    pub buffer: Vec<u8>,
    /// What this worker found so far.
    pub results: ScanResults,
}

impl<'s> Worker<'s> {
    /// A worker for `scanner`.
    pub fn new(scanner: &'s Scanner) -> Self {
        Worker {
            scanner,
            scratch: scanner.scratch(),
            matches: Vec::new(),
            buffer: Vec::new(),
            results: ScanResults::default(),
        }
    }

    /// The scanner this worker runs.
    pub fn scanner(&self) -> &'s Scanner {
        self.scanner
    }

    /// Scans `self.buffer` as the content of `origin`.
    pub fn scan_buffer(&mut self, origin: &Origin) {
        let buffer = std::mem::take(&mut self.buffer);
        self.scan_bytes(&buffer, origin);
        self.buffer = buffer;
    }

    /// Scans `bytes` as the content of `origin`, recording findings and stats.
    pub fn scan_bytes(&mut self, bytes: &[u8], origin: &Origin) {
        let path = origin.path().map(|_| origin.display_path());
        let input = Input { bytes, path: path.as_deref(), commit: None };
        self.matches.clear();
        self.scanner.scan(input, &mut self.scratch, &mut self.matches);
        self.results.stats.scanned(bytes.len());
        if self.matches.is_empty() {
            return;
        }
        let mut locator = Locator::new(bytes);
        for found in &self.matches {
            let finding = self.scanner.finding(input, found, origin, &mut locator);
            self.results.findings.push(finding);
        }
    }
}
