//! `keyhound rotate REPORT`: revoke or rotate the live keys of a saved JSON
//! report (dry run unless `--yes`), or finish pending rotations (`--complete`).

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;

use crate::cli::{ProviderArgs, RotateArgs, RotateCmdArgs};
use crate::config::{resolve_rules, ConfigChoice};
use crate::finding::{printable, Finding};
use crate::private_file::{committed_in, is_symlink};
use crate::report::read::read_report;
use crate::rotate::action::all_actions;
use crate::rotate::deliver::Delivery;
use crate::rotate::gateway::RotateConfig;
use crate::rotate::{rotate_findings, RotateOptions, Summary};
use crate::rules::RuleSet;
use crate::verify::runner::verify_findings;

use super::common::verify_options;
use super::{CmdError, EXIT_CLEAN, EXIT_SCAN_ERROR};

/// Rotates what a saved report lists.
pub fn run(args: &RotateCmdArgs) -> Result<u8, CmdError> {
    let mut findings = read_report(&args.report).map_err(CmdError::Usage)?;
    let rules = match &args.config {
        Some(path) => resolve_rules(ConfigChoice::Explicit(path), &[])?.0,
        None => RuleSet::defaults()?,
    };
    let options = rotate_options(&args.rotation, &args.provider, &rules, args.complete)?;
    let before = findings.len();
    findings = narrowed(findings, &rules, &args.only_providers, &args.only_rules)?;
    if findings.len() < before {
        eprintln!("keyhound: {} of {before} findings left out by --provider/--rule", before - findings.len());
    }
    if args.verify && !args.complete {
        for finding in &mut findings {
            if !finding.secret.is_redacted() {
                finding.verification = None;
            }
        }
        verify_findings(&mut findings, &rules, &options.verify, &indicatif::ProgressBar::hidden());
    }
    let mode = match (args.complete, options.apply) {
        (true, true) => "completing pending rotations",
        (true, false) => "pending rotations (dry run: add --yes to act)",
        (false, true) => "rotating",
        (false, false) => "rotation plan (dry run: add --yes to act)",
    };
    eprintln!("keyhound: {mode} for {} findings of {}:", findings.len(), args.report.display());
    let summary = rotate_findings(&findings, &rules, &options).context("rotating keys")?;
    print_summary(&summary, &options);
    Ok(if summary.any_failed() { EXIT_SCAN_ERROR } else { EXIT_CLEAN })
}

/// The findings of the `--provider` / `--rule` given (all without either). A
/// name that matches no rule is a usage error: a typo must not plan nothing.
fn narrowed(
    findings: Vec<Finding>,
    rules: &RuleSet,
    providers: &[String],
    rule_ids: &[String],
) -> Result<Vec<Finding>, CmdError> {
    let provider_of = |rule: &crate::rules::Rule, name: &str| {
        rule.provider.as_ref().is_some_and(|provider| provider.name.eq_ignore_ascii_case(name))
            || rule.verify.as_ref().is_some_and(|verifier| verifier.provider.eq_ignore_ascii_case(name))
    };
    for name in providers {
        if !rules.rules.iter().any(|rule| provider_of(rule, name)) {
            return Err(CmdError::Usage(format!(
                "--provider {name}: no rule has this provider (see keyhound rules list)"
            )));
        }
    }
    for id in rule_ids {
        if rules.get(id).is_none() {
            return Err(CmdError::Usage(format!("--rule {id}: no such rule (see keyhound rules list)")));
        }
    }
    Ok(findings
        .into_iter()
        .filter(|finding| rule_ids.is_empty() || rule_ids.contains(&finding.rule_id))
        .filter(|finding| {
            providers.is_empty()
                || rules.get(&finding.rule_id).is_some_and(|rule| providers.iter().any(|name| provider_of(rule, name)))
        })
        .collect())
}

