//! Decoding the objects a caller wants, each delta subtree once, on all cores.

use std::sync::atomic::{AtomicUsize, Ordering};

use libdeflater::Decompressor;

use super::prefetch::Prefetched;
use super::{delta, read_at, Kind, NodeId, PackedObjects, NO_BASE};

/// What a traversal hands decoded objects to; one per thread.
pub trait Visitor: Send {
    /// A wanted object, decoded.
    fn object(&mut self, id: NodeId, kind: Kind, data: &[u8]);
    /// A wanted object larger than [`TraverseOptions::max_size`], not decoded.
    fn too_large(&mut self, id: NodeId, size: u64);
}

/// Limits of a traversal.
#[derive(Debug, Clone, Copy)]
pub struct TraverseOptions {
    /// Threads (at least one).
    pub threads: usize,
    /// Wanted objects larger than this are reported, not decoded (unless
    /// other wanted objects are deltas of them).
    pub max_size: u64,
    /// Read the compressed data of all needed objects ahead, in runs (for
    /// many small objects: trees and commits), if it is small enough.
    pub prefetch: bool,
}

/// No object, even a delta base, larger than this is decoded here.
const MAX_DECODED: u64 = 1 << 30;
/// Decoded bytes held at once along one delta chain.
const MAX_CHAIN_BYTES: usize = 2 << 30;

