//! Whole-history scans in pack order.
//!
//! 1. Every tree in the packs is decoded once, on all cores, into a compact
//!    form ([`CompactTree`]).
//! 2. The history walk runs over those in memory (trees outside the packs are
//!    read through libgit2) and attributes each blob to the commit and path
//!    where it first appeared.
//! 3. The walk takes one core. Meanwhile (in a history of at least
//!    [`OVERLAP_MIN_TREES`] trees; a smaller one is scanned after its walk,
//!    blob by blob with its origin) every packed blob is decoded once,
//!    on all cores, and looked at without its path
//!    ([`Worker::look_without_path`]): most blobs turn out to hold nothing
//!    that any path could make a finding, and count as scanned. Those in
//!    which something may match are scanned again once the walk has given
//!    them an origin, so path rules, allowlists and fingerprints apply as in
//!    any scan (kept in memory for that up to [`HELD_BYTES`], decoded again
//!    past it). Packed blobs the walk never met (unreachable) are dropped;
//!    blobs the packs cannot give (loose objects, alternates, a corrupt
//!    pack) are read through libgit2.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use git2::Oid;
use indicatif::ProgressBar;
use rayon::prelude::*;

use crate::engine::Scanner;
use crate::finding::{BlobOrigin, Origin};
use crate::source::{ContentOptions, PathlessLook, ScanResults, Worker};
use crate::stats::SkipReason;

use super::blobs::{drop_in_background, BlobWorker, Job, Scanned};
use super::commit::{self, ParsedCommit};
use super::history::enumerate;
use super::pack::{CachedIds, Kind, OidKey, OidMap, PackError, PackedObjects, TraverseOptions, Visitor};
use super::trees::{hex, CompactTree, DecodedTrees, Libgit2Trees, ObjectIds, TreeWalker, MAX_PACKED_OBJECTS};
use super::GitError;

/// Memory the decoded trees of a history may take before the scan falls
/// back to reading objects one by one (slower, but bounded by the pack).
const TREE_MEMORY_BUDGET: usize = 1 << 30;

