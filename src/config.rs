//! Which rules a scan uses: `--config FILE`, else a `.keyhound.toml` or
//! `.gitleaks.toml` discovered in the scanned directory (which may only add
//! rules and allowlists), else the defaults.

use std::path::{Path, PathBuf};

use crate::rules::load::load_config;
use crate::rules::repo_config::load_repo_config;
use crate::rules::{ConfigError, RuleSet};

/// Config file names looked for, in order, in the scanned directory.
pub const DISCOVERED_CONFIG_NAMES: [&str; 2] = [".keyhound.toml", ".gitleaks.toml"];

/// Where the rules in effect came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigOrigin {
    /// Only the built-in rules.
    Defaults,
    /// A file given with `--config`.
    Explicit(PathBuf),
    /// A file found in the scanned directory (narrowing only, see
    /// [`crate::rules::repo_config`]), and what it tried that was refused.
    Discovered(PathBuf, Vec<String>),
    /// A file found in the scanned directory that cannot be loaded (the
    /// problem, with its line where known): the built-in rules are used, and
    /// the run fails closed (exit 3 when nothing is found).
    Unusable(PathBuf, String),
}

/// How to choose the config.
#[derive(Debug, Clone, Copy)]
pub enum ConfigChoice<'a> {
    /// `--config FILE`.
    Explicit(&'a Path),
    /// Look in the first scanned directory.
    Discover,
    /// `--no-config`.
    DefaultsOnly,
}

/// Loads the rules for a scan of `roots`.
pub fn resolve_rules(choice: ConfigChoice<'_>, roots: &[PathBuf]) -> Result<(RuleSet, ConfigOrigin), ConfigError> {
    match choice {
        ConfigChoice::Explicit(path) => Ok((load_config(path)?, ConfigOrigin::Explicit(path.to_path_buf()))),
        ConfigChoice::DefaultsOnly => Ok((RuleSet::defaults()?, ConfigOrigin::Defaults)),
        ConfigChoice::Discover => match discover(roots) {
            Some(path) => {
                let root = repository_root(&path);
                match load_repo_config(&path, &root) {
                    Ok((rules, refused)) => Ok((rules, ConfigOrigin::Discovered(path, refused))),
                    // Whoever can commit to a repository must not be able to make
                    // every later scan of it silent with a broken config.
                    Err(err) => {
                        let problem = locate_problem(&path, &err);
                        Ok((RuleSet::defaults()?, ConfigOrigin::Unusable(path, problem)))
                    }
                }
            }
            None => Ok((RuleSet::defaults()?, ConfigOrigin::Defaults)),
        },
    }
}

/// `FILE:LINE: what is wrong` for a config that failed to load: the TOML
/// parser's line, or the line that declares the broken rule.
pub fn locate_problem(path: &Path, err: &ConfigError) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let message = err.to_string();
    let line = match err {
        ConfigError::Parse { message, .. } => message
            .split("line ")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|digits| digits.parse::<usize>().ok()),
        ConfigError::Rule { rule_id, .. } => text
            .lines()
            .position(|line| {
                let line = line.trim();
                line.starts_with("id")
                    && (line.contains(&format!("\"{rule_id}\"")) || line.contains(&format!("'{rule_id}'")))
            })
            .map(|index| index + 1),
        _ => None,
    };
    // The TOML parser's message spans several lines (a source excerpt): keep its words.
    let words: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('|') && !line.contains(" | ") && !line.starts_with('^'))
        .collect();
    let problem = words.join(": ");
    match line {
        Some(line) => format!("{}:{line}: {problem}", path.display()),
        None => format!("{}: {problem}", path.display()),
    }
}

/// The directory a discovered config may draw on: the enclosing git work tree
/// (the nearest ancestor with `.git`), else the config's own directory.
fn repository_root(config: &Path) -> PathBuf {
    let dir = config.parent().unwrap_or(Path::new("."));
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    dir.ancestors().find(|ancestor| ancestor.join(".git").exists()).unwrap_or(&dir).to_path_buf()
}

/// The config file for a scan: looked for in the directory of the first
/// scanned path, then in its parents up to the enclosing git repository's root
/// (so `keyhound scan src/app.py` from a hook finds the repository's config).
pub fn discover(roots: &[PathBuf]) -> Option<PathBuf> {
    let in_dir = |dir: &Path| DISCOVERED_CONFIG_NAMES.iter().map(|name| dir.join(name)).find(|path| path.is_file());
    let root = roots.iter().find(|root| root.as_os_str() != "-")?;
    {
        let start = if root.is_dir() { root.clone() } else { root.parent().map(Path::to_path_buf).unwrap_or_default() };
        let start = if start.as_os_str().is_empty() { PathBuf::from(".") } else { start };
        let start = start.canonicalize().unwrap_or(start);
        for dir in start.ancestors() {
            if let Some(found) = in_dir(dir) {
                return Some(found);
            }
            if dir.join(".git").exists() {
                break;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovers_keyhound_before_gitleaks_config() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(discover(&[dir.path().to_path_buf()]), None);
        std::fs::write(dir.path().join(".gitleaks.toml"), "").unwrap();
        let root = dir.path().canonicalize().unwrap();
        assert_eq!(discover(&[dir.path().to_path_buf()]), Some(root.join(".gitleaks.toml")));
        std::fs::write(dir.path().join(".keyhound.toml"), "").unwrap();
        let root = dir.path().canonicalize().unwrap();
        assert_eq!(discover(&[dir.path().join("file.txt")]), Some(root.join(".keyhound.toml")));
        std::fs::create_dir_all(dir.path().join("src/deep")).unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        assert_eq!(discover(&[dir.path().join("src/deep/a.py")]), Some(root.join(".keyhound.toml")));
    }
}
