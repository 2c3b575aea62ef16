//! Engine behaviour, as tables of inputs and expected matches.

use super::*;

fn scanner(config: &str) -> Scanner {
    let rules = crate::rules::load::load_rule_str(config, "engine-test.toml").expect("test rules are valid");
    Scanner::new(rules).unwrap()
}

fn secrets(scanner: &Scanner, text: &str, path: Option<&str>) -> Vec<(String, String)> {
    scanned(scanner, Input { bytes: text.as_bytes(), path, commit: None, binary: false })
}

/// What a scan of `input` reports: (rule id, secret) pairs.
fn scanned(scanner: &Scanner, input: Input<'_>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    scanner.scan(input, &mut scanner.scratch(), &mut out);
    let text = |range: std::ops::Range<usize>| String::from_utf8_lossy(&input.bytes[range]).into_owned();
    out.iter().map(|m| (scanner.rules().rules[m.rule].id.clone(), text(m.secret.clone()))).collect()
}

const TOKEN_RULE: &str = r#"
[[rules]]
id = "tok"
regex = '''\b(tok_[a-z0-9]{12})\b'''
keywords = ["tok_"]
"#;

#[test]
fn finds_a_keyword_rule_match_and_its_secret_group() {
    let scanner = scanner(TOKEN_RULE);
    assert_eq!(secrets(&scanner, "x = \"tok_abc123def456\"", None), [("tok".into(), "tok_abc123def456".into())]);
}

#[test]
fn keywords_are_case_insensitive_but_regex_decides() {
    let scanner = scanner(TOKEN_RULE);
    assert!(secrets(&scanner, "TOK_ABC123DEF456", None).is_empty(), "the regex is lowercase");
}

#[test]
fn no_keyword_no_regex_run() {
    let scanner = scanner(TOKEN_RULE);
    assert!(secrets(&scanner, "nothing here", None).is_empty());
}

#[test]
fn many_hits_on_one_line_and_many_lines() {
    let scanner = scanner(TOKEN_RULE);
    let text = "a tok_aaaaaaaaaaa1 b tok_bbbbbbbbbbb2\nc\r\ntok_ccccccccccc3\rtok_ddddddddddd4";
    let found: Vec<_> = secrets(&scanner, text, None).into_iter().map(|(_, s)| s).collect();
    assert_eq!(found, ["tok_aaaaaaaaaaa1", "tok_bbbbbbbbbbb2", "tok_ccccccccccc3", "tok_ddddddddddd4"]);
}

#[test]
fn inline_allow_comments_suppress_their_line_only() {
    let scanner = scanner(TOKEN_RULE);
    let text = "a = tok_aaaaaaaaaaa1 # keyhound:allow\nb = tok_bbbbbbbbbbb2 // gitleaks:allow\nc = tok_ccccccccccc3";
    assert_eq!(secrets(&scanner, text, None), [("tok".into(), "tok_ccccccccccc3".into())]);
}

#[test]
fn entropy_threshold_rejects_low_entropy_secrets() {
    let scanner = scanner(
        r#"
[[rules]]
id = "e"
regex = '''key=([a-z0-9]{12,})'''
keywords = ["key="]
entropy = 3.0
"#,
    );
    assert!(secrets(&scanner, "key=aaaaaaaaaaaaaaaa", None).is_empty());
    assert_eq!(secrets(&scanner, "key=q8v2m4x7k1z9p3w6", None).len(), 1);
}

#[test]
fn allowlists_by_stopword_regex_and_path() {
    let scanner = scanner(
        r#"
[[rules]]
id = "tok"
regex = '''\b(tok_[a-z0-9]{12})\b'''
keywords = ["tok_"]
[[rules.allowlists]]
stopwords = ["000000"]
[[rules.allowlists]]
regexTarget = "line"
regexes = ['''fixture''']
[allowlist]
paths = ['''^vendor/''']
"#,
    );
    assert!(secrets(&scanner, "tok_a000000bcdef", None).is_empty(), "stopword");
    assert!(secrets(&scanner, "fixture: tok_abc123def456", None).is_empty(), "line regex");
    assert!(secrets(&scanner, "tok_abc123def456", Some("vendor/x.js")).is_empty(), "global path");
    assert!(scanner.path_is_allowlisted("vendor/x.js"));
    assert_eq!(secrets(&scanner, "tok_abc123def456", Some("src/x.js")).len(), 1);
}

#[test]
fn fallback_rule_yields_to_a_specific_rule_on_the_same_secret() {
    let scanner = scanner(
        r#"
[[rules]]
id = "generic"
regex = '''token\s*=\s*"([^"]{12,})"'''
keywords = ["token"]
fallback = true
[[rules]]
id = "tok"
regex = '''\b(tok_[a-z0-9]{12})\b'''
keywords = ["tok_"]
"#,
    );
    assert_eq!(secrets(&scanner, "token = \"tok_abc123def456\"", None), [("tok".into(), "tok_abc123def456".into())]);
    assert_eq!(secrets(&scanner, "token = \"Zx81kq0Pw2LmN7\"", None), [("generic".into(), "Zx81kq0Pw2LmN7".into())]);
}

