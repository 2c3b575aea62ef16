//! Every default rule's positive examples are reported by that rule, and its
//! negative examples are not, through the full engine.

use keyhound::engine::Scanner;
use keyhound::rules::examples::check_examples;
use keyhound::rules::RuleSet;

use crate::common::keyhound;

#[test]
fn every_default_rule_example_behaves_as_declared() {
    let scanner = Scanner::new(RuleSet::defaults().expect("default rules load")).unwrap();
    let report = check_examples(&scanner);
    assert!(report.checked >= 4 * scanner.rules().len(), "each rule has >= 2 examples of each kind");
    let failures: Vec<String> = report.failures.iter().map(ToString::to_string).collect();
    assert!(failures.is_empty(), "{} rule example(s) failed:\n{}", failures.len(), failures.join("\n"));
    assert!(scanner.broken_rules().is_empty(), "{:?}", scanner.broken_rules());
}

#[test]
fn rules_test_command_checks_a_user_rule_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        r#"
[[rules]]
id = "acme-key"
regex = '''\b(acme_[0-9a-f]{16})\b'''
keywords = ["acme_"]
examples = ["ACME=acme_0123456789abcdef"]
negative_examples = ["ACME=acme_0123"]
"#,
    )
    .unwrap();
    keyhound().args(["rules", "test"]).arg(&good).assert().code(0);

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        r#"
[[rules]]
id = "acme-key"
regex = '''\b(acme_[0-9a-f]{16})\b'''
keywords = ["acme_"]
examples = ["ACME=acme_0123"]
"#,
    )
    .unwrap();
    let output = keyhound().args(["rules", "test"]).arg(&bad).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("rule `acme-key` examples[0]: not reported"));
}

#[test]
fn rules_list_shows_the_default_rules() {
    let output = keyhound().args(["rules", "list", "--json"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let rules: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let ids: Vec<&str> = rules.as_array().unwrap().iter().map(|rule| rule["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"deepseek-api-key"), "{ids:?}");
}
