//! Where a finding sits says how likely it is to be a fresh leak. Most of
//! the bytes of a container image or a disk are installed packages: their
//! documentation, vendored copies and test data are full of example keys.
//! Findings there are not hidden; they get a lower confidence and a
//! `context` tag saying why, and `--min-confidence` decides what is shown.
//!
//! A key of a specific, high-confidence rule (an AWS key, a GitHub token)
//! stays `medium` inside a package tree: a real key in a `.env` under
//! `node_modules` must still come out. Everything else there is `low`.
//!
//! The publicly known secrets of one published set (a library's test keys,
//! an RFC's example tokens) are reported once: the first copy stands for the
//! set and lists the other places (`--expand-known` reports each).
//!
//! A compiled artefact of a scanned source file (`__pycache__/x.cpython-311.pyc`
//! next to `x.py`) repeats the source's findings: those copies are dropped
//! ("report once"), and counted.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::finding::{Confidence, Finding, Place};

/// The list of publicly known secrets (`rules/known/publicly-known.toml`).
const PUBLICLY_KNOWN: &str = include_str!("../rules/known/publicly-known.toml");

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

/// Path segments that mark an installed or vendored package tree, and the context tag each gives.
const PACKAGE_TREES: [(&str, &str); 9] = [
    ("/site-packages/", "installed package (site-packages)"),
    ("/dist-packages/", "installed package (dist-packages)"),
    ("/node_modules/", "installed package (node_modules)"),
    ("/usr/share/doc/", "package documentation (/usr/share/doc)"),
    ("/usr/share/man/", "package documentation (/usr/share/man)"),
    ("/usr/share/info/", "package documentation (/usr/share/info)"),
    ("/third_party/", "vendored code (third_party)"),
    ("/vendored/", "vendored code (vendored)"),
    ("/vendor/", "vendored code (vendor)"),
];

/// Directory names that hold a package's own tests and their data.
const TEST_DIRECTORIES: [&str; 6] = ["/tests/", "/test/", "/testdata/", "/test_data/", "/testing/", "/fixtures/"];

/// Why a path is not where fresh leaks usually are, if it is such a place.
pub fn context_of(path: &str) -> Option<String> {
    let path = if path.starts_with('/') { path.to_string() } else { format!("/{path}") };
    let tree = PACKAGE_TREES.iter().find(|(segment, _)| path.contains(segment))?;
    let after_tree = &path[path.find(tree.0).map_or(0, |at| at + tree.0.len() - 1)..];
    Some(match TEST_DIRECTORIES.iter().find(|dir| after_tree.contains(*dir)) {
        Some(dir) => format!("{}; test data ({})", tree.1, dir.trim_matches('/')),
        None => tree.1.to_string(),
    })
}

/// Lowers the confidence of findings in package trees (tagging why) and drops
/// the copies compiled Python files repeat; returns how many copies were dropped.
pub fn apply(findings: &mut Vec<Finding>) -> u64 {
    let before = findings.len();
    let in_sources: HashSet<(String, String, String)> = findings
        .iter()
        .map(|finding| (finding.origin.display_path(), finding.rule_id.clone(), finding.secret.expose().to_string()))
        .collect();
    findings.retain(|finding| {
        let Some(source) = python_source_of(&finding.origin.display_path()) else { return true };
        !in_sources.contains(&(source, finding.rule_id.clone(), finding.secret.expose().to_string()))
    });
    for finding in findings.iter_mut() {
        if let Some(source) = publicly_known_source(&finding.rule_id, finding.secret.expose()) {
            finding.confidence = Confidence::Low;
            finding.context.push(format!("{PUBLICLY_KNOWN_TAG}{source}"));
            continue;
        }
        let Some(context) = context_of(&finding.origin.display_path()) else { continue };
        let specific = !finding.tags.iter().any(|tag| tag == "generic");
        finding.confidence = match (specific, finding.confidence) {
            (true, Confidence::High) => Confidence::Medium,
            _ => Confidence::Low,
        };
        finding.context.push(context);
    }
    (before - findings.len()) as u64
}

/// The context tag of a publicly known secret: this, then where it is published.
const PUBLICLY_KNOWN_TAG: &str = "publicly-known: ";

/// Whether `finding`'s secret is on the publicly known list.
pub fn is_publicly_known(finding: &Finding) -> bool {
    finding.context.iter().any(|tag| tag.starts_with(PUBLICLY_KNOWN_TAG))
}

/// Reports the publicly known secrets of one published set (same rule, same
/// source in the list) once: the first finding in report order stands for the
/// set and lists the others in `also_at`. Returns how many were folded into it.
pub fn group_publicly_known(findings: &mut Vec<Finding>) -> u64 {
    let mut first_of_set: HashMap<(String, String), usize> = HashMap::new();
    let mut folded = vec![false; findings.len()];
    for index in 0..findings.len() {
        let Some(source) = findings[index].context.iter().find_map(|tag| tag.strip_prefix(PUBLICLY_KNOWN_TAG)) else {
            continue;
        };
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
    let mut position = 0;
    findings.retain(|_| {
        position += 1;
        !folded[position - 1]
    });
    folded.iter().filter(|&&was| was).count() as u64
}

/// The source file a compiled Python file was made from: `dir/__pycache__/name.TAG.pyc`
/// or `dir/name.pyc` -> `dir/name.py`.
fn python_source_of(path: &str) -> Option<String> {
    let stem = path.strip_suffix(".pyc")?;
    match stem.rsplit_once("/__pycache__/") {
        Some((dir, file)) => {
            let name = file.split('.').next().filter(|name| !name.is_empty())?;
            Some(format!("{dir}/{name}.py"))
        }
        None => Some(format!("{stem}.py")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_trees_documentation_and_their_test_data_are_recognised() {
        let site = context_of("/usr/lib/python3/dist-packages/oauthlib/oauth1/rfc5849/parameters.py").unwrap();
        assert_eq!(site, "installed package (dist-packages)");
        let tests = context_of("venv/lib/python3.12/site-packages/requests/tests/certs/server.key").unwrap();
        assert_eq!(tests, "installed package (site-packages); test data (tests)");
        assert!(context_of("/usr/share/doc/git/contrib/credential/netrc/test.netrc")
            .unwrap()
            .contains("documentation"));
        assert!(context_of("app/node_modules/left-pad/.env").unwrap().contains("node_modules"));
        assert_eq!(context_of("src/config/prod.env"), None);
        assert_eq!(context_of("tests/fixtures/keys.pem"), None, "a project's own tests are not a package's");
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

    #[test]
    fn compiled_python_files_name_their_source() {
        assert_eq!(python_source_of("lib/pkg/__pycache__/auth.cpython-311.pyc").as_deref(), Some("lib/pkg/auth.py"));
        assert_eq!(python_source_of("lib/pkg/auth.pyc").as_deref(), Some("lib/pkg/auth.py"));
        assert_eq!(python_source_of("lib/pkg/auth.py"), None);
    }
}
