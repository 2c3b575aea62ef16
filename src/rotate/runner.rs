//! Running rotation over findings: plan (dry run) or act (`--yes`), record
//! each step in the audit trail and each outcome in the state file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::Value;

use crate::finding::{printable, Confidence, Finding, Secret};
use crate::private_file::{open_private, Open};
use crate::redact::Masker;
use crate::rules::RuleSet;
use crate::verify::http::Client;
use crate::verify::runner::{verify_key_file, verify_secret, VerifyOptions};
use crate::verify::{Status, Verification};

use super::action::{ActionContext, ActionKind, Effect};
use super::deliver::{Delivery, Handover};
use super::gateway::Gateway;
use super::hooks::{post_webhook, run_command, HOOK_TIMEOUT};
use super::state::{current_user, now, AuditLog, AuditRecord, Entry, Progress, StateFile};
use super::target::{collect_targets, How, Target};
use super::{database, guided, offline, providers, replace};

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct RotateOptions {
    /// Act (`--yes`); otherwise only say what would happen.
    pub apply: bool,
    /// Only finish pending rotations (`--complete`).
    pub complete: bool,
    /// Act on keys not verified live.
    pub force_unverified: bool,
    /// Revoke where the provider could also rotate.
    pub revoke_only: bool,
    /// The state file.
    pub state_path: PathBuf,
    /// The audit log.
    pub audit_path: PathBuf,
    /// Where new keys go.
    pub deliveries: Vec<Delivery>,
    /// Webhooks told about keys a person must replace.
    pub notify_webhooks: Vec<String>,
    /// Commands told about keys a person must replace.
    pub notify_commands: Vec<String>,
    /// The user's rotation command for providers without a built-in action.
    pub exec: Option<String>,
    /// Gateway admin APIs by provider.
    pub gateways: BTreeMap<String, Gateway>,
    /// How long to wait for an old key to stop working before recording it pending.
    pub wait: Duration,
    /// Time between checks while waiting.
    pub poll_interval: Duration,
    /// A person is at the terminal (prompts allowed).
    pub interactive: bool,
    /// Endpoints, timeouts and custom-rule permission (shared with verification).
    pub verify: VerifyOptions,
}

/// How a run ended.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Keys the dry run would act on.
    pub planned: usize,
    /// Keys now dead (or confirmed revoked).
    pub done: usize,
    /// Keys waiting for a person, the provider or a grace period.
    pub pending: usize,
    /// Keys whose rotation failed.
    pub failed: usize,
    /// Findings not acted on.
    pub skipped: usize,
    /// Notifications (webhooks, commands) that could not be delivered.
    pub notify_failed: usize,
}

impl Summary {
    /// Whether anything failed (the run exits 3).
    pub fn any_failed(&self) -> bool {
        self.failed > 0 || self.notify_failed > 0
    }
}

/// The result of acting on one key.
#[derive(Debug)]
pub(super) enum Outcome {
    /// The exposed key no longer works.
    Done { detail: String, new_key_id: Option<String> },
    /// Waiting; `deactivate_after` for gateway grace periods.
    Pending { detail: String, new_key_id: Option<String>, deactivate_after: Option<String> },
    /// A replacement is in place but the exposed key still works: `--complete`
    /// revokes it (never creating another key).
    Retiring { detail: String, new_key_id: Option<String> },
    /// Nothing changed, or a step failed.
    Failed(String),
    /// The provider does not know the key, and nothing says it was ever this provider's.
    Unconfirmed(String),
}

