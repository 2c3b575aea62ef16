//! Which rotation a rule's secrets get (`[rules.rotate] action = "..."`), and
//! what each built-in action sends where. Base URLs are fixed here, per
//! action; only the user running keyhound may override them (`--endpoint
//! NAME=URL`, `KEYHOUND_ENDPOINT_<NAME>`), as for verification.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::finding::Secret;
use crate::verify::http::Client;

/// A built-in rotation action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ActionKind {
    /// GitHub's public credential-revocation API (tokens batched, no auth).
    GithubRevoke,
    /// GitLab access tokens: self-rotate (new token) or self-revoke.
    GitlabRotate,
    /// Slack `auth.revoke` with the token itself.
    SlackRevoke,
    /// AWS IAM `UpdateAccessKey` to Inactive.
    AwsDeactivate,
    /// OpenAI: delete the project or admin key with an admin key.
    OpenaiDelete,
    /// Anthropic: set the key inactive with an admin key.
    AnthropicDeactivate,
    /// npm: delete the token with itself.
    NpmDelete,
    /// SendGrid: delete the key by its id.
    SendgridDelete,
    /// No key API: a guided (or gateway-driven) replace-then-retire flow.
    Guided,
}

impl ActionKind {
    /// The rotation kind shown by `keyhound rules list`: `guided` or `api`.
    pub fn kind(self) -> &'static str {
        match self {
            ActionKind::Guided => "guided",
            _ => "api",
        }
    }
}

/// Every action, for help texts and validation messages.
pub const ALL_ACTIONS: [ActionKind; 9] = [
    ActionKind::GithubRevoke,
    ActionKind::GitlabRotate,
    ActionKind::SlackRevoke,
    ActionKind::AwsDeactivate,
    ActionKind::OpenaiDelete,
    ActionKind::AnthropicDeactivate,
    ActionKind::NpmDelete,
    ActionKind::SendgridDelete,
    ActionKind::Guided,
];

impl ActionKind {
    /// Parses the name used in rule files.
    pub fn parse(name: &str) -> Result<ActionKind, String> {
        ALL_ACTIONS.into_iter().find(|kind| kind.name() == name).ok_or_else(|| {
            let names: Vec<&str> = ALL_ACTIONS.iter().map(|kind| kind.name()).collect();
            format!("unknown rotate action `{name}` (known: {})", names.join(", "))
        })
    }

    /// The name used in rule files and the audit trail.
    pub fn name(self) -> &'static str {
        match self {
            ActionKind::GithubRevoke => "github-revoke",
            ActionKind::GitlabRotate => "gitlab-rotate",
            ActionKind::SlackRevoke => "slack-revoke",
            ActionKind::AwsDeactivate => "aws-deactivate",
            ActionKind::OpenaiDelete => "openai-delete",
            ActionKind::AnthropicDeactivate => "anthropic-deactivate",
            ActionKind::NpmDelete => "npm-delete",
            ActionKind::SendgridDelete => "sendgrid-delete",
            ActionKind::Guided => "guided",
        }
    }

    /// The endpoint-override name (`--endpoint NAME=URL`) and default base URL;
    /// `None` for the guided flow, which talks only to the verifier's provider.
    pub fn endpoint(self) -> Option<(&'static str, &'static str)> {
        Some(match self {
            ActionKind::GithubRevoke => ("github", "https://api.github.com"),
            ActionKind::GitlabRotate => ("gitlab", "https://gitlab.com"),
            ActionKind::SlackRevoke => ("slack", "https://slack.com/api"),
            ActionKind::AwsDeactivate => ("aws-iam", "https://iam.amazonaws.com"),
            ActionKind::OpenaiDelete => ("openai", "https://api.openai.com"),
            ActionKind::AnthropicDeactivate => ("anthropic", "https://api.anthropic.com"),
            ActionKind::NpmDelete => ("npm", "https://registry.npmjs.org"),
            ActionKind::SendgridDelete => ("sendgrid", "https://api.sendgrid.com"),
            ActionKind::Guided => return None,
        })
    }

    /// What the action does, for the dry-run plan.
    pub fn describe(self, revoke_only: bool) -> &'static str {
        match self {
            ActionKind::GithubRevoke => "revoke through GitHub's credential-revocation API (POST /credentials/revoke)",
            ActionKind::GitlabRotate if revoke_only => "revoke the token with itself (DELETE /api/v4/personal_access_tokens/self)",
            ActionKind::GitlabRotate => {
                "rotate the token with itself (POST /api/v4/personal_access_tokens/self/rotate): GitLab issues a new \
                 token and revokes the old one"
            }
            ActionKind::SlackRevoke => "revoke the token with itself (POST /api/auth.revoke)",
            ActionKind::AwsDeactivate => {
                "set the access key Inactive (IAM UpdateAccessKey), signed with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY \
                 when set, else with the exposed key itself"
            }
            ActionKind::OpenaiDelete => "find the key with OPENAI_ADMIN_KEY and delete it (Admin API)",
            ActionKind::AnthropicDeactivate => "find the key with ANTHROPIC_ADMIN_KEY and set it inactive (Admin API)",
            ActionKind::NpmDelete => "delete the token with itself (DELETE /-/npm/v1/tokens/token/...)",
            ActionKind::SendgridDelete => {
                "delete the key by its id (DELETE /v3/api_keys/ID), with SENDGRID_MANAGEMENT_KEY when set, else itself"
            }
            ActionKind::Guided => "guided replacement: create a new key in the console, deliver it, retire the old one",
        }
    }

    /// The plan's group: `API replace`, `API revoke` or `guided`.
    pub fn group(self, revoke_only: bool) -> &'static str {
        match self {
            ActionKind::Guided => "guided",
            kind if kind.issues_new_key(revoke_only) => "API replace",
            _ => "API revoke",
        }
    }

    /// The credentials the action needs, for the dry-run plan.
    pub fn needs(self) -> &'static str {
        match self {
            ActionKind::GithubRevoke => "nothing (GitHub's revocation API takes no credentials)",
            ActionKind::GitlabRotate | ActionKind::SlackRevoke | ActionKind::NpmDelete => "the exposed token itself",
            ActionKind::AwsDeactivate => "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, else the exposed key pair",
            ActionKind::OpenaiDelete => "OPENAI_ADMIN_KEY",
            ActionKind::AnthropicDeactivate => "ANTHROPIC_ADMIN_KEY",
            ActionKind::SendgridDelete => "SENDGRID_MANAGEMENT_KEY, else the exposed key",
            ActionKind::Guided => {
                "a person at the provider's console (or KEYHOUND_NEW_KEY_<PROVIDER> with the new key)"
            }
        }
    }

    /// Whether the action issues a new key (which must then be delivered somewhere).
    pub fn issues_new_key(self, revoke_only: bool) -> bool {
        self == ActionKind::GitlabRotate && !revoke_only
    }
}

