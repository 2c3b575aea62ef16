//! `keyhound scan`: walk paths (or read stdin), report findings.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::{ColorChoice, ScanArgs};
use crate::config::{resolve_rules, ConfigChoice, ConfigOrigin};
use crate::engine::Scanner;
use crate::finding::Confidence;
use crate::report::{write_report, Format, RenderOptions, Report};
use crate::source::fs::{scan_paths, WalkOptions};
use crate::source::stdin::scan_stdin;
use crate::source::{ScanResults, Worker};
use crate::stats::{ScanStats, SkipReason};

use super::{CmdError, EXIT_CLEAN};

/// Runs a scan and returns the exit code (0 clean, `--exit-code` on findings).
pub fn run(args: &ScanArgs) -> Result<u8, CmdError> {
    let started = Instant::now();
    let (stdin_requested, roots) = split_roots(&args.paths)?;
    let mut output = open_output(args.output.as_deref())?;

    let choice = match (&args.config, args.no_config) {
        (Some(path), _) => ConfigChoice::Explicit(path),
        (None, true) => ConfigChoice::DefaultsOnly,
        (None, false) => ConfigChoice::Discover,
    };
    let (rules, config_origin) = resolve_rules(choice, &roots)?;
    if args.verbose {
        describe_config(&config_origin, rules.len());
    }
    let scanner = Scanner::new(rules).context("building the scanner")?;

    let progress = progress_bar(args);
    let options = WalkOptions { no_ignore: args.no_ignore, max_file_size: args.max_file_size, threads: args.threads };
    let mut results = scan_paths(&scanner, &roots, &options, &progress);
    if stdin_requested {
        let mut worker = Worker::new(&scanner);
        scan_stdin(&mut worker, io::stdin().lock(), args.max_file_size);
        results.merge(worker.results);
    }
    progress.finish_and_clear();
    results.sort();
    results.stats.rules = scanner.rules().len();
    results.stats.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);

    for (rule_id, problem) in scanner.broken_rules() {
        eprintln!("keyhound: warning: rule `{rule_id}` was skipped: its regex does not compile: {problem}");
    }

    let color = use_color(args.color, args.output.is_none());
    let render = RenderOptions { show_secrets: args.show_secrets, color };
    let report = Report { findings: &results.findings, stats: &results.stats, rules: scanner.rules() };
    let destination = args.output.as_ref().map_or("standard output".to_string(), |path| path.display().to_string());
    match write_report(args.format, &report, render, &mut output) {
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {}
        other => other.with_context(|| format!("writing the report to {destination}"))?,
    }

    if !args.quiet {
        print_summary(&results, started.elapsed(), args);
    }
    Ok(if results.findings.is_empty() { EXIT_CLEAN } else { args.exit_code })
}

/// Separates `-` (stdin) from paths, and checks every path exists.
fn split_roots(paths: &[PathBuf]) -> Result<(bool, Vec<PathBuf>), CmdError> {
    let mut stdin = false;
    let mut roots = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            stdin = true;
            continue;
        }
        if let Err(err) = path.symlink_metadata() {
            return Err(CmdError::Usage(format!("cannot scan {}: {err}", path.display())));
        }
        roots.push(path.clone());
    }
    Ok((stdin, roots))
}

fn open_output(path: Option<&Path>) -> Result<Box<dyn Write>, CmdError> {
    match path {
        None => Ok(Box::new(BufWriter::new(io::stdout().lock()))),
        Some(path) => {
            let file = File::create(path).map_err(|err| {
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
        ConfigOrigin::Discovered(path) => {
            eprintln!("keyhound: using {rule_count} rules from discovered config {}", path.display())
        }
    }
}

fn progress_bar(args: &ScanArgs) -> ProgressBar {
    if args.quiet || args.no_progress || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{spinner} scanned {bytes} ({binary_bytes_per_sec}) in {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    bar.set_style(style);
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

/// The stderr summary: counts, skipped files, and what to do next.
fn print_summary(results: &ScanResults, elapsed: Duration, args: &ScanArgs) {
    let stats = &results.stats;
    if args.verbose {
        for skipped in &stats.skipped_files {
            let detail = skipped.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
            eprintln!("keyhound: skipped {} ({}){detail}", skipped.path, skipped.reason);
        }
    } else {
        for skipped in stats.skipped_files.iter().filter(|skipped| skipped.reason.is_warning()) {
            let detail = skipped.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
            eprintln!("keyhound: warning: could not scan {}{detail}", skipped.path);
        }
    }
    eprintln!("keyhound: {}", summary_line(stats, elapsed));
    if !results.findings.is_empty() && args.format == Format::Human {
        eprintln!(
            "\nWhat now: a committed secret is exposed. Revoke or rotate it at the provider, then load it \
             from the environment or a secret manager.\nNot a secret? Add `keyhound:allow` in a comment on \
             its line, or an [allowlist] in .keyhound.toml."
        );
        if !args.show_secrets {
            eprintln!("Secrets are redacted; --show-secrets prints them in full.");
        }
    }
}

fn summary_line(stats: &ScanStats, elapsed: Duration) -> String {
    let findings = match stats.findings {
        0 => "no leaks found".to_string(),
        1 => "1 leak found".to_string(),
        n => format!("{n} leaks found"),
    };
    let mut line = format!(
        "{findings}; scanned {} files ({}) in {:.2}s",
        stats.files_scanned,
        human_bytes(stats.bytes_scanned),
        elapsed.as_secs_f64()
    );
    if stats.skipped_total() > 0 {
        let reasons: Vec<String> =
            stats.skipped.iter().map(|(reason, count)| format!("{count} {}", reason_label(*reason))).collect();
        line.push_str(&format!("; skipped {} ({})", stats.skipped_total(), reasons.join(", ")));
        if stats.skipped_files.len() as u64 == stats.skipped_total() {
            line.push_str("; --verbose lists them");
        }
    }
    line
}

fn reason_label(reason: SkipReason) -> &'static str {
    reason.label()
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

/// Counts findings by confidence, highest first (for summaries and tests).
pub fn count_by_confidence(results: &ScanResults) -> [(Confidence, usize); 3] {
    [Confidence::High, Confidence::Medium, Confidence::Low]
        .map(|level| (level, results.findings.iter().filter(|finding| finding.confidence == level).count()))
}
