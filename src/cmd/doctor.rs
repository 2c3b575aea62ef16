//! `keyhound doctor`: repository hygiene checks with one-line fixes.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;

use crate::cli::DoctorArgs;
use crate::config::{resolve_rules, ConfigChoice};
use crate::doctor::diagnose;
use crate::engine::Scanner;
use crate::source::git;

use super::git::from_git;
use super::{CmdError, EXIT_CLEAN};

/// Runs the checks; exits 1 when a problem is found.
pub fn run(args: &DoctorArgs) -> Result<u8, CmdError> {
    let repo = git::open(&args.repo).map_err(from_git)?;
    let root: PathBuf = repo.workdir().unwrap_or(repo.path()).to_path_buf();
    let (rules, _) = resolve_rules(ConfigChoice::Discover, std::slice::from_ref(&root))?;
    let scanner = Scanner::new(rules).context("building the scanner")?;
    let problems = diagnose(&repo, &scanner).context("reading the repository")?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &problems).context("writing the report")?;
        writeln!(out).context("writing the report")?;
    } else if problems.is_empty() {
        writeln!(out, "keyhound doctor: no problems found in {}", root.display()).context("writing the report")?;
    } else {
        for problem in &problems {
            writeln!(out, "{}\n    fix: {}\n", problem.message, problem.fix).context("writing the report")?;
        }
        writeln!(out, "keyhound doctor: {} problem(s)", problems.len()).context("writing the report")?;
    }
    Ok(if problems.is_empty() { EXIT_CLEAN } else { 1 })
}
