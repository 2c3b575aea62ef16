//! Byte offsets to line/column positions, and line boundaries, for LF, CRLF
//! and lone-CR line endings alike.

use memchr::{memchr2, memrchr2};

use crate::finding::Location;

/// Start of the line containing `offset`, looking back at most `limit` bytes.
pub fn line_start(bytes: &[u8], offset: usize, limit: usize) -> usize {
    let floor = offset.saturating_sub(limit);
    match memrchr2(b'\n', b'\r', &bytes[floor..offset]) {
        Some(pos) => floor + pos + 1,
        None => floor,
    }
}

/// End (exclusive, before the line break) of the line containing `offset`,
/// looking ahead at most `limit` bytes.
pub fn line_end(bytes: &[u8], offset: usize, limit: usize) -> usize {
    let ceiling = bytes.len().min(offset.saturating_add(limit));
    if offset >= ceiling {
        return ceiling;
    }
    match memchr2(b'\n', b'\r', &bytes[offset..ceiling]) {
        Some(pos) => offset + pos,
        None => ceiling,
    }
}

/// Converts increasing byte offsets of one input into 1-based line/column
/// positions, scanning each byte at most once across calls.
#[derive(Debug)]
pub struct Locator<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: usize,
    line_start: usize,
}

impl<'a> Locator<'a> {
    /// Starts at the beginning of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Locator { bytes, offset: 0, line: 1, line_start: 0 }
    }

    /// Line and column (1-based; columns count characters) of `offset`.
    /// Offsets must not decrease between calls; a smaller one restarts.
    pub fn position(&mut self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.bytes.len());
        if offset < self.offset {
            *self = Locator::new(self.bytes);
        }
        let mut index = self.offset;
        while let Some(found) = memchr2(b'\n', b'\r', &self.bytes[index..offset]) {
            let at = index + found;
            // A CR directly followed by LF is one break, counted at the LF.
            let crlf = self.bytes[at] == b'\r' && self.bytes.get(at + 1) == Some(&b'\n');
            if !crlf {
                self.line += 1;
                self.line_start = at + 1;
            }
            index = at + 1;
        }
        self.offset = offset;
        (self.line, char_count(&self.bytes[self.line_start..offset]) + 1)
    }

    /// The [`Location`] of the byte range `start..end` (`end` exclusive, `end > start`).
    pub fn locate(&mut self, start: usize, end: usize) -> Location {
        let (line, column) = self.position(start);
        let last = end.saturating_sub(1).max(start);
        let (end_line, end_column) = self.position(last);
        Location { line, column, end_line, end_column, offset: start, in_binary: false }
    }
}

/// Number of characters in `bytes`: UTF-8 leading bytes, with each invalid byte counted once.
fn char_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&byte| (byte & 0xC0) != 0x80).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_for_lf_crlf_and_cr() {
        for text in ["a\nb\nKEY", "a\r\nb\r\nKEY", "a\rb\rKEY"] {
            let offset = text.find("KEY").unwrap();
            assert_eq!(Locator::new(text.as_bytes()).position(offset), (3, 1), "{text:?}");
        }
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let text = "é = KEY";
        let offset = text.find("KEY").unwrap();
        assert_eq!(Locator::new(text.as_bytes()).position(offset), (1, 5));
    }

    #[test]
    fn locate_gives_inclusive_end() {
        let text = "x\n  SECRET\n";
        let start = text.find("SECRET").unwrap();
        let location = Locator::new(text.as_bytes()).locate(start, start + 6);
        assert_eq!(location, Location { line: 2, column: 3, end_line: 2, end_column: 8, offset: 4, in_binary: false });
    }

    #[test]
    fn line_bounds_respect_limits() {
        let text = b"first\nsecond line\nthird";
        assert_eq!(line_start(text, 9, 100), 6);
        assert_eq!(line_end(text, 9, 100), 17);
        assert_eq!(line_start(text, 9, 2), 7);
        assert_eq!(line_end(text, 9, 2), 11);
    }
}
