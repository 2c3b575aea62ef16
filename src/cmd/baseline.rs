//! `keyhound baseline create|update`: record known findings so CI fails only on new ones.

use std::path::PathBuf;

use anyhow::Context as _;
use indicatif::ProgressBar;

use crate::baseline::Baseline;
use crate::cli::BaselineCommand;
use crate::config::{resolve_rules, ConfigChoice};
use crate::engine::Scanner;
use crate::finding::Finding;
use crate::report::read::read_report;
use crate::source::fs::{scan_paths, WalkOptions};
use crate::source::ContentOptions;

use super::{CmdError, EXIT_CLEAN};

/// Runs a `baseline` subcommand.
pub fn run(command: &BaselineCommand) -> Result<u8, CmdError> {
    match command {
        BaselineCommand::Create { paths, from, output } => {
            let findings = match from {
                Some(report) => read_report(report).map_err(CmdError::Usage)?,
                None => scan(paths)?,
            };
            let baseline = Baseline::from_findings(&findings);
            baseline.save(output).map_err(|err| CmdError::Usage(err.to_string()))?;
            eprintln!("keyhound: wrote {} entries to {}", baseline.entries.len(), output.display());
        }
        BaselineCommand::Update { baseline: path, paths } => {
            let mut baseline = Baseline::load(path).map_err(|err| CmdError::Usage(err.to_string()))?;
            let dropped = baseline.retain_found(&scan(paths)?);
            baseline.save(path).map_err(|err| CmdError::Usage(err.to_string()))?;
            eprintln!("keyhound: {} entries kept, {dropped} no longer found and dropped", baseline.entries.len());
        }
    }
    Ok(EXIT_CLEAN)
}

/// Scans `paths` with the discovered config and default options.
fn scan(paths: &[PathBuf]) -> Result<Vec<Finding>, CmdError> {
    for path in paths {
        if path.symlink_metadata().is_err() {
            return Err(CmdError::Usage(format!("cannot scan {}: no such file or directory", path.display())));
        }
    }
    let (rules, _) = resolve_rules(ConfigChoice::Discover, paths)?;
    let scanner = Scanner::new(rules).context("building the scanner")?;
    let content = ContentOptions::new(8 << 20);
    let options = WalkOptions { no_ignore: false, content, threads: 0 };
    let results = scan_paths(&scanner, paths, &options, &ProgressBar::hidden());
    Ok(results.findings)
}
