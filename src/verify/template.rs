//! `{{secret}}`, `{{secret.path}}` and `{{companion.RULE_ID}}` placeholders in
//! request templates. `{{secret.path}}` is the path (and query) of a secret
//! that is itself a URL (a webhook): the request still goes to the rule's own
//! `base_url`, only the path comes from the secret.

use std::collections::BTreeMap;

/// Values a template may use.
#[derive(Debug, Clone, Copy)]
pub struct Values<'a> {
    /// The secret being verified.
    pub secret: &'a str,
    /// Secrets of other rules found in the same file, by rule id.
    pub companions: &'a BTreeMap<String, String>,
}

/// Fills a template; an unknown placeholder is an error naming it.
pub fn render(template: &str, values: Values<'_>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() + values.secret.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| format!("unclosed `{{{{` in template {template:?}"))?;
        let name = after[..end].trim();
        match name {
            "secret" => out.push_str(values.secret),
            "secret.path" => out.push_str(&url_path(values.secret)?),
            _ => match name.strip_prefix("companion.") {
                Some(rule) => out.push_str(
                    values.companions.get(rule).ok_or_else(|| format!("no `{rule}` secret found in the same file"))?,
                ),
                None => {
                    return Err(format!(
                        "unknown placeholder `{{{{{name}}}}}` (use secret, secret.path or companion.RULE_ID)"
                    ))
                }
            },
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The path and query of a URL secret (`hooks.slack.com/services/T/B/X` -> `/services/T/B/X`).
fn url_path(secret: &str) -> Result<String, String> {
    if secret.is_empty() {
        return Ok(String::new()); // checking a template, not rendering one
    }
    let absolute = if secret.contains("://") { secret.to_string() } else { format!("https://{secret}") };
    let url = url::Url::parse(&absolute).map_err(|_| "the secret is not a URL".to_string())?;
    Ok(match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_string(),
    })
}

/// Checks a template's placeholders without values (for rule validation).
pub fn check(template: &str, requires: &[String]) -> Result<(), String> {
    let companions: BTreeMap<String, String> = requires.iter().map(|rule| (rule.clone(), String::new())).collect();
    render(template, Values { secret: "", companions: &companions }).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled() {
        let companions = BTreeMap::from([("aws-id".to_string(), "AKIA1".to_string())]);
        let values = Values { secret: "s3cr3t", companions: &companions };
        assert_eq!(render("Bearer {{secret}}", values).unwrap(), "Bearer s3cr3t");
        assert_eq!(render("/{{ companion.aws-id }}/x", values).unwrap(), "/AKIA1/x");
        assert!(render("{{companion.other}}", values).unwrap_err().contains("`other`"));
        assert!(render("{{nope}}", values).unwrap_err().contains("unknown placeholder"));
        let webhook = Values { secret: "hooks.slack.com/services/T1/B2/x3", companions: &companions };
        assert_eq!(render("{{secret.path}}", webhook).unwrap(), "/services/T1/B2/x3");
        let discord = Values { secret: "https://discord.com/api/webhooks/1/t0k?wait=1", companions: &companions };
        assert_eq!(render("{{ secret.path }}", discord).unwrap(), "/api/webhooks/1/t0k?wait=1");
        assert!(render("{{secret", values).unwrap_err().contains("unclosed"));
    }

    #[test]
    fn check_knows_the_declared_companions() {
        assert!(check("{{companion.a}}", &["a".into()]).is_ok());
        assert!(check("{{companion.b}}", &["a".into()]).is_err());
    }
}
