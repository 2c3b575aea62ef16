//! Running verification over a scan's findings: each distinct secret once,
//! bounded concurrency per provider, retries with backoff, a global deadline.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;

use crate::finding::{Confidence, Finding};
use crate::redact::Masker;
use crate::rules::{Rule, RuleSet, RuleSource};

use super::http::{Client, Request, Response};
use super::spec::{reached_details, Method, Verifier};
use super::template::{render, Values};
use super::{aws, database, gcp, Status, Verification};

/// How to verify.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Requests in flight per provider.
    pub per_provider: usize,
    /// Time limit of one request.
    pub request_timeout: Duration,
    /// Time limit of all verification; what is left is `unknown (time budget)`.
    pub total_timeout: Duration,
    /// Attempts per secret when the provider answers 429/5xx.
    pub attempts: u32,
    /// Base URL overrides by provider, from the user (never from a scanned repository).
    pub endpoints: BTreeMap<String, String>,
    /// Let rules from config files verify (they choose where secrets are sent).
    pub allow_custom: bool,
    /// Log in to database hosts named in findings (`--verify-network-hosts`): the
    /// host comes from the scanned file, so never by default.
    pub network_hosts: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            per_provider: 4,
            request_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(120),
            attempts: 3,
            endpoints: BTreeMap::new(),
            allow_custom: false,
            network_hosts: false,
        }
    }
}

/// One distinct thing to verify.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct JobKey {
    rule: String,
    secret: String,
    companions: BTreeMap<String, String>,
    /// The database host and login, for [`Method::Database`].
    target: Option<database::Target>,
    /// The key file, for [`Method::GcpServiceAccount`].
    service_account: Option<gcp::ServiceAccount>,
}

/// What an offline verifier (JWT, private key) says of `secret`, found in the
/// file at `path` when it came from one; `None` for verifiers that ask.
fn inspect_offline(verifier: &Verifier, secret: &str, path: Option<&std::path::Path>) -> Option<Verification> {
    match verifier.method {
        Method::JwtOffline => Some(super::jwt::inspect(secret, super::jwt::now())),
        Method::PrivateKeyOffline => Some(super::private_key::inspect(secret, path)),
        _ => None,
    }
}

