//! `keyhound github` / `keyhound gitlab` against local mock APIs whose clone
//! URLs point at local repositories: every page is listed (a rate limit is
//! waited out), forks and archived repositories are left out unless asked,
//! the repositories are mirrored and scanned into a datastore, and a rescan
//! after one new commit in one repository reads only that commit.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use crate::common::{keyhound, GitRepo, Tree, DEEPSEEK_KEY};
use crate::mock_provider::{Answer, MockProvider};

const TOKEN: &str = "ghp_listingTokenListingTokenListing0000";

/// `count` small repositories; the one at `leaky` holds a key.
fn repositories(count: usize, leaky: usize) -> Vec<GitRepo> {
    (0..count)
        .map(|index| {
            let repo = GitRepo::new();
            let content = if index == leaky {
                format!("DEEPSEEK_API_KEY={DEEPSEEK_KEY}\n")
            } else {
                format!("name = \"service-{index}\"\n")
            };
            repo.commit_file("config/app.env", content, "initial");
            repo
        })
        .collect()
}

fn clone_url(repo: &GitRepo) -> String {
    format!("file://{}", repo.path().display())
}

/// GitHub's org listing: 30 a page with Link headers, a rate limit on the first try, a fork and an archived repository.
fn github_api(repos: &[GitRepo], forked: String, archived: String) -> MockProvider {
    let mut listed: Vec<Value> =
        repos.iter().enumerate().map(|(index, repo)| json!({ "full_name": format!("acme/r{index}"), "clone_url": clone_url(repo), "fork": false, "archived": false, "has_wiki": false })).collect();
    listed.push(json!({ "full_name": "acme/fork", "clone_url": forked, "fork": true, "archived": false }));
    listed.push(json!({ "full_name": "acme/old", "clone_url": archived, "fork": false, "archived": true }));
    let limited = Arc::new(AtomicBool::new(false));
    let own_url = Arc::new(std::sync::Mutex::new(String::new()));
    let mock = {
        let own_url = own_url.clone();
        MockProvider::with_handler(move |seen| {
            if seen.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
                return Answer::json(401, r#"{"message": "Requires authentication"}"#);
            }
            if !limited.swap(true, Ordering::SeqCst) {
                return Answer::json(429, r#"{"message": "rate limited"}"#).header("Retry-After", "0");
            }
            let page: usize = seen.line.split("&page=").nth(1).and_then(|page| page.parse().ok()).unwrap_or(1);
            match seen.line.split('?').next().unwrap() {
                "GET /orgs/acme/repos" => {
                    let chunk: Vec<&Value> = listed.iter().skip((page - 1) * 30).take(30).collect();
                    let mut answer = Answer::json(200, &serde_json::to_string(&chunk).unwrap());
                    if page * 30 < listed.len() {
                        let next = format!(
                            "<{}/orgs/acme/repos?type=all&per_page=100&page={}>; rel=\"next\"",
                            own_url.lock().unwrap(),
                            page + 1
                        );
                        answer = answer.header("Link", &next);
                    }
                    answer
                }
                _ => Answer::json(404, r#"{"message": "Not Found"}"#),
            }
        })
    };
    *own_url.lock().unwrap() = mock.url.clone();
    mock
}

fn scan_org(tree: &Tree, api: &str) -> (Value, String) {
    let output = keyhound()
        .current_dir(tree.path())
        .args([
            "github",
            "--org",
            "acme",
            "--api-url",
            api,
            "--datastore",
            "store.db",
            "--clone-dir",
            "mirrors",
            "--format",
            "json",
            "--no-config",
        ])
        .env("GITHUB_TOKEN", TOKEN)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|err| panic!("{err}: {stderr}"));
    (report, stderr)
}

#[test]
fn an_organisation_of_50_repositories_is_scanned_into_a_datastore_and_rescanned_incrementally() {
    let repos = repositories(50, 7);
    let extra = repositories(2, 0);
    let mock = github_api(&repos, clone_url(&extra[0]), clone_url(&extra[1]));
    let tree = Tree::new();
    let (report, stderr) = scan_org(&tree, &mock.url);
    assert!(stderr.contains("50 repositories to scan"), "forks and archived ones are left out: {stderr}");
    assert!(stderr.contains("50 repositories (0 could not be scanned)"), "{stderr}");
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{report}");
    assert_eq!(findings[0]["rule_id"], "deepseek-api-key");
    assert_eq!(report["stats"]["commits_scanned"], 50);
    assert_eq!(
        mock.seen().iter().filter(|seen| seen.line.starts_with("GET /orgs/acme/repos")).count(),
        3,
        "a rate-limited try and two pages"
    );

    repos[3].commit_file("config/extra.env", "region = \"eu\"\n", "one more commit");
    let (rescan, stderr) = scan_org(&tree, &mock.url);
    assert_eq!(rescan["stats"]["commits_scanned"], 1, "only the new commit is read: {stderr}");
    assert!(stderr.contains("1 new blobs, 0 new findings"), "{stderr}");
    assert!(rescan["findings"].as_array().unwrap().is_empty(), "the old finding is not new");
}

#[test]
fn a_gitlab_group_lists_its_subgroups_projects_with_the_token_and_leaves_forks_out() {
    let repos = repositories(3, 2);
    let (own, fork) = (clone_url(&repos[0]), clone_url(&repos[1]));
    let leaky = clone_url(&repos[2]);
    let mock = MockProvider::with_handler(move |seen| {
        if seen.header("private-token") != Some("glpat-listing-token-000") {
            return Answer::json(401, r#"{"message": "401 Unauthorized"}"#);
        }
        match seen.line.as_str() {
            "GET /api/v4/groups/team%2Fplatform/projects?include_subgroups=true&per_page=100" => Answer::json(
                200,
                &json!([
                    { "path_with_namespace": "team/platform/api", "http_url_to_repo": own, "archived": false, "wiki_enabled": false },
                    { "path_with_namespace": "team/platform/fork", "http_url_to_repo": fork, "archived": false, "forked_from_project": { "id": 1 } },
                    { "path_with_namespace": "team/platform/sub/worker", "http_url_to_repo": leaky, "archived": false },
                ])
                .to_string(),
            ),
            _ => Answer::json(404, r#"{"message": "404 Group Not Found"}"#),
        }
    });
    let tree = Tree::new();
    let output = keyhound()
        .current_dir(tree.path())
        .args([
            "gitlab",
            "--group",
            "team/platform",
            "--api-url",
            &format!("{}/api/v4", mock.url),
            "--format",
            "json",
            "--no-config",
        ])
        .env("GITLAB_TOKEN", "glpat-listing-token-000")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("2 repositories to scan"), "{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["findings"].as_array().unwrap().len(), 1, "{report}");

    let missing = keyhound()
        .args(["gitlab", "--group", "nope", "--api-url", &format!("{}/api/v4", mock.url)])
        .env("GITLAB_TOKEN", "glpat-listing-token-000")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("not found"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
}
