//! Arbitrary bytes through every built-in rule: no panic, every finding
//! points inside the input at a secret that is really there, and the fast
//! path (rules on the lines around their keywords) finds exactly what the
//! whole-input reference finds.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use keyhound::engine::{Input, Match, Scanner};
use keyhound::finding::Origin;
use keyhound::rules::RuleSet;
use keyhound::source::{ContentOptions, Worker};
use libfuzzer_sys::fuzz_target;

fn scanner() -> &'static Scanner {
    static SCANNER: OnceLock<Scanner> = OnceLock::new();
    SCANNER.get_or_init(|| Scanner::new(RuleSet::defaults().expect("built-in rules load")).expect("scanner builds"))
}

fn matches(data: &[u8], whole: bool) -> Vec<(usize, std::ops::Range<usize>)> {
    let scanner = scanner();
    let mut scratch = scanner.scratch();
    let mut out: Vec<Match> = Vec::new();
    let input = Input { bytes: data, path: Some("fuzz/input.env"), commit: None, binary: false };
    if whole {
        scanner.scan_whole(input, &mut scratch, &mut out);
    } else {
        scanner.scan(input, &mut scratch, &mut out);
    }
    let mut found: Vec<_> = out.into_iter().map(|found| (found.rule, found.secret)).collect();
    found.sort_by_key(|(rule, secret)| (*rule, secret.start, secret.end));
    found.dedup();
    found
}

fuzz_target!(|data: &[u8]| {
    // Lines over the engine's 1 KiB line window are searched in windows, which
    // the whole-input reference does not do: compare only inputs without them.
    if data.split(|&byte| byte == b'\n' || byte == b'\r').all(|line| line.len() < 1000) {
        assert_eq!(matches(data, false), matches(data, true), "fast path and reference differ");
    }
    let options = ContentOptions::new(1 << 20);
    let mut worker = Worker::new(scanner(), options);
    worker.scan_content(data, &Origin::File(PathBuf::from("fuzz/input.env")));
    for finding in &worker.results.findings {
        let secret = finding.secret.expose().as_bytes();
        assert!(!secret.is_empty(), "{}: empty secret", finding.rule_id);
        assert!(finding.location.offset <= data.len(), "{}: offset past the input", finding.rule_id);
        assert!(finding.location.line >= 1 || finding.location.in_binary, "{}: line 0", finding.rule_id);
        if !finding.location.in_binary {
            assert!(
                data.windows(secret.len()).any(|window| window == secret),
                "{}: the secret is not in the input",
                finding.rule_id
            );
        }
    }
});
