//! The detection engine: [`Scanner::scan`] turns bytes into [`Match`]es.
//!
//! One pass of the keyword [`prefilter`] over the input finds which rules can
//! match and where; each such rule runs its regex only on small windows around
//! its keyword hits (the hit's line by default). Candidates then pass the
//! rule's checksum, entropy threshold, inline-allow comments and allowlists.
//! The `Scanner` is immutable and `Sync`; each thread brings its own [`Scratch`].

pub mod allow;
pub mod checksum;
pub mod composite;
pub mod entropy;
pub mod location;
pub mod prefilter;

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::finding::{Confidence, Finding, Fingerprint, Origin, Secret};
use crate::rules::{Rule, RuleSet, RuleSource};

use allow::Candidate;
use location::{line_end, line_start, Locator};
use prefilter::{Prefilter, PrefilterError, Target};

/// Bytes searched either side of a keyword hit within its line.
const LINE_WINDOW: usize = 1024;
/// Characters of line context kept either side of a finding's secret.
const LINE_CONTEXT: usize = 200;
/// Comments that suppress a finding on their line.
const INLINE_ALLOW_MARKERS: [&[u8]; 2] = [b"keyhound:allow", b"gitleaks:allow"];

/// What the engine saw: a rule's match in one input. Offsets are bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// Index of the rule in the scanner's [`RuleSet`].
    pub rule: usize,
    /// The secret's byte range.
    pub secret: Range<usize>,
    /// The whole regex match's byte range.
    pub matched: Range<usize>,
    /// Shannon entropy of the secret.
    pub entropy: f32,
    /// Confidence after context.
    pub confidence: Confidence,
    /// Rules from config files that matched the same secret at the same place
    /// (reported once, as this built-in rule's finding).
    pub also_matched: Vec<usize>,
}

/// One input to scan.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The bytes.
    pub bytes: &'a [u8],
    /// Normalised path (for path rules and allowlists), if any.
    pub path: Option<&'a str>,
    /// Commit id, for history scans.
    pub commit: Option<&'a str>,
    /// The bytes are the printable strings of binary content: fallback
    /// (generic) rules do not run, as strings glued together by the
    /// extraction look like assignments.
    pub binary: bool,
}

/// Per-thread working memory, reused across inputs so the hot path does not allocate.
#[derive(Debug, Default)]
pub struct Scratch {
    hits: Vec<Vec<usize>>,
    touched: Vec<usize>,
    context_seen: Vec<bool>,
    windows: Vec<Range<usize>>,
    /// Secrets matched by non-fallback rules' regexes, reported or not.
    claimed: Vec<Range<usize>>,
    /// Capture slots per rule, allocated once per thread on the rule's first match attempt.
    locations: Vec<Option<regex::bytes::CaptureLocations>>,
    /// The same for rules' binary-content regexes ([`crate::rules::Rule::binary_regex`]).
    binary_locations: Vec<Option<regex::bytes::CaptureLocations>>,
    /// Set during [`Scanner::may_match`]: the input's path and commit are not known.
    unknown_path: bool,
    /// Set during [`Scanner::may_match`] when the path or commit could change
    /// the outcome: a rule with a path pattern claimed a secret (another rule
    /// may report it where that rule does not apply), or an allowlist from a
    /// config file suppressed a match (its suppressions are counted).
    path_matters: bool,
}

/// Where a rule's regex runs.
#[derive(Debug, Clone, Copy)]
enum Reach {
    /// On the lines (or `window`) around its keyword hits: the fast path.
    AroundKeywords,
    /// On the whole input, when its keywords occur: the reference.
    WholeInput,
}

/// The compiled engine.
#[derive(Debug)]
pub struct Scanner {
    rules: RuleSet,
    prefilter: Prefilter,
    /// Rules without keywords: they run on every input.
    unfiltered: Vec<usize>,
    /// Rules with only a path pattern.
    path_only: Vec<usize>,
    /// Matches and whole files suppressed by allowlists from config files
    /// (counted so that a scanned repository's config cannot hide findings silently).
    config_suppressed: AtomicU64,
    /// Whether any allowlist comes from a config file.
    config_allowlists: bool,
    /// Whether any rule comes from a config file (only then can a config rule
    /// and a built-in rule match the same secret).
    config_rules: bool,
    /// Composite (`required`) and `skipReport` rules.
    composites: composite::Composites,
}