/// Longest wait for a database login.
const DATABASE_LOGIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Verifies the findings whose rule can be verified, setting `verification`.
pub fn verify_findings(findings: &mut [Finding], rules: &RuleSet, options: &VerifyOptions, progress: &ProgressBar) {
    let mut jobs: HashMap<JobKey, Vec<usize>> = HashMap::new();
    for index in 0..findings.len() {
        if findings[index].verification.is_some() {
            continue; // already settled (e.g. a redacted secret from a saved report)
        }
        let Some(rule) = rules.get(&findings[index].rule_id) else { continue };
        let Some(verifier) = &rule.verify else { continue };
        let path = match &findings[index].origin {
            crate::finding::Origin::File(path) => Some(path.as_path()),
            _ => None,
        };
        if let Some(offline) = inspect_offline(verifier, findings[index].secret.expose(), path) {
            // Read here, sent nowhere.
            findings[index].verification = Some(offline);
            continue;
        }
        if !options.allow_custom && !matches!(rule.source, RuleSource::Embedded(_)) {
            findings[index].verification = Some(Verification::unknown(
                "rule from a config file: its verification runs only with --allow-custom-verify",
            ));
            continue;
        }
        if findings[index].confidence == Confidence::Low {
            // The shape alone does not say whose key this is (DeepSeek shares its
            // format with other vendors): never send it to a provider that may not own it.
            findings[index].verification = Some(Verification::unknown(
                "low confidence: the issuing provider is uncertain, so the key is not sent anywhere \
                 (context such as DEEPSEEK_API_KEY or the provider's base URL in the file raises it)",
            ));
            continue;
        }
        let target = match verifier.method {
            Method::Database if !options.network_hosts => {
                findings[index].verification = Some(Verification::unknown(
                    "the database host comes from the scanned file: logging in to it needs --verify-network-hosts",
                ));
                continue;
            }
            Method::Database => {
                match database::target_in(findings[index].line.expose(), findings[index].secret.expose()) {
                    Some(target) => Some(target),
                    None => {
                        findings[index].verification =
                            Some(Verification::unknown("not a connection URI keyhound can log in with"));
                        continue;
                    }
                }
            }
            _ => None,
        };
        let service_account = match (&verifier.method, path) {
            (Method::GcpServiceAccount, Some(path)) => {
                match gcp::ServiceAccount::from_file(path, findings[index].secret.expose()) {
                    Ok(account) => Some(account),
                    Err(reason) => {
                        findings[index].verification = Some(Verification::unknown(reason));
                        continue;
                    }
                }
            }
            (Method::GcpServiceAccount, None) => {
                findings[index].verification =
                    Some(Verification::unknown("the key file is not on disk (found in git history or an archive)"));
                continue;
            }
            _ => None,
        };
        match companions(findings, index, &verifier.requires) {
            Ok(companions) => {
                let key = JobKey {
                    rule: rule.id.clone(),
                    secret: findings[index].secret.expose().to_string(),
                    companions,
                    target,
                    service_account,
                };
                jobs.entry(key).or_default().push(index);
            }
            Err(missing) => {
                findings[index].verification =
                    Some(Verification::unknown(format!("needs a `{missing}` secret in the same file to verify")))
            }
        }
    }
    progress.set_length(jobs.len() as u64);

    let mut by_provider: BTreeMap<String, VecDeque<(JobKey, &Rule)>> = BTreeMap::new();
    for key in jobs.keys() {
        let rule = rules.get(&key.rule).expect("jobs are built from existing rules");
        let provider = rule.verify.as_ref().expect("jobs have verifiers").provider.clone();
        by_provider.entry(provider).or_default().push_back((key.clone(), rule));
    }
    let deadline = Instant::now() + options.total_timeout;
    let client = Client::new(options.request_timeout);
    let results: Mutex<HashMap<JobKey, Verification>> = Mutex::new(HashMap::new());
    thread::scope(|scope| {
        for (provider, queue) in by_provider {
            let workers = options.per_provider.max(1).min(queue.len());
            let queue = std::sync::Arc::new(Mutex::new(queue));
            let base_url_override = options.endpoints.get(&provider).cloned();
            for _ in 0..workers {
                let (queue, client, results, base_url_override) =
                    (queue.clone(), &client, &results, base_url_override.clone());
                scope.spawn(move || loop {
                    let Some((key, rule)) = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front() else { break };
                    let verifier = rule.verify.as_ref().expect("jobs have verifiers");
                    let urls = base_urls(verifier, base_url_override.as_deref());
                    let outcome = masked(&key, ask_in_regions(verifier, &urls, &key, client, options, deadline));
                    results.lock().unwrap_or_else(|p| p.into_inner()).insert(key, outcome);
                    progress.inc(1);
                });
            }
        }
    });
    for (key, outcome) in results.into_inner().unwrap_or_else(|p| p.into_inner()) {
        for &index in &jobs[&key] {
            findings[index].verification = Some(outcome.clone());
        }
    }
}

/// Verifies one secret of `rule` now (for rotation: is the old key dead yet,
/// does the new one work). `companions` holds the same-file secrets the rule
/// requires, by rule id.
pub fn verify_secret(
    rule: &Rule,
    secret: &str,
    companions: &BTreeMap<String, String>,
    options: &VerifyOptions,
    client: &Client,
) -> Verification {
    verify_one(rule, secret, companions, None, options, client)
}

/// [`verify_secret`] for a service-account key whose key file is at `path`
/// (rotation's check that a deleted key no longer gets a token).
pub fn verify_key_file(
    rule: &Rule,
    secret: &str,
    path: &std::path::Path,
    options: &VerifyOptions,
    client: &Client,
) -> Verification {
    match gcp::ServiceAccount::from_file(path, secret) {
        Ok(account) => verify_one(rule, secret, &BTreeMap::new(), Some(account), options, client),
        Err(reason) => Verification::unknown(reason),
    }
}

