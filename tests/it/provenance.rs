//! Installed software is quiet: findings in package trees, their
//! documentation and test data are low confidence with a `context` saying
//! why (a specific key format stays medium: a real key in a `.env` under
//! `node_modules` still comes out), compiled Python files repeat their source
//! once, publicly known keys are labelled, and `--min-confidence` filters.

use serde_json::Value;

use crate::common::{keyhound, scan_json, GitRepo, Tree};

const GITHUB_TOKEN: &str = "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";
/// RFC 6749's example client credentials (`s6BhdRkqt3:gX1fBat3bV`), listed as publicly known.
const RFC_BASIC: &str = "czZCaGRSa3F0MzpnWDFmQmF0M2JW";

fn finding<'a>(report: &'a Value, path_end: &str, rule: &str) -> Option<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|finding| finding["path"].as_str().unwrap().ends_with(path_end) && finding["rule_id"] == rule)
}

fn tree() -> Tree {
    let tree = Tree::new();
    let key = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/configs/gitleaks-style-tree/certs/server.key"
    ))
    .unwrap();
    tree.write("src/settings.py", format!("GITHUB_TOKEN = \"{GITHUB_TOKEN}\"\n"));
    tree.write("app/node_modules/left-pad/.env", format!("GITHUB_TOKEN={GITHUB_TOKEN}\n"));
    let site = "venv/lib/python3.12/site-packages/acme";
    tree.write(&format!("{site}/auth.py"), format!("TOKEN = \"{GITHUB_TOKEN}\"\n"));
    tree.write(&format!("{site}/__pycache__/auth.cpython-312.pyc"), format!("\u{0}\u{0}TOKEN {GITHUB_TOKEN} \u{0}\n"));
    tree.write(&format!("{site}/tests/data/server.key"), key);
    tree.write("docs/oauth.md", format!("Authorization: Basic {RFC_BASIC}\n"));
    tree
}

#[test]
fn package_trees_lower_confidence_with_a_reason_and_real_keys_there_still_come_out() {
    let tree = tree();
    let (_, report) = scan_json(tree.path(), &[]);
    let own = finding(&report, "src/settings.py", "github-pat").expect("the project's own key");
    assert_eq!(own["confidence"], "high");
    assert!(own.get("context").is_none(), "{own}");

    let in_node_modules = finding(&report, "node_modules/left-pad/.env", "github-pat").expect("recall kept");
    assert_eq!(in_node_modules["confidence"], "medium");
    assert_eq!(in_node_modules["context"][0], "installed package (node_modules)");

    let test_key = finding(&report, "tests/data/server.key", "private-key").expect("still reported");
    assert_eq!(test_key["confidence"], "low");
    assert_eq!(test_key["context"][0], "installed package (site-packages); test data (tests)");

    assert!(finding(&report, "site-packages/acme/auth.py", "github-pat").is_some());
    assert!(
        finding(&report, "auth.cpython-312.pyc", "github-pat").is_none(),
        "the compiled copy repeats its scanned source: reported once\n{report}"
    );
    assert_eq!(report["stats"]["compiled_copies"], 1);

    let rfc = finding(&report, "docs/oauth.md", "http-basic-auth-header").expect("labelled, not hidden");
    assert_eq!(rfc["confidence"], "low");
    assert!(rfc["context"][0].as_str().unwrap().starts_with("publicly-known: RFC 6749"), "{rfc}");
}

