//! What every scanning command shares: loading rules, the progress bar, and
//! finishing a scan (report, stderr summary, exit code).

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use std::collections::BTreeMap;

use crate::baseline::Suppressions;
use crate::cli::{ColorChoice, CommonArgs, FailOn, ProviderArgs};
use crate::config::{resolve_rules, ConfigChoice, ConfigOrigin};
use crate::engine::Scanner;
use crate::finding::{printable, Redaction};
use crate::report::{write_report, Format, RenderOptions, Report};
use crate::rules::RuleSet;
use crate::source::ScanResults;
use crate::stats::{ScanStats, SkipReason};
use crate::verify::runner::{verify_findings, VerifyOptions};

use super::{CmdError, EXIT_CLEAN, EXIT_SCAN_ERROR};

/// A scan in progress: where the report goes and the engine.
pub struct Session {
    /// When the command started.
    pub started: Instant,
    /// The report destination (opened before scanning, so a bad `--output` fails fast).
    output: Box<dyn Write>,
    /// The engine with the rules in effect.
    pub scanner: Scanner,
    /// Verify even without `--verify` (the `verify` command).
    pub always_verify: bool,
    /// Baseline and ignore-file entries.
    suppressions: Suppressions,
    /// Where the rules came from.
    config_origin: ConfigOrigin,
}

impl Session {
    /// Opens the output and loads the rules for a scan rooted at `roots`.
    pub fn start(common: &CommonArgs, roots: &[PathBuf]) -> Result<Session, CmdError> {
        let started = Instant::now();
        let output = open_output(common.output.as_deref(), common.show_secrets)?;
        let choice = match (&common.config, common.no_config) {
            (Some(path), _) => ConfigChoice::Explicit(path),
            (None, true) => ConfigChoice::DefaultsOnly,
            (None, false) => ConfigChoice::Discover,
        };
        let (rules, origin) = resolve_rules(choice, roots)?;
        if common.verbose {
            describe_config(&origin, rules.len());
        }
        if let ConfigOrigin::Unusable(_, problem) = &origin {
            eprintln!(
                "keyhound: warning: the scanned repository's config cannot be used: {}; scanning with the built-in \
                 rules, and the run fails (exit 3) even if nothing is found",
                printable(problem)
            );
        }
        if let (ConfigOrigin::Discovered(_, refused), false) = (&origin, common.quiet) {
            for warning in refused {
                eprintln!("keyhound: warning: {warning}");
            }
        }
        let scanner = Scanner::new(rules).context("building the scanner")?;
        let mut suppressions = Suppressions::default();
        if let Some(path) = &common.baseline {
            suppressions.add_baseline_file(path).map_err(|err| CmdError::Usage(err.to_string()))?;
        }
        for root in roots {
            let dir = if root.is_dir() { root.as_path() } else { root.parent().unwrap_or(Path::new(".")) };
            suppressions.add_ignore_files(if dir.as_os_str().is_empty() { Path::new(".") } else { dir });
        }
        Ok(Session { started, output, scanner, always_verify: false, suppressions, config_origin: origin })
    }

