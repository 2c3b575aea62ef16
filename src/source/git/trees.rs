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

/// A parsed tree in little memory: names back to back (each ended by a
/// NUL, which git forbids in names), and per entry its kind and either a
/// pack object id or an index into `external`.
#[derive(Debug, Default, Clone)]
pub struct CompactTree {
    names: Vec<u8>,
    entries: Vec<u32>,
    external: Vec<RawOid>,
}

/// The largest pack set whose ids fit a [`CompactTree`] entry.
pub const MAX_PACKED_OBJECTS: usize = EXTERNAL as usize;

impl CompactTree {
    /// Parses a raw tree object, numbering children by `packed_id` (their id
    /// in the packs, if there).
    pub fn parse(raw: &[u8], packed_id: impl FnMut(&RawOid) -> Option<u32>) -> Result<CompactTree, String> {
        Self::parse_with(raw, &mut CompactTree::default(), packed_id)
    }

    /// [`Self::parse`] through `scratch`: the tree is built there, then
    /// copied out at its exact size (one allocation per part, no regrowing
    /// or shrinking).
    pub fn parse_with(
        raw: &[u8],
        scratch: &mut CompactTree,
        packed_id: impl FnMut(&RawOid) -> Option<u32>,
    ) -> Result<CompactTree, String> {
        scratch.fill(raw, packed_id)?;
        Ok(scratch.clone())
    }

    /// [`Self::parse`] into an existing tree, reusing its memory.
    pub fn fill(&mut self, raw: &[u8], mut packed_id: impl FnMut(&RawOid) -> Option<u32>) -> Result<(), String> {
        self.names.clear();
        self.entries.clear();
        self.external.clear();
        // An entry takes at least 24 bytes ("1 a\0" and a 20-byte id).
        self.entries.reserve(raw.len() / 24);
        self.names.reserve(raw.len().saturating_sub(raw.len() / 24 * 22));
        let mut rest = raw;
        while !rest.is_empty() {
            let space = memchr::memchr(b' ', rest).ok_or("tree entry without a mode")?;
            let kind = mode_kind(&rest[..space]).ok_or("tree entry with a bad mode")?;
            let name_end = space + 1 + memchr::memchr(0, &rest[space + 1..]).ok_or("tree entry without a name end")?;
            let oid: &RawOid =
                rest.get(name_end + 1..name_end + 21).ok_or("truncated tree entry")?.try_into().expect("20");
            let object = match packed_id(oid) {
                Some(id) => id,
                None => {
                    self.external.push(*oid);
                    EXTERNAL | (self.external.len() as u32 - 1)
                }
            };
            self.names.extend_from_slice(&rest[space + 1..=name_end]);
            self.entries.push((kind as u32) << KIND_SHIFT | object);
            rest = &rest[name_end + 21..];
        }
        Ok(())
    }

    /// The memory this tree takes.
    pub fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.names.capacity()
            + self.entries.capacity() * std::mem::size_of::<u32>()
            + self.external.capacity() * std::mem::size_of::<RawOid>()
    }

    /// The entries in order: kind, child (see [`Self::resolve`]) and name.
    fn iter(&self) -> impl Iterator<Item = (EntryKind, u32, &[u8])> {
        let mut start = 0;
        let names = memchr::memchr_iter(0, &self.names).map(move |end| {
            let name = &self.names[start..end];
            start = end + 1;
            name
        });
        names.zip(&self.entries).map(|(name, &raw)| {
            let kind = match raw >> KIND_SHIFT {
                0 => EntryKind::Blob,
                1 => EntryKind::Tree,
                2 => EntryKind::Commit,
                _ => EntryKind::Other,
            };
            (kind, raw & !(3 << KIND_SHIFT), name)
        })
    }

    /// The object id of an entry's child, numbered by `ids`.
    fn resolve(&self, child: u32, ids: &mut ObjectIds<'_>) -> u32 {
        if child & EXTERNAL != 0 {
            ids.id(&self.external[(child & INDEX_MASK) as usize])
        } else {
            child
        }
    }
}

