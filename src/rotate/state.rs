//! What rotation remembers between runs: the state file (one entry per
//! fingerprint, so each key is acted on once) and the append-only audit trail.
//! Neither ever holds a full key.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::private_file::{is_symlink, open_private, write_private_atomically, Open};

/// Where a key's rotation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Progress {
    /// The exposed key no longer works (or the provider confirmed its revocation).
    Done,
    /// Started, waiting for a person, the provider or a grace period.
    Pending,
}

/// One key's entry in the state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Rule that found the key.
    pub rule: String,
    /// Provider acted on.
    pub provider: String,
    /// Action name (`github-revoke`, `guided`, ...).
    pub action: String,
    /// Done or pending.
    pub progress: Progress,
    /// When it last changed (RFC 3339).
    pub updated: String,
    /// What happened, for humans.
    pub detail: String,
    /// The replacement key's id, when the provider gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_key_id: Option<String>,
    /// When the exposed key is to be deactivated (gateway rotations with a grace period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deactivate_after: Option<String>,
    /// What `--complete` still has to do (`revoke`: a replacement is in place, the exposed key is not yet revoked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<String>,
}

/// The state file: rotations by fingerprint.
#[derive(Debug, Default)]
pub struct StateFile {
    path: PathBuf,
    entries: BTreeMap<String, Entry>,
}

impl StateFile {
    /// Loads `path` (a missing file is an empty state).
    pub fn load(path: &Path) -> anyhow::Result<StateFile> {
        if is_symlink(path) {
            anyhow::bail!("{} is a symbolic link: keyhound does not read or write state through one", path.display());
        }
        let entries = match fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .with_context(|| format!("{} is not a keyhound rotation state file", path.display()))?,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
        };
        Ok(StateFile { path: path.to_path_buf(), entries })
    }

    /// The entry of a fingerprint.
    pub fn get(&self, fingerprint: &str) -> Option<&Entry> {
        self.entries.get(fingerprint)
    }

    /// Records `entry` under each fingerprint and saves the file at once (atomically).
    pub fn record(&mut self, fingerprints: &[String], entry: &Entry) -> anyhow::Result<()> {
        for fingerprint in fingerprints {
            self.entries.insert(fingerprint.clone(), entry.clone());
        }
        let text = serde_json::to_string_pretty(&self.entries).expect("state entries serialize");
        write_private_atomically(&self.path, text.as_bytes())
            .with_context(|| format!("saving the rotation state {}", self.path.display()))
    }
}

/// One line of the audit trail.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditRecord {
    /// RFC 3339 time.
    pub time: String,
    /// Who ran keyhound (`$USER`, or the numeric uid).
    pub user: String,
    /// The finding's fingerprint(s).
    pub fingerprints: Vec<String>,
    /// Rule id.
    pub rule: String,
    /// Provider.
    pub provider: String,
    /// Action name.
    pub action: String,
    /// Step: `revoke`, `rotate`, `deliver`, `notify`, `confirm`, `deactivate`, `complete`.
    pub step: String,
    /// `ok`, `pending` or `failed`.
    pub outcome: String,
    /// What happened (never a key).
    pub detail: String,
    /// The key, redacted to its prefix.
    pub secret: String,
    /// The replacement key's id, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_key_id: Option<String>,
}

/// The append-only JSONL audit log.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
}

impl AuditLog {
    /// An audit log at `path` (created on first record, with its directory).
    pub fn new(path: &Path) -> AuditLog {
        AuditLog { path: path.to_path_buf() }
    }

    /// Appends one record (one line, flushed).
    pub fn append(&self, record: &AuditRecord) -> anyhow::Result<()> {
        let mut file = open_private(&self.path, Open::Append)
            .with_context(|| format!("opening the audit log {}", self.path.display()))?;
        let mut line = serde_json::to_string(record).expect("audit records serialize");
        line.push('\n');
        file.write_all(line.as_bytes()).with_context(|| format!("writing the audit log {}", self.path.display()))
    }
}

