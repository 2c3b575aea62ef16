//! Command-line definitions (clap derive only; no logic here): the commands
//! and scan options here, rotation in [`rotate`], the datastore commands in [`store`].

mod rotate;
mod store;

pub use rotate::{RotateArgs, RotateCmdArgs};
pub use store::{ReportArgs, StoreFormat, TriageArgs};

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::Format;

/// keyhound finds leaked secrets (API keys, tokens, private keys, passwords)
/// in files, git histories and container images, fast, with few false alarms,
/// tells which still work, and makes them stop working.
///
/// Quick start:
///   keyhound scan .                     scan the current directory
///   keyhound git .                      scan every commit of a repository's history
///   keyhound staged                     scan staged changes (pre-commit)
///   keyhound scan . --format sarif -o keyhound.sarif
///   keyhound rules list                 show the detection rules
///   keyhound rotate findings.json       revoke or rotate live leaked keys (dry run unless --yes)
///   keyhound image app.tar              scan a container image (or ghcr.io/acme/app:1.2)
///   keyhound github --org acme          scan every repository of an organisation
///
/// Exit codes: 0 no findings, 1 findings (see --exit-code), 2 usage or
/// config error, 3 the scan could not complete (or a rotation failed).
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
    /// Scan a git repository's whole history (every branch, tag and stash), or a range of commits.
    Git(GitArgs),
    /// Scan what is staged for the next commit (for pre-commit hooks): only added lines count.
    Staged(StagedArgs),
    /// Install keyhound as this repository's git pre-commit (or pre-push) hook.
    InstallHook(InstallHookArgs),
    /// Scan every repository of a GitHub organisation or user (mirrored, incrementally with --datastore).
    Github(GithubArgs),
    /// Scan every project of a GitLab group and its subgroups (mirrored, incrementally with --datastore).
    Gitlab(GitlabArgs),
    /// Scan a container image: a `docker save` tarball, an OCI image layout, or a registry reference.
    Image(ImageArgs),
    /// Run as a git server's pre-receive hook: scan what a push adds, reject it on a leak.
    #[command(after_long_help = PRE_RECEIVE_HELP)]
    PreReceive(PreReceiveArgs),
    /// Verify the findings of a saved JSON report (written with --show-secrets) with their providers.
    Verify(VerifyReportArgs),
    /// Revoke or rotate live exposed keys from a saved JSON report (dry run unless --yes).
    #[command(after_long_help = rotate::ROTATE_HELP)]
    Rotate(RotateCmdArgs),
    /// Report what a datastore holds (filters; human, json, csv, sarif or html).
    Report(ReportArgs),
    /// Set a stored finding's triage status (open, accepted-risk, false-positive, revoked).
    Triage(TriageArgs),
    /// Record today's findings so that CI fails only on new ones.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Check repository hygiene: tracked credential files, .gitignore, hooks, hard-coded keys.
    Doctor(DoctorArgs),
    /// Inspect and test detection rules.
    #[command(subcommand)]
    Rules(RulesCommand),
}

/// Setting keyhound up as a server-side hook.
pub const PRE_RECEIVE_HELP: &str = "\
Install it in a bare repository (plain git, Gitea/Forgejo, GitLab server hooks):

  printf '#!/bin/sh\\nexec keyhound pre-receive\\n' > hooks/pre-receive && chmod +x hooks/pre-receive

git gives the hook one `<old> <new> <ref>` line per updated ref on stdin. keyhound scans
only the commits the push adds (for a new branch: what no existing ref already holds),
and a leak rejects the whole push with a redacted message. Server-wide settings come
from the flags or from git config, e.g. `git config --system keyhound.config
/etc/keyhound.toml` and `keyhound.baseline /etc/keyhound-baseline.json`.";

/// `keyhound github`.
#[derive(Debug, Args)]
pub struct GithubArgs {
    /// The organisation whose repositories to scan.
    #[arg(long, value_name = "NAME", required_unless_present = "user", conflicts_with = "user")]
    pub org: Option<String>,

    /// The user whose repositories (and, with --gists, gists) to scan.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,

    /// Also the user's gists.
    #[arg(long, requires = "user")]
    pub gists: bool,

