//! Arbitrary text as a keyhound rule file: loading either fails with an error
//! or gives rules that compile into a scanner that can scan.
#![no_main]

use keyhound::engine::Scanner;
use keyhound::finding::Origin;
use keyhound::rules::load::load_rule_str;
use keyhound::source::{ContentOptions, Worker};
use libfuzzer_sys::fuzz_target;

const SAMPLE: &[u8] = b"DEEPSEEK_API_KEY=sk-64cf339f875dfaf8d189e48f1f0ee868\ntoken = \"tok_abcdef0123456789\"\n";

fuzz_target!(|text: &str| {
    let Ok(rules) = load_rule_str(text, "fuzz.toml") else { return };
    let Ok(scanner) = Scanner::new(rules) else { return };
    let mut worker = Worker::new(&scanner, ContentOptions::new(1 << 20));
    worker.scan_content(SAMPLE, &Origin::File("sample.env".into()));
    let _ = scanner.broken_rules();
});
