//! gitleaks-style configs load unchanged: RE2 literal braces, multi-line
//! rules without keyhound's `window`, keyword-less and path-only rules,
//! `AND` allowlists, `[extend]`.

use crate::common::{finding_keys, fixtures, keyhound, scan_json, Tree, TOKEN, TOKEN_RULES};

#[test]
fn a_gitleaks_style_config_loads_and_every_rule_kind_works() {
    let tree = fixtures().join("configs/gitleaks-style-tree");
    let config = fixtures().join("configs/gitleaks-style.toml");
    let (code, report) = scan_json(&tree, &["--config", config.to_str().unwrap()]);
    assert_eq!(code, 1, "{report:#}");
    let mut keys = finding_keys(&report);
    keys.sort();
    assert_eq!(
        keys,
        [
            ("acme-token".to_string(), "app.py".to_string(), 1),
            ("keyless-password".to_string(), "settings.py".to_string(), 1),
            ("pem-private-key".to_string(), "certs/server.key".to_string(), 1),
            ("pkcs12-file".to_string(), "certs/client.p12".to_string(), 1),
        ],
        "tests/fixture_test.py is allowed by the AND allowlist; ${{DB_PASSWORD}} by the global regex"
    );
}

#[test]
fn extend_use_default_keeps_the_default_rules_and_disables_listed_ones() {
    let tree = Tree::new();
    let planted = std::fs::read_to_string(fixtures().join("planted/.env")).unwrap();
    tree.write(".env", &planted);
    tree.write("token.txt", format!("{TOKEN}\n"));
    tree.write(".keyhound.toml", format!("[extend]\nuseDefault = true\n{TOKEN_RULES}"));
    let (_, report) = scan_json(tree.path(), &[]);
    let rules: Vec<String> = finding_keys(&report).into_iter().map(|(rule, _, _)| rule).collect();
    assert_eq!(rules, ["deepseek-api-key", "test-token"]);

    tree.write(
        ".keyhound.toml",
        format!("[extend]\nuseDefault = true\ndisabledRules = [\"deepseek-api-key\"]\n{TOKEN_RULES}"),
    );
    let (_, report) = scan_json(tree.path(), &["--config", ".keyhound.toml"]);
    let rules: Vec<String> = finding_keys(&report).into_iter().map(|(rule, _, _)| rule).collect();
    assert!(!rules.contains(&"deepseek-api-key".to_string()) && rules.contains(&"test-token".to_string()), "{rules:?}");
}

#[test]
fn a_config_with_only_an_allowlist_keeps_the_default_rules() {
    let tree = Tree::new();
    let planted = std::fs::read_to_string(fixtures().join("planted/.env")).unwrap();
    tree.write(".env", &planted);
    tree.write("vendor/.env", &planted);
    tree.write(".keyhound.toml", "[allowlist]\npaths = ['''^vendor/''']\n");
    let (_, report) = scan_json(tree.path(), &[]);
    assert_eq!(finding_keys(&report), [("deepseek-api-key".to_string(), ".env".to_string(), 3)]);
    assert_eq!(report["stats"]["skipped"]["allowlisted"], 1);
}