    /// The API (GitHub Enterprise Server: https://HOST/api/v3). The token is GITHUB_TOKEN.
    #[arg(long, value_name = "URL", default_value = "https://api.github.com")]
    pub api_url: String,

    /// What to include, the datastore, mirrors and shards.
    #[command(flatten)]
    pub hosted: HostedArgs,
}

/// `keyhound gitlab`.
#[derive(Debug, Args)]
pub struct GitlabArgs {
    /// The group whose projects (subgroups included) to scan: its path or id.
    #[arg(long, value_name = "PATH")]
    pub group: String,

    /// The API (a self-managed instance: https://HOST/api/v4). The token is GITLAB_TOKEN.
    #[arg(long, value_name = "URL", default_value = "https://gitlab.com/api/v4")]
    pub api_url: String,

    /// What to include, the datastore, mirrors and shards.
    #[command(flatten)]
    pub hosted: HostedArgs,
}

/// Options shared by `keyhound github` and `keyhound gitlab`.
#[derive(Debug, Args)]
pub struct HostedArgs {
    /// Also forks.
    #[arg(long)]
    pub include_forks: bool,

    /// Also archived repositories.
    #[arg(long)]
    pub include_archived: bool,

    /// Also each repository's wiki.
    #[arg(long)]
    pub wikis: bool,

    /// Keep findings, scanned commits and blobs in a datastore (see `keyhound git --datastore`):
    /// rescans read only new commits and report only new findings.
    #[arg(long, value_name = "DIR|FILE|URL")]
    pub datastore: Option<String>,

    /// Where the repositories are mirrored (cloned once, fetched on later runs).
    #[arg(long, value_name = "DIR", default_value = ".keyhound/repos")]
    pub clone_dir: PathBuf,

    /// Scan only this worker's share of the repositories: I/N (0-based).
    #[arg(long, value_name = "I/N", value_parser = store::parse_shard)]
    pub shard: Option<crate::source::git::repos::Shard>,

    /// With --datastore: rescan everything and report every finding, not only new ones.
    #[arg(long, requires = "datastore")]
    pub all: bool,

    /// Rules, content and output options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `keyhound image`.
#[derive(Debug, Args)]
pub struct ImageArgs {
    /// The image: a `docker save` tarball (`docker save app:1.2 -o app.tar`), an
    /// OCI image layout directory (`skopeo copy docker://app:1.2 oci:app`), or a
    /// registry reference (`ghcr.io/acme/app:1.2`, `alpine`) pulled through the
    /// OCI distribution API (credentials: KEYHOUND_REGISTRY_USERNAME and
    /// KEYHOUND_REGISTRY_PASSWORD, or ~/.docker/config.json).
    #[arg(value_name = "IMAGE")]
    pub image: PathBuf,

    /// Record the scan in a datastore (see `keyhound git --datastore`), the image
    /// under its name or path: a rescan reports only new findings (see --all).
    #[arg(long, value_name = "DIR|FILE|URL")]
    pub datastore: Option<String>,

    /// With --datastore: report every finding, not only new ones.
    #[arg(long, requires = "datastore")]
    pub all: bool,

    /// Rules, content and output options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `keyhound pre-receive`.
#[derive(Debug, Args)]
pub struct PreReceiveArgs {
    /// The bare repository (git runs hooks inside it).
    #[arg(long, default_value = ".", value_name = "PATH")]
    pub repo: PathBuf,

    /// Rules, content and output options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `keyhound scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan; `-` reads standard input.
    #[arg(default_value = ".", value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Scan files that .gitignore, .keyhoundignore or .ignore exclude.
    #[arg(long)]
    pub no_ignore: bool,

    /// Report only secrets on lines added since BASE (a commit or ref), in the
    /// work tree of the repository at PATH (staged, unstaged and untracked changes).
    #[arg(long, value_name = "BASE")]
    pub diff: Option<String>,

    /// Rules, content and output options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `keyhound git`.
#[derive(Debug, Args)]
pub struct GitArgs {
    /// The repository (a work tree, a bare repository or a .git directory).
    #[arg(default_value = ".", value_name = "REPO")]
    pub repo: PathBuf,