    /// Verifies (when asked), writes the report and the stderr summary; returns the exit code.
    pub fn finish(mut self, common: &CommonArgs, mut results: ScanResults, hint: Hint) -> Result<u8, CmdError> {
        let dropped = crate::provenance::apply(&mut results.findings);
        results.stats.compiled_copies += dropped.compiled;
        results.stats.archived_copies += dropped.archived;
        let before = results.findings.len();
        let min_confidence = common.min_confidence.unwrap_or(crate::finding::Confidence::Low);
        results.findings.retain(|finding| finding.confidence >= min_confidence);
        results.stats.below_min_confidence += (before - results.findings.len()) as u64;
        if !self.suppressions.is_empty() {
            let before = results.findings.len();
            results.findings.retain(|finding| !self.suppressions.suppresses(finding));
            results.stats.suppressed += (before - results.findings.len()) as u64;
        }
        results.sort();
        let mut rotation_failed = false;
        if common.verify.enabled() || self.always_verify || common.rotate {
            let options = verify_options(&common.verify.provider, self.scanner.rules());
            let progress = progress_bar(common, "{spinner} verifying {pos}/{len} secrets {wide_bar} {eta}");
            verify_findings(&mut results.findings, self.scanner.rules(), &options, &progress);
            progress.finish_and_clear();
            // Live keys that can write or administer first, dead ones last; file order within each.
            results.findings.sort_by_key(|finding| crate::verify::Verification::urgency(finding.verification.as_ref()));
            if common.rotate {
                let options = super::rotate::rotate_options(
                    &common.rotation,
                    &common.verify.provider,
                    self.scanner.rules(),
                    false,
                )?;
                eprintln!("keyhound: rotation{}:", if options.apply { "" } else { " (dry run: add --yes to act)" });
                let summary = crate::rotate::rotate_findings(&results.findings, self.scanner.rules(), &options)
                    .context("rotating keys")?;
                super::rotate::print_summary(&summary, &options);
                rotation_failed = summary.any_failed();
            }
            if common.verify.only_live {
                results.findings.retain(crate::finding::Finding::is_live);
            }
            results.stats.findings = results.findings.len() as u64;
        }
        // After verification and rotation, which see every copy; live copies stay findings of their own.
        if !common.expand_known {
            results.stats.publicly_known_grouped += crate::provenance::group_publicly_known(&mut results.findings);
            results.stats.findings = results.findings.len() as u64;
        }
        results.stats.rules = self.scanner.rules().len();
        if let ConfigOrigin::Unusable(_, problem) = &self.config_origin {
            results.stats.config_errors.push(problem.clone());
        }
        results.stats.suppressed_by_config = self.scanner.config_suppressed();
        if let (ConfigOrigin::Discovered(path, _), false) = (&self.config_origin, common.quiet) {
            if results.stats.suppressed_by_config > 0 {
                eprintln!(
                    "keyhound: note: {} match(es) or file(s) were suppressed by allowlists in {}, the scanned \
                     repository's own config; --no-config shows everything",
                    results.stats.suppressed_by_config,
                    path.display()
                );
            }
        }
        results.stats.duration_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        for (rule_id, problem) in self.scanner.broken_rules() {
            eprintln!("keyhound: warning: rule `{rule_id}` was skipped: its regex does not compile: {problem}");
        }
        let color = use_color(common.color, common.output.is_none());
        let redaction = match (common.show_secrets, common.redact) {
            (true, _) => Redaction::None,
            (false, Some(percent)) => Redaction::Percent(percent),
            (false, None) => Redaction::Prefix,
        };
        crate::report::mask::mask_secrets(&mut results.findings, redaction);
        let render = RenderOptions { redaction, color };
        let report = Report { findings: &results.findings, stats: &results.stats, rules: self.scanner.rules() };
        let destination =
            common.output.as_ref().map_or("standard output".to_string(), |path| path.display().to_string());
        match write_report(common.format, &report, render, &mut self.output) {
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {}
            other => other.with_context(|| format!("writing the report to {destination}"))?,
        }
        if !common.quiet {
            print_summary(&results, self.started.elapsed(), common, hint);
        }
        let incomplete = results.stats.skipped.iter().any(|(reason, count)| reason.is_warning() && *count > 0);
        if common.fail_on_incomplete && incomplete {
            eprintln!("keyhound: the scan is incomplete (see the warnings above): exit {EXIT_SCAN_ERROR}");
            return Ok(EXIT_SCAN_ERROR);
        }
        if rotation_failed {
            eprintln!("keyhound: some rotations failed (see above and the audit log): exit {EXIT_SCAN_ERROR}");
            return Ok(EXIT_SCAN_ERROR);
        }
        let failing = match common.verify.fail_on {
            FailOn::Any => !results.findings.is_empty(),
            FailOn::Live => results.findings.iter().any(crate::finding::Finding::is_live),
        };
        if !failing && !results.stats.config_errors.is_empty() {
            eprintln!(
                "keyhound: the scanned repository's config could not be used (see above): exit {EXIT_SCAN_ERROR}"
            );
            return Ok(EXIT_SCAN_ERROR);
        }
        Ok(if failing { common.exit_code } else { EXIT_CLEAN })
    }
}

