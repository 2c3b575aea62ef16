//! What a scan reports: [`Finding`]s with their [`Origin`], [`Location`],
//! [`Fingerprint`] and a [`Secret`] that redacts itself everywhere by default.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// How sure a rule is that its match is a real credential.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// The shape is shared with non-secrets or other vendors; needs a human look.
    Low,
    /// A plausible credential.
    #[default]
    Medium,
    /// An unmistakable credential format, or a format confirmed by context.
    High,
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        })
    }
}

/// A secret value. `Display`, `Debug` and `Serialize` show only a redacted
/// form; [`Secret::expose`] is the one way to get the value itself.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    /// Wraps a found value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The full secret. Call only for verification, rotation or `--show-secrets`.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The redacted form: a short prefix (at most 4 characters and never more
    /// than a quarter of the value) followed by a fixed mask, so neither the
    /// value nor its length leaks.
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }

    /// Whether this value is itself a redacted form (read back from a redacted report).
    pub fn is_redacted(&self) -> bool {
        self.0.ends_with("*****")
    }
}

/// `text` with control characters escaped (`\n`, `\u{1b}`...), for terminal
/// output: a scanned file's name, line or commit message must not be able to
/// forge output lines or send escape sequences to the terminal.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            escaped.extend(c.escape_default());
        } else {
            escaped.push(c);
        }
    }
    std::borrow::Cow::Owned(escaped)
}

/// Redacts `value` the way [`Secret::redacted`] does.
pub fn redact(value: &str) -> String {
    let keep = (value.chars().count() / 4).min(4);
    let prefix: String = value.chars().take(keep).collect();
    format!("{prefix}*****")
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.redacted())
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.redacted())
    }
}

/// A stable identity for a finding: derived from the rule id, the path and a
/// hash of the secret, never from the line number, so it survives line moves,
/// reruns and other machines (paths are normalised to `/`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// Computes the fingerprint of `secret` found by `rule_id` in `path`.
    pub fn compute(rule_id: &str, path: &str, secret: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(rule_id.as_bytes());
        hasher.update([0]);
        hasher.update(path.replace('\\', "/").as_bytes());
        hasher.update([0]);
        hasher.update(secret.as_bytes());
        let digest = hasher.finalize();
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        Fingerprint(hex)
    }

    /// A fingerprint read back from a report, baseline or datastore: exactly
    /// 32 hex digits, or an error. Fingerprints name files (undelivered keys),
    /// so a crafted one (`../x`, `/etc/passwd`) must never get through.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() == 32 && text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            Ok(Fingerprint(text.to_ascii_lowercase()))
        } else {
            Err(format!(
                "`{}` is not a keyhound fingerprint (32 hex digits)",
                printable(&text.chars().take(80).collect::<String>())
            ))
        }
    }

    /// The fingerprint as 32 lowercase hex characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A commit, as shown with history findings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct CommitInfo {
    /// Full commit id (hex).
    pub id: String,
    /// Author name.
    pub author: String,
    /// Author email.
    pub email: String,
    /// Author date, RFC 3339.
    pub date: String,
    /// First line of the message.
    pub summary: String,
}

/// One place a blob appears in history.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Occurrence {
    /// The commit.
    #[serde(rename = "commit", serialize_with = "serialize_commit_id")]
    pub commit: Arc<CommitInfo>,
    /// The path in that commit's tree.
    pub path: String,
}

fn serialize_commit_id<S: Serializer>(commit: &Arc<CommitInfo>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&commit.id)
}

/// Another place of a finding that stands for a group: the publicly known
/// secrets of one published set (a library's test keys, an RFC's examples)
/// are reported once, with the other places listed here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Place {
    /// The file (or archive member, image layer path) where the copy is.
    pub path: String,
    /// Its line (0 in binary content).
    pub line: usize,
    /// Its byte offset in the file or blob.
    pub offset: usize,
    /// The copy's own fingerprint (baselines and ignore files name it).
    pub fingerprint: Fingerprint,
}

/// A blob in git history: where it first appeared (the commit that introduced
/// it) and, capped, other commits and paths where it was also found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlobOrigin {
    /// Position of the first appearance in topological order (parents first).
    pub order: usize,
    /// First appearance, in topological order (parents before children).
    pub first: Occurrence,
    /// Other appearances (renames, copies, re-additions), at most a few.
    pub also: Vec<Occurrence>,
}

/// Where scanned bytes came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// A file on disk; the path as given on the command line or found by the walk.
    File(std::path::PathBuf),
    /// Standard input (`-`).
    Stdin,
    /// A blob in git history.
    GitBlob(Arc<BlobOrigin>),
    /// A commit message.
    CommitMessage(Arc<CommitInfo>),
    /// An annotated tag's message.
    TagMessage {
        /// The tag name.
        tag: String,
    },
    /// A member of an archive (zip, tar, gzip), possibly nested.
    ArchiveMember {
        /// The archive.
        archive: Box<Origin>,
        /// The member's name inside it (a label only: never used as a path on disk).
        member: String,
    },
}