/// What a tree entry's mode says it is (`None` if it is not octal).
fn mode_kind(mode: &[u8]) -> Option<EntryKind> {
    let value = match mode {
        b"100644" | b"100755" | b"120000" => return Some(EntryKind::Blob),
        b"40000" => return Some(EntryKind::Tree),
        b"160000" => return Some(EntryKind::Commit),
        _ if mode.is_empty() || mode.len() > 7 => return None,
        _ => mode.iter().try_fold(0u32, |value, &digit| match digit {
            b'0'..=b'7' => Some(value * 8 + u32::from(digit - b'0')),
            _ => None,
        })?,
    };
    Some(match value & 0o170000 {
        0o040000 => EntryKind::Tree,
        0o100000 | 0o120000 => EntryKind::Blob,
        0o160000 => EntryKind::Commit,
        _ => EntryKind::Other,
    })
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
        scratch.fill(object.data(), |oid| self.packed.and_then(|packed| packed.id(oid)))?;
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

/// Where else a blob appeared (paths other than its first).
#[derive(Default)]
struct BlobEntry {
    also: Vec<Occurrence>,
    also_hashes: Vec<u64>,
}

/// What the walk keeps per blob id, in one dense table.
#[derive(Debug, Clone, Copy)]
struct BlobMeta {
    /// Position in first-appearance order, or [`UNSEEN`].
    order: u32,
    /// No more occurrences are recorded.
    also_full: bool,
    /// [`path_hash`] of the first path.
    first_path: u64,
}

const UNSEEN: u32 = u32::MAX;
const NEW_BLOB: BlobMeta = BlobMeta { order: UNSEEN, also_full: false, first_path: 0 };

/// A new blob handed to the walk's sink: its id, object id and first appearance.
pub type BlobSink<'s> = dyn FnMut(u32, &RawOid, Arc<BlobOrigin>) + 's;

/// Walks trees, each tree object once, and records each blob once.
pub struct TreeWalker<'s, 'p> {
    source: &'s dyn TreeSource,
    /// Object numbering.
    pub ids: ObjectIds<'p>,
    seen_trees: Vec<bool>,
    blob_meta: Vec<BlobMeta>,
    blobs: Vec<BlobEntry>,
    /// Blobs of boundary commits: present before the selection, never scanned.
    boundary_blobs: Vec<bool>,
    has_boundary: bool,
    scratch: CompactTree,
}

fn flag(flags: &mut Vec<bool>, id: u32) -> &mut bool {
    if flags.len() <= id as usize {
        flags.resize(id as usize + 1, false);
    }
    &mut flags[id as usize]
}

/// A hash of a path, built component by component: the walk compares paths
/// by these instead of by string (a 64-bit collision could at worst drop
/// one "also found at" entry).
fn path_hash(parent: u64, name: &[u8]) -> u64 {
    let mut hash = parent ^ (name.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for chunk in name.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        hash = (hash.rotate_left(23) ^ u64::from_le_bytes(word)).wrapping_mul(0xff51_afd7_ed55_8ccd);
    }
    hash
}

const ROOT_PATH_HASH: u64 = 0x243f_6a88_85a3_08d3;

impl<'s, 'p> TreeWalker<'s, 'p> {
    /// A walker reading trees from `source`.
    pub fn new(source: &'s dyn TreeSource, ids: ObjectIds<'p>) -> Self {
        TreeWalker {
            source,
            ids,
            seen_trees: Vec::new(),
            blob_meta: Vec::new(),
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
            for (kind, child, _) in tree.iter() {
                match kind {
                    EntryKind::Tree => stack.push(tree.resolve(child, &mut self.ids)),
                    EntryKind::Blob => {
                        *flag(&mut self.boundary_blobs, tree.resolve(child, &mut self.ids)) = true;
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
        let mut stack = vec![(self.ids.id(tree), String::new(), ROOT_PATH_HASH)];
        while let Some((id, prefix, prefix_hash)) = stack.pop() {
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
            for (kind, child, name) in tree.iter() {
                match kind {
                    EntryKind::Tree => {
                        // A tree seen before is skipped without building its path.
                        let child = tree.resolve(child, &mut self.ids);
                        if !self.seen_trees.get(child as usize).copied().unwrap_or(false) {
                            let path = join(&prefix, name, "/");
                            stack.push((child, path, path_hash(prefix_hash, name)));
                        }
                    }
                    EntryKind::Blob => {
                        let child = tree.resolve(child, &mut self.ids);
                        let place = Place { prefix: &prefix, name, hash: path_hash(prefix_hash, name) };
                        self.record_blob(child, place, commit, sink);
                    }
                    EntryKind::Commit => history.submodules.push(join(&prefix, name, "")),
                    EntryKind::Other => {}
                }
            }
        }
        self.scratch = scratch;
    }

    /// Records a blob met at a place. Most entries of a new tree are blobs
    /// already seen at the same path: one table lookup and a hash comparison.
    fn record_blob(&mut self, id: u32, place: Place<'_>, commit: &Arc<CommitInfo>, sink: &mut BlobSink<'_>) {
        if self.has_boundary && self.boundary_blobs.get(id as usize).copied().unwrap_or(false) {
            return;
        }
        if self.blob_meta.len() <= id as usize {
            self.blob_meta.resize(id as usize + 1, NEW_BLOB);
        }
        let meta = &mut self.blob_meta[id as usize];
        if meta.order == UNSEEN {
            let order = self.blobs.len();
            *meta = BlobMeta { order: order as u32, also_full: false, first_path: place.hash };
            self.blobs.push(BlobEntry::default());
            let first = Occurrence { commit: commit.clone(), path: place.path() };
            let oid = self.ids.oid(id);
            sink(id, &oid, Arc::new(BlobOrigin { order, first, also: Vec::new() }));
            return;
        }
        if meta.also_full || meta.first_path == place.hash {
            return;
        }
        let entry = &mut self.blobs[meta.order as usize];
        if entry.also_hashes.contains(&place.hash) {
            return;
        }
        entry.also.push(Occurrence { commit: commit.clone(), path: place.path() });
        entry.also_hashes.push(place.hash);
        meta.also_full = entry.also.len() >= MAX_EXTRA_OCCURRENCES;
    }
}

/// Where a tree entry is: its directory, name and path hash.
struct Place<'a> {
    prefix: &'a str,
    name: &'a [u8],
    hash: u64,
}

impl Place<'_> {
    fn path(&self) -> String {
        join(self.prefix, self.name, "")
    }
}

/// An object id in hex (libgit2's formatting).
pub fn hex(oid: &RawOid) -> String {
    Oid::from_bytes(oid).expect("SHA-1 ids have 20 bytes").to_string()
}

/// `prefix` + `name` (lossily decoded) + `suffix`, built in one allocation.
fn join(prefix: &str, name: &[u8], suffix: &str) -> String {
    let name = String::from_utf8_lossy(name);
    let mut path = String::with_capacity(prefix.len() + name.len() + suffix.len());
    path.push_str(prefix);
    path.push_str(&name);
    path.push_str(suffix);
    path
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
        let tree = CompactTree::parse(&raw, |_| None).unwrap();
        let mut ids = ObjectIds::new(None);
        let entries: Vec<_> = tree
            .iter()
            .map(|(kind, child, name)| {
                let id = tree.resolve(child, &mut ids);
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
        assert!(CompactTree::parse(&good[..good.len() - 1], |_| None).is_err());
        assert!(CompactTree::parse(b"100644 no-terminator", |_| None).is_err());
        assert!(CompactTree::parse(b"10x644 a\0aaaaaaaaaaaaaaaaaaaa", |_| None).is_err());
        assert!(CompactTree::parse(b"no-mode", |_| None).is_err());
        assert!(CompactTree::parse(b"1234567890 a\0aaaaaaaaaaaaaaaaaaaa", |_| None).is_err());
    }

    #[test]
    fn reads_unusual_modes_by_their_type_bits() {
        assert_eq!(mode_kind(b"100664"), Some(EntryKind::Blob));
        assert_eq!(mode_kind(b"040000"), Some(EntryKind::Tree));
        assert_eq!(mode_kind(b"644"), Some(EntryKind::Other));
        assert_eq!(mode_kind(b"100648"), None);
        assert_eq!(mode_kind(b""), None);
    }

    #[test]
    fn path_hashes_tell_paths_apart() {
        let root = ROOT_PATH_HASH;
        let in_dir = |dir: &[u8], name: &[u8]| path_hash(path_hash(root, dir), name);
        assert_eq!(in_dir(b"src", b"main.rs"), in_dir(b"src", b"main.rs"));
        assert_ne!(in_dir(b"src", b"main.rs"), in_dir(b"lib", b"main.rs"));
        assert_ne!(path_hash(root, b"ab"), path_hash(root, b"ab\0"));
        assert_ne!(in_dir(b"a", b"bc"), in_dir(b"ab", b"c"));
    }

    #[test]
    fn object_ids_print_as_git_does() {
        let mut oid = [0u8; 20];
        oid[0] = 0xab;
        oid[19] = 0x09;
        assert_eq!(hex(&oid), format!("ab{}09", "0".repeat(36)));
        assert_eq!(join("src/", b"caf\xe9", "/"), "src/caf\u{fffd}/");
    }

    #[test]
    fn ids_are_dense_and_stable() {
        let mut ids = ObjectIds::new(None);
        assert_eq!((ids.id(&[9; 20]), ids.id(&[7; 20]), ids.id(&[9; 20])), (0, 1, 0));
        assert_eq!(ids.oid(1), [7; 20]);
    }
}