#[test]
fn context_keywords_raise_confidence_anywhere_in_the_input() {
    let scanner = scanner(
        r#"
[[rules]]
id = "ds"
regex = '''\b(sk-[0-9a-f]{32})\b'''
keywords = ["sk-"]
confidence = "low"
context = { keywords = ["deepseek"], confidence = "high" }
"#,
    );
    let key = "sk-0123456789abcdef0123456789abcdef";
    let confidence = |text: &str| {
        let mut out = Vec::new();
        scanner.scan(
            Input { bytes: text.as_bytes(), path: None, commit: None, binary: false },
            &mut scanner.scratch(),
            &mut out,
        );
        out.iter().map(|m| m.confidence).collect::<Vec<_>>()
    };
    assert_eq!(confidence(&format!("OPENAI_API_KEY={key}")), [Confidence::Low]);
    assert_eq!(confidence(&format!("OPENAI_API_KEY={key}\nbase_url=\"https://api.deepseek.com\"")), [Confidence::High]);
    assert_eq!(confidence(&format!("# DeepSeek\n\nkey = \"{key}\"")), [Confidence::High]);
}

#[test]
fn windowed_rules_match_across_lines() {
    let scanner = scanner(
        r#"
[[rules]]
id = "pem"
regex = '''-----BEGIN KEY-----\s*([A-Za-z0-9+/=\s]{16,}?)\s*-----END KEY-----'''
keywords = ["-----BEGIN KEY"]
window = 4096
"#,
    );
    let text = "x\n-----BEGIN KEY-----\nQUJDREVGR0hJSktM\nTU5PUFFSU1RVVldY\n-----END KEY-----\n";
    assert_eq!(secrets(&scanner, text, None).len(), 1);
}

/// A rule that applies only to `.env` files.
const ENV_ONLY_RULE: &str = r#"
[[rules]]
id = "env-only"
regex = '''SECRET=(\w{8,})'''
keywords = ["secret="]
path = '''\.env$'''
"#;

#[test]
fn path_rules_apply_only_to_matching_paths() {
    let scanner = scanner(ENV_ONLY_RULE);
    assert!(secrets(&scanner, "SECRET=abcdefgh12", Some("main.py")).is_empty());
    assert_eq!(secrets(&scanner, "SECRET=abcdefgh12", Some("prod.env")).len(), 1);
    assert!(secrets(&scanner, "SECRET=abcdefgh12", None).is_empty());
}

#[test]
fn rules_without_keywords_still_run() {
    let scanner = scanner("[[rules]]\nid = \"nokw\"\nregex = '''zz([0-9]{6})zz'''\n");
    assert_eq!(secrets(&scanner, "a zz123456zz b", None), [("nokw".into(), "123456".into())]);
}

#[test]
fn invalid_utf8_and_nul_bytes_do_not_break_scanning() {
    let scanner = scanner(TOKEN_RULE);
    let mut bytes = vec![0xff, 0xfe, 0, b'\n'];
    bytes.extend_from_slice(b"tok_abc123def456 \xc3\x28");
    let mut out = Vec::new();
    scanner.scan(Input { bytes: &bytes, path: None, commit: None, binary: false }, &mut scanner.scratch(), &mut out);
    assert_eq!(out.len(), 1);
}

#[test]
fn scratch_is_clean_between_inputs() {
    let scanner = scanner(TOKEN_RULE);
    let mut scratch = scanner.scratch();
    let mut out = Vec::new();
    scanner.scan(Input { bytes: b"tok_abc123def456", path: None, commit: None, binary: false }, &mut scratch, &mut out);
    out.clear();
    scanner.scan(Input { bytes: b"nothing", path: None, commit: None, binary: false }, &mut scratch, &mut out);
    assert!(out.is_empty());
}

#[test]
fn fallback_rules_do_not_run_on_binary_strings() {
    let scanner = scanner(
        r#"
[[rules]]
id = "generic"
regex = '''token\s*=\s*"([^"]{12,})"'''
keywords = ["token"]
fallback = true
"#,
    );
    let text = b"token = \"Zx81kq0Pw2LmN7\"";
    let mut out = Vec::new();
    scanner.scan(Input { bytes: text, path: None, commit: None, binary: true }, &mut scanner.scratch(), &mut out);
    assert!(out.is_empty());
    scanner.scan(Input { bytes: text, path: None, commit: None, binary: false }, &mut scanner.scratch(), &mut out);
    assert_eq!(out.len(), 1);
}

