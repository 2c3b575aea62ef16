//! Ignore files, decided by keyhound so that nothing they exclude goes
//! unaccounted: `.keyhoundignore`, `.ignore`, `.gitignore`,
//! `.git/info/exclude` and git's global excludes (gitignore syntax, parsed by
//! the `ignore` crate's matcher), with the `ignore` crate's precedence: the
//! kind of file first (in that order), then the deepest directory. Every
//! excluded file or directory is remembered with the file and pattern that
//! excluded it, for the stats, `--verbose` and the note on stderr.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::Match;

/// The per-directory ignore files, strongest first.
const KINDS: [&str; 3] = [super::fs::IGNORE_FILE_NAME, ".ignore", ".gitignore"];

/// One excluded entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excluded {
    /// The path as walked.
    pub path: String,
    /// Whether it is a directory (nothing under it was looked at).
    pub is_dir: bool,
    /// The ignore file that excluded it.
    pub file: String,
    /// The pattern, as written there.
    pub pattern: String,
}

/// The ignore rules of one walk, loaded directory by directory as it goes.
#[derive(Debug)]
pub struct IgnoreRules {
    /// Scan roots (as given) and their absolute forms and top directories.
    roots: Vec<(PathBuf, PathBuf, PathBuf)>,
    /// Matchers by absolute directory: one per kind (`None` when the file is absent).
    dirs: Mutex<HashMap<PathBuf, Arc<[Option<Gitignore>; 4]>>>,
    global: Option<Gitignore>,
    excluded: Mutex<Vec<Excluded>>,
}

impl IgnoreRules {
    /// Rules for a walk of `roots`. Ignore files above a root are read up to
    /// the root of the git repository holding it (none above, outside git).
    pub fn new(roots: &[PathBuf]) -> IgnoreRules {
        let roots = roots
            .iter()
            .map(|root| {
                let absolute = std::path::absolute(root).unwrap_or_else(|_| root.clone());
                let start = if absolute.is_dir() { absolute.clone() } else { parent_of(&absolute) };
                let top = start.ancestors().find(|dir| dir.join(".git").exists()).unwrap_or(&start).to_path_buf();
                (root.clone(), absolute, top)
            })
            .collect();
        let (global, _) = Gitignore::global();
        IgnoreRules {
            roots,
            dirs: Mutex::default(),
            global: (!global.is_empty()).then_some(global),
            excluded: Mutex::default(),
        }
    }

    /// Whether the walk should enter or scan `path` (depth > 0); an excluded
    /// one is remembered.
    pub fn keep(&self, path: &Path, is_dir: bool) -> bool {
        let Some((root, absolute_root, top)) = self.roots.iter().find(|(root, ..)| path.starts_with(root)) else {
            return true;
        };
        let absolute = match path.strip_prefix(root) {
            Ok(rest) if !rest.as_os_str().is_empty() => absolute_root.join(rest),
            _ => return true,
        };
        let Some((file, pattern)) = self.decide(&absolute, is_dir, top) else { return true };
        let excluded = Excluded { path: crate::finding::normalize_path(path), is_dir, file, pattern };
        self.excluded.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(excluded);
        false
    }

    /// Everything excluded so far.
    pub fn excluded(&self) -> Vec<Excluded> {
        std::mem::take(&mut *self.excluded.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    fn decide(&self, path: &Path, is_dir: bool, top: &Path) -> Option<(String, String)> {
        let parent = parent_of(path);
        let matchers: Vec<Arc<[Option<Gitignore>; 4]>> =
            parent.ancestors().take_while(|dir| dir.starts_with(top)).map(|dir| self.matchers(dir)).collect();
        for kind in 0..4 {
            for matcher in matchers.iter().filter_map(|set| set[kind].as_ref()) {
                match matcher.matched(path, is_dir) {
                    Match::Ignore(glob) => return Some(describe(glob)),
                    Match::Whitelist(_) => return None,
                    Match::None => {}
                }
            }
        }
        let relative = path.strip_prefix(top).unwrap_or(path);
        match self.global.as_ref()?.matched(relative, is_dir) {
            Match::Ignore(glob) => Some(describe(glob)),
            _ => None,
        }
    }

    fn matchers(&self, dir: &Path) -> Arc<[Option<Gitignore>; 4]> {
        if let Some(found) = self.dirs.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(dir) {
            return found.clone();
        }
        let load = |file: PathBuf| -> Option<Gitignore> {
            if !file.is_file() {
                return None;
            }
            let mut builder = GitignoreBuilder::new(dir);
            // A line that does not parse is left out, as git does; the rest apply.
            let _ = builder.add(&file);
            builder.build().ok().filter(|matcher| !matcher.is_empty())
        };
        let [first, second, third] = KINDS.map(|name| load(dir.join(name)));
        let set = Arc::new([first, second, third, load(dir.join(".git/info/exclude"))]);
        self.dirs.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(dir.to_path_buf(), set.clone());
        set
    }
}

fn parent_of(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

fn describe(glob: &ignore::gitignore::Glob) -> (String, String) {
    let file = glob.from().map(|file| file.display().to_string()).unwrap_or_else(|| "global git excludes".into());
    (file, glob.original().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strongest_kind_wins_then_the_deepest_directory_and_each_exclusion_is_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join(".gitignore"), "*.log\nkeep.env\n").unwrap();
        std::fs::write(root.join(".keyhoundignore"), "!keep.env\nvendor/\n").unwrap();
        std::fs::write(root.join("sub/.gitignore"), "!debug.log\n").unwrap();
        let rules = IgnoreRules::new(std::slice::from_ref(&root));
        assert!(!rules.keep(&root.join("a.log"), false));
        assert!(rules.keep(&root.join("sub/debug.log"), false), "a deeper negation re-includes");
        assert!(rules.keep(&root.join("keep.env"), false), ".keyhoundignore outranks .gitignore");
        assert!(!rules.keep(&root.join("vendor"), true));
        assert!(rules.keep(&root.join("src.py"), false));
        let excluded = rules.excluded();
        assert_eq!(excluded.len(), 2);
        assert!(
            excluded[1].is_dir && excluded[1].file.ends_with(".keyhoundignore") && excluded[1].pattern == "vendor/"
        );
    }
}