/// The current time, RFC 3339 (UTC).
pub fn now() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Who is running keyhound.
pub fn current_user() -> String {
    std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "unknown".to_string())
}

/// Writes `bytes` to `path` through a temporary file in the same directory,
/// so readers see the old or the new content, never half of it. An existing
/// file keeps its permissions. When `path` is a symbolic link (`.env ->
/// ../shared/prod.env`), the file it points to is the one rewritten, in its
/// own directory, and the link stays.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let resolved;
    let path = if is_symlink(path) {
        resolved = fs::canonicalize(path)
            .with_context(|| format!("{} is a symbolic link whose target cannot be resolved", path.display()))?;
        resolved.as_path()
    } else {
        path
    };
    let dir = create_parent(path)?;
    let mut temp = tempfile::NamedTempFile::new_in(&dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    temp.write_all(bytes).with_context(|| format!("writing {}", temp.path().display()))?;
    if let Ok(metadata) = fs::metadata(path) {
        fs::set_permissions(temp.path(), metadata.permissions())
            .with_context(|| format!("copying the permissions of {}", path.display()))?;
    }
    temp.as_file().sync_all().ok();
    temp.persist(path).map_err(|err| err.error).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

fn create_parent(path: &Path) -> anyhow::Result<PathBuf> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(progress: Progress) -> Entry {
        Entry {
            rule: "github-pat".into(),
            provider: "github".into(),
            action: "github-revoke".into(),
            progress,
            updated: now(),
            detail: "revoked".into(),
            new_key_id: None,
            deactivate_after: None,
            resume: None,
        }
    }

    #[test]
    fn state_survives_a_reload_under_every_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/state.json");
        let mut state = StateFile::load(&path).unwrap();
        state.record(&["aa".into(), "bb".into()], &entry(Progress::Done)).unwrap();
        let reloaded = StateFile::load(&path).unwrap();
        assert_eq!(reloaded.get("aa").unwrap().progress, Progress::Done);
        assert_eq!(reloaded.get("bb"), reloaded.get("aa"));
        assert!(reloaded.get("cc").is_none());
    }

    #[test]
    fn a_corrupt_state_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        fs::write(&path, "not json").unwrap();
        let err = StateFile::load(&path).unwrap_err();
        assert!(format!("{err:#}").contains("state.json"), "{err:#}");
    }

    #[test]
    fn the_audit_log_appends_one_json_line_per_record() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(&dir.path().join("audit.jsonl"));
        for step in ["revoke", "confirm"] {
            let record = AuditRecord {
                time: now(),
                user: current_user(),
                fingerprints: vec!["aa".into()],
                rule: "github-pat".into(),
                provider: "github".into(),
                action: "github-revoke".into(),
                step: step.into(),
                outcome: "ok".into(),
                detail: String::new(),
                secret: "ghp_ab*****".into(),
                new_key_id: None,
            };
            log.append(&record).unwrap();
        }
        let text = fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
        let steps: Vec<String> =
            text.lines().map(|line| serde_json::from_str::<AuditRecord>(line).unwrap().step).collect();
        assert_eq!(steps, ["revoke", "confirm"]);
    }

    #[test]
    fn an_env_file_behind_a_symlink_is_updated_at_its_target_and_the_link_stays() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("shared")).unwrap();
        let target = dir.path().join("shared/prod.env");
        fs::write(&target, "KEY=old\n").unwrap();
        let link = dir.path().join(".env");
        std::os::unix::fs::symlink("shared/prod.env", &link).unwrap();
        write_atomically(&link, b"KEY=new\n").unwrap();
        assert!(is_symlink(&link), "the link is kept");
        assert_eq!(fs::read_to_string(&target).unwrap(), "KEY=new\n");
        assert_eq!(fs::read_to_string(&link).unwrap(), "KEY=new\n");
    }

    #[test]
    fn atomic_writes_keep_permissions() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        fs::write(&path, "A=1\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        write_atomically(&path, b"A=2\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "A=2\n");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