    /// Scan only commits reachable from this ref (branch, tag or commit) instead of all refs.
    #[arg(long, value_name = "REF", conflicts_with_all = ["range", "pre_push"])]
    pub branch: Option<String>,

    /// Scan only what the commits in A..B add (e.g. origin/main..HEAD), for CI on a push or PR.
    #[arg(long, value_name = "A..B", conflicts_with = "pre_push")]
    pub range: Option<String>,

    /// Scan only what the commits after this one add (same as --range COMMIT..HEAD).
    #[arg(long, value_name = "COMMIT", conflicts_with_all = ["range", "branch", "pre_push"])]
    pub since_commit: Option<String>,

    /// Scan only commits made on or after this date (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub since: Option<i64>,

    /// Scan at most the N newest commits.
    #[arg(long, value_name = "N")]
    pub max_commits: Option<usize>,

    /// Run as a git pre-push hook: read the pushed refs from standard input and
    /// scan what the push adds.
    #[arg(long)]
    pub pre_push: bool,

    /// Keep findings, scanned commits and blobs in a datastore: a directory or
    /// .db file (SQLite), or a postgres:// URL. Rescans then read only new
    /// commits and report only new findings (see --all).
    #[arg(long, value_name = "DIR|FILE|URL", help_heading = "Many repositories")]
    pub datastore: Option<String>,

    /// Scan every repository listed in FILE (one local path or clone URL per
    /// line; URLs are mirrored with `git` under --clone-dir and fetched on later runs).
    #[arg(long, value_name = "FILE", help_heading = "Many repositories")]
    pub repos: Option<PathBuf>,

    /// Where --repos mirrors remote repositories (default: .keyhound/repos).
    #[arg(long, value_name = "DIR", default_value = ".keyhound/repos", help_heading = "Many repositories")]
    pub clone_dir: PathBuf,

    /// Scan only this worker's share of --repos: I/N (0-based), by a stable hash of each repository's line.
    #[arg(long, value_name = "I/N", requires = "repos", value_parser = store::parse_shard, help_heading = "Many repositories")]
    pub shard: Option<crate::source::git::repos::Shard>,

    /// With --datastore: rescan everything and report every finding, not only new ones.
    #[arg(long, requires = "datastore", help_heading = "Many repositories")]
    pub all: bool,

    /// Rules, content and output options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `keyhound staged`.
#[derive(Debug, Args)]
pub struct StagedArgs {
    /// The repository whose index (staged changes) to scan.
    #[arg(default_value = ".", value_name = "REPO")]
    pub repo: PathBuf,

    /// Rules, content and output options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `keyhound baseline ...`.
#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Write a baseline of the findings in PATHs (or in a saved JSON report).
    Create {
        /// Directories or files to scan (default: the current directory).
        #[arg(default_value = ".", value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Take the findings from a JSON report instead of scanning.
        #[arg(long, value_name = "REPORT")]
        from: Option<PathBuf>,
        /// Where to write the baseline.
        #[arg(short, long, value_name = "FILE", default_value = ".keyhound-baseline.json")]
        output: PathBuf,
    },
    /// Drop baseline entries whose findings no longer occur in PATHs.
    Update {
        /// The baseline to update in place.
        #[arg(value_name = "BASELINE")]
        baseline: PathBuf,
        /// Directories or files to scan (default: the current directory).
        #[arg(default_value = ".", value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
}

/// `keyhound doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The repository to check.
    #[arg(default_value = ".", value_name = "REPO")]
    pub repo: PathBuf,

    /// Print the problems as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `keyhound verify`.
#[derive(Debug, Args)]
pub struct VerifyReportArgs {
    /// A JSON report from `keyhound scan|git --format json --show-secrets`.
    #[arg(value_name = "REPORT")]
    pub report: PathBuf,

    /// Rules, content and output options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `keyhound install-hook`.
#[derive(Debug, Args)]
pub struct InstallHookArgs {
    /// The repository to install the hook into.
    #[arg(default_value = ".", value_name = "REPO")]
    pub repo: PathBuf,

    /// Install a pre-push hook (scans pushed commits) instead of a pre-commit hook.
    #[arg(long)]
    pub pre_push: bool,

