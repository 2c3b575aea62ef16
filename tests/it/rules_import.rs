//! `keyhound rules import`: other scanners' rule files become keyhound rules that load, test and scan.

use crate::common::{fixtures, keyhound};

#[test]
fn imported_kingfisher_rules_pass_their_examples_and_find_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("team.toml");
    let import = keyhound()
        .args(["rules", "import"])
        .arg(fixtures().join("import/kingfisher.yml"))
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&import.stderr);
    assert_eq!(import.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("imported 3 rule(s)") && stderr.contains("1 skipped"), "{stderr}");
    assert!(stderr.contains("rule `acme.upload.1`: its `validation` is not carried over"), "{stderr}");
    assert!(stderr.contains("rule `acme.broken.1` skipped"), "{stderr}");

    let test = keyhound().args(["rules", "test"]).arg(&out).output().unwrap();
    assert_eq!(test.status.code(), Some(0), "{}", String::from_utf8_lossy(&test.stderr));

    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join("deploy.env"), "ACME_UPLOAD_KEY=acme_upload_5f0c1e9a7b3d28c4e6f1a0b9d8c7e2f3\n").unwrap();
    let scan = keyhound().arg("scan").arg(&tree).args(["--format", "json", "--config"]).arg(&out).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&scan.stdout).unwrap();
    let ids: Vec<&str> = report["findings"].as_array().unwrap().iter().filter_map(|f| f["rule_id"].as_str()).collect();
    assert!(ids.contains(&"acme.upload.1"), "{report}");
}

#[test]
fn imported_gitleaks_and_nosey_parker_rules_load() {
    for (file, from) in
        [("gitleaks.toml", "gitleaks"), ("betterleaks.toml", "betterleaks"), ("noseyparker.yml", "noseyparker")]
    {
        let import = keyhound()
            .args(["rules", "import", "--from", from])
            .arg(fixtures().join("import").join(file))
            .output()
            .unwrap();
        assert_eq!(import.status.code(), Some(0), "{file}: {}", String::from_utf8_lossy(&import.stderr));
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("rules.toml");
        std::fs::write(&out, &import.stdout).unwrap();
        let list = keyhound().args(["rules", "list", "--config"]).arg(&out).output().unwrap();
        assert_eq!(list.status.code(), Some(0), "{file}: {}", String::from_utf8_lossy(&list.stderr));
    }
}

#[test]
fn a_file_that_is_not_a_rule_file_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("rules.yml");
    std::fs::write(&broken, "rules: [\n").unwrap();
    let import = keyhound().args(["rules", "import"]).arg(&broken).output().unwrap();
    assert_eq!(import.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&import.stderr);
    assert!(stderr.contains("rules.yml") && stderr.contains("Nosey Parker"), "{stderr}");
    let missing = keyhound().args(["rules", "import", "no-such-file.toml"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no-such-file.toml"));
}
