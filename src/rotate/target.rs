//! Turning findings into rotation targets: one per distinct (rule, secret),
//! with the reason when a finding is not acted on.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::finding::{Confidence, Finding, Secret};
use crate::rules::{Rule, RuleSet, RuleSource};
use crate::verify::runner::companions;
use crate::verify::Status;

use super::action::{ActionKind, Rotation};

/// How a target is rotated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum How {
    /// A built-in action.
    Builtin(ActionKind),
    /// The user's `--exec` command.
    Exec(String),
}

impl How {
    /// Name for the audit trail.
    pub fn name(&self) -> &str {
        match self {
            How::Builtin(kind) => kind.name(),
            How::Exec(_) => "exec",
        }
    }
}

/// One distinct exposed key and everything known about it.
#[derive(Debug)]
pub struct Target<'a> {
    /// The rule that found it.
    pub rule: &'a Rule,
    /// How to rotate it.
    pub how: How,
    /// The provider's console page.
    pub console: Option<String>,
    /// The key.
    pub secret: Secret,
    /// Same-file secrets of the rules its verifier requires.
    pub companions: BTreeMap<String, String>,
    /// Verification status, if verified.
    pub status: Option<Status>,
    /// The highest confidence of its findings (low: the issuing provider is uncertain).
    pub confidence: Confidence,
    /// Facts from verification (balance, account...).
    pub details: BTreeMap<String, Value>,
    /// Fingerprints of every finding of this key.
    pub fingerprints: Vec<String>,
    /// Where it was found (`path:line`, with the commit in history scans).
    pub locations: Vec<String>,
    /// The database login around a password (from the connection string on its line).
    pub database: Option<crate::verify::database::Target>,
    /// The file it was found in, when it is one on disk (a service-account key file).
    pub key_file: Option<std::path::PathBuf>,
}

impl Target<'_> {
    /// Provider name for messages and the audit trail.
    pub fn provider(&self) -> String {
        match (&self.how, &self.rule.verify) {
            (How::Builtin(kind), _) if kind.endpoint().is_some() => kind.endpoint().unwrap_or_default().0.to_string(),
            (_, Some(verifier)) => verifier.provider.clone(),
            _ => self.rule.id.clone(),
        }
    }

    /// The provider's name as people know it (`Google Cloud`), else the verifier's.
    pub fn provider_name(&self) -> String {
        self.rule.provider.as_ref().map_or_else(|| self.provider(), |provider| provider.name.clone())
    }

    /// The key redacted to its prefix.
    pub fn redacted(&self) -> String {
        self.secret.redacted()
    }

    /// `rule key (where)` for messages.
    pub fn label(&self) -> String {
        let more =
            if self.locations.len() > 1 { format!(" and {} more", self.locations.len() - 1) } else { String::new() };
        format!("{} {} ({}{more})", self.rule.id, self.redacted(), self.locations.first().map_or("", String::as_str))
    }

    /// The target as JSON for hooks and notifications: everything but the key.
    pub fn describe_redacted(&self) -> Value {
        json!({
            "rule": self.rule.id,
            "description": self.rule.description,
            "provider": self.provider(),
            "action": self.how.name(),
            "secret": self.redacted(),
            "fingerprints": self.fingerprints,
            "locations": self.locations,
            "verification": {
                "status": self.status.as_ref().map(Status::label),
                "details": self.details,
            },
            "console": self.console,
        })
    }
}

/// A finding that will not be acted on, and why.
#[derive(Debug)]
pub struct Skipped {
    /// `rule key (where)`.
    pub label: String,
    /// Why.
    pub reason: String,
}

