//! Every built-in API rotation (the provider recipes and the actions written
//! as code but AWS's, whose signed requests have a test of their own) end to end, against a local mock that
//! answers as the provider documents (fixtures/rotation-answers/recipes.toml):
//! the requests and their order, delivery of a new key, confirmation that the
//! exposed key is dead, a rerun that sends nothing, and a failure midway that
//! is audited and finished by the next run (`--complete` for replacements)
//! without ever issuing a second key.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde::Deserialize;

use keyhound::rotate::recipe::Shape;

use crate::common::Tree;
use crate::mock_provider::{Answer, MockProvider, Seen};
use crate::rotate::{assert_never_printed, fingerprint, report, rotate, state, steps, Found, Run};

#[derive(Debug, Deserialize)]
struct Cases {
    case: Vec<Case>,
}

#[derive(Debug, Clone, Deserialize)]
struct Reply {
    status: u16,
    body: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Scripted {
    request: String,
    status: u16,
    body: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Case {
    action: String,
    rule: String,
    secret: String,
    #[serde(default)]
    companions: BTreeMap<String, String>,
    endpoints: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    answers: Vec<Scripted>,
    live: Reply,
    dead: Reply,
    retire: String,
    expect: Vec<String>,
    #[serde(default)]
    new_key: Option<String>,
    #[serde(default)]
    body_has: Vec<String>,
    #[serde(default)]
    header_has: Vec<String>,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/rotation-answers/recipes.toml"))
        .unwrap();
    toml::from_str::<Cases>(&text).unwrap().case
}

/// What the mock knows: whether the exposed key was retired, and whether the
/// retiring request has already failed once (when told to fail it once).
#[derive(Default)]
struct Provider {
    retired: bool,
    failed_once: bool,
}

/// A request as text to search for a key: the decoded line, headers (Basic decoded) and body.
fn readable(seen: &Seen) -> String {
    let line = percent_encoding::percent_decode_str(&seen.line).decode_utf8_lossy().into_owned();
    let mut text = format!("{line}\n{}\n", seen.body);
    for (name, value) in &seen.headers {
        text.push_str(&format!("{name}: {value}\n"));
        if let Some(basic) = value.strip_prefix("Basic ") {
            let decoded = base64::engine::general_purpose::STANDARD.decode(basic).unwrap_or_default();
            text.push_str(&String::from_utf8_lossy(&decoded));
        }
    }
    text
}

/// The part of the key a request carries (a webhook URL's token).
fn marker(case: &Case) -> &str {
    case.secret.rsplit('/').next().unwrap_or(&case.secret)
}

fn mock(case: &Case, fail_retire_once: bool) -> MockProvider {
    let provider = Arc::new(Mutex::new(Provider::default()));
    let case = case.clone();
    MockProvider::with_handler(move |seen| {
        let mut provider = provider.lock().unwrap();
        let line = percent_encoding::percent_decode_str(&seen.line).decode_utf8_lossy().into_owned();
        let scripted = |line: &str| {
            case.answers
                .iter()
                .find(|answer| line.starts_with(&answer.request))
                .map(|answer| Answer::json(answer.status, &answer.body))
        };
        if line.starts_with(&case.retire) {
            if fail_retire_once && !provider.failed_once {
                provider.failed_once = true;
                return Answer::json(500, r#"{"message": "internal error"}"#);
            }
            provider.retired = true;
            return scripted(&line).unwrap();
        }
        if provider.retired && readable(seen).contains(marker(&case)) {
            return Answer::json(case.dead.status, &case.dead.body);
        }
        scripted(&line).unwrap_or_else(|| Answer::json(case.live.status, &case.live.body))
    })
}

/// The report (the key and its companions, verified live) and, when the
/// provider issues a new key, an env file holding the exposed one.
fn tree_for(case: &Case) -> Tree {
    let tree = Tree::new();
    let mut found = vec![Found(&case.rule, &case.secret, Some("live"))];
    found.extend(case.companions.iter().map(|(rule, value)| Found(rule, value, None)));
    report(&tree, &found);
    tree.write("deploy/.env", format!("API_KEY={}\n", case.secret));
    tree
}

fn run(case: &Case, tree: &Tree, mock: &MockProvider, extra: &[&str]) -> Run {
    let mut args: Vec<String> = vec!["--yes".into(), "--deliver-env".into(), "deploy/.env".into()];
    for endpoint in &case.endpoints {
        args.extend(["--endpoint".into(), format!("{endpoint}={}", mock.url)]);
    }
    args.extend(extra.iter().map(|arg| arg.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let env: Vec<(&str, &str)> = case.env.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    rotate(tree, &args, &env)
}

fn lines(mock: &MockProvider) -> Vec<String> {
    mock.seen()
        .iter()
        .map(|seen| percent_encoding::percent_decode_str(&seen.line).decode_utf8_lossy().into_owned())
        .collect()
}

/// Each expected request, in order, among what the provider saw.
fn assert_in_order(case: &Case, seen: &[String]) {
    let mut rest = seen.iter();
    for expected in &case.expect {
        assert!(
            rest.by_ref().any(|line| line.starts_with(expected.as_str())),
            "{}: `{expected}` not sent in order; the provider saw {seen:#?}",
            case.action
        );
    }
}

fn progress(tree: &Tree, case: &Case) -> String {
    state(tree)[&fingerprint(&format!("{}-0", case.rule))]["progress"].as_str().unwrap_or("none").to_string()
}

fn secrets_of(case: &Case) -> Vec<&str> {
    let mut secrets = vec![case.secret.as_str()];
    secrets.extend(case.new_key.as_deref());
    secrets.extend(case.env.values().map(String::as_str));
    secrets
}

#[test]
fn every_recipe_retires_the_key_in_the_documented_order_and_a_rerun_sends_nothing() {
    let cases = cases();
    let recipes: std::collections::BTreeSet<&str> = cases.iter().map(|case| case.action.as_str()).collect();
    assert!(recipes.len() >= 30, "{} API rotations tested", recipes.len());
    for case in &cases {
        let mock = mock(case, false);
        let tree = tree_for(case);
        let first = run(case, &tree, &mock, &[]);
        assert_eq!(first.code, 0, "{}: {}", case.action, first.stderr);
        assert_eq!(progress(&tree, case), "done", "{}: {}", case.action, first.stderr);
        let seen = lines(&mock);
        assert_in_order(case, &seen);
        let all = mock.seen();
        for wanted in &case.body_has {
            assert!(
                all.iter().any(|seen| seen.body.contains(wanted.as_str())),
                "{}: no body with {wanted}",
                case.action
            );
        }
        for wanted in &case.header_has {
            assert!(
                all.iter().any(|seen| seen.headers.iter().any(|(_, value)| value.contains(wanted.as_str()))),
                "{}: no header with {wanted}",
                case.action
            );
        }
        let env = std::fs::read_to_string(tree.path().join("deploy/.env")).unwrap();
        match &case.new_key {
            Some(new_key) => assert_eq!(env, format!("API_KEY={new_key}\n"), "{}", case.action),
            None => assert_eq!(env, format!("API_KEY={}\n", case.secret), "{}: nothing to deliver", case.action),
        }
        assert!(steps(&tree).iter().all(|(_, outcome)| outcome == "ok"), "{}: {:?}", case.action, steps(&tree));
        assert_never_printed(&tree, &first, &secrets_of(case));

        let again = run(case, &tree, &mock, &[]);
        assert_eq!(again.code, 0, "{}: {}", case.action, again.stderr);
        assert!(again.stderr.contains("already done"), "{}: {}", case.action, again.stderr);
        assert_eq!(mock.seen().len(), seen.len(), "{}: a rerun must not call the provider", case.action);
    }
}

#[test]
fn a_failure_midway_is_audited_and_the_next_run_finishes_without_a_second_key() {
    for case in &cases() {
        let mock = mock(case, true);
        let tree = tree_for(case);
        let first = run(case, &tree, &mock, &[]);
        assert!(
            steps(&tree).iter().any(|(_, outcome)| outcome == "failed"),
            "{}: the failed step is audited: {:?}",
            case.action,
            steps(&tree)
        );
        let kind = keyhound::rotate::action::ActionKind::parse(&case.action).unwrap();
        let replaces = kind.recipe().is_some_and(|recipe| recipe.shape == Shape::Replace);
        let pending = progress(&tree, case) == "pending";
        assert_eq!(pending, replaces, "{}: {}", case.action, first.stderr);
        if pending {
            // The new key is in place and delivered; only the revocation is left.
            assert_eq!(first.code, 0, "{}: {}", case.action, first.stderr);
            assert!(first.stderr.contains("--complete"), "{}: {}", case.action, first.stderr);
            let finish = run(case, &tree, &mock, &["--complete"]);
            assert_eq!(finish.code, 0, "{}: {}", case.action, finish.stderr);
            assert_never_printed(&tree, &finish, &secrets_of(case));
        } else {
            assert_eq!(first.code, 3, "{}: {}", case.action, first.stderr);
            assert_eq!(progress(&tree, case), "none", "{}: a failure is not recorded as progress", case.action);
            let retry = run(case, &tree, &mock, &[]);
            assert_eq!(retry.code, 0, "{}: {}", case.action, retry.stderr);
        }
        assert_eq!(progress(&tree, case), "done", "{}", case.action);
        let seen = lines(&mock);
        let retires = seen.iter().filter(|line| line.starts_with(&case.retire)).count();
        assert_eq!(retires, 2, "{}: the failed request and its retry: {seen:#?}", case.action);
        if let Some(create) = case.expect.iter().find(|line| line.starts_with("POST") && **line != case.retire) {
            if pending {
                let creates = seen.iter().filter(|line| line.starts_with(create.as_str())).count();
                assert_eq!(creates, 1, "{}: one new key, however many runs: {seen:#?}", case.action);
            }
        }
        assert_never_printed(&tree, &first, &secrets_of(case));
    }
}
