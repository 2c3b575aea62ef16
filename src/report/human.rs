//! Human-readable output: one block per finding, redacted by default.

use std::io::{self, Write};

use crate::finding::{printable, Confidence, Finding};

use super::{RenderOptions, Report};

const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// Writes each finding as:
///
/// ```text
/// src/settings.py:12:18  deepseek-api-key  DeepSeek API key  [high]
///     DEEPSEEK_API_KEY = "sk-0*****"
///     fingerprint: 5d41402abc4b2a76b9719d911017c592
/// ```
pub fn write(report: &Report<'_>, options: RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    for finding in report.findings {
        let rule = report.rules.get(&finding.rule_id);
        let console = rule.and_then(|rule| rule.provider.as_ref()).and_then(|provider| provider.console.as_deref());
        write_finding(finding, console, options, out)?;
    }
    Ok(())
}

fn paint(options: RenderOptions, style: &str, text: &str) -> String {
    if options.color {
        format!("{style}{text}{RESET}")
    } else {
        text.to_string()
    }
}

fn write_finding(
    finding: &Finding,
    console: Option<&str>,
    options: RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let path = finding.origin.display_path();
    let location = format!("{}:{}:{}", printable(&path), finding.location.line, finding.location.column);
    let confidence_style = match finding.confidence {
        Confidence::High => RED,
        Confidence::Medium => YELLOW,
        Confidence::Low => DIM,
    };
    let verified = match &finding.verification {
        Some(verification) => format!("  {}", paint(options, BOLD, &verification.status.to_string().to_uppercase())),
        None => String::new(),
    };
    writeln!(
        out,
        "{}  {}  {}  [{}]{verified}",
        paint(options, BOLD, &location),
        paint(options, confidence_style, &printable(&finding.rule_id)),
        printable(&finding.description),
        finding.confidence
    )?;
    if let Some(verification) = finding.verification.as_ref().filter(|v| !v.details.is_empty()) {
        let details: Vec<String> = verification.details.iter().map(|(name, value)| format!("{name}={value}")).collect();
        writeln!(out, "    provider says: {}", printable(&details.join(", ")))?;
    }
    let line = finding.line_text(options.redaction);
    let matched = shorten(&printable(line.trim()), 160);
    writeln!(out, "    {matched}")?;
    if let Some(commit) = finding.origin.commit() {
        let short = crate::finding::short_id(&commit.id);
        writeln!(
            out,
            "    commit {short} by {} <{}> on {}: {}",
            printable(&commit.author),
            printable(&commit.email),
            commit.date,
            printable(&commit.summary)
        )?;
    }
    for context in &finding.context {
        writeln!(out, "    context: {} (confidence lowered)", printable(context))?;
    }
    if !finding.also_at.is_empty() {
        let shown: Vec<String> = finding
            .also_at
            .iter()
            .take(SHOWN_PLACES)
            .map(|place| match place.line {
                0 => format!("{} at byte {}", printable(&place.path), place.offset),
                line => format!("{}:{line}", printable(&place.path)),
            })
            .collect();
        let more = finding.also_at.len().saturating_sub(SHOWN_PLACES);
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        writeln!(out, "    also at ({} more of this set): {}{more}", finding.also_at.len(), shown.join(", "))?;
    }
    if let Some(provider) = &finding.provider {
        let manage = console.map(|url| format!(": keys are managed at {url}")).unwrap_or_default();
        writeln!(out, "    provider: {}{}", printable(provider), printable(&manage))?;
    }
    writeln!(out, "    {}", paint(options, DIM, &format!("fingerprint: {}", finding.fingerprint)))?;
    writeln!(out)
}

/// How many other places of a grouped finding the human report names.
const SHOWN_PLACES: usize = 3;

/// Cuts `text` to at most `max` characters, marking the cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Finding;

    #[test]
    fn control_characters_from_scanned_content_are_escaped() {
        let origin = crate::finding::Origin::File("evil\nkeyhound: no leaks found\n.env".into());
        let mut finding = Finding::sample("deepseek-api-key", "sk-0123456789abcdef", origin, 1);
        finding.line = crate::finding::Secret::new("KEY=sk-0123456789abcdef \u{1b}[2J");
        let rules = crate::rules::RuleSet::default();
        let stats = crate::stats::ScanStats::default();
        let report = Report { findings: std::slice::from_ref(&finding), stats: &stats, rules: &rules };
        let mut out = Vec::new();
        write(&report, RenderOptions::default(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("evil\\nkeyhound: no leaks found\\n.env:"), "{text}");
        assert!(!text.contains('\u{1b}') && text.contains("\\u{1b}[2J"), "{text}");
    }
}
