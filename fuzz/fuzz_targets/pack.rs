//! Arbitrary bytes as pack indexes, deltas and packs: the pack reader never
//! panics, never hangs, and never hands out an object of the wrong size.
//!
//! The first byte picks what the rest is: 0 an index file; 1 a base and a
//! delta (the next byte is the base's length); otherwise a pack file whose index lists up to 16 objects at
//! offsets taken from the input.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use keyhound::source::git::pack::delta::{apply, result_size};
use keyhound::source::git::pack::index::PackIndex;
use keyhound::source::git::pack::{Kind, PackedObjects, TraverseOptions, Visitor};
use libfuzzer_sys::fuzz_target;

fn objects_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("keyhound-fuzz-pack-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("pack")).expect("temp dir");
        dir
    })
}

struct Check;

impl Visitor for Check {
    fn object(&mut self, _: u32, _: Kind, data: &[u8]) {
        assert!(data.len() <= 1 << 30);
    }
    fn too_large(&mut self, _: u32, size: u64) {
        assert!(size > 1 << 16);
    }
}

fn index_for(offsets: &[u32]) -> Vec<u8> {
    let mut index = vec![0xff, b't', b'O', b'c', 0, 0, 0, 2];
    // Object i has an id filled with byte i: sorted, one per fanout bucket.
    for bucket in 0..256usize {
        index.extend((offsets.len().min(bucket + 1) as u32).to_be_bytes());
    }
    for number in 0..offsets.len() {
        index.extend([number as u8; 20]);
    }
    index.extend(std::iter::repeat_n(0u8, offsets.len() * 4));
    for offset in offsets {
        index.extend(offset.to_be_bytes());
    }
    index.extend([0u8; 40]);
    index
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    match mode {
        0 => {
            if let Ok(index) = PackIndex::parse(rest) {
                assert_eq!(index.oids.len(), index.offsets.len());
            }
        }
        1 => {
            let Some((&at, rest)) = rest.split_first() else { return };
            let (base, delta) = rest.split_at(usize::from(at).min(rest.len()));
            let mut out = Vec::new();
            if apply(base, delta, &mut out).is_ok() {
                assert_eq!(Ok(out.len() as u64), result_size(delta));
            }
        }
        _ => {
            let count = usize::from(mode % 16) + 1;
            if rest.len() < count * 2 {
                return;
            }
            let (offsets, body) = rest.split_at(count * 2);
            let offsets: Vec<u32> =
                offsets.chunks(2).map(|pair| 12 + u32::from(u16::from_le_bytes([pair[0], pair[1]]))).collect();
            let mut pack = b"PACK\0\0\0\x02".to_vec();
            pack.extend((count as u32).to_be_bytes());
            pack.extend(body);
            pack.extend([0u8; 20]);
            let dir = objects_dir();
            std::fs::write(dir.join("pack/pack-fuzz.pack"), pack).expect("write pack");
            std::fs::write(dir.join("pack/pack-fuzz.idx"), index_for(&offsets)).expect("write index");
            let packed = PackedObjects::open(dir);
            let options = TraverseOptions { threads: 1, max_size: 1 << 16, prefetch: data.len() % 2 == 0 };
            packed.traverse(|_, _| true, options, || Check);
        }
    }
});
