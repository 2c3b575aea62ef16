//! A repository's packfiles, read in pack order rather than object by
//! object: the way to read a whole history fast.
//!
//! Reading blobs one by one (libgit2, in the order the history walk meets
//! them) re-inflates delta bases again and again and maps the whole pack into
//! memory. Here every pack entry is a node of a delta forest (a delta's parent
//! is its base), and [`PackedObjects::traverse`] decodes each needed subtree
//! once, depth first, from its base down, on all cores, reading compressed
//! data with positioned reads so memory stays bounded by the objects in
//! flight rather than growing with the pack. `git index-pack` resolves deltas
//! the same way; gix and libgit2 both map the pack file instead, which is why
//! this small reader exists.
//!
//! Whatever cannot be read here (loose objects, alternates, a corrupt pack,
//! a delta whose base is missing) is simply not visited, and the caller reads
//! it through libgit2, which reports problems per object.

pub mod delta;
pub mod index;
mod prefetch;
mod traverse;

use std::collections::HashMap;
use std::fs::File;
use std::hash::{BuildHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

pub use index::RawOid;
pub use traverse::{TraverseOptions, Visitor};

use index::PackIndex;

/// A pack problem; the objects of that pack are then read through libgit2.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The index or pack file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a pack or index this reader understands.
    #[error("{path}: {what}")]
    Corrupt {
        /// The index or pack file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
}

/// The type of a git object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A commit.
    Commit,
    /// A tree (directory listing).
    Tree,
    /// File content.
    Blob,
    /// An annotated tag.
    Tag,
}

impl Kind {
    fn from_type(code: u8) -> Option<Kind> {
        match code {
            1 => Some(Kind::Commit),
            2 => Some(Kind::Tree),
            3 => Some(Kind::Blob),
            4 => Some(Kind::Tag),
            _ => None,
        }
    }
}

/// A node of the delta forest: one entry of one pack.
pub type NodeId = u32;

const NO_BASE: NodeId = NodeId::MAX;
const OFS_DELTA: u8 = 6;
const REF_DELTA: u8 = 7;

/// One pack entry.
#[derive(Debug, Clone, Copy)]
struct Node {
    /// Which pack.
    pack: u32,
    /// The entry's type code (1-4, or 6/7 for deltas).
    type_code: u8,
    /// The inflated size (of the delta instructions, for a delta).
    size: u64,
    /// Where the compressed data starts and ends in the pack.
    data: u64,
    end: u64,
    /// The delta base, or [`NO_BASE`].
    base: NodeId,
}

struct PackFile {
    path: PathBuf,
    file: File,
    /// A cruft pack (it has a `.mtimes` file): git's store of unreachable objects.
    cruft: bool,
}

/// Every object of a repository's packs, with ids that index dense tables:
/// an object's id is the node of its first copy.
pub struct PackedObjects {
    packs: Vec<PackFile>,
    nodes: Vec<Node>,
    oids: Vec<RawOid>,
    /// The object id (first copy) of each node.
    canonical: Vec<NodeId>,
    /// The resolved type of each node (a delta has its base's), if resolvable.
    kinds: Vec<Option<Kind>>,
    /// Children of each node, as ranges of `child_list`.
    child_start: Vec<u32>,
    child_list: Vec<NodeId>,
    lookup: OidMap<NodeId>,
    /// Deltas whose base is named by id, resolved once every pack is read.
    ref_bases: Vec<(NodeId, RawOid)>,
    /// Packs that could not be used, and why.
    pub problems: Vec<PackError>,
}

impl std::fmt::Debug for PackedObjects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackedObjects").field("packs", &self.packs.len()).field("nodes", &self.nodes.len()).finish()
    }
}

impl PackedObjects {
    /// Opens every pack under `objects_dir/pack`. A pack that cannot be read
    /// is left out and noted in `problems`.
    pub fn open(objects_dir: &Path) -> PackedObjects {
        let mut packed = PackedObjects {
            packs: Vec::new(),
            nodes: Vec::new(),
            oids: Vec::new(),
            canonical: Vec::new(),
            kinds: Vec::new(),
            child_start: Vec::new(),
            child_list: Vec::new(),
            lookup: OidMap::default(),
            ref_bases: Vec::new(),
            problems: Vec::new(),
        };
        let mut indexes: Vec<PathBuf> = std::fs::read_dir(objects_dir.join("pack"))
            .map(|dir| dir.flatten().map(|entry| entry.path()).collect())
            .unwrap_or_default();
        indexes.retain(|path| path.extension().is_some_and(|ext| ext == "idx"));
        indexes.sort();
        for index_path in indexes {
            if let Err(problem) = packed.add_pack(&index_path) {
                packed.problems.push(problem);
            }
        }
        packed.link();
        packed
    }

