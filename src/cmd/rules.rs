//! `keyhound rules list|test`.

use std::io::{self, Write};
use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

use crate::cli::RulesCommand;
use crate::engine::Scanner;
use crate::rotate::action::rotation_of;
use crate::rules::examples::check_examples;
use crate::rules::import::{detect_format, SourceFormat};
use crate::rules::load::{load_config, load_rule_file};
use crate::rules::{Rule, RuleSet, RuleSource};

use super::{CmdError, EXIT_CLEAN};

/// Exit code when a rule example fails.
const EXIT_EXAMPLES_FAILED: u8 = 1;

/// Runs a `rules` subcommand.
pub fn run(command: &RulesCommand) -> Result<u8, CmdError> {
    match command {
        RulesCommand::List { config, json } => {
            let rules = match config {
                Some(path) => load_config(path)?,
                None => RuleSet::defaults()?,
            };
            list(&rules, *json).context("writing the rule list")?;
            Ok(EXIT_CLEAN)
        }
        RulesCommand::Test { file } => {
            let rules = match file {
                Some(path) => load_rule_file(path)?,
                None => RuleSet::defaults()?,
            };
            test(rules.with_builtin_examples()?)
        }
        RulesCommand::Import { file, from, output } => import(file, *from, output.as_deref()),
    }
}

/// `keyhound rules import`: converts, writes, and lists what was not carried over.
fn import(file: &Path, from: Option<SourceFormat>, output: Option<&Path>) -> Result<u8, CmdError> {
    let text = std::fs::read_to_string(file)
        .map_err(|err| CmdError::Usage(format!("cannot read the rule file {}: {err}", file.display())))?;
    let name = file.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let format = from.unwrap_or_else(|| detect_format(&name, &text));
    let imported = crate::rules::import::import(&text, format)
        .map_err(|err| CmdError::Usage(format!("{}: {err}", file.display())))?;
    if imported.converted == 0 {
        for note in &imported.notes {
            eprintln!("  {note}");
        }
        return Err(CmdError::Usage(format!("{}: no rule could be imported (see above)", file.display())));
    }
    match output {
        Some(path) => std::fs::write(path, &imported.toml)
            .map_err(|err| CmdError::Usage(format!("cannot write --output {}: {err}", path.display())))?,
        None => io::stdout().lock().write_all(imported.toml.as_bytes()).context("writing the imported rules")?,
    }
    for note in &imported.notes {
        eprintln!("  {note}");
    }
    eprintln!(
        "imported {} rule(s) from {} ({format}){}; {} skipped, {} note(s){}",
        imported.converted,
        file.display(),
        output.map(|path| format!(" into {}", path.display())).unwrap_or_default(),
        imported.skipped,
        imported.notes.len(),
        output.map(|path| format!("\nnext: keyhound rules test {}", path.display())).unwrap_or_default(),
    );
    Ok(EXIT_CLEAN)
}

#[derive(Serialize)]
struct RuleSummary<'a> {
    id: &'a str,
    description: &'a str,
    /// The provider's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    provider: Option<&'a str>,
    /// Where the provider's keys are managed.
    #[serde(skip_serializing_if = "Option::is_none")]
    console: Option<&'a str>,
    /// The provider's documentation of the keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    docs: Option<&'a str>,
    confidence: String,
    keywords: &'a [String],
    tags: &'a [String],
    /// The verifier's provider key (`--endpoint NAME=URL`), when the rule verifies.
    #[serde(skip_serializing_if = "Option::is_none")]
    verify: Option<&'a str>,
    /// How live secrets are rotated: `api` or `guided`.
    #[serde(skip_serializing_if = "Option::is_none")]
    rotate: Option<&'static str>,
    source: String,
}

impl<'a> RuleSummary<'a> {
    fn of(rule: &'a Rule) -> Self {
        let provider = rule.provider.as_ref();
        RuleSummary {
            id: &rule.id,
            description: &rule.description,
            provider: provider.map(|provider| provider.name.as_str()),
            console: provider.and_then(|provider| provider.console.as_deref()),
            docs: provider.and_then(|provider| provider.docs.as_deref()),
            confidence: rule.confidence.to_string(),
            keywords: &rule.keywords,
            tags: &rule.tags,
            verify: rule.verify.as_ref().map(|verifier| verifier.provider.as_str()),
            rotate: rotation_of(rule).map(|kind| kind.kind()),
            source: source_name(&rule.source),
        }
    }
}

fn list(rules: &RuleSet, json: bool) -> io::Result<()> {
    let mut out = io::stdout().lock();
    if json {
        let summaries: Vec<RuleSummary<'_>> = rules.rules.iter().map(RuleSummary::of).collect();
        serde_json::to_writer_pretty(&mut out, &summaries)?;
        return writeln!(out);
    }
    let width = rules.rules.iter().map(|rule| rule.id.len()).max().unwrap_or(2);
    let provider_of = |rule: &'_ Rule| rule.provider.as_ref().map_or("-".to_string(), |provider| provider.name.clone());
    let provider_width = rules.rules.iter().map(|rule| provider_of(rule).len()).max().unwrap_or(8).max(8);
    writeln!(
        out,
        "{:width$}  {:provider_width$}  {:10}  {:6}  {:6}  DESCRIPTION",
        "ID", "PROVIDER", "CONFIDENCE", "VERIFY", "ROTATE"
    )?;
    for rule in &rules.rules {
        let verify = if rule.verify.is_some() { "yes" } else { "-" };
        let rotate = rotation_of(rule).map_or("-", |kind| kind.kind());
        writeln!(
            out,
            "{:width$}  {:provider_width$}  {:10}  {verify:6}  {rotate:6}  {}",
            rule.id,
            provider_of(rule),
            rule.confidence.to_string(),
            rule.description
        )?;
    }
    let providers: std::collections::BTreeSet<&str> =
        rules.rules.iter().filter_map(|rule| rule.provider.as_ref()).map(|provider| provider.name.as_str()).collect();
    let verifying = rules.rules.iter().filter(|rule| rule.verify.is_some()).count();
    writeln!(out, "\n{} rules, {} providers, {verifying} rules verify", rules.len(), providers.len())
}

fn source_name(source: &RuleSource) -> String {
    source.to_string()
}

fn test(rules: RuleSet) -> Result<u8, CmdError> {
    let rule_count = rules.len();
    let scanner = Scanner::new(rules).context("building the scanner")?;
    let report = check_examples(&scanner);
    for failure in &report.failures {
        eprintln!("FAIL {failure}");
    }
    for (rule_id, problem) in scanner.broken_rules() {
        eprintln!("FAIL rule `{rule_id}`: regex does not compile: {problem}");
    }
    let failed = report.failures.len() + scanner.broken_rules().len();
    let mut out = io::stdout().lock();
    // A closed pipe is not an error here: the counts are also the exit code.
    let _ = writeln!(out, "{} rules, {} examples checked, {} failed", rule_count, report.checked, failed);
    Ok(if failed == 0 { EXIT_CLEAN } else { EXIT_EXAMPLES_FAILED })
}
