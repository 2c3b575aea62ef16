//! Loading and validating rule/config files into a [`RuleSet`].
//!
//! Semantics follow gitleaks so that its configs load unchanged:
//! - a file with `[extend] useDefault = true` builds on keyhound's default rules;
//!   `[extend] path = "..."` builds on another file; `disabledRules` drops base rules;
//! - a file with `[[rules]]` and no `[extend]` replaces the default rules;
//! - a file with no rules at all (only allowlists) keeps the default rules;
//! - a rule whose id exists in the base replaces it when it has a `regex`,
//!   otherwise its allowlists, keywords and tags are added to the base rule.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::engine::allow::Allowlist;
use crate::engine::checksum::Checksum;
use crate::finding::Confidence;

use super::regex_compat::{self, can_span_lines};
use super::schema::{ConfigFile, RuleSpec};
use super::{Context, EmbeddedRuleFile, LazyRegex, Rule, RuleSet, EMBEDDED_EXAMPLES, EMBEDDED_RULE_FILES};

/// How deep `[extend] path` chains may go.
const MAX_EXTEND_DEPTH: usize = 4;
/// Estimated regex size (see [`regex_compat::estimated_size`]) above which a
/// rule's regex is compiled when loaded instead of on first use.
const EAGER_COMPILE_SIZE: u64 = 20_000;
/// Largest `window` a rule may ask for.
const MAX_WINDOW: usize = 1 << 20;
/// Window given to rules whose regex can match a line break but that set no
/// `window` (gitleaks rules run on whole files; this keeps them multi-line).
const MULTILINE_WINDOW: usize = 4096;

/// Where a rule or config came from, for error messages and `rules list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleSource {
    /// A default rule file embedded in the binary.
    Embedded(&'static str),
    /// A file on disk.
    File(PathBuf),
}

impl fmt::Display for RuleSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleSource::Embedded(name) => write!(f, "rules/{name} (built in)"),
            RuleSource::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A config or rule file that cannot be used. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not fit the schema.
    #[error("invalid config {source_name}: {message}")]
    Parse {
        /// The file.
        source_name: RuleSource,
        /// What the TOML parser said, with line and column.
        message: String,
    },
    /// A rule is invalid.
    #[error("invalid rule `{rule_id}` in {source_name}: {problem}")]
    Rule {
        /// The file.
        source_name: RuleSource,
        /// The rule's id (or `<missing id>`).
        rule_id: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// An allowlist is invalid.
    #[error("invalid allowlist in {source_name} ({scope}): {problem}")]
    Allowlist {
        /// The file.
        source_name: RuleSource,
        /// Which allowlist: `global` or `rule <id>`.
        scope: String,
        /// What is wrong.
        problem: String,
    },
    /// `[extend] path` chains too deep, probably a cycle.
    #[error("config {path}: [extend] path chain deeper than {MAX_EXTEND_DEPTH} files (a cycle?)")]
    ExtendTooDeep {
        /// The file where the limit was hit.
        path: PathBuf,
    },
    /// A scanned repository's config extends a file outside the repository.
    #[error(
        "config {path}: [extend] path {target} is outside the scanned repository (pass it with --config to allow)"
    )]
    ExtendEscapes {
        /// The config file.
        path: PathBuf,
        /// Where `[extend] path` pointed.
        target: PathBuf,
    },
}

