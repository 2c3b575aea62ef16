//! Commits parsed from their raw objects, as libgit2 would describe them:
//! used for commits decoded from the packs, so that the history walk does
//! not read them again. Only the canonical layout is parsed here; anything
//! else (a missing author, an odd signature) is left to libgit2.

use std::sync::Arc;

use crate::finding::CommitInfo;

use super::history::raw_oid;
use super::pack::RawOid;
use super::{format_time, lossy};

/// What the history walk needs of a commit.
#[derive(Debug, Clone)]
pub struct ParsedCommit {
    /// Author, date and summary.
    pub info: Arc<CommitInfo>,
    /// The message (as libgit2's `message_bytes`, decoded lossily).
    pub message: String,
    /// The root tree.
    pub tree: RawOid,
}

/// Parses a raw commit object with id `id` (hex); `None` if it is not in
/// the canonical layout.
pub fn parse(id: String, raw: &[u8]) -> Option<ParsedCommit> {
    let header_end = memchr::memmem::find(raw, b"\n\n");
    let (headers, raw_message) = match header_end {
        Some(end) => (&raw[..end], &raw[end + 2..]),
        None => (raw.strip_suffix(b"\n").unwrap_or(raw), &b""[..]),
    };
    let mut lines = headers.split(|&byte| byte == b'\n');
    let tree = parse_hex(lines.next()?.strip_prefix(b"tree ")?)?;
    let author = lines.find_map(|line| line.strip_prefix(b"author "))?;
    let (name, email, seconds, offset_minutes) = parse_signature(author)?;
    // libgit2 reads the message as a C string (up to a NUL) without its leading newlines.
    let message = raw_message.split(|&byte| byte == 0).next().unwrap_or_default();
    let message = &message[message.iter().take_while(|&&byte| byte == b'\n').count()..];
    let info = CommitInfo {
        id,
        author: lossy(name),
        email: lossy(email),
        date: format_time(seconds, offset_minutes),
        summary: lossy(&summary(message)),
    };
    Some(ParsedCommit { info: Arc::new(info), message: lossy(message), tree })
}

/// `Name <email> seconds +hhmm`, with exactly one `<` and one `>`.
fn parse_signature(line: &[u8]) -> Option<(&[u8], &[u8], i64, i32)> {
    let open = memchr::memchr(b'<', line)?;
    let close = memchr::memchr(b'>', line)?;
    if close < open || line.iter().filter(|&&byte| byte == b'<' || byte == b'>').count() != 2 {
        return None;
    }
    let name = line[..open].trim_ascii();
    let email = line[open + 1..close].trim_ascii();
    let rest = line[close + 1..].strip_prefix(b" ")?;
    let (time, zone) = rest.split_at(memchr::memchr(b' ', rest)?);
    let zone = zone.strip_prefix(b" ")?;
    if time.is_empty() || time.len() > 18 || !time.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let seconds: i64 = std::str::from_utf8(time).ok()?.parse().ok()?;
    let [sign @ (b'+' | b'-'), digits @ ..] = zone else { return None };
    if digits.len() != 4 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let number = |pair: &[u8]| i32::from(pair[0] - b'0') * 10 + i32::from(pair[1] - b'0');
    let minutes = number(&digits[..2]) * 60 + number(&digits[2..]);
    Some((name, email, seconds, if *sign == b'-' { -minutes } else { minutes }))
}

/// libgit2's summary: the first paragraph, each whitespace run that holds a
/// newline collapsed to one space, trailing whitespace dropped.
fn summary(message: &[u8]) -> Vec<u8> {
    let mut summary = Vec::new();
    let mut space: Option<(usize, bool)> = None;
    for (at, &byte) in message.iter().enumerate() {
        if byte == b'\n' && message.get(at + 1).is_none_or(|&next| next == b'\n') {
            break;
        }
        if matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
            let (start, newline) = space.unwrap_or((at, false));
            space = Some((start, newline || byte == b'\n'));
            continue;
        }
        if let Some((start, newline)) = space.take() {
            if newline {
                summary.push(b' ');
            } else {
                summary.extend_from_slice(&message[start..at]);
            }
        }
        summary.push(byte);
    }
    summary
}

/// A full 40-digit hex object id (libgit2 also accepts abbreviations, which a commit never holds).
fn parse_hex(text: &[u8]) -> Option<RawOid> {
    let text = std::str::from_utf8(text).ok().filter(|text| text.len() == 40)?;
    git2::Oid::from_str(text).ok().map(raw_oid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_follow_libgit2() {
        let cases: [(&[u8], &[u8]); 6] = [
            (b"subject\n\nbody", b"subject"),
            (b"two\nlines\n\nbody", b"two lines"),
            (b"  spaced   words \n", b"  spaced   words"),
            (b"tab\t\there\r\n", b"tab\t\there"),
            (b"", b""),
            (b"one line", b"one line"),
        ];
        for (message, expected) in cases {
            assert_eq!(summary(message), expected, "{:?}", String::from_utf8_lossy(message));
        }
    }

    #[test]
    fn odd_signatures_are_left_to_libgit2() {
        assert!(parse_signature(b"Dev <dev@example.com> 1700000000 +0130").is_some());
        assert_eq!(parse_signature(b"Dev <dev@example.com> 1700000000 -0130").map(|s| s.3), Some(-90));
        for odd in [&b"Dev <a<b> 1 +0000"[..], b"Dev dev@example.com 1 +0000", b"Dev <d> x +0000", b"Dev <d> 1 0000"] {
            assert!(parse_signature(odd).is_none(), "{}", String::from_utf8_lossy(odd));
        }
    }
}