    /// Adds one pack's entries (sorted by offset) as nodes; their delta bases
    /// are resolved by [`Self::link`].
    fn add_pack(&mut self, index_path: &Path) -> Result<(), PackError> {
        let pack_path = index_path.with_extension("pack");
        let index = PackIndex::read(index_path)?;
        let io = |source| PackError::Io { path: pack_path.clone(), source };
        let corrupt = |what: String| PackError::Corrupt { path: pack_path.clone(), what };
        let file = File::open(&pack_path).map_err(io)?;
        let length = file.metadata().map_err(io)?.len();
        let mut header = [0u8; 12];
        read_at(&file, &mut header, 0).map_err(io)?;
        let version = u32::from_be_bytes(header[4..8].try_into().expect("4 bytes"));
        let count = u32::from_be_bytes(header[8..12].try_into().expect("4 bytes"));
        if &header[..4] != b"PACK" || !(2..=3).contains(&version) {
            return Err(corrupt("not a version 2 or 3 pack".into()));
        }
        if count as usize != index.oids.len() {
            return Err(corrupt(format!("{count} objects, but its index lists {}", index.oids.len())));
        }
        let mut by_offset: Vec<usize> = (0..index.oids.len()).collect();
        by_offset.sort_unstable_by_key(|&position| index.offsets[position]);
        let data_end = length.checked_sub(20).ok_or_else(|| corrupt("shorter than its trailer".into()))?;
        let first = self.nodes.len();
        if first + by_offset.len() >= NO_BASE as usize {
            return Err(corrupt("too many objects".into()));
        }
        let pack = self.packs.len() as u32;
        let mut previous = 11;
        let mut entries = Vec::with_capacity(by_offset.len());
        for (rank, &position) in by_offset.iter().enumerate() {
            let offset = index.offsets[position];
            let end = by_offset.get(rank + 1).map_or(data_end, |&next| index.offsets[next]);
            if offset <= previous || end > data_end || end <= offset {
                return Err(corrupt(format!("object at offset {offset} overlaps another or the trailer")));
            }
            previous = offset;
            entries.push((offset, end));
        }
        let offsets: Vec<u64> = entries.iter().map(|&(offset, _)| offset).collect();
        // Headers are read through a window that slides along the pack: one
        // read per window rather than one per object.
        let chunk = entries.len().div_ceil(rayon::current_num_threads().max(1) * 4).max(1);
        let headers: Vec<Result<(Node, Option<RawOid>), String>> = entries
            .par_chunks(chunk)
            .flat_map_iter(|chunk| {
                let mut window = Window::new(&file, length);
                chunk
                    .iter()
                    .map(|&(offset, end)| read_entry_header(&mut window, pack, offset, end, &offsets, first))
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut ref_bases = Vec::new();
        let mut nodes = Vec::with_capacity(headers.len());
        for (rank, header) in headers.into_iter().enumerate() {
            let (node, ref_base) = header.map_err(corrupt)?;
            if let Some(base) = ref_base {
                ref_bases.push(((first + rank) as NodeId, base));
            }
            nodes.push(node);
        }
        // Only a wholly readable pack is added.
        self.nodes.extend(nodes);
        self.oids.extend(by_offset.iter().map(|&position| index.oids[position]));
        self.ref_bases.extend(ref_bases);
        let cruft = pack_path.with_extension("mtimes").exists();
        self.packs.push(PackFile { path: pack_path, file, cruft });
        Ok(())
    }

    /// Builds the object lookup, resolves by-id delta bases, types and the child lists.
    fn link(&mut self) {
        self.lookup = OidMap::with_capacity_and_hasher(self.oids.len(), OidHasherBuilder::new());
        self.canonical = Vec::with_capacity(self.oids.len());
        for (node, oid) in self.oids.iter().enumerate() {
            let id = *self.lookup.entry(OidKey(*oid)).or_insert(node as NodeId);
            self.canonical.push(id);
        }
        for (node, base) in std::mem::take(&mut self.ref_bases) {
            // A base in no pack (a thin pack's) leaves the node unresolvable.
            if let Some(&base) = self.lookup.get(&OidKey(base)) {
                self.nodes[node as usize].base = base;
            }
        }
        self.kinds = resolve_kinds(&self.nodes);
        let mut counts = vec![0u32; self.nodes.len() + 1];
        for node in &self.nodes {
            if node.base != NO_BASE {
                counts[node.base as usize + 1] += 1;
            }
        }
        for index in 1..counts.len() {
            counts[index] += counts[index - 1];
        }
        let mut fill = counts.clone();
        self.child_list = vec![0; *counts.last().unwrap_or(&0) as usize];
        for (index, node) in self.nodes.iter().enumerate() {
            if node.base != NO_BASE {
                let slot = &mut fill[node.base as usize];
                self.child_list[*slot as usize] = index as NodeId;
                *slot += 1;
            }
        }
        self.child_start = counts;
    }

    /// Number of nodes (pack entries); object ids are below this.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no pack could be read.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The id of the object `oid`, if some pack holds it.
    pub fn id(&self, oid: &RawOid) -> Option<NodeId> {
        self.lookup.get(&OidKey(*oid)).copied()
    }

    /// The object id of an id.
    pub fn oid(&self, id: NodeId) -> &RawOid {
        &self.oids[id as usize]
    }

    /// The ids of the objects of one type.
    pub fn objects(&self, kind: Kind) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.nodes.len() as NodeId)
            .filter(move |&id| self.canonical[id as usize] == id && self.kinds[id as usize] == Some(kind))
    }

