//! Scanning a history: unique blobs in parallel while the walk goes on (one
//! libgit2 handle per worker, since `Repository` is not `Sync`), then commit
//! and tag messages.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{mpsc, Mutex};
use std::thread;

use git2::{ObjectType, Oid, Repository};
use indicatif::ProgressBar;
use rayon::prelude::*;

use crate::engine::Scanner;
use std::sync::Arc;

use crate::finding::{BlobOrigin, Finding, Origin};
use crate::source::{ContentOptions, ScanResults, Worker};
use crate::stats::SkipReason;

use super::history::{enumerate, History, Limits, Selection, MAX_EXTRA_OCCURRENCES};
use super::pack::OidMap;
use super::packed::scan_packed_history;
use super::trees::{Libgit2Trees, ObjectIds, TreeWalker};
use super::GitError;

/// Walks the selected history of the repository at `repo_path` and scans it:
/// one thread enumerates commits and trees and streams each new blob to the
/// scanning threads (one libgit2 handle each) while the walk goes on; then
/// commit and tag messages are scanned.
pub fn scan_history(
    repo_path: &Path,
    scanner: &Scanner,
    selection: &Selection,
    limits: &Limits,
    options: &HistoryScanOptions,
    progress: &ProgressBar,
) -> Result<ScanResults, GitError> {
    scan_history_incrementally(repo_path, scanner, selection, limits, options, &HashSet::new(), progress)
        .map(|scan| scan.results)
}

/// A history scan and what an incremental rescan needs next time.
#[derive(Debug)]
pub struct HistoryScan {
    /// Findings and totals.
    pub results: ScanResults,
    /// The ref tips walked.
    pub tips: Vec<String>,
    /// The blobs scanned (not those skipped as `known`).
    pub blobs: Vec<String>,
}

/// [`scan_history`], skipping blobs in `known`.
///
/// A whole-history scan (every ref, no limits, nothing known) reads the
/// packs in pack order ([`scan_packed_history`]) unless its trees would not
/// fit that reader's memory budget; any other selection streams the blobs the
/// walk meets to libgit2 readers.
pub fn scan_history_incrementally(
    repo_path: &Path,
    scanner: &Scanner,
    selection: &Selection,
    limits: &Limits,
    options: &HistoryScanOptions,
    known: &HashSet<Oid>,
    progress: &ProgressBar,
) -> Result<HistoryScan, GitError> {
    let whole_history =
        *selection == Selection::All && limits.since.is_none() && limits.max_commits.is_none() && known.is_empty();
    let job = Job { repo_path, scanner, selection, limits, options, progress };
    let packed = if whole_history { scan_packed_history(job)? } else { None };
    let (results, mut history, blobs) = match packed {
        Some(scanned) => scanned,
        None => scan_walked_history(job, known)?,
    };
    let results = finish(results, &history, scanner, options.content);
    let tips = std::mem::take(&mut history.tips);
    // A history's worth of messages and occurrences takes a while to free.
    drop_in_background(history);
    Ok(HistoryScan { results, tips, blobs })
}

/// One history scan's inputs, handed to whichever reader does the work.
#[derive(Clone, Copy)]
pub(super) struct Job<'a> {
    /// The repository (work tree, `.git` directory or bare).
    pub repo_path: &'a Path,
    /// The rules.
    pub scanner: &'a Scanner,
    /// Which commits.
    pub selection: &'a Selection,
    /// `--since`, `--max-commits`.
    pub limits: &'a Limits,
    /// Size limit, binary handling, threads.
    pub options: &'a HistoryScanOptions,
    /// Blobs done and to do.
    pub progress: &'a ProgressBar,
}

/// What a reader hands back: blob results (before attribution and message
/// scanning), the walked history and the ids of the blobs scanned.
pub(super) type Scanned = (ScanResults, History, Vec<String>);

