//! Masking every found secret wherever it shows up in a report: a line can
//! hold two keys, and a commit message can hold a key that other findings of
//! the same commit would otherwise print in full.

use std::sync::Arc;

use crate::finding::{CommitInfo, Finding, Origin, Redaction, Secret};
use crate::redact::Masker;

/// Replaces every found secret in the findings' line, match, commit and
/// verification texts with its redacted form (nothing changes with
/// [`Redaction::None`]).
pub fn mask_secrets(findings: &mut [Finding], redaction: Redaction) {
    if redaction == Redaction::None {
        return;
    }
    let masker = Masker::new(findings.iter().map(|finding| finding.secret.expose()), redaction);
    let mask = |text: &str| -> Option<String> { masker.finds_any(text).then(|| masker.mask(text).into_owned()) };
    for finding in findings.iter_mut() {
        let own = finding.secret.expose().to_string();
        // The finding's own secret stays, so that its redaction follows the usual path.
        let keep_own = |text: &str| -> Option<String> {
            let masked = mask(text)?;
            Some(masked.replace(&redaction.apply(&own), &own))
        };
        if let Some(line) = keep_own(finding.line.expose()) {
            finding.line = Secret::new(line);
        }
        if let Some(matched) = keep_own(finding.matched.expose()) {
            finding.matched = Secret::new(matched);
        }
        mask_commit(&mut finding.origin, &mask);
        if let Some(verification) = &mut finding.verification {
            masker.mask_verification(verification);
        }
    }
}

fn mask_commit(origin: &mut Origin, mask: &dyn Fn(&str) -> Option<String>) {
    let masked = |commit: &Arc<CommitInfo>| -> Option<Arc<CommitInfo>> {
        let summary = mask(&commit.summary)?;
        Some(Arc::new(CommitInfo { summary, ..(**commit).clone() }))
    };
    match origin {
        Origin::GitBlob(blob) => {
            let blob = Arc::make_mut(blob);
            if let Some(commit) = masked(&blob.first.commit) {
                blob.first.commit = commit;
            }
            for occurrence in &mut blob.also {
                if let Some(commit) = masked(&occurrence.commit) {
                    occurrence.commit = commit;
                }
            }
        }
        Origin::CommitMessage(commit) => {
            if let Some(masked) = masked(commit) {
                *commit = masked;
            }
        }
        Origin::ArchiveMember { archive, .. } => mask_commit(archive, mask),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(secret: &str, line: &str, origin: Origin) -> Finding {
        Finding { line: Secret::new(line), ..Finding::sample("r", secret, origin, 1) }
    }

    #[test]
    fn a_second_secret_on_the_line_and_a_key_in_a_commit_message_are_masked() {
        let commit = Arc::new(CommitInfo {
            id: "abc".into(),
            author: "a".into(),
            email: "e".into(),
            date: "d".into(),
            summary: "oops AKIAQYLPMN5HHHFPZAM2".into(),
        });
        let line = "KEY=AKIAQYLPMN5HHHFPZAM2 SECRET=Zq8Hn3KfP2xLwT7mR4vY9cB1sJ6dG0aa";
        let mut findings = vec![
            finding("AKIAQYLPMN5HHHFPZAM2", line, Origin::CommitMessage(commit.clone())),
            finding("Zq8Hn3KfP2xLwT7mR4vY9cB1sJ6dG0aa", line, Origin::Stdin),
        ];
        mask_secrets(&mut findings, Redaction::Prefix);
        assert_eq!(findings[1].line_text(Redaction::Prefix), "KEY=AKIA***** SECRET=Zq8H*****");
        assert_eq!(findings[0].line_text(Redaction::Prefix), "KEY=AKIA***** SECRET=Zq8H*****");
        let Origin::CommitMessage(masked) = &findings[0].origin else { panic!() };
        assert_eq!(masked.summary, "oops AKIA*****");
        let mut shown = vec![finding("AKIAQYLPMN5HHHFPZAM2", line, Origin::CommitMessage(commit))];
        mask_secrets(&mut shown, Redaction::None);
        assert_eq!(shown[0].line.expose(), line, "--show-secrets shows everything");
    }
}