/// Verification options from the flags, with endpoint overrides from
/// `KEYHOUND_ENDPOINT_<PROVIDER>` (the flags win).
pub fn verify_options(args: &ProviderArgs, rules: &RuleSet) -> VerifyOptions {
    let mut endpoints = BTreeMap::new();
    for provider in rules.rules.iter().filter_map(|rule| rule.verify.as_ref()).map(|verify| &verify.provider) {
        let variable = format!("KEYHOUND_ENDPOINT_{}", provider.to_ascii_uppercase().replace('-', "_"));
        if let Ok(url) = std::env::var(&variable) {
            endpoints.insert(provider.clone(), url.trim_end_matches('/').to_string());
        }
    }
    endpoints.extend(args.endpoint.iter().cloned());
    VerifyOptions {
        per_provider: args.verify_concurrency,
        request_timeout: Duration::from_secs(args.request_timeout.max(1)),
        total_timeout: Duration::from_secs(args.verify_timeout),
        endpoints,
        allow_custom: args.allow_custom_verify,
        network_hosts: args.verify_network_hosts,
        ..VerifyOptions::default()
    }
}

/// Which advice to print after findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    /// Files on disk.
    WorkingTree,
    /// Git history: the secret is in published history.
    History,
    /// A commit being made: it has not happened yet.
    Commit,
    /// A push a server is receiving: it is rejected, the commits are not stored.
    Receive,
    /// A container image: whoever can pull it has its layers.
    Image,
}

/// Standard output, or the `--output` file; a report with full secrets
/// (`private`) is created with mode 600 and never written through a symlink.
fn open_output(path: Option<&Path>, private: bool) -> Result<Box<dyn Write>, CmdError> {
    match path {
        None => Ok(Box::new(BufWriter::new(io::stdout().lock()))),
        Some(path) => {
            let file = if private {
                crate::private_file::open_private(path, crate::private_file::Open::Truncate)
            } else {
                File::create(path)
            };
            let file = file.map_err(|err| {
                CmdError::Usage(format!("--output {}: cannot create the file: {err}", path.display()))
            })?;
            Ok(Box::new(BufWriter::new(file)))
        }
    }
}

fn describe_config(origin: &ConfigOrigin, rule_count: usize) {
    match origin {
        ConfigOrigin::Defaults => eprintln!("keyhound: using the {rule_count} default rules"),
        ConfigOrigin::Explicit(path) => eprintln!("keyhound: using {rule_count} rules from {}", path.display()),
        ConfigOrigin::Discovered(path, _) => {
            eprintln!("keyhound: using {rule_count} rules from discovered config {}", path.display())
        }
        ConfigOrigin::Unusable(path, _) => {
            eprintln!("keyhound: using the {rule_count} default rules ({} cannot be used)", path.display())
        }
    }
}

