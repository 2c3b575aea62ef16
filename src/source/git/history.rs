//! Enumerating a history: every commit in the selection, oldest first, and
//! every blob they contain, each blob once, attributed to the commit that
//! introduced it.
//!
//! Commits are visited in topological order (parents before children), and
//! each tree object is walked only once: a blob first met in commit C was in
//! none of C's ancestors, so C (a normal commit or a merge resolution)
//! introduced it. When the selection has a boundary (`A..B`, `--since`,
//! `--max-commits`, a pre-push range), the trees of the boundary commits are
//! marked as seen first, so only what the selected commits add is scanned.

use std::collections::HashSet;
use std::sync::Arc;

use git2::{Oid, Repository, Sort};

use crate::finding::{CommitInfo, Occurrence};

use super::commit::ParsedCommit;
use super::pack::{OidKey, OidMap, RawOid};
use super::trees::{BlobSink, TreeWalker};
use super::{commit_info, lossy, GitError};

/// Other places a blob (or a secret) was found that are kept per finding.
pub const MAX_EXTRA_OCCURRENCES: usize = 8;

/// Which commits to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Everything reachable from any ref (branches, tags, remotes, stash) and HEAD.
    All,
    /// Everything reachable from any ref, but not from these commits (the ref
    /// tips of an earlier scan: incremental rescans).
    AllExcept(Vec<String>),
    /// Everything reachable from one ref or commit.
    Ref(String),
    /// `A..B`: commits reachable from B but not from A.
    Range(String),
    /// What a `git push` sends: each local commit not already on the remote.
    Push(Vec<PushedRef>),
    /// What a server receives (pre-receive): commits reachable from these new
    /// ref values and from no ref the repository has yet.
    Receive(Vec<String>),
}

/// One line of a pre-push hook's standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedRef {
    /// The commit being pushed.
    pub local: String,
    /// The commit the remote has now (`None` for a new branch).
    pub remote: Option<String>,
}

/// Limits on top of the selection.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// Only commits at or after this Unix time.
    pub since: Option<i64>,
    /// Only the N newest commits.
    pub max_commits: Option<usize>,
}

/// Something in the repository that could not be read; the scan goes on.
#[derive(Debug, Clone)]
pub struct Problem {
    /// The object or ref.
    pub what: String,
    /// What went wrong.
    pub detail: String,
}

/// The enumerated history.
#[derive(Debug, Default)]
pub struct History {
    /// Unique blobs handed to the sink.
    pub blob_count: usize,
    /// For each blob, by its `order`, the other places it appeared (known only
    /// once the whole history has been walked).
    pub also_by_order: Vec<Vec<Occurrence>>,
    /// Commit messages.
    pub messages: Vec<(Arc<CommitInfo>, String)>,
    /// Annotated tag messages: (tag name, message).
    pub tag_messages: Vec<(String, String)>,
    /// Commits in the selection.
    pub commits: usize,
    /// Submodule entries met (their content lives in another repository).
    pub submodules: Vec<String>,
    /// Objects or refs that could not be read.
    pub problems: Vec<Problem>,
    /// The commits the refs pointed at (for [`Selection::All`] and [`Selection::AllExcept`]).
    pub tips: Vec<String>,
}

/// Enumerates the selected history of `repo` with `walker`, handing each
/// new blob to `sink` as soon as it is met (so scanning can start before the
/// walk ends). Refs and tags are read from `repo`, commits from
/// `commit_repo` (the same repository, or one whose object database holds
/// the commits in memory).
pub fn enumerate(
    repo: &Repository,
    commit_repo: &Repository,
    selection: &Selection,
    limits: &Limits,
    mut walker: TreeWalker<'_, '_>,
    mut parsed: OidMap<ParsedCommit>,
    sink: &mut BlobSink<'_>,
) -> Result<History, GitError> {
    let mut history = History::default();
    let commits = select_commits(repo, commit_repo, selection, limits, &mut history)?;
    history.commits = commits.len();

    let selected: HashSet<Oid> = commits.iter().copied().collect();
    for boundary in boundary_commits(commit_repo, &commits, &selected) {
        if let Ok(commit) = commit_repo.find_commit(boundary) {
            walker.mark_seen(&raw_oid(commit.tree_id()));
        }
    }
    for oid in &commits {
        // Commits already parsed (from the packs) need no libgit2 read.
        if let Some(commit) = parsed.remove(&OidKey(raw_oid(*oid))) {
            history.messages.push((commit.info.clone(), commit.message));
            walker.collect(&commit.tree, &commit.info, &mut history, sink);
            continue;
        }
        let commit = match commit_repo.find_commit(*oid) {
            Ok(commit) => commit,
            Err(err) => {
                history.problems.push(Problem { what: format!("commit {oid}"), detail: err.message().to_string() });
                continue;
            }
        };
        let info = commit_info(&commit);
        history.messages.push((info.clone(), lossy(commit.message_bytes())));
        walker.collect(&raw_oid(commit.tree_id()), &info, &mut history, sink);
    }
    if matches!(selection, Selection::All | Selection::AllExcept(_)) {
        collect_tag_messages(repo, commit_repo, &mut history);
    }
    history.blob_count = walker.blob_count();
    history.also_by_order = walker.into_other_occurrences();
    Ok(history)
}