impl Scanner {
    /// Builds the engine for `rules`. Regexes are compiled lazily on first use.
    pub fn new(rules: RuleSet) -> Result<Self, PrefilterError> {
        let prefilter = Prefilter::new(&rules)?;
        let unfiltered = (0..rules.rules.len())
            .filter(|&index| rules.rules[index].regex.is_some() && rules.rules[index].keywords.is_empty())
            .collect();
        let path_only = (0..rules.rules.len()).filter(|&index| rules.rules[index].regex.is_none()).collect();
        let config_allowlists = rules
            .rules
            .iter()
            .flat_map(|rule| &rule.allowlists)
            .chain(&rules.global_allowlists)
            .any(|allowlist| allowlist.from_config_file);
        let composites = composite::Composites::new(&rules);
        let config_rules = rules.rules.iter().any(|rule| !matches!(rule.source, RuleSource::Embedded(_)));
        Ok(Scanner {
            rules,
            prefilter,
            unfiltered,
            path_only,
            config_suppressed: AtomicU64::new(0),
            config_allowlists,
            config_rules,
            composites,
        })
    }

    /// The rules this scanner runs.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Number of distinct keywords in the prefilter.
    pub fn keyword_count(&self) -> usize {
        self.prefilter.keyword_count()
    }

    /// A scratch space sized for this scanner.
    pub fn scratch(&self) -> Scratch {
        let count = self.rules.rules.len();
        Scratch {
            hits: vec![Vec::new(); count],
            touched: Vec::new(),
            context_seen: vec![false; count],
            windows: Vec::new(),
            claimed: Vec::new(),
            locations: vec![None; count],
            binary_locations: vec![None; count],
            unknown_path: false,
            path_matters: false,
        }
    }

    /// Whether a global allowlist suppresses everything in `path`, so the file
    /// need not even be read.
    pub fn path_is_allowlisted(&self, path: &str) -> bool {
        let allowing = self.rules.global_allowlists.iter().find(|allowlist| allowlist.allows_whole_path(path));
        self.count_if_from_config(allowing);
        allowing.is_some()
    }

