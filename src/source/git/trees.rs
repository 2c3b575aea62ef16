//! Walking trees: each tree object once, each blob recorded once, with the
//! path and commit where it first appeared.
//!
//! Objects get dense numeric ids (a pack object's id is its node in the pack
//! set; anything else is numbered as it is met), so the walk's "seen" sets
//! are plain vectors. Trees come from a [`TreeSource`]: libgit2, or trees
//! decoded ahead of the walk from the packs (falling back to libgit2).

use std::sync::Arc;

use git2::{ObjectType, Oid, Repository};

use crate::finding::{BlobOrigin, CommitInfo, Occurrence};

use super::history::{History, Problem, MAX_EXTRA_OCCURRENCES};
use super::lossy;
use super::pack::{OidKey, OidMap, PackedObjects, RawOid};

/// Numbers objects densely: pack objects keep their pack-set id, others are
/// numbered from the end of the pack set as they are met.
pub struct ObjectIds<'p> {
    packed: Option<&'p PackedObjects>,
    first_extra: u32,
    extra: OidMap<u32>,
    extra_oids: Vec<RawOid>,
}

impl<'p> ObjectIds<'p> {
    /// Ids for a walk over `packed` objects (or none).
    pub fn new(packed: Option<&'p PackedObjects>) -> Self {
        let first_extra = packed.map_or(0, |packed| packed.len() as u32);
        ObjectIds { packed, first_extra, extra: OidMap::default(), extra_oids: Vec::new() }
    }

    /// The id of `oid`, numbering it if new.
    pub fn id(&mut self, oid: &RawOid) -> u32 {
        if let Some(id) = self.packed.and_then(|packed| packed.id(oid)) {
            return id;
        }
        let next = self.first_extra + self.extra_oids.len() as u32;
        let id = *self.extra.entry(OidKey(*oid)).or_insert(next);
        if id == next {
            self.extra_oids.push(*oid);
        }
        id
    }

    /// The object id of an id.
    pub fn oid(&self, id: u32) -> RawOid {
        match id.checked_sub(self.first_extra) {
            Some(extra) => self.extra_oids[extra as usize],
            None => *self.packed.expect("ids below first_extra are packed").oid(id),
        }
    }
}

/// What a tree entry points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A file or symlink.
    Blob,
    /// A directory.
    Tree,
    /// A submodule's commit.
    Commit,
    /// A mode git does not write.
    Other,
}

const KIND_SHIFT: u32 = 30;
const EXTERNAL: u32 = 1 << 29;
const INDEX_MASK: u32 = EXTERNAL - 1;

/// A parsed tree in little memory: names back to back, and per entry its
/// kind and either a pack object id or an index into `external`.
#[derive(Debug, Default, Clone)]
pub struct CompactTree {
    names: Vec<u8>,
    name_ends: Vec<u32>,
    entries: Vec<u32>,
    external: Vec<RawOid>,
}

/// The largest pack set whose ids fit a [`CompactTree`] entry.
pub const MAX_PACKED_OBJECTS: usize = EXTERNAL as usize;

impl CompactTree {
    /// Parses a raw tree object, numbering children found in `packed`.
    pub fn parse(raw: &[u8], packed: Option<&PackedObjects>) -> Result<CompactTree, String> {
        let mut tree = CompactTree::default();
        tree.fill(raw, packed)?;
        Ok(tree)
    }