    /// Whether an object's first copy is in a cruft pack (written by `git gc`
    /// for unreachable objects).
    pub fn in_cruft_pack(&self, id: NodeId) -> bool {
        self.packs[self.nodes[id as usize].pack as usize].cruft
    }

    /// The type of an object, if its delta chain resolves.
    pub fn kind(&self, id: NodeId) -> Option<Kind> {
        self.kinds[id as usize]
    }

    fn children(&self, node: NodeId) -> &[NodeId] {
        let node = node as usize;
        &self.child_list[self.child_start[node] as usize..self.child_start[node + 1] as usize]
    }
}

/// [`PackedObjects::id`] with the most recent answers kept in a small table:
/// the trees of a history repeat most of their entries from one version to
/// the next, and a table that fits the CPU's cache answers those without the
/// cache misses of the large map.
pub struct CachedIds<'p> {
    packed: &'p PackedObjects,
    /// Indexed by the id's first bytes: an id and its answer.
    slots: Vec<Option<(RawOid, Option<NodeId>)>>,
}

impl<'p> CachedIds<'p> {
    const SLOTS: usize = 1 << 14;

    /// An empty cache in front of `packed`.
    pub fn new(packed: &'p PackedObjects) -> Self {
        CachedIds { packed, slots: vec![None; Self::SLOTS] }
    }

    /// The id of the object `oid`, if some pack holds it.
    pub fn id(&mut self, oid: &RawOid) -> Option<NodeId> {
        // Object ids are hashes: their first bytes are as good as any hash of them.
        let slot = u64::from_le_bytes(oid[..8].try_into().expect("8 bytes")) as usize % Self::SLOTS;
        match &self.slots[slot] {
            Some((cached, answer)) if cached == oid => *answer,
            _ => {
                let answer = self.packed.id(oid);
                self.slots[slot] = Some((*oid, answer));
                answer
            }
        }
    }
}

/// Reads and parses the entry header at `offset`: its type, size and base.
fn read_entry_header(
    window: &mut Window<'_>,
    pack: u32,
    offset: u64,
    end: u64,
    offsets: &[u64],
    first_node: usize,
) -> Result<(Node, Option<RawOid>), String> {
    let length = (end - offset).min(MAX_HEADER) as usize;
    let bytes = window.bytes(offset, length).map_err(|err| format!("reading offset {offset}: {err}"))?;
    let truncated = || format!("truncated entry header at offset {offset}");
    let mut at = 0;
    let mut byte = *bytes.first().ok_or_else(truncated)?;
    let type_code = (byte >> 4) & 7;
    let mut size = u64::from(byte & 0x0f);
    let mut shift = 4;
    while byte & 0x80 != 0 {
        at += 1;
        byte = *bytes.get(at).ok_or_else(truncated)?;
        if shift > 60 {
            return Err(format!("entry size overflows at offset {offset}"));
        }
        size |= u64::from(byte & 0x7f) << shift;
        shift += 7;
    }
    at += 1;
    let mut node = Node { pack, type_code, size, data: 0, end, base: NO_BASE };
    let mut ref_base = None;
    match type_code {
        1..=4 => {}
        OFS_DELTA => {
            let mut byte = *bytes.get(at).ok_or_else(truncated)?;
            at += 1;
            let mut distance = u64::from(byte & 0x7f);
            while byte & 0x80 != 0 {
                byte = *bytes.get(at).ok_or_else(truncated)?;
                at += 1;
                distance = distance
                    .checked_add(1)
                    .and_then(|d| d.checked_mul(128))
                    .map(|d| d | u64::from(byte & 0x7f))
                    .ok_or_else(|| format!("delta base distance overflows at offset {offset}"))?;
            }
            let base_offset = offset
                .checked_sub(distance)
                .filter(|_| distance > 0)
                .ok_or_else(|| format!("delta at offset {offset} points before the pack"))?;
            let rank = offsets
                .binary_search(&base_offset)
                .map_err(|_| format!("delta at offset {offset} points at {base_offset}, where no object starts"))?;
            node.base = (first_node + rank) as NodeId;
        }
        REF_DELTA => {
            ref_base = Some(bytes.get(at..at + 20).ok_or_else(truncated)?.try_into().expect("20 bytes"));
            at += 20;
        }
        other => return Err(format!("unknown entry type {other} at offset {offset}")),
    }
    node.data = offset + at as u64;
    if node.data >= end {
        return Err(truncated());
    }
    Ok((node, ref_base))
}

