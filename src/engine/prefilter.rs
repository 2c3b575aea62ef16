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

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{OnceLock, PoisonError, RwLock};

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::nfa::contiguous::NFA;
use aho_corasick::{Anchored, MatchKind};

use crate::rules::RuleSet;

mod table;

use table::KeywordTable;

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
/// and the DFA's flat table ([`KeywordTable`]), built from it on first need.
/// Once the table exists the NFA is dropped (the first time no search is
/// walking it): a large scan does not keep both in memory.
///
/// Both run over a compact alphabet ([`Alphabet`]): each byte that occurs in
/// a keyword (letters folded to lowercase) has its own code, every other byte
/// shares one. The DFA's table then has a column per keyword character
/// instead of one per distinct byte range of both cases; for the full rule
/// library that is a fraction of the size, which keeps it in the CPU's cache.
#[derive(Debug)]
struct Automata {
    /// `None` once the DFA has replaced it.
    nfa: RwLock<Option<Walker<NFA>>>,
    dfa: OnceLock<Option<Walker<KeywordTable>>>,
    /// Set by the thread that builds the DFA.
    building: AtomicBool,
    /// Set once the NFA is dropped.
    nfa_dropped: AtomicBool,
    searched: AtomicU64,
}

impl Automata {
    fn new(keywords: Vec<String>) -> Result<Automata, PrefilterError> {
        let alphabet = Alphabet::of(&keywords);
        let patterns: Vec<Vec<u8>> = keywords.iter().map(|keyword| alphabet.encode(keyword.as_bytes())).collect();
        let nfa = NFA::builder().match_kind(MatchKind::Standard).prefilter(false).build(&patterns)?;
        let nfa = Walker::new(nfa, &patterns, alphabet);
        Ok(Automata {
            nfa: RwLock::new(Some(nfa)),
            dfa: OnceLock::new(),
            building: AtomicBool::new(false),
            nfa_dropped: AtomicBool::new(false),
            searched: AtomicU64::new(0),
        })
    }

    /// Walks all of `haystack` with the DFA once it is built, else with the NFA.
    fn search(&self, haystack: &[u8], emit: &mut impl FnMut(usize, usize)) {
        if let Some(walker) = self.dfa(haystack.len()) {
            self.drop_nfa();
            return walker.walk_all(haystack, emit);
        }
        let nfa = self.nfa.read().unwrap_or_else(PoisonError::into_inner);
        match nfa.as_ref() {
            Some(walker) => walker.walk(haystack, 0, haystack.len(), haystack.len(), emit),
            // Dropped between the two looks: the DFA exists.
            None => {
                if let Some(walker) = self.dfa.get().and_then(Option::as_ref) {
                    walker.walk_all(haystack, emit)
                }
            }
        }
    }

    /// Drops the NFA (the DFA exists) unless a search is walking it; a later search tries again.
    fn drop_nfa(&self) {
        if self.nfa_dropped.load(Ordering::Relaxed) {
            return;
        }
        if let Ok(mut nfa) = self.nfa.try_write() {
            *nfa = None;
            self.nfa_dropped.store(true, Ordering::Relaxed);
        }
    }

    /// The DFA once this scanner has searched enough to be worth it (`None`:
    /// keep the NFA). One thread builds it while the others go on with the NFA:
    /// nobody waits for it.
    fn dfa(&self, haystack_len: usize) -> Option<&Walker<KeywordTable>> {
        if let Some(table) = self.dfa.get() {
            return table.as_ref();
        }
        let searched = self.searched.fetch_add(haystack_len as u64, Ordering::Relaxed) + haystack_len as u64;
        if searched < LAZY_DFA_AFTER || self.building.swap(true, Ordering::AcqRel) {
            return None;
        }
        let nfa = self.nfa.read().unwrap_or_else(PoisonError::into_inner);
        let walker = nfa.as_ref().and_then(|nfa| {
            KeywordTable::of(&nfa.steps, nfa.alphabet.codes).map(|table| Walker {
                steps: table,
                longest: nfa.longest,
                pattern_lens: nfa.pattern_lens.clone(),
                alphabet: nfa.alphabet.clone(),
            })
        });
        drop(nfa);
        self.dfa.get_or_init(|| walker).as_ref()
    }
}

/// Segments walked in lockstep.
pub const STREAMS: usize = 4;
// `advance_while_unspecial` zips exactly four lanes.
const _: () = assert!(STREAMS == 4);
/// Inputs shorter than this are walked in one stream.
const MIN_INTERLEAVED_LEN: usize = 1024;

/// Codes of the bytes keywords are made of: letters case-folded, each other
/// keyword byte its own code, every byte that occurs in no keyword code 0.
#[derive(Debug, Clone)]
struct Alphabet {
    code: [u8; 256],
    /// Codes in use (`0..codes`).
    codes: usize,
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
        Alphabet { code, codes: usize::from(next) }
    }

    fn encode(&self, bytes: &[u8]) -> Vec<u8> {
        bytes.iter().map(|&byte| self.code[usize::from(byte)]).collect()
    }
}

