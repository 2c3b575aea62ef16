//! `keyhound rules import`: other scanners' custom rules as keyhound TOML.
//!
//! Reads a team's own rule files written for gitleaks or Betterleaks (TOML)
//! and for Nosey Parker or Kingfisher (YAML) and writes the same rules in
//! keyhound's format: ids, descriptions, regexes (RE2 braces made Rust's),
//! secret groups, entropy, keywords, paths, tags, allowlists, examples and
//! confidence. What has no keyhound equivalent (HTTP validation written in
//! another tool's template language, revocation, character-class minimums)
//! is named in a [`Note`] instead of being dropped silently. Every rule
//! written is loaded back through keyhound's own loader before it is kept.

mod gitleaks;
mod keywords;
mod yaml;

use std::fmt;

use toml::{Table, Value};

use super::load::check_rule_text;

/// The scanner a rule file was written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceFormat {
    /// gitleaks TOML (`[[rules]]` with `regex`, `keywords`, `[[rules.allowlists]]`).
    Gitleaks,
    /// Betterleaks TOML (gitleaks' schema and its own additions).
    Betterleaks,
    /// Nosey Parker YAML (`rules:` with `pattern`, `examples`).
    Noseyparker,
    /// Kingfisher YAML (Nosey Parker's schema plus `min_entropy`, `confidence`, `validation`).
    Kingfisher,
}

impl fmt::Display for SourceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceFormat::Gitleaks => "gitleaks",
            SourceFormat::Betterleaks => "Betterleaks",
            SourceFormat::Noseyparker => "Nosey Parker",
            SourceFormat::Kingfisher => "Kingfisher",
        })
    }
}

/// Something of a rule that was not carried over, or was changed on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The rule's id (`None`: the file as a whole).
    pub rule: Option<String>,
    /// What happened, for a person.
    pub text: String,
    /// Whether the rule itself was left out.
    pub skipped: bool,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule {
            Some(rule) if self.skipped => write!(f, "rule `{rule}` skipped: {}", self.text),
            Some(rule) => write!(f, "rule `{rule}`: {}", self.text),
            None => f.write_str(&self.text),
        }
    }
}

/// The result of an import.
#[derive(Debug)]
pub struct Imported {
    /// keyhound TOML, ready to be saved as a config or rule file.
    pub toml: String,
    /// Rules written.
    pub converted: usize,
    /// Rules left out (each has a [`Note`] with `skipped`).
    pub skipped: usize,
    /// What could not be carried over, rule by rule.
    pub notes: Vec<Note>,
}

/// Why a file could not be imported at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Not TOML or YAML of the expected shape.
    #[error("not a {format} rule file: {message}")]
    Parse {
        /// The format it was read as.
        format: SourceFormat,
        /// The parser's message.
        message: String,
    },
    /// Parsed, but there is no rule in it.
    #[error("no rules found (expected {expected})")]
    Empty {
        /// What a rule list looks like in that format.
        expected: &'static str,
    },
}

/// Guesses the format from the file name and content: TOML for gitleaks and
/// Betterleaks, YAML for Nosey Parker and Kingfisher (Kingfisher when a rule
/// uses one of its own fields).
pub fn detect_format(file_name: &str, text: &str) -> SourceFormat {
    let lower = file_name.to_ascii_lowercase();
    if lower.ends_with(".yml") || lower.ends_with(".yaml") || text.trim_start().starts_with("rules:") {
        let kingfisher_fields =
            ["min_entropy:", "confidence:", "validation:", "depends_on_rule:", "pattern_requirements:"];
        if kingfisher_fields.iter().any(|field| text.contains(field)) {
            SourceFormat::Kingfisher
        } else {
            SourceFormat::Noseyparker
        }
    } else {
        SourceFormat::Gitleaks
    }
}

/// Converts the text of a rule file written for `format`.
pub fn import(text: &str, format: SourceFormat) -> Result<Imported, ImportError> {
    let converted = match format {
        SourceFormat::Gitleaks | SourceFormat::Betterleaks => gitleaks::convert(text, format)?,
        SourceFormat::Noseyparker | SourceFormat::Kingfisher => yaml::convert(text, format)?,
    };
    Ok(assemble(converted, format))
}

/// Rules converted to keyhound tables, before they are checked and written.
#[derive(Debug, Default)]
struct Converted {
    /// File-level tables (`extend`, global `allowlists`).
    head: Table,
    /// Each rule: its table and the comment lines to write above it.
    rules: Vec<(Table, Vec<String>)>,
    /// Notes so far.
    notes: Vec<Note>,
}

impl Converted {
    fn note(&mut self, rule: &str, text: impl Into<String>) {
        self.notes.push(Note { rule: Some(rule.to_string()), text: text.into(), skipped: false });
    }

    fn skip(&mut self, rule: &str, text: impl Into<String>) {
        self.notes.push(Note { rule: Some(rule.to_string()), text: text.into(), skipped: true });
    }
}

/// Checks each rule with keyhound's loader and writes the file.
fn assemble(mut converted: Converted, format: SourceFormat) -> Imported {
    let mut toml = format!(
        "# Imported from {format} rules by `keyhound rules import`. Check the notes it printed,\n\
         # add `examples`/`negative_examples` where a rule has none, then run `keyhound rules test FILE`.\n\n"
    );
    if !converted.head.is_empty() {
        match toml::to_string(&converted.head) {
            Ok(head) => {
                toml.push_str(&head);
                toml.push('\n');
            }
            Err(err) => converted.notes.push(Note {
                rule: None,
                text: format!(
                    "the file's `[extend]` and global allowlists are left out: they cannot be written as TOML ({err})"
                ),
                skipped: false,
            }),
        }
    }
    let mut written = 0;
    let mut skipped = converted.notes.iter().filter(|note| note.skipped).count();
    for (rule, comments) in std::mem::take(&mut converted.rules) {
        let id = rule.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
        let mut document = Table::new();
        document.insert("rules".into(), Value::Array(vec![Value::Table(rule)]));
        let text = match toml::to_string(&document) {
            Ok(text) => text,
            Err(err) => {
                converted.skip(&id, format!("cannot be written as TOML: {err}"));
                skipped += 1;
                continue;
            }
        };
        if let Err(problem) = check_rule_text(&text) {
            converted.skip(&id, problem);
            skipped += 1;
            continue;
        }
        for line in comments {
            toml.push_str(&format!("# {line}\n"));
        }
        toml.push_str(&text);
        toml.push('\n');
        written += 1;
    }
    Imported { toml, converted: written, skipped, notes: converted.notes }
}

/// A string array value.
fn strings(values: impl IntoIterator<Item = String>) -> Value {
    Value::Array(values.into_iter().map(Value::String).collect())
}

#[cfg(test)]
mod tests;