/// Rotates what `findings` hold, as `options` say.
pub fn rotate_findings(findings: &[Finding], rules: &RuleSet, options: &RotateOptions) -> anyhow::Result<Summary> {
    let (targets, skipped) = collect_targets(findings, rules, options.exec.as_deref(), options.verify.allow_custom);
    let mut rotator = Rotator {
        options,
        client: Client::new(options.verify.request_timeout),
        state: StateFile::load(&options.state_path)?,
        audit: AuditLog::new(&options.audit_path),
        summary: Summary { skipped: skipped.len(), ..Summary::default() },
        masker: run_masker(findings, options),
    };
    for skip in &skipped {
        rotator.say("skip", &skip.label, &skip.reason);
    }
    let mut ready = Vec::new();
    for target in &targets {
        match rotator.eligibility(target) {
            Ok(()) => ready.push(target),
            Err(reason) => {
                rotator.summary.skipped += 1;
                rotator.say("skip", &target.label(), &reason);
            }
        }
    }
    if !options.apply {
        rotator.print_plan(&ready);
        return Ok(rotator.summary);
    }
    rotator.act_on_github_batch(&ready)?;
    for target in ready {
        if target.how == How::Builtin(ActionKind::GithubRevoke) && !options.complete {
            continue;
        }
        let outcome = if options.complete { rotator.complete(target)? } else { rotator.act(target)? };
        rotator.settle(target, outcome)?;
    }
    Ok(rotator.summary)
}

/// The running state of one `rotate` run.
pub(super) struct Rotator<'a> {
    pub options: &'a RotateOptions,
    pub client: Client,
    state: StateFile,
    audit: AuditLog,
    pub(super) summary: Summary,
    /// Every secret of the run, the user's management keys and webhook URLs, and each new key.
    masker: Masker,
}

/// A masker for everything a rotation run knows that must never be printed or recorded.
fn run_masker(findings: &[Finding], options: &RotateOptions) -> Masker {
    let mut masker = Masker::redacting(
        findings.iter().filter(|finding| !finding.secret.is_redacted()).map(|finding| finding.secret.expose()),
    );
    for variable in super::MANAGEMENT_VARIABLES {
        if let Some(value) = super::env_var(variable) {
            masker.add(&value);
        }
    }
    for (provider, gateway) in &options.gateways {
        if let Some(value) = super::env_var(&gateway.admin_key_variable(provider)) {
            masker.add(&value);
        }
    }
    for url in &options.notify_webhooks {
        masker.add(url);
        if let Some(path) = url.split("://").nth(1).and_then(|rest| rest.find('/').map(|at| &rest[at..])) {
            masker.add(path);
        }
    }
    masker
}

