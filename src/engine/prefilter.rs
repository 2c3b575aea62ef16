//! The keyword prefilter: one ASCII-case-insensitive Aho-Corasick automaton
//! over every rule's keywords (and context words) finds, in a single pass over
//! the input, which rules are worth running and where.
//!
//! The search is one overlapping pass: every occurrence of every keyword is
//! reported (`sk-` inside `sk-ant-` too), without restarting the search
//! after each hit. A DFA walk is a chain of dependent table loads, so one walk
//! leaves the CPU mostly waiting; inputs of 1 KiB and more are cut into
//! [`STREAMS`] segments walked in lockstep, whose loads overlap (about three
//! times the throughput of a single walk on the full rule library).

use std::collections::HashMap;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::nfa::contiguous::NFA;
use aho_corasick::{Anchored, MatchKind};

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
    automaton: Option<Automata>,
    targets: Vec<Vec<Target>>,
}

/// Bytes a scanner searches with the NFA before it builds the DFA: a
/// pre-commit hook scanning a few changed files never pays the DFA's build
/// (a few milliseconds for the full rule library); a larger scan builds it
/// after the first MiB.
const LAZY_DFA_AFTER: u64 = 1 << 20;

/// The keyword automata: a contiguous NFA (cheap to build, slower to walk)
/// and the DFA, built on first need.
///
/// Both run over a compact alphabet ([`Alphabet`]): each byte that occurs in
/// a keyword (letters folded to lowercase) has its own code, every other byte
/// shares one. The DFA's table then has a column per keyword character
/// instead of one per distinct byte range of both cases; for the full rule
/// library that is a third of the size, which keeps it in the CPU's cache.
#[derive(Debug)]
struct Automata {
    patterns: Vec<Vec<u8>>,
    nfa: Walker<NFA>,
    dfa: OnceLock<Option<Walker<DFA>>>,
    searched: AtomicU64,
}

impl Automata {
    fn new(keywords: Vec<String>) -> Result<Automata, PrefilterError> {
        let alphabet = Alphabet::of(&keywords);
        let patterns: Vec<Vec<u8>> = keywords.iter().map(|keyword| alphabet.encode(keyword.as_bytes())).collect();
        let nfa = NFA::builder().match_kind(MatchKind::Standard).prefilter(false).build(&patterns)?;
        let nfa = Walker::new(nfa, &patterns, alphabet.clone());
        Ok(Automata { patterns, nfa, dfa: OnceLock::new(), searched: AtomicU64::new(0) })
    }

    /// The DFA once this scanner has searched enough to be worth it (`None`: keep the NFA).
    fn dfa(&self, haystack_len: usize) -> Option<&Walker<DFA>> {
        let searched = self.searched.fetch_add(haystack_len as u64, Ordering::Relaxed) + haystack_len as u64;
        if searched < LAZY_DFA_AFTER && self.dfa.get().is_none() {
            return None;
        }
        self.dfa
            .get_or_init(|| {
                DFA::builder()
                    .match_kind(MatchKind::Standard)
                    .prefilter(false)
                    .build(&self.patterns)
                    .ok()
                    .map(|dfa| Walker::new(dfa, &self.patterns, self.nfa.alphabet.clone()))
            })
            .as_ref()
    }
}

/// Segments walked in lockstep.
pub const STREAMS: usize = 4;
/// Inputs shorter than this are walked in one stream.
const MIN_INTERLEAVED_LEN: usize = 1024;

/// Codes of the bytes keywords are made of: letters case-folded, each other
/// keyword byte its own code, every byte that occurs in no keyword code 0.
#[derive(Debug, Clone)]
struct Alphabet {
    code: [u8; 256],
}

impl Alphabet {
    fn of(keywords: &[String]) -> Alphabet {
        let mut code = [0u8; 256];
        let mut next: u8 = 1;
        for byte in keywords.iter().flat_map(|keyword| keyword.bytes()) {
            let lower = byte.to_ascii_lowercase();
            if code[usize::from(lower)] == 0 {
                code[usize::from(lower)] = next;
                code[usize::from(lower.to_ascii_uppercase())] = next;
                // More than 255 distinct keyword bytes cannot be coded apart:
                // the extra ones share the last code (more hits, none lost).
                next = next.saturating_add(1);
            }
        }
        Alphabet { code }
    }

