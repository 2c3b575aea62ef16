//! Live verification: asking each provider whether a found secret still works.
//!
//! How to ask is data in each rule (`[rules.verify]`, see [`spec`]); the
//! [`runner`] checks each distinct secret once, with bounded concurrency per
//! provider, timeouts, and retries with backoff on 429/5xx. Secrets go only
//! to the provider's own HTTPS endpoint: the base URL can be changed only by
//! the person running keyhound (`--endpoint NAME=URL`,
//! `KEYHOUND_ENDPOINT_<NAME>`), and rules from a repository's config may not
//! verify at all unless `--allow-custom-verify` is given.

pub mod aws;
pub mod database;
pub mod gcp;
pub mod http;
pub mod jwt;
pub mod private_key;
pub mod runner;
pub mod spec;
pub mod template;

#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// What the provider said about a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The secret works.
    Live,
    /// The secret is revoked or invalid.
    Dead,
    /// No answer either way, and why (rate limited, network, timeout...).
    Unknown(String),
}

impl Status {
    /// `live`, `dead` or `unknown`.
    pub fn label(&self) -> &'static str {
        match self {
            Status::Live => "live",
            Status::Dead => "dead",
            Status::Unknown(_) => "unknown",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Unknown(reason) => write!(f, "unknown ({reason})"),
            other => f.write_str(other.label()),
        }
    }
}

/// A verification result: the status and what the provider told about the key
/// (scopes, account, balance), never the key itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    /// Live, dead or unknown.
    pub status: Status,
    /// Facts from a live answer.
    pub details: BTreeMap<String, serde_json::Value>,
}

impl Verification {
    /// An unknown result with a reason.
    pub fn unknown(reason: impl Into<String>) -> Self {
        Verification { status: Status::Unknown(reason.into()), details: BTreeMap::new() }
    }
}

/// Words in a live key's recorded scopes, roles or account type that say it
/// can do more than read: such keys are listed first.
const BROAD_ACCESS: [&str; 9] =
    ["admin", "owner", "write", "repo", "delete", "service_role", "root", "full", "organization"];

impl Verification {
    /// How urgent a finding with this verification is, lowest first: live keys
    /// whose recorded scopes or role say they can write or administer, other
    /// live keys, keys nobody could check, dead keys.
    pub fn urgency(verification: Option<&Verification>) -> u8 {
        match verification.map(|verification| (&verification.status, verification)) {
            Some((Status::Live, verification)) => {
                let broad = verification.details.iter().any(|(name, value)| {
                    let relevant =
                        ["scopes", "scope", "role", "permissions", "account_type", "type"].contains(&name.as_str());
                    let text = value.to_string().to_ascii_lowercase();
                    relevant && BROAD_ACCESS.iter().any(|word| text.contains(word))
                });
                if broad {
                    0
                } else {
                    1
                }
            }
            Some((Status::Unknown(_), _)) | None => 2,
            Some((Status::Dead, _)) => 3,
        }
    }
}

impl Serialize for Verification {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("status", self.status.label())?;
        if let Status::Unknown(reason) = &self.status {
            map.serialize_entry("reason", reason)?;
        }
        if !self.details.is_empty() {
            map.serialize_entry("details", &self.details)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod urgency_tests {
    use super::*;

    fn verification(status: Status, details: &[(&str, &str)]) -> Verification {
        Verification {
            status,
            details: details.iter().map(|(name, value)| (name.to_string(), serde_json::json!(value))).collect(),
        }
    }

    #[test]
    fn live_keys_that_can_write_or_administer_come_first_and_dead_ones_last() {
        let admin = verification(Status::Live, &[("scopes", "repo, admin:org")]);
        let reader = verification(Status::Live, &[("scopes", "read:user"), ("login", "octo")]);
        let unknown = verification(Status::Unknown("rate limited".into()), &[]);
        let dead = verification(Status::Dead, &[("scopes", "admin")]);
        let ranks: Vec<u8> =
            [Some(&admin), Some(&reader), Some(&unknown), None, Some(&dead)].map(Verification::urgency).to_vec();
        assert_eq!(ranks, [0, 1, 2, 2, 3]);
        // A login that happens to contain "admin" is not a scope.
        let named = verification(Status::Live, &[("login", "sysadmin")]);
        assert_eq!(Verification::urgency(Some(&named)), 1);
    }
}