/// Loads keyhound's default rules from the embedded files. Parsing them is
/// most of keyhound's start-up time (a pre-commit hook pays it on every
/// commit), so the files are parsed on two threads, then joined in order.
pub fn load_defaults() -> Result<RuleSet, ConfigError> {
    let load = |file: &EmbeddedRuleFile| -> Result<RuleSet, ConfigError> {
        let source = RuleSource::Embedded(file.name);
        let parsed: ConfigFile = serde_json::from_str(file.json)
            .map_err(|err| ConfigError::Parse { source_name: source.clone(), message: err.to_string() })?;
        compile_file(parsed, &source, Checked::AtBuild { multiline: file.multiline })
    };
    // Split where half of the text is on each side.
    let total: usize = EMBEDDED_RULE_FILES.iter().map(|file| file.json.len()).sum();
    let mut seen = 0;
    let half = EMBEDDED_RULE_FILES
        .iter()
        .position(|file| {
            seen += file.json.len();
            seen * 2 >= total
        })
        .map_or(0, |index| index + 1);
    let (first, second) = EMBEDDED_RULE_FILES.split_at(half);
    let (first, second) = std::thread::scope(|scope| {
        let other = scope.spawn(|| second.iter().map(load).collect::<Vec<_>>());
        let mine: Vec<_> = first.iter().map(load).collect();
        (mine, other.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    });
    let mut set = RuleSet::default();
    for part in first.into_iter().chain(second) {
        let part = part?;
        for rule in &part.rules {
            if let Some(earlier) = set.rules.iter().find(|existing| existing.id == rule.id) {
                return Err(rule_error(&rule.source, &rule.id, format!("the id is also used in {}", earlier.source)));
            }
        }
        set.rules.extend(part.rules);
        set.global_allowlists.extend(part.global_allowlists);
    }
    // Hundreds of rules: no spare capacity kept for the whole scan.
    set.rules.shrink_to_fit();
    check_complete(set)
}

/// Fills in the examples of the rules that come from built-in files, from
/// the examples embedded apart from them. A user's rule that replaces a
/// built-in one has its own source and keeps its own examples.
pub fn attach_builtin_examples(set: &mut RuleSet) -> Result<(), ConfigError> {
    type ByFile = HashMap<String, HashMap<String, [Vec<String>; 2]>>;
    let mut by_file: ByFile = serde_json::from_str(EMBEDDED_EXAMPLES).map_err(|err| ConfigError::Parse {
        source_name: RuleSource::Embedded("examples"),
        message: err.to_string(),
    })?;
    for rule in &mut set.rules {
        let RuleSource::Embedded(file) = rule.source else { continue };
        if let Some([positive, negative]) = by_file.get_mut(file).and_then(|rules| rules.remove(&rule.id)) {
            rule.examples = positive;
            rule.negative_examples = negative;
        }
    }
    Ok(())
}

/// Loads a config file, applying `[extend]` semantics (see module docs).
pub fn load_config(path: &Path) -> Result<RuleSet, ConfigError> {
    load_config_at_depth(path, 0, None)
}

/// Loads a config as [`load_config`] does, but `[extend] path` may not leave `root`
/// (a scanned repository's config must not read files elsewhere on the machine).
pub fn load_config_within(path: &Path, root: &Path) -> Result<RuleSet, ConfigError> {
    load_config_at_depth(path, 0, Some(root))
}

/// Parses a standalone rule file (no `[extend]` processing), e.g. for `rules test`.
pub fn load_rule_file(path: &Path) -> Result<RuleSet, ConfigError> {
    let source = RuleSource::File(path.to_path_buf());
    let text = read(path)?;
    check_complete(compile_file(parse_config(&text, &source)?, &source, Checked::Now)?)
}

/// Parses standalone rule text (no `[extend]` processing); `name` labels errors.
pub fn load_rule_str(text: &str, name: &str) -> Result<RuleSet, ConfigError> {
    let source = RuleSource::File(PathBuf::from(name));
    check_complete(compile_file(parse_config(text, &source)?, &source, Checked::Now)?)
}

/// Rejects rules that have neither a `regex` nor a `path` (only valid as an
/// extension of a same-id base rule, which [`merge`] has consumed by now).
fn check_complete(set: RuleSet) -> Result<RuleSet, ConfigError> {
    for rule in &set.rules {
        if let Some(missing) =
            rule.required.iter().find(|required| !set.rules.iter().any(|other| other.id == required.id))
        {
            return Err(rule_error(
                &rule.source,
                &rule.id,
                format!("`[[rules.required]]` names `{}`, which is not a rule of this config", missing.id),
            ));
        }
    }
    if let Some(rule) = set.rules.iter().find(|rule| rule.regex.is_none() && rule.path.is_none()) {
        return Err(rule_error(
            &rule.source,
            &rule.id,
            "a rule needs a `regex`, a `path`, or both (a rule with only allowlists/keywords must \
             extend a base rule with the same id)"
                .into(),
        ));
    }
    Ok(set)
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })
}

