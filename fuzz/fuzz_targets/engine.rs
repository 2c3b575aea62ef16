//! Arbitrary bytes through every built-in rule: no panic, and every finding
//! points inside the input at a secret that is really there.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use keyhound::engine::Scanner;
use keyhound::finding::Origin;
use keyhound::rules::RuleSet;
use keyhound::source::{ContentOptions, Worker};
use libfuzzer_sys::fuzz_target;

fn scanner() -> &'static Scanner {
    static SCANNER: OnceLock<Scanner> = OnceLock::new();
    SCANNER.get_or_init(|| Scanner::new(RuleSet::defaults().expect("built-in rules load")).expect("scanner builds"))
}

fuzz_target!(|data: &[u8]| {
    let options = ContentOptions { max_size: 1 << 20, scan_binary: true };
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