#[test]
fn in_binary_strings_a_token_that_runs_into_the_next_field_is_cut_at_its_format() {
    let scanner = scanner(
        r#"
[[rules]]
id = "token"
regex = '''\b(tok_[a-z0-9]{12})\b'''
keywords = ["tok_"]
confidence = "high"

[[rules]]
id = "loose"
regex = '''\b(lo_[a-z0-9]{12})(?:[^a-z0-9_-]|$)'''
keywords = ["lo_"]
"#,
    );
    // A SQLite record: the token's column is followed directly by the next column's text.
    let record = b"\x05\x17tok_abc123def456nextcolumnlo_abc123def456nextcolumn";
    let secrets = |binary: bool| scanned(&scanner, Input { bytes: record, path: None, commit: None, binary });
    assert_eq!(secrets(true), [("token".to_string(), "tok_abc123def456".to_string())], "high-confidence formats only");
    assert!(secrets(false).is_empty(), "text keeps the boundary");
}

#[test]
fn trailing_boundaries_are_recognised() {
    use crate::rules::without_trailing_boundary as strip;
    assert_eq!(strip(r"\b(ghp_[A-Za-z0-9]{36})\b"), Some(r"\b(ghp_[A-Za-z0-9]{36})"));
    assert_eq!(strip(r"\b(xoxb-[0-9]{8,14})(?:[^A-Za-z0-9_\r\n-]|$)"), Some(r"\b(xoxb-[0-9]{8,14})"));
    assert_eq!(strip(r"x\\b"), None, "an escaped backslash and a b");
    assert_eq!(strip(r"(?:a|$)"), None);
}

fn may_match(scanner: &Scanner, text: &str) -> bool {
    scanner.may_match(text.as_bytes(), false, &mut scanner.scratch(), &mut Vec::new())
}

/// A scanner whose allowlists count as keyhound's own (not from a config file).
fn builtin_scanner(config: &str) -> Scanner {
    let mut rules = crate::rules::load::load_rule_str(config, "engine-test.toml").expect("test rules are valid");
    for allowlist in rules.rules.iter_mut().flat_map(|rule| &mut rule.allowlists).chain(&mut rules.global_allowlists) {
        allowlist.from_config_file = false;
    }
    Scanner::new(rules).unwrap()
}

#[test]
fn content_that_some_path_would_report_may_match_before_its_path_is_known() {
    let scanner = builtin_scanner(
        &[
            ENV_ONLY_RULE,
            r#"
[[rules]]
id = "tok"
regex = '''\b(tok_[a-z0-9]{12})\b'''
keywords = ["tok_"]
[[rules.allowlists]]
stopwords = ["example"]
[allowlist]
paths = ['''^vendor/''']
"#,
        ]
        .concat(),
    );
    assert!(may_match(&scanner, "SECRET=abcdefgh12"), "the rule applies to some paths, and not all are allowed");
    assert!(!may_match(&scanner, "SECRET=short"), "the regex does not match");
    assert!(!may_match(&scanner, "nothing to see"), "no keyword");
    assert!(!may_match(&scanner, "tok_example12345"), "a stopword allows it wherever it is");
    assert!(may_match(&scanner, "tok_abcdef123456"), "the path allowlist needs the path");
}

#[test]
fn a_secret_claimed_by_a_path_rule_may_be_a_fallback_finding_elsewhere() {
    // Built-in allowlists: one from a config file would make the path matter by itself.
    let scanner = builtin_scanner(
        &[
            ENV_ONLY_RULE,
            r#"entropy = 5.5
[[rules]]
id = "generic"
regex = '''SECRET=(\w{8,})'''
keywords = ["secret="]
fallback = true
[[rules.allowlists]]
regexes = ['''.''']
"#,
        ]
        .concat(),
    );
    // Nothing is reported without a path (entropy, allowlist), but at a
    // path outside `.env` the generic rule's match is not claimed.
    assert!(secrets(&scanner, "SECRET=abcdefgh12", None).is_empty());
    assert!(may_match(&scanner, "SECRET=abcdefgh12"));
}

#[test]
fn matches_suppressed_by_a_config_allowlist_are_looked_at_again_to_be_counted() {
    let rules = crate::rules::load::load_rule_str(TOKEN_RULE, "engine-test.toml").unwrap();
    let mut rules = rules;
    let mut allowlist = crate::engine::allow::Allowlist::compile(crate::rules::schema::AllowlistSpec {
        stopwords: vec!["abc".into()],
        ..Default::default()
    })
    .unwrap();
    allowlist.from_config_file = true;
    rules.global_allowlists.push(allowlist);
    let scanner = Scanner::new(rules).unwrap();
    assert!(may_match(&scanner, "tok_abc123def456"), "suppressed, and counted only once the path is known");
    assert_eq!(scanner.config_suppressed(), 0, "a look without the path counts nothing");
    assert!(secrets(&scanner, "tok_abc123def456", Some("a.txt")).is_empty());
    assert_eq!(scanner.config_suppressed(), 1);
}
