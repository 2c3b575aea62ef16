//! Every default rule's positive examples are reported by that rule, and its
//! negative examples are not, through the full engine.

use keyhound::engine::Scanner;
use keyhound::rules::examples::check_examples;
use keyhound::rules::RuleSet;

use crate::common::keyhound;

#[test]
fn every_default_rule_example_behaves_as_declared() {
    let scanner =
        Scanner::new(RuleSet::defaults().and_then(RuleSet::with_builtin_examples).expect("default rules load"))
            .unwrap();
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
fn rules_list_shows_the_default_rules_with_provider_verification_and_rotation() {
    let output = keyhound().args(["rules", "list", "--json"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let listed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let listed = listed.as_array().unwrap();
    let defaults = RuleSet::defaults().unwrap();
    assert_eq!(listed.len(), defaults.len());
    for (entry, rule) in listed.iter().zip(&defaults.rules) {
        assert_eq!(entry["id"], rule.id.as_str());
        let provider = rule.provider.as_ref().unwrap();
        assert_eq!(entry["provider"], provider.name.as_str(), "{}", rule.id);
        assert_eq!(entry["verify"].as_str(), rule.verify.as_ref().map(|verifier| verifier.provider.as_str()));
        // Every rule that verifies rotates: through the provider's API, by changing a
        // database password, or guided; rules that do not verify have no "rotate" unless they declare one.
        let rotate = entry["rotate"].as_str();
        assert_eq!(rotate.is_some(), rule.rotate.is_some() || rule.verify.is_some(), "{}", rule.id);
        assert!(rotate.is_none_or(|kind| ["api", "database", "guided"].contains(&kind)), "{}: {rotate:?}", rule.id);
        let login = rule.verify.as_deref().is_some_and(|verifier| verifier.is_database_login());
        assert_eq!(rotate == Some("database"), login, "{}", rule.id);
        if rule.rotate.is_none() && rule.verify.as_deref().is_some_and(|verifier| verifier.sends_requests()) {
            assert_eq!(rotate, Some("guided"), "{}", rule.id);
        }
    }
    let deepseek = listed.iter().find(|entry| entry["id"] == "deepseek-api-key").unwrap();
    assert_eq!(deepseek["provider"], "DeepSeek");
    assert_eq!(deepseek["verify"], "deepseek");
    assert_eq!(deepseek["rotate"], "guided");
    assert!(deepseek["console"].as_str().unwrap().starts_with("https://platform.deepseek.com"));

    let table = keyhound().args(["rules", "list"]).output().unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    let deepseek_row = table.lines().find(|line| line.starts_with("deepseek-api-key ")).unwrap();
    assert!(deepseek_row.contains("DeepSeek") && deepseek_row.contains("guided"), "{deepseek_row}");
    assert!(table.trim_end().ends_with("rules verify"), "{table}");
}

/// Rules of software people run themselves, or of no provider at all, have no console to name.
const NO_CONSOLE_TAGS: [&str; 2] = ["self-hosted", "generic"];

#[test]
fn every_default_rule_names_its_provider_its_docs_and_where_its_keys_are_managed() {
    let defaults = RuleSet::defaults().unwrap();
    let mut problems = Vec::new();
    for rule in &defaults.rules {
        let Some(provider) = &rule.provider else {
            problems.push(format!("{}: no provider", rule.id));
            continue;
        };
        let no_console_tag = rule.tags.iter().any(|tag| NO_CONSOLE_TAGS.contains(&tag.as_str()));
        if provider.docs.is_none() {
            problems.push(format!("{}: no provider docs", rule.id));
        }
        match (&provider.console, no_console_tag) {
            (None, false) => problems.push(format!("{}: no console and not tagged self-hosted or generic", rule.id)),
            (Some(console), true) => {
                problems.push(format!("{}: tagged without a console but names {console}", rule.id))
            }
            _ => {}
        }
    }
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn a_provider_link_that_is_not_https_is_refused_naming_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules.toml");
    std::fs::write(
        &file,
        r#"
[[rules]]
id = "acme-key"
provider = { name = "Acme", console = "http://acme.example/keys" }
regex = '''\b(acme_[0-9a-f]{16})\b'''
keywords = ["acme_"]
"#,
    )
    .unwrap();
    let output = keyhound().args(["rules", "list", "--config"]).arg(&file).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("acme-key") && stderr.contains("provider.console") && stderr.contains("https://"),
        "{stderr}"
    );
}

#[test]
fn findings_name_their_provider_and_where_its_keys_are_managed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("settings.py"), "DEEPSEEK_API_KEY = \"sk-4f9c2a7e1b3d4c5e8f6a7b9c0d1e2f3a\"\n")
        .unwrap();
    let (_, report) = crate::common::scan_json(dir.path(), &[]);
    assert_eq!(report["findings"][0]["provider"], "DeepSeek", "{report}");
    let human = keyhound().arg("scan").arg(dir.path()).output().unwrap();
    let human = String::from_utf8_lossy(&human.stdout);
    assert!(human.contains("provider: DeepSeek: keys are managed at https://platform.deepseek.com"), "{human}");
}

#[test]
fn built_in_rules_checked_at_build_time_load_as_they_would_from_disk() {
    let defaults = RuleSet::defaults().and_then(RuleSet::with_builtin_examples).unwrap();
    let mut compared = 0;
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/rules")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "toml") {
            continue; // rules/known/: lists of publicly known secrets, not rules
        }
        let from_disk = keyhound::rules::load::load_rule_file(&path).unwrap();
        for rule in &from_disk.rules {
            let built_in = defaults.get(&rule.id).unwrap();
            assert_eq!(built_in.window, rule.window, "{}: window (multi-line regex?)", rule.id);
            assert_eq!(
                built_in.regex.as_ref().map(|regex| regex.pattern()),
                rule.regex.as_ref().map(|regex| regex.pattern())
            );
            assert_eq!(built_in.secret_group, rule.secret_group, "{}", rule.id);
            assert_eq!(built_in.allowlists.len(), rule.allowlists.len(), "{}", rule.id);
            assert_eq!(built_in.examples, rule.examples, "{}: examples (embedded apart)", rule.id);
            assert_eq!(built_in.negative_examples, rule.negative_examples, "{}", rule.id);
            compared += 1;
        }
    }
    assert_eq!(compared, defaults.len());
}
