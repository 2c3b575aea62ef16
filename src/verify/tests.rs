//! Every built-in verifier against a local mock provider on 127.0.0.1:
//! live, dead, rate-limited then live, 500 then live, too slow, malformed
//! JSON, connection refused; and 1,000 keys of 25 providers checked once each.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;

use super::mock::Mock;
use super::runner::{verify_findings, VerifyOptions};
use super::Status;
use crate::finding::{Finding, Origin};
use crate::rules::RuleSet;

fn finding(rule: &str, secret: &str, path: &str) -> Finding {
    Finding::sample(rule, secret, Origin::File(path.into()), 1)
}

/// An RSA key in PKCS#8 PEM, made once per test run with openssl (which
/// scripts/test installs): service-account key files need a real key to sign with.
fn test_rsa_key() -> &'static str {
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        let output = std::process::Command::new("openssl")
            .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
            .output()
            .expect("openssl makes the test's RSA key (scripts/test installs it)");
        assert!(output.status.success(), "openssl genpkey failed");
        String::from_utf8(output.stdout).unwrap()
    })
}

/// A service-account key file for key `private_key_id`, in a directory kept for the test run.
fn service_account_key_file(private_key_id: &str) -> String {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().unwrap());
    let name: String = private_key_id.chars().filter(char::is_ascii_alphanumeric).take(40).collect();
    let path = dir.path().join(format!("sa-{name}.json"));
    let file = serde_json::json!({
        "type": "service_account",
        "project_id": "acme-prod-311206",
        "private_key_id": private_key_id,
        "private_key": test_rsa_key(),
        "client_email": "deployer@acme-prod-311206.iam.gserviceaccount.com",
        "token_uri": "https://oauth2.googleapis.com/token",
    });
    std::fs::write(&path, file.to_string()).unwrap();
    path.to_string_lossy().into_owned()
}

/// The findings one verifiable rule needs: its own (in a key file, for
/// verifiers that read one), plus companions.
fn findings_for(rules: &RuleSet, rule: &str, secret: &str) -> Vec<Finding> {
    let verifier = rules.get(rule).unwrap().verify.as_ref().unwrap();
    let path = match verifier.method {
        super::spec::Method::GcpServiceAccount => service_account_key_file(secret),
        _ => "config.env".to_string(),
    };
    let mut findings = vec![finding(rule, secret, &path)];
    for (index, companion) in verifier.requires.iter().enumerate() {
        let value =
            if companion.contains("aws") { "AKIAQYLPMN5HHHFPZAM2".to_string() } else { format!("COMPANION{index}") };
        findings.push(finding(companion, &value, "config.env"));
    }
    findings
}

fn options(mock: &Mock, provider: &str, request_timeout: Duration) -> VerifyOptions {
    VerifyOptions {
        request_timeout,
        total_timeout: Duration::from_secs(30),
        endpoints: [(provider.to_string(), mock.url.clone())].into(),
        ..VerifyOptions::default()
    }
}

/// One answer of `fixtures/recorded-answers/*.toml`: what a provider's
/// verification endpoint answers, written from its documentation.
#[derive(Debug, Clone, serde::Deserialize)]
struct Recorded {
    provider: String,
    case: String,
    #[serde(default)]
    path: Option<String>,
    doc: String,
    status: u16,
    content_type: String,
    body: String,
    /// Response headers a verifier records (`x-oauth-scopes`).
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
}

/// Whether the rule's verifier sends a request (offline checks such as `jwt` do not).
fn asks_a_provider(rule: &crate::rules::Rule) -> bool {
    rule.verify.as_deref().is_some_and(super::spec::Verifier::sends_requests)
}

fn recorded_answers() -> Vec<Recorded> {
    #[derive(serde::Deserialize)]
    struct File {
        answer: Vec<Recorded>,
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/recorded-answers");
    let mut answers = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let file: File = toml::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        answers.extend(file.answer);
    }
    answers
}

/// The recorded answers that apply to `rule`: its provider's, on its path.
fn answers_for<'a>(answers: &'a [Recorded], rules: &RuleSet, rule: &str) -> Vec<&'a Recorded> {
    let verifier = rules.get(rule).unwrap().verify.as_ref().unwrap();
    let path = match &verifier.method {
        super::spec::Method::Template(template) => Some(template.path.as_str()),
        super::spec::Method::AwsSts
        | super::spec::Method::GcpServiceAccount
        | super::spec::Method::JwtOffline
        | super::spec::Method::PrivateKeyOffline
        | super::spec::Method::Database => None,
    };
    answers
        .iter()
        .filter(|answer| answer.provider == verifier.provider)
        .filter(|answer| answer.path.is_none() || answer.path.as_deref() == path)
        .collect()
}

