//! Which rotation a rule's secrets get (`[rules.rotate] action = "..."`), and
//! what each built-in action sends where. Base URLs are fixed here, per
//! action; only the user running keyhound may override them (`--endpoint
//! NAME=URL`, `KEYHOUND_ENDPOINT_<NAME>`), as for verification.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::finding::Secret;
use crate::verify::http::Client;

use super::recipe::{Recipe, Shape};
use super::recipes::RECIPES;

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
    /// Google Cloud: delete a service-account key through IAM.
    GcpKeyDelete,
    /// A database password: log in with it and set a new one.
    DatabasePassword,
    /// Private keys and JWTs: what a person must do, and what keyhound can check.
    OfflineGuided,
    /// No key API: a guided (or gateway-driven) replace-then-retire flow.
    Guided,
    /// A provider rotation described as data: [`super::recipes::RECIPES`]`[index]`.
    Api(u16),
}

impl ActionKind {
    /// The rotation kind shown by `keyhound rules list`: `api`, `database` or `guided`.
    pub fn kind(self) -> &'static str {
        match self {
            ActionKind::Guided | ActionKind::OfflineGuided => "guided",
            ActionKind::DatabasePassword => "database",
            _ => "api",
        }
    }
}

/// The actions written as code (the others are [`super::recipes::RECIPES`]).
const CODED_ACTIONS: [ActionKind; 12] = [
    ActionKind::GithubRevoke,
    ActionKind::GitlabRotate,
    ActionKind::SlackRevoke,
    ActionKind::AwsDeactivate,
    ActionKind::OpenaiDelete,
    ActionKind::AnthropicDeactivate,
    ActionKind::NpmDelete,
    ActionKind::SendgridDelete,
    ActionKind::GcpKeyDelete,
    ActionKind::DatabasePassword,
    ActionKind::OfflineGuided,
    ActionKind::Guided,
];

/// Every action, for help texts and validation messages.
pub fn all_actions() -> Vec<ActionKind> {
    let recipes = (0..RECIPES.len()).map(|index| ActionKind::Api(u16::try_from(index).expect("few recipes")));
    CODED_ACTIONS.into_iter().chain(recipes).collect()
}

impl ActionKind {
    /// Parses the name used in rule files.
    pub fn parse(name: &str) -> Result<ActionKind, String> {
        all_actions().into_iter().find(|kind| kind.name() == name).ok_or_else(|| {
            let names: Vec<&str> = all_actions().iter().map(|kind| kind.name()).collect();
            format!("unknown rotate action `{name}` (known: {})", names.join(", "))
        })
    }

