//! Baselines and ignore files: adopt keyhound on a repository with old leaks
//! and fail only on new ones.

use serde_json::Value;

use crate::common::{finding_keys, keyhound, scan_json, Tree, TOKEN, TOKEN_RULES};

const OTHER_TOKEN: &str = "tok_m3n8b2v7c1x6z5l4";

fn tree() -> Tree {
    let tree = Tree::new();
    tree.write(".keyhound.toml", TOKEN_RULES);
    tree.write("old/config.py", format!("TOKEN = '{TOKEN}'\n"));
    tree
}

#[test]
fn a_baseline_silences_known_findings_until_a_new_one_appears() {
    let tree = tree();
    keyhound().current_dir(tree.path()).args(["baseline", "create", "."]).assert().code(0);
    let baseline = std::fs::read_to_string(tree.path().join(".keyhound-baseline.json")).unwrap();
    assert!(!baseline.contains(TOKEN), "a baseline never stores secrets");

    let (code, report) = scan_json(tree.path(), &["--baseline", ".keyhound-baseline.json"]);
    assert_eq!(code, 0);
    assert_eq!(report["stats"]["suppressed"], 1);

    // The known secret moves down the file: still known. A new one is reported.
    tree.write("old/config.py", format!("# moved\n\nTOKEN = '{TOKEN}'\n"));
    tree.write("new.py", format!("T = '{OTHER_TOKEN}'\n"));
    let (code, report) = scan_json(tree.path(), &["--baseline", ".keyhound-baseline.json"]);
    assert_eq!(code, 1);
    assert_eq!(finding_keys(&report), [("test-token".to_string(), "new.py".to_string(), 1)]);
}

#[test]
fn update_drops_what_is_gone_and_a_baseline_from_a_report_works() {
    let tree = tree();
    tree.write("two.py", format!("T = '{OTHER_TOKEN}'\n"));
    keyhound().current_dir(tree.path()).args(["scan", ".", "--format", "json", "-o", "report.json"]).assert().code(1);
    keyhound()
        .current_dir(tree.path())
        .args(["baseline", "create", "--from", "report.json", "-o", "base.json"])
        .assert()
        .code(0);
    let entries = |tree: &Tree| {
        let baseline: Value =
            serde_json::from_str(&std::fs::read_to_string(tree.path().join("base.json")).unwrap()).unwrap();
        baseline["entries"].as_array().unwrap().len()
    };
    assert_eq!(entries(&tree), 2);
    std::fs::remove_file(tree.path().join("two.py")).unwrap();
    keyhound().current_dir(tree.path()).args(["baseline", "update", "base.json", "."]).assert().code(0);
    assert_eq!(entries(&tree), 1);
}

#[test]
fn ignore_files_list_fingerprints_and_gitleaks_style_locations() {
    let tree = tree();
    tree.write("two.py", format!("T = '{OTHER_TOKEN}'\n"));
    let (_, report) = scan_json(tree.path(), &[]);
    let fingerprint = report["findings"][0]["fingerprint"].as_str().unwrap().to_string();
    tree.write(".keyhoundignore", format!("# known test fixture\n{fingerprint}\n"));
    tree.write(".gitleaksignore", "two.py:test-token:1\n");
    let (code, report) = scan_json(tree.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["stats"]["suppressed"], 2);
}

#[test]
fn a_broken_baseline_is_a_usage_error() {
    let tree = tree();
    tree.write("bad.json", "{\"not\": \"a baseline\"}");
    keyhound().current_dir(tree.path()).args(["scan", ".", "--baseline", "bad.json"]).assert().code(2);
    keyhound().current_dir(tree.path()).args(["scan", ".", "--baseline", "missing.json"]).assert().code(2);
}