/// Scans the selected history through the packs; `None` if its trees would
/// take more than [`TREE_MEMORY_BUDGET`] (the caller reads it object by object).
pub(super) fn scan_packed_history(job: Job<'_>) -> Result<Option<Scanned>, GitError> {
    let Job { repo_path, scanner, selection, limits, options, progress } = job;
    let phases = Phases::start();
    let repo = super::open(repo_path)?;
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, |cores| cores.get()),
        threads => threads,
    };
    let objects_dir = repo.commondir().join("objects");
    // A pack this reader cannot use is noted in `packed.problems` and its
    // objects are read through libgit2, which reports any that are broken.
    let packed = PackedObjects::open(&objects_dir);
    phases.problems(&packed.problems);
    let packed_ref = (!packed.is_empty() && packed.len() < MAX_PACKED_OBJECTS).then_some(&packed);

    phases.mark("read pack indexes and entry headers");
    let (trees, commit_repo, parsed) = match packed_ref {
        Some(packed) => {
            let Some((trees, objects)) = decode_trees_and_commits(packed, threads, TREE_MEMORY_BUDGET) else {
                return Ok(None);
            };
            let (parsed, commit_odb) =
                rayon::join(|| parse_commits(packed, &objects), || commits_in_memory(&objects_dir, &objects));
            (trees, commit_odb.and_then(|odb| git2::Repository::from_odb(odb).ok()), parsed)
        }
        None => (Vec::new(), None, OidMap::default()),
    };
    phases.mark("decoded trees and commits");
    let overlap = trees.iter().flatten().count() >= overlap_min_trees();
    let mut source = DecodedTrees { trees, fallback: Libgit2Trees { repo: &repo, packed: packed_ref } };
    let mut origins: Vec<Option<Arc<BlobOrigin>>> = vec![None; packed_ref.map_or(0, PackedObjects::len)];
    let mut elsewhere: Vec<(Oid, Arc<BlobOrigin>)> = Vec::new();
    let mut scanned_blobs = Vec::new();
    let traverse = TraverseOptions { threads, max_size: options.content.max_size, prefetch: false };
    // The walk takes one core: meanwhile the packed blobs are decoded and
    // looked at without their paths, and only those in which something may
    // match are scanned again once the walk has given them an origin.
    let (history, looks) = std::thread::scope(|scope| {
        let looking = packed_ref.filter(|_| overlap).map(|packed| {
            scope.spawn(move || look_at_packed_blobs(packed, traverse, scanner, options.content, progress))
        });
        let walker = TreeWalker::new(&source, ObjectIds::new(packed_ref));
        let history = enumerate(
            &repo,
            commit_repo.as_ref().unwrap_or(&repo),
            selection,
            limits,
            walker,
            parsed,
            &mut |id, oid, origin| {
                scanned_blobs.push(hex(oid));
                match origins.get_mut(id as usize) {
                    Some(slot) if packed.kind(id) == Some(Kind::Blob) => *slot = Some(origin),
                    _ => elsewhere.push((Oid::from_bytes(oid).expect("20 bytes"), origin)),
                }
            },
        );
        // Freeing a history's worth of trees takes a while: not on the critical path.
        drop_in_background(std::mem::take(&mut source.trees));
        phases.mark("walked the history");
        let looks = looking.map(|handle| handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        (history, looks)
    });
    let history = history?;
    drop(source);
    phases.mark("decoded packed blobs and looked at them without their paths");

    let mut results = ScanResults::default();
    if let Some(packed) = packed_ref {
        let make_scanner = || BlobScanner {
            packed,
            worker: Worker::new(scanner, options.content),
            origins: &origins,
            visited: Vec::new(),
            // Looked-at blobs were counted when they were looked at.
            progress: (!overlap).then_some(progress),
        };
        let mut visited = vec![false; origins.len()];
        let mut rescan = vec![false; origins.len()];
        let mut held = Vec::new();
        if !overlap {
            // Scanned once, with their origins, after the walk.
            for (id, origin) in origins.iter().enumerate() {
                rescan[id] = origin.is_some();
            }
            progress.inc_length(origins.iter().flatten().count() as u64);
        }
        for looker in looks.into_iter().flatten() {
            for (id, look) in looker.looks {
                // Blobs the walk did not meet (unreachable) are dropped.
                let Some(origin) = &origins[id as usize] else { continue };
                visited[id as usize] = true;
                let path = &origin.first.path;
                match look {
                    Look::Clean(size) if !scanner.path_only_rule_applies(path) => results.stats.scanned(size as usize),
                    Look::Clean(_) | Look::Rescan => rescan[id as usize] = true,
                    Look::TooLarge(size) => {
                        let detail = too_large_detail(packed.oid(id), size, options.content.max_size);
                        results.stats.skip(path.clone(), SkipReason::TooLarge, Some(detail));
                    }
                    Look::BinarySkipped => results.stats.skip(path.clone(), SkipReason::Binary, None),
                }
            }
            held.extend(looker.held.into_iter().filter(|(id, _)| rescan[*id as usize]));
        }
        for (id, _) in &held {
            rescan[*id as usize] = false;
        }
        if !held.is_empty() {
            results.merge(in_pool(threads, || scan_held(&held, make_scanner)));
        }
        drop_in_background(held);
        // The rest to scan again were too many to keep: decoded again.
        for (id, again) in rescan.iter().enumerate() {
            visited[id] &= !again;
        }
        if rescan.contains(&true) {
            for blob_scanner in packed.traverse(|id, _| rescan[id as usize], traverse, make_scanner) {
                for id in &blob_scanner.visited {
                    visited[*id as usize] = true;
                }
                results.merge(blob_scanner.worker.results);
            }
        }
        for (id, origin) in origins.iter().enumerate() {
            if let Some(origin) = origin.as_ref().filter(|_| !visited[id]) {
                elsewhere.push((Oid::from_bytes(packed.oid(id as u32)).expect("20 bytes"), origin.clone()));
            }
        }
    }
    phases.mark("decoded and scanned packed blobs");
    if !elsewhere.is_empty() {
        progress.inc_length(elsewhere.len() as u64);
        results.merge(scan_through_libgit2(job, &elsewhere));
        phases.mark("scanned blobs outside the packs");
    }
    drop_in_background((packed, origins));
    Ok(Some((results, history, scanned_blobs)))
}