#[test]
fn min_confidence_leaves_low_findings_out_and_says_how_many() {
    let tree = tree();
    let output = keyhound()
        .current_dir(tree.path())
        .args(["scan", "--format", "json", "--min-confidence", "medium"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let confidences: Vec<&str> =
        report["findings"].as_array().unwrap().iter().map(|finding| finding["confidence"].as_str().unwrap()).collect();
    assert!(!confidences.is_empty() && confidences.iter().all(|level| *level != "low"), "{confidences:?}");
    assert_eq!(report["stats"]["below_min_confidence"], 2, "{report}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("2 finding(s) below --min-confidence medium were left out"), "{stderr}");

    let bad = keyhound().current_dir(tree.path()).args(["scan", "--min-confidence", "sure"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("`sure` is not a confidence level"));
}

#[test]
fn copies_of_one_publicly_known_set_are_one_finding_that_lists_the_other_places() {
    let tree = tree();
    tree.write("third_party/oauth/README.md", format!("curl -H 'Authorization: Basic {RFC_BASIC}' ...\n"));
    tree.write("vendor/client/base.py", format!("# Authorization: Basic {RFC_BASIC}\n"));
    let rfc_findings = |report: &Value| -> Vec<Value> {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|finding| finding["rule_id"] == "http-basic-auth-header")
            .cloned()
            .collect()
    };

    let (_, grouped) = scan_json(tree.path(), &[]);
    let sets = rfc_findings(&grouped);
    assert_eq!(sets.len(), 1, "one finding for the set: {sets:?}");
    let places: Vec<&str> =
        sets[0]["also_at"].as_array().unwrap().iter().map(|place| place["path"].as_str().unwrap()).collect();
    assert_eq!(places, ["third_party/oauth/README.md", "vendor/client/base.py"]);
    assert_eq!(sets[0]["also_at"][0]["line"], 1);
    assert_eq!(grouped["stats"]["publicly_known_grouped"], 2);
    assert_eq!(grouped["stats"]["findings"], grouped["findings"].as_array().unwrap().len());
    let own = finding(&grouped, "src/settings.py", "github-pat").expect("a fresh leak is never grouped");
    assert!(own.get("also_at").is_none(), "{own}");

    let (_, expanded) = scan_json(tree.path(), &["--expand-known"]);
    let copies = rfc_findings(&expanded);
    assert_eq!(copies.len(), 3, "--expand-known reports each copy");
    let mut expanded_fingerprints: Vec<&str> =
        copies.iter().map(|finding| finding["fingerprint"].as_str().unwrap()).collect();
    let mut listed: Vec<&str> = std::iter::once(sets[0]["fingerprint"].as_str().unwrap())
        .chain(sets[0]["also_at"].as_array().unwrap().iter().map(|place| place["fingerprint"].as_str().unwrap()))
        .collect();
    expanded_fingerprints.sort_unstable();
    listed.sort_unstable();
    assert_eq!(expanded_fingerprints, listed, "each place keeps its own fingerprint");

    let sarif = keyhound().current_dir(tree.path()).args(["scan", "--format", "sarif"]).output().unwrap();
    let sarif: Value = serde_json::from_slice(&sarif.stdout).unwrap();
    let result = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|result| result["ruleId"] == "http-basic-auth-header")
        .unwrap();
    assert_eq!(result["relatedLocations"].as_array().unwrap().len(), 2, "{result}");
    assert!(result["properties"]["context"][0].as_str().unwrap().starts_with("publicly-known: "));
}

#[test]
fn a_baseline_made_from_a_grouped_report_covers_every_copy() {
    let tree = tree();
    tree.write("third_party/oauth/README.md", format!("Authorization: Basic {RFC_BASIC}\n"));
    let report = keyhound().current_dir(tree.path()).args(["scan", "--format", "json"]).output().unwrap();
    tree.write("report.json", String::from_utf8(report.stdout).unwrap());
    keyhound()
        .current_dir(tree.path())
        .args(["baseline", "create", "--from", "report.json", "-o", "base.json"])
        .assert()
        .code(0);
    let (_, rescan) = scan_json(tree.path(), &["--baseline", "base.json", "--expand-known"]);
    assert_eq!(rescan["findings"].as_array().unwrap().len(), 0, "{rescan}");
}

#[test]
fn a_scan_that_finds_only_publicly_known_keys_says_there_is_nothing_to_rotate() {
    let tree = Tree::new();
    tree.write("docs/oauth.md", format!("Authorization: Basic {RFC_BASIC}\n"));
    tree.write("vendor/oauth/base.py", format!("# Authorization: Basic {RFC_BASIC}\n"));
    let output = keyhound().current_dir(tree.path()).args(["scan", "--color", "never"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "still findings: the exit code says so");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("also at (1 more of this set): vendor/oauth/base.py:1"), "{stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("1 leak found"), "{stderr}");
    assert!(stderr.contains("1 more copies of publicly known secrets"), "{stderr}");
    assert!(stderr.contains("Every finding is a publicly known key"), "{stderr}");
    assert!(!stderr.contains("Revoke or rotate"), "{stderr}");
}

#[test]
fn a_commit_of_a_publicly_known_key_is_still_blocked_with_the_commit_advice() {
    let repo = GitRepo::new();
    repo.tree.write("docs/oauth.md", format!("Authorization: Basic {RFC_BASIC}\n"));
    repo.git(&["add", "-A"]);
    let output = keyhound().current_dir(repo.path()).args(["staged", "--no-config"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Commit blocked") && stderr.contains("keyhound:allow"), "{stderr}");
    assert!(!stderr.contains("nothing to rotate"), "{stderr}");
}