/// A rule's compiled `[rules.rotate]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The action.
    pub action: ActionKind,
    /// The provider's console page for managing keys (shown in guided flows and failures).
    pub console: Option<String>,
}

/// The rotation a rule's secrets get: the one it declares, else the guided
/// flow for every rule whose keys a provider's API tells live from dead (a
/// new key can be checked before it is delivered, the old one until it dies).
/// Offline checks (JWTs, private keys) and database logins have none yet.
pub fn rotation_of(rule: &crate::rules::Rule) -> Option<ActionKind> {
    rule.rotate
        .as_ref()
        .map(|rotation| rotation.action)
        .or_else(|| rule.verify.as_deref().filter(|verifier| verifier.sends_requests()).map(|_| ActionKind::Guided))
}

/// What an action needs.
pub struct ActionContext<'a> {
    /// HTTP client (no redirects).
    pub client: &'a Client,
    /// The action's base URL (default or the user's override).
    pub base_url: &'a str,
    /// Per-request time limit.
    pub timeout: Duration,
    /// The exposed key.
    pub secret: &'a str,
    /// Same-file secrets of other rules (e.g. the AWS access key id), by rule id.
    pub companions: &'a BTreeMap<String, String>,
    /// Facts from verification (e.g. the AWS ARN).
    pub details: &'a BTreeMap<String, Value>,
    /// Revoke instead of rotating where both are possible.
    pub revoke_only: bool,
}

impl ActionContext<'_> {
    /// `base_url` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url.trim_end_matches('/'))
    }
}

/// What an action achieved.
#[derive(Debug, Clone)]
pub enum Effect {
    /// The provider revoked (or accepted to revoke) the key.
    Revoked(String),
    /// The provider says the key no longer exists or works.
    AlreadyDead(String),
    /// The provider issued a new key and retired the old one.
    Replaced {
        /// The new key (delivered, never printed).
        new_secret: Secret,
        /// Its id at the provider.
        new_key_id: Option<String>,
        /// What happened.
        detail: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;

    #[test]
    fn every_action_name_round_trips_and_unknown_names_list_the_known_ones() {
        for kind in ALL_ACTIONS {
            assert_eq!(ActionKind::parse(kind.name()), Ok(kind));
        }
        let err = ActionKind::parse("github-delete").unwrap_err();
        assert!(err.contains("github-revoke") && err.contains("guided"), "{err}");
    }

    /// `--endpoint NAME=URL` must move verification and rotation of a provider together.
    #[test]
    fn rotating_rules_share_their_verifiers_provider_name_and_base_url() {
        let rules = RuleSet::defaults().unwrap();
        let rotating: Vec<_> = rules.rules.iter().filter(|rule| rule.rotate.is_some()).collect();
        assert!(rotating.len() >= 15, "{} rules rotate", rotating.len());
        for rule in rotating {
            let action = rule.rotate.as_ref().unwrap().action;
            let Some(verifier) = rule.verify.as_ref() else {
                // Only GitHub's revocation API takes tokens nobody can verify (refresh tokens).
                assert_eq!(action, ActionKind::GithubRevoke, "{}: a rotating rule needs a verifier", rule.id);
                continue;
            };
            match action.endpoint() {
                Some(("aws-iam", _)) => assert_eq!(verifier.provider, "aws"),
                Some((name, base_url)) => {
                    assert_eq!(
                        (verifier.provider.as_str(), verifier.base_url.as_str()),
                        (name, base_url),
                        "{}",
                        rule.id
                    )
                }
                None => assert_eq!(action, ActionKind::Guided),
            }
            assert!(rule.rotate.as_ref().unwrap().console.as_deref().is_some_and(|url| url.starts_with("https://")));
        }
    }
}