/// Streams each blob the walk meets to the scanning threads (one libgit2
/// handle each) while the walk goes on.
fn scan_walked_history(job: Job<'_>, known: &HashSet<Oid>) -> Result<Scanned, GitError> {
    let Job { repo_path, scanner, selection, limits, options, progress } = job;
    let collected = Mutex::new(ScanResults::default());
    let mut scanned_blobs = Vec::new();
    let scanned_blobs_of_walk = &mut scanned_blobs;
    let content = options.content;
    let (sender, receiver) = mpsc::sync_channel::<(Oid, Arc<BlobOrigin>)>(CHANNEL_DEPTH);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(options.threads).build().ok();
    let history = thread::scope(|scope| {
        let walker = thread::Builder::new().name("history-walk".into());
        let walk = walker.spawn_scoped(scope, move || {
            let repo = super::open(repo_path)?;
            let trees = Libgit2Trees { repo: &repo, packed: None };
            let walker = TreeWalker::new(&trees, ObjectIds::new(None));
            let scanned_blobs = scanned_blobs_of_walk;
            enumerate(&repo, &repo, selection, limits, walker, OidMap::default(), &mut |_, oid, origin| {
                let oid = Oid::from_bytes(oid).expect("20 bytes");
                if known.contains(&oid) {
                    return;
                }
                scanned_blobs.push(oid.to_string());
                progress.inc_length(1);
                // The receiver lives until every blob is scanned.
                let _ = sender.send((oid, origin));
            })
        });
        let scan_all = || {
            receiver.into_iter().par_bridge().for_each_init(
                || BlobWorker::new(repo_path, scanner, content, &collected),
                |worker, (oid, origin)| {
                    worker.scan_blob(oid, &origin);
                    progress.inc(1);
                },
            );
        };
        match &pool {
            Some(pool) => pool.install(scan_all),
            None => scan_all(),
        }
        match walk {
            Ok(walk) => walk.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(err) => Err(GitError::Thread(err.to_string())),
        }
    })?;
    let results = collected.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
    Ok((results, history, scanned_blobs))
}

/// Attributes findings to every place their blob appeared, merges repeated
/// secrets, and scans commit and tag messages.
fn finish(mut results: ScanResults, history: &History, scanner: &Scanner, content: ContentOptions) -> ScanResults {
    attach_other_occurrences(&mut results.findings, &history.also_by_order);
    merge_repeated_secrets(&mut results.findings);
    let commit_messages =
        history.messages.par_iter().map(|(commit, message)| (message, Origin::CommitMessage(commit.clone())));
    let tag_messages =
        history.tag_messages.par_iter().map(|(tag, message)| (message, Origin::TagMessage { tag: tag.clone() }));
    let mut messages = commit_messages
        .chain(tag_messages)
        .fold(
            || Worker::new(scanner, content),
            |mut worker, (message, origin)| {
                worker.scan_content(message.as_bytes(), &origin);
                worker
            },
        )
        .map(|worker| worker.results)
        .reduce(ScanResults::default, |mut all, part| {
            all.merge(part);
            all
        });
    // Messages are not files: count the commits instead.
    messages.stats.files_scanned = 0;
    results.merge(messages);
    results.stats.commits_scanned = history.commits as u64;
    for path in &history.submodules {
        let note = Some("submodules are separate repositories".into());
        results.stats.skip(path.clone(), SkipReason::Submodule, note);
    }
    for problem in &history.problems {
        results.stats.skip(problem.what.clone(), SkipReason::MissingObject, Some(problem.detail.clone()));
    }
    results
}

/// Drops `value` on another thread: freeing millions of small allocations
/// need not hold up the report.
pub(super) fn drop_in_background<T: Send + 'static>(value: T) {
    // If no thread can be started, the value is freed with the failed spawn.
    let _ = std::thread::Builder::new().name("free".into()).spawn(move || drop(value));
}

/// Blobs buffered between the history walk and the scanning threads.
const CHANNEL_DEPTH: usize = 4096;

/// How to scan history blobs.
#[derive(Debug, Clone, Copy)]
pub struct HistoryScanOptions {
    /// Size limit and binary handling.
    pub content: ContentOptions,
    /// Scanning threads (0: one per core).
    pub threads: usize,
}