fn load_config_at_depth(path: &Path, depth: usize, root: Option<&Path>) -> Result<RuleSet, ConfigError> {
    if depth >= MAX_EXTEND_DEPTH {
        return Err(ConfigError::ExtendTooDeep { path: path.to_path_buf() });
    }
    let source = RuleSource::File(path.to_path_buf());
    let text = read(path)?;
    let mut file = parse_config(&text, &source)?;
    let extend = file.extend.take();
    let has_rules = !file.rules.is_empty();
    let own = compile_file(file, &source, Checked::Now)?;

    let mut base = match &extend {
        Some(extend) if extend.path.is_some() => {
            let relative = extend.path.as_deref().unwrap_or_default();
            let base_path = path.parent().unwrap_or(Path::new(".")).join(relative);
            if let Some(root) = root {
                let inside = base_path.canonicalize().is_ok_and(|target| target.starts_with(root));
                if !inside {
                    return Err(ConfigError::ExtendEscapes { path: path.to_path_buf(), target: base_path });
                }
            }
            load_config_at_depth(&base_path, depth + 1, root)?
        }
        Some(extend) if extend.use_default => load_defaults()?,
        Some(_) => RuleSet::default(),
        None if has_rules => RuleSet::default(),
        None => load_defaults()?,
    };
    if let Some(extend) = &extend {
        base.rules.retain(|rule| !extend.disabled_rules.contains(&rule.id));
    }
    merge(&mut base, own);
    check_complete(base)
}

/// Adds `own` to `base`: same-id rules replace or extend base rules.
fn merge(base: &mut RuleSet, own: RuleSet) {
    for rule in own.rules {
        match base.rules.iter_mut().find(|existing| existing.id == rule.id) {
            Some(existing) if rule.regex.is_none() && rule.path.is_none() => {
                existing.allowlists.extend(rule.allowlists);
                existing.keywords.extend(rule.keywords);
                existing.tags.extend(rule.tags);
                existing.required.extend(rule.required);
                existing.skip_report |= rule.skip_report;
            }
            Some(existing) => *existing = rule,
            None => base.rules.push(rule),
        }
    }
    base.global_allowlists.extend(own.global_allowlists);
}

fn parse_config(text: &str, source: &RuleSource) -> Result<ConfigFile, ConfigError> {
    toml::from_str(text).map_err(|err| ConfigError::Parse { source_name: source.clone(), message: err.to_string() })
}

/// Loads the text of a rule file as a user's file is loaded (every regex
/// parsed), without resolving `[extend]` or `required` rules; the error says
/// what is wrong. `keyhound rules import` checks each rule it writes with it.
pub fn check_rule_text(text: &str) -> Result<(), String> {
    let source = RuleSource::File(PathBuf::from("<imported>"));
    let file = parse_config(text, &source).map_err(|err| err.to_string())?;
    let set = compile_file(file, &source, Checked::Now).map_err(|err| err.to_string())?;
    for rule in &set.rules {
        if let Some(Err(problem)) = rule.regex.as_ref().map(LazyRegex::get) {
            return Err(format!("its regex does not compile: {problem}"));
        }
    }
    Ok(())
}

/// Whether a file's regexes still need checking.
#[derive(Clone, Copy)]
enum Checked {
    /// A file on disk: every regex is parsed now, and errors name it.
    Now,
    /// A built-in file, checked by `build.rs`, which also listed the rules
    /// whose regex can span lines.
    AtBuild { multiline: &'static [&'static str] },
}