/// The longest entry header: a type-and-size varint and a 20-byte base id.
const MAX_HEADER: u64 = 32;

/// Reads a file forwards through a buffer refilled at the first offset it lacks.
struct Window<'f> {
    file: &'f File,
    file_length: u64,
    buffer: Vec<u8>,
    start: u64,
    filled: usize,
}

impl<'f> Window<'f> {
    const SIZE: usize = 256 << 10;

    fn new(file: &'f File, file_length: u64) -> Self {
        Window { file, file_length, buffer: vec![0; Self::SIZE], start: 0, filled: 0 }
    }

    /// `length` bytes at `offset` (which must lie within the file).
    fn bytes(&mut self, offset: u64, length: usize) -> std::io::Result<&[u8]> {
        let covered = offset >= self.start && offset + length as u64 <= self.start + self.filled as u64;
        if !covered {
            self.filled = (self.file_length.saturating_sub(offset)).min(Self::SIZE as u64) as usize;
            self.start = offset;
            read_at(self.file, &mut self.buffer[..self.filled], offset)?;
            if self.filled < length {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
        let at = (offset - self.start) as usize;
        Ok(&self.buffer[at..at + length])
    }
}

/// The type of each node: its own, or its delta chain's root's. A chain
/// that loops or ends at a missing base leaves `None`.
fn resolve_kinds(nodes: &[Node]) -> Vec<Option<Kind>> {
    const UNVISITED: u8 = 0;
    const IN_PROGRESS: u8 = 1;
    const DONE: u8 = 2;
    let mut kinds = vec![None; nodes.len()];
    let mut state = vec![UNVISITED; nodes.len()];
    let mut chain = Vec::new();
    for start in 0..nodes.len() {
        let mut current = start;
        while state[current] == UNVISITED {
            state[current] = IN_PROGRESS;
            chain.push(current);
            let node = &nodes[current];
            if node.type_code == OFS_DELTA || node.type_code == REF_DELTA {
                if node.base == NO_BASE {
                    break;
                }
                current = node.base as usize;
            } else {
                kinds[current] = Kind::from_type(node.type_code);
                break;
            }
        }
        // `current` is resolved (DONE), the end of the chain, or part of a loop (IN_PROGRESS).
        let kind = if state[current] == DONE || chain.last() == Some(&current) { kinds[current] } else { None };
        for &node in &chain {
            kinds[node] = kind;
            state[node] = DONE;
        }
        chain.clear();
    }
    kinds
}

/// Reads exactly `buffer.len()` bytes at `offset`, without moving a shared cursor.
fn read_at(file: &File, buffer: &mut [u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buffer, offset)
    }
    #[cfg(windows)]
    {
        let mut done = 0;
        while done < buffer.len() {
            let read = std::os::windows::fs::FileExt::seek_read(file, &mut buffer[done..], offset + done as u64)?;
            if read == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            done += read;
        }
        Ok(())
    }
}

/// An object id as a hash key: ids are already uniformly random, so the
/// hasher only mixes their first eight bytes with a per-process seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OidKey(pub RawOid);

impl Hash for OidKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(u64::from_le_bytes(self.0[..8].try_into().expect("8 bytes")));
    }
}

/// A map keyed by object id.
pub type OidMap<V> = HashMap<OidKey, V, OidHasherBuilder>;

/// Builds [`OidHasher`]s with one random seed per process.
#[derive(Debug, Clone, Copy)]
pub struct OidHasherBuilder {
    seed: u64,
}

impl OidHasherBuilder {
    /// A builder with this process's seed.
    pub fn new() -> Self {
        static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        let seed = *SEED.get_or_init(|| std::collections::hash_map::RandomState::new().hash_one(0u64) | 1);
        OidHasherBuilder { seed }
    }
}

impl Default for OidHasherBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl BuildHasher for OidHasherBuilder {
    type Hasher = OidHasher;
    fn build_hasher(&self) -> OidHasher {
        OidHasher { seed: self.seed, value: 0 }
    }
}

/// See [`OidKey`].
#[derive(Debug)]
pub struct OidHasher {
    seed: u64,
    value: u64,
}

impl Hasher for OidHasher {
    fn finish(&self) -> u64 {
        // A multiply spreads the seeded prefix over the bits hashbrown uses.
        (self.value ^ self.seed).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(26)
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.value = self.value.rotate_left(5) ^ u64::from_le_bytes(word);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.value = value;
    }
}

#[cfg(test)]
mod tests;