fn verify_one(
    rule: &Rule,
    secret: &str,
    companions: &BTreeMap<String, String>,
    service_account: Option<gcp::ServiceAccount>,
    options: &VerifyOptions,
    client: &Client,
) -> Verification {
    let Some(verifier) = &rule.verify else { return Verification::unknown("the rule has no verifier") };
    if let Some(offline) = inspect_offline(verifier, secret, None) {
        return offline;
    }
    if !options.allow_custom && !matches!(rule.source, RuleSource::Embedded(_)) {
        return Verification::unknown("rule from a config file: its verification runs only with --allow-custom-verify");
    }
    let key = JobKey {
        rule: rule.id.clone(),
        secret: secret.to_string(),
        companions: companions.clone(),
        target: None,
        service_account,
    };
    let urls = base_urls(verifier, options.endpoints.get(&verifier.provider).map(String::as_str));
    let deadline = Instant::now() + options.request_timeout * options.attempts.max(1) + Duration::from_secs(5);
    masked(&key, ask_in_regions(verifier, &urls, &key, client, options, deadline))
}

/// The nearest secret of each required rule in the same file as `findings[index]`.
pub fn companions(findings: &[Finding], index: usize, requires: &[String]) -> Result<BTreeMap<String, String>, String> {
    let finding = &findings[index];
    let mut found = BTreeMap::new();
    for rule in requires {
        let nearest = findings
            .iter()
            .filter(|other| &other.rule_id == rule && other.origin == finding.origin)
            .min_by_key(|other| other.location.offset.abs_diff(finding.location.offset));
        match nearest {
            Some(other) => found.insert(rule.clone(), other.secret.expose().to_string()),
            None => return Err(rule.clone()),
        };
    }
    Ok(found)
}

/// `verification` with the secret and its companions masked out of the
/// reason and the details, whatever the provider or the network said.
fn masked(key: &JobKey, mut verification: Verification) -> Verification {
    Masker::redacting(std::iter::once(key.secret.as_str()).chain(key.companions.values().map(String::as_str)))
        .mask_verification(&mut verification);
    verification
}

/// Where to ask: the user's override alone, or the provider's base URL and
/// its other regions.
fn base_urls<'a>(verifier: &'a Verifier, override_url: Option<&'a str>) -> Vec<&'a str> {
    match override_url {
        Some(url) => vec![url],
        None => {
            std::iter::once(verifier.base_url.as_str()).chain(verifier.region_urls.iter().map(String::as_str)).collect()
        }
    }
}

/// Asks each region in turn while the answer is dead: a key is dead only
/// when every region calls it invalid; live or unknown anywhere is the answer.
fn ask_in_regions(
    verifier: &Verifier,
    urls: &[&str],
    key: &JobKey,
    client: &Client,
    options: &VerifyOptions,
    deadline: Instant,
) -> Verification {
    let mut last = Verification::unknown("no endpoint to ask");
    for url in urls {
        last = Asking { verifier, base_url: url, key, client, options, deadline }.ask();
        if last.status != Status::Dead {
            break;
        }
    }
    last
}

/// One key's questions to one endpoint of its provider, within a deadline.
struct Asking<'a> {
    verifier: &'a Verifier,
    base_url: &'a str,
    key: &'a JobKey,
    client: &'a Client,
    options: &'a VerifyOptions,
    deadline: Instant,
}