    fn count_if_from_config(&self, allowing: Option<&allow::Allowlist>) {
        if allowing.is_some_and(|allowlist| allowlist.from_config_file) {
            self.config_suppressed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// How many matches and whole files allowlists from config files suppressed so far.
    pub fn config_suppressed(&self) -> u64 {
        self.config_suppressed.load(Ordering::Relaxed)
    }

    /// Rules whose regex failed to compile (reported once per scan), with the reason.
    pub fn broken_rules(&self) -> Vec<(&str, String)> {
        self.rules
            .rules
            .iter()
            .filter_map(|rule| Some((rule.id.as_str(), rule.regex.as_ref()?.failure()?.to_string())))
            .collect()
    }

    /// Scans one input, appending matches to `out` (sorted by position).
    pub fn scan(&self, input: Input<'_>, scratch: &mut Scratch, out: &mut Vec<Match>) {
        self.scan_in(input, scratch, out, Reach::AroundKeywords);
    }

    /// The reference the fast path is tested against: every rule whose
    /// keywords occur anywhere in the input runs over the whole input (as
    /// gitleaks does), instead of only on the lines around its keywords
    /// (a rule with a `window` still runs within that distance of them: its
    /// keywords are context its secret must be near). Slow; for tests and
    /// fuzzing.
    pub fn scan_whole(&self, input: Input<'_>, scratch: &mut Scratch, out: &mut Vec<Match>) {
        self.scan_in(input, scratch, out, Reach::WholeInput);
    }

    /// Whether `bytes` may yield a finding under some path and commit: for
    /// content looked at before its path is known. Every rule runs whatever
    /// its path pattern, and an allowlist suppresses a match only if it
    /// would wherever the content is found. Content for which this is false
    /// yields no finding anywhere, except from rules with only a path pattern
    /// ([`Scanner::path_only_rule_applies`]); content for which it is true
    /// must be scanned again, with its path, by [`Scanner::scan`].
    /// `binary`: as [`Input::binary`]. `out` is working memory.
    pub fn may_match(&self, bytes: &[u8], binary: bool, scratch: &mut Scratch, out: &mut Vec<Match>) -> bool {
        out.clear();
        scratch.unknown_path = true;
        scratch.path_matters = false;
        let input = Input { bytes, path: None, commit: None, binary };
        self.scan_in(input, scratch, out, Reach::AroundKeywords);
        scratch.unknown_path = false;
        !out.is_empty() || scratch.path_matters
    }

    /// Whether a rule with only a path pattern (no regex) reports `path`.
    pub fn path_only_rule_applies(&self, path: &str) -> bool {
        self.path_only.iter().any(|&index| self.path_applies(&self.rules.rules[index], Some(path)))
    }

    fn scan_in(&self, input: Input<'_>, scratch: &mut Scratch, out: &mut Vec<Match>, reach: Reach) {
        let first_new = out.len();
        self.collect_hits(input.bytes, scratch);
        for index in self.path_only.iter().copied() {
            if self.path_applies(&self.rules.rules[index], input.path) && input.path.is_some() {
                out.push(Match {
                    rule: index,
                    secret: 0..0,
                    matched: 0..0,
                    entropy: 0.0,
                    confidence: self.rules.rules[index].confidence,
                    also_matched: Vec::new(),
                });
            }
        }
        for index in self.unfiltered.iter().copied() {
            scratch.windows.clear();
            scratch.windows.push(0..input.bytes.len());
            self.confirm(index, input, scratch, out);
        }
        let mut touched = std::mem::take(&mut scratch.touched);
        // Fallback rules last, so they see every secret the other rules claimed.
        touched.sort_unstable_by_key(|&index| (self.rules.rules[index].fallback, index));
        for &index in &touched {
            if input.binary && self.rules.rules[index].fallback {
                continue;
            }
            if !scratch.hits[index].is_empty() {
                // A rule's own `window` is part of what it matches (its
                // keyword is context that must be near), not a shortcut.
                match reach {
                    Reach::AroundKeywords => self.build_windows(index, input.bytes, scratch),
                    Reach::WholeInput if self.rules.rules[index].window.is_some() => {
                        self.build_windows(index, input.bytes, scratch)
                    }
                    Reach::WholeInput => {
                        scratch.windows.clear();
                        scratch.windows.push(0..input.bytes.len());
                    }
                }
                self.confirm(index, input, scratch, out);
            }
        }
        for &index in &touched {
            scratch.hits[index].clear();
            scratch.context_seen[index] = false;
        }
        touched.clear();
        scratch.touched = touched;
        self.resolve_overlaps(out, first_new, &scratch.claimed);
        scratch.claimed.clear();
        self.composites.apply(input.bytes, out, first_new);
    }

    /// Turns a match into a reportable finding. `locator` must belong to the same input.
    pub fn finding(&self, input: Input<'_>, found: &Match, origin: &Origin, locator: &mut Locator<'_>) -> Finding {
        let rule = &self.rules.rules[found.rule];
        let secret = String::from_utf8_lossy(&input.bytes[found.secret.clone()]).into_owned();
        let matched = String::from_utf8_lossy(&input.bytes[found.matched.clone()]).into_owned();
        let line = line_start(input.bytes, found.secret.start, LINE_CONTEXT)
            ..line_end(input.bytes, found.secret.end, LINE_CONTEXT);
        let line = String::from_utf8_lossy(&input.bytes[line]).into_owned();
        let location = locator.locate(found.secret.start, found.secret.end.max(found.secret.start + 1));
        let path = origin.display_path();
        Finding {
            rule_id: rule.id.clone(),
            description: rule.description.clone(),
            fingerprint: Fingerprint::compute(&rule.id, &path, &secret),
            origin: origin.clone(),
            location,
            secret: Secret::new(secret),
            matched: Secret::new(matched),
            line: Secret::new(line),
            entropy: found.entropy,
            confidence: found.confidence,
            tags: rule.tags.clone(),
            provider: rule.provider.as_ref().map(|provider| provider.name.clone()),
            also_matched: found.also_matched.iter().map(|&index| self.rules.rules[index].id.clone()).collect(),
            context: Vec::new(),
            also_at: Vec::new(),
            decoded: None,
            verification: None,
        }
    }

    fn collect_hits(&self, bytes: &[u8], scratch: &mut Scratch) {
        let Scratch { hits, touched, context_seen, .. } = scratch;
        self.prefilter.for_each_hit(bytes, |start, target| match target {
            Target::Rule(index) => {
                let index = index as usize;
                let rule_hits = &mut hits[index];
                if rule_hits.is_empty() && !context_seen[index] {
                    touched.push(index);
                }
                rule_hits.push(start);
            }
            Target::Context(index) => {
                let index = index as usize;
                if hits[index].is_empty() && !context_seen[index] {
                    touched.push(index);
                }
                context_seen[index] = true;
            }
        });
    }

    /// Merges the windows around a rule's keyword hits into disjoint ranges.
    fn build_windows(&self, index: usize, bytes: &[u8], scratch: &mut Scratch) {
        let rule = &self.rules.rules[index];
        let hits = &mut scratch.hits[index];
        if !hits.is_sorted() {
            hits.sort_unstable();
        }
        let windows = &mut scratch.windows;
        windows.clear();
        for &hit in hits.iter() {
            if let Some(last) = windows.last() {
                // A hit inside the previous line window shares that window.
                if rule.window.is_none() && hit < last.end {
                    continue;
                }
            }
            let window = match rule.window {
                Some(span) => hit.saturating_sub(span)..bytes.len().min(hit.saturating_add(span)),
                None => line_start(bytes, hit, LINE_WINDOW)..line_end(bytes, hit, LINE_WINDOW),
            };
            match windows.last_mut() {
                Some(last) if window.start <= last.end => last.end = last.end.max(window.end),
                _ => windows.push(window),
            }
        }
    }

    /// Runs a rule's regex over the prepared windows and keeps what passes its filters.
    fn confirm(&self, index: usize, input: Input<'_>, scratch: &mut Scratch, out: &mut Vec<Match>) {
        let rule = &self.rules.rules[index];
        if !scratch.unknown_path && !self.path_applies(rule, input.path) {
            return;
        }
        // Binary content's strings: a token may run straight into the next field.
        let binary_regex = rule.binary_regex.as_ref().filter(|_| input.binary).and_then(|lazy| lazy.get().ok());
        let Some(Ok(regex)) = rule.regex.as_ref().map(|lazy| lazy.get()) else {
            return;
        };
        let regex = binary_regex.unwrap_or(regex);
        let confidence = match &rule.context {
            Some(context) if scratch.context_seen[index] => context.confidence,
            _ => rule.confidence,
        };
        let windows = std::mem::take(&mut scratch.windows);
        // Capture locations belong to the regex that made them.
        let slots = if binary_regex.is_some() { &mut scratch.binary_locations } else { &mut scratch.locations };
        let mut locations = slots[index].take().unwrap_or_else(|| regex.capture_locations());
        for window in &windows {
            let haystack = &input.bytes[window.clone()];
            let mut at = 0;
            while let Some(whole) = regex.captures_read_at(&mut locations, haystack, at) {
                // Step past empty matches so the loop always advances.
                at = if whole.is_empty() { whole.end() + 1 } else { whole.end() };
                let secret = match rule.secret_group {
                    Some(group) => locations.get(group),
                    None => (1..locations.len())
                        .filter_map(|group| locations.get(group))
                        .find(|(start, end)| start < end)
                        .or(Some((whole.start(), whole.end()))),
                };
                let Some(secret) = secret.filter(|(start, end)| start < end) else {
                    continue;
                };
                let secret = window.start + secret.0..window.start + secret.1;
                let matched = window.start + whole.start()..window.start + whole.end();
                if !rule.fallback {
                    scratch.claimed.push(secret.clone());
                    scratch.path_matters |= scratch.unknown_path && rule.path.is_some();
                } else if overlaps_any(&secret, &scratch.claimed) {
                    continue;
                }
                match self.accept(rule, index, input, secret, matched, confidence) {
                    Ok(found) => out.push(found),
                    // Which allowlist suppresses a match can depend on the path.
                    Err(Some(_)) if scratch.unknown_path => scratch.path_matters |= self.config_allowlists,
                    Err(allowing) => self.count_if_from_config(allowing),
                }
                if at > haystack.len() {
                    break;
                }
            }
        }
        scratch.windows = windows;
        let slots = if binary_regex.is_some() { &mut scratch.binary_locations } else { &mut scratch.locations };
        slots[index] = Some(locations);
    }

    /// Applies checksum, entropy, inline allow and allowlists to one
    /// candidate; a rejection names the allowlist that suppressed it, if one did.
    fn accept<'s>(
        &'s self,
        rule: &'s Rule,
        index: usize,
        input: Input<'_>,
        secret: Range<usize>,
        matched: Range<usize>,
        confidence: Confidence,
    ) -> Result<Match, Option<&'s allow::Allowlist>> {
        let bytes = input.bytes;
        let secret_bytes = &bytes[secret.clone()];
        if let Some(checksum) = rule.checksum {
            if !checksum.is_valid(secret_bytes) {
                return Err(None);
            }
        }
        let entropy = entropy::shannon_entropy(secret_bytes);
        if rule.entropy.is_some_and(|minimum| entropy < minimum) {
            return Err(None);
        }
        let line = line_start(bytes, matched.start, usize::MAX)..line_end(bytes, matched.end, usize::MAX);
        let line = &bytes[line];
        if INLINE_ALLOW_MARKERS.iter().any(|marker| memchr::memmem::find(line, marker).is_some()) {
            return Err(None);
        }
        let candidate = Candidate {
            rule_id: &rule.id,
            secret: secret_bytes,
            matched: &bytes[matched.clone()],
            line,
            path: input.path,
            commit: input.commit,
        };
        let allowing = rule.allowlists.iter().chain(&self.rules.global_allowlists).find(|list| list.allows(&candidate));
        match allowing {
            Some(allowing) => Err(Some(allowing)),
            None => Ok(Match { rule: index, secret, matched, entropy, confidence, also_matched: Vec::new() }),
        }
    }