    /// [`Self::parse`] into an existing tree, reusing its memory.
    pub fn fill(&mut self, raw: &[u8], packed: Option<&PackedObjects>) -> Result<(), String> {
        self.names.clear();
        self.name_ends.clear();
        self.entries.clear();
        self.external.clear();
        let mut rest = raw;
        while !rest.is_empty() {
            let space = memchr::memchr(b' ', rest).ok_or("tree entry without a mode")?;
            let mode = std::str::from_utf8(&rest[..space])
                .ok()
                .and_then(|mode| u32::from_str_radix(mode, 8).ok())
                .ok_or("tree entry with a bad mode")?;
            let name_end = space + 1 + memchr::memchr(0, &rest[space + 1..]).ok_or("tree entry without a name end")?;
            let oid: RawOid =
                rest.get(name_end + 1..name_end + 21).ok_or("truncated tree entry")?.try_into().expect("20");
            let kind = match mode & 0o170000 {
                0o040000 => EntryKind::Tree,
                0o100000 | 0o120000 => EntryKind::Blob,
                0o160000 => EntryKind::Commit,
                _ => EntryKind::Other,
            };
            let object = match packed.and_then(|packed| packed.id(&oid)) {
                Some(id) => id,
                None => {
                    self.external.push(oid);
                    EXTERNAL | (self.external.len() as u32 - 1)
                }
            };
            self.names.extend_from_slice(&rest[space + 1..name_end]);
            self.name_ends.push(self.names.len() as u32);
            self.entries.push((kind as u32) << KIND_SHIFT | object);
            rest = &rest[name_end + 21..];
        }
        self.names.shrink_to_fit();
        Ok(())
    }

    /// The entries: kind, object id (numbered by `ids`) and name.
    fn entry(&self, index: usize, ids: &mut ObjectIds<'_>) -> (EntryKind, u32, &[u8]) {
        let raw = self.entries[index];
        let kind = match raw >> KIND_SHIFT {
            0 => EntryKind::Blob,
            1 => EntryKind::Tree,
            2 => EntryKind::Commit,
            _ => EntryKind::Other,
        };
        let object = raw & !(3 << KIND_SHIFT);
        let id = if object & EXTERNAL != 0 { ids.id(&self.external[(object & INDEX_MASK) as usize]) } else { object };
        let start = if index == 0 { 0 } else { self.name_ends[index - 1] as usize };
        (kind, id, &self.names[start..self.name_ends[index] as usize])
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Where the walk gets trees from.
pub trait TreeSource {
    /// The tree `id` (object `oid`), parsed into `scratch` unless the source
    /// already holds it.
    fn tree<'a>(&'a self, id: u32, oid: &RawOid, scratch: &'a mut CompactTree) -> Result<&'a CompactTree, String>;
}

/// Trees read one by one through libgit2.
pub struct Libgit2Trees<'r> {
    /// The repository.
    pub repo: &'r Repository,
    /// Packed objects, to number children with.
    pub packed: Option<&'r PackedObjects>,
}

impl TreeSource for Libgit2Trees<'_> {
    fn tree<'a>(&'a self, _id: u32, oid: &RawOid, scratch: &'a mut CompactTree) -> Result<&'a CompactTree, String> {
        let oid = Oid::from_bytes(oid).map_err(|err| err.message().to_string())?;
        let odb = self.repo.odb().map_err(|err| err.message().to_string())?;
        let object = odb.read(oid).map_err(|err| err.message().to_string())?;
        if object.kind() != ObjectType::Tree {
            return Err(format!("{oid} is a {}, not a tree", object.kind()));
        }
        scratch.fill(object.data(), self.packed)?;
        Ok(scratch)
    }
}

/// Trees decoded from the packs ahead of the walk, by id; others through libgit2.
pub struct DecodedTrees<'r> {
    /// Decoded trees, indexed by pack object id.
    pub trees: Vec<Option<CompactTree>>,
    /// For trees not decoded.
    pub fallback: Libgit2Trees<'r>,
}

impl TreeSource for DecodedTrees<'_> {
    fn tree<'a>(&'a self, id: u32, oid: &RawOid, scratch: &'a mut CompactTree) -> Result<&'a CompactTree, String> {
        match self.trees.get(id as usize) {
            Some(Some(tree)) => Ok(tree),
            _ => self.fallback.tree(id, oid, scratch),
        }
    }
}

struct BlobEntry {
    first_path: String,
    also: Vec<Occurrence>,
}

/// A new blob handed to the walk's sink: its id, object id and first appearance.
pub type BlobSink<'s> = dyn FnMut(u32, &RawOid, Arc<BlobOrigin>) + 's;

