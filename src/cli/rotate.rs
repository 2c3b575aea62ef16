//! `keyhound rotate` and the rotation options shared with `scan --rotate`.

use std::path::PathBuf;

use clap::Args;

use super::ProviderArgs;

/// `keyhound rotate`.
#[derive(Debug, Args)]
pub struct RotateCmdArgs {
    /// A JSON report written with `--format json --show-secrets` (ideally with `--verify`).
    #[arg(value_name = "REPORT")]
    pub report: PathBuf,

    /// Only finish rotations left pending: deactivate after a due grace period, and
    /// record a key done once it no longer works.
    #[arg(long)]
    pub complete: bool,

    /// Verify the report's keys again before acting (a stale report may list keys already dead).
    #[arg(long)]
    pub verify: bool,

    /// Rules file to use besides keyhound's own (its rules rotate only with --allow-custom-verify).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Only keys of this provider (its name as `rules list` shows it, e.g. "Google Cloud", or its
    /// verifier's, e.g. google); repeatable.
    #[arg(long = "provider", value_name = "NAME")]
    pub only_providers: Vec<String>,

    /// Only keys of this rule id; repeatable.
    #[arg(long = "rule", value_name = "ID")]
    pub only_rules: Vec<String>,

    /// Rotation options.
    #[command(flatten)]
    pub rotation: RotateArgs,

    /// Where and how provider requests are sent.
    #[command(flatten)]
    pub provider: ProviderArgs,
}

/// What rotation may do and where new keys go.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// Really act: without it, keyhound only prints what it would do.
    #[arg(long, help_heading = "Rotation")]
    pub yes: bool,

    /// Act on keys that are not verified live (unknown, or not verified at all).
    #[arg(long, help_heading = "Rotation")]
    pub force_unverified: bool,

    /// Revoke instead of rotating where the provider can do both (GitLab).
    #[arg(long, help_heading = "Rotation")]
    pub revoke_only: bool,

    /// Put a new key in a .env-style file: FILE:VARIABLE sets that variable, FILE
    /// alone replaces whichever variable holds the exposed key. Repeatable.
    #[arg(long, value_name = "FILE[:VAR]", value_parser = parse_env_delivery, help_heading = "Rotation")]
    pub deliver_env: Vec<crate::rotate::deliver::Delivery>,

    /// Put a new key in HashiCorp Vault KV v2 (VAULT_ADDR, VAULT_TOKEN), e.g.
    /// secret/myapp#DEEPSEEK_API_KEY. Repeatable.
    #[arg(long, value_name = "MOUNT/PATH[#FIELD]", value_parser = parse_vault_delivery, help_heading = "Rotation")]
    pub deliver_vault: Vec<crate::rotate::deliver::Delivery>,

    /// Run CMD (with sh) to deliver a new key: JSON with old_secret, new_secret,
    /// new_key_id and the redacted finding on its stdin. Repeatable.
    #[arg(long, value_name = "CMD", help_heading = "Rotation")]
    pub deliver_exec: Vec<String>,

    /// POST a redacted notice (Slack-compatible {"text": ...}) to URL when a
    /// person must act (guided rotations in CI). Repeatable.
    #[arg(long, value_name = "URL", help_heading = "Rotation")]
    pub notify_webhook: Vec<String>,

    /// Run CMD with the redacted notice as JSON on stdin when a person must act. Repeatable.
    #[arg(long, value_name = "CMD", help_heading = "Rotation")]
    pub notify_exec: Vec<String>,

    /// Rotate keys of providers without a built-in action by running CMD: the
    /// finding as JSON on stdin, the secret only there; exit 0 = rotated; it may
    /// print {"new_secret": ..., "new_key_id": ...} to have a new key delivered.
    #[arg(long, value_name = "CMD", help_heading = "Rotation")]
    pub exec: Option<String>,

    /// TOML file describing gateway admin APIs for providers without one
    /// (`[gateway.deepseek]`, see `keyhound rotate --help`).
    #[arg(long, value_name = "FILE", help_heading = "Rotation")]
    pub rotate_config: Option<PathBuf>,

    /// Wait up to SECS for an exposed key to stop working before recording it pending.
    #[arg(long, default_value_t = 0, value_name = "SECS", help_heading = "Rotation",
          value_parser = clap::value_parser!(u64).range(0..=super::MAX_SECONDS))]
    pub wait: u64,

    /// Seconds between checks while waiting.
    #[arg(long, default_value_t = 5, value_name = "SECS", help_heading = "Rotation",
          value_parser = clap::value_parser!(u64).range(0..=super::MAX_SECONDS))]
    pub poll_interval: u64,

    /// Rotation state: which keys were acted on, by fingerprint.
    #[arg(long, default_value = ".keyhound/rotate-state.json", value_name = "FILE", help_heading = "Rotation")]
    pub state: PathBuf,

    /// Audit trail (JSON lines, never a full key).
    #[arg(long, default_value = ".keyhound/audit.jsonl", value_name = "FILE", help_heading = "Rotation")]
    pub audit_log: PathBuf,
}

