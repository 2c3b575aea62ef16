//! The keyword automaton as one flat transition table.
//!
//! Walking an automaton through its trait costs, per input byte, a byte-class
//! lookup, a bounds check and a state-kind test on top of the one table load
//! that matters. [`KeywordTable`] turns the keyword NFA into the equivalent
//! DFA, laid out so that a step is `table[state + code]`: states are
//! premultiplied by the row length, each row has exactly one column per code
//! of the compact alphabet (no padding to a power of two, so the table is
//! smaller than the crate's own DFA), and match states are numbered first, so
//! "is this a match?" is one comparison.

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::Anchored;

/// A keyword DFA as a premultiplied transition table.
#[derive(Debug)]
pub struct KeywordTable {
    /// `transitions[state + code]` is the next state (premultiplied).
    transitions: Vec<u32>,
    /// The start state (premultiplied).
    start: u32,
    /// Every state below this one (premultiplied) is a match state.
    match_limit: u32,
    /// Codes per row.
    stride: u32,
    /// Match state `i` (its number, not premultiplied) reports patterns
    /// `patterns[ends[i]..ends[i + 1]]`.
    ends: Vec<u32>,
    patterns: Vec<u32>,
}

impl KeywordTable {
    /// The DFA of `automaton` (searched unanchored) over input codes
    /// `0..codes`; `None` when it has no unanchored start state or more
    /// states than a `u32` table can address.
    pub fn of(automaton: &impl Automaton, codes: usize) -> Option<KeywordTable> {
        let last_code = u8::try_from(codes.checked_sub(1)?).ok()?;
        let stride = u32::try_from(codes).ok()?;
        // Breadth first from the start state: every reachable state gets the
        // next number the first time it is seen, and its row lists the
        // numbers of its successors.
        let start = automaton.start_state(Anchored::No).ok()?;
        let mut number_of: Vec<u32> = Vec::new();
        let mut states = Vec::new();
        let mut numbered = |state: StateID, states: &mut Vec<StateID>| -> Option<u32> {
            let index = state.as_usize();
            if index >= number_of.len() {
                number_of.resize(index + 1, u32::MAX);
            }
            if number_of[index] == u32::MAX {
                number_of[index] = u32::try_from(states.len()).ok()?;
                states.push(state);
            }
            Some(number_of[index])
        };
        numbered(start, &mut states)?;
        let mut rows: Vec<u32> = Vec::new();
        let mut next = 0;
        while let Some(&state) = states.get(next) {
            next += 1;
            for code in 0..=last_code {
                let target = automaton.next_state(Anchored::No, state, code);
                rows.push(numbered(target, &mut states)?);
            }
        }
        // Renumber: match states first (so a match is `state < match_limit`),
        // premultiplied by the row length.
        let mut order: Vec<usize> = (0..states.len()).collect();
        order.sort_by_key(|&number| !automaton.is_match(states[number]));
        let mut renumbered = vec![0u32; states.len()];
        for (new, &old) in order.iter().enumerate() {
            renumbered[old] = u32::try_from(new).ok()?.checked_mul(stride)?;
        }
        let mut ends = vec![0];
        let mut patterns = Vec::new();
        for &old in &order {
            let state = states[old];
            if automaton.is_match(state) {
                patterns.extend(
                    (0..automaton.match_len(state)).map(|index| automaton.match_pattern(state, index).as_u32()),
                );
                ends.push(u32::try_from(patterns.len()).ok()?);
            }
        }
        // The rows move to their new places in the same vector (the table is
        // megabytes: a second copy would raise the scan's peak memory).
        for target in rows.iter_mut() {
            *target = renumbered[*target as usize];
        }
        let place = |old: usize| (renumbered[old] / stride) as usize;
        let mut placed = vec![false; states.len()];
        let mut carried = vec![0u32; codes];
        for first in 0..states.len() {
            if placed[first] {
                continue;
            }
            carried.copy_from_slice(&rows[first * codes..(first + 1) * codes]);
            let mut current = first;
            loop {
                placed[current] = true;
                let target = place(current);
                carried.swap_with_slice(&mut rows[target * codes..(target + 1) * codes]);
                if target == first {
                    break;
                }
                current = target;
            }
        }
        let transitions = rows;
        let matches = u32::try_from(ends.len() - 1).ok()?;
        Some(KeywordTable {
            transitions,
            start: renumbered[0],
            match_limit: matches.checked_mul(stride)?,
            stride,
            ends,
            patterns,
        })
    }

    /// The start state.
    #[inline(always)]
    pub fn start(&self) -> u32 {
        self.start
    }

    /// The state after reading `code` in `state`.
    #[inline(always)]
    pub fn next(&self, state: u32, code: u8) -> u32 {
        self.transitions[state as usize + usize::from(code)]
    }

    /// Whether keywords end in `state`.
    #[inline(always)]
    pub fn is_match(&self, state: u32) -> bool {
        state < self.match_limit
    }

    /// The patterns that end in match state `state`.
    pub fn matches(&self, state: u32) -> &[u32] {
        let number = (state / self.stride) as usize;
        &self.patterns[self.ends[number] as usize..self.ends[number + 1] as usize]
    }

    /// Heap bytes the table takes.
    #[cfg(test)]
    pub fn memory_usage(&self) -> usize {
        (self.transitions.len() + self.ends.len() + self.patterns.len()) * std::mem::size_of::<u32>()
    }
}