impl Asking<'_> {
    /// Time left for one more request, if any.
    fn time_left(&self) -> Option<Duration> {
        self.deadline
            .checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero())
            .map(|left| self.options.request_timeout.min(left))
    }

    /// Asks once, and again (with backoff) while the provider answers 429/5xx and time allows.
    fn ask(&self) -> Verification {
        let Asking { verifier, base_url, key, client, options, deadline } = *self;
        if let Method::Database = verifier.method {
            return match &key.target {
                Some(target) => database::check(target, options.request_timeout.min(DATABASE_LOGIN_TIMEOUT)),
                None => Verification::unknown("no database host to log in to"),
            };
        }
        let request = match build_request(verifier, base_url, key) {
            Ok(request) => request,
            Err(reason) => return Verification::unknown(reason),
        };
        let mut last = Verification::unknown("time budget for verification (--verify-timeout) used up");
        for attempt in 0..options.attempts.max(1) {
            let Some(left) = self.time_left() else { return last };
            let response = match client.send(&request, left) {
                Ok(response) => response,
                Err(reason) => return Verification::unknown(reason),
            };
            last = classify(verifier, &response);
            if last.status == Status::Live {
                self.record_what_it_reaches(&mut last);
            }
            if !response.is_retryable() || !matches!(last.status, Status::Unknown(_)) {
                return last;
            }
            let backoff = response.retry_after.unwrap_or(Duration::from_millis(500 * 2u64.pow(attempt)));
            if backoff > Duration::from_secs(30) || Instant::now() + backoff >= deadline {
                return last;
            }
            if attempt + 1 < options.attempts {
                thread::sleep(backoff);
            }
        }
        last
    }

    /// A live key's reach: the verifier's `reach` GETs, an AWS user's
    /// policies, a service account's identity.
    fn record_what_it_reaches(&self, verification: &mut Verification) {
        self.record_reach(verification);
        if matches!(self.verifier.method, Method::AwsSts) {
            self.record_aws_policies(verification);
        }
        if let Some(account) = &self.key.service_account {
            // Who the key acts as (the access token Google sent is not kept).
            verification.details.insert("client_email".into(), account.client_email.clone().into());
            verification.details.insert("project".into(), account.project_id.clone().into());
        }
    }

    /// The verifier's `reach` GETs (same headers): what else the key can
    /// read. An answer other than 200, or none in time, records nothing.
    fn record_reach(&self, verification: &mut Verification) {
        if self.verifier.reach.is_empty() {
            return;
        }
        // The main request's headers and authentication, as a GET without a body.
        let Ok(mut request) = build_request(self.verifier, self.base_url, self.key) else { return };
        request.method = "GET".into();
        request.body = None;
        let values = Values { secret: &self.key.secret, companions: &self.key.companions };
        for reach in &self.verifier.reach {
            let Some(left) = self.time_left() else { return };
            let Ok(path) = render(&reach.path, values) else { continue };
            request.url = format!("{}{path}", self.base_url.trim_end_matches('/'));
            if let Ok(response) = self.client.send(&request, left) {
                verification.details.extend(reached_details(&response, &reach.details));
            }
        }
    }

    /// For an IAM user's key: the managed policies attached to the user, when
    /// the key may list them (IAM's endpoint, or the same override as STS's).
    fn record_aws_policies(&self, verification: &mut Verification) {
        let arn = verification.details.get("arn").and_then(|arn| arn.as_str()).map(str::to_string);
        let Some(user) = arn.as_deref().and_then(aws::iam_user_name) else { return };
        let Some(key_id) = self.verifier.requires.first().and_then(|rule| self.key.companions.get(rule)) else {
            return;
        };
        let Some(left) = self.time_left() else { return };
        let iam = if self.base_url.trim_end_matches('/') == aws::STS_URL { aws::IAM_URL } else { self.base_url };
        let request = aws::list_attached_user_policies(iam, key_id, &self.key.secret, user, &aws::amz_date_now());
        let Ok(response) = self.client.send(&request, left) else { return };
        let policies = match response.status {
            200 => serde_json::json!(aws::xml_fields(&response.body, "PolicyName")),
            403 => serde_json::json!("not allowed to list (iam:ListAttachedUserPolicies)"),
            _ => return,
        };
        verification.details.insert("policies".into(), policies);
    }
}

fn build_request(verifier: &Verifier, base_url: &str, key: &JobKey) -> Result<Request, String> {
    let values = Values { secret: &key.secret, companions: &key.companions };
    match &verifier.method {
        Method::Template(template) => {
            let mut request = Request {
                method: template.method.clone(),
                url: format!("{}{}", base_url.trim_end_matches('/'), render(&template.path, values)?),
                headers: template
                    .headers
                    .iter()
                    .map(|(name, value)| Ok((name.clone(), render(value, values)?)))
                    .collect::<Result<_, String>>()?,
                body: match &template.body {
                    Some((body, content_type)) => Some((render(body, values)?, content_type.clone())),
                    None => None,
                },
            };
            if let Some([user, password]) = &template.basic_auth {
                request.basic_auth(&render(user, values)?, &render(password, values)?);
            }
            Ok(request)
        }
        Method::JwtOffline | Method::PrivateKeyOffline | Method::Database => {
            Err("checked without an HTTP request".into())
        }
        Method::GcpServiceAccount => match &key.service_account {
            Some(account) => gcp::token_request(base_url, account, gcp::now(), gcp::READ_ONLY_SCOPE),
            None => Err("no service-account key file to sign with".into()),
        },
        Method::AwsSts => {
            let key_id = verifier
                .requires
                .first()
                .and_then(|rule| key.companions.get(rule))
                .ok_or("aws-sts needs the access key id as a companion rule")?;
            if key_id.starts_with("ASIA") {
                return Err("temporary credentials (ASIA...) verify only with their session token".into());
            }
            Ok(aws::get_caller_identity(base_url, key_id, &key.secret, &aws::amz_date_now()))
        }
    }
}

