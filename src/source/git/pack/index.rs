//! Pack index files (`.idx`, versions 1 and 2): the object ids a pack holds
//! and where each object starts in the pack.

use std::path::Path;

use super::PackError;

/// An object id (SHA-1).
pub type RawOid = [u8; 20];

/// The objects of one pack, as its index lists them.
#[derive(Debug, Default)]
pub struct PackIndex {
    /// Object ids, in the index's (sorted) order.
    pub oids: Vec<RawOid>,
    /// The offset of each object in the pack, in the same order as `oids`.
    pub offsets: Vec<u64>,
}

const V2_MAGIC: [u8; 4] = [0xff, b't', b'O', b'c'];
const FANOUT_BYTES: usize = 256 * 4;
const TRAILER_BYTES: usize = 2 * 20;

impl PackIndex {
    /// Reads and checks the index file at `path`.
    pub fn read(path: &Path) -> Result<PackIndex, PackError> {
        let bytes = std::fs::read(path).map_err(|source| PackError::Io { path: path.to_path_buf(), source })?;
        Self::parse(&bytes).map_err(|what| PackError::Corrupt { path: path.to_path_buf(), what })
    }

    /// Parses an index file's bytes.
    pub fn parse(bytes: &[u8]) -> Result<PackIndex, String> {
        if bytes.starts_with(&V2_MAGIC) {
            let version = be32(bytes, 4).ok_or("truncated header")?;
            if version != 2 {
                return Err(format!("unsupported index version {version}"));
            }
            Self::parse_v2(&bytes[8..])
        } else {
            Self::parse_v1(bytes)
        }
    }

    fn parse_v2(bytes: &[u8]) -> Result<PackIndex, String> {
        let count = object_count(bytes)?;
        let oids_at = FANOUT_BYTES;
        let offsets_at = oids_at + count * (20 + 4);
        let large_at = offsets_at + count * 4;
        let minimum = large_at + TRAILER_BYTES;
        if bytes.len() < minimum || (bytes.len() - minimum) % 8 != 0 {
            // SHA-256 repositories have 32-byte ids and land here too.
            return Err(format!("{} bytes do not fit {count} objects with 20-byte ids", bytes.len() + 8));
        }
        let large_count = (bytes.len() - minimum) / 8;
        let mut index = PackIndex { oids: Vec::with_capacity(count), offsets: Vec::with_capacity(count) };
        for position in 0..count {
            let at = oids_at + position * 20;
            index.oids.push(bytes[at..at + 20].try_into().expect("20 bytes"));
            let small = be32(bytes, offsets_at + position * 4).expect("bounds checked above");
            let offset = if small & 0x8000_0000 == 0 {
                u64::from(small)
            } else {
                let large = (small & 0x7fff_ffff) as usize;
                if large >= large_count {
                    return Err(format!("object {position} points past the large-offset table"));
                }
                be64(bytes, large_at + large * 8).expect("bounds checked above")
            };
            index.offsets.push(offset);
        }
        Ok(index)
    }

    fn parse_v1(bytes: &[u8]) -> Result<PackIndex, String> {
        let count = object_count(bytes)?;
        let expected = FANOUT_BYTES + count * 24 + TRAILER_BYTES;
        if bytes.len() != expected {
            return Err(format!("{} bytes, expected {expected} for {count} objects", bytes.len()));
        }
        let mut index = PackIndex { oids: Vec::with_capacity(count), offsets: Vec::with_capacity(count) };
        for position in 0..count {
            let at = FANOUT_BYTES + position * 24;
            index.offsets.push(u64::from(be32(bytes, at).expect("bounds checked above")));
            index.oids.push(bytes[at + 4..at + 24].try_into().expect("20 bytes"));
        }
        Ok(index)
    }
}

/// The object count from the fanout table (its last entry), after checking
/// that the table never decreases.
fn object_count(bytes: &[u8]) -> Result<usize, String> {
    let mut previous = 0;
    for bucket in 0..256 {
        let count = be32(bytes, bucket * 4).ok_or("truncated fanout table")?;
        if count < previous {
            return Err("the fanout table decreases".into());
        }
        previous = count;
    }
    Ok(previous as usize)
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn be64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2(objects: &[(RawOid, u64)]) -> Vec<u8> {
        let mut sorted = objects.to_vec();
        sorted.sort();
        let mut bytes = V2_MAGIC.to_vec();
        bytes.extend(2u32.to_be_bytes());
        for bucket in 0..256u32 {
            let count = sorted.iter().filter(|(oid, _)| u32::from(oid[0]) <= bucket).count() as u32;
            bytes.extend(count.to_be_bytes());
        }
        for (oid, _) in &sorted {
            bytes.extend(oid);
        }
        bytes.extend(std::iter::repeat_n(0u8, sorted.len() * 4));
        let mut large = Vec::new();
        for (_, offset) in &sorted {
            if *offset < 0x8000_0000 {
                bytes.extend((*offset as u32).to_be_bytes());
            } else {
                bytes.extend((0x8000_0000 | large.len() as u32).to_be_bytes());
                large.push(*offset);
            }
        }
        for offset in large {
            bytes.extend(offset.to_be_bytes());
        }
        bytes.extend([0u8; 40]);
        bytes
    }

    #[test]
    fn reads_version_2_with_large_offsets() {
        let objects = [([1u8; 20], 12), ([0xab; 20], 5_000_000_000), ([0x02; 20], 99)];
        let index = PackIndex::parse(&v2(&objects)).unwrap();
        assert_eq!(index.oids, vec![[1u8; 20], [2; 20], [0xab; 20]]);
        assert_eq!(index.offsets, vec![12, 99, 5_000_000_000]);
    }

    #[test]
    fn rejects_truncated_and_inconsistent_files() {
        let good = v2(&[([1u8; 20], 12), ([2u8; 20], 40)]);
        assert!(PackIndex::parse(&good[..good.len() - 1]).is_err());
        assert!(PackIndex::parse(&good[..100]).is_err());
        let mut decreasing = good.clone();
        decreasing[8 + 4 * 200..8 + 4 * 201].copy_from_slice(&0u32.to_be_bytes());
        assert!(PackIndex::parse(&decreasing).unwrap_err().contains("fanout"));
        let mut version_3 = good;
        version_3[7] = 3;
        assert!(PackIndex::parse(&version_3).unwrap_err().contains("version 3"));
    }

    #[test]
    fn reads_version_1() {
        let mut bytes = Vec::new();
        for bucket in 0..256u32 {
            bytes.extend(u32::from(bucket >= 7).to_be_bytes());
        }
        bytes.extend(77u32.to_be_bytes());
        bytes.extend([7u8; 20]);
        bytes.extend([0u8; 40]);
        let index = PackIndex::parse(&bytes).unwrap();
        assert_eq!((index.oids, index.offsets), (vec![[7u8; 20]], vec![77]));
    }
}
