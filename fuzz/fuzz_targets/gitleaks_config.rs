//! Arbitrary text as a gitleaks config (with `[extend]` semantics and RE2 to
//! Rust regex translation), loaded the way a scanned repository's config is.
#![no_main]

use keyhound::rules::regex_compat::go_to_rust;
use keyhound::rules::repo_config::load_repo_config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let translated = go_to_rust(text);
    let _ = regex::Regex::new(&translated);
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().canonicalize().expect("canonical temp dir");
    let path = root.join(".gitleaks.toml");
    std::fs::write(&path, text).expect("write config");
    if let Ok((rules, _refused)) = load_repo_config(&path, &root) {
        assert!(rules.get("deepseek-api-key").is_some(), "a repository config removed a built-in rule");
    }
});