impl Origin {
    /// The path as a display string with `/` separators: `-` for stdin, the
    /// first path for a history blob, `COMMIT_MSG@<id>` / `TAG_MSG@<tag>` for messages.
    pub fn display_path(&self) -> String {
        match self {
            Origin::File(path) => normalize_path(path),
            Origin::Stdin => "-".to_string(),
            Origin::GitBlob(blob) => blob.first.path.clone(),
            Origin::CommitMessage(commit) => format!("COMMIT_MSG@{}", short_id(&commit.id)),
            Origin::TagMessage { tag } => format!("TAG_MSG@{tag}"),
            Origin::ArchiveMember { archive, member } => format!("{}!{member}", archive.display_path()),
        }
    }

    /// The origin of a member of the archive at `self`. A gzip stream has no
    /// member name: it is named after the archive without `.gz` (`.tgz` gives `.tar`).
    pub fn archive_member(archive: &Origin, member: String) -> Origin {
        let member = if member.is_empty() {
            let outer = archive.display_path();
            let file = outer.rsplit(['/', '!']).next().unwrap_or(&outer).to_string();
            // Gzip-compressed tarballs by another name: a Rust `.crate`, a `.tgz`.
            match file.strip_suffix(".tgz").or_else(|| file.strip_suffix(".crate")) {
                Some(stem) => format!("{stem}.tar"),
                None => file.strip_suffix(".gz").map(str::to_string).unwrap_or(file),
            }
        } else {
            member
        };
        Origin::ArchiveMember { archive: Box::new(archive.clone()), member }
    }

    /// The file path, if the origin is a file on disk.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Origin::File(path) => Some(path),
            _ => None,
        }
    }

    /// Whether the origin has a path that path rules and allowlists apply to.
    pub fn has_path(&self) -> bool {
        match self {
            Origin::File(_) | Origin::GitBlob(_) => true,
            Origin::ArchiveMember { archive, .. } => archive.has_path(),
            _ => false,
        }
    }

    /// The commit the bytes came from (history scans).
    pub fn commit(&self) -> Option<&CommitInfo> {
        match self {
            Origin::GitBlob(blob) => Some(&blob.first.commit),
            Origin::CommitMessage(commit) => Some(commit),
            Origin::ArchiveMember { archive, .. } => archive.commit(),
            _ => None,
        }
    }
}

/// The first 12 characters of a commit id.
pub fn short_id(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// Renders a path lossily with `/` separators and no leading `./`.
pub fn normalize_path(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    match text.strip_prefix("./") {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => text,
    }
}

/// A position range, 1-based; `end_column` is inclusive (the last character).
/// Columns count Unicode scalar values (bytes of invalid UTF-8 count as one each).
/// In binary content lines and columns are 0 and only `offset` applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Location {
    /// Line of the first character of the secret.
    pub line: usize,
    /// Column of the first character of the secret.
    pub column: usize,
    /// Line of the last character of the secret.
    pub end_line: usize,
    /// Column of the last character of the secret.
    pub end_column: usize,
    /// Byte offset of the secret in the file or blob.
    pub offset: usize,
    /// Whether the secret was found in the printable strings of binary content.
    pub in_binary: bool,
}

/// A reportable finding: what the engine matched, where, and how to identify it.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The rule that matched.
    pub rule_id: String,
    /// The rule's human description.
    pub description: String,
    /// Where the bytes came from.
    pub origin: Origin,
    /// Position of the secret.
    pub location: Location,
    /// The secret itself (redacted unless exposed).
    pub secret: Secret,
    /// The whole regex match the secret was taken from (redacted unless exposed).
    pub matched: Secret,
    /// The line around the secret (at most a few hundred characters).
    pub line: Secret,
    /// Shannon entropy of the secret, bits per byte.
    pub entropy: f32,
    /// How sure the rule is.
    pub confidence: Confidence,
    /// The rule's tags.
    pub tags: Vec<String>,
    /// The provider that issues the secret (the rule's `provider.name`).
    pub provider: Option<String>,
    /// Rules from config files that matched the same secret at the same place.
    pub also_matched: Vec<String>,
    /// Why the place makes a fresh leak less likely (an installed package's
    /// tree, its documentation or test data); the confidence was lowered for it.
    pub context: Vec<String>,
    /// Other places of the same publicly known set, reported under this one
    /// finding (empty unless grouped; `--expand-known` lists each copy).
    pub also_at: Vec<Place>,
    /// The encodings the secret was found under (`base64`, `base64 > percent`);
    /// the location is then the encoded span's.
    pub decoded: Option<String>,
    /// Stable identity of this finding.
    pub fingerprint: Fingerprint,
    /// What the provider said, when verification ran.
    pub verification: Option<crate::verify::Verification>,
}

/// How much of a secret output shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Redaction {
    /// Everything masked but a short prefix (at most 4 characters, a quarter of the secret).
    #[default]
    Prefix,
    /// This percentage of the secret's characters kept (`--redact N`), the rest masked.
    Percent(u8),
    /// The whole secret (`--show-secrets`).
    None,
}