/// The status `rule` gives a secret when its provider answers `sequence` (in order).
fn status_serving(
    rules: &RuleSet,
    rule: &str,
    sequence: Vec<(u16, String, Duration)>,
    content_type: &str,
    timeout: Duration,
) -> Status {
    let mock = Mock::serving(sequence, content_type);
    let provider = &rules.get(rule).unwrap().verify.as_ref().unwrap().provider;
    let mut findings = findings_for(rules, rule, "SECRET-VALUE-123");
    verify_findings(&mut findings, rules, &options(&mock, provider, timeout), &ProgressBar::hidden());
    findings[0].verification.clone().expect("verified").status
}

/// Every built-in verifier reads its provider's documented answers as the
/// documentation says: a valid key's answer live (with the details the rule
/// records), an invalid key's dead, an ambiguous one (a live key blocked by
/// an IP allowlist, a provider error) unknown.
#[test]
fn every_built_in_verifier_reads_its_providers_documented_answers() {
    let rules = RuleSet::defaults().unwrap();
    let answers = recorded_answers();
    let fast = Duration::from_secs(5);
    for rule in rules.rules.iter().filter(|rule| asks_a_provider(rule)) {
        let recorded = answers_for(&answers, &rules, &rule.id);
        for case in ["live", "dead"] {
            assert!(
                recorded.iter().any(|answer| answer.case == case),
                "{}: no recorded {case} answer of provider {} in fixtures/recorded-answers",
                rule.id,
                rule.verify.as_ref().unwrap().provider
            );
        }
        for answer in recorded {
            let answered = vec![(answer.status, answer.body.clone(), Duration::ZERO)];
            let status = status_serving(&rules, &rule.id, answered, &answer.content_type, fast);
            let expected = match answer.case.as_str() {
                "live" => Status::Live,
                "dead" => Status::Dead,
                _ => Status::Unknown(String::new()),
            };
            assert_eq!(
                status.label(),
                expected.label(),
                "{}: the {} answer documented at {} reads as {status}",
                rule.id,
                answer.case,
                answer.doc
            );
        }
    }
}

/// The details a live answer records come from the documented answers'
/// fields: each detail is in at least one documented live answer (a Google API
/// key's refusal reason is only in the 403 ones).
#[test]
fn live_details_are_found_in_the_documented_answers() {
    let rules = RuleSet::defaults().unwrap();
    let answers = recorded_answers();
    for rule in rules.rules.iter().filter(|rule| asks_a_provider(rule)) {
        let verifier = rule.verify.as_ref().unwrap();
        let live: Vec<_> =
            answers_for(&answers, &rules, &rule.id).into_iter().filter(|answer| answer.case == "live").collect();
        let mut recorded = std::collections::BTreeSet::new();
        for answer in &live {
            let response = super::http::Response {
                status: answer.status,
                content_type: answer.content_type.clone(),
                body: answer.body.clone(),
                retry_after: None,
                headers: answer.headers.clone(),
            };
            let verification = verifier.classify(&response);
            assert_eq!(verification.status, Status::Live, "{}: {}", rule.id, answer.doc);
            recorded.extend(verification.details.into_keys());
        }
        let aws = matches!(verifier.method, super::spec::Method::AwsSts);
        for name in verifier.detail_names().filter(|_| !live.is_empty() && !aws) {
            assert!(recorded.contains(name), "{}: detail `{name}` is in no documented live answer", rule.id);
        }
    }
}

