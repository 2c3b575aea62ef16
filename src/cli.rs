//! Command-line definitions (clap derive only; no logic here).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::Format;

/// keyhound finds leaked secrets (API keys, tokens, private keys, passwords)
/// in files and directories, fast, with few false alarms.
///
/// Quick start:
///   keyhound scan .                     scan the current directory
///   keyhound scan . --format sarif -o keyhound.sarif
///   keyhound rules list                 show the detection rules
///
/// Exit codes: 0 no findings, 1 findings (see --exit-code), 2 usage or
/// config error, 3 the scan could not complete.
#[derive(Debug, Parser)]
#[command(name = "keyhound", version, verbatim_doc_comment, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan files and directories (or `-` for stdin) for secrets.
    Scan(ScanArgs),
    /// Inspect and test detection rules.
    #[command(subcommand)]
    Rules(RulesCommand),
}

/// `keyhound scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan; `-` reads standard input.
    #[arg(default_value = ".", value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Rules/config file (keyhound or gitleaks TOML). Without it, the first of
    /// .keyhound.toml and .gitleaks.toml found in the scanned directory is used.
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Ignore any discovered .keyhound.toml/.gitleaks.toml and use only the default rules.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,

    /// Scan files that .gitignore, .keyhoundignore or .ignore exclude.
    #[arg(long)]
    pub no_ignore: bool,

    /// Skip files larger than this (bytes, or with K/M/G suffix: 512K, 8M, 1G).
    #[arg(long, value_name = "SIZE", default_value = "8M", value_parser = parse_size)]
    pub max_file_size: u64,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Print secrets in full instead of redacted (never in shared CI logs!).
    #[arg(long)]
    pub show_secrets: bool,

    /// Exit code to use when findings are reported.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub exit_code: u8,

    /// Worker threads (default: one per CPU core).
    #[arg(short = 'j', long, value_name = "N", default_value_t = 0)]
    pub threads: usize,

    /// List every skipped file with its reason, and more detail on stderr.
    #[arg(short, long)]
    pub verbose: bool,

    /// Print nothing on stderr but errors.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,

    /// Colour output: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

/// When to colour human output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// `keyhound rules ...`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the rules in effect (default rules, or a config's).
    List {
        /// Rules/config file (keyhound or gitleaks TOML).
        #[arg(short, long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run rules' `examples` and `negative_examples`: each example must be
    /// reported by its rule, each negative example must not.
    Test {
        /// A rule file to test (default: the built-in rules).
        #[arg(value_name = "FILE")]
        file: Option<PathBuf>,
    },
}

/// Parses sizes such as `1048576`, `512K`, `8M`, `1G` (binary multiples).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let upper = trimmed.to_ascii_uppercase();
    let digits_end = upper.find(|c: char| !c.is_ascii_digit()).unwrap_or(upper.len());
    let (number, suffix) = upper.split_at(digits_end);
    let multiplier: u64 = match suffix.trim_end_matches("IB").trim_end_matches('B') {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        _ => return Err(format!("`{trimmed}` is not a size: use bytes or a K/M/G suffix, e.g. 8M")),
    };
    let number: u64 =
        number.parse().map_err(|_| format!("`{trimmed}` is not a size: it must start with a number, e.g. 8M"))?;
    number.checked_mul(multiplier).ok_or_else(|| format!("`{trimmed}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_suffixes() {
        assert_eq!(parse_size("100"), Ok(100));
        assert_eq!(parse_size("8M"), Ok(8 << 20));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert!(parse_size("lots").unwrap_err().contains("not a size"));
        assert!(parse_size("5T").is_err());
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