    fn encode(&self, bytes: &[u8]) -> Vec<u8> {
        bytes.iter().map(|&byte| self.code[usize::from(byte)]).collect()
    }
}

/// A keyword automaton and what walking it needs.
#[derive(Debug)]
struct Walker<A> {
    automaton: A,
    start: StateID,
    /// Longest keyword (bytes): how far past its segment a stream must read.
    longest: usize,
    /// What the automaton reads instead of each input byte.
    alphabet: Alphabet,
}

impl<A: Automaton> Walker<A> {
    fn new(automaton: A, patterns: &[Vec<u8>], alphabet: Alphabet) -> Walker<A> {
        let start = automaton.start_state(Anchored::No).expect("an unanchored automaton has an unanchored start state");
        let longest = patterns.iter().map(Vec::len).max().unwrap_or(1);
        Walker { automaton, start, longest, alphabet }
    }

    /// Walks `haystack[from..to]` from the start state and reports each
    /// keyword that starts before `report_before`, as `emit(pattern, start)`.
    fn walk(&self, haystack: &[u8], from: usize, to: usize, report_before: usize, emit: &mut impl FnMut(usize, usize)) {
        self.walk_on(self.start, haystack, from, to, report_before, emit);
    }

    /// [`Walker::walk`] from `state` instead of the start state.
    fn walk_on(
        &self,
        mut state: StateID,
        haystack: &[u8],
        from: usize,
        to: usize,
        report_before: usize,
        emit: &mut impl FnMut(usize, usize),
    ) {
        for (position, &byte) in haystack[from..to].iter().enumerate() {
            state = self.automaton.next_state(Anchored::No, state, self.alphabet.code[usize::from(byte)]);
            if self.automaton.is_special(state) {
                self.report(state, from + position + 1, report_before, emit);
            }
        }
    }

    /// The [`STREAMS`] segments of `haystack` walked in lockstep; each stream
    /// reads on past its segment's end by the longest keyword, so a keyword
    /// that starts in a segment is reported by that segment's stream only.
    fn walk_interleaved(&self, haystack: &[u8], emit: &mut impl FnMut(usize, usize)) {
        let segment = haystack.len().div_ceil(STREAMS);
        let starts: [usize; STREAMS] = std::array::from_fn(|stream| (stream * segment).min(haystack.len()));
        let limits: [usize; STREAMS] = std::array::from_fn(|stream| ((stream + 1) * segment).min(haystack.len()));
        let ends: [usize; STREAMS] =
            std::array::from_fn(|stream| (limits[stream] + self.longest - 1).min(haystack.len()));
        let lockstep = (0..STREAMS).map(|stream| ends[stream] - starts[stream]).min().unwrap_or(0);
        let lanes: [&[u8]; STREAMS] = std::array::from_fn(|stream| &haystack[starts[stream]..][..lockstep]);
        let mut states = [self.start; STREAMS];
        let mut step = 0;
        while step < lockstep {
            let reached = self.advance_while_unspecial(&lanes, &mut states, step);
            if reached == lockstep {
                break;
            }
            for stream in 0..STREAMS {
                if self.automaton.is_special(states[stream]) {
                    self.report(states[stream], starts[stream] + reached + 1, limits[stream], emit);
                }
            }
            step = reached + 1;
        }
        for stream in 0..STREAMS {
            let from = starts[stream] + lockstep;
            self.walk_on(states[stream], haystack, from, ends[stream], limits[stream], emit);
        }
    }

    /// Steps every stream from `from` on, in lockstep, until some stream
    /// enters a special (match) state; returns that step (every stream has
    /// consumed its byte at it), or the lanes' length. The states stay in
    /// registers here: each step is four independent table loads, and the
    /// rare matches are handled by the caller.
    #[inline(always)]
    fn advance_while_unspecial(&self, lanes: &[&[u8]; STREAMS], states: &mut [StateID; STREAMS], from: usize) -> usize {
        let length = lanes[0].len();
        assert!(lanes.iter().all(|lane| lane.len() == length));
        let automaton = &self.automaton;
        let code = &self.alphabet.code;
        let mut current = *states;
        let mut step = from;
        while step < length {
            for stream in 0..STREAMS {
                current[stream] =
                    automaton.next_state(Anchored::No, current[stream], code[usize::from(lanes[stream][step])]);
            }
            if current.iter().fold(false, |special, &state| special | automaton.is_special(state)) {
                break;
            }
            step += 1;
        }
        *states = current;
        step
    }