/// Rate limits, server errors, slowness and malformed bodies around a
/// documented live answer: retried, or unknown, never dead.
#[test]
fn every_built_in_verifier_retries_and_never_calls_a_failure_dead() {
    let rules = RuleSet::defaults().unwrap();
    let answers = recorded_answers();
    let fast = Duration::from_secs(5);
    let now = Duration::ZERO;
    let verifiable: Vec<String> =
        rules.rules.iter().filter(|rule| asks_a_provider(rule)).map(|rule| rule.id.clone()).collect();
    assert!(verifiable.len() >= 25, "{} verifiable rules", verifiable.len());
    // Each case waits out a backoff or a timeout: the rules run side by side, each with its own mock.
    let check = |rule: &String| {
        let live = answers_for(&answers, &rules, rule).into_iter().find(|answer| answer.case == "live").unwrap();
        let serve = |sequence, timeout| status_serving(&rules, rule, sequence, &live.content_type, timeout);
        let recorded_live = (live.status, live.body.clone(), now);
        let limited = vec![(429, "{}".into(), now), recorded_live.clone()];
        assert_eq!(serve(limited, fast), Status::Live, "{rule}: 429 then live");
        let flaky = vec![(500, "{}".into(), now), recorded_live.clone()];
        assert_eq!(serve(flaky, fast), Status::Live, "{rule}: 500 then live");
        let slow = vec![(live.status, live.body.clone(), Duration::from_millis(1500))];
        assert_eq!(serve(slow, Duration::from_millis(300)), Status::Unknown("timeout".into()), "{rule}: too slow");
        let malformed = serve(vec![(live.status, "{not json".into(), now)], fast);
        assert_ne!(malformed, Status::Dead, "{rule}: malformed JSON is never dead");
    };
    thread::scope(|scope| {
        for chunk in verifiable.chunks(verifiable.len().div_ceil(SIDE_BY_SIDE)) {
            scope.spawn(move || chunk.iter().for_each(check));
        }
    });
}

/// Threads that check verifiers side by side (they mostly wait on backoffs and timeouts).
const SIDE_BY_SIDE: usize = 16;

#[test]
fn connection_refused_is_unknown_network() {
    let rules = RuleSet::defaults().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut findings = findings_for(&rules, "deepseek-api-key", "sk-00");
    let options = VerifyOptions { endpoints: [("deepseek".to_string(), url)].into(), ..VerifyOptions::default() };
    let started = Instant::now();
    verify_findings(&mut findings, &rules, &options, &ProgressBar::hidden());
    let status = findings[0].verification.clone().unwrap().status;
    assert!(matches!(&status, Status::Unknown(reason) if reason.starts_with("network")), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// The issue's bar: 5,000 findings of 100 providers, every answer 50 ms late,
/// in under a minute, each distinct key asked once.
#[test]
fn five_thousand_keys_of_100_providers_are_each_checked_once_within_a_minute() {
    let rules = RuleSet::defaults().unwrap();
    let mut providers: Vec<(String, String)> = Vec::new();
    for rule in &rules.rules {
        let Some(verify) = &rule.verify else { continue };
        let template = matches!(verify.method, super::spec::Method::Template(_));
        if template
            && verify.requires.is_empty()
            && !verify.path_from_secret()
            && !providers.iter().any(|(_, provider)| provider == &verify.provider)
        {
            providers.push((rule.id.clone(), verify.provider.clone()));
        }
    }
    providers.truncate(100);
    assert_eq!(providers.len(), 100, "100 providers verify without companions");
    // Each provider its own server, as in life (one local server would meet
    // hundreds of connections at once, beyond its listen backlog).
    let mocks: Vec<Mock> =
        providers.iter().map(|_| Mock::start(vec![(200, "{}".into(), Duration::from_millis(50))])).collect();
    let mut findings = Vec::new();
    for (rule, _) in &providers {
        for index in 0..49 {
            findings.push(finding(rule, &format!("{rule}-key-{index}"), "a.env"));
        }
        // The same key again, in another file: still one request.
        findings.push(finding(rule, &format!("{rule}-key-0"), "b.env"));
    }
    assert_eq!(findings.len(), 5000);
    let options = VerifyOptions {
        endpoints: providers
            .iter()
            .zip(&mocks)
            .map(|((_, provider), mock)| (provider.clone(), mock.url.clone()))
            .collect(),
        ..VerifyOptions::default()
    };
    let started = Instant::now();
    verify_findings(&mut findings, &rules, &options, &ProgressBar::hidden());
    let elapsed = started.elapsed();
    // Live keys of verifiers with `reach` also get their follow-up GETs.
    let follow_ups: usize = providers
        .iter()
        .map(|(rule, _)| {
            49 * rules.get(rule).and_then(|rule| rule.verify.as_ref()).map_or(0, |verify| verify.reach.len())
        })
        .sum();
    assert_eq!(mocks.iter().map(Mock::requests).sum::<usize>(), 4900 + follow_ups, "each distinct key exactly once");
    assert!(findings.iter().all(|finding| finding.verification.is_some()));
    assert!(elapsed < Duration::from_secs(60), "took {elapsed:?}");
    eprintln!("5,000 findings of 100 providers verified in {elapsed:?}");
}

/// Every built-in verifier against a server that accepts each connection and
/// closes it unanswered: unknown (network), and the reason holds neither the
/// secret nor any part of the request (several verifiers put it in the URL).
#[test]
fn every_built_in_verifier_keeps_the_secret_out_of_a_dropped_connection_reason() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let served = Arc::new(AtomicUsize::new(0));
    let counter = served.clone();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut stream = stream;
            stream.set_read_timeout(Some(Duration::from_millis(200))).ok();
            let _ = std::io::Read::read(&mut stream, &mut [0u8; 4096]);
        }
    });
    let rules = RuleSet::defaults().unwrap();
    for rule in rules.rules.iter().filter(|rule| asks_a_provider(rule)) {
        let provider = &rule.verify.as_ref().unwrap().provider;
        let secret = if rule.verify.as_ref().unwrap().path_from_secret() {
            "https://hooks.example/5123456789/AAHfDroppedConnectionSecret0123"
        } else {
            "5123456789:AAHfDroppedConnectionSecret0123"
        };
        let mut findings = findings_for(&rules, &rule.id, secret);
        let options = VerifyOptions { endpoints: [(provider.clone(), url.clone())].into(), ..VerifyOptions::default() };
        verify_findings(&mut findings, &rules, &options, &ProgressBar::hidden());
        let status = findings[0].verification.clone().unwrap().status;
        let Status::Unknown(reason) = &status else { panic!("{}: {status:?}", rule.id) };
        assert!(reason.starts_with("network"), "{}: {reason}", rule.id);
        for leaked in ["AAHfDroppedConnection", "COMPANION", "127.0.0.1", "http"] {
            assert!(!reason.contains(leaked), "{}: the reason holds `{leaked}`: {reason}", rule.id);
        }
    }
    assert!(served.load(Ordering::SeqCst) > 0);
}