fn classify(verifier: &Verifier, response: &Response) -> Verification {
    let mut verification = verifier.classify(response);
    if matches!(verifier.method, Method::AwsSts) && verification.status == Status::Live {
        for (name, tag) in [("account", "Account"), ("arn", "Arn")] {
            if let Some(value) = aws::xml_field(&response.body, tag) {
                verification.details.insert(name.into(), value.into());
            }
        }
    }
    verification
}

#[cfg(test)]
mod tests {
    use super::super::mock::Mock;
    use super::*;

    #[test]
    fn every_default_verifier_builds_a_request_for_its_provider() {
        let rules = RuleSet::defaults().unwrap();
        for rule in rules.rules.iter().filter(|rule| rule.verify.as_deref().is_some_and(Verifier::sends_requests)) {
            let verifier = rule.verify.as_ref().unwrap();
            if matches!(verifier.method, Method::GcpServiceAccount) {
                continue; // signs with the key file it reads: verify::tests serve it one
            }
            let companions = verifier.requires.iter().map(|rule| (rule.clone(), "COMPANION".to_string())).collect();
            // A webhook's secret is its URL; the request takes its path.
            let secret = if verifier.path_from_secret() { "https://hooks.example/SECRET" } else { "SECRET" };
            let key = JobKey {
                rule: rule.id.clone(),
                secret: secret.into(),
                companions,
                target: None,
                service_account: None,
            };
            let request =
                build_request(verifier, &verifier.base_url, &key).unwrap_or_else(|err| panic!("{}: {err}", rule.id));
            assert!(request.url.starts_with("https://"), "{}: {}", rule.id, request.url);
            // SigV4 carries the secret only inside the signature.
            let carries_secret = matches!(verifier.method, Method::AwsSts)
                || request.url.contains("SECRET")
                || request.headers.iter().any(|(_, value)| value.contains("SECRET") || value.starts_with("Basic "))
                || request.body.as_ref().is_some_and(|(body, _)| body.contains("SECRET"));
            assert!(carries_secret, "{}: the request does not carry the secret", rule.id);
        }
    }

    /// Keys live in one region: a refusal in one region sends the question
    /// to the next; dead only when every region refuses, and an answer that is
    /// not a refusal (live, or unknown) ends the search.
    #[test]
    fn each_region_is_asked_while_the_key_is_refused() {
        let rules = RuleSet::defaults().unwrap();
        let verifier = rules.get("iterable-api-key").unwrap().verify.as_deref().unwrap();
        let key = JobKey {
            rule: "iterable-api-key".into(),
            secret: "a".repeat(32),
            companions: BTreeMap::new(),
            target: None,
            service_account: None,
        };
        let options = VerifyOptions::default();
        let client = Client::new(Duration::from_secs(5));
        let ask = |urls: &[&str]| {
            ask_in_regions(verifier, urls, &key, &client, &options, Instant::now() + Duration::from_secs(20)).status
        };
        let answering = |status: u16, body: &str| Mock::start(vec![(status, body.to_string(), Duration::ZERO)]);
        let refusing = answering(401, r#"{"msg": "Invalid API key", "code": "BadApiKey"}"#);
        let accepting = answering(200, r#"{"lists": []}"#);
        let failing = answering(400, r#"{"msg": "bad request"}"#);
        assert_eq!(ask(&[&refusing.url, &accepting.url]), Status::Live, "the EU key, found live in the second region");
        assert_eq!((refusing.requests(), accepting.requests()), (1, 1));
        assert_eq!(ask(&[&refusing.url, &refusing.url]), Status::Dead, "refused everywhere");
        assert!(matches!(ask(&[&failing.url, &accepting.url]), Status::Unknown(_)));
        assert_eq!((failing.requests(), accepting.requests()), (1, 1), "no region asked after an unknown answer");
        assert_eq!(base_urls(verifier, None), ["https://api.iterable.com", "https://api.eu.iterable.com"]);
        assert_eq!(
            base_urls(verifier, Some("http://127.0.0.1:1")),
            ["http://127.0.0.1:1"],
            "an override replaces them all"
        );
    }
}