/// Blobs are scanned as soon as they are met, before later commits show
/// where else they appear: add those places now.
fn attach_other_occurrences(findings: &mut [Finding], also_by_order: &[Vec<crate::finding::Occurrence>]) {
    for finding in findings {
        if let Origin::GitBlob(blob) = &mut finding.origin {
            if let Some(also) = also_by_order.get(blob.order).filter(|also| !also.is_empty()) {
                Arc::make_mut(blob).also = also.clone();
            }
        }
    }
}

/// A secret that stays in a file while the file is edited is in many blobs.
/// Keeps one finding per (rule, secret): the one from the blob that appeared
/// first in topological order, i.e. the commit that introduced the secret,
/// and lists where else it was found (capped) in `also_in`.
pub fn merge_repeated_secrets(findings: &mut Vec<Finding>) {
    let order = |finding: &Finding| match &finding.origin {
        Origin::GitBlob(blob) => Some(blob.order),
        _ => None,
    };
    findings.sort_by(|a, b| {
        (&a.rule_id, a.secret.expose(), order(a), a.location).cmp(&(
            &b.rule_id,
            b.secret.expose(),
            order(b),
            b.location,
        ))
    });
    let mut kept: Vec<Finding> = Vec::with_capacity(findings.len());
    for finding in findings.drain(..) {
        let Origin::GitBlob(blob) = &finding.origin else {
            kept.push(finding);
            continue;
        };
        let repeat = kept.last_mut().filter(|first| {
            matches!(first.origin, Origin::GitBlob(_))
                && first.rule_id == finding.rule_id
                && first.secret.expose() == finding.secret.expose()
        });
        let Some(first) = repeat else {
            kept.push(finding);
            continue;
        };
        if let Origin::GitBlob(first_blob) = &mut first.origin {
            let merged = Arc::make_mut(first_blob);
            for occurrence in std::iter::once(&blob.first).chain(&blob.also) {
                let known = merged.first.path == occurrence.path && merged.first.commit == occurrence.commit
                    || merged.also.contains(occurrence);
                if !known && merged.also.len() < MAX_EXTRA_OCCURRENCES {
                    merged.also.push(occurrence.clone());
                }
            }
        }
    }
    *findings = kept;
}

/// One rayon worker's repository handle and scanning state; hands its results
/// over when dropped.
pub(super) struct BlobWorker<'a> {
    repo: Option<Repository>,
    worker: Worker<'a>,
    collected: &'a Mutex<ScanResults>,
}

impl<'a> BlobWorker<'a> {
    /// A worker with its own repository handle, merging into `collected` when dropped.
    pub(super) fn new(
        repo_path: &Path,
        scanner: &'a Scanner,
        content: ContentOptions,
        collected: &'a Mutex<ScanResults>,
    ) -> Self {
        BlobWorker { repo: super::open(repo_path).ok(), worker: Worker::new(scanner, content), collected }
    }

    /// Reads blob `oid` and scans it (or notes why it was skipped).
    pub(super) fn scan_blob(&mut self, oid: Oid, origin: &std::sync::Arc<BlobOrigin>) {
        let path = origin.first.path.clone();
        let max_size = self.worker.content().max_size;
        let stats = &mut self.worker.results.stats;
        let Some(repo) = &self.repo else {
            stats.skip(path, SkipReason::Unreadable, Some("could not open the repository".into()));
            return;
        };
        match repo.odb().and_then(|odb| odb.read_header(oid)) {
            Ok((size, ObjectType::Blob)) if size as u64 > max_size => {
                let detail = format!("blob {oid}: {size} bytes; the limit is --max-file-size {max_size}");
                stats.skip(path, SkipReason::TooLarge, Some(detail));
                return;
            }
            Ok(_) => {}
            Err(err) => {
                stats.skip(path, SkipReason::MissingObject, Some(format!("blob {oid}: {}", err.message())));
                return;
            }
        }
        match repo.find_blob(oid) {
            Ok(blob) => self.worker.scan_content(blob.content(), &Origin::GitBlob(origin.clone())),
            Err(err) => stats.skip(path, SkipReason::MissingObject, Some(format!("blob {oid}: {}", err.message()))),
        }
    }
}

impl Drop for BlobWorker<'_> {
    fn drop(&mut self) {
        let results = std::mem::take(&mut self.worker.results);
        let mut collected = self.collected.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        collected.merge(results);
    }
}