impl Redaction {
    /// Applies the policy to a secret.
    pub fn apply(self, secret: &str) -> String {
        match self {
            Redaction::None => secret.to_string(),
            Redaction::Prefix => redact(secret),
            Redaction::Percent(percent) => {
                let total = secret.chars().count();
                let keep = total * usize::from(percent.min(100)) / 100;
                if keep >= total {
                    return secret.to_string();
                }
                let prefix: String = secret.chars().take(keep).collect();
                format!("{prefix}*****")
            }
        }
    }
}

impl Finding {
    /// The text of `matched` with the secret inside it redacted by `redaction`.
    pub fn match_text(&self, redaction: Redaction) -> String {
        self.redact_within(&self.matched, redaction)
    }

    /// The line around the secret, with the secret redacted by `redaction`.
    pub fn line_text(&self, redaction: Redaction) -> String {
        self.redact_within(&self.line, redaction)
    }

    fn redact_within(&self, text: &Secret, redaction: Redaction) -> String {
        let text = text.expose();
        if redaction == Redaction::None {
            return text.to_string();
        }
        let secret = self.secret.expose();
        if secret.is_empty() || !text.contains(secret) {
            return redaction.apply(text);
        }
        text.replace(secret, &redaction.apply(secret))
    }

    /// Whether the provider said the secret works.
    pub fn is_live(&self) -> bool {
        self.verification.as_ref().is_some_and(|verification| verification.status == crate::verify::Status::Live)
    }

    /// The secret as `redaction` allows it to be printed.
    pub fn secret_text(&self, redaction: Redaction) -> String {
        redaction.apply(self.secret.expose())
    }
}

#[cfg(test)]
impl Finding {
    /// A high-confidence finding of `secret` by `rule_id` at line `line` of `origin`, for unit tests.
    pub(crate) fn sample(rule_id: &str, secret: &str, origin: Origin, line: usize) -> Finding {
        let path = origin.display_path();
        Finding {
            rule_id: rule_id.into(),
            description: rule_id.into(),
            fingerprint: Fingerprint::compute(rule_id, &path, secret),
            origin,
            location: Location { line, column: 1, end_line: line, end_column: 1, offset: 0, in_binary: false },
            secret: Secret::new(secret),
            matched: Secret::new(secret),
            line: Secret::new(secret),
            entropy: 4.0,
            confidence: Confidence::High,
            tags: vec![],
            also_matched: vec![],
            context: vec![],
            also_at: vec![],
            provider: None,
            decoded: None,
            verification: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_display_debug_and_json() {
        let secret = Secret::new("sk-0123456789abcdef0123456789abcdef");
        assert_eq!(secret.to_string(), "sk-0*****");
        assert_eq!(format!("{secret:?}"), "Secret(sk-0*****)");
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"sk-0*****\"");
        assert_eq!(secret.expose(), "sk-0123456789abcdef0123456789abcdef");
    }

    #[test]
    fn short_secrets_keep_at_most_a_quarter() {
        assert_eq!(redact("abcdefgh"), "ab*****");
        assert_eq!(redact("abc"), "*****");
    }

    #[test]
    fn fingerprint_ignores_line_and_separator_style() {
        let unix = Fingerprint::compute("rule", "src/a.py", "secret");
        let windows = Fingerprint::compute("rule", "src\\a.py", "secret");
        assert_eq!(unix, windows);
        assert_eq!(unix.as_str().len(), 32);
        assert_ne!(unix, Fingerprint::compute("rule", "src/b.py", "secret"));
        assert_ne!(unix, Fingerprint::compute("other", "src/a.py", "secret"));
    }

    #[test]
    fn match_text_redacts_the_secret_inside_the_match() {
        let finding = Finding {
            rule_id: "r".into(),
            description: "d".into(),
            origin: Origin::Stdin,
            location: Location { line: 1, column: 1, end_line: 1, end_column: 1, offset: 0, in_binary: false },
            secret: Secret::new("abcdefghijklmnop"),
            matched: Secret::new("KEY=\"abcdefghijklmnop\""),
            line: Secret::new("  KEY=\"abcdefghijklmnop\" # x"),
            entropy: 4.0,
            confidence: Confidence::High,
            tags: vec![],
            also_matched: vec![],
            context: vec![],
            also_at: vec![],
            provider: None,
            decoded: None,
            fingerprint: Fingerprint::compute("r", "-", "abcdefghijklmnop"),
            verification: None,
        };
        assert_eq!(finding.match_text(Redaction::Prefix), "KEY=\"abcd*****\"");
        assert_eq!(finding.match_text(Redaction::None), "KEY=\"abcdefghijklmnop\"");
        assert_eq!(finding.line_text(Redaction::Prefix), "  KEY=\"abcd*****\" # x");
        assert_eq!(finding.secret_text(Redaction::Percent(50)), "abcdefgh*****");
        assert_eq!(finding.secret_text(Redaction::Percent(0)), "*****");
        assert_eq!(finding.secret_text(Redaction::Percent(100)), "abcdefghijklmnop");
    }
}