/// Phase timings on stderr when `KEYHOUND_TIMINGS` is set (for profiling;
/// see CONTRIBUTING.md).
struct Phases {
    start: Option<std::time::Instant>,
}

impl Phases {
    fn start() -> Self {
        Phases { start: std::env::var_os("KEYHOUND_TIMINGS").map(|_| std::time::Instant::now()) }
    }

    fn problems(&self, problems: &[PackError]) {
        if self.start.is_some() {
            for problem in problems {
                eprintln!("keyhound: timings: pack left to libgit2: {problem}");
            }
        }
    }

    fn mark(&self, phase: &str) {
        let Some(start) = self.start else { return };
        // Peak memory so far, where the platform says.
        let peak = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| status.lines().find(|line| line.starts_with("VmHWM:")).map(str::to_string))
            .map(|line| format!(", peak {}", line.trim_start_matches("VmHWM:").trim()))
            .unwrap_or_default();
        eprintln!("keyhound: timings: {:>8.3} s {phase}{peak}", start.elapsed().as_secs_f64());
    }
}

/// Decodes every packed tree, indexed by id (`None` where a tree could not
/// be decoded or parsed), and every packed commit and annotated tag; `None`
/// if the trees take more than `budget` bytes.
fn decode_trees_and_commits(
    packed: &PackedObjects,
    threads: usize,
    budget: usize,
) -> Option<(Vec<Option<CompactTree>>, Vec<RawObject>)> {
    let options = TraverseOptions { threads, max_size: u64::MAX, prefetch: true };
    let used = AtomicUsize::new(0);
    let collectors = packed.traverse(
        |_, kind| kind != Kind::Blob,
        options,
        || TreeCollector {
            ids: CachedIds::new(packed),
            scratch: CompactTree::default(),
            trees: Vec::new(),
            commits: Vec::new(),
            used: &used,
            budget,
        },
    );
    if used.load(Ordering::Relaxed) > budget {
        return None;
    }
    let mut trees = Vec::new();
    trees.resize_with(packed.len(), || None);
    let mut commits = Vec::new();
    for collector in collectors {
        for (id, tree) in collector.trees {
            trees[id as usize] = Some(tree);
        }
        commits.extend(collector.commits);
    }
    Some((trees, commits))
}

/// An object database that serves the decoded commits and tags from
/// memory, with the repository's own objects (`objects_dir`) behind them for
/// anything else: libgit2's ref peeling and commit walk then never map the
/// pack, whose pages would otherwise count towards the process's memory.
/// `None` (walk the repository itself) if libgit2 refuses.
fn commits_in_memory(objects_dir: &Path, commits: &[RawObject]) -> Option<git2::Odb<'static>> {
    let odb = git2::Odb::new().ok()?;
    // Consulted before the disk backends (libgit2 tries higher priorities first).
    odb.add_new_mempack_backend(MEMPACK_PRIORITY).ok()?;
    for (_, kind, object) in commits {
        let kind = if *kind == Kind::Tag { git2::ObjectType::Tag } else { git2::ObjectType::Commit };
        // An object that is not written is read from disk instead.
        let _ = odb.write(kind, object);
    }
    // Added after the writes: libgit2 skips writing objects some backend already has.
    odb.add_disk_alternate(objects_dir.to_str()?).ok()?;
    Some(odb)
}

/// Above libgit2's loose (1) and pack (2) backends.
const MEMPACK_PRIORITY: i32 = 1000;

/// Parses decoded trees (a malformed one is left to libgit2, which reports
/// it) and keeps decoded commits and tags.
struct TreeCollector<'p> {
    ids: CachedIds<'p>,
    /// Where each tree is parsed before it is copied out at its size.
    scratch: CompactTree,
    trees: Vec<(u32, CompactTree)>,
    commits: Vec<RawObject>,
    /// Bytes of trees kept by all collectors; past `budget`, no more are kept.
    used: &'p AtomicUsize,
    budget: usize,
}

/// A decoded object: its id, type and content.
type RawObject = (u32, Kind, Vec<u8>);

