//! The working-tree source: a parallel walk (the `ignore` crate) that respects
//! `.gitignore` and `.keyhoundignore`, never follows symlinks, skips `.git/`,
//! and counts every file it does not scan, by reason.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ignore::{DirEntry, ParallelVisitor, ParallelVisitorBuilder, WalkBuilder, WalkState};
use indicatif::ProgressBar;

use crate::engine::Scanner;
use crate::finding::{normalize_path, Origin};
use crate::stats::SkipReason;

use super::ignores::IgnoreRules;
use super::{is_binary, ContentOptions, ScanResults, Worker, BINARY_SNIFF_LEN};

/// The per-directory ignore file keyhound reads besides `.gitignore`.
pub const IGNORE_FILE_NAME: &str = ".keyhoundignore";

/// How to walk.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// Scan files that `.gitignore`/`.keyhoundignore`/`.ignore` exclude.
    pub no_ignore: bool,
    /// Size limit and binary handling.
    pub content: ContentOptions,
    /// Worker threads (0: one per core).
    pub threads: usize,
}

/// Walks `roots` and scans every regular file. Per-file problems are counted
/// in the returned stats, never fatal.
pub fn scan_paths(scanner: &Scanner, roots: &[PathBuf], options: &WalkOptions, progress: &ProgressBar) -> ScanResults {
    let Some((first, rest)) = roots.split_first() else {
        return ScanResults::default();
    };
    let mut builder = WalkBuilder::new(first);
    for root in rest {
        builder.add(root);
    }
    // Ignore files are decided by `IgnoreRules`, not by the walker, so that
    // everything they exclude is counted and can be listed.
    let rules = (!options.no_ignore).then(|| Arc::new(IgnoreRules::new(roots)));
    let filter_rules = rules.clone();
    builder
        .hidden(false)
        .follow_links(false)
        .parents(false)
        .ignore(false)
        .git_ignore(false)
        .git_global(false)
        .git_exclude(false)
        .require_git(false)
        .threads(options.threads)
        .filter_entry(move |entry| {
            if entry.file_name() == ".git" {
                return false;
            }
            match &filter_rules {
                Some(rules) if entry.depth() > 0 => {
                    rules.keep(entry.path(), entry.file_type().is_some_and(|kind| kind.is_dir()))
                }
                _ => true,
            }
        });

    let collected = Mutex::new(ScanResults::default());
    let mut visitors = VisitorBuilder { scanner, options, progress, collected: &collected };
    builder.build_parallel().visit(&mut visitors);
    let mut results = collected.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
    for excluded in rules.map(|rules| rules.excluded()).unwrap_or_default() {
        let what = if excluded.is_dir { "directory, not entered" } else { "file" };
        let detail = format!("{what}; {}: `{}`", excluded.file, excluded.pattern);
        *results.stats.ignored_by.entry(excluded.file).or_default() += 1;
        results.stats.skip(excluded.path, SkipReason::Ignored, Some(detail));
    }
    results
}

struct VisitorBuilder<'a> {
    scanner: &'a Scanner,
    options: &'a WalkOptions,
    progress: &'a ProgressBar,
    collected: &'a Mutex<ScanResults>,
}

impl<'s> ParallelVisitorBuilder<'s> for VisitorBuilder<'s> {
    fn build(&mut self) -> Box<dyn ParallelVisitor + 's> {
        Box::new(FileVisitor {
            worker: Worker::new(self.scanner, self.options.content),
            options: self.options,
            progress: self.progress,
            collected: self.collected,
        })
    }
}

/// One walker thread: scans files into its own [`Worker`] and hands the
/// results over when the walk ends (on drop).
struct FileVisitor<'a> {
    worker: Worker<'a>,
    options: &'a WalkOptions,
    progress: &'a ProgressBar,
    collected: &'a Mutex<ScanResults>,
}

impl ParallelVisitor for FileVisitor<'_> {
    fn visit(&mut self, entry: Result<DirEntry, ignore::Error>) -> WalkState {
        match entry {
            Ok(entry) => self.visit_entry(&entry),
            Err(err) => self.record_walk_error(&err),
        }
        WalkState::Continue
    }
}

impl Drop for FileVisitor<'_> {
    fn drop(&mut self) {
        let results = std::mem::take(&mut self.worker.results);
        let mut collected = self.collected.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        collected.merge(results);
    }
}

impl FileVisitor<'_> {
    fn visit_entry(&mut self, entry: &DirEntry) {
        let Some(file_type) = entry.file_type() else {
            return;
        };
        if file_type.is_dir() {
            return;
        }
        let path = entry.path();
        let display = normalize_path(path);
        let allowlisted = self.worker.scanner().path_is_allowlisted(&display);
        let stats = &mut self.worker.results.stats;
        if file_type.is_symlink() {
            stats.skip(display, SkipReason::Symlink, None);
            return;
        }
        if !file_type.is_file() {
            stats.skip(display, SkipReason::Special, None);
            return;
        }
        if allowlisted {
            stats.skip(display, SkipReason::Allowlisted, None);
            return;
        }
        let content = self.options.content;
        match read_file(path, content.max_size, !content.scan_binary, &mut self.worker.buffer) {
            Ok(ReadOutcome::Read) => {}
            Ok(ReadOutcome::Binary) => {
                stats.skip(display, SkipReason::Binary, None);
                return;
            }
            Ok(ReadOutcome::TooLarge(size)) => {
                let detail = format!("{size} bytes; the limit is --max-file-size {}", content.max_size);
                stats.skip(display, SkipReason::TooLarge, Some(detail));
                return;
            }
            Err(err) => {
                stats.skip(display, SkipReason::Unreadable, Some(err.to_string()));
                return;
            }
        }
        let size = self.worker.buffer.len();
        self.worker.scan_buffer(&Origin::File(path.to_path_buf()));
        self.progress.inc(size as u64);
    }

    fn record_walk_error(&mut self, err: &ignore::Error) {
        let path = walk_error_path(err).map(normalize_path).unwrap_or_else(|| "<unknown>".into());
        self.worker.results.stats.skip(path, SkipReason::Unreadable, Some(err.to_string()));
    }
}

fn walk_error_path(err: &ignore::Error) -> Option<&Path> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => walk_error_path(err),
        ignore::Error::Loop { child, .. } => Some(child),
        _ => None,
    }
}

enum ReadOutcome {
    Read,
    Binary,
    TooLarge(u64),
}

/// Reads `path` into `buffer` unless it is larger than `max_size` (or binary,
/// when `skip_binary`: recognised from the first 8 KiB, without reading the rest).
fn read_file(path: &Path, max_size: u64, skip_binary: bool, buffer: &mut Vec<u8>) -> std::io::Result<ReadOutcome> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    if size > max_size {
        return Ok(ReadOutcome::TooLarge(size));
    }
    buffer.clear();
    // Exactly the file (plus the byte that tells EOF): `reserve` would round a
    // growing buffer up to twice its capacity, and each thread keeps its buffer.
    buffer.reserve_exact(usize::try_from(size).unwrap_or(0).saturating_add(1));
    // The size may change under us: never read past the limit.
    let mut limited = file.take(max_size.saturating_add(1));
    (&mut limited).take(BINARY_SNIFF_LEN as u64).read_to_end(buffer)?;
    if skip_binary && is_binary(buffer) {
        return Ok(ReadOutcome::Binary);
    }
    limited.read_to_end(buffer)?;
    if buffer.len() as u64 > max_size {
        return Ok(ReadOutcome::TooLarge(buffer.len() as u64));
    }
    Ok(ReadOutcome::Read)
}
