//! The repositories of a GitHub organisation or user, or of a GitLab group
//! (with its subgroups), listed through their REST APIs: every page (the
//! `Link: rel="next"` header, followed only on the API's own host), waiting
//! out rate limits (`Retry-After`, `X-RateLimit-Remaining`/`-Reset`), with
//! the token from `GITHUB_TOKEN` / `GITLAB_TOKEN`. The clone URLs are then
//! mirrored and scanned like a `--repos` list.

use std::time::Duration;

use serde_json::Value;

/// Which hosting service and what to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing {
    /// A GitHub organisation's repositories.
    GithubOrg(String),
    /// A GitHub user's repositories (and gists, when asked).
    GithubUser(String),
    /// A GitLab group's projects, subgroups included.
    GitlabGroup(String),
}

/// What to include besides the ordinary repositories.
#[derive(Debug, Clone, Copy, Default)]
pub struct Include {
    /// Forks.
    pub forks: bool,
    /// Archived repositories.
    pub archived: bool,
    /// Each repository's wiki (when it has one enabled).
    pub wikis: bool,
    /// A GitHub user's gists.
    pub gists: bool,
}

/// Most pages read (100 repositories each).
const MAX_PAGES: usize = 1000;
/// Longest wait for a rate limit to reset.
const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(900);
/// Attempts of one page before giving up.
const ATTEMPTS: usize = 6;

/// The clone URLs of what `listing` names.
pub fn clone_urls(
    listing: &Listing,
    api_url: &str,
    include: Include,
    timeout: Duration,
) -> Result<Vec<String>, String> {
    let api = api_url.trim_end_matches('/');
    let agent = ureq::AgentBuilder::new().timeout(timeout).redirects(0).build();
    let (path, token) = match listing {
        Listing::GithubOrg(org) => {
            (format!("/orgs/{}/repos?type=all&per_page=100", encode(org)), token("GITHUB_TOKEN"))
        }
        Listing::GithubUser(user) => {
            (format!("/users/{}/repos?type=owner&per_page=100", encode(user)), token("GITHUB_TOKEN"))
        }
        Listing::GitlabGroup(group) => {
            (format!("/groups/{}/projects?include_subgroups=true&per_page=100", encode(group)), token("GITLAB_TOKEN"))
        }
    };
    let gitlab = matches!(listing, Listing::GitlabGroup(_));
    let mut urls = Vec::new();
    for project in get_all(&agent, api, &path, token.as_deref(), gitlab)? {
        let field = |name: &str| project.get(name).and_then(Value::as_bool).unwrap_or(false);
        let fork =
            if gitlab { project.get("forked_from_project").is_some_and(|from| !from.is_null()) } else { field("fork") };
        if (fork && !include.forks) || (field("archived") && !include.archived) {
            continue;
        }
        let clone = if gitlab { "http_url_to_repo" } else { "clone_url" };
        let Some(url) = project.get(clone).and_then(Value::as_str) else { continue };
        urls.push(url.to_string());
        let has_wiki = if gitlab { field("wiki_enabled") } else { field("has_wiki") };
        if include.wikis && has_wiki {
            urls.push(match url.strip_suffix(".git") {
                Some(stem) => format!("{stem}.wiki.git"),
                None => format!("{url}.wiki"),
            });
        }
    }
    if let (Listing::GithubUser(user), true) = (listing, include.gists) {
        let path = format!("/users/{}/gists?per_page=100", encode(user));
        for gist in get_all(&agent, api, &path, token.as_deref(), false)? {
            if let Some(url) = gist.get("git_pull_url").and_then(Value::as_str) {
                urls.push(url.to_string());
            }
        }
    }
    Ok(urls)
}

fn token(variable: &str) -> Option<String> {
    std::env::var(variable).ok().filter(|value| !value.trim().is_empty())
}

