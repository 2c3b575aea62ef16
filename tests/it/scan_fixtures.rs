//! `fixtures/planted`: a small tree with one planted key per provider plus a
//! file of placeholders; every planted key is found with the right rule, path,
//! line, column and confidence, and nothing else is reported.

use serde_json::Value;

use crate::common::{fixtures, scan_json};

#[test]
fn every_planted_key_is_found_exactly_where_it_is() {
    let expected: Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("planted.expected.json")).unwrap()).unwrap();
    let (code, report) = scan_json(&fixtures().join("planted"), &["--no-config"]);
    assert_eq!(code, 1);
    let fields = ["rule_id", "path", "line", "column", "end_line", "end_column", "confidence"];
    let actual: Vec<Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| fields.iter().map(|field| (field.to_string(), finding[field].clone())).collect())
        .collect();
    assert_eq!(Value::Array(actual), expected);
}

#[test]
fn placeholders_and_documented_example_keys_are_not_reported() {
    let (code, report) = scan_json(&fixtures().join("planted/docs"), &["--no-config"]);
    assert_eq!(code, 0, "{report:#}");
}

#[test]
fn deepseek_confidence_comes_from_context() {
    let (_, report) = scan_json(&fixtures().join("planted"), &["--no-config"]);
    let confidence = |path: &str| {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|finding| finding["path"] == path && finding["rule_id"] == "deepseek-api-key")
            .map(|finding| finding["confidence"].as_str().unwrap().to_string())
    };
    assert_eq!(confidence(".env").as_deref(), Some("high"), "DEEPSEEK_API_KEY names it");
    assert_eq!(confidence("app/llm.py").as_deref(), Some("high"), "api.deepseek.com base URL");
    assert_eq!(confidence("tools/gateway.sh").as_deref(), Some("low"), "no context: still reported");
}