/// The raw bytes of a libgit2 object id.
pub fn raw_oid(oid: Oid) -> RawOid {
    oid.as_bytes().try_into().expect("SHA-1 ids have 20 bytes")
}

/// The selected commits, oldest first (parents before children).
fn select_commits(
    repo: &Repository,
    commit_repo: &Repository,
    selection: &Selection,
    limits: &Limits,
    history: &mut History,
) -> Result<Vec<Oid>, GitError> {
    let mut walk = commit_repo.revwalk().map_err(GitError::read("starting the commit walk"))?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE).map_err(GitError::read("sorting commits"))?;
    match selection {
        Selection::All => push_all_refs(repo, commit_repo, &mut walk, history)?,
        Selection::AllExcept(scanned) => {
            push_all_refs(repo, commit_repo, &mut walk, history)?;
            for tip in scanned {
                // A tip that is gone (force-push, gc) hides nothing.
                if let Ok(oid) = Oid::from_str(tip) {
                    if commit_repo.find_commit(oid).is_ok() {
                        walk.hide(oid).map_err(GitError::read("walking commits"))?;
                    }
                }
            }
        }
        Selection::Ref(spec) => {
            let commit = resolve_commit(repo, spec, "--branch")?;
            walk.push(commit).map_err(GitError::read("walking commits"))?;
        }
        Selection::Range(spec) => {
            let (base, head) = spec.split_once("..").ok_or_else(|| GitError::BadRevision {
                what: "--range",
                spec: spec.clone(),
                message: "expected A..B".into(),
            })?;
            let head = if head.is_empty() { "HEAD" } else { head };
            let head = resolve_commit(repo, head, "--range")?;
            walk.push(head).map_err(GitError::read("walking commits"))?;
            if !base.is_empty() && base.bytes().all(|byte| byte == b'0') {
                // CI systems give the null id as the "before" of a new branch's first
                // push: what no other remote-tracking ref holds is what is new (the
                // pushed branch's own remote ref points at the head itself).
                if let Ok(references) = repo.references_glob("refs/remotes/*") {
                    for commit in references.flatten().filter_map(|reference| reference.peel_to_commit().ok()) {
                        if commit.id() != head {
                            let _ = walk.hide(commit.id());
                        }
                    }
                }
            } else {
                walk.hide(resolve_commit(repo, base, "--range")?).map_err(GitError::read("walking commits"))?;
            }
        }
        Selection::Receive(tips) => {
            for tip in tips {
                walk.push(resolve_commit(repo, tip, "received commit")?).map_err(GitError::read("walking commits"))?;
            }
            // The refs are not updated before pre-receive accepts: every one of them is "already there".
            walk.hide_glob("*").map_err(GitError::read("walking commits"))?;
        }
        Selection::Push(refs) => {
            for pushed in refs {
                walk.push(resolve_commit(repo, &pushed.local, "pushed commit")?)
                    .map_err(GitError::read("walking commits"))?;
                match pushed.remote.as_deref().and_then(|remote| repo.revparse_single(remote).ok()) {
                    Some(remote) => walk.hide(remote.id()).map_err(GitError::read("walking commits"))?,
                    // A new branch (or a remote commit we do not have): what no remote-tracking ref has.
                    None => hide_remote_refs(repo, &mut walk),
                }
            }
        }
    }
    let mut commits = Vec::new();
    for oid in walk {
        match oid {
            Ok(oid) => commits.push(oid),
            Err(err) => {
                history.problems.push(Problem { what: "commit walk".into(), detail: err.message().to_string() })
            }
        }
    }
    if let Some(since) = limits.since {
        commits
            .retain(|oid| commit_repo.find_commit(*oid).map(|commit| commit.time().seconds() >= since).unwrap_or(true));
    }
    if let Some(max) = limits.max_commits {
        let excess = commits.len().saturating_sub(max);
        commits.drain(..excess);
    }
    Ok(commits)
}

