//! The pack reader against hand-made packs, hostile ones included.

use std::io::Write;

use super::*;

/// One entry of a hand-made pack: type code, declared size, base, payload.
struct Entry {
    oid: RawOid,
    type_code: u8,
    declared: u64,
    base: Base,
    payload: Vec<u8>,
}

enum Base {
    None,
    Offset(usize),
    Id(RawOid),
}

fn entry(fill: u8, type_code: u8, base: Base, payload: &[u8]) -> Entry {
    Entry { oid: [fill; 20], type_code, declared: payload.len() as u64, base, payload: payload.to_vec() }
}

fn delta(base_len: usize, result: &[u8]) -> Vec<u8> {
    // Sizes below 128 fit one byte each; one insert instruction.
    assert!(base_len < 128 && result.len() < 128);
    [vec![base_len as u8, result.len() as u8, result.len() as u8], result.to_vec()].concat()
}

/// Writes `pack-test.pack` and its version 2 index under `objects/pack`.
fn write_pack(entries: &[Entry]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let pack_dir = dir.path().join("pack");
    std::fs::create_dir(&pack_dir).unwrap();
    let mut pack = b"PACK".to_vec();
    pack.extend(2u32.to_be_bytes());
    pack.extend((entries.len() as u32).to_be_bytes());
    let mut offsets = Vec::new();
    for entry in entries {
        let offset = pack.len() as u64;
        offsets.push(offset);
        let mut size = entry.declared;
        let mut byte = (entry.type_code << 4) | (size & 15) as u8;
        size >>= 4;
        while size > 0 {
            pack.push(byte | 0x80);
            byte = (size & 127) as u8;
            size >>= 7;
        }
        pack.push(byte);
        match entry.base {
            Base::None => {}
            Base::Offset(index) => {
                let mut distance = offset - offsets[index];
                let mut bytes = vec![(distance & 127) as u8];
                distance >>= 7;
                while distance > 0 {
                    distance -= 1;
                    bytes.push(0x80 | (distance & 127) as u8);
                    distance >>= 7;
                }
                bytes.reverse();
                pack.extend(bytes);
            }
            Base::Id(oid) => pack.extend(oid),
        }
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&entry.payload).unwrap();
        pack.extend(encoder.finish().unwrap());
    }
    pack.extend([0u8; 20]);
    std::fs::write(pack_dir.join("pack-test.pack"), pack).unwrap();
    let mut sorted: Vec<(RawOid, u64)> = entries.iter().map(|entry| entry.oid).zip(offsets).collect();
    sorted.sort();
    let mut index = vec![0xff, b't', b'O', b'c', 0, 0, 0, 2];
    for bucket in 0..256u32 {
        let count = sorted.iter().filter(|(oid, _)| u32::from(oid[0]) <= bucket).count() as u32;
        index.extend(count.to_be_bytes());
    }
    sorted.iter().for_each(|(oid, _)| index.extend(oid));
    index.extend(std::iter::repeat_n(0u8, sorted.len() * 4));
    sorted.iter().for_each(|(_, offset)| index.extend((*offset as u32).to_be_bytes()));
    index.extend([0u8; 40]);
    std::fs::write(pack_dir.join("pack-test.idx"), index).unwrap();
    dir
}

#[derive(Default)]
struct Seen {
    objects: Vec<(RawOid, Kind, Vec<u8>)>,
    too_large: Vec<(RawOid, u64)>,
}

struct Recorder<'p>(&'p PackedObjects, Seen);

impl Visitor for Recorder<'_> {
    fn object(&mut self, id: NodeId, kind: Kind, data: &[u8]) {
        self.1.objects.push((*self.0.oid(id), kind, data.to_vec()));
    }
    fn too_large(&mut self, id: NodeId, size: u64) {
        self.1.too_large.push((*self.0.oid(id), size));
    }
}

