//! SARIF 2.1.0 output (GitHub code scanning compatible), built with the
//! `serde-sarif` types.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde_json::json;
use serde_sarif::sarif::{
    ArtifactLocation, Location, Message, MultiformatMessageString, PhysicalLocation, PropertyBag, Region,
    ReportingDescriptor, Result as SarifResult, ResultLevel, Run, Sarif, Tool, ToolComponent,
};

use crate::finding::{Confidence, Finding};
use crate::rules::Rule;

use super::{RenderOptions, Report};

const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFORMATION_URI: &str = "https://github.com/keyhound/keyhound";
/// Key of keyhound's fingerprint in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "keyhound/v1";

const REMEDIATION: &str = "A secret committed to a repository must be treated as exposed. \
1. Revoke or rotate it at the provider now (deleting the line does not un-leak it). \
2. Load the new value from the environment or a secret manager instead of source code. \
3. If it reached git history, purge it (git filter-repo) after rotating. \
If this is not a secret, add a `keyhound:allow` comment on its line or an allowlist entry in .keyhound.toml.";

/// Writes the report as a SARIF log with one run.
pub fn write(report: &Report<'_>, options: RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let mut rule_ids: Vec<&str> = report.findings.iter().map(|finding| finding.rule_id.as_str()).collect();
    rule_ids.sort_unstable();
    rule_ids.dedup();
    let descriptors: Vec<ReportingDescriptor> =
        rule_ids.iter().map(|id| descriptor(id, report.rules.get(id))).collect();
    let results: Vec<SarifResult> = report
        .findings
        .iter()
        .map(|finding| {
            let index = rule_ids.binary_search(&finding.rule_id.as_str()).unwrap_or_default();
            result(finding, index, options)
        })
        .collect();

    let driver = ToolComponent::builder()
        .name("keyhound")
        .version(env!("CARGO_PKG_VERSION"))
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .information_uri(INFORMATION_URI)
        .rules(descriptors)
        .build();
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .column_kind(json!("unicodeCodePoints"))
        .build();
    let log = Sarif::builder().schema(SCHEMA_URI).version(json!("2.1.0")).runs(vec![run]).build();
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

fn text(value: impl Into<String>) -> MultiformatMessageString {
    MultiformatMessageString::builder().text(value.into()).build()
}

fn descriptor(id: &str, rule: Option<&Rule>) -> ReportingDescriptor {
    let description = rule.map_or(id, |rule| rule.description.as_str());
    let mut properties = BTreeMap::new();
    properties.insert("precision".to_string(), json!(precision(rule.map(|rule| rule.confidence))));
    properties.insert("security-severity".to_string(), json!("8.0"));
    if let Some(provider) = rule.and_then(|rule| rule.provider.as_ref()) {
        properties.insert("provider".to_string(), json!(provider.name));
        if let Some(console) = &provider.console {
            properties.insert("console".to_string(), json!(console));
        }
    }
    // SARIF requires unique tags; a rule's own tags may repeat "secret".
    let mut tags: Vec<String> = Vec::new();
    for tag in
        ["security", "secret"].into_iter().map(String::from).chain(rule.into_iter().flat_map(|rule| rule.tags.clone()))
    {
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    ReportingDescriptor::builder()
        .id(id)
        .name(id)
        .short_description(text(description))
        .full_description(text(format!("{description} found in source. keyhound rule `{id}`.")))
        .help(
            MultiformatMessageString::builder().text(REMEDIATION.to_string()).markdown(REMEDIATION.to_string()).build(),
        )
        .properties(PropertyBag::builder().tags(tags).additional_properties(properties).build())
        .build()
}

fn precision(confidence: Option<Confidence>) -> &'static str {
    match confidence {
        Some(Confidence::High) => "very-high",
        Some(Confidence::Medium) | None => "high",
        Some(Confidence::Low) => "medium",
    }
}

fn result(finding: &Finding, rule_index: usize, options: RenderOptions) -> SarifResult {
    let location = &finding.location;
    let region = Region::builder()
        .start_line(location.line as i64)
        .start_column(location.column as i64)
        .end_line(location.end_line as i64)
        .end_column(location.end_column as i64 + 1)
        .snippet(serde_sarif::sarif::ArtifactContent::builder().text(finding.match_text(options.redaction)).build())
        .build();
    let artifact = ArtifactLocation::builder().uri(uri(&finding.origin.display_path())).build();
    let physical = PhysicalLocation::builder().artifact_location(artifact).region(region).build();
    let mut fingerprints = BTreeMap::new();
    fingerprints.insert(FINGERPRINT_KEY.to_string(), finding.fingerprint.to_string());
    let mut properties = BTreeMap::new();
    properties.insert("confidence".to_string(), json!(finding.confidence));
    properties.insert("entropy".to_string(), json!((f64::from(finding.entropy) * 100.0).round() / 100.0));
    if let Some(verification) = &finding.verification {
        properties.insert("verification".to_string(), json!(verification));
    }
    if let Some(commit) = finding.origin.commit() {
        properties.insert("commit".to_string(), json!(commit.id));
        properties.insert("author".to_string(), json!(commit.author));
        properties.insert("email".to_string(), json!(commit.email));
        properties.insert("date".to_string(), json!(commit.date));
        properties.insert("commitMessage".to_string(), json!(commit.summary));
    }
    let message = format!(
        "{} found: {} ({} confidence)",
        finding.description,
        finding.secret_text(options.redaction),
        finding.confidence
    );
    if !finding.context.is_empty() {
        properties.insert("context".to_string(), json!(finding.context));
    }
    let mut result = SarifResult::builder()
        .rule_id(finding.rule_id.clone())
        .rule_index(rule_index as i64)
        .level(match finding.confidence {
            Confidence::High | Confidence::Medium => ResultLevel::Error,
            Confidence::Low => ResultLevel::Warning,
        })
        .message(Message::builder().text(message).build())
        .locations(vec![Location::builder().physical_location(physical).build()])
        .partial_fingerprints(fingerprints)
        .properties(PropertyBag::builder().additional_properties(properties).build())
        .build();
    if !finding.also_at.is_empty() {
        result.related_locations = Some(finding.also_at.iter().map(related_location).collect());
    }
    result
}

/// Another place of a grouped finding, as a SARIF related location.
fn related_location(place: &crate::finding::Place) -> Location {
    let artifact = ArtifactLocation::builder().uri(uri(&place.path)).build();
    let physical = match place.line {
        0 => PhysicalLocation::builder()
            .artifact_location(artifact)
            .region(Region::builder().byte_offset(place.offset as i64).build())
            .build(),
        line => PhysicalLocation::builder()
            .artifact_location(artifact)
            .region(Region::builder().start_line(line as i64).build())
            .build(),
    };
    Location::builder()
        .physical_location(physical)
        .message(Message::builder().text(format!("another copy (fingerprint {})", place.fingerprint)).build())
        .build()
}

/// A relative URI reference for a path: `/` separators, reserved characters escaped.
fn uri(path: &str) -> String {
    let mut encoded = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => encoded.push(byte as char),
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    if path.starts_with('/') {
        format!("file://{encoded}")
    } else {
        encoded
    }
}

#[cfg(test)]
mod tests {
    use super::uri;
    use crate::finding::{Finding, Origin, Redaction};
    use crate::report::{write_report, Format, RenderOptions, Report};
    use crate::rules::RuleSet;
    use crate::stats::ScanStats;

    /// A SARIF log with one result of every built-in rule (its first example as
    /// the finding) validates against the official 2.1.0 schema: rule
    /// descriptors included, whose tags must be unique.
    #[test]
    fn a_result_of_every_built_in_rule_validates_against_the_schema() {
        let rules = RuleSet::defaults().unwrap().with_builtin_examples().unwrap();
        let findings: Vec<Finding> = rules
            .rules
            .iter()
            .enumerate()
            .map(|(index, rule)| {
                let example = rule.examples.first().cloned().unwrap_or_else(|| format!("{}-example", rule.id));
                let origin = Origin::File(format!("src/file{index}.env").into());
                Finding { tags: rule.tags.clone(), ..Finding::sample(&rule.id, &example, origin, index + 1) }
            })
            .collect();
        let stats = ScanStats::default();
        let report = Report { findings: &findings, stats: &stats, rules: &rules };
        let mut out = Vec::new();
        write_report(Format::Sarif, &report, RenderOptions { redaction: Redaction::Prefix, color: false }, &mut out)
            .unwrap();
        let log: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let schema_path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sarif-schema-2.1.0.json");
        let schema: serde_json::Value = serde_json::from_slice(&std::fs::read(schema_path).unwrap()).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let errors: Vec<String> =
            validator.iter_errors(&log).map(|err| format!("{err} at {}", err.instance_path)).take(20).collect();
        assert!(errors.is_empty(), "SARIF schema violations:\n{}", errors.join("\n"));
        assert_eq!(log["runs"][0]["results"].as_array().unwrap().len(), rules.rules.len());
        assert_eq!(log["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap().len(), rules.rules.len());
    }

    #[test]
    fn uris_escape_reserved_characters() {
        assert_eq!(uri("src/a b#c.py"), "src/a%20b%23c.py");
        assert_eq!(uri("/abs/x.env"), "file:///abs/x.env");
        assert_eq!(uri("ü.txt"), "%C3%BC.txt");
    }
}