/// The commits among `objects`, parsed on all cores, by id (those not in
/// the canonical layout are left to libgit2).
fn parse_commits(packed: &PackedObjects, objects: &[RawObject]) -> OidMap<ParsedCommit> {
    objects
        .par_iter()
        .filter(|(_, kind, _)| *kind == Kind::Commit)
        .filter_map(|(id, _, raw)| {
            let oid = packed.oid(*id);
            commit::parse(hex(oid), raw).map(|parsed| (OidKey(*oid), parsed))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect()
}

impl Visitor for TreeCollector<'_> {
    fn object(&mut self, id: u32, kind: Kind, data: &[u8]) {
        if kind == Kind::Commit || kind == Kind::Tag {
            self.commits.push((id, kind, data.to_vec()));
        } else if self.used.load(Ordering::Relaxed) <= self.budget {
            if let Ok(tree) = CompactTree::parse_with(data, &mut self.scratch, |oid| self.ids.id(oid)) {
                self.used.fetch_add(tree.heap_bytes(), Ordering::Relaxed);
                self.trees.push((id, tree));
            }
        }
    }

    fn too_large(&mut self, _: u32, _: u64) {}
}

/// Below this many decoded trees the walk is short, and the blobs are
/// scanned after it, once each, rather than looked at during it and the
/// flagged ones scanned again (which costs more than the overlap saves when
/// a small history is dense with secrets).
const OVERLAP_MIN_TREES: usize = 20_000;

/// [`OVERLAP_MIN_TREES`], or `KEYHOUND_OVERLAP_MIN_TREES` (for tests and
/// profiling: 0 overlaps every packed scan).
fn overlap_min_trees() -> usize {
    std::env::var("KEYHOUND_OVERLAP_MIN_TREES").ok().and_then(|value| value.parse().ok()).unwrap_or(OVERLAP_MIN_TREES)
}

/// Blob content kept in memory, when something may match in it, until the
/// walk gives it an origin; past this, such blobs are decoded again.
const HELD_BYTES: usize = 64 << 20;

/// What a look at a packed blob without its path found.
#[derive(Debug, Clone, Copy)]
enum Look {
    /// Nothing can match: it counts as scanned, with its size.
    Clean(u64),
    /// Over `--max-file-size` (its size), not decoded.
    TooLarge(u64),
    /// Binary, and binary content is not scanned.
    BinarySkipped,
    /// Something may match: scan it again with its origin.
    Rescan,
}

/// Decodes every packed blob (but those in cruft packs, unreachable when
/// written) on all cores and looks at it without its path.
fn look_at_packed_blobs<'a>(
    packed: &PackedObjects,
    traverse: TraverseOptions,
    scanner: &'a Scanner,
    content: ContentOptions,
    progress: &'a ProgressBar,
) -> Vec<BlobLooker<'a>> {
    let wanted = |id: u32| !packed.in_cruft_pack(id);
    progress.inc_length(packed.objects(Kind::Blob).filter(|&id| wanted(id)).count() as u64);
    let held_budget = HELD_BYTES / traverse.threads.max(1);
    packed.traverse(
        |id, kind| kind == Kind::Blob && wanted(id),
        traverse,
        || BlobLooker {
            worker: Worker::new(scanner, content),
            looks: Vec::new(),
            held: Vec::new(),
            held_budget,
            progress,
        },
    )
}

/// Looks at decoded blobs without their paths, keeping those in which
/// something may match (up to [`HELD_BYTES`] over all threads).
struct BlobLooker<'a> {
    worker: Worker<'a>,
    looks: Vec<(u32, Look)>,
    held: Vec<(u32, Vec<u8>)>,
    /// Bytes this looker may still keep.
    held_budget: usize,
    progress: &'a ProgressBar,
}

impl Visitor for BlobLooker<'_> {
    fn object(&mut self, id: u32, _: Kind, data: &[u8]) {
        let look = match self.worker.look_without_path(data) {
            PathlessLook::Clean => Look::Clean(data.len() as u64),
            PathlessLook::BinarySkipped => Look::BinarySkipped,
            PathlessLook::NeedsPath => {
                if data.len() <= self.held_budget {
                    self.held_budget -= data.len();
                    self.held.push((id, data.to_vec()));
                }
                Look::Rescan
            }
        };
        self.looks.push((id, look));
        self.progress.inc(1);
    }

    fn too_large(&mut self, id: u32, size: u64) {
        self.looks.push((id, Look::TooLarge(size)));
        self.progress.inc(1);
    }
}

