//! Archives (zip, tar, gzip) opened in memory, never unpacked to disk: each
//! member is handed back to the worker as content of its own, up to a nesting
//! depth, with per-member and per-archive size limits against decompression
//! bombs. Member names are only labels: nothing is ever written or followed.

use std::io::{Cursor, Read};

/// Archives inside archives are opened up to this depth by default
/// (`--max-archive-depth`); a deeper archive is skipped and reported.
pub const DEFAULT_MAX_DEPTH: usize = 3;
/// Total bytes one top-level archive may expand to.
pub const MAX_TOTAL_EXPANDED: u64 = 256 << 20;
/// Most a compressed member may expand relative to its compressed size
/// (ordinary text compresses 3-10x; bombs 1000x and more)...
pub const MAX_RATIO: u64 = 100;
/// ...once it is past this size (tiny members may compress well).
const RATIO_FLOOR: u64 = 1 << 20;

/// The container formats keyhound opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// PKZIP (also jar, apk, whl, docx...).
    Zip,
    /// gzip (a single compressed stream, often a tar).
    Gzip,
    /// POSIX tar.
    Tar,
}

/// Recognises an archive by its magic bytes.
pub fn detect(bytes: &[u8]) -> Option<Kind> {
    if bytes.starts_with(b"PK\x03\x04") {
        Some(Kind::Zip)
    } else if bytes.starts_with(&[0x1f, 0x8b]) {
        Some(Kind::Gzip)
    } else if bytes.len() > 262 && &bytes[257..262] == b"ustar" {
        Some(Kind::Tar)
    } else {
        None
    }
}

/// One member of an archive, or why it was not read.
#[derive(Debug)]
pub enum Member {
    /// The member's name and content.
    Content(String, Vec<u8>),
    /// A member skipped for its size (name, detail).
    TooLarge(String, String),
    /// A member or archive that could not be read (name, detail).
    Unreadable(String, String),
    /// Bytes after the end of a compressed stream that are not another
    /// stream (name, detail): what came before was scanned.
    TrailingData(String, String),
}

/// Reads the members of an archive of `kind` one at a time, handing each to
/// `visit` before the next is read (so one member per nesting level is in
/// memory, not the whole archive). Each member is limited to `max_member`
/// bytes, and all of them together to `budget` bytes (which is decreased by
/// what is read); `visit` gets the budget back to open nested archives.
pub fn for_each_member(
    kind: Kind,
    bytes: &[u8],
    max_member: u64,
    budget: &mut u64,
    visit: &mut dyn FnMut(Member, &mut u64),
) {
    match kind {
        Kind::Zip => zip_members(bytes, max_member, budget, visit),
        Kind::Tar => tar_members(bytes, max_member, budget, visit),
        Kind::Gzip => {
            let limit = max_member.min(ratio_limit(bytes.len() as u64));
            let (member, trailing) = gzip_member(bytes, limit, budget);
            visit(member, budget);
            if let Some(detail) = trailing {
                visit(Member::TrailingData(String::new(), detail), budget);
            }
        }
    }
}

/// Every member of an archive at once (tests and small archives).
pub fn members(kind: Kind, bytes: &[u8], max_member: u64, budget: &mut u64) -> Vec<Member> {
    let mut all = Vec::new();
    for_each_member(kind, bytes, max_member, budget, &mut |member, _| all.push(member));
    all
}

/// Reads at most `limit` bytes; `None` if there is more.
fn read_limited(reader: impl Read, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut content = Vec::new();
    reader.take(limit.saturating_add(1)).read_to_end(&mut content)?;
    Ok((content.len() as u64 <= limit).then_some(content))
}

fn zip_members(bytes: &[u8], max_member: u64, budget: &mut u64, visit: &mut dyn FnMut(Member, &mut u64)) {
    let mut archive = match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(archive) => archive,
        Err(err) => return visit(Member::Unreadable(String::new(), format!("corrupt zip archive: {err}")), budget),
    };
    for index in 0..archive.len() {
        let file = match archive.by_index(index) {
            Ok(file) => file,
            Err(err) => {
                visit(Member::Unreadable(format!("#{index}"), err.to_string()), budget);
                continue;
            }
        };
        if file.is_dir() {
            continue;
        }
        let name = String::from_utf8_lossy(file.name_raw()).into_owned();
        let limit = match file.compression() {
            zip::CompressionMethod::Stored => max_member,
            _ => max_member.min(ratio_limit(file.compressed_size())),
        };
        let member = read_member(name, file, limit, budget);
        visit(member, budget);
    }
}

/// Decompresses every gzip stream of `bytes` (a file may hold several, one
/// after the other) as one member. Bytes after the last stream that are not
/// another stream are reported (`gzip -d` warns "trailing garbage ignored")
/// instead of making the whole file unreadable.
fn gzip_member(bytes: &[u8], limit: u64, budget: &mut u64) -> (Member, Option<String>) {
    let limit = limit.min(*budget);
    let mut content = Vec::new();
    let mut rest = bytes;
    let mut trailing = None;
    while !rest.is_empty() {
        if !rest.starts_with(&[0x1f, 0x8b]) {
            trailing = Some(format!("{} bytes after the gzip data were not decompressed", rest.len()));
            break;
        }
        let room = (limit + 1).saturating_sub(content.len() as u64);
        let mut decoder = flate2::bufread::GzDecoder::new(rest);
        let read = (&mut decoder).take(room).read_to_end(&mut content);
        match read {
            Err(err) if content.is_empty() => return (Member::Unreadable(String::new(), err.to_string()), None),
            Err(err) => {
                trailing =
                    Some(format!("the data after the first {} decompressed bytes is corrupt: {err}", content.len()));
                break;
            }
            Ok(_) if content.len() as u64 > limit => {
                let detail = format!(
                    "expands past {limit} bytes (the size limit, or {MAX_RATIO}x its compressed size: a decompression bomb?)"
                );
                return (Member::TooLarge(String::new(), detail), None);
            }
            Ok(_) => {}
        }
        let remaining = decoder.into_inner();
        if remaining.len() == rest.len() {
            break; // nothing consumed: no progress possible
        }
        rest = remaining;
    }
    *budget -= content.len() as u64;
    (Member::Content(String::new(), content), trailing)
}