/// A live GitHub token's `reach`: a second GET, with the same headers, records
/// the organisations it sees; a dead one gets no second request.
#[test]
fn a_live_github_token_records_the_organisations_it_reaches_and_a_dead_one_is_asked_once() {
    let rules = RuleSet::defaults().unwrap();
    let user = r#"{"login": "octo-example", "type": "User", "total_private_repos": 3, "plan": {"name": "pro"}}"#;
    let orgs = r#"[{"login": "acme-corp", "id": 1}, {"login": "example-org", "id": 2}]"#;
    let mock = Mock::start(vec![(200, user.into(), Duration::ZERO), (200, orgs.into(), Duration::ZERO)]);
    let mut findings = findings_for(&rules, "github-pat", "ghp_s72roVAvJi6SKdxh4bXtvW7fBkaj6j3s5gnA");
    verify_findings(&mut findings, &rules, &options(&mock, "github", Duration::from_secs(5)), &ProgressBar::hidden());
    let verification = findings[0].verification.clone().unwrap();
    assert_eq!(verification.status, Status::Live);
    assert_eq!(verification.details["login"], "octo-example");
    assert_eq!(verification.details["orgs"], serde_json::json!(["acme-corp", "example-org"]));
    assert_eq!(mock.requests(), 2);

    let dead = Mock::start(vec![(401, r#"{"message": "Bad credentials"}"#.into(), Duration::ZERO)]);
    let mut findings = findings_for(&rules, "github-pat", "ghp_s72roVAvJi6SKdxh4bXtvW7fBkaj6j3s5gnA");
    verify_findings(&mut findings, &rules, &options(&dead, "github", Duration::from_secs(5)), &ProgressBar::hidden());
    assert_eq!(findings[0].verification.clone().unwrap().status, Status::Dead);
    assert_eq!(dead.requests(), 1, "no follow-up for a dead key");
}

/// `reach` details: a recordable header, and a pointer with a `*` step over a list.
#[test]
fn reach_details_read_headers_and_every_element_of_a_list() {
    let rules = RuleSet::defaults().unwrap();
    let verifier = rules.get("gitlab-pat").unwrap().verify.as_ref().unwrap();
    let projects = verifier.reach.iter().find(|reach| reach.path.contains("/projects")).unwrap();
    let response = super::http::Response {
        status: 200,
        content_type: "application/json".into(),
        body: r#"[{"id": 1, "path_with_namespace": "acme/api"}, {"id": 2, "path_with_namespace": "acme/web"}]"#.into(),
        retry_after: None,
        headers: [("x-total".to_string(), "42".to_string())].into(),
    };
    let details = super::spec::reached_details(&response, &projects.details);
    assert_eq!(details["projects"], "42");
    assert_eq!(details["project_paths"], serde_json::json!(["acme/api", "acme/web"]));
    let refused = super::http::Response { status: 403, ..response };
    assert!(super::spec::reached_details(&refused, &projects.details).is_empty());
}

/// A live IAM user's key pair: the managed policies attached to the user are
/// listed with IAM's ListAttachedUserPolicies (signed like STS); a role's
/// temporary identity has no user to ask about.
#[test]
fn a_live_aws_user_key_records_its_attached_policies() {
    let rules = RuleSet::defaults().unwrap();
    let identity = |arn: &str| {
        format!(
            "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>{arn}</Arn><UserId>AIDAEXAMPLE</UserId>\
             <Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>"
        )
    };
    let policies = "<ListAttachedUserPoliciesResponse><ListAttachedUserPoliciesResult><AttachedPolicies>\
                    <member><PolicyName>ReadOnlyAccess</PolicyName><PolicyArn>arn:aws:iam::aws:policy/ReadOnlyAccess</PolicyArn></member>\
                    <member><PolicyName>AmazonS3FullAccess</PolicyName><PolicyArn>arn:aws:iam::aws:policy/AmazonS3FullAccess</PolicyArn></member>\
                    </AttachedPolicies><IsTruncated>false</IsTruncated></ListAttachedUserPoliciesResult></ListAttachedUserPoliciesResponse>";
    let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzQ3kLm9pXa";
    let mock = Mock::serving(
        vec![
            (200, identity("arn:aws:iam::123456789012:user/ci-deploy"), Duration::ZERO),
            (200, policies.into(), Duration::ZERO),
        ],
        "text/xml",
    );
    let mut findings = findings_for(&rules, "aws-secret-access-key", secret);
    verify_findings(&mut findings, &rules, &options(&mock, "aws", Duration::from_secs(5)), &ProgressBar::hidden());
    let verification = findings[0].verification.clone().unwrap();
    assert_eq!(verification.status, Status::Live, "{verification:?}");
    assert_eq!(verification.details["policies"], serde_json::json!(["ReadOnlyAccess", "AmazonS3FullAccess"]));
    assert_eq!(mock.requests(), 2);

    let role = Mock::serving(
        vec![(200, identity("arn:aws:sts::123456789012:assumed-role/Admin/session"), Duration::ZERO)],
        "text/xml",
    );
    let mut findings = findings_for(&rules, "aws-secret-access-key", secret);
    verify_findings(&mut findings, &rules, &options(&role, "aws", Duration::from_secs(5)), &ProgressBar::hidden());
    let verification = findings[0].verification.clone().unwrap();
    assert_eq!(verification.status, Status::Live);
    assert!(!verification.details.contains_key("policies"));
    assert_eq!(role.requests(), 1, "a role has no attached user policies to list");
}

/// The token request of a service-account key: a JWT naming the key (kid), the
/// account (iss) and Google's token endpoint (aud), valid five minutes, whose
/// RS256 signature checks with the key's public half; sent to the verifier's
/// base URL, never to the key file's own token_uri.
#[test]
fn a_service_account_key_signs_a_short_lived_jwt_for_google_only() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let key_id = "86794d2dc59d964b4981549837f65361f32f0c16";
    let mut file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(service_account_key_file(key_id)).unwrap()).unwrap();
    file["token_uri"] = "https://attacker.example/token".into();
    let account = super::gcp::ServiceAccount::from_json(&file.to_string(), key_id).unwrap();
    let request = super::gcp::token_request(
        "https://oauth2.googleapis.com",
        &account,
        1_700_000_000,
        super::gcp::READ_ONLY_SCOPE,
    )
    .unwrap();
    assert_eq!(request.url, "https://oauth2.googleapis.com/token");
    let body = request.body.unwrap().0;
    let assertion = body.split("assertion=").nth(1).unwrap();
    let parts: Vec<&str> = assertion.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!((header["alg"].as_str(), header["kid"].as_str()), (Some("RS256"), Some(key_id)));
    assert_eq!(claims["iss"], "deployer@acme-prod-311206.iam.gserviceaccount.com");
    assert_eq!(claims["aud"], "https://oauth2.googleapis.com/token");
    assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 300);
    // The public half, from openssl, checks the signature.
    let mut openssl = std::process::Command::new("openssl")
        .args(["pkey", "-pubout", "-outform", "DER"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut openssl.stdin.take().unwrap(), test_rsa_key().as_bytes()).unwrap();
    let spki = openssl.wait_with_output().unwrap().stdout;
    // SubjectPublicKeyInfo: the RSAPublicKey is the BIT STRING at its end (after 24 bytes for 2048 bits).
    let public = ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, &spki[24..]);
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    public.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature).expect("the signature checks");
}
