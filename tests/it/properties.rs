//! Properties that must hold for any input (proptest): a rule's example
//! secret is found at its line and column wherever it sits and whatever the
//! line endings; the keyword prefilter never changes what is found; redaction
//! never shows more than its policy allows.

use std::path::PathBuf;
use std::sync::OnceLock;

use keyhound::engine::{Input, Match, Scanner};
use keyhound::finding::{Finding, Origin, Redaction, Secret};
use keyhound::report::mask::mask_secrets;
use keyhound::rules::RuleSet;
use keyhound::source::{ContentOptions, Worker};
use proptest::prelude::*;

fn scanner() -> &'static Scanner {
    static SCANNER: OnceLock<Scanner> = OnceLock::new();
    SCANNER.get_or_init(|| Scanner::new(RuleSet::defaults().unwrap().with_builtin_examples().unwrap()).unwrap())
}

/// A single-line rule example and where its secret is on that line.
#[derive(Debug, Clone)]
struct Example {
    rule: String,
    text: String,
    secret: String,
    column: usize,
}

fn scan(text: &[u8]) -> Vec<Finding> {
    let mut worker = Worker::new(scanner(), ContentOptions::new(1 << 24));
    worker.scan_content(text, &Origin::File(PathBuf::from("input.txt")));
    worker.results.findings
}

/// Every single-line example of every rule without a path restriction, with
/// the secret and column the rule reports for it on its own.
fn examples() -> &'static [Example] {
    static EXAMPLES: OnceLock<Vec<Example>> = OnceLock::new();
    EXAMPLES.get_or_init(|| {
        let mut examples = Vec::new();
        for rule in scanner().rules().rules.iter().filter(|rule| rule.path.is_none()) {
            for text in rule.examples.iter().filter(|text| !text.contains(['\n', '\r'])) {
                let found = scan(text.as_bytes());
                if let Some(finding) = found.iter().find(|finding| finding.rule_id == rule.id) {
                    examples.push(Example {
                        rule: rule.id.clone(),
                        text: text.clone(),
                        secret: finding.secret.expose().to_string(),
                        column: finding.location.column,
                    });
                }
            }
        }
        assert!(examples.len() > 400, "only {} single-line examples", examples.len());
        examples
    })
}

fn negative_examples() -> &'static [String] {
    static NEGATIVE: OnceLock<Vec<String>> = OnceLock::new();
    NEGATIVE.get_or_init(|| scanner().rules().rules.iter().flat_map(|rule| rule.negative_examples.clone()).collect())
}

fn line_ending() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("\n"), Just("\r\n"), Just("\r")]
}

fn filler_line() -> impl Strategy<Value = String> {
    "[a-z0-9 =:,.()\"'_-]{0,60}"
}

/// 1-15 lines, each a rule's example, a negative example or filler.
fn mixed_lines() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop_oneof![
            any::<prop::sample::Index>().prop_map(|pick| pick.get(examples()).text.clone()),
            any::<prop::sample::Index>().prop_map(|pick| pick.get(negative_examples()).clone()),
            filler_line(),
        ],
        1..16,
    )
}

/// `(rule, secret bytes, start offset)` of each match, sorted.
fn matches_of(text: &[u8], whole: bool) -> Vec<(usize, Vec<u8>, usize)> {
    let scanner = scanner();
    let mut scratch = scanner.scratch();
    let mut out: Vec<Match> = Vec::new();
    let input = Input { bytes: text, path: Some("input.txt"), commit: None, binary: false };
    if whole {
        scanner.scan_whole(input, &mut scratch, &mut out);
    } else {
        scanner.scan(input, &mut scratch, &mut out);
    }
    let mut found: Vec<_> =
        out.iter().map(|found| (found.rule, text[found.secret.clone()].to_vec(), found.secret.start)).collect();
    found.sort();
    found.dedup();
    found
}

/// Found by the `engine` fuzz target: the Cloudflare rule's regex accepted
/// `cfK_TOKEN=...`, which none of its keywords covers, so the result depended
/// on whether a keyword happened to occur elsewhere in the file.
#[test]
fn a_rule_regex_matches_only_where_its_keywords_occur() {
    let input = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/engine/regression-cloudflare-keywords"),
    )
    .unwrap();
    assert_eq!(matches_of(&input, false), matches_of(&input, true));
}

/// Found by the property below: the PagerDuty rule matches a `routing_key`
/// only within its 512-byte window of "pagerduty", so a routing key far from
/// any mention of PagerDuty (an Opsgenie one) is not reported, by either scan.
#[test]
fn a_rule_window_is_part_of_its_meaning_not_a_shortcut() {
    let far = format!(
        "routing_key: 2a4449c6bef76128a27800d42c1f9fff  # opsgenie\n{}PAGERDUTY_TOKEN=x\n",
        "filler line\n".repeat(60)
    );
    assert_eq!(matches_of(far.as_bytes(), false), matches_of(far.as_bytes(), true));
    let near = "PAGERDUTY:\n  routing_key: 2a4449c6bef76128a27800d42c1f9fff\n";
    assert_eq!(matches_of(near.as_bytes(), false).len(), 1, "within the window");
}