impl PackedObjects {
    /// Decodes every object for which `wanted(id, kind)` holds and hands it
    /// to a visitor. Returns the visitors (one per thread) for merging.
    /// Objects that cannot be decoded here are not visited (the caller
    /// reads those another way).
    pub fn traverse<V: Visitor>(
        &self,
        wanted: impl Fn(NodeId, Kind) -> bool + Sync,
        options: TraverseOptions,
        make_visitor: impl Fn() -> V + Sync,
    ) -> Vec<V> {
        let wanted_node = |node: NodeId| {
            self.canonical[node as usize] == node && self.kinds[node as usize].is_some_and(|kind| wanted(node, kind))
        };
        let (needed, roots) = self.plan(&wanted_node);
        let prefetched = if options.prefetch { self.prefetch(&needed) } else { Prefetched::none() };
        let next_root = AtomicUsize::new(0);
        let plan = Plan { needed: &needed, wanted: &wanted_node, options, prefetched: &prefetched };
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..options.threads.max(1))
                .map(|_| {
                    scope.spawn(|| {
                        let mut visitor = make_visitor();
                        let mut decoder = Decoder::new();
                        loop {
                            let index = next_root.fetch_add(1, Ordering::Relaxed);
                            let Some(&root) = roots.get(index) else { break };
                            self.decode_subtree(root, &plan, &mut decoder, &mut visitor);
                        }
                        visitor
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|worker| worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
                .collect()
        })
    }

    /// Marks the wanted nodes and their delta ancestors as needed, and lists
    /// the roots (non-delta nodes) of needed subtrees, those with most deltas first.
    fn plan(&self, wanted: &dyn Fn(NodeId) -> bool) -> (Vec<bool>, Vec<NodeId>) {
        let mut needed = vec![false; self.nodes.len()];
        let mut roots = Vec::new();
        for start in 0..self.nodes.len() as NodeId {
            if needed[start as usize] || !wanted(start) {
                continue;
            }
            let mut node = start;
            loop {
                if needed[node as usize] {
                    break;
                }
                needed[node as usize] = true;
                let base = self.nodes[node as usize].base;
                if base == NO_BASE {
                    if self.kinds[node as usize].is_some() {
                        roots.push(node);
                    }
                    break;
                }
                node = base;
            }
        }
        // Big subtrees first, so that no thread is left with one at the end.
        roots.sort_by_key(|&root| std::cmp::Reverse(self.children(root).len()));
        (needed, roots)
    }

    /// Decodes `root` and its needed descendants, depth first.
    fn decode_subtree<V: Visitor>(&self, root: NodeId, plan: &Plan<'_>, decoder: &mut Decoder, visitor: &mut V) {
        let node = self.nodes[root as usize];
        let Some(kind) = self.kinds[root as usize] else { return };
        let has_needed_children = self.has_needed_children(root, plan);
        if !self.worth_decoding(root, node.size, has_needed_children, plan, visitor) {
            return;
        }
        let mut data = decoder.take_buffer();
        if self.inflate(root, plan.prefetched, decoder, &mut data).is_err() {
            decoder.recycle(data);
            return;
        }
        if (plan.wanted)(root) {
            visitor.object(root, kind, &data);
        }
        if !has_needed_children {
            decoder.recycle(data);
            return;
        }
        // The chain from the root to the current node: each frame's data is
        // the base of its children.
        let mut stack = vec![Frame { node: root, data, next_child: 0 }];
        let mut chain_bytes = stack[0].data.len();
        while let Some(top) = stack.last_mut() {
            let children = self.children(top.node);
            let Some(offset) = children[top.next_child..].iter().position(|&child| plan.needed[child as usize]) else {
                let frame = stack.pop().expect("not empty");
                chain_bytes -= frame.data.len();
                decoder.recycle(frame.data);
                continue;
            };
            let child = children[top.next_child + offset];
            top.next_child += offset + 1;
            let Some(data) = self.decode_delta(child, &top.data, plan, decoder, visitor, kind) else { continue };
            if self.has_needed_children(child, plan) && chain_bytes + data.len() <= MAX_CHAIN_BYTES {
                chain_bytes += data.len();
                stack.push(Frame { node: child, data, next_child: 0 });
            } else {
                decoder.recycle(data);
            }
        }
    }

    /// Rebuilds delta `node` from its base's data, visits it if wanted, and
    /// returns its data (`None` if it could not or need not be built).
    fn decode_delta<V: Visitor>(
        &self,
        node: NodeId,
        base: &[u8],
        plan: &Plan<'_>,
        decoder: &mut Decoder,
        visitor: &mut V,
        kind: Kind,
    ) -> Option<Vec<u8>> {
        if self.nodes[node as usize].size > MAX_DECODED {
            return None;
        }
        let mut instructions = std::mem::take(&mut decoder.instructions);
        let inflated = self.inflate(node, plan.prefetched, decoder, &mut instructions);
        let result = inflated.ok().and_then(|()| {
            let size = delta::result_size(&instructions).ok()?;
            if !self.worth_decoding(node, size, self.has_needed_children(node, plan), plan, visitor) {
                return None;
            }
            let mut data = decoder.take_buffer();
            if delta::apply(base, &instructions, &mut data).is_err() {
                decoder.recycle(data);
                return None;
            }
            if (plan.wanted)(node) {
                visitor.object(node, kind, &data);
            }
            Some(data)
        });
        decoder.instructions = instructions;
        result
    }

    /// Whether a needed delta of `node` is still to be rebuilt.
    fn has_needed_children(&self, node: NodeId, plan: &Plan<'_>) -> bool {
        self.children(node).iter().any(|&child| plan.needed[child as usize])
    }

    /// Whether `node`, `size` bytes once decoded, should be decoded: not if
    /// it is a wanted leaf over the size limit (reported as too large) or
    /// larger than anything decoded here.
    fn worth_decoding<V: Visitor>(
        &self,
        node: NodeId,
        size: u64,
        has_needed_children: bool,
        plan: &Plan<'_>,
        visitor: &mut V,
    ) -> bool {
        if !has_needed_children && size > plan.options.max_size {
            if (plan.wanted)(node) {
                visitor.too_large(node, size);
            }
            return false;
        }
        size <= MAX_DECODED
    }

    /// Inflates a node's compressed data into `out`, which must come out at
    /// exactly the size its header declares.
    fn inflate(
        &self,
        node: NodeId,
        prefetched: &Prefetched,
        decoder: &mut Decoder,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        let entry = self.nodes[node as usize];
        let length = (entry.end - entry.data) as usize;
        let compressed = match prefetched.get(node, length) {
            Some(bytes) => bytes,
            None => {
                let pack = &self.packs[entry.pack as usize];
                let buffer = &mut decoder.compressed;
                // Grown, never shrunk or cleared: zeroing it for every object costs more than reading.
                if buffer.len() < length {
                    buffer.resize(length, 0);
                }
                read_at(&pack.file, &mut buffer[..length], entry.data)
                    .map_err(|err| format!("{}: {err}", pack.path.display()))?;
                &buffer[..length]
            }
        };
        // Whole-buffer inflation (libdeflate) into exactly the declared size:
        // about twice as fast as streaming zlib; a longer stream is an error.
        out.clear();
        out.resize(entry.size as usize, 0);
        match decoder.inflater.zlib_decompress(compressed, out) {
            Ok(written) if written as u64 == entry.size => Ok(()),
            Ok(_) => Err(format!("object at offset {} inflates to fewer bytes than declared", entry.data)),
            Err(err) => Err(format!("object at offset {}: {err:?}", entry.data)),
        }
    }
}

struct Plan<'a> {
    needed: &'a [bool],
    wanted: &'a (dyn Fn(NodeId) -> bool + Sync),
    options: TraverseOptions,
    prefetched: &'a Prefetched,
}

struct Frame {
    node: NodeId,
    data: Vec<u8>,
    next_child: usize,
}

/// One thread's inflater and reusable buffers.
struct Decoder {
    inflater: Decompressor,
    compressed: Vec<u8>,
    instructions: Vec<u8>,
    spare: Vec<Vec<u8>>,
}

impl Decoder {
    fn new() -> Self {
        Decoder { inflater: Decompressor::new(), compressed: Vec::new(), instructions: Vec::new(), spare: Vec::new() }
    }

    fn take_buffer(&mut self) -> Vec<u8> {
        self.spare.pop().unwrap_or_default()
    }

    fn recycle(&mut self, mut buffer: Vec<u8>) {
        // Keep a few buffers, and none that a rare huge object grew.
        if self.spare.len() < 8 && buffer.capacity() <= 16 << 20 {
            buffer.clear();
            self.spare.push(buffer);
        }
    }
}
