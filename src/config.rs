//! Which rules a scan uses: `--config FILE`, else a `.keyhound.toml` or
//! `.gitleaks.toml` discovered in the scanned directory, else the defaults.

use std::path::{Path, PathBuf};

use crate::rules::load::load_config;
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
    /// A file found in the scanned directory.
    Discovered(PathBuf),
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
            Some(path) => Ok((load_config(&path)?, ConfigOrigin::Discovered(path))),
            None => Ok((RuleSet::defaults()?, ConfigOrigin::Defaults)),
        },
    }
}

/// The config file in the directory of the first scanned path, if any.
pub fn discover(roots: &[PathBuf]) -> Option<PathBuf> {
    let root = roots.iter().find(|root| root.as_os_str() != "-")?;
    let dir = if root.is_dir() { root.as_path() } else { root.parent().unwrap_or(Path::new(".")) };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    DISCOVERED_CONFIG_NAMES.iter().map(|name| dir.join(name)).find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovers_keyhound_before_gitleaks_config() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(discover(&[dir.path().to_path_buf()]), None);
        std::fs::write(dir.path().join(".gitleaks.toml"), "").unwrap();
        assert_eq!(discover(&[dir.path().to_path_buf()]), Some(dir.path().join(".gitleaks.toml")));
        std::fs::write(dir.path().join(".keyhound.toml"), "").unwrap();
        assert_eq!(discover(&[dir.path().join("file.txt")]), Some(dir.path().join(".keyhound.toml")));
    }
}
