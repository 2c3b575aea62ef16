//! The store's schema, as numbered migrations applied in order (each once,
//! recorded in `keyhound_schema`). The SQL is common to SQLite and PostgreSQL.

/// Migrations, oldest first; never edit one that has shipped, add a new one.
pub const MIGRATIONS: &[&str] = &[
    // 1: findings, where they occur, what is known about them, and scan progress.
    "CREATE TABLE findings (
        fingerprint TEXT PRIMARY KEY,
        rule_id TEXT NOT NULL,
        description TEXT NOT NULL,
        provider TEXT NOT NULL,
        secret TEXT NOT NULL,
        secret_sha256 TEXT NOT NULL,
        snippet TEXT NOT NULL,
        confidence TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        first_commit_date TEXT NOT NULL,
        verification TEXT NOT NULL,
        verification_detail TEXT NOT NULL,
        verified_at TEXT NOT NULL,
        status TEXT NOT NULL,
        status_by TEXT NOT NULL,
        status_at TEXT NOT NULL,
        status_comment TEXT NOT NULL
    );
    CREATE TABLE occurrences (
        fingerprint TEXT NOT NULL,
        repo TEXT NOT NULL,
        commit_id TEXT NOT NULL,
        path TEXT NOT NULL,
        line BIGINT NOT NULL,
        author TEXT NOT NULL,
        commit_date TEXT NOT NULL,
        PRIMARY KEY (fingerprint, repo, commit_id, path, line)
    );
    CREATE TABLE scanned_blobs (
        repo TEXT NOT NULL,
        ruleset TEXT NOT NULL,
        blob_id TEXT NOT NULL,
        PRIMARY KEY (repo, ruleset, blob_id)
    );
    CREATE TABLE scanned_tips (
        repo TEXT NOT NULL,
        ruleset TEXT NOT NULL,
        commit_id TEXT NOT NULL,
        PRIMARY KEY (repo, ruleset, commit_id)
    );
    CREATE TABLE triage_log (
        fingerprint TEXT NOT NULL,
        status TEXT NOT NULL,
        who TEXT NOT NULL,
        at TEXT NOT NULL,
        comment TEXT NOT NULL
    );
    CREATE INDEX occurrences_by_repo ON occurrences (repo);",
];

/// Creates the version table (idempotent).
pub const VERSION_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS keyhound_schema (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)";