    fn path_applies(&self, rule: &Rule, path: Option<&str>) -> bool {
        match &rule.path {
            Some(pattern) => path.is_some_and(|path| pattern.is_match(path.as_bytes())),
            None => true,
        }
    }

    /// Drops fallback-rule matches that overlap a secret another rule's regex
    /// matched (even one it then rejected, e.g. by an allowlist: the generic
    /// rule must not resurrect an allowed secret), and exact duplicates.
    fn resolve_overlaps(&self, out: &mut Vec<Match>, first_new: usize, claimed: &[Range<usize>]) {
        if out.len() == first_new {
            return;
        }
        let mut new = out.split_off(first_new);
        new.retain(|found| !(self.rules.rules[found.rule].fallback && overlaps_any(&found.secret, claimed)));
        new.sort_by_key(|found| (found.secret.start, found.secret.end, found.rule));
        new.dedup_by(|later, earlier| later.rule == earlier.rule && later.secret == earlier.secret);
        self.merge_config_duplicates(&mut new);
        out.append(&mut new);
    }

    /// One secret, one finding: where a config file's rule and a built-in
    /// rule matched the same secret at the same place, the built-in rule's
    /// match stays (it can be verified and rotated) and names the other.
    /// `matches` is sorted by secret span.
    fn merge_config_duplicates(&self, matches: &mut Vec<Match>) {
        if !self.config_rules || !matches.windows(2).any(|pair| pair[0].secret == pair[1].secret) {
            return;
        }
        let built_in = |found: &Match| matches!(self.rules.rules[found.rule].source, RuleSource::Embedded(_));
        let mut merged = Vec::with_capacity(matches.len());
        for group in matches.chunk_by(|a, b| a.secret == b.secret) {
            let Some(keeper) = group.iter().position(built_in) else {
                merged.extend_from_slice(group);
                continue;
            };
            let others: Vec<usize> = group.iter().filter(|found| !built_in(found)).map(|found| found.rule).collect();
            for (index, found) in group.iter().enumerate().filter(|(_, found)| built_in(found)) {
                let mut found = found.clone();
                if index == keeper {
                    found.also_matched.extend(&others);
                }
                merged.push(found);
            }
        }
        *matches = merged;
    }
}

/// Whether `span` overlaps any of `spans`.
fn overlaps_any(span: &Range<usize>, spans: &[Range<usize>]) -> bool {
    spans.iter().any(|other| other.start < span.end && span.start < other.end)
}

#[cfg(test)]
mod tests;
