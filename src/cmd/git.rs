//! `keyhound git`: scan a repository's history (or a range, or a push).

use std::io::{self, BufRead};

use crate::cli::GitArgs;
use crate::source::git::blobs::{scan_history, HistoryScanOptions};
use crate::source::git::history::{Limits, PushedRef, Selection};
use crate::source::git::{self, GitError};
use crate::source::ContentOptions;

use super::common::{progress_bar, Hint, Session};
use super::CmdError;

/// A git object id of all zeros: "no commit" in pre-push and pre-receive input.
pub(super) const ZERO_OID: &str = "0000000000000000000000000000000000000000";

/// Runs a history scan and returns the exit code.
pub fn run(args: &GitArgs) -> Result<u8, CmdError> {
    if args.datastore.is_some() || args.repos.is_some() {
        return super::fleet::run(args);
    }
    let common = &args.common;
    let repo = git::open(&args.repo).map_err(from_git)?;
    let root = repo.workdir().unwrap_or_else(|| repo.path()).to_path_buf();
    let session = Session::start(common, std::slice::from_ref(&root))?;

    let selection = if args.pre_push {
        Selection::Push(read_pushed_refs(io::stdin().lock())?)
    } else if let Some(range) = &args.range {
        Selection::Range(range.clone())
    } else if let Some(commit) = &args.since_commit {
        Selection::Range(format!("{commit}..HEAD"))
    } else if let Some(branch) = &args.branch {
        Selection::Ref(branch.clone())
    } else {
        Selection::All
    };
    if matches!(&selection, Selection::Push(refs) if refs.is_empty()) {
        // Nothing is being pushed (e.g. only deletions).
        return session.finish(common, Default::default(), Hint::History);
    }
    let limits = Limits { since: args.since, max_commits: args.max_commits };
    let progress = progress_bar(common, "{spinner} {pos}/{len} blobs ({per_sec}) {wide_bar}");
    let options = HistoryScanOptions { content: ContentOptions::from(common), threads: common.threads };
    let results =
        scan_history(repo.path(), &session.scanner, &selection, &limits, &options, &progress).map_err(from_git)?;
    progress.finish_and_clear();
    let hint = if args.pre_push { Hint::Commit } else { Hint::History };
    session.finish(common, results, hint)
}

/// Maps git errors to exit codes: bad input is a usage error.
pub fn from_git(err: GitError) -> CmdError {
    if err.is_usage_error() {
        CmdError::Usage(err.to_string())
    } else {
        CmdError::Failed(err.into())
    }
}

/// Parses a pre-push hook's stdin: `<local ref> <local sha> <remote ref> <remote sha>` per line.
fn read_pushed_refs(input: impl BufRead) -> Result<Vec<PushedRef>, CmdError> {
    let mut refs = Vec::new();
    for line in input.lines() {
        let line = line.map_err(|err| CmdError::Usage(format!("reading pre-push input: {err}")))?;
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [_, local, _, remote] = fields[..] else {
            if line.trim().is_empty() {
                continue;
            }
            return Err(CmdError::Usage(format!(
                "--pre-push expects `<local ref> <local sha> <remote ref> <remote sha>` lines on stdin, got {line:?}"
            )));
        };
        if local == ZERO_OID {
            continue; // a deletion pushes no content
        }
        let remote = (remote != ZERO_OID).then(|| remote.to_string());
        refs.push(PushedRef { local: local.to_string(), remote });
    }
    Ok(refs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pre_push_lines_parse_and_deletions_are_skipped() {
        let input = format!(
            "refs/heads/main 1111111111111111111111111111111111111111 refs/heads/main {ZERO_OID}\n\
             refs/heads/old {ZERO_OID} refs/heads/old 2222222222222222222222222222222222222222\n\
             refs/heads/x 3333333333333333333333333333333333333333 refs/heads/x 4444444444444444444444444444444444444444\n"
        );
        let refs = read_pushed_refs(input.as_bytes()).unwrap();
        assert_eq!(refs.len(), 2);
        assert_eq!(refs[0].remote, None);
        assert_eq!(refs[1].remote.as_deref(), Some("4444444444444444444444444444444444444444"));
        assert!(read_pushed_refs("garbage\n".as_bytes()).is_err());
    }
}