impl Rotator<'_> {
    /// `reason` with where to retire the key by hand.
    pub(super) fn with_console(&self, reason: String, target: &Target<'_>) -> String {
        match &target.console {
            Some(console) => format!("{reason} (retire it by hand at {console})"),
            None => reason,
        }
    }

    /// Prints one plan or outcome line: masked, and with control characters
    /// escaped (a file name must not forge a `keyhound:` line).
    pub(super) fn say(&self, what: &str, label: &str, text: &str) {
        let line = format!("{label}: {text}");
        eprintln!("  {what:<8} {}", printable(&self.masker.mask(&line)));
    }

    /// `text` with every secret this run knows masked.
    pub fn masked(&self, text: &str) -> String {
        self.masker.mask(text).into_owned()
    }

    /// Remembers a new key, so that no message or record can show it.
    pub fn learn_secret(&mut self, secret: &Secret) {
        self.masker.add(secret.expose());
    }

    /// Whether a target is acted on in this run.
    fn eligibility(&self, target: &Target<'_>) -> Result<(), String> {
        let entry = target.fingerprints.iter().find_map(|fingerprint| self.state.get(fingerprint));
        if self.options.complete {
            return match entry {
                Some(entry) if entry.progress == Progress::Pending => Ok(()),
                Some(entry) => Err(format!("already done ({}, {})", entry.updated, entry.detail)),
                None => Err("no rotation was started for this key".into()),
            };
        }
        if let Some(entry) = entry {
            return Err(match entry.progress {
                Progress::Done => format!("already done on {} ({})", entry.updated, entry.detail),
                Progress::Pending => format!(
                    "pending since {} ({}): run `keyhound rotate REPORT --complete` to finish it",
                    entry.updated, entry.detail
                ),
            });
        }
        if target.confidence == Confidence::Low {
            // As in verification: the shape alone does not say whose key this is, and
            // another provider's "invalid key" would be mistaken for a revocation.
            return Err("low confidence: the issuing provider is uncertain, so the key is not sent anywhere \
                        (not even with --force-unverified); retire it by hand if it is yours"
                .into());
        }
        if !self.options.force_unverified && target.status != Some(Status::Live) {
            let status = target.status.as_ref().map_or("not verified".to_string(), |status| status.to_string());
            return Err(format!(
                "not verified live ({status}); verify with --verify, or act anyway with --force-unverified"
            ));
        }
        if let How::Builtin(kind) = target.how {
            if self.options.apply && kind.issues_new_key(self.options.revoke_only) && self.options.deliveries.is_empty()
            {
                return Err(
                    "the provider issues a new token on rotation, with nowhere to put it: give --deliver-env, \
                            --deliver-vault or --deliver-exec, or --revoke-only"
                        .into(),
                );
            }
        }
        Ok(())
    }

    /// The base URL of a built-in action (the user's override wins).
    pub fn base_url(&self, kind: ActionKind) -> String {
        let (name, default) = kind.endpoint().unwrap_or(("", ""));
        self.options.verify.endpoints.get(name).cloned().unwrap_or_else(|| default.to_string())
    }

    /// GitHub tokens are revoked together (one request per 1000).
    fn act_on_github_batch(&mut self, ready: &[&Target<'_>]) -> anyhow::Result<()> {
        if self.options.complete {
            return Ok(());
        }
        let batch: Vec<&&Target<'_>> =
            ready.iter().filter(|target| target.how == How::Builtin(ActionKind::GithubRevoke)).collect();
        if batch.is_empty() {
            return Ok(());
        }
        let tokens: Vec<&str> = batch.iter().map(|target| target.secret.expose()).collect();
        let base_url = self.base_url(ActionKind::GithubRevoke);
        let empty = BTreeMap::new();
        let ctx = self.context(&base_url, batch[0], &empty);
        let result = providers::github_revoke(&ctx, &tokens);
        for target in batch {
            let outcome = match &result {
                Ok(effect) => self.follow_up(target, effect.clone())?,
                Err(reason) => {
                    self.record(target, "revoke", "failed", reason, None)?;
                    Outcome::Failed(reason.clone())
                }
            };
            self.settle(target, outcome)?;
        }
        Ok(())
    }

    pub(super) fn context<'c>(
        &'c self,
        base_url: &'c str,
        target: &'c Target<'_>,
        details: &'c BTreeMap<String, Value>,
    ) -> ActionContext<'c> {
        ActionContext {
            client: &self.client,
            base_url,
            timeout: self.options.verify.request_timeout,
            secret: target.secret.expose(),
            companions: &target.companions,
            details,
            revoke_only: self.options.revoke_only,
            key_file: target.key_file.as_deref(),
            endpoints: &self.options.verify.endpoints,
        }
    }

    /// Acts on one target.
    fn act(&mut self, target: &Target<'_>) -> anyhow::Result<Outcome> {
        match &target.how {
            How::Builtin(ActionKind::Guided) => guided::run(self, target),
            How::Builtin(kind @ ActionKind::Api(_)) => replace::run(self, target, *kind),
            How::Builtin(ActionKind::DatabasePassword) => database::run(self, target),
            How::Builtin(ActionKind::OfflineGuided) => offline::run(self, target),
            How::Builtin(kind) => {
                let base_url = self.base_url(*kind);
                let ctx = self.context(&base_url, target, &target.details);
                match providers::execute(*kind, &ctx) {
                    Ok(effect) => self.follow_up(target, effect),
                    Err(reason) => {
                        self.record(target, "revoke", "failed", &reason, None)?;
                        Ok(Outcome::Failed(self.with_console(reason, target)))
                    }
                }
            }
            How::Exec(command) => {
                let input = serde_json::json!({
                    "event": "rotate",
                    "finding": target.describe_redacted(),
                    "secret": target.secret.expose(),
                });
                match run_command(command, &input.to_string(), HOOK_TIMEOUT) {
                    Ok(stdout) => {
                        let reply: Value = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
                        let new_key_id = reply.get("new_key_id").and_then(Value::as_str).map(str::to_string);
                        let effect = match reply.get("new_secret").and_then(Value::as_str) {
                            Some(new_secret) => Effect::Replaced {
                                new_secret: Secret::new(new_secret),
                                new_key_id,
                                detail: format!("`{command}` issued a new key"),
                            },
                            None => Effect::Revoked(format!("`{command}` reported the key rotated")),
                        };
                        self.follow_up(target, effect)
                    }
                    Err(reason) => {
                        self.record(target, "exec", "failed", &reason, None)?;
                        Ok(Outcome::Failed(reason))
                    }
                }
            }
        }
    }

    /// After the provider acted: deliver a new key, then confirm the old one is dead.
    pub(super) fn follow_up(&mut self, target: &Target<'_>, effect: Effect) -> anyhow::Result<Outcome> {
        match effect {
            Effect::AlreadyDead(detail) if target.status != Some(Status::Live) => {
                // Never verified live: "unknown key" may mean revoked, or another
                // provider's key. Nothing is recorded as done.
                let detail = format!(
                    "{detail}; the key was never verified live, so this may be someone else's key or a typo: \
                     nothing recorded as done"
                );
                self.record(target, "revoke", "unconfirmed", &detail, None)?;
                Ok(Outcome::Unconfirmed(detail))
            }
            Effect::AlreadyDead(detail) => {
                self.record(target, "revoke", "ok", &detail, None)?;
                Ok(Outcome::Done { detail, new_key_id: None })
            }
            Effect::Revoked(detail) => {
                self.record(target, "revoke", "ok", &detail, None)?;
                self.confirm(target, detail, None)
            }
            Effect::Replaced { new_secret, new_key_id, detail } => {
                self.learn_secret(&new_secret);
                self.record(target, "rotate", "ok", &detail, new_key_id.as_deref())?;
                if let Err(reason) = self.deliver_all(target, &new_secret, new_key_id.as_deref())? {
                    let saved = self.save_undelivered(target, &new_secret)?;
                    return Ok(Outcome::Failed(format!(
                        "{reason}; the new key was saved to {} (mode 600): store it yourself, then delete the file",
                        saved.display()
                    )));
                }
                self.confirm(target, detail, new_key_id)
            }
        }
    }

    /// Checks `secret` with the rule's verifier (the user's endpoint overrides apply);
    /// a service-account key with the key file it was found in.
    pub fn check(&self, target: &Target<'_>, secret: &str) -> Verification {
        let reads_key_file = target.rule.verify.as_deref().is_some_and(|verifier| verifier.reads_key_file());
        match (&target.key_file, reads_key_file) {
            (Some(path), true) if secret == target.secret.expose() => {
                verify_key_file(target.rule, secret, path, &self.options.verify, &self.client)
            }
            _ => verify_secret(target.rule, secret, &target.companions, &self.options.verify, &self.client),
        }
    }

    /// Checks until the exposed key is dead or `wait` passes; a key without verifier counts as done.
    pub fn wait_until_dead(&self, target: &Target<'_>, wait: Duration) -> Option<Verification> {
        target.rule.verify.as_ref()?;
        let started = Instant::now();
        loop {
            let verification = self.check(target, target.secret.expose());
            if verification.status == Status::Dead || started.elapsed() + self.options.poll_interval > wait {
                return Some(verification);
            }
            thread::sleep(self.options.poll_interval);
        }
    }

    /// The "confirm" step: done when the old key is dead, pending when it still answers.
    pub fn confirm(
        &mut self,
        target: &Target<'_>,
        detail: String,
        new_key_id: Option<String>,
    ) -> anyhow::Result<Outcome> {
        match self.wait_until_dead(target, self.options.wait) {
            None => Ok(Outcome::Done { detail, new_key_id }),
            Some(verification) if verification.status == Status::Dead => {
                self.record(target, "confirm", "ok", "the exposed key no longer works", new_key_id.as_deref())?;
                Ok(Outcome::Done { detail: format!("{detail}; confirmed dead"), new_key_id })
            }
            Some(verification) => {
                let now_status = verification.status.to_string();
                let note = format!(
                    "the exposed key still answers {now_status}; `keyhound rotate REPORT --complete` checks again"
                );
                self.record(target, "confirm", "pending", &note, new_key_id.as_deref())?;
                Ok(Outcome::Pending { detail: format!("{detail}; {note}"), new_key_id, deactivate_after: None })
            }
        }
    }

    /// Delivers a new key everywhere the user said; the first failure stops.
    pub fn deliver_all(
        &mut self,
        target: &Target<'_>,
        new_secret: &Secret,
        new_key_id: Option<&str>,
    ) -> anyhow::Result<Result<(), String>> {
        let finding = target.describe_redacted();
        for delivery in &self.options.deliveries {
            let handover = Handover {
                old_secret: target.secret.expose(),
                new_secret: new_secret.expose(),
                new_key_id,
                finding: &finding,
                client: &self.client,
                timeout: self.options.verify.request_timeout,
            };
            match delivery.deliver(&handover) {
                Ok(detail) => self.record(target, "deliver", "ok", &detail, new_key_id)?,
                Err(reason) => {
                    let reason = format!("delivery failed ({}): {reason}", delivery.describe());
                    self.record(target, "deliver", "failed", &reason, new_key_id)?;
                    return Ok(Err(reason));
                }
            }
        }
        Ok(Ok(()))
    }

    /// Tells the user's webhooks and commands that a person must act; returns what was told.
    pub fn notify(&mut self, target: &Target<'_>, message: &str) -> anyhow::Result<Vec<String>> {
        let mut told = Vec::new();
        let mut payload =
            serde_json::json!({ "text": format!("keyhound: {message}"), "keyhound": target.describe_redacted() });
        self.masker.mask_json(&mut payload);
        let webhooks = self.options.notify_webhooks.clone();
        for url in &webhooks {
            let host = url.split('/').nth(2).unwrap_or(url).to_string();
            match post_webhook(&self.client, url, &payload, self.options.verify.request_timeout) {
                Ok(()) => {
                    self.record(target, "notify", "ok", &format!("webhook {host}"), None)?;
                    told.push(format!("webhook {host}"));
                }
                Err(reason) => {
                    let reason = format!("webhook {host}: {reason}");
                    self.summary.notify_failed += 1;
                    self.say("FAILED", &target.label(), &format!("could not notify {reason}"));
                    self.record(target, "notify", "failed", &reason, None)?
                }
            }
        }
        let commands = self.options.notify_commands.clone();
        for command in &commands {
            let mut input = payload.clone();
            input["event"] = "notify".into();
            match run_command(command, &input.to_string(), HOOK_TIMEOUT) {
                Ok(_) => {
                    self.record(target, "notify", "ok", &format!("`{command}`"), None)?;
                    told.push(format!("`{command}`"));
                }
                Err(reason) => {
                    self.summary.notify_failed += 1;
                    self.say("FAILED", &target.label(), &format!("could not notify: {reason}"));
                    self.record(target, "notify", "failed", &reason, None)?
                }
            }
        }
        Ok(told)
    }

    /// `--complete`: deactivate after a due grace period, then check the old key.
    fn complete(&mut self, target: &Target<'_>) -> anyhow::Result<Outcome> {
        let entry = target
            .fingerprints
            .iter()
            .find_map(|fingerprint| self.state.get(fingerprint))
            .cloned()
            .context("pending targets have a state entry")?;
        if target.how == How::Builtin(ActionKind::OfflineGuided)
            && target.rule.verify.as_deref().is_some_and(|verifier| verifier.reads_private_key())
        {
            return offline::complete(self, target);
        }
        if entry.resume.as_deref() == Some(replace::RESUME_REVOKE) {
            if let How::Builtin(kind @ ActionKind::Api(_)) = target.how {
                return replace::retire(self, target, kind, entry.new_key_id.clone());
            }
        }
        if let Some(after) = &entry.deactivate_after {
            let due = after.as_str() <= now().as_str();
            if !due {
                return Ok(Outcome::Pending {
                    detail: format!("the grace period runs until {after}"),
                    new_key_id: entry.new_key_id,
                    deactivate_after: Some(after.clone()),
                });
            }
            if let Some(outcome) = guided::deactivate_through_gateway(self, target, &entry)? {
                return Ok(outcome);
            }
        }
        match self.wait_until_dead(target, self.options.wait) {
            Some(verification) if verification.status != Status::Dead => Ok(Outcome::Pending {
                detail: format!("the exposed key still answers {}", verification.status),
                new_key_id: entry.new_key_id,
                deactivate_after: entry.deactivate_after,
            }),
            _ => {
                self.record(target, "complete", "ok", "the exposed key no longer works", entry.new_key_id.as_deref())?;
                Ok(Outcome::Done { detail: "the exposed key no longer works".into(), new_key_id: entry.new_key_id })
            }
        }
    }

    /// Appends an audit record.
    pub fn record(
        &self,
        target: &Target<'_>,
        step: &str,
        outcome: &str,
        detail: &str,
        new_key_id: Option<&str>,
    ) -> anyhow::Result<()> {
        self.audit.append(&AuditRecord {
            time: now(),
            user: current_user(),
            fingerprints: target.fingerprints.clone(),
            rule: target.rule.id.clone(),
            provider: target.provider(),
            action: target.how.name().to_string(),
            step: step.into(),
            outcome: outcome.into(),
            detail: self.masked(detail),
            secret: target.redacted(),
            new_key_id: new_key_id.map(str::to_string),
        })
    }

    /// Prints, counts and remembers an outcome.
    fn settle(&mut self, target: &Target<'_>, outcome: Outcome) -> anyhow::Result<()> {
        let mut resume = None;
        let (progress, detail, new_key_id, deactivate_after) = match outcome {
            Outcome::Failed(reason) => {
                self.summary.failed += 1;
                self.say("FAILED", &target.label(), &reason);
                return Ok(());
            }
            Outcome::Unconfirmed(reason) => {
                self.summary.skipped += 1;
                self.say("unknown", &target.label(), &reason);
                return Ok(());
            }
            Outcome::Done { detail, new_key_id } => {
                self.summary.done += 1;
                self.say("done", &target.label(), &detail);
                (Progress::Done, detail, new_key_id, None)
            }
            Outcome::Pending { detail, new_key_id, deactivate_after } => {
                self.summary.pending += 1;
                self.say("pending", &target.label(), &detail);
                (Progress::Pending, detail, new_key_id, deactivate_after)
            }
            Outcome::Retiring { detail, new_key_id } => {
                self.summary.pending += 1;
                self.say("pending", &target.label(), &detail);
                resume = Some(replace::RESUME_REVOKE.to_string());
                (Progress::Pending, detail, new_key_id, None)
            }
        };
        let detail = self.masked(&detail);
        let entry = Entry {
            rule: target.rule.id.clone(),
            provider: target.provider(),
            action: target.how.name().to_string(),
            progress,
            updated: now(),
            detail,
            new_key_id,
            deactivate_after,
            resume,
        };
        self.state.record(&target.fingerprints, &entry)
    }

    /// Keeps a new key that could not be delivered, readable only by the user,
    /// under `<state dir>/undelivered/<fingerprint>.key`; the fingerprint must
    /// be one (a crafted report cannot name another file).
    pub(super) fn save_undelivered(&self, target: &Target<'_>, new_secret: &Secret) -> anyhow::Result<PathBuf> {
        use std::io::Write as _;
        let fingerprint = crate::finding::Fingerprint::parse(&target.fingerprints[0]).map_err(anyhow::Error::msg)?;
        let state_dir = self.options.state_path.parent().map(Path::to_path_buf).unwrap_or_default();
        crate::private_file::refuse_symlinked_parent(&state_dir.join("undelivered"))?;
        let dir = state_dir.join("undelivered");
        let path = dir.join(format!("{}.key", fingerprint.as_str()));
        let mut file = open_private(&path, Open::Truncate)
            .with_context(|| format!("saving the undelivered key to {}", path.display()))?;
        writeln!(file, "{}", new_secret.expose()).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }
}