#[test]
fn a_same_id_rule_without_regex_extends_the_default_rule() {
    let tree = Tree::new();
    let planted = std::fs::read_to_string(fixtures().join("planted/.env")).unwrap();
    tree.write(".env", &planted);
    tree.write(
        ".keyhound.toml",
        "[extend]\nuseDefault = true\n[[rules]]\nid = \"deepseek-api-key\"\n[[rules.allowlists]]\nregexTarget = \"line\"\nregexes = ['''^DEEPSEEK_API_KEY=''']\n",
    );
    let (code, report) = scan_json(tree.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    // Positive control: without the extension the same tree's key is found.
    let (code, report) = scan_json(tree.path(), &["--no-config"]);
    assert_eq!(code, 1, "the planted key is there: {report:#}");
    assert!(report["findings"].as_array().unwrap().iter().any(|finding| finding["rule_id"] == "deepseek-api-key"));
}

/// A scanned repository's own config is not trusted: it may add rules and
/// allowlists, but dropping or redefining built-in rules needs `--config`.
#[test]
fn a_discovered_config_cannot_disable_or_redirect_built_in_rules() {
    let tree = Tree::new();
    let planted = std::fs::read_to_string(fixtures().join("planted/.env")).unwrap();
    tree.write(".env", &planted);
    tree.write(
        ".gitleaks.toml",
        "[extend]\nuseDefault = true\ndisabledRules = [\"deepseek-api-key\"]\n[[rules]]\nid = \"github-pat\"\nregex = 'never-matches'\n",
    );
    let output = keyhound().current_dir(tree.path()).args(["scan", ".", "--format", "json"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let rules: Vec<String> = finding_keys(&report).into_iter().map(|(rule, _, _)| rule).collect();
    assert_eq!(rules, ["deepseek-api-key"], "{stderr}");
    assert!(stderr.contains("drops 1 built-in rule(s) (deepseek-api-key); they stay on"), "{stderr}");
    assert!(stderr.contains("redefines built-in rule(s) github-pat"), "{stderr}");
}

#[test]
fn a_discovered_config_that_suppresses_findings_is_named_in_the_output() {
    let tree = Tree::new();
    let planted = std::fs::read_to_string(fixtures().join("planted/.env")).unwrap();
    tree.write("app/.env", &planted);
    tree.write(".keyhound.toml", "[allowlist]\npaths = ['^app/']\n");
    let output = keyhound().current_dir(tree.path()).args(["scan", ".", "--format", "json"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(finding_keys(&report).is_empty(), "{report}");
    assert!(stderr.contains("suppressed by allowlists in") && stderr.contains(".keyhound.toml"), "{stderr}");
    assert!(stderr.contains("--no-config shows everything"), "{stderr}");
    assert_eq!(report["stats"]["suppressed_by_config"], 1);
    let (_, everything) = scan_json(tree.path(), &["--no-config"]);
    assert_eq!(finding_keys(&everything).len(), 1);
}

/// A scanned repository's broken config cannot silence its scans: it is
/// named (file, line, problem) on stderr and in the JSON stats, the built-in
/// rules still run, and a run that finds nothing exits 3, not 0. A config
/// given with `--config` stays strict.
#[test]
fn a_broken_discovered_config_is_reported_and_the_built_in_rules_still_run() {
    let broken = [
        (".keyhound.toml", "[[rules]]\nid = \"x\"\nregex = 'a'\nfrobnicate = true\n", 4, "unknown field"),
        (".gitleaks.toml", "title = \"t\"\n\n[[rules]]\nid = \"bad-regex\"\nregex = '''(unclosed'''\n", 4, "bad-regex"),
        (
            ".keyhound.toml",
            "[[rules]]\nid = \"acme\"\nregex = 'tok_[a-z]{8}'\n[rules.verify]\nprovider = \"acme\"\nbase_url = \"http://evil.example\"\npath = \"/\"\nlive = { status = [200] }\ndead = { status = [401] }\n",
            2,
            "acme",
        ),
    ];
    for (name, text, line, problem) in broken {
        let tree = Tree::new();
        tree.write(name, text);
        tree.write("clean.txt", "nothing here\n");
        let output = keyhound().current_dir(tree.path()).args(["scan", ".", "--format", "json"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "{name}: fails closed: {stderr}");
        assert!(stderr.contains(&format!("{name}:{line}:")) && stderr.contains(problem), "{name}: {stderr}");
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let errors = report["stats"]["config_errors"].to_string();
        assert!(errors.contains(name) && errors.contains(problem), "{errors}");

        // The built-in rules still run: a planted key is found (exit 1).
        tree.write(".env", std::fs::read_to_string(fixtures().join("planted/.env")).unwrap());
        let (code, report) = scan_json(tree.path(), &[]);
        assert_eq!(code, 1, "{name}: {report}");
        assert!(!report["findings"].as_array().unwrap().is_empty());

        // Given by the user, the same file is an error (exit 2).
        let strict = keyhound().current_dir(tree.path()).args(["scan", ".", "--config", name]).output().unwrap();
        assert_eq!(strict.status.code(), Some(2), "{name}: {}", String::from_utf8_lossy(&strict.stderr));
    }
}

/// A gitleaks 8.28 config: composite rules (`[[rules.required]]` with
/// `withinLines`/`withinColumns`), `skipReport`, and `[[rules.allowlists]]`/
/// `[[allowlists]]` with `condition`, `regexTarget` and `targetRules`.
#[test]
fn a_current_gitleaks_config_with_composite_rules_is_honoured() {
    let config = r#"
title = "gitleaks 8.28 style"
minVersion = "v8.28.0"

[[rules]]
id = "acme-client-secret"
description = "Acme client secret (reported only next to its client id)"
regex = '''(?i)acme_secret\s*=\s*"?([a-z0-9]{24})'''
secretGroup = 1
keywords = ["acme_secret"]
[[rules.required]]
id = "acme-client-id"
withinLines = 2
[[rules.allowlists]]
condition = "AND"
regexTarget = "line"
regexes = ['''# test fixture''']
paths = ['''(?:^|/)tests/''']

[[rules]]
id = "acme-client-id"
description = "Acme client id"
regex = '''acme_id\s*=\s*"?(AC[0-9]{8})'''
keywords = ["acme_id"]
skipReport = true

[[rules]]
id = "acme-webhook"
regex = '''(whk_[a-z0-9]{20})'''
keywords = ["whk_"]
[[rules.required]]
id = "acme-client-id"
withinColumns = 12

[[allowlists]]
description = "docs examples for the webhook rule only"
targetRules = ["acme-webhook"]
paths = ['''(?:^|/)docs/''']
"#;
    let tree = Tree::new();
    tree.write("gitleaks.toml", config);
    tree.write("app/settings.py", "acme_id = \"AC12345678\"\nacme_secret = \"q8v2m4x7k1z9p3w6a5s4d3f2\"\n");
    tree.write("app/lonely.py", "acme_secret = \"z9p3w6a5s4d3f2q8v2m4x7k1\"\n");
    tree.write("app/far.py", "acme_id = \"AC12345678\"\n\n\n\nacme_secret = \"a5s4d3f2q8v2m4x7k1z9p3w6\"\n");
    tree.write(
        "tests/test_client.py",
        "acme_id = \"AC87654321\"\nacme_secret = \"m4x7k1z9p3w6a5s4d3f2q8v2\"  # test fixture\n",
    );
    tree.write("hooks.cfg", "acme_id = \"AC11112222\"\nwhk_abcdefghij0123456789\n");
    tree.write("docs/hooks.cfg", "acme_id = \"AC11112222\"\nwhk_0123456789abcdefghij\n");
    let (code, report) = scan_json(tree.path(), &["--config", "gitleaks.toml"]);
    assert_eq!(code, 1, "{report:#}");
    let mut keys = finding_keys(&report);
    keys.sort();
    assert_eq!(
        keys,
        [
            ("acme-client-secret".to_string(), "app/settings.py".to_string(), 2),
            ("acme-webhook".to_string(), "hooks.cfg".to_string(), 2),
        ],
        "lonely.py lacks the client id, far.py has it 4 lines away, the test fixture is allowed (AND), \
         docs/ is allowed for the webhook rule only, and the skipReport client id is never reported"
    );
}

/// One secret, one finding: a config rule that matches the same secret at
/// the same place as a built-in rule is named in the built-in rule's finding.
#[test]
fn a_config_rule_matching_a_built_in_rules_secret_is_reported_once() {
    let tree = Tree::new();
    tree.write(
        ".keyhound.toml",
        "[[rules]]\nid = \"our-github-token\"\nregex = '''(ghp_[A-Za-z0-9]{36})'''\nkeywords = [\"ghp_\"]\n",
    );
    tree.write("ci.env", "GITHUB_TOKEN=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\nOTHER=ghp_ours\n");
    let (code, report) = scan_json(tree.path(), &[]);
    assert_eq!(code, 1);
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{report:#}");
    assert_eq!(findings[0]["rule_id"], "github-pat");
    assert_eq!(findings[0]["also_matched"], serde_json::json!(["our-github-token"]));

    // Positive control: the config rule alone still reports what only it matches.
    tree.write("mine.txt", "token: ghp_AAAAbbbbCCCCddddEEEEffffGGGGhhhhIIII\n");
    let (_, report) = scan_json(tree.path(), &[]);
    let rules: Vec<String> =
        finding_keys(&report).into_iter().map(|(rule, path, _)| format!("{rule}@{path}")).collect();
    assert!(rules.iter().filter(|key| key.ends_with("@ci.env")).count() == 1, "{rules:?}");
    assert!(rules.contains(&"our-github-token@mine.txt".to_string()), "{rules:?}");
}