fn resolve_commit(repo: &Repository, spec: &str, what: &'static str) -> Result<Oid, GitError> {
    repo.revparse_single(spec)
        .and_then(|object| object.peel_to_commit())
        .map(|commit| commit.id())
        .map_err(|err| GitError::BadRevision { what, spec: spec.to_string(), message: err.message().to_string() })
}

/// Pushes every ref that leads to a commit, and HEAD; notes refs that do not.
/// Refs are read from `repo`; the objects they name from `commit_repo`.
fn push_all_refs(
    repo: &Repository,
    commit_repo: &Repository,
    walk: &mut git2::Revwalk<'_>,
    history: &mut History,
) -> Result<(), GitError> {
    let peel = |reference: &git2::Reference<'_>| {
        let target = reference.resolve()?.target().ok_or_else(|| git2::Error::from_str("a ref without a target"))?;
        commit_repo.find_object(target, None)?.peel_to_commit()
    };
    let references = repo.references().map_err(GitError::read("listing refs"))?;
    for reference in references {
        let reference = match reference {
            Ok(reference) => reference,
            Err(err) => {
                history.problems.push(Problem { what: "ref".into(), detail: err.message().to_string() });
                continue;
            }
        };
        let name = lossy(reference.name_bytes());
        match peel(&reference) {
            Ok(commit) => {
                walk.push(commit.id()).map_err(GitError::read("walking commits"))?;
                history.tips.push(commit.id().to_string());
            }
            // Tags of trees or blobs carry no history; a broken ref is reported.
            Err(err) if err.code() == git2::ErrorCode::Peel || err.class() == git2::ErrorClass::Object => {}
            Err(err) => {
                history.problems.push(Problem { what: format!("ref {name}"), detail: err.message().to_string() })
            }
        }
    }
    // A detached HEAD is not a ref under refs/; an unborn HEAD has nothing to walk.
    if let Ok(head) = repo.head().and_then(|head| peel(&head)) {
        let _ = walk.push(head.id());
        history.tips.push(head.id().to_string());
    }
    history.tips.sort();
    history.tips.dedup();
    Ok(())
}

fn hide_remote_refs(repo: &Repository, walk: &mut git2::Revwalk<'_>) {
    if let Ok(references) = repo.references_glob("refs/remotes/*") {
        for reference in references.flatten() {
            if let Ok(commit) = reference.peel_to_commit() {
                let _ = walk.hide(commit.id());
            }
        }
    }
}

/// Parents of selected commits that are not selected themselves.
fn boundary_commits(repo: &Repository, commits: &[Oid], selected: &HashSet<Oid>) -> Vec<Oid> {
    let mut boundary = HashSet::new();
    for oid in commits {
        if let Ok(commit) = repo.find_commit(*oid) {
            for parent in commit.parent_ids() {
                if !selected.contains(&parent) {
                    boundary.insert(parent);
                }
            }
        }
    }
    boundary.into_iter().collect()
}

fn collect_tag_messages(repo: &Repository, commit_repo: &Repository, history: &mut History) {
    let mut tags = Vec::new();
    let listed = repo.tag_foreach(|oid, name| {
        tags.push((oid, lossy(name).trim_start_matches("refs/tags/").to_string()));
        true
    });
    if let Err(err) = listed {
        history.problems.push(Problem { what: "tag list".into(), detail: err.message().to_string() });
    }
    for (oid, name) in tags {
        // Lightweight tags name a commit, not a tag object: they have no message.
        if let Ok(tag) = commit_repo.find_tag(oid) {
            history.tag_messages.push((name, tag.message_bytes().map(lossy).unwrap_or_default()));
        }
    }
}