/// The most a member compressed to `compressed` bytes may expand to.
fn ratio_limit(compressed: u64) -> u64 {
    compressed.saturating_mul(MAX_RATIO).max(RATIO_FLOOR)
}

/// Reads one member within the per-member limit and the remaining budget.
fn read_member(name: String, reader: impl Read, max_member: u64, budget: &mut u64) -> Member {
    let limit = max_member.min(*budget);
    match read_limited(reader, limit) {
        Ok(Some(content)) => {
            *budget -= content.len() as u64;
            Member::Content(name, content)
        }
        Ok(None) => Member::TooLarge(
            name,
            format!("expands past {limit} bytes (the size limit, or {MAX_RATIO}x its compressed size: a decompression bomb?)"),
        ),
        Err(err) => Member::Unreadable(name, err.to_string()),
    }
}

fn tar_members(bytes: &[u8], max_member: u64, budget: &mut u64, visit: &mut dyn FnMut(Member, &mut u64)) {
    let mut archive = tar::Archive::new(bytes);
    let entries = match archive.entries() {
        Ok(entries) => entries,
        Err(err) => return visit(Member::Unreadable(String::new(), format!("corrupt tar archive: {err}")), budget),
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                visit(Member::Unreadable(String::new(), format!("corrupt tar entry: {err}")), budget);
                break;
            }
        };
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let limit = max_member.min(*budget);
        if entry.size() > limit {
            visit(Member::TooLarge(name, format!("{} bytes; the limit is {limit}", entry.size())), budget);
            continue;
        }
        let member = read_member(name, entry, max_member, budget);
        visit(member, budget);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, content) in files {
            writer.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            writer.write_all(content).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn zip_members_are_read_with_their_names() {
        let bytes = zip_of(&[("../../etc/evil.txt", b"hello"), ("a/b.txt", b"world")]);
        assert_eq!(detect(&bytes), Some(Kind::Zip));
        let mut budget = 1 << 20;
        let members = members(Kind::Zip, &bytes, 1024, &mut budget);
        let names: Vec<&str> = members
            .iter()
            .map(|member| match member {
                Member::Content(name, _) => name.as_str(),
                _ => "?",
            })
            .collect();
        assert_eq!(names, ["../../etc/evil.txt", "a/b.txt"], "names are labels only, never paths written to");
    }

    #[test]
    fn a_decompression_bomb_is_cut_at_the_limit() {
        let bytes = zip_of(&[("zeros", &vec![0u8; 4 << 20])]);
        assert!(bytes.len() < 64 << 10, "compresses well");
        let mut budget = 1 << 30;
        let members = members(Kind::Zip, &bytes, 1 << 20, &mut budget);
        assert!(matches!(&members[0], Member::TooLarge(name, _) if name == "zeros"));
    }

    #[test]
    fn a_bomb_is_cut_by_its_ratio_even_under_a_large_size_limit() {
        let bytes = zip_of(&[("zeros", &vec![0u8; 16 << 20])]);
        let mut budget = 1 << 30;
        let zipped = members(Kind::Zip, &bytes, 1 << 30, &mut budget);
        assert!(
            matches!(&zipped[0], Member::TooLarge(_, detail) if detail.contains("decompression bomb")),
            "{zipped:?}"
        );
        assert!(budget == 1 << 30, "nothing of it was kept");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![b'a'; 16 << 20]).unwrap();
        let gz = gz.finish().unwrap();
        assert!(matches!(&members(Kind::Gzip, &gz, 1 << 30, &mut budget)[0], Member::TooLarge(..)));
    }

    #[test]
    fn gzip_and_tar_are_recognised_and_corruption_is_reported() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"inner text").unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(detect(&gz), Some(Kind::Gzip));
        let mut budget = 1 << 20;
        assert!(matches!(&members(Kind::Gzip, &gz, 1024, &mut budget)[0], Member::Content(_, c) if c == b"inner text"));
        assert!(matches!(&members(Kind::Gzip, &gz[..10], 1024, &mut budget)[0], Member::Unreadable(..)));

        // Bytes after the stream (which `gzip -d` ignores with a warning): the stream is still read.
        let mut padded = gz.clone();
        padded.extend_from_slice(b"\0\0\0\0garbage after the end");
        let read = members(Kind::Gzip, &padded, 1024, &mut budget);
        assert!(matches!(&read[0], Member::Content(_, c) if c == b"inner text"), "{read:?}");
        assert!(matches!(&read[1], Member::TrailingData(_, detail) if detail.contains("bytes after")), "{read:?}");
        // Two streams one after the other are one member.
        let twice = [gz.clone(), gz.clone()].concat();
        assert!(
            matches!(&members(Kind::Gzip, &twice, 1024, &mut budget)[0], Member::Content(_, c) if c == b"inner textinner text")
        );

        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(5);
        header.set_cksum();
        tar.append_data(&mut header, "x/y.env", &b"hello"[..]).unwrap();
        let tar = tar.into_inner().unwrap();
        assert_eq!(detect(&tar), Some(Kind::Tar));
        assert!(
            matches!(&members(Kind::Tar, &tar, 1024, &mut budget)[0], Member::Content(name, _) if name == "x/y.env")
        );
    }
}