fn compile_file(file: ConfigFile, source: &RuleSource, checked: Checked) -> Result<RuleSet, ConfigError> {
    let mut set = RuleSet::default();
    let validate = matches!(checked, Checked::Now);
    for spec in file.allowlist.into_iter().chain(file.allowlists) {
        let mut allowlist = Allowlist::compile_checked(spec, validate).map_err(|problem| ConfigError::Allowlist {
            source_name: source.clone(),
            scope: "global".into(),
            problem,
        })?;
        allowlist.from_config_file = matches!(source, RuleSource::File(_));
        set.global_allowlists.push(allowlist);
    }
    for spec in file.rules {
        if set.rules.iter().any(|rule: &Rule| rule.id == spec.id) {
            return Err(rule_error(source, &spec.id, "the id is used twice in this file".into()));
        }
        set.rules.push(compile_rule(spec, source, checked)?);
    }
    Ok(set)
}

fn rule_error(source: &RuleSource, id: &str, problem: String) -> ConfigError {
    let rule_id = if id.is_empty() { "<missing id>".to_string() } else { id.to_string() };
    ConfigError::Rule { source_name: source.clone(), rule_id, problem }
}

/// Checks a `[rules.provider]` table: a name, and https URLs.
fn compile_provider(spec: super::schema::ProviderSpec) -> Result<super::Provider, String> {
    let name = spec.name.trim();
    if name.is_empty() {
        return Err("`provider.name` must not be empty".into());
    }
    for (field, url) in [("console", &spec.console), ("docs", &spec.docs)] {
        if let Some(url) = url {
            if !url.starts_with("https://") || url.len() <= "https://".len() || url.contains(char::is_whitespace) {
                return Err(format!("`provider.{field}` must be an https:// URL, not `{url}`"));
            }
        }
    }
    Ok(super::Provider { name: name.to_string(), console: spec.console, docs: spec.docs })
}