/// The steps of a keyword automaton, as a walk takes them.
trait Steps {
    /// A state of the automaton.
    type State: Copy;
    /// The unanchored start state.
    fn start(&self) -> Self::State;
    /// The state after reading `code` in `state`.
    fn next(&self, state: Self::State, code: u8) -> Self::State;
    /// Whether `state` may end keywords (cheap; [`Steps::matches`] tells which).
    fn is_special(&self, state: Self::State) -> bool;
    /// Calls `emit(pattern)` for each keyword that ends in `state`.
    fn matches(&self, state: Self::State, emit: impl FnMut(usize));
}

impl Steps for NFA {
    type State = StateID;

    fn start(&self) -> StateID {
        self.start_state(Anchored::No).expect("an unanchored automaton has an unanchored start state")
    }

    #[inline(always)]
    fn next(&self, state: StateID, code: u8) -> StateID {
        self.next_state(Anchored::No, state, code)
    }

    #[inline(always)]
    fn is_special(&self, state: StateID) -> bool {
        Automaton::is_special(self, state)
    }

    fn matches(&self, state: StateID, emit: impl FnMut(usize)) {
        if self.is_match(state) {
            (0..self.match_len(state)).map(|index| self.match_pattern(state, index).as_usize()).for_each(emit);
        }
    }
}

impl Steps for KeywordTable {
    type State = u32;

    fn start(&self) -> u32 {
        KeywordTable::start(self)
    }

    #[inline(always)]
    fn next(&self, state: u32, code: u8) -> u32 {
        KeywordTable::next(self, state, code)
    }

    #[inline(always)]
    fn is_special(&self, state: u32) -> bool {
        self.is_match(state)
    }

    fn matches(&self, state: u32, emit: impl FnMut(usize)) {
        KeywordTable::matches(self, state).iter().map(|&pattern| pattern as usize).for_each(emit);
    }
}

/// A keyword automaton and what walking it needs.
#[derive(Debug)]
struct Walker<S> {
    steps: S,
    /// Longest keyword (bytes): how far past its segment a stream must read.
    longest: usize,
    /// Each keyword's length (bytes), by pattern number.
    pattern_lens: Vec<usize>,
    /// What the automaton reads instead of each input byte.
    alphabet: Alphabet,
}

impl<S: Steps> Walker<S> {
    fn new(steps: S, patterns: &[Vec<u8>], alphabet: Alphabet) -> Walker<S> {
        let pattern_lens: Vec<usize> = patterns.iter().map(Vec::len).collect();
        let longest = pattern_lens.iter().copied().max().unwrap_or(1);
        Walker { steps, longest, pattern_lens, alphabet }
    }

    /// Walks all of `haystack`: in lockstep streams when it is long enough.
    fn walk_all(&self, haystack: &[u8], emit: &mut impl FnMut(usize, usize)) {
        if haystack.len() >= MIN_INTERLEAVED_LEN {
            self.walk_interleaved(haystack, emit)
        } else {
            self.walk(haystack, 0, haystack.len(), haystack.len(), emit)
        }
    }

    /// Walks `haystack[from..to]` from the start state and reports each
    /// keyword that starts before `report_before`, as `emit(pattern, start)`.
    fn walk(&self, haystack: &[u8], from: usize, to: usize, report_before: usize, emit: &mut impl FnMut(usize, usize)) {
        self.walk_on(self.steps.start(), haystack, from, to, report_before, emit);
    }

