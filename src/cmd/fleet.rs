//! `keyhound git --datastore/--repos`: many repositories, incremental
//! rescans and the findings store. Each repository is scanned (only commits
//! not reachable from the tips the store recorded, skipping blobs it already
//! scanned), verified when asked, and recorded in one transaction; then one
//! report covers them all (only new findings unless `--all`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use git2::Oid;

use crate::cli::GitArgs;
use crate::source::git::blobs::{scan_history_incrementally, HistoryScanOptions};
use crate::source::git::history::{Limits, Selection};
use crate::source::git::repos::{local_copy, read_list, RepoEntry};
use crate::source::{ContentOptions, ScanResults};
use crate::stats::SkipReason;
use crate::store::{ScanRecord, Store};
use crate::verify::runner::verify_findings;

use super::common::{progress_bar, verify_options, Hint, Session};
use super::CmdError;

/// Scans the listed repositories (or the one given) with the datastore.
pub fn run(args: &GitArgs) -> Result<u8, CmdError> {
    let repos = repositories(args)?;
    run_entries(args, repos)
}

/// Scans `repos` (this shard's share) with the datastore, as [`run`] does a list.
pub fn run_entries(args: &GitArgs, repos: Vec<RepoEntry>) -> Result<u8, CmdError> {
    let common = &args.common;
    let repos: Vec<RepoEntry> = match args.shard {
        Some(shard) if args.repos.is_none() => repos.into_iter().filter(|entry| shard.owns(&entry.id)).collect(),
        _ => repos,
    };
    let listed = args.repos.is_some() || repos.iter().any(|entry| entry.remote);
    let roots: Vec<PathBuf> = if listed { Vec::new() } else { vec![args.repo.clone()] };
    let session = Session::start(common, &roots)?;
    let mut store = match &args.datastore {
        Some(spec) => Some(Store::open(spec).map_err(|err| CmdError::Usage(format!("--datastore: {err:#}")))?),
        None => None,
    };
    let ruleset = session.scanner.rules().version_hash();
    let options = HistoryScanOptions { content: ContentOptions::from(common), threads: common.threads };
    let limits = Limits { since: args.since, max_commits: args.max_commits };
    let list_dir = args.repos.as_deref().and_then(Path::parent).unwrap_or(Path::new(".")).to_path_buf();
    let mut all = ScanResults::default();
    let (mut new_findings, mut blobs_scanned, mut skipped_repos) = (0usize, 0usize, 0usize);
    let started = Instant::now();
    for entry in &repos {
        let path = match local_copy(entry, &list_dir, &args.clone_dir) {
            Ok(path) => path,
            Err(problem) => {
                eprintln!("keyhound: warning: {problem}");
                all.stats.skip(entry.id.clone(), SkipReason::Unreadable, Some(problem));
                skipped_repos += 1;
                continue;
            }
        };
        let (selection, known) = match &mut store {
            Some(store) if !args.all => {
                let tips = store.tips(&entry.id, &ruleset).context("reading the datastore")?;
                let known: HashSet<Oid> = store
                    .scanned_blobs(&entry.id, &ruleset)
                    .context("reading the datastore")?
                    .iter()
                    .filter_map(|blob| Oid::from_str(blob).ok())
                    .collect();
                (if tips.is_empty() { Selection::All } else { Selection::AllExcept(tips) }, known)
            }
            _ => (Selection::All, HashSet::new()),
        };
        let progress = progress_bar(common, &format!("{{spinner}} {} {{pos}}/{{len}} blobs {{wide_bar}}", entry.id));
        let scan = match git_path(&path).and_then(|path| {
            scan_history_incrementally(&path, &session.scanner, &selection, &limits, &options, &known, &progress)
        }) {
            Ok(scan) => scan,
            Err(err) => {
                progress.finish_and_clear();
                eprintln!("keyhound: warning: could not scan {}: {err}", entry.id);
                all.stats.skip(entry.id.clone(), SkipReason::Unreadable, Some(err.to_string()));
                skipped_repos += 1;
                continue;
            }
        };
        progress.finish_and_clear();
        let mut results = scan.results;
        if common.verify.enabled() {
            let verify = verify_options(&common.verify.provider, session.scanner.rules());
            verify_findings(&mut results.findings, session.scanner.rules(), &verify, &indicatif::ProgressBar::hidden());
        }
        blobs_scanned += scan.blobs.len();
        if let Some(store) = &mut store {
            let record = ScanRecord {
                repo: &entry.id,
                ruleset: &ruleset,
                tips: &scan.tips,
                blobs: &scan.blobs,
                findings: &results.findings,
            };
            let new = store.record(&record).with_context(|| format!("recording {} in the datastore", entry.id))?;
            new_findings += new.len();
            if !args.all {
                results.findings.retain(|finding| new.contains(finding.fingerprint.as_str()));
            }
        }
        all.merge(results);
    }
    if !common.quiet {
        let location = store.as_ref().map_or("no datastore".to_string(), |store| store.location.clone());
        eprintln!(
            "keyhound: {} repositories ({} could not be scanned), {blobs_scanned} new blobs, {new_findings} new findings in {:.1}s; datastore: {location}",
            repos.len(),
            skipped_repos,
            started.elapsed().as_secs_f64()
        );
    }
    session.finish(common, all, Hint::History)
}

/// The repositories of this run: the --repos list (this shard's share) or the one REPO.
fn repositories(args: &GitArgs) -> Result<Vec<RepoEntry>, CmdError> {
    let Some(list) = &args.repos else {
        let path = args.repo.canonicalize().unwrap_or_else(|_| args.repo.clone());
        return Ok(vec![RepoEntry { id: path.display().to_string(), remote: false }]);
    };
    let mut entries = read_list(list).map_err(CmdError::Usage)?;
    if let Some(shard) = args.shard {
        entries.retain(|entry| shard.owns(&entry.id));
    }
    Ok(entries)
}

/// The repository's git directory (a work tree, a bare repository, or a mirror).
fn git_path(path: &Path) -> Result<PathBuf, crate::source::git::GitError> {
    let repo = crate::source::git::open(path)?;
    Ok(repo.path().to_path_buf())
}
