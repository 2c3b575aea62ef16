//! Arbitrary findings (hostile paths, rule ids, secrets with control
//! characters and quotes) through every report writer: JSON, JSONL and SARIF
//! stay valid JSON, CSV parses, JUnit is well-formed XML, and no full secret
//! appears in a redacted report.
#![no_main]

use arbitrary::Arbitrary;
use keyhound::finding::{Confidence, Finding, Fingerprint, Location, Origin, Redaction, Secret};
use keyhound::report::{write_report, Format, RenderOptions, Report};
use keyhound::rules::RuleSet;
use keyhound::stats::ScanStats;
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Raw {
    rule_id: String,
    description: String,
    path: String,
    secret: String,
    line_text: String,
    line: u16,
    column: u16,
    confidence: u8,
}

fn finding(raw: &Raw) -> Finding {
    let secret = format!("K{}Z", raw.secret); // never empty
    let line = format!("{}{secret}", raw.line_text);
    Finding {
        rule_id: raw.rule_id.clone(),
        description: raw.description.clone(),
        origin: Origin::File(raw.path.clone().into()),
        location: Location {
            line: usize::from(raw.line) + 1,
            column: usize::from(raw.column) + 1,
            end_line: usize::from(raw.line) + 1,
            end_column: usize::from(raw.column) + 2,
            offset: 0,
            in_binary: false,
        },
        secret: Secret::new(secret.clone()),
        matched: Secret::new(secret.clone()),
        line: Secret::new(line),
        entropy: 3.5,
        confidence: [Confidence::Low, Confidence::Medium, Confidence::High][usize::from(raw.confidence % 3)],
        tags: vec!["fuzz".into()],
        also_matched: vec![],
        decoded: None,
        fingerprint: Fingerprint::compute(&raw.rule_id, &raw.path, &secret),
        verification: None,
    }
}

fuzz_target!(|raws: Vec<Raw>| {
    let rules = RuleSet::default();
    let mut findings: Vec<Finding> = raws.iter().take(8).map(finding).collect();
    keyhound::report::mask::mask_secrets(&mut findings, Redaction::Prefix);
    let stats = ScanStats::default();
    let report = Report { findings: &findings, stats: &stats, rules: &rules };
    let options = RenderOptions { redaction: Redaction::Prefix, color: false };
    for format in [Format::Human, Format::Json, Format::Jsonl, Format::Sarif, Format::Csv, Format::Junit] {
        let mut out = Vec::new();
        write_report(format, &report, options, &mut out).expect("writing to memory succeeds");
        let text = String::from_utf8(out).expect("reports are UTF-8");
        match format {
            Format::Json | Format::Sarif => {
                serde_json::from_str::<serde_json::Value>(&text).expect("valid JSON");
            }
            Format::Jsonl => {
                for line in text.lines() {
                    serde_json::from_str::<serde_json::Value>(line).expect("valid JSON line");
                }
            }
            Format::Csv => {
                let mut reader = csv::Reader::from_reader(text.as_bytes());
                assert_eq!(reader.records().filter(|record| record.is_ok()).count(), findings.len());
            }
            Format::Junit => {
                roxmltree::Document::parse(&text).expect("well-formed XML");
            }
            Format::Human => {}
        }
        for raw in &raws {
            let secret = format!("K{}Z", raw.secret);
            let shown_elsewhere = raws.iter().any(|other| {
                other.path.contains(&secret) || other.rule_id.contains(&secret) || other.description.contains(&secret)
            });
            if secret.chars().count() >= 12 && !shown_elsewhere {
                assert!(!text.contains(&secret), "{format:?} holds a full secret");
            }
        }
    }
});
