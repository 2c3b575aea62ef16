//! `keyhound rules list|test`.

use std::io::{self, Write};

use anyhow::Context as _;
use serde::Serialize;

use crate::cli::RulesCommand;
use crate::engine::Scanner;
use crate::rules::examples::check_examples;
use crate::rules::load::{load_config, load_rule_file};
use crate::rules::{RuleSet, RuleSource};

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
            test(rules)
        }
    }
}

#[derive(Serialize)]
struct RuleSummary<'a> {
    id: &'a str,
    description: &'a str,
    confidence: String,
    keywords: &'a [String],
    tags: &'a [String],
    source: String,
}

fn list(rules: &RuleSet, json: bool) -> io::Result<()> {
    let mut out = io::stdout().lock();
    if json {
        let summaries: Vec<RuleSummary<'_>> = rules
            .rules
            .iter()
            .map(|rule| RuleSummary {
                id: &rule.id,
                description: &rule.description,
                confidence: rule.confidence.to_string(),
                keywords: &rule.keywords,
                tags: &rule.tags,
                source: source_name(&rule.source),
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &summaries)?;
        return writeln!(out);
    }
    let width = rules.rules.iter().map(|rule| rule.id.len()).max().unwrap_or(2);
    writeln!(out, "{:width$}  {:10}  DESCRIPTION", "ID", "CONFIDENCE")?;
    for rule in &rules.rules {
        writeln!(out, "{:width$}  {:10}  {}", rule.id, rule.confidence.to_string(), rule.description)?;
    }
    writeln!(out, "\n{} rules", rules.len())
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
