//! gitleaks and Betterleaks TOML rules.
//!
//! keyhound reads gitleaks configs as they are; importing makes the file
//! keyhound's own: RE2-only braces become Rust syntax, rules without
//! keywords get the literals their regex requires, and fields keyhound does
//! not know are named instead of failing the whole file.

use toml::{Table, Value};

use super::{keywords, Converted, ImportError, SourceFormat};
use crate::rules::regex_compat;

/// Rule fields keyhound reads with gitleaks' meaning.
const RULE_FIELDS: [&str; 13] = [
    "id",
    "description",
    "regex",
    "secretGroup",
    "entropy",
    "keywords",
    "path",
    "tags",
    "allowlist",
    "allowlists",
    "skipReport",
    "required",
    "examples",
];
/// Top-level fields carried over.
const FILE_FIELDS: [&str; 3] = ["extend", "allowlist", "allowlists"];
/// Top-level fields that only describe the file.
const IGNORED_FILE_FIELDS: [&str; 3] = ["title", "description", "minVersion"];

/// Converts a gitleaks or Betterleaks TOML file.
pub(super) fn convert(text: &str, format: SourceFormat) -> Result<Converted, ImportError> {
    let file: Table = toml::from_str(text).map_err(|err| ImportError::Parse { format, message: err.to_string() })?;
    let mut converted = Converted::default();
    for (field, value) in &file {
        if FILE_FIELDS.contains(&field.as_str()) {
            converted.head.insert(field.clone(), translate_allowlists(field, value.clone()));
        } else if field != "rules" && !IGNORED_FILE_FIELDS.contains(&field.as_str()) {
            converted.notes.push(super::Note {
                rule: None,
                text: format!("top-level `{field}` is not carried over"),
                skipped: false,
            });
        }
    }
    let rules = file.get("rules").and_then(Value::as_array).cloned().unwrap_or_default();
    if rules.is_empty() && converted.head.is_empty() {
        return Err(ImportError::Empty { expected: "`[[rules]]` tables" });
    }
    for (index, rule) in rules.into_iter().enumerate() {
        match rule {
            Value::Table(rule) => convert_rule(rule, index, &mut converted),
            _ => converted.skip(&format!("rules[{index}]"), "it is not a table"),
        }
    }
    Ok(converted)
}

fn convert_rule(rule: Table, index: usize, converted: &mut Converted) {
    let id = rule.get("id").and_then(Value::as_str).map_or_else(|| format!("rule-{}", index + 1), str::to_string);
    let mut table = Table::new();
    table.insert("id".into(), Value::String(id.clone()));
    for (field, value) in rule {
        match field.as_str() {
            "id" => {}
            "regex" | "path" => {
                let pattern = value.as_str().unwrap_or_default();
                table.insert(field, Value::String(regex_compat::go_to_rust(pattern)));
            }
            "allowlist" | "allowlists" => {
                table.insert(field.clone(), translate_allowlists(&field, value));
            }
            known if RULE_FIELDS.contains(&known) => {
                table.insert(field, value);
            }
            other => converted.note(&id, format!("field `{other}` is not carried over")),
        }
    }
    let has_keywords = table.get("keywords").and_then(Value::as_array).is_some_and(|keywords| !keywords.is_empty());
    if let (false, Some(pattern)) = (has_keywords, table.get("regex").and_then(Value::as_str)) {
        match keywords::derive(pattern) {
            Some(found) => {
                converted.note(&id, format!("keywords added from its regex: {}", found.join(", ")));
                table.insert("keywords".into(), super::strings(found));
            }
            None => converted.note(&id, "no keywords: the rule runs on every file (slow); add `keywords`"),
        }
    }
    if !table.contains_key("examples") {
        converted.note(&id, "no examples: add some so that `keyhound rules test` checks the rule");
    }
    converted.rules.push((table, Vec::new()));
}

/// Allowlist regexes and paths in Rust syntax.
fn translate_allowlists(field: &str, value: Value) -> Value {
    let translate_one = |mut allowlist: Value| {
        if let Value::Table(table) = &mut allowlist {
            for key in ["regexes", "paths"] {
                if let Some(Value::Array(patterns)) = table.get_mut(key) {
                    for pattern in patterns.iter_mut() {
                        if let Value::String(text) = pattern {
                            *text = regex_compat::go_to_rust(text);
                        }
                    }
                }
            }
        }
        allowlist
    };
    match (field, value) {
        ("allowlists", Value::Array(items)) => Value::Array(items.into_iter().map(translate_one).collect()),
        (_, value) => translate_one(value),
    }
}
