//! The keyword prefilter: one ASCII-case-insensitive Aho-Corasick automaton
//! over every rule's keywords (and context words) finds, in a single pass over
//! the input, which rules are worth running and where.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

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
        let automaton = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .kind(Some(AhoCorasickKind::DFA))
                    .build(&patterns)?,
            )
        };
        Ok(Prefilter { automaton, targets })
    }

    /// Calls `on_hit(start, target)` for every keyword occurrence in `haystack`,
    /// including overlapping ones, in order of their end position.
    pub fn for_each_hit(&self, haystack: &[u8], mut on_hit: impl FnMut(usize, Target)) {
        let Some(automaton) = &self.automaton else {
            return;
        };
        for hit in automaton.find_overlapping_iter(haystack) {
            for &target in &self.targets[hit.pattern().as_usize()] {
                on_hit(hit.start(), target);
            }
        }
    }

    /// Number of distinct keywords searched.
    pub fn keyword_count(&self) -> usize {
        self.targets.len()
    }
}
