//! Rotation: making live exposed keys stop working, and where the provider
//! allows, putting a fresh key in their place.
//!
//! The order is always *create new → store → confirm → retire old*, never
//! retire first. Every key is acted on once (the [`state`] file, keyed by
//! fingerprint), every attempt is written to the [`state::AuditLog`], nothing
//! happens without `--yes`, and only keys verified live are touched unless the
//! user says `--force-unverified`. Actions are built in ([`action`],
//! [`providers`], [`admin_keys`]), run a user command ([`hooks`]), or guide a
//! person through a provider console ([`guided`], [`gateway`]); new keys go
//! where the user says ([`deliver`]).

pub mod action;
pub mod admin_keys;
mod database;
pub mod deliver;
pub mod gateway;
mod gcp;
mod guided;
pub mod hooks;
mod offline;
mod plan;
pub mod providers;
pub mod recipe;
pub mod recipes;
mod replace;
mod runner;
pub mod state;
mod target;

pub use runner::{rotate_findings, RotateOptions, Summary};

/// A non-empty environment variable (an empty one counts as unset).
pub(crate) fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.trim().is_empty())
}

/// The user's own management credentials keyhound may read from the
/// environment; their values are masked in every message like found secrets.
pub(crate) const MANAGEMENT_VARIABLES: [&str; 12] = [
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "SENDGRID_MANAGEMENT_KEY",
    "OPENAI_ADMIN_KEY",
    "ANTHROPIC_ADMIN_KEY",
    "VAULT_TOKEN",
    "GITHUB_TOKEN",
    "TAILSCALE_API_KEY",
    "CLOUDFLARE_API_TOKEN",
    "MAPBOX_ACCESS_TOKEN",
    "GOOGLE_OAUTH_ACCESS_TOKEN",
    "DD_APP_KEY",
];
