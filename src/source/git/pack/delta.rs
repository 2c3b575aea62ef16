//! Git's delta format: an object rebuilt from a base object by copying
//! ranges of the base and inserting literal bytes.

/// Rebuilds an object from `base` and `delta` into `out` (cleared first).
/// Every instruction is bounds-checked: a corrupt or hostile delta is an
/// error, never a panic or an over-sized allocation.
pub fn apply(base: &[u8], delta: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let mut at = 0;
    let base_size = varint(delta, &mut at)?;
    if base_size != base.len() as u64 {
        return Err(format!("delta expects a {base_size}-byte base, the base has {} bytes", base.len()));
    }
    let result_size = varint(delta, &mut at)?;
    // Each instruction byte yields at most 64 KiB, which bounds what is
    // reserved up front whatever the header claims.
    let bound = (delta.len() as u64).saturating_mul(0x10000);
    if result_size > bound {
        return Err(format!("delta claims a {result_size}-byte result from {} bytes of instructions", delta.len()));
    }
    out.clear();
    out.reserve(result_size as usize);
    while at < delta.len() {
        let op = delta[at];
        at += 1;
        if op & 0x80 != 0 {
            let mut offset = 0usize;
            let mut size = 0usize;
            for bit in 0..4 {
                if op & (1 << bit) != 0 {
                    offset |= usize::from(*delta.get(at).ok_or("truncated copy instruction")?) << (8 * bit);
                    at += 1;
                }
            }
            for bit in 0..3 {
                if op & (0x10 << bit) != 0 {
                    size |= usize::from(*delta.get(at).ok_or("truncated copy instruction")?) << (8 * bit);
                    at += 1;
                }
            }
            if size == 0 {
                size = 0x10000;
            }
            let range = base
                .get(offset..offset.checked_add(size).ok_or("copy range overflows")?)
                .ok_or_else(|| format!("copy of {size} bytes at {offset} past a {}-byte base", base.len()))?;
            out.extend_from_slice(range);
        } else if op != 0 {
            let literal = delta.get(at..at + usize::from(op)).ok_or("truncated insert instruction")?;
            out.extend_from_slice(literal);
            at += usize::from(op);
        } else {
            return Err("reserved delta instruction 0".into());
        }
        if out.len() as u64 > result_size {
            return Err(format!("delta produces more than its declared {result_size} bytes"));
        }
    }
    if out.len() as u64 != result_size {
        return Err(format!("delta produced {} bytes, declared {result_size}", out.len()));
    }
    Ok(())
}

/// The size of the object a delta builds, from its header.
pub fn result_size(delta: &[u8]) -> Result<u64, String> {
    let mut at = 0;
    varint(delta, &mut at)?;
    varint(delta, &mut at)
}

/// Reads a delta header's little-endian base-128 size.
fn varint(bytes: &[u8], at: &mut usize) -> Result<u64, String> {
    let mut value = 0u64;
    let mut shift = 0;
    loop {
        let byte = *bytes.get(*at).ok_or("truncated delta header")?;
        *at += 1;
        if shift > 63 {
            return Err("delta header size overflows".into());
        }
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(base: usize, result: usize) -> Vec<u8> {
        let mut bytes = Vec::new();
        for mut value in [base, result] {
            loop {
                let byte = (value & 0x7f) as u8;
                value >>= 7;
                if value == 0 {
                    bytes.push(byte);
                    break;
                }
                bytes.push(byte | 0x80);
            }
        }
        bytes
    }

    #[test]
    fn copies_and_inserts() {
        let base = b"hello, world of deltas";
        let mut delta = header(base.len(), 12);
        delta.extend([0x80 | 0x01 | 0x10, 7, 5]); // copy 5 bytes from offset 7: "world"
        delta.extend([3, b' ', b'i', b's']); // insert " is"
        delta.extend([0x80 | 0x10, 4]); // copy 4 bytes from offset 0: "hell"
        let mut out = Vec::new();
        apply(base, &delta, &mut out).unwrap();
        assert_eq!(out, b"world ishell");
    }

    #[test]
    fn a_copy_of_size_zero_means_64_kib() {
        let base = vec![7u8; 0x10000];
        let mut delta = header(base.len(), 0x10000);
        delta.push(0x80);
        let mut out = Vec::new();
        apply(&base, &delta, &mut out).unwrap();
        assert_eq!(out, base);
    }

    #[test]
    fn rejects_corrupt_deltas() {
        let base = b"0123456789";
        let mut out = Vec::new();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            ([header(9, 1), vec![1, b'x']].concat(), "base"),
            ([header(10, 4), vec![0x80 | 0x01 | 0x10, 8, 4]].concat(), "past"),
            ([header(10, 2), vec![3, b'a']].concat(), "truncated"),
            ([header(10, 1), vec![0]].concat(), "reserved"),
            ([header(10, 1), vec![2, b'a', b'b']].concat(), "more than"),
            ([header(10, 5), vec![1, b'a']].concat(), "produced 1"),
            ([header(10, usize::MAX >> 8), vec![1, b'a']].concat(), "claims"),
            (vec![0xff; 12], "overflows"),
        ];
        for (delta, expected) in cases {
            let error = apply(base, &delta, &mut out).unwrap_err();
            assert!(error.contains(expected), "{error:?} should mention {expected:?}");
        }
    }
}