/// Groups findings into targets; findings without a way to rotate them are skipped with a reason.
pub fn collect_targets<'a>(
    findings: &[Finding],
    rules: &'a RuleSet,
    exec: Option<&str>,
    allow_custom: bool,
) -> (Vec<Target<'a>>, Vec<Skipped>) {
    let mut targets: Vec<Target<'a>> = Vec::new();
    let mut skipped = Vec::new();
    for (index, finding) in findings.iter().enumerate() {
        let location = location_of(finding);
        let label = format!("{} {} ({location})", finding.rule_id, finding.secret.redacted());
        let Some(rule) = rules.get(&finding.rule_id) else {
            skipped.push(Skipped { label, reason: "its rule is not in the rule set in use".into() });
            continue;
        };
        if finding.secret.is_redacted() {
            skipped.push(Skipped {
                label,
                reason: "the report holds a redacted secret: write it with --show-secrets to rotate".into(),
            });
            continue;
        }
        let declared: Option<&Rotation> = rule.rotate.as_ref();
        let how = match (declared, exec) {
            (Some(rotation), _) if matches!(rule.source, RuleSource::Embedded(_)) || allow_custom => {
                How::Builtin(rotation.action)
            }
            (_, Some(command)) => How::Exec(command.to_string()),
            (Some(_), None) => {
                skipped.push(Skipped {
                    label,
                    reason: "the rule comes from a config file: its rotation runs only with --allow-custom-verify"
                        .into(),
                });
                continue;
            }
            // Every provider keyhound verifies can at least be rotated by the guided flow.
            (None, None) if matches!(rule.source, RuleSource::Embedded(_)) || allow_custom => {
                match super::action::rotation_of(rule) {
                    Some(kind) => How::Builtin(kind),
                    None => {
                        skipped.push(Skipped {
                            label,
                            reason: "keyhound has no rotation for this provider: retire it in the provider's \
                                     console, or give --exec CMD"
                                .into(),
                        });
                        continue;
                    }
                }
            }
            (None, None) => {
                skipped.push(Skipped {
                    label,
                    reason: "keyhound has no rotation for this provider: retire it in the provider's console, or \
                             give --exec CMD"
                        .into(),
                });
                continue;
            }
        };
        let requires = rule.verify.as_ref().map(|verifier| verifier.requires.clone()).unwrap_or_default();
        let companions = companions(findings, index, &requires).unwrap_or_default();
        let (status, details) = match &finding.verification {
            Some(verification) => (Some(verification.status.clone()), verification.details.clone()),
            None => (None, BTreeMap::new()),
        };
        let fingerprint = finding.fingerprint.as_str().to_string();
        match targets
            .iter_mut()
            .find(|target| target.rule.id == rule.id && target.secret.expose() == finding.secret.expose())
        {
            Some(target) => {
                if !target.fingerprints.contains(&fingerprint) {
                    target.fingerprints.push(fingerprint);
                }
                target.locations.push(location);
                target.confidence = target.confidence.max(finding.confidence);
                if target.status != Some(Status::Live) && status.is_some() {
                    target.status = status;
                    target.details = details;
                }
            }
            None => targets.push(Target {
                rule,
                how,
                // The rotation's own page, else where the provider manages its keys.
                console: declared
                    .and_then(|rotation| rotation.console.clone())
                    .or_else(|| rule.provider.as_ref().and_then(|provider| provider.console.clone())),
                secret: finding.secret.clone(),
                companions,
                status,
                confidence: finding.confidence,
                fingerprints: vec![fingerprint],
                locations: vec![location],
                database: database_login(rule, finding, &details),
                key_file: finding.origin.path().map(std::path::Path::to_path_buf),
                details,
            }),
        }
    }
    (targets, skipped)
}

/// The database login a password belongs to: what a live verification
/// recorded, else the connection string on its line (a report keeps only the
/// match, which may end inside the host name).
fn database_login(
    rule: &Rule,
    finding: &Finding,
    details: &BTreeMap<String, Value>,
) -> Option<crate::verify::database::Target> {
    rule.verify.as_deref().filter(|verifier| verifier.is_database_login())?;
    let (line, secret) = (finding.line.expose(), finding.secret.expose());
    crate::verify::database::target_from_details(details, secret)
        .or_else(|| crate::verify::database::target_in(line, secret))
}

fn location_of(finding: &Finding) -> String {
    let mut text = finding.origin.display_path();
    if finding.location.line > 0 {
        text.push_str(&format!(":{}", finding.location.line));
    }
    if let Some(commit) = finding.origin.commit() {
        text.push_str(&format!(" in commit {}", crate::finding::short_id(&commit.id)));
    }
    text
}
