#![forbid(unsafe_code)]
//! The `keyhound` binary: parse arguments, run, exit with the outcome's code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    keyhound::cmd::run(keyhound::cli::Cli::parse())
}
