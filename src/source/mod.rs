//! Sources of bytes to scan. Each source hands blobs with an [`Origin`] to a
//! per-thread [`Worker`], which runs the engine and collects findings and stats.

pub mod archive;
pub mod binary;
pub mod decode;
pub mod fs;
pub mod git;
pub mod hosting;
pub mod ignores;
pub mod image;
pub mod registry;
pub mod stdin;

use std::ops::Range;

use crate::cli::CommonArgs;
use crate::engine::location::Locator;
use crate::engine::{Input, Match, Scanner, Scratch};
use crate::finding::{Finding, Origin};
use crate::stats::{ScanStats, SkipReason};

use binary::PrintableRuns;

/// How many leading bytes are checked for NUL to call content binary.
pub const BINARY_SNIFF_LEN: usize = 8 * 1024;

/// Whether `bytes` look binary: a NUL byte in the first 8 KiB (as git does).
pub fn is_binary(bytes: &[u8]) -> bool {
    memchr::memchr(0, &bytes[..bytes.len().min(BINARY_SNIFF_LEN)]).is_some()
}

/// What content to scan, shared by all sources.
#[derive(Debug, Clone, Copy)]
pub struct ContentOptions {
    /// Inputs larger than this are skipped (and counted).
    pub max_size: u64,
    /// Scan the printable strings of binary content (else skip it, counted).
    pub scan_binary: bool,
    /// Archives nested deeper than this are skipped (and counted).
    pub max_archive_depth: usize,
    /// Encoded text (base64, hex, percent, escapes) is decoded and scanned
    /// this many levels deep (0: never).
    pub max_decode_depth: usize,
}

impl ContentOptions {
    /// Binary content scanned, archives opened to the default depth, inputs up to `max_size`.
    pub fn new(max_size: u64) -> Self {
        ContentOptions {
            max_size,
            scan_binary: true,
            max_archive_depth: archive::DEFAULT_MAX_DEPTH,
            max_decode_depth: DEFAULT_DECODE_DEPTH,
        }
    }
}

impl From<&CommonArgs> for ContentOptions {
    fn from(common: &CommonArgs) -> Self {
        ContentOptions {
            max_size: common.max_file_size,
            scan_binary: !common.skip_binary,
            max_archive_depth: common.max_archive_depth,
            max_decode_depth: common.max_decode_depth,
        }
    }
}

/// Levels of encoding decoded by default (`--max-decode-depth`): a base64
/// value holding a percent-encoded password is two.
pub const DEFAULT_DECODE_DEPTH: usize = 2;

/// What [`Worker::look_without_path`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathlessLook {
    /// No finding wherever it is found (unless a path-only rule names its
    /// path): it counts as one input scanned, of its size.
    Clean,
    /// Binary, and binary content is not scanned: skipped as binary.
    BinarySkipped,
    /// Something may match: scan it again with its origin.
    NeedsPath,
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
    content: ContentOptions,
    scratch: Scratch,
    matches: Vec<Match>,
    runs: PrintableRuns,
    /// Reusable read buffer for sources that read files.
    pub buffer: Vec<u8>,
    /// What this worker found so far.
    pub results: ScanResults,
}

impl<'s> Worker<'s> {
    /// A worker for `scanner`.
    pub fn new(scanner: &'s Scanner, content: ContentOptions) -> Self {
        Worker {
            scanner,
            content,
            scratch: scanner.scratch(),
            matches: Vec::new(),
            runs: PrintableRuns::default(),
            buffer: Vec::new(),
            results: ScanResults::default(),
        }
    }

