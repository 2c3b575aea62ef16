//! Runs every rule's `examples` (must be reported) and `negative_examples`
//! (must not be) through the full engine, with all other rules and allowlists
//! active, exactly as a scan would see them.

use std::fmt;

use crate::engine::{Input, Scanner};
use crate::finding::redact;

/// Which list an example came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExampleKind {
    /// From `examples`: must be reported.
    Positive,
    /// From `negative_examples`: must not be reported.
    Negative,
}

/// An example that did not behave as declared.
#[derive(Debug, Clone)]
pub struct ExampleFailure {
    /// The rule.
    pub rule_id: String,
    /// Positive or negative.
    pub kind: ExampleKind,
    /// Index in its list (0-based).
    pub index: usize,
    /// The example text.
    pub example: String,
    /// What went wrong.
    pub detail: String,
}

impl fmt::Display for ExampleFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = match self.kind {
            ExampleKind::Positive => "examples",
            ExampleKind::Negative => "negative_examples",
        };
        write!(f, "rule `{}` {list}[{}]: {}\n    {:?}", self.rule_id, self.index, self.detail, self.example)
    }
}

/// Summary of a run over all rules.
#[derive(Debug, Default)]
pub struct ExampleReport {
    /// Examples checked.
    pub checked: usize,
    /// Examples that failed.
    pub failures: Vec<ExampleFailure>,
}

/// Checks every example of every rule in `scanner`.
pub fn check_examples(scanner: &Scanner) -> ExampleReport {
    let mut report = ExampleReport::default();
    let mut scratch = scanner.scratch();
    let mut matches = Vec::new();
    for (index, rule) in scanner.rules().rules.iter().enumerate() {
        let lists = [(ExampleKind::Positive, &rule.examples), (ExampleKind::Negative, &rule.negative_examples)];
        for (kind, examples) in lists {
            for (position, example) in examples.iter().enumerate() {
                report.checked += 1;
                matches.clear();
                let input = Input { bytes: example.as_bytes(), path: None, commit: None, binary: false };
                scanner.scan(input, &mut scratch, &mut matches);
                let detail = if rule.skip_report {
                    // Never reported (it only serves composite rules): its regex must match its examples.
                    let matched = rule.regex.as_ref().is_some_and(|regex| regex.is_match(example.as_bytes()));
                    match (kind, matched) {
                        (ExampleKind::Positive, false) => {
                            Some("not matched by this rule's regex (it has skipReport)".into())
                        }
                        (ExampleKind::Negative, true) => {
                            Some("matched by this rule's regex (it has skipReport)".into())
                        }
                        _ => None,
                    }
                } else {
                    reported_detail(scanner, index, kind, example, &matches)
                };
                if let Some(detail) = detail {
                    report.failures.push(ExampleFailure {
                        rule_id: rule.id.clone(),
                        kind,
                        index: position,
                        example: example.clone(),
                        detail,
                    });
                }
            }
        }
    }
    report
}

/// What is wrong with how a scan reported rule `index`'s example, if anything.
fn reported_detail(
    scanner: &Scanner,
    index: usize,
    kind: ExampleKind,
    example: &str,
    matches: &[crate::engine::Match],
) -> Option<String> {
    let own = matches.iter().find(|found| found.rule == index);
    match (kind, own) {
        (ExampleKind::Positive, None) => {
            let others: Vec<&str> = matches.iter().map(|found| scanner.rules().rules[found.rule].id.as_str()).collect();
            if others.is_empty() {
                Some("not reported by any rule".to_string())
            } else {
                Some(format!("not reported by this rule (reported by: {})", others.join(", ")))
            }
        }
        (ExampleKind::Negative, Some(found)) => {
            let secret = String::from_utf8_lossy(&example.as_bytes()[found.secret.clone()]);
            Some(format!("reported, secret {}", redact(&secret)))
        }
        _ => None,
    }
}
