//! `keyhound report --datastore ...`: what the store holds, filtered, in
//! human, JSON, CSV, SARIF or self-contained HTML form.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context as _;

use crate::cli::{ReportArgs, StoreFormat};
use crate::finding::{printable, Confidence, Finding, Fingerprint, Location, Origin, Redaction, Secret};
use crate::report::{write_report, Format, RenderOptions, Report};
use crate::rules::RuleSet;
use crate::stats::ScanStats;
use crate::store::{Filter, Store, StoredFinding, STATUSES};

use super::{CmdError, EXIT_CLEAN};

/// Writes the report.
pub fn run(args: &ReportArgs) -> Result<u8, CmdError> {
    if let Some(status) = &args.status {
        if !STATUSES.contains(&status.as_str()) {
            return Err(CmdError::Usage(format!("--status {status}: use one of {}", STATUSES.join(", "))));
        }
    }
    let mut store = Store::open(&args.datastore).map_err(|err| CmdError::Usage(format!("--datastore: {err:#}")))?;
    let filter =
        Filter { rule: args.rule.clone(), repo: args.repo.clone(), status: args.status.clone(), live: args.live };
    let findings = store.findings(&filter).context("reading the datastore")?;
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).map_err(|err| CmdError::Usage(format!("--output {}: {err}", path.display())))?,
        )),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };
    let written = match args.format {
        StoreFormat::Human => write_human(&findings, &mut out),
        StoreFormat::Json => {
            let document = serde_json::json!({ "datastore": store.location, "findings": findings });
            serde_json::to_writer_pretty(&mut out, &document).map_err(io::Error::from).and_then(|()| writeln!(out))
        }
        StoreFormat::Csv => write_csv(&findings, &mut out),
        StoreFormat::Sarif => write_sarif(&findings, &mut out),
        StoreFormat::Html => {
            let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
            crate::report::html::write(&findings, &today, &mut out)
        }
    };
    match written.and_then(|()| out.flush()) {
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {}
        other => other.context("writing the report")?,
    }
    eprintln!("keyhound: {} finding(s) from {}", findings.len(), store.location);
    Ok(EXIT_CLEAN)
}

fn write_human(findings: &[StoredFinding], out: &mut dyn Write) -> io::Result<()> {
    for finding in findings {
        let verified = if finding.verification.is_empty() {
            String::new()
        } else {
            format!("  {}", finding.verification.to_uppercase())
        };
        writeln!(out, "{}  {}  [{}]{verified}", finding.rule_id, finding.secret, finding.status)?;
        for place in finding.occurrences.iter().take(3) {
            let commit: String = place.commit.chars().take(10).collect();
            writeln!(
                out,
                "    {} {}:{} {commit} {}",
                printable(&place.repo),
                printable(&place.path),
                place.line,
                place.date
            )?;
        }
        if finding.occurrences.len() > 3 {
            writeln!(out, "    and {} more", finding.occurrences.len() - 3)?;
        }
        if !finding.status_comment.is_empty() {
            writeln!(
                out,
                "    triage: {} by {}: {}",
                finding.status,
                finding.status_by,
                printable(&finding.status_comment)
            )?;
        }
        writeln!(out, "    fingerprint: {}\n", finding.fingerprint)?;
    }
    Ok(())
}

fn write_csv(findings: &[StoredFinding], out: &mut dyn Write) -> io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record([
        "fingerprint",
        "rule",
        "provider",
        "secret",
        "status",
        "verification",
        "repo",
        "path",
        "line",
        "commit",
        "first_commit_date",
        "occurrences",
        "status_comment",
    ])?;
    for finding in findings {
        let first = finding.occurrences.first();
        writer.write_record([
            finding.fingerprint.as_str(),
            &finding.rule_id,
            &finding.provider,
            &finding.secret,
            &finding.status,
            &finding.verification,
            first.map_or("", |place| place.repo.as_str()),
            first.map_or("", |place| place.path.as_str()),
            &first.map_or(0, |place| place.line).to_string(),
            first.map_or("", |place| place.commit.as_str()),
            &finding.first_commit_date,
            &finding.occurrences.len().to_string(),
            &finding.status_comment,
        ])?;
    }
    writer.flush()
}

/// SARIF through the scan report writer: each stored finding at its first occurrence.
fn write_sarif(findings: &[StoredFinding], out: &mut dyn Write) -> io::Result<()> {
    let as_findings: Vec<Finding> = findings
        .iter()
        .map(|stored| {
            let place = stored.occurrences.first();
            let line = place.map_or(1, |place| place.line.max(1) as usize);
            let path = place.map_or(String::new(), |place| place.path.clone());
            Finding {
                rule_id: stored.rule_id.clone(),
                description: stored.description.clone(),
                origin: Origin::File(PathBuf::from(&path)),
                location: Location { line, column: 1, end_line: line, end_column: 1, offset: 0, in_binary: false },
                secret: Secret::new(stored.secret.clone()),
                matched: Secret::new(stored.secret.clone()),
                line: Secret::new(stored.snippet.clone()),
                entropy: 0.0,
                confidence: match stored.confidence.as_str() {
                    "high" => Confidence::High,
                    "low" => Confidence::Low,
                    _ => Confidence::Medium,
                },
                tags: vec![stored.provider.clone()],
                also_matched: vec![],
                context: vec![],
                also_at: Vec::new(),
                provider: None,
                decoded: None,
                fingerprint: Fingerprint::parse(&stored.fingerprint)
                    .unwrap_or_else(|_| Fingerprint::compute(&stored.rule_id, &path, &stored.fingerprint)),
                verification: None,
            }
        })
        .collect();
    let rules = RuleSet::defaults().map_err(io::Error::other)?;
    let stats = ScanStats::default();
    let report = Report { findings: &as_findings, stats: &stats, rules: &rules };
    // Stored secrets are already redacted.
    write_report(Format::Sarif, &report, RenderOptions { redaction: Redaction::None, color: false }, out)
}
