//! Secrets that are public knowledge: test vectors compiled into widely used
//! libraries, test-suite keys shipped inside packages, RFC and man-page
//! examples, client secrets their vendors publish. The list
//! (`rules/known/publicly-known.toml`) names each by the SHA-256 of a normal
//! form and says where it is published. A listed secret is reported `low`
//! with a `publicly-known` context, and the copies of one published set are
//! one finding that lists the other places (`--expand-known` lists each).

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::finding::{Finding, Place};

/// The list of publicly known secrets (`rules/known/publicly-known.toml`).
const PUBLICLY_KNOWN: &str = include_str!("../../rules/known/publicly-known.toml");

#[derive(Deserialize)]
struct KnownList {
    known: Vec<Known>,
}

/// A publicly known secret: its hash, the rule that finds it, where it is published.
#[derive(Deserialize)]
struct Known {
    sha256: String,
    rule: String,
    source: String,
}

/// The publicly known secrets by the SHA-256 of their normal form.
fn publicly_known() -> &'static HashMap<String, Known> {
    static KNOWN: OnceLock<HashMap<String, Known>> = OnceLock::new();
    KNOWN.get_or_init(|| {
        toml::from_str::<KnownList>(PUBLICLY_KNOWN)
            .map(|list| list.known.into_iter().map(|known| (known.sha256.clone(), known)).collect())
            .unwrap_or_default()
    })
}

/// A secret's normal form for the list: without whitespace, quotes, backslashes
/// and escaped newlines (a PEM key reads the same in a `.pem` file, a JSON
/// string or a C array), hashed with SHA-256.
pub fn known_hash(secret: &str) -> String {
    let normal: String = secret
        .replace("\\n", "")
        .replace("\\r", "")
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '"' | '\'' | '\\'))
        .collect();
    Sha256::digest(normal.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Where a publicly known secret is published, if `secret` (found by `rule`) is one.
pub fn publicly_known_source(rule: &str, secret: &str) -> Option<&'static str> {
    publicly_known().get(&known_hash(secret)).filter(|known| known.rule == rule).map(|known| known.source.as_str())
}

/// The context tag of a publicly known secret: this, then where it is published.
pub const PUBLICLY_KNOWN_TAG: &str = "publicly-known: ";

/// Where `finding`'s secret is published, if [`super::apply`] found it on the list.
fn published_source(finding: &Finding) -> Option<&str> {
    finding.context.iter().find_map(|tag| tag.strip_prefix(PUBLICLY_KNOWN_TAG))
}

/// Whether `finding`'s secret is on the publicly known list.
pub fn is_publicly_known(finding: &Finding) -> bool {
    published_source(finding).is_some()
}

/// Reports the publicly known secrets of one published set (same rule, same
/// source in the list) once: the first finding in report order stands for the
/// set and lists the others in `also_at`. A copy the provider called live is
/// never folded. Returns how many were folded.
pub fn group_publicly_known(findings: &mut Vec<Finding>) -> u64 {
    let mut first_of_set: HashMap<(String, String), usize> = HashMap::new();
    let mut folded = vec![false; findings.len()];
    for index in 0..findings.len() {
        if findings[index].is_live() {
            continue;
        }
        let Some(source) = published_source(&findings[index]) else { continue };
        let set = (findings[index].rule_id.clone(), source.to_string());
        match first_of_set.get(&set) {
            None => {
                first_of_set.insert(set, index);
            }
            Some(&first) => {
                let copy = &findings[index];
                let place = Place {
                    path: copy.origin.display_path(),
                    line: copy.location.line,
                    offset: copy.location.offset,
                    fingerprint: copy.fingerprint.clone(),
                };
                findings[first].also_at.push(place);
                folded[index] = true;
            }
        }
    }
    super::remove_marked(findings, &folded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_header_at(path: &str) -> Finding {
        let origin = crate::finding::Origin::File(path.into());
        let mut finding = Finding::sample("http-basic-auth-header", "czZCaGRSa3F0MzpnWDFmQmF0M2JW", origin, 3);
        finding.context.push(format!("{PUBLICLY_KNOWN_TAG}RFC 6749 section 2.3.1"));
        finding
    }

    #[test]
    fn a_set_is_one_finding_but_a_live_copy_and_a_fresh_leak_stay_apart() {
        let mut live = rfc_header_at("c/live.py");
        live.verification =
            Some(crate::verify::Verification { status: crate::verify::Status::Live, details: Default::default() });
        let fresh = Finding::sample(
            "http-basic-auth-header",
            "ZGVwbG95OmhrM21ROXpSN3RXMg",
            crate::finding::Origin::File("d.py".into()),
            1,
        );
        let mut findings = vec![rfc_header_at("a.md"), rfc_header_at("b/base.py"), live, fresh];
        assert_eq!(group_publicly_known(&mut findings), 1);
        let paths: Vec<String> = findings.iter().map(|finding| finding.origin.display_path()).collect();
        assert_eq!(paths, ["a.md", "c/live.py", "d.py"]);
        assert_eq!(findings[0].also_at.len(), 1);
        assert_eq!(findings[0].also_at[0].path, "b/base.py");
        assert_eq!(findings[0].also_at[0].line, 3);
        assert_eq!(findings[0].also_at[0].fingerprint, rfc_header_at("b/base.py").fingerprint);
    }

    #[test]
    fn the_publicly_known_list_is_well_formed_and_names_existing_rules() {
        let list: KnownList = toml::from_str(PUBLICLY_KNOWN).expect("rules/known/publicly-known.toml parses");
        assert!(list.known.len() >= 40, "{} entries", list.known.len());
        let rules = crate::rules::RuleSet::defaults().unwrap();
        for known in &list.known {
            assert!(
                known.sha256.len() == 64 && known.sha256.bytes().all(|b| b.is_ascii_hexdigit()),
                "{}",
                known.sha256
            );
            assert!(rules.get(&known.rule).is_some(), "{}: no rule {}", known.sha256, known.rule);
            assert!(known.source.len() > 20, "{}: say where it is published", known.sha256);
        }
        assert_eq!(publicly_known().len(), list.known.len(), "no duplicate entries");
    }

    #[test]
    fn a_listed_secret_is_recognised_in_any_quoting() {
        // RFC 6749's example client credentials, as base64 in a Basic header.
        let header_value = "czZCaGRSa3F0MzpnWDFmQmF0M2JW";
        assert!(publicly_known_source("http-basic-auth-header", header_value).is_some());
        assert!(publicly_known_source("generic-secret", header_value).is_none(), "listed for its rule only");
        assert_eq!(
            known_hash("-----BEGIN KEY-----\nAB CD\n-----END KEY-----"),
            known_hash("-----BEGIN KEY-----\\nABCD\\n-----END KEY-----")
        );
    }
}
