//! Binary content: the printable runs of a binary input (what `strings`
//! shows), gathered into one text buffer, with a map back to byte offsets.

/// Shortest printable run worth scanning (no credential is shorter).
pub const MIN_RUN: usize = 8;

/// Printable ASCII and tab.
fn is_printable(byte: u8) -> bool {
    byte == b'\t' || (0x20..0x7f).contains(&byte)
}

/// The printable runs of some binary content, one per line, and where each
/// run starts in the original bytes.
#[derive(Debug, Default)]
pub struct PrintableRuns {
    /// The runs, each followed by `\n`.
    pub text: Vec<u8>,
    /// `(start in text, start in original)` for each run, in order.
    starts: Vec<(usize, usize)>,
}

impl PrintableRuns {
    /// Extracts runs of at least [`MIN_RUN`] printable ASCII bytes (and tabs) from `bytes`,
    /// reusing this value's buffers.
    pub fn extract(&mut self, bytes: &[u8]) {
        self.text.clear();
        self.starts.clear();
        let mut index = 0;
        while let Some(skip) = bytes[index..].iter().position(|&byte| is_printable(byte)) {
            let start = index + skip;
            let length = bytes[start..].iter().position(|&byte| !is_printable(byte)).unwrap_or(bytes.len() - start);
            index = start + length;
            if length >= MIN_RUN {
                self.starts.push((self.text.len(), start));
                self.text.extend_from_slice(&bytes[start..index]);
                self.text.push(b'\n');
            }
        }
    }

    /// The offset in the original bytes of `offset` in [`PrintableRuns::text`].
    pub fn original_offset(&self, offset: usize) -> usize {
        let index = self.starts.partition_point(|&(text_start, _)| text_start <= offset).saturating_sub(1);
        self.starts.get(index).map_or(offset, |&(text_start, original)| original + (offset - text_start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_extracted_and_mapped_back() {
        let bytes = b"\x00\x01short\x00a long printable run\x00\x00\x7fsecond run here!\x00";
        let mut runs = PrintableRuns::default();
        runs.extract(bytes);
        assert_eq!(runs.text, b"a long printable run\nsecond run here!\n");
        let second = runs.text.iter().position(|&b| b == b's').unwrap();
        let original = runs.original_offset(second + 7);
        assert_eq!(&bytes[original..original + 4], b"run ");
        assert_eq!(runs.original_offset(2), 10);
    }

    #[test]
    fn a_run_at_the_very_end_is_kept() {
        let mut runs = PrintableRuns::default();
        runs.extract(b"\x00\x00ends with text");
        assert_eq!(runs.text, b"ends with text\n");
    }
}
