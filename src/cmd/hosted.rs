//! `keyhound github` and `keyhound gitlab`: list an organisation's, user's
//! or group's repositories through the hosting service's API, then mirror and
//! scan them as `keyhound git --repos` does (incremental with `--datastore`,
//! split with `--shard`). git fetches with the user's own credentials
//! (credential helpers, SSH keys); the API token only lists.

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{GitArgs, GithubArgs, GitlabArgs, HostedArgs};
use crate::source::git::repos::RepoEntry;
use crate::source::hosting::{clone_urls, Include, Listing};

use super::CmdError;

/// `keyhound github --org NAME | --user NAME`.
pub fn run_github(args: GithubArgs) -> Result<u8, CmdError> {
    let listing = match (&args.org, &args.user) {
        (Some(org), _) => Listing::GithubOrg(org.clone()),
        (None, Some(user)) => Listing::GithubUser(user.clone()),
        (None, None) => return Err(CmdError::Usage("give --org NAME or --user NAME".into())),
    };
    run(listing, &args.api_url, args.gists, args.hosted)
}

/// `keyhound gitlab --group PATH`.
pub fn run_gitlab(args: GitlabArgs) -> Result<u8, CmdError> {
    run(Listing::GitlabGroup(args.group.clone()), &args.api_url, false, args.hosted)
}

fn run(listing: Listing, api_url: &str, gists: bool, hosted: HostedArgs) -> Result<u8, CmdError> {
    if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
        return Err(CmdError::Usage(format!("--api-url {api_url}: not an http(s) URL")));
    }
    let include =
        Include { forks: hosted.include_forks, archived: hosted.include_archived, wikis: hosted.wikis, gists };
    let timeout = Duration::from_secs(hosted.common.verify.provider.request_timeout.max(1) * 3);
    let urls = clone_urls(&listing, api_url, include, timeout)
        .map_err(|err| CmdError::Failed(anyhow::anyhow!("listing the repositories: {err}")))?;
    if !hosted.common.quiet {
        eprintln!("keyhound: {} repositories to scan", urls.len());
    }
    let entries: Vec<RepoEntry> = urls.into_iter().map(|id| RepoEntry { id, remote: true }).collect();
    let args = GitArgs {
        repo: PathBuf::from("."),
        branch: None,
        range: None,
        since_commit: None,
        since: None,
        max_commits: None,
        pre_push: false,
        datastore: hosted.datastore,
        repos: None,
        clone_dir: hosted.clone_dir,
        shard: hosted.shard,
        all: hosted.all,
        common: hosted.common,
    };
    super::fleet::run_entries(&args, entries)
}
