//! Security-team scale: `keyhound git --repos/--datastore/--shard`, `report`
//! and `triage`, against both datastore backends (SQLite in a temp dir, and a
//! throwaway PostgreSQL cluster that scripts/test starts): incremental
//! rescans, shards that together find what one scan finds, concurrent
//! writers, a killed scan, and the HTML report in headless Chromium.

use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use crate::common::{keyhound, GitRepo, Tree};

/// Distinct DeepSeek-shaped keys (fake), one per index.
fn key(index: usize) -> String {
    let digest = <sha2::Sha256 as sha2::Digest>::digest(format!("fleet key {index}").as_bytes());
    let hex: String = digest.iter().take(16).map(|byte| format!("{byte:02x}")).collect();
    format!("sk-{hex}")
}

/// `count` repositories with a few commits each, two of them leaking a key;
/// the list file names them by relative path.
struct Fleet {
    root: Tree,
    repos: Vec<GitRepo>,
}

impl Fleet {
    fn new(count: usize) -> Fleet {
        let root = Tree::new();
        let repos: Vec<GitRepo> = (0..count)
            .map(|index| {
                let repo = GitRepo::new();
                repo.commit_file("README.md", format!("service {index}\n"), "init");
                repo.commit_file(".env", format!("DEEPSEEK_API_KEY={}\n", key(index)), "config");
                repo.commit_file("src/main.py", format!("print({index})\n"), "code");
                repo
            })
            .collect();
        let list: String = repos.iter().map(|repo| format!("{}\n", repo.path().display())).collect();
        root.write("repos.txt", list);
        Fleet { root, repos }
    }

    fn list(&self) -> PathBuf {
        self.root.path().join("repos.txt")
    }
}

/// Runs `keyhound git --repos` with a datastore; returns (exit code, report, stderr).
fn scan(fleet: &Fleet, datastore: &str, extra: &[&str]) -> (i32, Value, String) {
    let output = keyhound()
        .current_dir(fleet.root.path())
        .args(["git", "--no-config", "--format", "json", "--repos"])
        .arg(fleet.list())
        .args(["--datastore", datastore])
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|err| panic!("{err}: {stderr}"));
    (output.status.code().unwrap(), report, stderr)
}

fn stored(datastore: &str, extra: &[&str]) -> Value {
    let output =
        keyhound().args(["report", "--format", "json", "--datastore", datastore]).args(extra).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// (fingerprint, repo, path, commit) of every stored occurrence.
fn stored_places(datastore: &str) -> BTreeSet<(String, String, String, String)> {
    let report = stored(datastore, &[]);
    let mut places = BTreeSet::new();
    for finding in report["findings"].as_array().unwrap() {
        for place in finding["occurrences"].as_array().unwrap() {
            let text = |key: &str| place[key].as_str().unwrap().to_string();
            places.insert((
                finding["fingerprint"].as_str().unwrap().to_string(),
                text("repo"),
                text("path"),
                text("commit"),
            ));
        }
    }
    places
}

/// The binary as a plain process (to run several at once, or kill one).
fn keyhound_process() -> Command {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("keyhound"));
    command.env_remove("KEYHOUND_CONFIG").env("NO_COLOR", "1");
    command
}

static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// A fresh datastore on each backend: a SQLite file and a new PostgreSQL database.
fn backends(dir: &Path) -> Vec<String> {
    let admin = std::env::var("KEYHOUND_TEST_POSTGRES").expect(
        "KEYHOUND_TEST_POSTGRES must name a PostgreSQL server: run the tests with scripts/test, which starts one",
    );
    let name = format!("keyhound_{}_{}", std::process::id(), DATABASES.fetch_add(1, Ordering::SeqCst));
    let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("connect to the test PostgreSQL");
    client.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let postgres_url = match admin.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => unreachable!("a URL with a database"),
    };
    vec![dir.join("store.db").display().to_string(), postgres_url]
}