/// Rotation options from the flags; `complete` for `rotate --complete`.
pub fn rotate_options(
    args: &RotateArgs,
    provider: &ProviderArgs,
    rules: &RuleSet,
    complete: bool,
) -> Result<RotateOptions, CmdError> {
    let mut verify = verify_options(provider, rules);
    for (name, _) in all_actions().iter().filter_map(|kind| kind.endpoint()) {
        let variable = format!("KEYHOUND_ENDPOINT_{}", name.to_ascii_uppercase().replace('-', "_"));
        if let (Ok(url), false) = (std::env::var(&variable), provider.endpoint.iter().any(|(given, _)| given == name)) {
            verify.endpoints.insert(name.to_string(), url.trim_end_matches('/').to_string());
        }
    }
    let mut deliveries: Vec<Delivery> = args.deliver_env.iter().chain(&args.deliver_vault).cloned().collect();
    deliveries.extend(args.deliver_exec.iter().cloned().map(Delivery::Exec));
    for url in &args.notify_webhook {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(CmdError::Usage(format!("--notify-webhook {url}: not an http(s) URL")));
        }
    }
    let (state_path, audit_path) = private_paths(&args.state, &args.audit_log)?;
    let gateways = match &args.rotate_config {
        Some(path) => {
            RotateConfig::load(path).map_err(|err| CmdError::Usage(format!("--rotate-config {err}")))?.gateway
        }
        None => Default::default(),
    };
    Ok(RotateOptions {
        apply: args.yes,
        complete,
        force_unverified: args.force_unverified,
        revoke_only: args.revoke_only,
        state_path,
        audit_path,
        deliveries,
        notify_webhooks: args.notify_webhook.clone(),
        notify_commands: args.notify_exec.clone(),
        exec: args.exec.clone(),
        gateways,
        wait: Duration::from_secs(args.wait),
        poll_interval: Duration::from_secs(args.poll_interval.max(1)),
        interactive: std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
        verify,
    })
}

/// Where the state file and audit log go. A directory committed to a git
/// repository (the default `.keyhound/` in a scanned checkout) belongs to
/// whoever can push there: it is ignored with a warning and a per-user
/// directory is used instead. Symbolic links are refused.
fn private_paths(state: &Path, audit: &Path) -> Result<(PathBuf, PathBuf), CmdError> {
    let mut paths = [state.to_path_buf(), audit.to_path_buf()];
    for (path, flag) in paths.iter_mut().zip(["--state", "--audit-log"]) {
        let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let committed = committed_in(dir).filter(|_| dir != Path::new(".")).or_else(|| committed_in(path));
        if let Some(repo) = committed {
            let private = user_state_dir(dir);
            eprintln!(
                "keyhound: warning: {} is committed to the repository at {}: its rotation state and audit log are \
                 not trusted; using {} instead",
                printable(&dir.display().to_string()),
                printable(&repo.display().to_string()),
                private.display()
            );
            *path = private.join(path.file_name().unwrap_or_default());
        }
        for candidate in [path.parent().unwrap_or(Path::new(".")), path.as_path()] {
            if is_symlink(candidate) {
                return Err(CmdError::Usage(format!(
                    "{flag} {}: {} is a symbolic link; keyhound keeps rotation state only in real files and \
                     directories",
                    path.display(),
                    candidate.display()
                )));
            }
        }
    }
    let [state, audit] = paths;
    Ok((state, audit))
}

/// A per-user directory for the rotation state of the checkout at `dir`
/// (`$XDG_STATE_HOME/keyhound/<hash>`, else `~/.local/state/keyhound/<hash>`).
fn user_state_dir(dir: &Path) -> PathBuf {
    use sha2::Digest as _;
    let absolute = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let digest = sha2::Sha256::digest(absolute.display().to_string().as_bytes());
    let name: String = digest[..8].iter().map(|byte| format!("{byte:02x}")).collect();
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("keyhound").join(name)
}

/// One line saying how the run ended.
pub fn print_summary(summary: &Summary, options: &RotateOptions) {
    if !options.apply {
        eprintln!(
            "keyhound: {} key(s) would be acted on, {} finding(s) skipped; nothing was changed (add --yes)",
            summary.planned, summary.skipped
        );
        return;
    }
    let notify = match summary.notify_failed {
        0 => String::new(),
        n => format!(", {n} notification(s) failed"),
    };
    eprintln!(
        "keyhound: {} done, {} pending, {} failed, {} skipped{notify}; audit trail: {}",
        summary.done,
        summary.pending,
        summary.failed,
        summary.skipped,
        options.audit_path.display()
    );
}
