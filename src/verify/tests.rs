//! Every built-in verifier against a local mock provider on 127.0.0.1:
//! live, dead, rate-limited then live, 500 then live, too slow, malformed
//! JSON, connection refused; and 1,000 keys of 25 providers checked once each.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;

use super::runner::{verify_findings, VerifyOptions};
use super::Status;
use crate::finding::{Finding, Origin};
use crate::rules::RuleSet;

/// A scripted local server: answers in order (the last repeats), counts requests.
struct Mock {
    url: String,
    requests: Arc<AtomicUsize>,
    server: Arc<tiny_http::Server>,
}

impl Mock {
    fn start(answers: Vec<(u16, String, Duration)>) -> Mock {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let url = format!("http://{}", server.server_addr().to_ip().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let queue = Arc::new(Mutex::new(VecDeque::from(answers)));
        let (listener, counter) = (server.clone(), requests.clone());
        thread::spawn(move || {
            for request in listener.incoming_requests() {
                counter.fetch_add(1, Ordering::SeqCst);
                let queue = queue.clone();
                thread::spawn(move || {
                    let (status, body, delay) = {
                        let mut queue = queue.lock().unwrap();
                        if queue.len() > 1 {
                            queue.pop_front().unwrap()
                        } else {
                            queue.front().unwrap().clone()
                        }
                    };
                    thread::sleep(delay);
                    let header = tiny_http::Header::from_bytes("Content-Type", "application/json").unwrap();
                    let mut response = tiny_http::Response::from_string(body).with_status_code(status);
                    if status == 429 {
                        response.add_header(tiny_http::Header::from_bytes("Retry-After", "0").unwrap());
                    }
                    let _ = request.respond(response.with_header(header));
                });
            }
        });
        Mock { url, requests, server }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

fn finding(rule: &str, secret: &str, path: &str) -> Finding {
    Finding::sample(rule, secret, Origin::File(path.into()), 1)
}

/// The findings one verifiable rule needs: its own, plus companions.
fn findings_for(rules: &RuleSet, rule: &str, secret: &str) -> Vec<Finding> {
    let verifier = rules.get(rule).unwrap().verify.as_ref().unwrap();
    let mut findings = vec![finding(rule, secret, "config.env")];
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

fn status_with(rules: &RuleSet, rule: &str, answers: Vec<(u16, String, Duration)>, timeout: Duration) -> Status {
    let mock = Mock::start(answers);
    let provider = &rules.get(rule).unwrap().verify.as_ref().unwrap().provider;
    let mut findings = findings_for(rules, rule, "SECRET-VALUE-123");
    verify_findings(&mut findings, rules, &options(&mock, provider, timeout), &ProgressBar::hidden());
    findings[0].verification.clone().expect("verified").status
}

#[test]
fn every_built_in_verifier_maps_answers_to_live_dead_and_unknown() {
    let rules = RuleSet::defaults().unwrap();
    let fast = Duration::from_secs(5);
    let now = Duration::ZERO;
    let verifiable: Vec<String> =
        rules.rules.iter().filter(|rule| rule.verify.is_some()).map(|rule| rule.id.clone()).collect();
    assert!(verifiable.len() >= 25, "{} verifiable rules", verifiable.len());
    for rule in &verifiable {
        let verifier = rules.get(rule).unwrap().verify.clone().unwrap();
        let (live_status, live_body) = verifier.example_live();
        let (dead_status, dead_body) = verifier.example_dead();
        let live = (live_status, live_body.clone(), now);
        assert_eq!(status_with(&rules, rule, vec![live.clone()], fast), Status::Live, "{rule}: live");
        assert_eq!(status_with(&rules, rule, vec![(dead_status, dead_body, now)], fast), Status::Dead, "{rule}: dead");
        let limited = vec![(429, "{}".into(), now), live.clone()];
        assert_eq!(status_with(&rules, rule, limited, fast), Status::Live, "{rule}: 429 then live");
        let flaky = vec![(500, "{}".into(), now), live.clone()];
        assert_eq!(status_with(&rules, rule, flaky, fast), Status::Live, "{rule}: 500 then live");
        let slow = vec![(live_status, live_body, Duration::from_secs(3))];
        let result = status_with(&rules, rule, slow, Duration::from_millis(300));
        assert_eq!(result, Status::Unknown("timeout".into()), "{rule}: too slow");
        let malformed = status_with(&rules, rule, vec![(live_status, "{not json".into(), now)], fast);
        assert_ne!(malformed, Status::Dead, "{rule}: malformed JSON is never dead");
    }
}

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

#[test]
fn a_thousand_keys_of_25_providers_are_each_checked_once_and_fast() {
    let rules = RuleSet::defaults().unwrap();
    let mut providers: Vec<(String, String)> = Vec::new();
    for rule in &rules.rules {
        let Some(verify) = &rule.verify else { continue };
        if verify.requires.is_empty() && !providers.iter().any(|(_, provider)| provider == &verify.provider) {
            providers.push((rule.id.clone(), verify.provider.clone()));
        }
    }
    providers.truncate(25);
    assert_eq!(providers.len(), 25, "25 providers verify without companions");
    let mock = Mock::start(vec![(200, "{}".into(), Duration::from_millis(50))]);
    let mut findings = Vec::new();
    for (rule, _) in &providers {
        for index in 0..40 {
            findings.push(finding(rule, &format!("{rule}-key-{index}"), "a.env"));
        }
        // The same key twice more: still one request.
        findings.push(finding(rule, &format!("{rule}-key-0"), "b.env"));
    }
    let options = VerifyOptions {
        endpoints: providers.iter().map(|(_, provider)| (provider.clone(), mock.url.clone())).collect(),
        ..VerifyOptions::default()
    };
    let started = Instant::now();
    verify_findings(&mut findings, &rules, &options, &ProgressBar::hidden());
    let elapsed = started.elapsed();
    assert_eq!(mock.requests(), 1000, "each distinct key exactly once");
    assert!(findings.iter().all(|finding| finding.verification.is_some()));
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
}