/// Decodes every object, reading them one by one and, to the same result,
/// reading them ahead in runs.
fn decode(dir: &Path, max_size: u64) -> (PackedObjects, Seen) {
    let packed = PackedObjects::open(dir);
    let decode_with = |prefetch: bool| {
        let options = TraverseOptions { threads: 2, max_size, prefetch };
        let mut seen = Seen::default();
        for recorder in packed.traverse(|_, _| true, options, || Recorder(&packed, Seen::default())) {
            seen.objects.extend(recorder.1.objects);
            seen.too_large.extend(recorder.1.too_large);
        }
        seen.objects.sort_by_key(|object| object.0);
        seen.too_large.sort();
        seen
    };
    let seen = decode_with(false);
    let prefetched = decode_with(true);
    assert_eq!((&prefetched.objects, &prefetched.too_large), (&seen.objects, &seen.too_large));
    (packed, seen)
}

#[test]
fn deltas_by_offset_and_by_id_rebuild_their_objects() {
    let dir = write_pack(&[
        entry(1, 3, Base::None, b"base blob"),
        entry(2, OFS_DELTA, Base::Offset(0), &delta(9, b"by offset")),
        entry(3, REF_DELTA, Base::Id([2; 20]), &delta(9, b"by id, of a delta")),
        entry(4, 2, Base::None, b""),
    ]);
    let (packed, seen) = decode(dir.path(), u64::MAX);
    assert!(packed.problems.is_empty(), "{:?}", packed.problems);
    let objects: Vec<(u8, Kind, &[u8])> =
        seen.objects.iter().map(|(oid, kind, data)| (oid[0], *kind, &data[..])).collect();
    assert_eq!(
        objects,
        [
            (1, Kind::Blob, &b"base blob"[..]),
            (2, Kind::Blob, b"by offset"),
            (3, Kind::Blob, b"by id, of a delta"),
            (4, Kind::Tree, b"")
        ]
    );
}

#[test]
fn hostile_entries_are_left_out_without_stopping_the_rest() {
    let mut lying = entry(5, 3, Base::None, b"five bytes?");
    lying.declared = 5;
    let mut huge = entry(6, 3, Base::None, b"small");
    huge.declared = 1 << 40;
    let dir = write_pack(&[
        entry(1, 3, Base::None, b"fine"),
        // Two deltas whose bases are each other, and one whose base is in no pack.
        entry(2, REF_DELTA, Base::Id([3; 20]), &delta(4, b"loop")),
        entry(3, REF_DELTA, Base::Id([2; 20]), &delta(4, b"loop")),
        entry(4, REF_DELTA, Base::Id([9; 20]), &delta(4, b"orphan")),
        lying,
        huge,
        // A delta that copies past the end of its base.
        entry(7, OFS_DELTA, Base::Offset(0), &[4, 8, 0x80 | 0x10, 8]),
    ]);
    let (packed, seen) = decode(dir.path(), u64::MAX);
    assert_eq!(packed.kind(packed.id(&[2; 20]).unwrap()), None);
    let decoded: Vec<u8> = seen.objects.iter().map(|(oid, ..)| oid[0]).collect();
    assert_eq!(decoded, [1], "only the sound object is decoded");
    assert!(seen.too_large.is_empty());
    // Under a size limit, the huge object is reported without being inflated.
    let (_, limited) = decode(dir.path(), 1000);
    assert_eq!(limited.too_large, [([6; 20], 1 << 40)]);
}

#[test]
fn a_pack_that_does_not_match_its_index_is_left_out_and_named() {
    let dir = write_pack(&[entry(1, 3, Base::None, b"blob")]);
    let pack = dir.path().join("pack/pack-test.pack");
    let mut bytes = std::fs::read(&pack).unwrap();
    bytes[11] = 2; // claims two objects
    std::fs::write(&pack, bytes).unwrap();
    let (packed, seen) = decode(dir.path(), u64::MAX);
    assert!(packed.is_empty() && seen.objects.is_empty());
    assert!(packed.problems[0].to_string().contains("pack-test.pack: 2 objects, but its index lists 1"));
}