/// A progress bar on stderr when it is a terminal (hidden otherwise); `template`
/// is an indicatif template.
pub fn progress_bar(common: &CommonArgs, template: &str) -> ProgressBar {
    if common.quiet || common.no_progress || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner()));
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn use_color(choice: ColorChoice, to_stdout: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => to_stdout && io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// The stderr summary: skipped inputs, counts, and what to do next.
fn print_summary(results: &ScanResults, elapsed: Duration, common: &CommonArgs, hint: Hint) {
    let stats = &results.stats;
    let mut shown: BTreeMap<SkipReason, u64> = BTreeMap::new();
    for skipped in &stats.skipped_files {
        if common.verbose || skipped.reason.is_warning() {
            let count = shown.entry(skipped.reason).or_default();
            *count += 1;
            if !common.verbose && *count > WARNINGS_PER_KIND {
                continue;
            }
            let detail = skipped.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
            let verb = if skipped.reason.is_warning() { "warning: could not scan" } else { "skipped" };
            eprintln!("keyhound: {verb} {} ({}){}", printable(&skipped.path), skipped.reason, printable(&detail));
        }
    }
    for (reason, count) in &stats.skipped {
        if !common.verbose && reason.is_warning() && *count > WARNINGS_PER_KIND {
            eprintln!(
                "keyhound: warning: ... and {} more ({reason}); --verbose lists them all, the JSON stats keep every one",
                count - WARNINGS_PER_KIND
            );
        }
    }
    for (file, count) in &stats.ignored_by {
        let own = Path::new(file).file_name().is_some_and(|name| name == crate::source::fs::IGNORE_FILE_NAME);
        if own && !common.quiet {
            eprintln!(
                "keyhound: note: {count} file(s) or directories were excluded by {}, the scanned tree's own ignore \
                 file; --verbose lists them, --no-ignore scans them",
                printable(file)
            );
        }
    }
    // A clean commit passes silently.
    if matches!(hint, Hint::Commit | Hint::Receive) && results.findings.is_empty() && !common.verbose {
        return;
    }
    eprintln!("keyhound: {}", summary_line(stats, elapsed));
    if stats.below_min_confidence > 0 {
        eprintln!(
            "keyhound: {} finding(s) below --min-confidence {} were left out (--min-confidence low shows them)",
            stats.below_min_confidence,
            common.min_confidence.unwrap_or(crate::finding::Confidence::Low)
        );
    }
    if stats.publicly_known_grouped > 0 {
        eprintln!(
            "keyhound: {} more copies of publicly known secrets are listed under their set's finding \
             (--expand-known reports each)",
            stats.publicly_known_grouped
        );
    }
    if stats.compiled_copies > 0 && common.verbose {
        eprintln!(
            "keyhound: {} finding(s) in compiled Python files repeat their scanned source's and are reported once",
            stats.compiled_copies
        );
    }
    if stats.archived_copies > 0 && common.verbose {
        eprintln!(
            "keyhound: {} finding(s) in archives repeat the same file unpacked beside them and are reported once",
            stats.archived_copies
        );
    }
    if results.findings.is_empty() || common.format != Format::Human {
        return;
    }
    let only_publicly_known =
        results.findings.iter().all(|finding| crate::provenance::is_publicly_known(finding) && !finding.is_live());
    let advice = match hint {
        Hint::WorkingTree | Hint::History | Hint::Image if only_publicly_known => {
            "Every finding is a publicly known key (a library's test vector, a documented example), none \
             verified live: nothing to rotate. Check that none is used for real; --min-confidence medium \
             leaves them out."
        }
        Hint::WorkingTree => {
            "What now: a committed secret is exposed. Revoke or rotate it at the provider, then load it \
             from the environment or a secret manager."
        }
        Hint::History => {
            "What now: these secrets are in git history, so anyone with a clone has them. Revoke or rotate \
             each one at the provider first; then, if you must, purge history (git filter-repo)."
        }
        Hint::Commit => {
            "Commit blocked: remove the secret from the staged change (git restore --staged FILE), load it \
             from the environment or a secret manager, and rotate it if it was ever pushed."
        }
        Hint::Image => {
            "What now: anyone who can pull this image has these secrets, in every layer, deleted or not. Rotate \
             them at the provider, rebuild without them (docker build --secret, not ARG or ENV), and delete the \
             published tags."
        }
        Hint::Receive => {
            "Push rejected: the commits you push add a secret. Remove it from them (git commit --amend, or \
             git rebase -i for older commits), load it from the environment or a secret manager, rotate it \
             if it was ever pushed anywhere, then push again."
        }
    };
    eprintln!(
        "\n{advice}\nNot a secret? Add `keyhound:allow` in a comment on its line, or an [allowlist] in .keyhound.toml."
    );
    if !common.show_secrets {
        eprintln!("Secrets are redacted; --show-secrets prints them in full.");
    }
}

/// Warnings of one kind printed before the rest are only counted (`--verbose` prints all).
const WARNINGS_PER_KIND: u64 = 5;

fn summary_line(stats: &ScanStats, elapsed: Duration) -> String {
    let findings = match stats.findings {
        0 => "no leaks found".to_string(),
        1 => "1 leak found".to_string(),
        n => format!("{n} leaks found"),
    };
    let commits = match stats.commits_scanned {
        0 => String::new(),
        n => format!("{n} commits, "),
    };
    let mut line = format!(
        "{findings}; scanned {commits}{} files ({}) in {:.2}s",
        stats.files_scanned,
        human_bytes(stats.bytes_scanned),
        elapsed.as_secs_f64()
    );
    if stats.suppressed > 0 {
        line.push_str(&format!("; {} known finding(s) not shown (baseline or ignore file)", stats.suppressed));
    }
    if stats.skipped_total() > 0 {
        let reasons: Vec<String> = stats.skipped.iter().map(|(reason, count)| format!("{count} {reason}")).collect();
        line.push_str(&format!("; skipped {} ({})", stats.skipped_total(), reasons.join(", ")));
        if stats.skipped_files.len() as u64 == stats.skipped_total() {
            line.push_str("; --verbose lists them");
        }
    }
    line
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
