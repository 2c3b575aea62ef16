//! Standard input as a source (`keyhound scan -`).

use std::io::Read;

use crate::finding::Origin;
use crate::stats::SkipReason;

use super::Worker;

/// Reads all of stdin (up to the size limit) and scans it.
pub fn scan_stdin(worker: &mut Worker<'_>, reader: impl Read) {
    let max_size = worker.content().max_size;
    worker.buffer.clear();
    let mut limited = reader.take(max_size.saturating_add(1));
    if let Err(err) = limited.read_to_end(&mut worker.buffer) {
        worker.results.stats.skip("-".into(), SkipReason::Unreadable, Some(err.to_string()));
        return;
    }
    if worker.buffer.len() as u64 > max_size {
        let detail = format!("more than {max_size} bytes; raise --max-file-size");
        worker.results.stats.skip("-".into(), SkipReason::TooLarge, Some(detail));
        return;
    }
    worker.scan_buffer(&Origin::Stdin);
}