/// Why a blob was not scanned.
fn too_large_detail(oid: &[u8; 20], size: u64, max_size: u64) -> String {
    format!("blob {}: {size} bytes; the limit is --max-file-size {max_size}", hex(oid))
}

/// Scans decoded blobs as the content of their first appearance.
struct BlobScanner<'a> {
    packed: &'a PackedObjects,
    worker: Worker<'a>,
    origins: &'a [Option<Arc<BlobOrigin>>],
    visited: Vec<u32>,
    progress: Option<&'a ProgressBar>,
}

impl BlobScanner<'_> {
    fn done(&mut self, id: u32) {
        self.visited.push(id);
        if let Some(progress) = self.progress {
            progress.inc(1);
        }
    }
}

impl Visitor for BlobScanner<'_> {
    fn object(&mut self, id: u32, _: Kind, data: &[u8]) {
        let origin = self.origins[id as usize].as_ref().expect("only blobs with an origin are wanted");
        self.worker.scan_content(data, &Origin::GitBlob(origin.clone()));
        self.done(id);
    }

    fn too_large(&mut self, id: u32, size: u64) {
        let origin = self.origins[id as usize].as_ref().expect("only blobs with an origin are wanted");
        let detail = too_large_detail(self.packed.oid(id), size, self.worker.content().max_size);
        self.worker.results.stats.skip(origin.first.path.clone(), SkipReason::TooLarge, Some(detail));
        self.done(id);
    }
}

/// Scans blobs kept in memory, in parallel, as the content of their origins.
fn scan_held<'a>(held: &[(u32, Vec<u8>)], make_scanner: impl Fn() -> BlobScanner<'a> + Sync + Send) -> ScanResults {
    held.par_iter()
        .fold(make_scanner, |mut blob_scanner, (id, data)| {
            blob_scanner.object(*id, Kind::Blob, data);
            blob_scanner
        })
        .map(|blob_scanner| blob_scanner.worker.results)
        .reduce(ScanResults::default, |mut all, some| {
            all.merge(some);
            all
        })
}

/// Runs `work` on a pool of `threads` threads (the global pool if none can be built).
fn in_pool<T: Send>(threads: usize, work: impl FnOnce() -> T + Send) -> T {
    match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    }
}

/// Reads and scans blobs one by one through libgit2, on all scanning threads.
fn scan_through_libgit2(job: Job<'_>, blobs: &[(Oid, Arc<BlobOrigin>)]) -> ScanResults {
    let Job { repo_path, scanner, options, progress, .. } = job;
    let collected = Mutex::new(ScanResults::default());
    in_pool(options.threads, || {
        blobs.par_iter().for_each_init(
            || BlobWorker::new(repo_path, scanner, options.content, &collected),
            |worker, (oid, origin)| {
                worker.scan_blob(*oid, origin);
                progress.inc(1);
            },
        );
    });
    collected.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packed_repository() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let status = std::process::Command::new("git")
                .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
                .args(args)
                .current_dir(dir.path())
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .status()
                .unwrap();
            assert!(status.success(), "git {args:?}");
        };
        git(&["init", "-q"]);
        for version in 0..3 {
            std::fs::create_dir_all(dir.path().join("src")).unwrap();
            std::fs::write(dir.path().join("src/lib.rs"), format!("// version {version}\n")).unwrap();
            git(&["add", "-A"]);
            git(&["commit", "-q", "-m", &format!("v{version}")]);
        }
        git(&["gc", "-q"]);
        dir
    }

    #[test]
    fn trees_over_the_memory_budget_send_the_scan_back_to_object_by_object_reads() {
        let repo = packed_repository();
        let packed = PackedObjects::open(&repo.path().join(".git/objects"));
        let (trees, objects) = decode_trees_and_commits(&packed, 2, usize::MAX).expect("within budget");
        assert_eq!(trees.iter().flatten().count(), 6, "three root trees and three src/ trees");
        assert_eq!(objects.iter().filter(|(_, kind, _)| *kind == Kind::Commit).count(), 3);
        assert!(decode_trees_and_commits(&packed, 2, 10).is_none());
    }
}
