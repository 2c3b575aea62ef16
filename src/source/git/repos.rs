//! Many repositories at once: the `--repos LIST` file (local paths or clone
//! URLs), stable sharding (`--shard I/N`) so that N workers split a list with
//! no coordination, and local mirrors of remote repositories (cloned once,
//! fetched on later runs) with the `git` command, which brings the user's own
//! credentials and protocols.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// One repository of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoEntry {
    /// The line as written: the repository's id in the datastore.
    pub id: String,
    /// Whether it is a URL to mirror (else a local path).
    pub remote: bool,
}

/// `--shard I/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This worker's index, from 0.
    pub index: u64,
    /// Workers in all.
    pub count: u64,
}

impl Shard {
    /// Parses `I/N` (0 <= I < N).
    pub fn parse(text: &str) -> Result<Shard, String> {
        let (index, count) = text.split_once('/').ok_or_else(|| format!("`{text}`: expected I/N, e.g. 0/4"))?;
        let index: u64 = index.trim().parse().map_err(|_| format!("`{text}`: I is not a number"))?;
        let count: u64 = count.trim().parse().map_err(|_| format!("`{text}`: N is not a number"))?;
        if count == 0 || index >= count {
            return Err(format!("`{text}`: needs 0 <= I < N"));
        }
        Ok(Shard { index, count })
    }

    /// Whether this shard owns the repository `id` (a stable hash of the id).
    pub fn owns(&self, id: &str) -> bool {
        let digest = Sha256::digest(id.as_bytes());
        let value = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
        value % self.count == self.index
    }
}

/// Reads a list: one path or URL per line; blank lines and `#` comments are skipped.
pub fn read_list(path: &Path) -> Result<Vec<RepoEntry>, String> {
    let text = std::fs::read_to_string(path).map_err(|err| format!("cannot read --repos {}: {err}", path.display()))?;
    let mut entries: Vec<RepoEntry> = Vec::new();
    for line in text.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#')) {
        if entries.iter().any(|entry| entry.id == line) {
            continue;
        }
        let remote = line.contains("://") || (line.contains('@') && line.contains(':'));
        entries.push(RepoEntry { id: line.to_string(), remote });
    }
    Ok(entries)
}

/// Where a repository of the list is on disk: local paths as they are (relative
/// to the list's directory), remote ones mirrored under `cache` (cloned the
/// first time, fetched after).
pub fn local_copy(entry: &RepoEntry, list_dir: &Path, cache: &Path) -> Result<PathBuf, String> {
    if !entry.remote {
        let path = Path::new(&entry.id);
        return Ok(if path.is_absolute() { path.to_path_buf() } else { list_dir.join(path) });
    }
    let name: String = entry
        .id
        .rsplit(['/', ':'])
        .find(|part| !part.is_empty())
        .unwrap_or("repo")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' })
        .collect();
    let digest: String = Sha256::digest(entry.id.as_bytes()).iter().take(6).map(|b| format!("{b:02x}")).collect();
    let mirror = cache.join(format!("{name}-{digest}"));
    let output = if mirror.join("HEAD").exists() {
        Command::new("git").arg("-C").arg(&mirror).args(["fetch", "--prune", "--quiet", "origin"]).output()
    } else {
        std::fs::create_dir_all(cache).map_err(|err| format!("creating {}: {err}", cache.display()))?;
        Command::new("git").args(["clone", "--mirror", "--quiet", &entry.id]).arg(&mirror).output()
    }
    .map_err(|err| format!("cannot run git: {err}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!("git could not fetch {}: {}", entry.id, stderr.trim()));
    }
    Ok(mirror)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_a_list_exactly_once_and_stably() {
        let ids: Vec<String> = (0..200).map(|index| format!("https://git.example.com/team/repo-{index}.git")).collect();
        let shards: Vec<Shard> = (0..4).map(|index| Shard { index, count: 4 }).collect();
        for id in &ids {
            assert_eq!(shards.iter().filter(|shard| shard.owns(id)).count(), 1, "{id}");
        }
        let owned: Vec<usize> = shards.iter().map(|shard| ids.iter().filter(|id| shard.owns(id)).count()).collect();
        assert!(owned.iter().all(|&count| count > 25), "roughly even: {owned:?}");
        assert_eq!(Shard::parse("1/4"), Ok(Shard { index: 1, count: 4 }));
        assert!(Shard::parse("4/4").is_err() && Shard::parse("1").is_err() && Shard::parse("0/0").is_err());
    }

    #[test]
    fn lists_skip_comments_blanks_and_repeats_and_tell_urls_from_paths() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("repos.txt");
        std::fs::write(
            &list,
            "# team A\nservices/api\n\nhttps://git.example.com/a.git\nservices/api\ngit@github.com:o/r.git\n",
        )
        .unwrap();
        let entries = read_list(&list).unwrap();
        let summary: Vec<(&str, bool)> = entries.iter().map(|entry| (entry.id.as_str(), entry.remote)).collect();
        assert_eq!(
            summary,
            [("services/api", false), ("https://git.example.com/a.git", true), ("git@github.com:o/r.git", true)]
        );
    }
}