/// Walks trees, each tree object once, and records each blob once.
pub struct TreeWalker<'s, 'p> {
    source: &'s dyn TreeSource,
    /// Object numbering.
    pub ids: ObjectIds<'p>,
    seen_trees: Vec<bool>,
    blob_order: Vec<u32>,
    blobs: Vec<BlobEntry>,
    /// Blobs of boundary commits: present before the selection, never scanned.
    boundary_blobs: Vec<bool>,
    has_boundary: bool,
    scratch: CompactTree,
}

const UNSEEN: u32 = u32::MAX;

fn flag(flags: &mut Vec<bool>, id: u32) -> &mut bool {
    if flags.len() <= id as usize {
        flags.resize(id as usize + 1, false);
    }
    &mut flags[id as usize]
}

impl<'s, 'p> TreeWalker<'s, 'p> {
    /// A walker reading trees from `source`.
    pub fn new(source: &'s dyn TreeSource, ids: ObjectIds<'p>) -> Self {
        TreeWalker {
            source,
            ids,
            seen_trees: Vec::new(),
            blob_order: Vec::new(),
            blobs: Vec::new(),
            boundary_blobs: Vec::new(),
            has_boundary: false,
            scratch: CompactTree::default(),
        }
    }

    /// Unique blobs recorded.
    pub fn blob_count(&self) -> usize {
        self.blobs.len()
    }

    /// For each blob, by its `order`, the other places it appeared.
    pub fn into_other_occurrences(self) -> Vec<Vec<Occurrence>> {
        self.blobs.into_iter().map(|entry| entry.also).collect()
    }

    /// Marks a boundary tree and everything in it as already present.
    pub fn mark_seen(&mut self, tree: &RawOid) {
        let source = self.source;
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut stack = vec![self.ids.id(tree)];
        while let Some(id) = stack.pop() {
            let seen = flag(&mut self.seen_trees, id);
            if *seen {
                continue;
            }
            *seen = true;
            let oid = self.ids.oid(id);
            let Ok(tree) = source.tree(id, &oid, &mut scratch) else { continue };
            for index in 0..tree.len() {
                match tree.entry(index, &mut self.ids) {
                    (EntryKind::Tree, child, _) => stack.push(child),
                    (EntryKind::Blob, child, _) => {
                        *flag(&mut self.boundary_blobs, child) = true;
                        self.has_boundary = true;
                    }
                    _ => {}
                }
            }
        }
        self.scratch = scratch;
    }

    /// Records the blobs of `tree` not met before, attributed to `commit`.
    pub fn collect(&mut self, tree: &RawOid, commit: &Arc<CommitInfo>, history: &mut History, sink: &mut BlobSink<'_>) {
        let source = self.source;
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut stack = vec![(self.ids.id(tree), String::new())];
        while let Some((id, prefix)) = stack.pop() {
            let seen = flag(&mut self.seen_trees, id);
            if *seen {
                continue;
            }
            *seen = true;
            let oid = self.ids.oid(id);
            let tree = match source.tree(id, &oid, &mut scratch) {
                Ok(tree) => tree,
                Err(detail) => {
                    let what = format!("tree {} ({})", hex(&oid), if prefix.is_empty() { "/" } else { &prefix });
                    history.problems.push(Problem { what, detail });
                    continue;
                }
            };
            for index in 0..tree.len() {
                match tree.entry(index, &mut self.ids) {
                    (EntryKind::Tree, child, name) => {
                        // A tree seen before is skipped without building its path.
                        if !self.seen_trees.get(child as usize).copied().unwrap_or(false) {
                            stack.push((child, format!("{prefix}{}/", lossy(name))));
                        }
                    }
                    (EntryKind::Blob, child, name) => self.record_blob(child, &prefix, name, commit, sink),
                    (EntryKind::Commit, _, name) => history.submodules.push(format!("{prefix}{}", lossy(name))),
                    (EntryKind::Other, ..) => {}
                }
            }
        }
        self.scratch = scratch;
    }

