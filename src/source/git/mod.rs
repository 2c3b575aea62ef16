//! Git as a source: whole history ([`history`]), scanned blob by blob in
//! parallel ([`blobs`]), and the staged changes of a commit in the making
//! ([`staged`]).

pub mod blobs;
pub mod commit;
pub mod history;
pub mod pack;
mod packed;
pub mod repos;
pub mod staged;
pub mod trees;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use git2::{Commit, Repository, RepositoryOpenFlags};

use crate::finding::CommitInfo;

/// A git problem that stops a command (per-object problems are counted instead).
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The path is not a git repository.
    #[error("{path} is not a git repository (or any parent up to the filesystem root): {message}")]
    NotARepository {
        /// The path given.
        path: PathBuf,
        /// What libgit2 said.
        message: String,
    },
    /// A ref, commit or range given by the user does not resolve.
    #[error("{what} `{spec}` does not name anything in this repository: {message}")]
    BadRevision {
        /// Which flag or input it came from.
        what: &'static str,
        /// The text given.
        spec: String,
        /// What libgit2 said.
        message: String,
    },
    /// The history walk thread could not start.
    #[error("cannot start the history walk thread: {0}")]
    Thread(String),
    /// Reading the repository failed.
    #[error("reading the repository failed while {doing}: {source}")]
    Read {
        /// What keyhound was doing.
        doing: &'static str,
        /// The libgit2 error.
        source: git2::Error,
    },
}

impl GitError {
    /// Wraps a libgit2 error with what was being done.
    pub fn read(doing: &'static str) -> impl FnOnce(git2::Error) -> GitError {
        move |source| GitError::Read { doing, source }
    }

    /// Whether the user gave bad input (exit 2) rather than the repository failing (exit 3).
    pub fn is_usage_error(&self) -> bool {
        matches!(self, GitError::NotARepository { .. } | GitError::BadRevision { .. })
    }
}

/// Opens the repository at or above `path` (work tree, `.git` dir or bare).
///
/// Also tunes libgit2 for reading every object once: no object cache (each
/// tree and blob is read once, so caching only costs memory) and no SHA-1
/// re-verification of objects on read (a third of the CPU time of a history
/// scan; zlib's checksums still catch corrupt data).
pub fn open(path: &Path) -> Result<Repository, GitError> {
    git2::opts::enable_caching(false);
    git2::opts::strict_hash_verification(false);
    let repo = Repository::open_ext(path, RepositoryOpenFlags::empty(), std::iter::empty::<&std::ffi::OsStr>())
        .map_err(|err| GitError::NotARepository { path: path.to_path_buf(), message: err.message().to_string() })?;
    // In a pre-receive hook the pushed objects wait in a quarantine directory
    // (git receive-pack sets GIT_QUARANTINE_PATH) until the hook accepts them.
    if let Some(quarantine) = std::env::var_os("GIT_QUARANTINE_PATH") {
        let added = repo.odb().and_then(|odb| odb.add_disk_alternate(&quarantine.to_string_lossy()));
        added.map_err(|err| GitError::NotARepository {
            path: path.to_path_buf(),
            message: format!("the push's quarantined objects cannot be read: {}", err.message()),
        })?;
    }
    Ok(repo)
}

/// Builds the shared description of a commit.
pub fn commit_info(commit: &Commit<'_>) -> Arc<CommitInfo> {
    let author = commit.author();
    Arc::new(CommitInfo {
        id: commit.id().to_string(),
        author: lossy(author.name_bytes()),
        email: lossy(author.email_bytes()),
        date: format_time(author.when().seconds(), author.when().offset_minutes()),
        summary: commit.summary_bytes().map(lossy).unwrap_or_default(),
    })
}

/// A signature's time as RFC 3339 with its own UTC offset.
fn format_time(seconds: i64, offset_minutes: i32) -> String {
    let offset = jiff::tz::Offset::from_seconds(offset_minutes * 60).unwrap_or(jiff::tz::Offset::UTC);
    match jiff::Timestamp::from_second(seconds) {
        Ok(timestamp) => {
            timestamp.to_zoned(jiff::tz::TimeZone::fixed(offset)).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
        }
        Err(_) => seconds.to_string(),
    }
}

/// Bytes as text, invalid UTF-8 replaced.
pub fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
