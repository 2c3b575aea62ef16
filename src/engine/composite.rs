//! Composite rules (gitleaks 8.28): a rule with `[[rules.required]]` reports
//! a match only when each required rule also matches in the same input,
//! within `withinLines` lines and `withinColumns` columns when given; a rule
//! with `skipReport` never reports, it only serves as such a requirement.

use std::ops::Range;

use crate::rules::RuleSet;

use super::Match;

/// One requirement of a composite rule, by rule index.
#[derive(Debug, Clone)]
struct Requirement {
    rule: usize,
    within_lines: Option<usize>,
    within_columns: Option<usize>,
}

/// The composite-rule constraints of a rule set.
#[derive(Debug, Default)]
pub struct Composites {
    /// Requirements by rule index (empty for ordinary rules).
    required: Vec<Vec<Requirement>>,
    /// Whether each rule's matches are never reported.
    skip_report: Vec<bool>,
    /// Whether any rule is composite or skip-report (otherwise nothing to do).
    active: bool,
}

impl Composites {
    /// The constraints of `rules` (required ids are checked when loaded).
    pub fn new(rules: &RuleSet) -> Self {
        let index_of = |id: &str| rules.rules.iter().position(|rule| rule.id == id);
        let required: Vec<Vec<Requirement>> = rules
            .rules
            .iter()
            .map(|rule| {
                rule.required
                    .iter()
                    .filter_map(|spec| {
                        Some(Requirement {
                            rule: index_of(&spec.id)?,
                            within_lines: spec.within_lines,
                            within_columns: spec.within_columns,
                        })
                    })
                    .collect()
            })
            .collect();
        let skip_report: Vec<bool> = rules.rules.iter().map(|rule| rule.skip_report).collect();
        let active = required.iter().any(|list| !list.is_empty()) || skip_report.contains(&true);
        Composites { required, skip_report, active }
    }

    /// Keeps, of one input's matches (`all[first..]`), the composite matches
    /// whose requirements hold and every ordinary match; drops skip-report matches.
    pub fn apply(&self, bytes: &[u8], all: &mut Vec<Match>, first: usize) {
        if !self.active || all.len() == first {
            return;
        }
        let matches = &all[first..];
        let places: Vec<(usize, usize)> = matches.iter().map(|found| place(bytes, &found.secret)).collect();
        let keep: Vec<bool> = (0..matches.len())
            .map(|index| {
                let found = &matches[index];
                if self.skip_report[found.rule] {
                    return false;
                }
                self.required[found.rule].iter().all(|requirement| {
                    matches.iter().zip(&places).enumerate().any(|(other, (candidate, &(line, column)))| {
                        other != index
                            && candidate.rule == requirement.rule
                            && requirement.within_lines.is_none_or(|limit| line.abs_diff(places[index].0) <= limit)
                            && requirement.within_columns.is_none_or(|limit| column.abs_diff(places[index].1) <= limit)
                    })
                })
            })
            .collect();
        let mut flags = std::iter::repeat_n(true, first).chain(keep);
        all.retain(|_| flags.next().unwrap_or(false));
    }
}

/// The (line, column) of a span's start, both 0-based.
fn place(bytes: &[u8], span: &Range<usize>) -> (usize, usize) {
    let before = &bytes[..span.start.min(bytes.len())];
    let line = memchr::memchr_iter(b'\n', before).count();
    let column = before.len() - memchr::memrchr(b'\n', before).map_or(0, |newline| newline + 1);
    (line, column)
}

#[cfg(test)]
mod tests {
    use crate::engine::{Input, Scanner};
    use crate::rules::load::load_rule_str;

    const COMPOSITE: &str = r#"
[[rules]]
id = "acme-client-secret"
regex = '''secret=([a-z0-9]{16})'''
keywords = ["secret="]
[[rules.required]]
id = "acme-client-id"
withinLines = 2

[[rules]]
id = "acme-client-id"
regex = '''client_id=(acme_[a-z0-9]{8})'''
keywords = ["client_id="]
skipReport = true
"#;

    fn reported(text: &str) -> Vec<String> {
        let scanner = Scanner::new(load_rule_str(COMPOSITE, "composite.toml").unwrap()).unwrap();
        let mut scratch = scanner.scratch();
        let mut out = Vec::new();
        scanner.scan(Input { bytes: text.as_bytes(), path: None, commit: None, binary: false }, &mut scratch, &mut out);
        out.iter().map(|found| scanner.rules().rules[found.rule].id.clone()).collect()
    }

    #[test]
    fn a_composite_rule_reports_only_with_its_required_rule_nearby_and_skip_report_rules_never() {
        let near = "client_id=acme_ab12cd34\nsecret=q8v2m4x7k1z9p3w6\n";
        assert_eq!(reported(near), ["acme-client-secret"]);
        let alone = "secret=q8v2m4x7k1z9p3w6\n";
        assert!(reported(alone).is_empty(), "the required rule is missing");
        let far = format!("client_id=acme_ab12cd34\n{}secret=q8v2m4x7k1z9p3w6\n", "\n".repeat(5));
        assert!(reported(&far).is_empty(), "the required rule is more than 2 lines away");
        assert!(reported("client_id=acme_ab12cd34\n").is_empty(), "skipReport rules are never reported");
    }

    #[test]
    fn a_column_limit_counts_from_the_start_of_each_line() {
        let rules = COMPOSITE.replace("withinLines = 2", "withinLines = 1\nwithinColumns = 4");
        let scanner = Scanner::new(load_rule_str(&rules, "composite.toml").unwrap()).unwrap();
        let mut scratch = scanner.scratch();
        for (text, expected) in [
            ("client_id=acme_ab12cd34\nsecret=q8v2m4x7k1z9p3w6\n", 1),
            ("client_id=acme_ab12cd34\n          secret=q8v2m4x7k1z9p3w6\n", 0),
        ] {
            let mut out = Vec::new();
            let input = Input { bytes: text.as_bytes(), path: None, commit: None, binary: false };
            scanner.scan(input, &mut scratch, &mut out);
            assert_eq!(out.len(), expected, "{text:?}");
        }
    }
}