fn compile_rule(spec: RuleSpec, source: &RuleSource, checked: Checked) -> Result<Rule, ConfigError> {
    let id = spec.id.clone();
    let fail = |problem: String| rule_error(source, &id, problem);

    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)) {
        return Err(fail("`id` must be non-empty and use only letters, digits, `-`, `_`, `.`, `:`".into()));
    }
    let mut multiline = false;
    let regex = match (&spec.regex, checked) {
        (Some(pattern), Checked::AtBuild { multiline: spanning }) => {
            multiline = spanning.contains(&id.as_str());
            Some(LazyRegex::new(pattern.clone()))
        }
        (Some(pattern), Checked::Now) => {
            let hir = regex_compat::parse(pattern).map_err(|err| fail(format!("`regex` does not parse: {err}")))?;
            let groups = hir.properties().explicit_captures_len();
            multiline = can_span_lines(&hir);
            if let Some(group) = spec.secret_group {
                if group > groups {
                    return Err(fail(format!(
                        "`secretGroup = {group}` but the regex has only {groups} capture group(s)"
                    )));
                }
            }
            let lazy = LazyRegex::new(pattern.clone());
            if regex_compat::estimated_size(&hir) > EAGER_COMPILE_SIZE {
                // Large enough to hit the compile limits: fail now, naming the rule,
                // rather than warn mid-scan and silently not run it.
                lazy.get().map_err(|err| fail(format!("`regex` does not compile: {err}")))?;
            }
            Some(lazy)
        }
        (None, _) => None,
    };
    let path = match (&spec.path, checked) {
        (Some(pattern), Checked::AtBuild { .. }) => Some(LazyRegex::new(pattern.clone())),
        (Some(pattern), Checked::Now) => {
            Some(LazyRegex::validated(pattern).map_err(|err| fail(format!("`path` is not a valid regex: {err}")))?)
        }
        (None, _) => None,
    };
    if let Some(entropy) = spec.entropy {
        if !(0.0..=8.0).contains(&entropy) {
            return Err(fail(format!("`entropy = {entropy}` must be between 0 and 8 (bits per byte)")));
        }
    }
    if spec.keywords.iter().any(|keyword| keyword.is_empty()) {
        return Err(fail("`keywords` must not contain an empty string".into()));
    }
    let checksum = match &spec.checksum {
        Some(name) => Some(name.parse::<Checksum>().map_err(fail)?),
        None => None,
    };
    if let Some(window) = spec.window {
        if window == 0 || window > MAX_WINDOW {
            return Err(fail(format!("`window = {window}` must be between 1 and {MAX_WINDOW} bytes")));
        }
    }
    let context = match spec.context {
        Some(context) if context.keywords.is_empty() || context.keywords.iter().any(String::is_empty) => {
            return Err(fail("`context.keywords` must list at least one non-empty literal".into()));
        }
        Some(context) => Some(Context { keywords: context.keywords, confidence: context.confidence }),
        None => None,
    };
    let mut allowlists = Vec::new();
    for allowlist in spec.allowlist.into_iter().chain(spec.allowlists) {
        let mut allowlist =
            Allowlist::compile_checked(allowlist, matches!(checked, Checked::Now)).map_err(|problem| {
                ConfigError::Allowlist { source_name: source.clone(), scope: format!("rule {id}"), problem }
            })?;
        allowlist.from_config_file = matches!(source, RuleSource::File(_));
        allowlists.push(allowlist);
    }

    if let Some(required) = spec.required.iter().find(|required| required.id == id) {
        return Err(fail(format!("`required` names the rule itself (`{}`)", required.id)));
    }
    let verify = match spec.verify {
        Some(verify) => Some(crate::verify::spec::Verifier::compile(verify).map_err(fail)?),
        None => None,
    };
    let rotate = match spec.rotate {
        Some(rotate) => Some(crate::rotate::action::Rotation {
            action: crate::rotate::action::ActionKind::parse(&rotate.action).map_err(fail)?,
            console: rotate.console,
        }),
        None => None,
    };
    let provider = match spec.provider {
        Some(provider) => Some(compile_provider(provider).map_err(fail)?),
        None => None,
    };
    // Only distinctive formats: a generic pattern without its end boundary would
    // cut random text into "secrets".
    let binary_regex = match (&regex, spec.confidence) {
        (Some(regex), Some(Confidence::High)) => {
            super::without_trailing_boundary(regex.pattern()).map(|pattern| LazyRegex::new(pattern.to_string()))
        }
        _ => None,
    };
    Ok(Rule {
        verify: verify.map(Box::new),
        rotate,
        provider,
        binary_regex,
        description: spec.description.unwrap_or_else(|| id.clone()),
        id,
        regex,
        secret_group: spec.secret_group.filter(|group| *group > 0),
        entropy: spec.entropy.filter(|entropy| *entropy > 0.0),
        keywords: spec.keywords,
        path,
        tags: spec.tags,
        allowlists,
        confidence: spec.confidence.unwrap_or(Confidence::Medium),
        context,
        checksum,
        window: spec.window.or(multiline.then_some(MULTILINE_WINDOW)),
        fallback: spec.fallback,
        skip_report: spec.skip_report,
        required: spec.required,
        examples: spec.examples,
        negative_examples: spec.negative_examples,
        source: source.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RuleSet, ConfigError> {
        let source = RuleSource::File(PathBuf::from("test.toml"));
        check_complete(compile_file(parse_config(text, &source)?, &source, Checked::Now)?)
    }

    fn parse_partial(text: &str) -> RuleSet {
        let source = RuleSource::File(PathBuf::from("test.toml"));
        compile_file(parse_config(text, &source).unwrap(), &source, Checked::Now).unwrap()
    }

    fn error_text(text: &str) -> String {
        parse(text).expect_err("config must be rejected").to_string()
    }

    #[test]
    fn defaults_load_and_have_unique_ids() {
        let set = load_defaults().expect("embedded rules are valid");
        assert!(set.len() >= 15, "expected a real default rule set, got {}", set.len());
        let mut ids: Vec<_> = set.rules.iter().map(|rule| rule.id.as_str()).collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(before, ids.len(), "duplicate rule ids across rules/*.toml");
    }

    #[test]
    fn every_default_rule_has_keywords_and_examples() {
        let mut rules = load_defaults().unwrap();
        assert!(rules.rules.iter().all(|rule| rule.examples.is_empty()), "a scan's rules carry no examples");
        attach_builtin_examples(&mut rules).unwrap();
        for rule in rules.rules {
            assert!(!rule.keywords.is_empty(), "{} has no keywords (a performance bug)", rule.id);
            assert!(rule.examples.len() >= 2, "{} needs at least two examples", rule.id);
            assert!(rule.negative_examples.len() >= 2, "{} needs at least two negative examples", rule.id);
        }
    }

    #[test]
    fn every_default_regex_compiles() {
        for rule in load_defaults().unwrap().rules {
            if let Some(regex) = &rule.regex {
                regex.get().unwrap_or_else(|err| panic!("{}: {err}", rule.id));
            }
        }
    }

    #[test]
    fn errors_name_the_rule_and_the_problem() {
        let err = error_text("[[rules]]\nid = \"bad\"\nregex = \"(unclosed\"\nkeywords = [\"x\"]\n");
        assert!(err.contains("`bad`") && err.contains("test.toml") && err.contains("does not parse"), "{err}");

        let err = error_text("[[rules]]\nid = \"grp\"\nregex = \"a(b)\"\nsecretGroup = 2\n");
        assert!(err.contains("secretGroup = 2") && err.contains("1 capture group"), "{err}");

        let err = error_text("[[rules]]\nid = \"e\"\nregex = \"a\"\nentropy = 9.5\n");
        assert!(err.contains("between 0 and 8"), "{err}");

        let err = error_text("[[rules]]\nid = \"c\"\nregex = \"a\"\nchecksum = \"luhn\"\n");
        assert!(err.contains("unknown checksum `luhn`"), "{err}");

        let err = error_text("[[rules]]\nid = \"n\"\n");
        assert!(err.contains("needs a `regex`"), "{err}");
    }

    #[test]
    fn unknown_fields_and_bad_toml_are_errors_with_position() {
        let err = error_text("[[rules]]\nid = \"x\"\nregexx = \"a\"\n");
        assert!(err.contains("unknown field `regexx`"), "{err}");
        let err = error_text("[[rules]\n");
        assert!(err.contains("test.toml") && err.contains("line 1"), "{err}");
    }

    #[test]
    fn bad_allowlist_regex_is_named() {
        let err = error_text("[allowlist]\nregexes = [\"(\"]\n");
        assert!(err.contains("global") && err.contains("regexes"), "{err}");
    }

    #[test]
    fn merge_extends_or_replaces_same_id_rules() {
        let mut base = parse("[[rules]]\nid = \"r\"\nregex = \"a\"\nkeywords = [\"a\"]\n").unwrap();
        let extension = "[[rules]]\nid = \"r\"\nkeywords = [\"b\"]\n[[rules.allowlists]]\nstopwords = [\"zz\"]\n";
        assert!(parse(extension).is_err(), "a standalone rule without regex/path is rejected");
        merge(&mut base, parse_partial(extension));
        assert_eq!(base.rules[0].keywords, ["a", "b"]);
        assert_eq!(base.rules[0].allowlists.len(), 1);
        assert_eq!(base.rules[0].regex.as_ref().unwrap().pattern(), "a");

        let own = parse("[[rules]]\nid = \"r\"\nregex = \"c\"\nkeywords = [\"c\"]\n").unwrap();
        merge(&mut base, own);
        assert_eq!(base.rules.len(), 1);
        assert_eq!(base.rules[0].regex.as_ref().unwrap().pattern(), "c");
    }
}