#[test]
fn a_rescan_reads_only_new_commits_and_reports_only_new_findings() {
    for backend in 0..2 {
        // A fleet per backend: the test adds a commit to it.
        let fleet = Fleet::new(3);
        let datastore = backends(fleet.root.path()).swap_remove(backend);
        let (code, first, stderr) = scan(&fleet, &datastore, &[]);
        assert_eq!(code, 1, "{stderr}");
        assert_eq!(first["findings"].as_array().unwrap().len(), 3, "{datastore}: {stderr}");
        assert!(stderr.contains("3 repositories") && stderr.contains("3 new findings"), "{stderr}");

        let (code, again, stderr) = scan(&fleet, &datastore, &[]);
        assert_eq!((code, again["findings"].as_array().unwrap().len()), (0, 0), "{datastore}: {stderr}");
        assert!(stderr.contains("0 new blobs, 0 new findings"), "{datastore}: nothing is rescanned: {stderr}");

        fleet.repos[1].commit_file("deploy/prod.env", format!("DEEPSEEK_API_KEY={}\n", key(99)), "prod");
        let (code, delta, stderr) = scan(&fleet, &datastore, &[]);
        assert_eq!(code, 1);
        let paths: Vec<&str> =
            delta["findings"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
        assert_eq!(paths, ["deploy/prod.env"], "{datastore}: {stderr}");
        assert!(stderr.contains("1 new blobs, 1 new findings"), "{stderr}");

        let (_, everything, _) = scan(&fleet, &datastore, &["--all"]);
        assert_eq!(everything["findings"].as_array().unwrap().len(), 4, "--all reports every finding");
        assert_eq!(stored(&datastore, &[])["findings"].as_array().unwrap().len(), 4);
    }
}

#[test]
fn triage_is_recorded_and_reports_filter_by_it() {
    let fleet = Fleet::new(2);
    for datastore in backends(fleet.root.path()) {
        scan(&fleet, &datastore, &[]);
        let findings = stored(&datastore, &[]);
        let fingerprint = findings["findings"][0]["fingerprint"].as_str().unwrap().to_string();
        let output = keyhound()
            .args(["triage", &fingerprint, "--status", "false-positive", "--comment", "test fixture", "--by", "alice"])
            .args(["--datastore", &datastore])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let triaged = stored(&datastore, &["--status", "false-positive"]);
        assert_eq!(triaged["findings"].as_array().unwrap().len(), 1);
        assert_eq!(triaged["findings"][0]["status_by"], "alice");
        assert_eq!(triaged["findings"][0]["status_comment"], "test fixture");
        assert_eq!(stored(&datastore, &["--status", "open"])["findings"].as_array().unwrap().len(), 1);
        let repo = fleet.repos[0].path().display().to_string();
        assert_eq!(stored(&datastore, &["--repo", &repo])["findings"].as_array().unwrap().len(), 1);
        assert!(stored(&datastore, &["--live"])["findings"].as_array().unwrap().is_empty(), "nothing was verified");

        let unknown =
            keyhound().args(["triage", "0000", "--status", "revoked", "--datastore", &datastore]).output().unwrap();
        assert_eq!(unknown.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&unknown.stderr).contains("no finding with fingerprint 0000"));
        let bad = keyhound()
            .args(["triage", &fingerprint, "--status", "ignored", "--datastore", &datastore])
            .output()
            .unwrap();
        assert_eq!(bad.status.code(), Some(2));
    }
}

