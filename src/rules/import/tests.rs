use super::*;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/fixtures/import/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn notes_of<'a>(imported: &'a Imported, rule: &str) -> Vec<&'a str> {
    imported.notes.iter().filter(|note| note.rule.as_deref() == Some(rule)).map(|note| note.text.as_str()).collect()
}

#[test]
fn formats_are_told_apart_by_name_and_content() {
    assert_eq!(detect_format(".gitleaks.toml", &fixture("gitleaks.toml")), SourceFormat::Gitleaks);
    assert_eq!(detect_format("np.yml", &fixture("noseyparker.yml")), SourceFormat::Noseyparker);
    assert_eq!(detect_format("kf.yaml", &fixture("kingfisher.yml")), SourceFormat::Kingfisher);
}

#[test]
fn kingfisher_rules_keep_pattern_entropy_confidence_and_examples_and_name_what_they_lose() {
    let imported = import(&fixture("kingfisher.yml"), SourceFormat::Kingfisher).unwrap();
    assert_eq!((imported.converted, imported.skipped), (3, 1), "{:#?}", imported.notes);
    let written: toml::Table = toml::from_str(&imported.toml).unwrap();
    let rules = written["rules"].as_array().unwrap();
    let upload = rules.iter().find(|rule| rule["id"].as_str() == Some("acme.upload.1")).unwrap();
    assert_eq!(upload["keywords"].as_array().unwrap(), &[toml::Value::String("acme_upload_".into())]);
    assert_eq!(upload["entropy"].as_float(), Some(3.3));
    assert_eq!(upload["confidence"].as_str(), Some("high"));
    assert_eq!(upload["examples"].as_array().unwrap().len(), 2);
    assert_eq!(upload["allowlists"][0]["stopwords"][0].as_str(), Some("EXAMPLE"));
    let upload_notes = notes_of(&imported, "acme.upload.1");
    assert!(upload_notes.iter().any(|note| note.contains("validation")), "{upload_notes:?}");
    assert!(upload_notes.iter().any(|note| note.contains("min_digits")), "{upload_notes:?}");
    let hidden = rules.iter().find(|rule| rule["id"].as_str() == Some("acme.upload.id")).unwrap();
    assert_eq!(hidden["skipReport"].as_bool(), Some(true));
    assert!(notes_of(&imported, "acme.upload.secret").iter().any(|note| note.contains("depends_on_rule")));
    let broken = imported.notes.iter().find(|note| note.skipped).unwrap();
    assert_eq!(broken.rule.as_deref(), Some("acme.broken.1"));
    assert!(broken.text.contains("regex"), "{broken}");
}

#[test]
fn nosey_parker_rules_keep_extended_patterns_categories_and_references() {
    let imported = import(&fixture("noseyparker.yml"), SourceFormat::Noseyparker).unwrap();
    assert_eq!((imported.converted, imported.skipped), (2, 0), "{:#?}", imported.notes);
    assert!(imported.toml.contains("# Reference: https://docs.globex.example/keys"), "{}", imported.toml);
    let written: toml::Table = toml::from_str(&imported.toml).unwrap();
    let token = &written["rules"][0];
    assert_eq!(token["keywords"].as_array().unwrap(), &[toml::Value::String("gbx_".into())]);
    assert_eq!(token["tags"].as_array().unwrap().len(), 2);
    let fuzzy = &written["rules"][1];
    assert!(fuzzy.get("keywords").is_none());
    assert!(notes_of(&imported, "np.globex.2").iter().any(|note| note.contains("runs on every file")));
}

#[test]
fn gitleaks_and_betterleaks_rules_become_keyhound_syntax_with_keywords() {
    let imported = import(&fixture("gitleaks.toml"), SourceFormat::Gitleaks).unwrap();
    assert_eq!((imported.converted, imported.skipped), (2, 0), "{:#?}", imported.notes);
    let written: toml::Table = toml::from_str(&imported.toml).unwrap();
    assert_eq!(written["extend"]["useDefault"].as_bool(), Some(true));
    let rules = written["rules"].as_array().unwrap();
    // RE2's literal `{` (not a repetition) is escaped for Rust's regex.
    assert!(rules[0]["regex"].as_str().unwrap().contains(r"\{"), "{}", rules[0]["regex"]);
    assert_eq!(rules[1]["keywords"].as_array().unwrap(), &[toml::Value::String("initech-".into())]);
    assert!(notes_of(&imported, "initech-token").iter().any(|note| note.contains("keywords added")));

    let betterleaks = import(&fixture("betterleaks.toml"), SourceFormat::Betterleaks).unwrap();
    assert_eq!(betterleaks.converted, 1);
    assert!(
        notes_of(&betterleaks, "umbrella-key").iter().any(|note| note.contains("`validate`")),
        "{:#?}",
        betterleaks.notes
    );
}

#[test]
fn files_that_are_not_rule_files_are_refused() {
    assert!(matches!(import("rules: [", SourceFormat::Noseyparker), Err(ImportError::Parse { .. })));
    assert!(matches!(import("title = 'x'", SourceFormat::Gitleaks), Err(ImportError::Empty { .. })));
    assert!(matches!(import("rules: []", SourceFormat::Kingfisher), Err(ImportError::Empty { .. })));
}