    /// [`Walker::walk`] from `state` instead of the start state.
    fn walk_on(
        &self,
        mut state: S::State,
        haystack: &[u8],
        from: usize,
        to: usize,
        report_before: usize,
        emit: &mut impl FnMut(usize, usize),
    ) {
        for (position, &byte) in haystack[from..to].iter().enumerate() {
            state = self.steps.next(state, self.alphabet.code[usize::from(byte)]);
            if self.steps.is_special(state) {
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
        let mut states = [self.steps.start(); STREAMS];
        let mut step = 0;
        while step < lockstep {
            let reached = self.advance_while_unspecial(&lanes, &mut states, step);
            if reached == lockstep {
                break;
            }
            for stream in 0..STREAMS {
                if self.steps.is_special(states[stream]) {
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
    fn advance_while_unspecial(
        &self,
        lanes: &[&[u8]; STREAMS],
        states: &mut [S::State; STREAMS],
        from: usize,
    ) -> usize {
        let length = lanes[0].len();
        assert!(lanes.iter().all(|lane| lane.len() == length));
        let steps = &self.steps;
        let code = &self.alphabet.code;
        let mut current = *states;
        let mut step = from;
        // Zipped iterators instead of `lanes[stream][step]`: no bounds check per byte.
        let bytes = lanes[0][from..].iter().zip(&lanes[1][from..]).zip(&lanes[2][from..]).zip(&lanes[3][from..]);
        for (((&first, &second), &third), &fourth) in bytes {
            for (state, byte) in current.iter_mut().zip([first, second, third, fourth]) {
                *state = steps.next(*state, code[usize::from(byte)]);
            }
            if current.iter().fold(false, |special, &state| special | steps.is_special(state)) {
                break;
            }
            step += 1;
        }
        *states = current;
        step
    }

    /// Reports the keywords that end at `end` in match state `state` and start before `report_before`.
    fn report(&self, state: S::State, end: usize, report_before: usize, emit: &mut impl FnMut(usize, usize)) {
        self.steps.matches(state, |pattern| {
            let start = end - self.pattern_lens[pattern];
            if start < report_before {
                emit(pattern, start);
            }
        });
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
        automata.search(haystack, &mut emit);
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
        let nfa = prefilter.automaton.as_ref().unwrap().nfa.read().unwrap();
        nfa.as_ref()
            .unwrap()
            .walk(haystack, 0, haystack.len(), haystack.len(), &mut |pattern, start| found.push((start, pattern)));
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
    fn once_the_dfa_is_built_the_nfa_is_dropped_and_searches_find_the_same() {
        let prefilter = Prefilter::new(&load_rule_str(RULES, "t.toml").unwrap()).unwrap();
        let automata = prefilter.automaton.as_ref().unwrap();
        let haystack = format!("{}key: sk-ant-api03\n", "filler text ".repeat(LAZY_DFA_AFTER as usize / 12 + 1));
        let mut found = Vec::new();
        for _ in 0..2 {
            prefilter.for_each_hit(haystack.as_bytes(), |start, target| found.push((start, target)));
        }
        assert!(automata.nfa.read().unwrap().is_none(), "the NFA is gone once the DFA searched");
        let small = hits(RULES, "key: sk-ant-api03");
        let mut after = Vec::new();
        prefilter.for_each_hit(b"key: sk-ant-api03", |start, target| after.push((start, target)));
        after.sort_by_key(|(start, target)| (*start, format!("{target:?}")));
        assert_eq!(after, small);
        assert_eq!(found.len(), 2 * small.len());
    }

    #[test]
    fn matching_ignores_ascii_case() {
        assert_eq!(hits(RULES, "SK-"), [(0, Target::Rule(0))]);
    }
}

#[cfg(test)]
mod size {
    /// The DFA of the whole rule library must stay near the CPU's cache size
    /// (it was 4.5 MB over raw bytes, 2.3 MB over the compact alphabet, 2.0 MB
    /// as a table without padded rows).
    #[test]
    fn the_keyword_dfa_of_the_built_in_rules_stays_small() {
        let rules = crate::rules::RuleSet::defaults().unwrap();
        let prefilter = super::Prefilter::new(&rules).unwrap();
        let automata = prefilter.automaton.as_ref().unwrap();
        let dfa = automata.dfa(1 << 30).unwrap();
        let bytes = dfa.steps.memory_usage();
        assert!(bytes < 3 << 20, "{} keywords: the DFA takes {bytes} bytes", dfa.pattern_lens.len());
    }

    /// The flat table of the whole library (thousands of states, renumbered
    /// so that match states come first) finds what the NFA finds.
    #[test]
    fn the_table_of_the_built_in_rules_finds_what_the_nfa_finds() {
        let rules = crate::rules::RuleSet::defaults().unwrap();
        let prefilter = super::Prefilter::new(&rules).unwrap();
        let automata = prefilter.automaton.as_ref().unwrap();
        let keywords: Vec<String> = rules.rules.iter().flat_map(|rule| rule.keywords.iter().cloned()).collect();
        let haystack: String = keywords
            .iter()
            .enumerate()
            .map(|(index, keyword)| match index % 3 {
                0 => format!("{keyword} = x;\n"),
                1 => keyword.to_ascii_uppercase(),
                _ => format!("{}{keyword}", &keyword[keyword.len() / 2..]),
            })
            .collect();
        let walk = |use_table: bool| {
            let mut found = Vec::new();
            let mut emit = |pattern, start| found.push((start, pattern));
            let bytes = haystack.as_bytes();
            if use_table {
                automata.dfa(1 << 30).unwrap().walk_interleaved(bytes, &mut emit);
            } else {
                automata.nfa.read().unwrap().as_ref().unwrap().walk(bytes, 0, bytes.len(), bytes.len(), &mut emit);
            }
            found.sort_unstable();
            found
        };
        let from_nfa = walk(false);
        assert!(from_nfa.len() > keywords.len(), "every keyword is found at least once");
        assert_eq!(walk(true), from_nfa);
    }
}
