//! `keyhound scan`: walk paths (or read stdin), report findings.

use std::io;
use std::path::PathBuf;

use crate::cli::ScanArgs;
use crate::source::fs::{scan_paths, WalkOptions};
use crate::source::git::{self, staged::scan_workdir_since};
use crate::source::stdin::scan_stdin;
use crate::source::{ContentOptions, Worker};

use super::common::{progress_bar, Hint, Session};
use super::git::from_git;
use super::CmdError;

/// Runs a scan and returns the exit code (0 clean, `--exit-code` on findings).
pub fn run(args: &ScanArgs) -> Result<u8, CmdError> {
    let common = &args.common;
    let (stdin_requested, roots) = split_roots(&args.paths)?;
    if let Some(base) = &args.diff {
        return scan_diff(args, &roots, base);
    }
    let session = Session::start(common, &roots)?;
    let content = ContentOptions::from(common);
    let progress = progress_bar(common, "{spinner} scanned {bytes} ({binary_bytes_per_sec}) in {elapsed}");
    let options = WalkOptions { no_ignore: args.no_ignore, content, threads: common.threads };
    let mut results = scan_paths(&session.scanner, &roots, &options, &progress);
    if stdin_requested {
        let mut worker = Worker::new(&session.scanner, content);
        scan_stdin(&mut worker, io::stdin().lock());
        results.merge(worker.results);
    }
    progress.finish_and_clear();
    session.finish(common, results, Hint::WorkingTree)
}

/// `scan --diff BASE`: the work tree's additions since BASE.
fn scan_diff(args: &ScanArgs, roots: &[PathBuf], base: &str) -> Result<u8, CmdError> {
    let root = roots.first().cloned().unwrap_or_else(|| PathBuf::from("."));
    let repo = git::open(&root).map_err(from_git)?;
    let session = Session::start(&args.common, std::slice::from_ref(&root))?;
    let mut worker = Worker::new(&session.scanner, ContentOptions::from(&args.common));
    scan_workdir_since(&repo, base, &mut worker).map_err(from_git)?;
    let results = std::mem::take(&mut worker.results);
    drop(worker);
    session.finish(&args.common, results, Hint::WorkingTree)
}

/// Separates `-` (stdin) from paths, and checks every path exists.
fn split_roots(paths: &[PathBuf]) -> Result<(bool, Vec<PathBuf>), CmdError> {
    let mut stdin = false;
    let mut roots = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            stdin = true;
            continue;
        }
        if let Err(err) = path.symlink_metadata() {
            return Err(CmdError::Usage(format!("cannot scan {}: {err}", path.display())));
        }
        roots.push(path.clone());
    }
    Ok((stdin, roots))
}
