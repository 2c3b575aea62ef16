//! The staged changes of the commit being made: the index against HEAD (or
//! against nothing, for the first commit). Only what the commit adds counts:
//! each staged file is scanned whole (so multi-line secrets and columns are
//! right), and findings are kept when they touch an added line.

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
    let mut options = DiffOptions::new();
    options.context_lines(0).ignore_submodules(true).include_typechange(true);
    let mut diff = repo
        .diff_tree_to_index(head_tree.as_ref(), Some(&index), Some(&mut options))
        .map_err(GitError::read("diffing the index against HEAD"))?;
    diff.find_similar(Some(DiffFindOptions::new().renames(true).copies(false)))
        .map_err(GitError::read("detecting renames"))?;

    for (index, delta) in diff.deltas().enumerate() {
        if matches!(delta.status(), Delta::Deleted | Delta::Unmodified | Delta::Ignored | Delta::Untracked) {
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
        let blob = match repo.find_blob(new_file.id()) {
            Ok(blob) => blob,
            Err(err) => {
                worker.results.stats.skip(path, SkipReason::MissingObject, Some(err.message().to_string()));
                continue;
            }
        };
        let max_size = worker.content().max_size;
        if blob.size() as u64 > max_size {
            let detail = format!("{} bytes; the limit is --max-file-size {max_size}", blob.size());
            worker.results.stats.skip(path, SkipReason::TooLarge, Some(detail));
            continue;
        }
        let before = worker.results.findings.len();
        worker.scan_content(blob.content(), &Origin::File(PathBuf::from(&path)));
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
