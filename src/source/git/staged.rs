//! Changes rather than whole trees: the staged changes of the commit being
//! made (the index against HEAD, or against nothing for a first commit), or a
//! work tree's changes since a base commit (`scan --diff BASE`). Only what is
//! added counts: each changed file is scanned whole (so multi-line secrets
//! and columns are right), and findings are kept when they touch an added line.

use std::collections::HashSet;
use std::path::PathBuf;

use git2::{Delta, DiffFindOptions, DiffOptions, Patch, Repository};

use crate::finding::Origin;
use crate::source::Worker;
use crate::stats::SkipReason;

use super::{lossy, GitError};

/// Scans what the index adds relative to HEAD.
pub fn scan_staged(repo: &Repository, worker: &mut Worker<'_>) -> Result<(), GitError> {
    let head_tree = match repo.head() {
        Ok(head) => Some(head.peel_to_tree().map_err(GitError::read("reading HEAD's tree"))?),
        // No commit yet: everything staged is new.
        Err(err) if err.code() == git2::ErrorCode::UnbornBranch || err.code() == git2::ErrorCode::NotFound => None,
        Err(err) => return Err(GitError::Read { doing: "reading HEAD", source: err }),
    };
    let index = repo.index().map_err(GitError::read("reading the index"))?;
    let diff = repo
        .diff_tree_to_index(head_tree.as_ref(), Some(&index), Some(&mut diff_options()))
        .map_err(GitError::read("diffing the index against HEAD"))?;
    scan_diff(repo, diff, NewSide::Index, worker)
}

/// Scans what the work tree (staged or not, untracked files included) adds
/// relative to `base`, a commit or ref.
pub fn scan_workdir_since(repo: &Repository, base: &str, worker: &mut Worker<'_>) -> Result<(), GitError> {
    let base_tree = repo
        .revparse_single(base)
        .and_then(|object| object.peel_to_tree())
        .map_err(|err| GitError::BadRevision { what: "--diff", spec: base.into(), message: err.message().into() })?;
    let mut options = diff_options();
    options.include_untracked(true).recurse_untracked_dirs(true).show_untracked_content(true);
    let diff = repo
        .diff_tree_to_workdir_with_index(Some(&base_tree), Some(&mut options))
        .map_err(GitError::read("diffing the work tree against the base"))?;
    scan_diff(repo, diff, NewSide::WorkTree, worker)
}

/// Where the new side of a diff lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NewSide {
    /// Blobs in the object database (the index).
    Index,
    /// Files in the work tree (not necessarily hashed into objects).
    WorkTree,
}

fn diff_options() -> DiffOptions {
    let mut options = DiffOptions::new();
    options.context_lines(0).ignore_submodules(true).include_typechange(true);
    options
}

/// Scans the new side of each changed file, keeping findings on added lines.
fn scan_diff(
    repo: &Repository,
    mut diff: git2::Diff<'_>,
    side: NewSide,
    worker: &mut Worker<'_>,
) -> Result<(), GitError> {
    diff.find_similar(Some(DiffFindOptions::new().renames(true).copies(false)))
        .map_err(GitError::read("detecting renames"))?;

    for (index, delta) in diff.deltas().enumerate() {
        if matches!(delta.status(), Delta::Deleted | Delta::Unmodified | Delta::Ignored) {
            continue;
        }
        let new_file = delta.new_file();
        let path = new_file.path_bytes().map(lossy).unwrap_or_default();
        if new_file.mode() == git2::FileMode::Commit {
            worker.results.stats.skip(path, SkipReason::Submodule, None);
            continue;
        }
        let added = match Patch::from_diff(&diff, index) {
            Ok(Some(patch)) if !delta.flags().is_binary() => Some(added_lines(&patch)),
            // Binary (or no textual patch): every finding in the new content counts.
            _ => None,
        };
        if added.as_ref().is_some_and(HashSet::is_empty) {
            continue;
        }
        let content = if side == NewSide::WorkTree {
            let full = repo.workdir().unwrap_or(repo.path()).join(&path);
            std::fs::read(&full).map_err(|err| err.to_string())
        } else {
            repo.find_blob(new_file.id()).map(|blob| blob.content().to_vec()).map_err(|err| err.message().to_string())
        };
        let content = match content {
            Ok(content) => content,
            Err(detail) => {
                worker.results.stats.skip(path, SkipReason::Unreadable, Some(detail));
                continue;
            }
        };
        let max_size = worker.content().max_size;
        if content.len() as u64 > max_size {
            let detail = format!("{} bytes; the limit is --max-file-size {max_size}", content.len());
            worker.results.stats.skip(path, SkipReason::TooLarge, Some(detail));
            continue;
        }
        let before = worker.results.findings.len();
        worker.scan_content(&content, &Origin::File(PathBuf::from(&path)));
        if let Some(added) = added {
            let mut position = 0;
            worker.results.findings.retain(|finding| {
                position += 1;
                let location = &finding.location;
                position <= before || (location.line..=location.end_line).any(|line| added.contains(&line))
            });
        }
    }
    Ok(())
}

/// New-file line numbers of the lines a patch adds.
fn added_lines(patch: &Patch<'_>) -> HashSet<usize> {
    let mut added = HashSet::new();
    for hunk in 0..patch.num_hunks() {
        for line in 0..patch.num_lines_in_hunk(hunk).unwrap_or(0) {
            if let Ok(line) = patch.line_in_hunk(hunk, line) {
                if line.origin() == '+' {
                    if let Some(number) = line.new_lineno() {
                        added.insert(number as usize);
                    }
                }
            }
        }
    }
    added
}
