//! `keyhound pre-receive`: a git server's pre-receive hook. git hands it one
//! `<old> <new> <ref>` line per updated ref; keyhound scans only the commits
//! the push adds (reachable from a new value and from no ref the repository
//! already has, so a new branch of old commits costs nothing) and a leak
//! rejects the whole push. Server-wide settings come from the flags, or from
//! git config (`keyhound.config`, `keyhound.baseline`; `--system` reaches
//! every repository on the server).

use std::io::{self, BufRead};

use crate::cli::PreReceiveArgs;
use crate::source::git;
use crate::source::git::blobs::{scan_history, HistoryScanOptions};
use crate::source::git::history::{Limits, Selection};
use crate::source::ContentOptions;

use super::common::{progress_bar, Hint, Session};
use super::git::{from_git, ZERO_OID};
use super::CmdError;

/// Runs the hook; a non-zero exit (1 by default) makes git reject the push.
pub fn run(mut args: PreReceiveArgs) -> Result<u8, CmdError> {
    let repo = git::open(&args.repo).map_err(from_git)?;
    if let Ok(config) = repo.config() {
        if args.common.config.is_none() && !args.common.no_config {
            args.common.config = config.get_path("keyhound.config").ok();
        }
        if args.common.baseline.is_none() {
            args.common.baseline = config.get_path("keyhound.baseline").ok();
        }
    }
    // A push's own files never configure its scan: only the server's settings count.
    if args.common.config.is_none() {
        args.common.no_config = true;
    }
    let common = &args.common;
    let tips = read_received_refs(io::stdin().lock())?;
    let session = Session::start(common, &[repo.path().to_path_buf()])?;
    if tips.is_empty() {
        return session.finish(common, Default::default(), Hint::Receive);
    }
    let progress = progress_bar(common, "{spinner} {pos}/{len} blobs");
    let options = HistoryScanOptions { content: ContentOptions::from(common), threads: common.threads };
    let selection = Selection::Receive(tips);
    let results = scan_history(repo.path(), &session.scanner, &selection, &Limits::default(), &options, &progress)
        .map_err(from_git)?;
    progress.finish_and_clear();
    session.finish(common, results, Hint::Receive)
}

/// The new values of the updated refs (deletions push no content).
fn read_received_refs(input: impl BufRead) -> Result<Vec<String>, CmdError> {
    let mut tips = Vec::new();
    for line in input.lines() {
        let line = line.map_err(|err| CmdError::Usage(format!("reading pre-receive input: {err}")))?;
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [_, new, _] = fields[..] else {
            if line.trim().is_empty() {
                continue;
            }
            return Err(CmdError::Usage(format!(
                "pre-receive expects `<old> <new> <ref>` lines on stdin (as git gives hooks), got {line:?}"
            )));
        };
        if !(new.len() == 40 || new.len() == 64) || !new.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(CmdError::Usage(format!("pre-receive: `{new}` is not an object id")));
        }
        if new != ZERO_OID && !tips.iter().any(|tip| tip == new) {
            tips.push(new.to_string());
        }
    }
    Ok(tips)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn received_lines_parse_and_deletions_push_nothing() {
        let input = format!(
            "{ZERO_OID} 1111111111111111111111111111111111111111 refs/heads/new\n\
             2222222222222222222222222222222222222222 {ZERO_OID} refs/heads/gone\n\
             3333333333333333333333333333333333333333 1111111111111111111111111111111111111111 refs/tags/v1\n"
        );
        assert_eq!(read_received_refs(input.as_bytes()).unwrap(), ["1111111111111111111111111111111111111111"]);
        assert!(read_received_refs("garbage\n".as_bytes()).is_err());
        assert!(read_received_refs(format!("{ZERO_OID} HEAD refs/heads/x\n").as_bytes()).is_err());
    }
}
