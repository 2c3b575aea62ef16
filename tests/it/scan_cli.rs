//! Output formats, redaction and snapshots of what users see.

use crate::common::{keyhound, Tree, TOKEN, TOKEN_RULES};

fn leaky_tree() -> Tree {
    let tree = Tree::new();
    tree.write(".keyhound.toml", TOKEN_RULES);
    tree.write("config/settings.py", format!("import os\n\nAPI_TOKEN = \"{TOKEN}\"\n"));
    tree.write("notes.md", format!("old token: {TOKEN} # keyhound:allow\n"));
    tree
}

fn stdout_of(tree: &Tree, args: &[&str]) -> String {
    let output = keyhound().current_dir(tree.path()).arg("scan").args(args).output().unwrap();
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn secrets_are_redacted_in_every_format_by_default() {
    let tree = leaky_tree();
    for format in ["human", "json", "jsonl", "sarif", "csv", "junit"] {
        let output = keyhound().current_dir(tree.path()).args(["scan", ".", "--format", format]).output().unwrap();
        let all = [output.stdout, output.stderr].concat();
        let text = String::from_utf8_lossy(&all);
        assert!(!text.contains(TOKEN), "{format} output leaks the secret:\n{text}");
        assert!(text.contains("tok_*****"), "{format} output shows the redacted form:\n{text}");
    }
}

#[test]
fn show_secrets_prints_them_in_full() {
    let tree = leaky_tree();
    for format in ["human", "json", "jsonl", "sarif", "csv", "junit"] {
        assert!(stdout_of(&tree, &[".", "--format", format, "--show-secrets"]).contains(TOKEN), "{format}");
    }
}

#[test]
fn human_output_snapshot() {
    let tree = leaky_tree();
    insta::assert_snapshot!("human_output", stdout_of(&tree, &["."]));
}

#[test]
fn json_output_snapshot() {
    let tree = leaky_tree();
    let mut report: serde_json::Value =
        serde_json::from_str(&stdout_of(&tree, &[".", "--format", "json", "--config", ".keyhound.toml"])).unwrap();
    report["stats"]["duration_ms"] = 0.into();
    report["version"] = "X".into();
    insta::assert_json_snapshot!("json_output", report);
}

#[test]
fn output_file_receives_the_report() {
    let tree = leaky_tree();
    let out = tree.path().join("report.json");
    keyhound().current_dir(tree.path()).args(["scan", ".", "--format", "json", "-o"]).arg(&out).assert().code(1);
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(report["findings"].as_array().unwrap().len(), 1);
}

#[test]
fn fingerprints_survive_line_moves() {
    let tree = leaky_tree();
    let fingerprint = |tree: &Tree| {
        let report: serde_json::Value = serde_json::from_str(&stdout_of(tree, &[".", "--format", "json"])).unwrap();
        report["findings"][0]["fingerprint"].as_str().unwrap().to_string()
    };
    let before = fingerprint(&tree);
    tree.write("config/settings.py", format!("\n\n\n# moved\nAPI_TOKEN = \"{TOKEN}\"\n"));
    assert_eq!(fingerprint(&tree), before);
}

#[test]
fn help_explains_the_commands_and_exit_codes() {
    let output = keyhound().arg("--help").output().unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for needle in ["scan", "rules", "Exit codes", "keyhound scan ."] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
}

#[test]
fn csv_has_a_header_and_one_correctly_quoted_row_per_finding() {
    let tree = leaky_tree();
    tree.write("odd, \"name\".txt", format!("x = '{TOKEN}'\n"));
    let text = stdout_of(&tree, &[".", "--format", "csv"]);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(&reader.headers().unwrap()[0], "rule_id");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!((&rows[0][2], &rows[0][3]), ("config/settings.py", "3"));
    assert_eq!(&rows[1][2], "odd, \"name\".txt", "commas and quotes survive quoting");
}

#[test]
fn junit_is_valid_xml_with_one_failing_test_case_per_finding() {
    let tree = leaky_tree();
    tree.write("a<b>&c.py", format!("x = '{TOKEN}'\n"));
    let text = stdout_of(&tree, &[".", "--format", "junit"]);
    let document = roxmltree::Document::parse(&text).expect("well-formed XML");
    let root = document.root_element();
    assert_eq!(
        (root.tag_name().name(), root.attribute("tests"), root.attribute("failures")),
        ("testsuites", Some("2"), Some("2"))
    );
    let cases: Vec<_> = document.descendants().filter(|node| node.has_tag_name("testcase")).collect();
    assert_eq!(cases.len(), 2);
    assert_eq!(cases[0].attribute("classname"), Some("a<b>&c.py"));
    assert!(cases.iter().all(|case| case.children().any(|child| child.has_tag_name("failure"))));
}

#[test]
fn redact_keeps_the_chosen_share_of_the_secret() {
    let tree = leaky_tree();
    let report: serde_json::Value =
        serde_json::from_str(&stdout_of(&tree, &[".", "--format", "json", "--redact", "50"])).unwrap();
    assert_eq!(report["findings"][0]["secret"], format!("{}*****", &TOKEN[..TOKEN.len() / 2]));
    keyhound().current_dir(tree.path()).args(["scan", ".", "--redact", "101"]).assert().code(2);
}

/// `keyhound rules list | head` stops quietly when the reader goes away.
#[test]
fn a_closed_pipe_ends_a_command_quietly() {
    use std::io::Read as _;
    use std::process::Stdio;
    let binary = assert_cmd::cargo::cargo_bin("keyhound");
    let mut child = std::process::Command::new(binary)
        .args(["rules", "list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    assert!(!stderr.contains("Broken pipe") && !stderr.contains("error"), "{stderr}");
    assert_eq!(status.code(), Some(0), "{stderr}");
}