fn parse_env_delivery(text: &str) -> Result<crate::rotate::deliver::Delivery, String> {
    crate::rotate::deliver::Delivery::env_file(text)
}

fn parse_vault_delivery(text: &str) -> Result<crate::rotate::deliver::Delivery, String> {
    crate::rotate::deliver::Delivery::vault(text)
}

/// The long help of `keyhound rotate`: the DeepSeek and GitHub cases, safety.
pub(super) const ROTATE_HELP: &str = "\
Examples:
  keyhound scan . --verify --format json --show-secrets -o findings.json
  keyhound rotate findings.json                  dry run: what would happen, per key
  keyhound rotate findings.json --yes            do it; steps go to .keyhound/audit.jsonl
  keyhound scan . --verify --rotate --yes        find, verify and rotate in one go

GitHub tokens are revoked through GitHub's public revocation API (no login
needed). GitLab tokens rotate themselves (give --deliver-* for the new token,
or --revoke-only). Slack, npm and SendGrid keys revoke themselves; AWS keys are
set Inactive (management credentials from AWS_ACCESS_KEY_ID/...); OpenAI and
Anthropic keys are retired with OPENAI_ADMIN_KEY / ANTHROPIC_ADMIN_KEY.

DeepSeek has no key API, so its rotation is guided: keyhound shows where the
key leaked, its balance and the console page; you create a new key there and
paste it (hidden) or set KEYHOUND_NEW_KEY_DEEPSEEK; keyhound checks it works,
delivers it (--deliver-env .env:DEEPSEEK_API_KEY, --deliver-vault ...), then
waits for the exposed key to answer 401 once you delete it. In CI it notifies
(--notify-webhook URL, --notify-exec CMD) and records the key pending;
`keyhound rotate findings.json --complete` later confirms it is dead.

A gateway with an admin API replaces the console (--rotate-config FILE):
  [gateway.deepseek]
  base_url = \"https://llm-gateway.example.com\"
  grace = \"7d\"            # old key keeps working this long; then --complete deactivates it
  [gateway.deepseek.create]
  path = \"/admin/keys\"
  body = '{\"name\": \"rotated-{{fingerprint}}\"}'
  new_key = \"/key\"
  new_key_id = \"/id\"
  [gateway.deepseek.deactivate]
  path = \"/admin/keys/deactivate\"
  body = '{\"key_sha256\": \"{{secret_sha256}}\"}'
The admin key is read only from KEYHOUND_DEEPSEEK_ADMIN_KEY (or admin_key_env).

Safety: nothing happens without --yes; only keys verified live are touched
(--force-unverified overrides); each key is acted on once (--state); every step
is appended to --audit-log; provider URLs change only with --endpoint NAME=URL
or KEYHOUND_ENDPOINT_<NAME>. Exit codes: 0 nothing failed, 2 usage, 3 a
rotation failed.";