    /// The scanner this worker runs.
    pub fn scanner(&self) -> &'s Scanner {
        self.scanner
    }

    /// The content options this worker applies.
    pub fn content(&self) -> ContentOptions {
        self.content
    }

    /// Scans `self.buffer` as the content of `origin`.
    pub fn scan_buffer(&mut self, origin: &Origin) {
        let buffer = std::mem::take(&mut self.buffer);
        self.scan_content(&buffer, origin);
        self.buffer = buffer;
    }

    /// Scans `bytes` as the content of `origin`: text directly; binary
    /// content (unless `--skip-binary`) as an archive, member by member, or
    /// through its printable strings.
    pub fn scan_content(&mut self, bytes: &[u8], origin: &Origin) {
        let mut budget = archive::MAX_TOTAL_EXPANDED;
        self.scan_nested(bytes, origin, 0, &mut budget);
    }

    /// Looks at `bytes` before their path is known (see
    /// [`Scanner::may_match`]); only [`PathlessLook::Clean`] content needs no
    /// second scan once its origin is known.
    pub fn look_without_path(&mut self, bytes: &[u8]) -> PathlessLook {
        if let Some(text) = decode::utf16_with_bom(bytes) {
            let may_match = self.scanner.may_match(text.as_bytes(), false, &mut self.scratch, &mut self.matches)
                || self.decoded_may_match(text.as_bytes(), self.content.max_decode_depth);
            return if may_match { PathlessLook::NeedsPath } else { PathlessLook::Clean };
        }
        let binary = is_binary(bytes);
        if binary && !self.content.scan_binary {
            return PathlessLook::BinarySkipped;
        }
        if archive::detect(bytes).is_some() {
            // Its members' names are part of their origins.
            return PathlessLook::NeedsPath;
        }
        let may_match = if binary {
            self.runs.extract(bytes);
            self.scanner.may_match(&self.runs.text, true, &mut self.scratch, &mut self.matches)
        } else {
            self.scanner.may_match(bytes, false, &mut self.scratch, &mut self.matches)
                || self.decoded_may_match(bytes, self.content.max_decode_depth)
        };
        if may_match {
            PathlessLook::NeedsPath
        } else {
            PathlessLook::Clean
        }
    }

    fn scan_nested(&mut self, bytes: &[u8], origin: &Origin, depth: usize, budget: &mut u64) {
        if let Some(text) = decode::utf16_with_bom(bytes) {
            let first = self.results.findings.len();
            self.scan_text(text.as_bytes(), origin, None);
            for finding in &mut self.results.findings[first..] {
                finding.location.offset = decode::utf16_offset(&text, finding.location.offset);
            }
            let stats = &mut self.results.stats;
            stats.bytes_scanned = stats.bytes_scanned + bytes.len() as u64 - text.len() as u64;
            return;
        }
        let binary = is_binary(bytes);
        if binary && !self.content.scan_binary {
            self.results.stats.skip(origin.display_path(), SkipReason::Binary, None);
            return;
        }
        if let Some(kind) = archive::detect(bytes) {
            if depth >= self.content.max_archive_depth {
                let detail = format!(
                    "an archive nested {} deep; --max-archive-depth is {}",
                    depth + 1,
                    self.content.max_archive_depth
                );
                self.results.stats.skip(origin.display_path(), SkipReason::ArchiveDepth, Some(detail));
                return;
            }
            let max_member = self.content.max_size;
            archive::for_each_member(kind, bytes, max_member, budget, &mut |member, budget| match member {
                archive::Member::Content(name, content) => {
                    let inner = Origin::archive_member(origin, name);
                    self.scan_nested(&content, &inner, depth + 1, budget);
                }
                archive::Member::TooLarge(name, detail) => {
                    let path = Origin::archive_member(origin, name).display_path();
                    self.results.stats.skip(path, SkipReason::TooLarge, Some(detail));
                }
                archive::Member::Unreadable(name, detail) => {
                    let path = Origin::archive_member(origin, name).display_path();
                    self.results.stats.skip(path, SkipReason::Unreadable, Some(detail));
                }
                archive::Member::TrailingData(name, detail) => {
                    let path = Origin::archive_member(origin, name).display_path();
                    self.results.stats.skip(path, SkipReason::TrailingData, Some(detail));
                }
            });
            return;
        }
        if !binary {
            self.scan_text(bytes, origin, None);
            return;
        }
        let mut runs = std::mem::take(&mut self.runs);
        runs.extract(bytes);
        self.scan_text(&runs.text, origin, Some(&runs));
        // Count the binary input's real size, not the extracted text's (which
        // can be longer: every run gets a line break).
        let stats = &mut self.results.stats;
        stats.bytes_scanned = stats.bytes_scanned + bytes.len() as u64 - runs.text.len() as u64;
        self.runs = runs;
    }

    /// Whether the text decoded from any encoded span of `bytes` (to `depth`
    /// levels) may yield a finding under some path.
    fn decoded_may_match(&mut self, bytes: &[u8], depth: usize) -> bool {
        if depth == 0 {
            return false;
        }
        let mut encoded = Vec::new();
        decode::find_encoded(bytes, &mut encoded);
        encoded.into_iter().any(|span| {
            self.scanner.may_match(&span.decoded, false, &mut self.scratch, &mut self.matches)
                || self.decoded_may_match(&span.decoded, depth - 1)
        })
    }

    /// Scans the text that encoded spans of `bytes` decode to, `depth` levels
    /// deep; a finding is placed at the outermost span of `original` and
    /// names the encodings (`base64`, `base64 > percent`). The findings of
    /// this input start at `first`.
    fn scan_decoded(
        &mut self,
        whole: &WholeInput<'_>,
        bytes: &[u8],
        outer: Option<&Range<usize>>,
        chain: &str,
        depth: usize,
    ) {
        let WholeInput { original, origin, first } = *whole;
        if depth == 0 {
            return;
        }
        let mut encoded = Vec::new();
        decode::find_encoded(bytes, &mut encoded);
        if encoded.is_empty() {
            return;
        }
        let path = origin.has_path().then(|| origin.display_path());
        let commit = origin.commit().map(|commit| commit.id.as_str().to_string());
        for span in encoded {
            let chain = if chain.is_empty() {
                span.encoding.name().to_string()
            } else {
                format!("{chain} > {}", span.encoding.name())
            };
            let place = outer.cloned().unwrap_or_else(|| span.span.clone());
            let input = Input { bytes: &span.decoded, path: path.as_deref(), commit: commit.as_deref(), binary: false };
            let mut matches = Vec::new();
            self.scanner.scan(input, &mut self.scratch, &mut matches);
            let placed = (!matches.is_empty()).then(|| {
                let location = Locator::new(original).locate(place.start, place.end.max(place.start + 1));
                (location, String::from_utf8_lossy(&original[line_bounds(original, &place)]).into_owned())
            });
            let mut decoded_locator = Locator::new(&span.decoded);
            for found in &matches {
                let Some((location, line)) = &placed else { break };
                let mut finding = self.scanner.finding(input, found, origin, &mut decoded_locator);
                let duplicate = self.results.findings[first..].iter().any(|other| {
                    other.origin == finding.origin
                        && other.rule_id == finding.rule_id
                        && other.secret.expose() == finding.secret.expose()
                });
                if duplicate {
                    continue;
                }
                finding.location = *location;
                finding.line = crate::finding::Secret::new(line.clone());
                finding.decoded = Some(chain.clone());
                if span.encoding.wraps_text() {
                    self.absorb_encoded_forms(&mut finding, origin, &place, first);
                } else if self.results.findings[first..].iter().any(|other| found_at(other, origin, &place)) {
                    // Escaped text the rules already matched as written: one finding.
                    continue;
                }
                self.results.findings.push(finding);
            }
            // An encoded value that decodes to words or lines (a config file, a
            // script, prose) is no key itself: what it holds was scanned above.
            if span.encoding.wraps_text() && span.decoded.iter().any(u8::is_ascii_whitespace) {
                let mut index = 0;
                self.results.findings.retain(|other| {
                    index += 1;
                    index <= first || !found_at(other, origin, &place)
                });
            }
            self.scan_decoded(whole, &span.decoded, Some(&place), &chain, depth - 1);
        }
    }

    /// One secret, one finding: findings of rules that matched the encoded
    /// form at `place` (a generic value, a Kubernetes data field, a URL with
    /// `%XX`) yield to `decoded`, which names their rules.
    fn absorb_encoded_forms(&mut self, decoded: &mut Finding, origin: &Origin, place: &Range<usize>, first: usize) {
        let mut index = first;
        while index < self.results.findings.len() {
            if found_at(&self.results.findings[index], origin, place) {
                let other = self.results.findings.swap_remove(index);
                if other.rule_id != decoded.rule_id && !decoded.also_matched.contains(&other.rule_id) {
                    decoded.also_matched.push(other.rule_id);
                }
            } else {
                index += 1;
            }
        }
    }

    /// Scans text; `runs` maps offsets back when the text came from binary content.
    fn scan_text(&mut self, bytes: &[u8], origin: &Origin, runs: Option<&PrintableRuns>) {
        let path = origin.has_path().then(|| origin.display_path());
        let commit = origin.commit().map(|commit| commit.id.as_str());
        let input = Input { bytes, path: path.as_deref(), commit, binary: runs.is_some() };
        self.matches.clear();
        self.scanner.scan(input, &mut self.scratch, &mut self.matches);
        self.results.stats.scanned(bytes.len());
        let first = self.results.findings.len();
        if !self.matches.is_empty() {
            self.report_matches(input, origin, runs);
        }
        if runs.is_none() && self.content.max_decode_depth > 0 {
            let whole = WholeInput { original: bytes, origin, first };
            self.scan_decoded(&whole, bytes, None, "", self.content.max_decode_depth);
        }
    }

    /// Turns this input's matches into findings.
    fn report_matches(&mut self, input: Input<'_>, origin: &Origin, runs: Option<&PrintableRuns>) {
        let bytes = input.bytes;
        let mut locator = Locator::new(bytes);
        for found in &self.matches {
            let mut finding = self.scanner.finding(input, found, origin, &mut locator);
            if let Some(runs) = runs {
                let location = &mut finding.location;
                location.offset = runs.original_offset(found.secret.start);
                location.in_binary = true;
                (location.line, location.column, location.end_line, location.end_column) = (0, 0, 0, 0);
            }
            self.results.findings.push(finding);
        }
    }
}

