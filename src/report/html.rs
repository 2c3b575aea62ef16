//! The self-contained HTML report of a datastore: a summary, charts of
//! findings by provider and by age (inline SVG), and a table that sorts and
//! filters in the browser without a server. Every value from the store is
//! HTML-escaped; the table's data is embedded as JSON with every `<` escaped,
//! so it cannot close its script element.

use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::store::StoredFinding;

use super::junit::escape;

/// Age buckets of the chart, by the date of the earliest commit a finding is in.
const AGE_BUCKETS: [(&str, i64); 5] = [
    ("under 30 days", 30),
    ("30-90 days", 90),
    ("90 days-1 year", 365),
    ("1-2 years", 730),
    ("over 2 years", i64::MAX),
];

/// What the provider said, for a table cell: `name=value` pairs of a live
/// answer's details (account, scopes...), or the reason a key is unknown.
fn detail_text(detail: &str) -> String {
    match serde_json::from_str::<BTreeMap<String, serde_json::Value>>(detail) {
        Ok(details) => details
            .iter()
            .map(|(name, value)| match value {
                serde_json::Value::String(text) => format!("{name}={text}"),
                other => format!("{name}={other}"),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Err(_) => detail.to_string(),
    }
}

/// Writes the page; `today` is `YYYY-MM-DD` (ages are counted from it).
pub fn write(findings: &[StoredFinding], today: &str, out: &mut dyn Write) -> io::Result<()> {
    let live = findings.iter().filter(|finding| finding.verification == "live").count();
    let open = findings.iter().filter(|finding| finding.status == "open").count();
    let repos: std::collections::BTreeSet<&str> =
        findings.iter().flat_map(|finding| finding.occurrences.iter().map(|place| place.repo.as_str())).collect();
    let mut by_provider: BTreeMap<&str, usize> = BTreeMap::new();
    for finding in findings {
        *by_provider.entry(finding.provider.as_str()).or_default() += 1;
    }
    let mut by_provider: Vec<(String, usize)> = by_provider.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    by_provider.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    by_provider.truncate(15);
    let by_age: Vec<(String, usize)> = age_counts(findings, today);
    let rows: Vec<serde_json::Value> = findings
        .iter()
        .map(|finding| {
            let first = finding.occurrences.first();
            serde_json::json!({
                "fingerprint": finding.fingerprint,
                "rule": finding.rule_id,
                "provider": finding.provider,
                "secret": finding.secret,
                "repo": first.map(|place| place.repo.as_str()).unwrap_or(""),
                "path": first.map(|place| place.path.as_str()).unwrap_or(""),
                "line": first.map(|place| place.line).unwrap_or(0),
                "commit": first.map(|place| place.commit.chars().take(10).collect::<String>()).unwrap_or_default(),
                "date": finding.first_commit_date,
                "occurrences": finding.occurrences.len(),
                "verification": finding.verification,
                "detail": detail_text(&finding.verification_detail),
                "status": finding.status,
                "comment": finding.status_comment,
            })
        })
        .collect();
    // `<` only occurs inside JSON strings, where `\u003c` means the same: the
    // data can then never open or close an element.
    let data = serde_json::to_string(&rows).unwrap_or_else(|_| "[]".into()).replace('<', "\\u003c");
    write!(
        out,
        r###"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>keyhound report</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2rem;color:#1d2330}}
h1{{margin:0 0 .3rem}} .muted{{color:#667}}
.cards{{display:flex;gap:1rem;margin:1.2rem 0;flex-wrap:wrap}}
.card{{border:1px solid #d7dbe3;border-radius:8px;padding:.8rem 1.2rem;min-width:8rem}}
.card b{{display:block;font-size:1.6rem}}
.charts{{display:flex;gap:2rem;flex-wrap:wrap}}
table{{border-collapse:collapse;width:100%;margin-top:1rem;font-size:.9rem}}
th,td{{border-bottom:1px solid #e3e6ec;padding:.35rem .5rem;text-align:left;vertical-align:top}}
th{{cursor:pointer;background:#f4f6f9;user-select:none}} th.sorted::after{{content:" \25BE"}}
td.live{{color:#b00020;font-weight:600}} code{{font-size:.85rem}}
input{{padding:.4rem;width:20rem;max-width:100%}}
</style></head><body>
<h1>keyhound report</h1>
<div class="muted">generated {today}</div>
<div class="cards">
<div class="card"><b id="total">{total}</b>findings</div>
<div class="card"><b>{live}</b>verified live</div>
<div class="card"><b>{open}</b>open</div>
<div class="card"><b>{repos}</b>repositories</div>
</div>
<div class="charts">
<figure><figcaption>Findings by provider</figcaption>{provider_chart}</figure>
<figure><figcaption>Findings by age (first commit)</figcaption>{age_chart}</figure>
</div>
<p><input id="filter" type="search" placeholder="Filter: rule, provider, repository, path, status..." aria-label="Filter findings"></p>
<table id="findings"><thead><tr>
<th data-key="rule">Rule</th><th data-key="provider">Provider</th><th data-key="secret">Secret</th>
<th data-key="repo">Repository</th><th data-key="path">Path</th><th data-key="date">First commit</th>
<th data-key="occurrences">Seen</th><th data-key="verification">Verified</th><th data-key="status">Status</th>
</tr></thead><tbody></tbody></table>
<script id="data" type="application/json">{data}</script>
<script>
"use strict";
const rows = JSON.parse(document.getElementById("data").textContent);
const body = document.querySelector("#findings tbody");
let sortKey = "date", ascending = true;
function cell(text, className) {{
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}}
function render() {{
  const needle = document.getElementById("filter").value.toLowerCase();
  const shown = rows.filter(row => !needle || Object.values(row).join(" ").toLowerCase().includes(needle));
  shown.sort((a, b) => {{
    const x = a[sortKey], y = b[sortKey];
    const order = typeof x === "number" ? x - y : String(x).localeCompare(String(y));
    return ascending ? order : -order;
  }});
  body.replaceChildren(...shown.map(row => {{
    const tr = document.createElement("tr");
    tr.title = row.fingerprint + (row.comment ? " - " + row.comment : "");
    tr.append(cell(row.rule), cell(row.provider), cell(row.secret), cell(row.repo),
      cell(row.path + (row.line ? ":" + row.line : "")), cell(row.date ? row.date.slice(0, 10) : ""),
      cell(row.occurrences),
      cell(row.verification + (row.detail ? " (" + row.detail + ")" : ""), row.verification === "live" ? "live" : ""),
      cell(row.status));
    return tr;
  }}));
  document.getElementById("total").textContent = shown.length === rows.length ? rows.length : shown.length + " / " + rows.length;
}}
document.querySelectorAll("th").forEach(th => th.addEventListener("click", () => {{
  ascending = sortKey === th.dataset.key ? !ascending : true;
  sortKey = th.dataset.key;
  document.querySelectorAll("th").forEach(other => other.classList.toggle("sorted", other === th));
  render();
}}));
document.getElementById("filter").addEventListener("input", render);
render();
</script>
</body></html>
"###,
        today = escape(today),
        total = findings.len(),
        repos = repos.len(),
        provider_chart = bar_chart(&by_provider),
        age_chart = bar_chart(&by_age),
    )
}

fn age_counts(findings: &[StoredFinding], today: &str) -> Vec<(String, usize)> {
    let today = today.parse::<jiff::civil::Date>().ok();
    let mut counts = vec![0usize; AGE_BUCKETS.len() + 1];
    for finding in findings {
        let date = finding.first_commit_date.get(..10).and_then(|day| day.parse::<jiff::civil::Date>().ok());
        let bucket = match (today, date) {
            (Some(today), Some(date)) => {
                let days = i64::from((today - date).get_days());
                AGE_BUCKETS.iter().position(|(_, limit)| days < *limit).unwrap_or(AGE_BUCKETS.len() - 1)
            }
            _ => AGE_BUCKETS.len(),
        };
        counts[bucket] += 1;
    }
    AGE_BUCKETS
        .iter()
        .map(|(label, _)| label.to_string())
        .chain(std::iter::once("not in git".to_string()))
        .zip(counts)
        .collect()
}

/// A horizontal bar chart as inline SVG.
fn bar_chart(bars: &[(String, usize)]) -> String {
    let max = bars.iter().map(|(_, count)| *count).max().unwrap_or(0).max(1);
    let height = bars.len() * 22 + 4;
    let mut svg = format!(r#"<svg width="420" height="{height}" role="img" xmlns="http://www.w3.org/2000/svg">"#);
    for (index, (label, count)) in bars.iter().enumerate() {
        let y = index * 22 + 2;
        let width = 240 * count / max;
        svg.push_str(&format!(
            r##"<text x="0" y="{}" font-size="12">{}</text><rect x="140" y="{y}" width="{width}" height="16" fill="#3b6fd1"/><text x="{}" y="{}" font-size="12">{count}</text>"##,
            y + 12,
            escape(label),
            146 + width,
            y + 12
        ));
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoredOccurrence;

    fn finding(provider: &str, date: &str, path: &str) -> StoredFinding {
        StoredFinding {
            fingerprint: "f1".into(),
            rule_id: "deepseek-api-key".into(),
            description: "DeepSeek API key".into(),
            provider: provider.into(),
            secret: "sk-6*****".into(),
            snippet: String::new(),
            confidence: "high".into(),
            first_seen: String::new(),
            last_seen: String::new(),
            first_commit_date: date.into(),
            verification: "live".into(),
            verification_detail: String::new(),
            status: "open".into(),
            status_by: String::new(),
            status_at: String::new(),
            status_comment: String::new(),
            occurrences: vec![StoredOccurrence {
                repo: "repo".into(),
                commit: "abc".into(),
                path: path.into(),
                line: 3,
                author: String::new(),
                date: date.into(),
            }],
        }
    }

    #[test]
    fn values_cannot_inject_markup_or_close_the_data_script() {
        let hostile =
            finding("<img src=x onerror=alert(1)>", "2026-11-01T00:00:00Z", "</script><script>alert(1)</script>");
        let mut out = Vec::new();
        write(&[hostile], "2026-11-23", &mut out).unwrap();
        let page = String::from_utf8(out).unwrap();
        assert!(!page.contains("<img src=x"), "provider label escaped in the chart");
        assert_eq!(page.matches("</script>").count(), 2, "only the page's own two script elements close");
    }

    #[test]
    fn the_verified_column_says_what_a_live_key_can_reach() {
        let mut live = finding("github", "2026-11-01T00:00:00Z", "ci.env");
        live.verification_detail = r#"{"login":"octo","scopes":"repo, admin:org"}"#.into();
        let mut out = Vec::new();
        write(&[live], "2026-11-23", &mut out).unwrap();
        let page = String::from_utf8(out).unwrap();
        assert!(page.contains(r#""detail":"login=octo, scopes=repo, admin:org""#), "{page}");
        assert_eq!(detail_text("rate limited (HTTP 429)"), "rate limited (HTTP 429)");
    }

    #[test]
    fn ages_are_bucketed_from_the_first_commit() {
        let findings = [
            finding("deepseek", "2026-11-20T00:00:00Z", "a"),
            finding("deepseek", "2026-06-01T00:00:00Z", "b"),
            finding("github", "2023-01-01T00:00:00Z", "c"),
            finding("github", "", "d"),
        ];
        let counts: Vec<usize> = age_counts(&findings, "2026-11-23").into_iter().map(|(_, count)| count).collect();
        assert_eq!(counts, [1, 0, 1, 0, 1, 1]);
    }
}