/// A path segment or a GitLab group path (`team/sub` -> `team%2Fsub`), percent-encoded.
fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Every item of every page of `path`.
fn get_all(
    agent: &ureq::Agent,
    api: &str,
    path: &str,
    token: Option<&str>,
    gitlab: bool,
) -> Result<Vec<Value>, String> {
    let host =
        |url: &str| url.split("://").nth(1).and_then(|rest| rest.split('/').next()).unwrap_or_default().to_string();
    let api_host = host(api);
    let mut items = Vec::new();
    let mut next = Some(format!("{api}{path}"));
    for _ in 0..MAX_PAGES {
        let Some(url) = next.take() else { break };
        if host(&url) != api_host {
            return Err(format!(
                "the API's next page is on another host ({}): not followed with the token",
                host(&url)
            ));
        }
        let response = get_page(agent, &url, token, gitlab)?;
        next = response.header("Link").and_then(next_link);
        let page: Value = response.into_json().map_err(|err| format!("{url}: the answer is not JSON: {err}"))?;
        match page {
            Value::Array(page) => items.extend(page),
            other => {
                return Err(format!(
                    "{url}: expected a list, got {}",
                    other.to_string().chars().take(200).collect::<String>()
                ))
            }
        }
    }
    Ok(items)
}

/// One page, waiting out rate limits.
fn get_page(agent: &ureq::Agent, url: &str, token: Option<&str>, gitlab: bool) -> Result<ureq::Response, String> {
    for _ in 0..ATTEMPTS {
        let mut request = agent.get(url).set("User-Agent", "keyhound");
        request = match (token, gitlab) {
            (Some(token), true) => request.set("PRIVATE-TOKEN", token),
            (Some(token), false) => {
                request.set("Authorization", &format!("Bearer {token}")).set("Accept", "application/vnd.github+json")
            }
            (None, _) => request,
        };
        match request.call() {
            Ok(response) => return Ok(response),
            Err(ureq::Error::Status(status @ (403 | 429), response)) => {
                let wait = rate_limit_wait(&response)
                    .ok_or_else(|| format!("{url}: HTTP {status} (not a rate limit: check the token)"))?;
                std::thread::sleep(wait.min(MAX_RATE_LIMIT_WAIT));
            }
            Err(ureq::Error::Status(404, _)) => {
                return Err(format!("{url}: not found (HTTP 404): check the name and the token's access"))
            }
            Err(ureq::Error::Status(status, _)) => return Err(format!("{url}: HTTP {status}")),
            Err(err) => return Err(format!("{url}: {err}")),
        }
    }
    Err(format!("{url}: still rate limited after {ATTEMPTS} attempts"))
}

/// How long a rate-limited answer asks to wait: `Retry-After`, else until `X-RateLimit-Reset` when none remain.
fn rate_limit_wait(response: &ureq::Response) -> Option<Duration> {
    if let Some(seconds) = response.header("Retry-After").and_then(|value| value.trim().parse::<u64>().ok()) {
        return Some(Duration::from_secs(seconds));
    }
    let remaining = response.header("X-RateLimit-Remaining").or_else(|| response.header("RateLimit-Remaining"))?;
    if remaining.trim() != "0" {
        return None;
    }
    let reset: u64 =
        response.header("X-RateLimit-Reset").or_else(|| response.header("RateLimit-Reset"))?.trim().parse().ok()?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_secs());
    Some(Duration::from_secs(reset.saturating_sub(now) + 1))
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|param| param.trim() == "rel=\"next\"")
            .then(|| url.trim().trim_matches(['<', '>']).to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_link_is_read_from_a_link_header() {
        let header = "<https://api.github.com/orgs/acme/repos?page=3>; rel=\"next\", <https://api.github.com/orgs/acme/repos?page=9>; rel=\"last\"";
        assert_eq!(next_link(header).as_deref(), Some("https://api.github.com/orgs/acme/repos?page=3"));
        assert_eq!(next_link("<https://x/1>; rel=\"prev\""), None);
        assert_eq!(encode("team/sub group"), "team%2Fsub%20group");
    }
}
