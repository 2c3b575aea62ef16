//! Embeds every `rules/*.toml` file into the binary, so the default rule set
//! ships with keyhound and a new rule is just a new file.
//!
//! The files are checked here, once, instead of on every run: each is parsed
//! as TOML and stored as JSON (which loads several times faster), and every
//! regex in it (rule patterns, paths, allowlists) is parsed, so a broken
//! built-in rule fails the build naming its file and id. What the loader
//! would learn from parsing a rule's regex (whether it can span lines) is
//! stored next to the file.

#[allow(dead_code)]
#[path = "src/rules/regex_compat.rs"]
mod regex_compat;

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use toml::Value;

fn main() {
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let rules_dir = Path::new(&manifest_dir).join("rules");
    println!("cargo:rerun-if-changed={}", rules_dir.display());
    println!("cargo:rerun-if-changed=src/rules/regex_compat.rs");

    let mut files: Vec<_> = fs::read_dir(&rules_dir)
        .expect("rules/ directory must exist next to Cargo.toml")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();

    let out_dir = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("rules");
    fs::create_dir_all(&out_dir).expect("OUT_DIR is writable");
    let mut code = String::new();
    code.push_str("/// A default rule file, checked and converted at build time.\n");
    code.push_str("pub struct EmbeddedRuleFile {\n");
    code.push_str("    /// File name under `rules/`.\n    pub name: &'static str,\n");
    code.push_str("    /// The file's content as JSON, without the rules' examples.\n    pub json: &'static str,\n");

    code.push_str("    /// Ids of the file's rules whose regex can match across a line break.\n");
    code.push_str("    pub multiline: &'static [&'static str],\n}\n\n");
    code.push_str("/// Default rule files embedded at build time.\n");
    code.push_str("pub static EMBEDDED_RULE_FILES: &[EmbeddedRuleFile] = &[\n");
    let mut all_examples = toml::map::Map::new();
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path.file_name().expect("read_dir yields named entries").to_string_lossy().into_owned();
        let text = fs::read_to_string(path).unwrap_or_else(|err| panic!("rules/{name}: {err}"));
        let value: Value = toml::from_str(&text).unwrap_or_else(|err| panic!("rules/{name} is not valid TOML: {err}"));
        let multiline = check_file(&name, &value);
        let mut value = value;
        let examples = take_examples(&mut value);
        let json_path = out_dir.join(format!("{name}.json"));
        let json = serde_json::to_string(&value).expect("TOML values are JSON values");
        fs::write(&json_path, json).expect("OUT_DIR is writable");
        all_examples.insert(name.clone(), Value::Table(examples));
        writeln!(
            code,
            "    EmbeddedRuleFile {{ name: {name:?}, json: include_str!({:?}), multiline: &{multiline:?} }},",
            json_path.display().to_string()
        )
        .expect("writing to a String cannot fail");
    }
    code.push_str("];\n\n");
    // All examples in one piece, apart from the rules: a scan never touches its pages.
    let examples_path = out_dir.join("examples.json");
    let examples = serde_json::to_string(&all_examples).expect("TOML values are JSON values");
    fs::write(&examples_path, examples).expect("OUT_DIR is writable");
    code.push_str("/// The built-in rules' `examples` and `negative_examples`, by file name and\n");
    code.push_str("/// rule id: `{\"file.toml\": {\"id\": [[examples], [negative examples]]}}`.\n");
    writeln!(code, "pub static EMBEDDED_EXAMPLES: &str = include_str!({:?});", examples_path.display().to_string())
        .expect("writing to a String cannot fail");
    fs::write(out_dir.join("../embedded_rules.rs"), code).expect("OUT_DIR is writable");
}

/// Removes the rules' `examples` and `negative_examples` from a rule file and
/// returns them by rule id (`{"id": [[examples], [negative examples]]}`). A
/// scan never reads them: embedded apart, their pages of the binary are not
/// touched and their strings not allocated on every run.
fn take_examples(file: &mut Value) -> toml::map::Map<String, Value> {
    let mut examples = toml::map::Map::new();
    let Some(rules) = file.get_mut("rules").and_then(Value::as_array_mut) else { return examples };
    for rule in rules {
        let Some(table) = rule.as_table_mut() else { continue };
        let id = table.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
        let mut take = |field: &str| table.remove(field).unwrap_or_else(|| Value::Array(Vec::new()));
        let lists = Value::Array(vec![take("examples"), take("negative_examples")]);
        examples.insert(id, lists);
    }
    examples
}

/// Parses every regex of a rule file (panicking with the file, rule and
/// field of a broken one) and returns the ids of rules that can span lines.
fn check_file(name: &str, file: &Value) -> Vec<String> {
    let mut multiline = Vec::new();
    for allowlist in allowlists(file) {
        check_allowlist(name, "global allowlist", allowlist);
    }
    let rules = file.get("rules").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    for rule in rules {
        let id = rule.get("id").and_then(Value::as_str).unwrap_or("<missing id>");
        let fail =
            |field: &str, err: String| -> ! { panic!("rules/{name}: rule `{id}`: `{field}` does not parse: {err}") };
        if let Some(pattern) = rule.get("regex").and_then(Value::as_str) {
            let hir = regex_compat::parse(pattern).unwrap_or_else(|err| fail("regex", err));
            if let Some(group) = rule.get("secretGroup").and_then(Value::as_integer) {
                let groups = hir.properties().explicit_captures_len();
                assert!(
                    usize::try_from(group).is_ok_and(|group| group <= groups),
                    "rules/{name}: rule `{id}`: `secretGroup = {group}` but the regex has {groups} group(s)"
                );
            }
            if regex_compat::can_span_lines(&hir) {
                multiline.push(id.to_string());
            }
        }
        if let Some(pattern) = rule.get("path").and_then(Value::as_str) {
            regex_compat::parse(pattern).unwrap_or_else(|err| fail("path", err));
        }
        for allowlist in allowlists(rule) {
            check_allowlist(name, &format!("rule `{id}`"), allowlist);
        }
    }
    multiline
}

/// A table's `allowlist` and `[[allowlists]]`.
fn allowlists(table: &Value) -> Vec<&Value> {
    let single = table.get("allowlist").into_iter();
    let many = table.get("allowlists").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    single.chain(many).collect()
}

fn check_allowlist(name: &str, scope: &str, allowlist: &Value) {
    for field in ["regexes", "paths"] {
        let patterns = allowlist.get(field).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for pattern in patterns.iter().filter_map(Value::as_str) {
            if let Err(err) = regex_compat::parse(pattern) {
                panic!("rules/{name}: {scope}: allowlist `{field}` entry {pattern:?} does not parse: {err}");
            }
        }
    }
}
