//! SARIF output validates against the official SARIF 2.1.0 JSON schema.

use crate::common::{fixtures, keyhound, Tree, TOKEN, TOKEN_RULES};

#[test]
fn sarif_output_passes_the_official_schema_and_has_fingerprints() {
    let tree = Tree::new();
    tree.write(".keyhound.toml", TOKEN_RULES);
    tree.write("dir with space/a#b.txt", format!("x = \"{TOKEN}\"\n"));
    tree.write("two.txt", format!("{TOKEN}\n\n{TOKEN}\n"));
    let output = keyhound().current_dir(tree.path()).args(["scan", ".", "--format", "sarif"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let log: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();

    let schema_text = std::fs::read(fixtures().join("sarif-schema-2.1.0.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_slice(&schema_text).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the vendored schema compiles");
    let errors: Vec<String> =
        validator.iter_errors(&log).map(|err| format!("{err} at {}", err.instance_path)).collect();
    assert!(errors.is_empty(), "SARIF schema violations:\n{}", errors.join("\n"));

    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    for result in results {
        assert_eq!(result["ruleId"], "test-token");
        assert_eq!(result["partialFingerprints"]["keyhound/v1"].as_str().unwrap().len(), 32);
        assert!(result["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64().unwrap() >= 1);
    }
    let uri = results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap();
    assert_eq!(uri, "dir%20with%20space/a%23b.txt");
    assert_eq!(log["runs"][0]["tool"]["driver"]["rules"][0]["id"], "test-token");
}

#[test]
fn empty_sarif_is_still_valid() {
    let tree = Tree::new();
    let output = keyhound().current_dir(tree.path()).args(["scan", ".", "--format", "sarif"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let log: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("sarif-schema-2.1.0.json")).unwrap()).unwrap();
    assert!(jsonschema::is_valid(&schema, &log));
}