/// Found by the property below: the LaunchDarkly SDK key rule's keywords are
/// context outside its match, so without a `window` the whole-input scan
/// reported an `sdk-<uuid>` device id because "LAUNCHDARKLY" was on the next line.
#[test]
fn a_keyword_that_is_context_counts_only_within_its_rules_window() {
    let text = "DEVICE_ID=sdk-70b24615-5f43-1575-fd92-71fff243e5e8\nLAUNCHDARKLY_MOBILE_KEY=mob-4a531d6a-9822-6fa1-a7f8-d394ed8b9a05\n";
    assert_eq!(matches_of(text.as_bytes(), false), matches_of(text.as_bytes(), true));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn an_example_secret_is_found_at_its_line_and_column_wherever_it_sits(
        pick in any::<prop::sample::Index>(),
        before in prop::collection::vec(filler_line(), 0..12),
        after in prop::collection::vec(filler_line(), 0..12),
        ending in line_ending(),
    ) {
        let example = pick.get(examples());
        let mut lines = before.clone();
        lines.push(example.text.clone());
        lines.extend(after);
        let text = lines.join(ending);
        let found = scan(text.as_bytes());
        let hit = found.iter().find(|finding| finding.rule_id == example.rule && finding.secret.expose() == example.secret);
        prop_assert!(hit.is_some(), "{} not found in {:?}", example.rule, text);
        let location = hit.unwrap().location;
        prop_assert_eq!((location.line, location.column), (before.len() + 1, example.column), "{:?}", text);
    }

    #[test]
    fn the_keyword_prefilter_never_changes_what_is_found(
        parts in mixed_lines(),
        ending in line_ending(),
    ) {
        let text = parts.join(ending);
        prop_assert_eq!(matches_of(text.as_bytes(), false), matches_of(text.as_bytes(), true), "{:?}", text);
    }

    #[test]
    fn content_reported_at_any_path_may_match_before_its_path_is_known(
        parts in mixed_lines(),
        path in prop::sample::select(&["src/main.rs", ".env", "vendor/lib.js", "package-lock.json", "tests/fixtures/keys.txt", "docs/README.md"][..]),
        binary in any::<bool>(),
    ) {
        let text = parts.join("\n");
        let scanner = scanner();
        let mut out: Vec<Match> = Vec::new();
        let input = Input { bytes: text.as_bytes(), path: Some(path), commit: Some("0123456789abcdef0123456789abcdef01234567"), binary };
        scanner.scan(input, &mut scanner.scratch(), &mut out);
        if !out.is_empty() {
            prop_assert!(scanner.may_match(text.as_bytes(), binary, &mut scanner.scratch(), &mut Vec::new()), "{path}: {text:?}");
        }
    }

    #[test]
    fn redaction_never_shows_more_than_its_policy(secret in "\\PC{1,80}", percent in 0u8..=100) {
        let total = secret.chars().count();
        let shown = |redacted: &str| redacted.strip_suffix("*****").map(|prefix| prefix.chars().count());
        let prefix = Redaction::Prefix.apply(&secret);
        prop_assert!(shown(&prefix).is_some_and(|shown| shown <= 4 && shown <= total / 4), "{prefix:?}");
        let partial = Redaction::Percent(percent).apply(&secret);
        if percent < 100 {
            let allowed = total * usize::from(percent) / 100;
            prop_assert!(partial == secret && allowed >= total || shown(&partial).is_some_and(|shown| shown <= allowed), "{partial:?}");
        }
    }

    #[test]
    fn masking_removes_every_found_secret_from_every_line(
        pick in prop::collection::vec(any::<prop::sample::Index>(), 1..5),
        ending in line_ending(),
    ) {
        let text: Vec<String> = pick.iter().map(|pick| pick.get(examples()).text.clone()).collect();
        let text = text.join(ending);
        let mut found = scan(text.as_bytes());
        let secrets: Vec<Secret> = found.iter().map(|finding| finding.secret.clone()).collect();
        mask_secrets(&mut found, Redaction::Prefix);
        for finding in &found {
            let shown = [finding.line_text(Redaction::Prefix), finding.match_text(Redaction::Prefix)];
            for secret in secrets.iter().filter(|secret| secret.expose().len() >= 8) {
                for text in &shown {
                    prop_assert!(!text.contains(secret.expose()), "{} shows {} in {:?}", finding.rule_id, secret.expose(), text);
                }
            }
        }
    }
}
