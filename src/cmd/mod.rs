//! Subcommands, each in its own file with one `run` function, and the mapping
//! from outcomes and errors to exit codes.

pub mod baseline;
pub mod common;
pub mod doctor;
pub mod fleet;
pub mod git;
mod hosted;
mod image;
pub mod install_hook;
mod pre_receive;
pub mod report;
pub mod rotate;
pub mod rules;
pub mod scan;
pub mod staged;
pub mod triage;
pub mod verify;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::rules::ConfigError;

/// Exit code: no findings.
pub const EXIT_CLEAN: u8 = 0;
/// Exit code: usage or configuration error.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: the scan could not complete.
pub const EXIT_SCAN_ERROR: u8 = 3;

/// Why a command failed; decides the exit code.
#[derive(Debug, thiserror::Error)]
pub enum CmdError {
    /// Bad flags or arguments (exit 2).
    #[error("{0}")]
    Usage(String),
    /// A broken config or rule file (exit 2).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The work could not be completed (exit 3).
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl CmdError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CmdError::Usage(_) | CmdError::Config(_) => EXIT_USAGE,
            CmdError::Failed(_) => EXIT_SCAN_ERROR,
        }
    }
}

/// Runs the parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    let outcome = match cli.command {
        Command::Scan(args) => scan::run(&args),
        Command::Git(args) => git::run(&args),
        Command::Staged(args) => staged::run(&args),
        Command::InstallHook(args) => install_hook::run(&args),
        Command::PreReceive(args) => pre_receive::run(args),
        Command::Image(args) => image::run(args),
        Command::Github(args) => hosted::run_github(args),
        Command::Gitlab(args) => hosted::run_gitlab(args),
        Command::Verify(args) => verify::run(&args),
        Command::Rotate(args) => rotate::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Triage(args) => triage::run(&args),
        Command::Baseline(command) => baseline::run(&command),
        Command::Doctor(args) => doctor::run(&args),
        Command::Rules(command) => rules::run(&command),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        // The reader went away (`keyhound rules list | head`): stop quietly, as other tools do.
        Err(CmdError::Failed(err)) if is_broken_pipe(&err) => ExitCode::from(EXIT_CLEAN),
        Err(err) => {
            eprintln!("keyhound: error: {}", error_chain(&err));
            ExitCode::from(err.exit_code())
        }
    }
}

/// Whether writing failed because standard output's reader closed the pipe.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn error_chain(err: &CmdError) -> String {
    match err {
        CmdError::Failed(inner) => format!("{inner:#}"),
        other => other.to_string(),
    }
}
