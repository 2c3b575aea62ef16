//! Reading the compressed data of many small objects in few reads.
//!
//! A history's trees and commits are a few percent of its pack, but
//! hundreds of thousands of objects: read one by one, the system calls cost
//! more than the reading. Packs keep them in runs (git writes a commit's
//! trees together), so reading each run at once, small gaps included, takes
//! a fraction of the calls.

use rayon::prelude::*;

use super::{read_at, NodeId, PackedObjects};

/// Objects are prefetched only if their compressed data takes at most this.
const MAX_PREFETCH: u64 = 64 << 20;
/// Needed objects at most this far apart are read together, gap included.
const MAX_GAP: u64 = 8 << 10;
/// Where a node's data starts in the buffer: not prefetched.
const ABSENT: u64 = u64::MAX;

/// The compressed data of some nodes, read ahead.
pub(super) struct Prefetched {
    bytes: Vec<u8>,
    /// Per node, where its data starts in `bytes`, or [`ABSENT`].
    starts: Vec<u64>,
}

/// One read: a byte range of one pack, for a run of node ids.
struct Run {
    pack: u32,
    start: u64,
    end: u64,
    /// Where it goes in the buffer.
    at: u64,
    nodes: std::ops::Range<usize>,
}

impl Prefetched {
    /// Nothing prefetched.
    pub(super) fn none() -> Self {
        Prefetched { bytes: Vec::new(), starts: Vec::new() }
    }

    /// The compressed data of `node`, if prefetched.
    pub(super) fn get(&self, node: NodeId, length: usize) -> Option<&[u8]> {
        let start = *self.starts.get(node as usize)?;
        (start != ABSENT).then(|| &self.bytes[start as usize..start as usize + length])
    }
}

impl PackedObjects {
    /// Reads the compressed data of the `needed` nodes, in runs, if it takes
    /// at most [`MAX_PREFETCH`] bytes. A run that cannot be read is left
    /// out: its objects are then read one by one, which reports the problem.
    pub(super) fn prefetch(&self, needed: &[bool]) -> Prefetched {
        let wanted = || (0..self.nodes.len()).filter(|&id| needed[id]);
        let total: u64 = wanted().map(|id| self.nodes[id].end - self.nodes[id].data).sum();
        if total > MAX_PREFETCH {
            return Prefetched::none();
        }
        // Nodes are numbered pack by pack, in offset order.
        let mut starts = vec![ABSENT; self.nodes.len()];
        let mut runs: Vec<Run> = Vec::new();
        for id in wanted() {
            let node = self.nodes[id];
            match runs.last_mut() {
                Some(run) if run.pack == node.pack && node.data <= run.end + MAX_GAP => {
                    starts[id] = run.at + (node.data - run.start);
                    run.end = run.end.max(node.end);
                    run.nodes.end = id + 1;
                }
                _ => {
                    let at = runs.last().map_or(0, |run| run.at + (run.end - run.start));
                    starts[id] = at;
                    runs.push(Run { pack: node.pack, start: node.data, end: node.end, at, nodes: id..id + 1 });
                }
            }
        }
        let size = runs.last().map_or(0, |run| run.at + (run.end - run.start));
        if size > 2 * MAX_PREFETCH {
            return Prefetched::none();
        }
        let mut bytes = vec![0u8; size as usize];
        let mut slices = Vec::with_capacity(runs.len());
        let mut rest = bytes.as_mut_slice();
        for run in &runs {
            let (slice, tail) = rest.split_at_mut((run.end - run.start) as usize);
            slices.push(slice);
            rest = tail;
        }
        let failed: Vec<bool> = slices
            .into_par_iter()
            .zip(&runs)
            .map(|(slice, run)| read_at(&self.packs[run.pack as usize].file, slice, run.start).is_err())
            .collect();
        for (run, _) in runs.iter().zip(failed).filter(|(_, failed)| *failed) {
            starts[run.nodes.clone()].fill(ABSENT);
        }
        Prefetched { bytes, starts }
    }
}