    /// Replace an existing hook that keyhound did not write.
    #[arg(long)]
    pub force: bool,
}

/// The longest time any seconds flag accepts (one week): larger values would
/// overflow deadlines computed from them.
pub const MAX_SECONDS: u64 = 7 * 24 * 3600;

/// Options shared by every scanning command.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Rules/config file (keyhound or gitleaks TOML). Without it, the first of
    /// .keyhound.toml and .gitleaks.toml found in the scanned directory is used.
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Ignore any discovered .keyhound.toml/.gitleaks.toml and use only the default rules.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,

    /// Skip files and blobs larger than this (bytes, or with K/M/G suffix: 512K, 8M, 1G).
    #[arg(long, value_name = "SIZE", default_value = "8M", value_parser = parse_size)]
    pub max_file_size: u64,

    /// Skip binary content instead of scanning its printable strings.
    #[arg(long)]
    pub skip_binary: bool,

    /// Open archives nested inside archives up to this depth; deeper ones are
    /// skipped and reported (archive-depth).
    #[arg(long, value_name = "N", default_value_t = crate::source::archive::DEFAULT_MAX_DEPTH,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=16))]
    pub max_archive_depth: usize,

    /// Decode base64, hex, percent-encoded and escaped text and scan what it
    /// hides, this many levels deep (0 turns decoding off).
    #[arg(long, value_name = "N", default_value_t = crate::source::DEFAULT_DECODE_DEPTH,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=8))]
    pub max_decode_depth: usize,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Print secrets in full instead of redacted (never in shared CI logs!).
    #[arg(long)]
    pub show_secrets: bool,

    /// Show this percentage (0-100) of each secret instead of the default short prefix.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=100), conflicts_with = "show_secrets")]
    pub redact: Option<u8>,

    /// Exit code to use when findings are reported.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub exit_code: u8,

    /// Report only findings of at least this confidence: low (everything; the
    /// default, but medium for `keyhound image`), medium or high. Findings in
    /// installed packages' trees, their documentation and test data are low
    /// (medium for specific key formats); the summary says how many were left out.
    #[arg(long, value_name = "LEVEL", value_parser = parse_confidence)]
    pub min_confidence: Option<crate::finding::Confidence>,

    /// Report every copy of a publicly known secret as a finding of its own.
    /// By default the copies of one published set (a library's test keys, an
    /// RFC's example tokens) are one finding that lists the other places.
    #[arg(long)]
    pub expand_known: bool,

    /// Exit 3 when some file or git object could not be read (the scan is incomplete),
    /// even if nothing was found.
    #[arg(long)]
    pub fail_on_incomplete: bool,

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

    /// Do not report findings recorded in this baseline (see `keyhound baseline create`).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Verification options.
    #[command(flatten)]
    pub verify: VerifyArgs,

    /// Revoke or rotate live secrets after verification (implies --verify; dry run unless --yes).
    #[arg(long, help_heading = "Rotation")]
    pub rotate: bool,

    /// Rotation options (with --rotate).
    #[command(flatten)]
    pub rotation: RotateArgs,
}

/// Options of live verification.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Ask each provider whether each distinct found secret is live (sends each
    /// secret only to its provider's own API).
    #[arg(long, help_heading = "Verification")]
    pub verify: bool,

    /// Report only secrets verified live (implies --verify).
    #[arg(long, help_heading = "Verification")]
    pub only_live: bool,

    /// Which findings make the exit code non-zero: any finding, or only live ones (implies --verify).
    #[arg(long, value_enum, default_value_t = FailOn::Any, value_name = "WHAT", help_heading = "Verification")]
    pub fail_on: FailOn,

    /// Where and how provider requests are sent.
    #[command(flatten)]
    pub provider: ProviderArgs,
}

/// Options of every request to a provider (verification and rotation).
#[derive(Debug, Args)]
pub struct ProviderArgs {
    /// Time limit for all verification, in seconds; what is left is reported unknown.
    #[arg(long, default_value_t = 120, value_name = "SECS", help_heading = "Verification",
          value_parser = clap::value_parser!(u64).range(0..=MAX_SECONDS))]
    pub verify_timeout: u64,