/// The input whose encoded spans are being decoded: its bytes, its origin,
/// and where its findings start in the worker's results.
#[derive(Clone, Copy)]
struct WholeInput<'a> {
    original: &'a [u8],
    origin: &'a Origin,
    first: usize,
}

/// Whether `finding` was matched as written (not decoded) in `origin`, its
/// secret within `place` (the encoded form itself, not a token such as a JWT
/// that merely contains it).
fn found_at(finding: &Finding, origin: &Origin, place: &Range<usize>) -> bool {
    finding.origin == *origin
        && finding.decoded.is_none()
        && place.start <= finding.location.offset
        && finding.location.offset + finding.secret.expose().len() <= place.end
}

/// The byte range of the line(s) holding `span` (at most 200 bytes either side).
fn line_bounds(bytes: &[u8], span: &Range<usize>) -> Range<usize> {
    let floor = span.start.saturating_sub(200);
    let start = memchr::memrchr(b'\n', &bytes[floor..span.start]).map_or(floor, |at| floor + at + 1);
    let ceiling = (span.end + 200).min(bytes.len());
    let end = memchr::memchr(b'\n', &bytes[span.end.min(ceiling)..ceiling]).map_or(ceiling, |at| span.end + at);
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;

    fn scan(bytes: &[u8]) -> ScanResults {
        let scanner = Scanner::new(RuleSet::defaults().unwrap()).unwrap();
        let mut worker = Worker::new(&scanner, ContentOptions::new(1 << 20));
        worker.scan_content(bytes, &Origin::File("input.bin".into()));
        worker.results
    }

    /// Found by the `engine` fuzz target: a printable run reaching the end of
    /// binary content made the extracted text longer than the input, and the
    /// byte count underflowed.
    #[test]
    fn binary_content_whose_last_run_reaches_the_end_counts_its_own_size() {
        let input =
            b"DHEPSEEK\x1b\t_API_KEY=sk-64cf339f875dfaf8d189e48f1THUB_TOKEN=ghp_8kkFqzHVgEP\x00S1THUB_TOKEN=ghp_8kkFq";
        let results = scan(input);
        assert_eq!(results.stats.bytes_scanned, input.len() as u64);
        assert_eq!(results.stats.files_scanned, 1);
    }

    #[test]
    fn binary_content_is_counted_at_its_real_size() {
        let mut input = vec![0u8; 64];
        input.extend_from_slice(b"DEEPSEEK_API_KEY=sk-64cf339f875dfaf8d189e48f1f0ee868");
        input.extend_from_slice(&[0u8; 64]);
        let results = scan(&input);
        assert_eq!(results.stats.bytes_scanned, input.len() as u64);
        assert_eq!(results.findings.len(), 1);
        assert!(results.findings[0].location.in_binary);
        assert_eq!(results.findings[0].location.offset, 64 + 17);
    }
}
