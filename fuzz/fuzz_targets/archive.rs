//! Arbitrary bytes as archives (seeded with zip, tar and gzip files in
//! fuzz/corpus/archive): extraction never panics, never exceeds its budget,
//! and scanning the result terminates.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use keyhound::engine::Scanner;
use keyhound::finding::Origin;
use keyhound::rules::RuleSet;
use keyhound::source::archive::{detect, members, Member};
use keyhound::source::{ContentOptions, Worker};
use libfuzzer_sys::fuzz_target;

fn scanner() -> &'static Scanner {
    static SCANNER: OnceLock<Scanner> = OnceLock::new();
    SCANNER.get_or_init(|| Scanner::new(RuleSet::defaults().expect("built-in rules load")).expect("scanner builds"))
}

const BUDGET: u64 = 4 << 20;

fuzz_target!(|data: &[u8]| {
    if let Some(kind) = detect(data) {
        let mut budget = BUDGET;
        let mut total = 0u64;
        for member in members(kind, data, 1 << 20, &mut budget) {
            if let Member::Content(_, bytes) = &member {
                total += bytes.len() as u64;
            }
        }
        assert!(total <= BUDGET, "expanded {total} bytes past the budget");
    }
    let mut worker = Worker::new(scanner(), ContentOptions::new(1 << 20));
    worker.scan_content(data, &Origin::File(PathBuf::from("fuzz/archive.zip")));
});