    /// Time limit per request, in seconds.
    #[arg(long, default_value_t = 10, value_name = "SECS", help_heading = "Verification",
          value_parser = clap::value_parser!(u64).range(0..=MAX_SECONDS))]
    pub request_timeout: u64,

    /// Requests in flight per provider.
    #[arg(long, default_value_t = 4, value_name = "N", help_heading = "Verification")]
    pub verify_concurrency: usize,

    /// Send a provider's verification requests to URL instead of its API (for
    /// proxies and tests); also KEYHOUND_ENDPOINT_<NAME>=URL. Repeatable.
    #[arg(long, value_name = "NAME=URL", value_parser = parse_endpoint, help_heading = "Verification")]
    pub endpoint: Vec<(String, String)>,

    /// Let rules from config files (not keyhound's own) verify: they choose where the secret is sent.
    #[arg(long, help_heading = "Verification")]
    pub allow_custom_verify: bool,

    /// Log in to the database hosts that found connection strings name
    /// (PostgreSQL, MySQL/MariaDB, Redis: authentication only, no query). The host
    /// comes from the scanned file, so this is off unless you trust where it points.
    #[arg(long, help_heading = "Verification")]
    pub verify_network_hosts: bool,
}

/// Which findings fail the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Any finding.
    Any,
    /// Only findings verified live.
    Live,
}

impl VerifyArgs {
    /// Whether verification runs.
    pub fn enabled(&self) -> bool {
        self.verify || self.only_live || self.fail_on == FailOn::Live
    }
}

/// Parses `NAME=URL` for `--endpoint`.
pub fn parse_endpoint(text: &str) -> Result<(String, String), String> {
    let (name, url) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}`: expected NAME=URL, e.g. deepseek=http://127.0.0.1:8080"))?;
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(format!("`{url}` is not an http(s) URL"));
    }
    Ok((name.trim().to_ascii_lowercase(), url.trim_end_matches('/').to_string()))
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
    /// Convert another scanner's custom rules (gitleaks or Betterleaks TOML,
    /// Nosey Parker or Kingfisher YAML) into keyhound TOML. What cannot be
    /// carried over (another tool's validation templates, revocation,
    /// character-class minimums) is listed on stderr, rule by rule.
    #[command(
        after_help = "Examples:\n  keyhound rules import .gitleaks.toml -o .keyhound.toml\n  keyhound rules import team-rules.yml --from kingfisher -o rules/team.toml\n  keyhound rules test rules/team.toml"
    )]
    Import {
        /// The rule file to convert.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The scanner it was written for (default: from the file name and content).
        #[arg(long, value_enum, value_name = "SCANNER")]
        from: Option<crate::rules::import::SourceFormat>,
        /// Write the keyhound TOML here instead of to stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
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

/// Parses `YYYY-MM-DD` (midnight UTC) or an RFC 3339 timestamp into Unix seconds.
pub fn parse_date(text: &str) -> Result<i64, String> {
    if let Ok(timestamp) = text.parse::<jiff::Timestamp>() {
        return Ok(timestamp.as_second());
    }
    let date: jiff::civil::Date =
        text.parse().map_err(|_| format!("`{text}` is not a date: use YYYY-MM-DD or an RFC 3339 timestamp"))?;
    date.to_zoned(jiff::tz::TimeZone::UTC).map(|zoned| zoned.timestamp().as_second()).map_err(|err| err.to_string())
}

/// `--min-confidence LEVEL`.
fn parse_confidence(text: &str) -> Result<crate::finding::Confidence, String> {
    match text.to_ascii_lowercase().as_str() {
        "low" => Ok(crate::finding::Confidence::Low),
        "medium" => Ok(crate::finding::Confidence::Medium),
        "high" => Ok(crate::finding::Confidence::High),
        _ => Err(format!("`{text}` is not a confidence level (low, medium, high)")),
    }
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
    fn dates_parse() {
        assert_eq!(parse_date("1970-01-02"), Ok(86_400));
        assert_eq!(parse_date("1970-01-01T00:01:00Z"), Ok(60));
        assert!(parse_date("yesterday").unwrap_err().contains("not a date"));
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
