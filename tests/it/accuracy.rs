//! Accuracy benchmark: `scripts/gen-labeled.py` writes a labeled corpus
//! (fresh keys made from every rule's examples, planted in files of some 30
//! formats, next to decoys: every rule's negative examples, UUIDs, hashes,
//! lock files, placeholders, documentation keys); the built binary scans it and
//! `scripts/score-labeled.py` scores the report. Recall and precision must
//! reach the thresholds overall and for every provider.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::keyhound;

const MIN_RECALL: f64 = 0.98;
const MIN_PRECISION: f64 = 0.97;

/// Runs a script of `scripts/` with python3 from the repository root.
fn python(script: &str, args: &[&OsStr]) -> Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new("python3")
        .current_dir(root)
        .arg(Path::new("scripts").join(script))
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("run python3 scripts/{script} (python3 is needed for this test): {err}"));
    assert!(
        output.status.success(),
        "scripts/{script} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// "name: recall 97.1% < 98%"-style complaints about one row of the scores.
fn below_thresholds(name: &str, row: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let checks = [("recall", MIN_RECALL), ("precision", MIN_PRECISION)];
    for (metric, minimum) in checks {
        // null: no planted keys (recall) or no findings (precision) for this provider.
        if let Some(value) = row[metric].as_f64() {
            if value < minimum {
                problems.push(format!(
                    "{name}: {metric} {:.1}% < {:.0}% (TP {}, FP {}, FN {})",
                    100.0 * value,
                    100.0 * minimum,
                    row["tp"],
                    row["fp"],
                    row["fn"]
                ));
            }
        }
    }
    problems
}

#[test]
fn labeled_corpus_meets_recall_and_precision_thresholds() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    let labels = dir.path().join("corpus.labels.json");
    let report = dir.path().join("report.jsonl");
    let score = dir.path().join("score.json");

    python("gen-labeled.py", &[corpus.as_os_str(), OsStr::new("--seed"), OsStr::new("1")]);
    assert!(labels.is_file(), "gen-labeled.py wrote no {}", labels.display());

    let scan = keyhound()
        .arg("scan")
        .arg(&corpus)
        .args(["--no-config", "--format", "jsonl", "--show-secrets", "-o"])
        .arg(&report)
        .output()
        .expect("run keyhound");
    assert!(
        matches!(scan.status.code(), Some(0 | 1)),
        "keyhound scan failed ({}):\n{}",
        scan.status,
        String::from_utf8_lossy(&scan.stderr)
    );

    let scored =
        python("score-labeled.py", &[labels.as_os_str(), report.as_os_str(), OsStr::new("--json"), score.as_os_str()]);
    let table = String::from_utf8_lossy(&scored.stdout);
    let scores: Value = serde_json::from_slice(&std::fs::read(&score).expect("score-labeled.py wrote --json"))
        .expect("the scores are JSON");

    // The corpus must be a real test, not an empty one.
    let planted = scores["planted"].as_u64().unwrap_or(0);
    let decoys = scores["decoys"].as_u64().unwrap_or(0);
    assert!(planted >= 500 && decoys >= 500, "only {planted} planted keys and {decoys} decoys:\n{table}");

    let mut problems = below_thresholds("overall", &scores["overall"]);
    for (provider, row) in scores["providers"].as_object().expect("providers object") {
        problems.extend(below_thresholds(provider, row));
    }
    // Encoded secrets and UTF-16 files are categories of their own, each with
    // at least as many look-alikes as keys: each must meet the bar.
    let categories = scores["categories"].as_object().expect("categories object");
    for category in ["plain", "encoded:base64", "encoded:base64 twice", "encoded:hex", "encoded:escapes", "utf16"] {
        let row = categories.get(category).unwrap_or_else(|| panic!("no {category} keys planted:\n{table}"));
        assert!(row["tp"].as_u64().unwrap_or(0) + row["fn"].as_u64().unwrap_or(0) >= 30, "{category}: too few keys");
        problems.extend(below_thresholds(category, row));
    }
    assert!(
        problems.is_empty(),
        "below the thresholds (recall >= {:.0}%, precision >= {:.0}%, overall, per provider and per category):\n{}\n\n{table}",
        100.0 * MIN_RECALL,
        100.0 * MIN_PRECISION,
        problems.join("\n")
    );
}