    /// Records a blob met at `prefix` + `name`. Most entries of a new tree are
    /// blobs already seen at the same path; their path is not even built.
    fn record_blob(&mut self, id: u32, prefix: &str, name: &[u8], commit: &Arc<CommitInfo>, sink: &mut BlobSink<'_>) {
        if self.has_boundary && self.boundary_blobs.get(id as usize).copied().unwrap_or(false) {
            return;
        }
        if self.blob_order.len() <= id as usize {
            self.blob_order.resize(id as usize + 1, UNSEEN);
        }
        match self.blob_order[id as usize] {
            UNSEEN => {
                let order = self.blobs.len();
                self.blob_order[id as usize] = order as u32;
                let path = format!("{prefix}{}", lossy(name));
                self.blobs.push(BlobEntry { first_path: path.clone(), also: Vec::new() });
                let first = Occurrence { commit: commit.clone(), path };
                let oid = self.ids.oid(id);
                sink(id, &oid, Arc::new(BlobOrigin { order, first, also: Vec::new() }));
            }
            order => {
                let entry = &mut self.blobs[order as usize];
                if entry.also.len() >= MAX_EXTRA_OCCURRENCES || is_path(&entry.first_path, prefix, name) {
                    return;
                }
                if entry.also.iter().any(|other| is_path(&other.path, prefix, name)) {
                    return;
                }
                let path = format!("{prefix}{}", lossy(name));
                entry.also.push(Occurrence { commit: commit.clone(), path });
            }
        }
    }
}

/// Whether `path` is `prefix` followed by `name`, without building the joined string.
fn is_path(path: &str, prefix: &str, name: &[u8]) -> bool {
    path.len() == prefix.len() + name.len() && path.starts_with(prefix) && path.as_bytes()[prefix.len()..] == *name
}

/// An object id in hex.
pub fn hex(oid: &RawOid) -> String {
    oid.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_tree(entries: &[(&str, &str, u8)]) -> Vec<u8> {
        let mut raw = Vec::new();
        for (mode, name, fill) in entries {
            raw.extend(format!("{mode} {name}\0").bytes());
            raw.extend([*fill; 20]);
        }
        raw
    }

    #[test]
    fn parses_every_entry_kind() {
        let raw = raw_tree(&[
            ("100644", "a.txt", 1),
            ("100755", "run.sh", 2),
            ("120000", "link", 3),
            ("40000", "dir", 4),
            ("160000", "vendor/lib", 5),
        ]);
        let tree = CompactTree::parse(&raw, None).unwrap();
        let mut ids = ObjectIds::new(None);
        let entries: Vec<_> = (0..tree.len())
            .map(|index| {
                let (kind, id, name) = tree.entry(index, &mut ids);
                (kind, ids.oid(id)[0], String::from_utf8_lossy(name).into_owned())
            })
            .collect();
        assert_eq!(
            entries,
            vec![
                (EntryKind::Blob, 1, "a.txt".to_string()),
                (EntryKind::Blob, 2, "run.sh".into()),
                (EntryKind::Blob, 3, "link".into()),
                (EntryKind::Tree, 4, "dir".into()),
                (EntryKind::Commit, 5, "vendor/lib".into()),
            ]
        );
    }

    #[test]
    fn rejects_malformed_trees() {
        let good = raw_tree(&[("100644", "a", 1)]);
        assert!(CompactTree::parse(&good[..good.len() - 1], None).is_err());
        assert!(CompactTree::parse(b"100644 no-terminator", None).is_err());
        assert!(CompactTree::parse(b"10x644 a\0aaaaaaaaaaaaaaaaaaaa", None).is_err());
        assert!(CompactTree::parse(b"no-mode", None).is_err());
    }

    #[test]
    fn ids_are_dense_and_stable() {
        let mut ids = ObjectIds::new(None);
        assert_eq!((ids.id(&[9; 20]), ids.id(&[7; 20]), ids.id(&[9; 20])), (0, 1, 0));
        assert_eq!(ids.oid(1), [7; 20]);
    }
}
