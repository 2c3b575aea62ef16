//! The keyword prefilter: one ASCII-case-insensitive Aho-Corasick automaton
//! over every rule's keywords (and context words) finds, in a single pass over
//! the input, which rules are worth running and where.
//!
//! The search is leftmost-longest and non-overlapping, which is much faster
//! than an overlapping search, yet loses nothing: each pattern's targets
//! include those of every keyword it contains (a hit on `sk-ant-` is also a
//! hit on `sk-`), and after each hit the search resumes one byte after the
//! hit's start, so keywords that begin inside a hit are found too.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, Input, MatchKind};

use crate::rules::RuleSet;

/// What a keyword hit means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The rule with this index may match near the hit.
    Rule(u32),
    /// The context of the rule with this index is present in the input.
    Context(u32),
}

/// The automaton plus, per pattern, the rules it stands for.
#[derive(Debug)]
pub struct Prefilter {
    automaton: Option<AhoCorasick>,
    targets: Vec<Vec<Target>>,
}

/// Error building the automaton (only possible with absurdly many keywords).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the keyword automaton: {0}")]
pub struct PrefilterError(#[from] aho_corasick::BuildError);

impl Prefilter {
    /// Builds the automaton over all keywords in `rules`. Keywords are
    /// de-duplicated case-insensitively, so a common word shared by many
    /// rules is searched once.
    pub fn new(rules: &RuleSet) -> Result<Self, PrefilterError> {
        let mut patterns: Vec<String> = Vec::new();
        let mut targets: Vec<Vec<Target>> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut add = |keyword: &str, target: Target| {
            let key = keyword.to_ascii_lowercase();
            let id = *index.entry(key.clone()).or_insert_with(|| {
                patterns.push(key);
                targets.push(Vec::new());
                patterns.len() - 1
            });
            if !targets[id].contains(&target) {
                targets[id].push(target);
            }
        };
        for (rule_index, rule) in rules.rules.iter().enumerate() {
            let rule_index = u32::try_from(rule_index).expect("fewer than 4 billion rules");
            if rule.regex.is_none() {
                continue;
            }
            for keyword in &rule.keywords {
                add(keyword, Target::Rule(rule_index));
            }
            for keyword in rule.context.iter().flat_map(|context| &context.keywords) {
                add(keyword, Target::Context(rule_index));
            }
        }
        let targets = close_over_contained(&patterns, &targets);
        let automaton = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::LeftmostLongest)
                    .kind(Some(AhoCorasickKind::DFA))
                    .build(&patterns)?,
            )
        };
        Ok(Prefilter { automaton, targets })
    }

    /// Calls `on_hit(start, target)` for every keyword occurrence in
    /// `haystack`, in order of start position (the same start may be reported
    /// for several targets).
    pub fn for_each_hit(&self, haystack: &[u8], mut on_hit: impl FnMut(usize, Target)) {
        let Some(automaton) = &self.automaton else {
            return;
        };
        let mut input = Input::new(haystack);
        while let Some(hit) = automaton.find(input.clone()) {
            for &target in &self.targets[hit.pattern().as_usize()] {
                on_hit(hit.start(), target);
            }
            input.set_start(hit.start() + 1);
        }
    }

    /// Number of distinct keywords searched.
    pub fn keyword_count(&self) -> usize {
        self.targets.len()
    }
}

/// For each pattern, the union of its own targets and those of every other
/// pattern it contains (patterns are already lowercase).
fn close_over_contained(patterns: &[String], targets: &[Vec<Target>]) -> Vec<Vec<Target>> {
    patterns
        .iter()
        .map(|outer| {
            let mut closed: Vec<Target> = Vec::new();
            for (inner, inner_targets) in patterns.iter().zip(targets) {
                if outer.contains(inner.as_str()) {
                    for target in inner_targets {
                        if !closed.contains(target) {
                            closed.push(*target);
                        }
                    }
                }
            }
            closed
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::load::load_rule_str;

    fn hits(config: &str, haystack: &str) -> Vec<(usize, Target)> {
        let prefilter = Prefilter::new(&load_rule_str(config, "t.toml").unwrap()).unwrap();
        let mut found = Vec::new();
        prefilter.for_each_hit(haystack.as_bytes(), |start, target| found.push((start, target)));
        found.sort_by_key(|(start, target)| (*start, format!("{target:?}")));
        found
    }

    const RULES: &str = r#"
[[rules]]
id = "short"
regex = "x"
keywords = ["sk-"]
[[rules]]
id = "long"
regex = "x"
keywords = ["SK-ANT-"]
[[rules]]
id = "tail"
regex = "x"
keywords = ["ant-api"]
"#;

    #[test]
    fn contained_and_overlapping_keywords_are_all_reported() {
        let found = hits(RULES, "key: sk-ant-api03");
        assert_eq!(
            found,
            [(5, Target::Rule(0)), (5, Target::Rule(1)), (8, Target::Rule(2))],
            "sk- inside sk-ant-, and ant-api starting inside the sk-ant- hit"
        );
    }

    #[test]
    fn matching_ignores_ascii_case() {
        assert_eq!(hits(RULES, "SK-"), [(0, Target::Rule(0))]);
    }
}
