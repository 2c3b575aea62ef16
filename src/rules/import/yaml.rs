//! Nosey Parker and Kingfisher YAML rules.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::{Table, Value};

use super::{keywords, strings, Converted, ImportError, SourceFormat};

#[derive(Debug, Deserialize)]
struct RuleFile {
    #[serde(default)]
    rules: Vec<YamlRule>,
}

/// One rule as both tools write it; Kingfisher's additions are optional.
#[derive(Debug, Deserialize)]
struct YamlRule {
    name: Option<String>,
    id: Option<String>,
    pattern: Option<String>,
    description: Option<String>,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    negative_examples: Vec<String>,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    categories: Vec<String>,
    min_entropy: Option<f32>,
    confidence: Option<String>,
    visible: Option<bool>,
    pattern_requirements: Option<BTreeMap<String, serde_norway::Value>>,
    /// Everything else (`validation`, `revocation`, `depends_on_rule`, ...).
    #[serde(flatten)]
    other: BTreeMap<String, serde_norway::Value>,
}

/// Converts a YAML rule file.
pub(super) fn convert(text: &str, format: SourceFormat) -> Result<Converted, ImportError> {
    let file: RuleFile =
        serde_norway::from_str(text).map_err(|err| ImportError::Parse { format, message: err.to_string() })?;
    if file.rules.is_empty() {
        return Err(ImportError::Empty { expected: "a top-level `rules:` list" });
    }
    let mut converted = Converted::default();
    for (index, rule) in file.rules.into_iter().enumerate() {
        convert_rule(rule, index, &mut converted);
    }
    Ok(converted)
}

fn convert_rule(rule: YamlRule, index: usize, converted: &mut Converted) {
    let id = rule.id.clone().unwrap_or_else(|| format!("rule-{}", index + 1));
    let Some(pattern) = rule.pattern.filter(|pattern| !pattern.trim().is_empty()) else {
        converted.skip(&id, "it has no `pattern`");
        return;
    };
    let mut table = Table::new();
    table.insert("id".into(), Value::String(id.clone()));
    if let Some(description) = rule.name.clone().or(rule.description.clone()) {
        table.insert("description".into(), Value::String(description));
    }
    let pattern = pattern.trim_end().to_string();
    match keywords::derive(&pattern) {
        Some(found) => {
            table.insert("keywords".into(), strings(found));
        }
        None => converted.note(
            &id,
            "no literal every match contains: the rule has no keywords and runs on every file (slow); add `keywords`",
        ),
    }
    table.insert("regex".into(), Value::String(pattern));
    if let Some(entropy) = rule.min_entropy {
        // Through its shortest decimal form, so that 3.3 is written 3.3.
        let entropy: f64 = entropy.to_string().parse().unwrap_or(f64::from(entropy));
        table.insert("entropy".into(), Value::Float(entropy));
    }
    match rule.confidence.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => {}
        Some(level @ ("low" | "medium" | "high")) => {
            table.insert("confidence".into(), Value::String(level.to_string()));
        }
        Some(other) => converted.note(&id, format!("confidence `{other}` is not low, medium or high: left at medium")),
    }
    if !rule.categories.is_empty() {
        table.insert("tags".into(), strings(rule.categories));
    }
    if rule.visible == Some(false) {
        table.insert("skipReport".into(), Value::Boolean(true));
    }
    if let Some(requirements) = rule.pattern_requirements {
        carry_requirements(&id, requirements, &mut table, converted);
    }
    if !rule.examples.is_empty() {
        table.insert("examples".into(), strings(rule.examples));
    } else {
        converted.note(&id, "no examples: add some so that `keyhound rules test` checks the rule");
    }
    if !rule.negative_examples.is_empty() {
        table.insert("negative_examples".into(), strings(rule.negative_examples));
    }
    for (field, _) in rule.other {
        converted.note(&id, not_carried(&field));
    }
    let mut comments = Vec::new();
    if let (Some(name), Some(description)) = (&rule.name, &rule.description) {
        if name != description {
            comments.push(description.replace('\n', " "));
        }
    }
    comments.extend(rule.references.into_iter().map(|reference| format!("Reference: {reference}")));
    converted.rules.push((table, comments));
}

/// Kingfisher's `pattern_requirements`: `ignore_if_contains` becomes
/// stopwords; the character-class minimums have no keyhound equivalent.
fn carry_requirements(
    id: &str,
    requirements: BTreeMap<String, serde_norway::Value>,
    table: &mut Table,
    converted: &mut Converted,
) {
    for (field, value) in requirements {
        let words: Option<Vec<String>> = value
            .as_sequence()
            .map(|items| items.iter().filter_map(|item| item.as_str().map(str::to_string)).collect());
        match (field.as_str(), words) {
            ("ignore_if_contains", Some(words)) if !words.is_empty() => {
                let mut allowlist = Table::new();
                allowlist.insert("description".into(), Value::String("ignore_if_contains (imported)".into()));
                allowlist.insert("stopwords".into(), strings(words));
                table.insert("allowlists".into(), Value::Array(vec![Value::Table(allowlist)]));
            }
            _ => converted.note(
                id,
                format!("pattern_requirements.{field} is not carried over (keyhound judges secrets by `entropy` and allowlists)"),
            ),
        }
    }
}

/// The note for a field keyhound does not carry over.
fn not_carried(field: &str) -> String {
    match field {
        "validation" => "its `validation` is not carried over: write a `[rules.verify]` (docs/verification.md)".into(),
        "revocation" => "its `revocation` is not carried over: keyhound rotates through `[rules.rotate]`".into(),
        "depends_on_rule" => {
            "`depends_on_rule` is not carried over: use `[[rules.required]]` if the rule must match next to another"
                .into()
        }
        other => format!("field `{other}` is not carried over"),
    }
}
