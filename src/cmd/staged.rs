//! `keyhound staged`: scan what the next commit adds (pre-commit hooks).

use crate::cli::StagedArgs;
use crate::source::git::{self, staged::scan_staged};
use crate::source::{ContentOptions, Worker};

use super::common::{Hint, Session};
use super::git::from_git;
use super::CmdError;

/// Scans the index against HEAD and returns the exit code.
pub fn run(args: &StagedArgs) -> Result<u8, CmdError> {
    let common = &args.common;
    let repo = git::open(&args.repo).map_err(from_git)?;
    let root = repo.workdir().unwrap_or_else(|| repo.path()).to_path_buf();
    let session = Session::start(common, std::slice::from_ref(&root))?;
    let mut worker = Worker::new(&session.scanner, ContentOptions::from(common));
    scan_staged(&repo, &mut worker).map_err(from_git)?;
    let results = std::mem::take(&mut worker.results);
    drop(worker);
    session.finish(common, results, Hint::Commit)
}