#[test]
fn shards_writing_concurrently_find_exactly_what_one_scan_finds() {
    let fleet = Fleet::new(8);
    let dir = fleet.root.path();
    let whole = dir.join("whole.db").display().to_string();
    scan(&fleet, &whole, &[]);
    let expected = stored_places(&whole);
    assert_eq!(expected.len(), 8);
    for datastore in backends(dir) {
        let children: Vec<_> = (0..3)
            .map(|shard| {
                keyhound_process()
                    .current_dir(dir)
                    .args(["git", "--no-config", "-q", "--format", "json", "--repos"])
                    .arg(fleet.list())
                    .args(["--datastore", &datastore, "--shard", &format!("{shard}/3")])
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut child in children {
            let status = child.wait().unwrap();
            assert!(matches!(status.code(), Some(0 | 1)), "{status}");
        }
        let mut sharded: Vec<_> = stored_places(&datastore).into_iter().collect();
        sharded.sort();
        assert_eq!(sharded.into_iter().collect::<BTreeSet<_>>(), expected, "{datastore}");
    }
}

#[test]
fn a_killed_scan_leaves_the_store_consistent_and_the_next_run_finishes_it() {
    let fleet = Fleet::new(12);
    // Every repository but the first gets a clean 250 kB file, so the scan
    // spends a while after its first repository: time to kill it mid-run.
    let filler: String = (0..6_000).map(|line| format!("fixture line {line}: nothing secret here\n")).collect();
    for repo in &fleet.repos[1..] {
        repo.commit_file("data/fixture.txt", &filler, "fixture data");
    }
    let dir = fleet.root.path();
    let reference = dir.join("reference.db").display().to_string();
    scan(&fleet, &reference, &[]);
    let datastore = dir.join("killed.db").display().to_string();
    let mut child = keyhound_process()
        .current_dir(dir)
        .args(["git", "--no-config", "-q", "--format", "json", "-j", "1", "--repos"])
        .arg(fleet.list())
        .args(["--datastore", &datastore])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once at least one repository is recorded, while it is still running.
    let recorded = |datastore: &str| {
        rusqlite::Connection::open(datastore)
            .and_then(|db| {
                db.query_row("SELECT COUNT(DISTINCT repo) FROM scanned_tips", [], |row| row.get::<_, i64>(0))
            })
            .unwrap_or(0)
    };
    let started = std::time::Instant::now();
    let mut seen = 0;
    while seen < 1 && started.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(2));
        seen = recorded(&datastore);
    }
    assert!(seen >= 1, "the scan recorded a repository within 10 s");
    assert!(matches!(child.try_wait(), Ok(None)), "the scan was still running when killed");
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "the scan died of the kill, not of finishing: {status}");
    // Whatever was recorded is whole: each repository's tips come with its findings.
    let db = rusqlite::Connection::open(&datastore).unwrap();
    let repos_done: i64 = db.query_row("SELECT COUNT(DISTINCT repo) FROM scanned_tips", [], |row| row.get(0)).unwrap();
    let repos_with_findings: i64 =
        db.query_row("SELECT COUNT(DISTINCT repo) FROM occurrences", [], |row| row.get(0)).unwrap();
    assert_eq!(repos_done, repos_with_findings, "a repository is recorded whole or not at all");
    assert!((1..12).contains(&repos_done), "the kill left the store partial: {repos_done} of 12 repositories");
    drop(db);
    let (_, _, stderr) = scan(&fleet, &datastore, &[]);
    assert!(stderr.contains("12 repositories"), "{stderr}");
    assert_eq!(stored_places(&datastore), stored_places(&reference));
}

#[test]
fn the_html_report_renders_in_headless_chromium_without_console_errors() {
    let fleet = Fleet::new(3);
    let datastore = fleet.root.path().join("store.db").display().to_string();
    scan(&fleet, &datastore, &[]);
    let page = fleet.root.path().join("report.html");
    let output =
        keyhound().args(["report", "--format", "html", "--datastore", &datastore, "-o"]).arg(&page).output().unwrap();
    assert!(output.status.success());
    let chromium = std::env::var("KEYHOUND_CHROMIUM")
        .expect("KEYHOUND_CHROMIUM must name a Chromium binary: run the tests with scripts/test, which installs it");
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&output.stdout);
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(dom.matches("<tr title=").count() == 3, "the table rendered its three rows:\n{dom}\n{log}");
    assert!(dom.contains("deepseek-api-key") && dom.contains("sk-"), "{dom}");
    let console_errors: Vec<&str> =
        log.lines().filter(|line| line.contains("CONSOLE") || line.contains("Uncaught")).collect();
    assert!(console_errors.is_empty(), "console errors: {console_errors:?}");
}

#[test]
fn bad_fleet_arguments_are_usage_errors() {
    let tree = Tree::new();
    let missing =
        keyhound().current_dir(tree.path()).args(["git", "--repos", "nope.txt", "--datastore", "s"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.txt"));
    tree.write("list.txt", "a\n");
    let shard =
        keyhound().current_dir(tree.path()).args(["git", "--repos", "list.txt", "--shard", "3/3"]).output().unwrap();
    assert_eq!(shard.status.code(), Some(2));
    let report = keyhound().args(["report", "--datastore", "postgres://nobody@127.0.0.1:1/none"]).output().unwrap();
    assert_eq!(report.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&report.stderr).contains("--datastore"));
}
