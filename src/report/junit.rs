//! JUnit XML output: one test suite, one failing test case per finding, so
//! CI systems that read test reports show leaks next to test failures.

use std::io::{self, Write};

use super::{RenderOptions, Report};

/// Writes the findings as a JUnit XML report.
pub fn write(report: &Report<'_>, options: RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let count = report.findings.len();
    let seconds = report.stats.duration_ms as f64 / 1000.0;
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(out, r#"<testsuites name="keyhound" tests="{count}" failures="{count}" time="{seconds:.3}">"#)?;
    writeln!(out, r#"  <testsuite name="secrets" tests="{count}" failures="{count}" time="{seconds:.3}">"#)?;
    for finding in report.findings {
        let path = finding.origin.display_path();
        let name = format!("{} at {path}:{}", finding.rule_id, finding.location.line);
        let message = format!("{} found: {}", finding.description, finding.secret_text(options.redaction));
        writeln!(out, r#"    <testcase classname="{}" name="{}">"#, escape(&path), escape(&name))?;
        writeln!(out, r#"      <failure type="{}" message="{}">"#, escape(&finding.rule_id), escape(&message))?;
        let mut details = format!(
            "{path}:{}:{}\nconfidence: {}\nfingerprint: {}\n{}",
            finding.location.line,
            finding.location.column,
            finding.confidence,
            finding.fingerprint,
            finding.match_text(options.redaction)
        );
        if let Some(commit) = finding.origin.commit() {
            details.push_str(&format!(
                "\ncommit {} by {} <{}> on {}",
                commit.id, commit.author, commit.email, commit.date
            ));
        }
        writeln!(out, "{}", escape(&details))?;
        writeln!(out, "      </failure>")?;
        writeln!(out, "    </testcase>")?;
    }
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")
}

/// Escapes text for XML and HTML attributes and content; replaces characters
/// XML 1.0 forbids (the HTML report uses it too).
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            '\t' | '\n' | '\r' => escaped.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => escaped.push('\u{fffd}'),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn xml_special_and_control_characters_are_escaped() {
        assert_eq!(escape(r#"a<b>&"c'"#), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(escape("x\u{1}y"), "x\u{fffd}y");
    }
}