    /// The recipe of a data-described action.
    pub fn recipe(self) -> Option<&'static Recipe> {
        match self {
            ActionKind::Api(index) => RECIPES.get(usize::from(index)),
            _ => None,
        }
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
            ActionKind::GcpKeyDelete => "gcp-key-delete",
            ActionKind::DatabasePassword => "database-password",
            ActionKind::OfflineGuided => "guided-offline",
            ActionKind::Guided => "guided",
            ActionKind::Api(index) => RECIPES[usize::from(index)].name,
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
            ActionKind::GcpKeyDelete => ("gcp-iam", "https://iam.googleapis.com"),
            ActionKind::Guided | ActionKind::DatabasePassword | ActionKind::OfflineGuided => return None,
            ActionKind::Api(index) => (RECIPES[usize::from(index)].endpoint, RECIPES[usize::from(index)].base_url),
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
            ActionKind::OfflineGuided => {
                "guide a person: a private key's fingerprint and where GitHub trusts it (with GITHUB_TOKEN), a JWT's \
                 issuer and expiry; pending until --complete finds it retired"
            }
            ActionKind::GcpKeyDelete => {
                "delete the key through IAM (DELETE /v1/projects/P/serviceAccounts/EMAIL/keys/ID), with \
                 GOOGLE_OAUTH_ACCESS_TOKEN when set, else with a token the key file itself obtains"
            }
            ActionKind::DatabasePassword => {
                "log in with the exposed password and set a new random one (PostgreSQL: ALTER ROLE CURRENT_USER with a \
                 SCRAM verifier; MariaDB: SET PASSWORD with a hash; MySQL: ALTER USER CURRENT_USER()), deliver it, check that it logs in and the \
                 old one no longer does"
            }
            ActionKind::Api(index) => {
                let recipe = &RECIPES[usize::from(index)];
                match (recipe.shape, revoke_only && recipe.can_revoke_alone()) {
                    (Shape::Roll | Shape::Replace, true) => "revoke the key without a replacement (--revoke-only)",
                    _ => recipe.describe,
                }
            }
        }
    }

    /// The plan's group: `API replace`, `API revoke`, `database` or `guided`.
    pub fn group(self, revoke_only: bool) -> &'static str {
        match self {
            ActionKind::Guided | ActionKind::OfflineGuided => "guided",
            ActionKind::DatabasePassword => "database",
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
            ActionKind::GcpKeyDelete => {
                "GOOGLE_OAUTH_ACCESS_TOKEN of an account allowed to delete keys (gcloud auth print-access-token), \
                 else the key file (its account rarely may delete its own keys)"
            }
            ActionKind::Guided => {
                "a person at the provider's console (or KEYHOUND_NEW_KEY_<PROVIDER> with the new key)"
            }
            ActionKind::Api(index) => RECIPES[usize::from(index)].needs,
            ActionKind::OfflineGuided => {
                "a person to replace the key (GITHUB_TOKEN lets keyhound look where a key is installed)"
            }
            ActionKind::DatabasePassword => {
                "--verify-network-hosts (the host comes from the scanned file), a --deliver-* target, and the \
                 connection string in the report (--show-secrets)"
            }
        }
    }

    /// Whether the action issues a new key (which must then be delivered somewhere).
    pub fn issues_new_key(self, revoke_only: bool) -> bool {
        match self {
            ActionKind::GitlabRotate => !revoke_only,
            ActionKind::DatabasePassword => true,
            ActionKind::Api(index) => RECIPES[usize::from(index)].issues_new_key(revoke_only),
            _ => false,
        }
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
/// Database logins get a new password; keys checked offline (JWTs, private
/// keys) a guided flow of their own.
pub fn rotation_of(rule: &crate::rules::Rule) -> Option<ActionKind> {
    if let Some(rotation) = &rule.rotate {
        return Some(rotation.action);
    }
    let verifier = rule.verify.as_deref()?;
    if verifier.is_database_login() {
        return Some(ActionKind::DatabasePassword);
    }
    if verifier.is_offline() {
        return Some(ActionKind::OfflineGuided);
    }
    verifier.sends_requests().then_some(ActionKind::Guided)
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
    /// The file the key was found in (a service-account key file).
    pub key_file: Option<&'a std::path::Path>,
    /// The user's endpoint overrides (`--endpoint NAME=URL`), for actions that call two hosts.
    pub endpoints: &'a BTreeMap<String, String>,
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

impl Effect {
    /// What happened, for the audit trail and messages.
    pub fn detail(&self) -> &str {
        match self {
            Effect::Revoked(detail) | Effect::AlreadyDead(detail) | Effect::Replaced { detail, .. } => detail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;

    #[test]
    fn every_action_name_round_trips_and_unknown_names_list_the_known_ones() {
        for kind in all_actions() {
            assert_eq!(ActionKind::parse(kind.name()), Ok(kind));
        }
        let err = ActionKind::parse("github-delete").unwrap_err();
        assert!(err.contains("github-revoke") && err.contains("guided"), "{err}");
    }

    #[test]
    fn every_recipe_is_documented_and_used_by_a_built_in_rule() {
        let rules = RuleSet::defaults().unwrap();
        for (index, recipe) in RECIPES.iter().enumerate() {
            let kind = ActionKind::Api(u16::try_from(index).unwrap());
            assert_eq!(ActionKind::parse(recipe.name), Ok(kind));
            assert!(recipe.docs.starts_with("https://"), "{}", recipe.name);
            assert!(!recipe.describe.is_empty() && !recipe.needs.is_empty(), "{}", recipe.name);
            assert!(recipe.base_url.is_empty() == recipe.base_url_variable.is_some(), "{}", recipe.name);
            assert!(
                rules.rules.iter().any(|rule| rule.rotate.as_ref().is_some_and(|rotation| rotation.action == kind)),
                "no rule uses {}",
                recipe.name
            );
            match recipe.shape {
                Shape::Revoke => assert!(recipe.revoke.is_some() && recipe.create.is_none(), "{}", recipe.name),
                Shape::Roll | Shape::Replace => {
                    assert!(recipe.create.is_some() && !recipe.new_key.0.is_empty(), "{}", recipe.name)
                }
            }
        }
    }

    /// `--endpoint NAME=URL` must move verification and rotation of a provider together.
    #[test]
    fn rotating_rules_share_their_verifiers_provider_name_and_base_url() {
        let rules = RuleSet::defaults().unwrap();
        let rotating: Vec<_> = rules.rules.iter().filter(|rule| rule.rotate.is_some()).collect();
        assert!(rotating.len() >= 40, "{} rules rotate", rotating.len());
        for rule in rotating {
            let action = rule.rotate.as_ref().unwrap().action;
            let Some(verifier) = rule.verify.as_ref() else {
                // GitHub's revocation API takes tokens nobody can verify (refresh tokens); recipes
                // for keys without a verifier (Vault, Okta, Tailscale auth keys) skip the confirmation.
                assert!(
                    action == ActionKind::GithubRevoke || action.recipe().is_some(),
                    "{}: a rotating rule needs a verifier",
                    rule.id
                );
                continue;
            };
            match (action.endpoint(), action.recipe()) {
                (Some(("aws-iam", _)), _) => assert_eq!(verifier.provider, "aws"),
                (Some(("gcp-iam", _)), _) => assert_eq!(verifier.provider, "gcp-service-account"),
                // A recipe on another host than the verifier has a name of its own, so that
                // `--endpoint` never moves one without the other by accident.
                (Some((name, base_url)), Some(_)) if base_url != verifier.base_url => {
                    assert_ne!(name, verifier.provider, "{}", rule.id)
                }
                (Some((name, base_url)), _) => {
                    assert_eq!(
                        (verifier.provider.as_str(), verifier.base_url.as_str()),
                        (name, base_url),
                        "{}",
                        rule.id
                    )
                }
                (None, _) => assert_eq!(action, ActionKind::Guided),
            }
            assert!(rule.rotate.as_ref().unwrap().console.as_deref().is_some_and(|url| url.starts_with("https://")));
        }
    }
}