    /// Reports the keywords that end at `end` in match state `state` and start before `report_before`.
    fn report(&self, state: StateID, end: usize, report_before: usize, emit: &mut impl FnMut(usize, usize)) {
        if !self.automaton.is_match(state) {
            return;
        }
        for index in 0..self.automaton.match_len(state) {
            let pattern = self.automaton.match_pattern(state, index);
            let start = end - self.automaton.pattern_len(pattern);
            if start < report_before {
                emit(pattern.as_usize(), start);
            }
        }
    }
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
        let automaton = if patterns.is_empty() { None } else { Some(Automata::new(patterns)?) };
        Ok(Prefilter { automaton, targets })
    }

    /// Calls `on_hit(start, target)` for every keyword occurrence in
    /// `haystack`, in order of start position (the same start may be reported
    /// for several targets).
    pub fn for_each_hit(&self, haystack: &[u8], mut on_hit: impl FnMut(usize, Target)) {
        let Some(automata) = &self.automaton else {
            return;
        };
        let mut emit = |pattern: usize, start: usize| {
            for &target in &self.targets[pattern] {
                on_hit(start, target);
            }
        };
        match automata.dfa(haystack.len()) {
            Some(walker) if haystack.len() >= MIN_INTERLEAVED_LEN => walker.walk_interleaved(haystack, &mut emit),
            Some(walker) => walker.walk(haystack, 0, haystack.len(), haystack.len(), &mut emit),
            None => automata.nfa.walk(haystack, 0, haystack.len(), haystack.len(), &mut emit),
        }
    }

    /// Number of distinct keywords searched.
    pub fn keyword_count(&self) -> usize {
        self.targets.len()
    }
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

    /// Every hit, found by walking the whole haystack in one stream of the NFA.
    fn single_stream_hits(prefilter: &Prefilter, haystack: &[u8]) -> Vec<(usize, usize)> {
        let mut found = Vec::new();
        let walker = &prefilter.automaton.as_ref().unwrap().nfa;
        walker.walk(haystack, 0, haystack.len(), haystack.len(), &mut |pattern, start| found.push((start, pattern)));
        found.sort_unstable();
        found
    }

    proptest::proptest! {
        #[test]
        fn the_dfa_in_lockstep_streams_finds_exactly_what_one_nfa_stream_finds(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("sk-ant-api03".to_string()),
                    proptest::strategy::Just("SK-".to_string()),
                    "[a-z -]{0,400}",
                ],
                10..120,
            )
        ) {
            let rules = load_rule_str(RULES, "t.toml").unwrap();
            let prefilter = Prefilter::new(&rules).unwrap();
            let haystack = parts.concat();
            let mut found = Vec::new();
            let dfa = prefilter.automaton.as_ref().unwrap().dfa(LAZY_DFA_AFTER as usize).unwrap();
            dfa.walk_interleaved(haystack.as_bytes(), &mut |pattern, start| {
                found.push((start, pattern))
            });
            found.sort_unstable();
            proptest::prop_assert_eq!(found, single_stream_hits(&prefilter, haystack.as_bytes()));
        }
    }

    #[test]
    fn matching_ignores_ascii_case() {
        assert_eq!(hits(RULES, "SK-"), [(0, Target::Rule(0))]);
    }
}

#[cfg(test)]
mod size {
    use aho_corasick::automaton::Automaton;

    /// The DFA of the whole rule library must stay near the CPU's cache size
    /// (it was 4.5 MB over raw bytes, 2.3 MB over the compact alphabet).
    #[test]
    fn the_keyword_dfa_of_the_built_in_rules_stays_small() {
        let rules = crate::rules::RuleSet::defaults().unwrap();
        let prefilter = super::Prefilter::new(&rules).unwrap();
        let automata = prefilter.automaton.as_ref().unwrap();
        let dfa = automata.dfa(1 << 30).unwrap();
        let bytes = dfa.automaton.memory_usage();
        assert!(bytes < 3 << 20, "{} keywords: the DFA takes {bytes} bytes", automata.patterns.len());
    }
}
