//! Whole-history scans read packs in pack order (keyhound's own pack
//! reader). These tests hold that reader to libgit2 object by object, and the
//! scan's output to that of the same history read object by object.

use std::collections::HashMap;
use std::path::Path;

use keyhound::source::git::pack::{Kind, PackedObjects, TraverseOptions, Visitor};
use serde_json::Value;

use crate::common::{keyhound, GitRepo, DEEPSEEK_KEY};

/// A GitHub token with a valid checksum (not a real token).
const GITHUB_TOKEN: &str = "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";

/// A history whose files change a little in each commit (so that `git gc`
/// stores most versions as deltas), with secrets in early versions, a rename,
/// a branch merged back, and a binary file.
fn evolving_history() -> GitRepo {
    let repo = GitRepo::new();
    let mut config = (0..120).map(|line| format!("setting_{line} = value {line}\n")).collect::<Vec<_>>();
    config[40] = format!("DEEPSEEK_API_KEY={DEEPSEEK_KEY}\n");
    for version in 0..25 {
        config[version * 3 % 120] = format!("setting_{version} = changed in version {version}\n");
        if version == 12 {
            // The secret is removed: later versions must not be blamed for it.
            config[40] = "DEEPSEEK_API_KEY=${DEEPSEEK_API_KEY}\n".into();
        }
        repo.commit_file("app/config.ini", config.concat(), &format!("config v{version}"));
        repo.commit_file(
            "src/lib.rs",
            (0..=version).map(|n| format!("pub fn f{n}() -> u32 {{ {n} }}\n")).collect::<String>(),
            &format!("code v{version}"),
        );
    }
    repo.git(&["checkout", "-q", "-b", "side"]);
    repo.commit_file("side/notes.txt", format!("token for staging: {GITHUB_TOKEN}\n"), "side");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["mv", "app/config.ini", "app/settings.ini"]);
    repo.git(&["commit", "-q", "-m", "rename"]);
    repo.git(&["merge", "-q", "--no-ff", "-m", "merge side", "side"]);
    // An author with a non-ASCII name and a negative offset, and a message
    // whose summary libgit2 squashes (the scan reads packed commits itself).
    repo.commit_file("NOTES.md", "notes\n", "placeholder");
    repo.git(&[
        "-c",
        "user.name=Zoë Q. Public",
        "commit",
        "-q",
        "--amend",
        "--reset-author",
        "--date=2024-02-03T04:05:06-0730",
        "-m",
        &format!("  Rotate\n  the   staging\ttoken\n\nold one: {GITHUB_TOKEN}\n"),
    ]);
    let mut binary = vec![0u8, 159, 146, 150, 0, 0, 1];
    binary.extend(format!("\0\0DEEPSEEK_API_KEY={DEEPSEEK_KEY}\0").bytes());
    repo.commit_file("assets/blob.bin", binary, "binary");
    repo
}

/// Packs everything with deltas; `by_id` writes deltas that name their base
/// by id (REF_DELTA) instead of by offset.
fn pack(repo: &GitRepo, by_id: bool) {
    if by_id {
        repo.git(&["-c", "repack.useDeltaBaseOffset=false", "repack", "-a", "-d", "-f", "-q", "--depth=20"]);
    } else {
        repo.git(&["gc", "-q", "--aggressive", "--prune=now"]);
    }
}

struct Collect(Vec<(u32, Kind, Vec<u8>)>);

impl Visitor for Collect {
    fn object(&mut self, id: u32, kind: Kind, data: &[u8]) {
        self.0.push((id, kind, data.to_vec()));
    }
    fn too_large(&mut self, id: u32, size: u64) {
        panic!("object {id} of {size} bytes reported too large with no limit");
    }
}

/// Every object the pack reader decodes, by hex id.
fn decode_all(objects_dir: &Path, threads: usize, prefetch: bool) -> HashMap<String, (Kind, Vec<u8>)> {
    let packed = PackedObjects::open(objects_dir);
    assert!(packed.problems.is_empty(), "{:?}", packed.problems);
    let options = TraverseOptions { threads, max_size: u64::MAX, prefetch };
    let visitors = packed.traverse(|_, _| true, options, || Collect(Vec::new()));
    let mut objects = HashMap::new();
    for (id, kind, data) in visitors.into_iter().flat_map(|visitor| visitor.0) {
        let hex: String = packed.oid(id).iter().map(|byte| format!("{byte:02x}")).collect();
        assert!(objects.insert(hex, (kind, data)).is_none(), "object {id} visited twice");
    }
    objects
}

fn assert_reader_matches_libgit2(repo: &GitRepo) {
    let git_dir = repo.path().join(".git");
    let listed = repo.git(&["cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(deltabase)"]);
    let deltas = listed.lines().filter(|line| !line.ends_with(&"0".repeat(40))).count();
    assert!(deltas > 20, "the test needs deltas; git made {deltas}");
    // Object by object on one thread; read ahead in runs on three.
    for (threads, prefetch) in [(1, false), (3, true)] {
        let decoded = decode_all(&git_dir.join("objects"), threads, prefetch);
        let libgit2 = git2::Repository::open(&git_dir).unwrap();
        let odb = libgit2.odb().unwrap();
        assert_eq!(decoded.len(), listed.lines().count(), "every packed object is decoded once");
        for (hex, (kind, data)) in &decoded {
            let object = odb.read(git2::Oid::from_str(hex).unwrap()).unwrap();
            assert_eq!(object.data(), &data[..], "object {hex}");
            let expected = match object.kind() {
                git2::ObjectType::Commit => Kind::Commit,
                git2::ObjectType::Tree => Kind::Tree,
                git2::ObjectType::Blob => Kind::Blob,
                _ => Kind::Tag,
            };
            assert_eq!(*kind, expected, "object {hex}");
        }
    }
}

#[test]
fn the_pack_reader_decodes_every_object_as_libgit2_does_with_offset_deltas() {
    let repo = evolving_history();
    repo.git(&["tag", "-a", "v1", "-m", "release"]);
    pack(&repo, false);
    assert_reader_matches_libgit2(&repo);
}

#[test]
fn the_pack_reader_decodes_every_object_as_libgit2_does_with_deltas_named_by_id() {
    let repo = evolving_history();
    pack(&repo, true);
    assert_reader_matches_libgit2(&repo);
}

/// Scans a history, and checks that looking at blobs during the walk (as in
/// large histories) reports exactly what scanning them after it does.
fn scan(path: &Path, args: &[&str]) -> (i32, Value) {
    let run = |overlap_min_trees: &str| {
        let output = keyhound()
            .args(["git"])
            .arg(path)
            .args(["--format", "json", "--no-config"])
            .args(args)
            .env("KEYHOUND_OVERLAP_MIN_TREES", overlap_min_trees)
            .output()
            .unwrap();
        let mut report: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|err| panic!("{err}: {}", String::from_utf8_lossy(&output.stderr)));
        report["stats"]["duration_ms"] = Value::Null;
        (output.status.code().unwrap(), report)
    };
    let after_walk = run("1000000000");
    let during_walk = run("0");
    assert_eq!(during_walk, after_walk, "blobs looked at during the walk");
    after_walk
}

/// Findings without the run's duration, for comparing two scans.
fn findings(report: &Value) -> Vec<Value> {
    let mut findings = report["findings"].as_array().unwrap().clone();
    findings.sort_by_key(|finding| finding.to_string());
    findings
}

/// A copy of the repository's objects, each as a loose object (`git
/// unpack-objects`), so that nothing is read from a pack.
fn loose_copy(repo: &GitRepo) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    let run = |args: &[&str], dir: &Path| {
        let status = std::process::Command::new("git").args(args).current_dir(dir).status().unwrap();
        assert!(status.success(), "git {args:?}");
    };
    run(&["init", "-q", "--bare", "."], copy.path());
    let pack_dir = repo.path().join(".git/objects/pack");
    for entry in std::fs::read_dir(&pack_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "pack") {
            let pack = std::fs::File::open(&path).unwrap();
            let status = std::process::Command::new("git")
                .args(["unpack-objects", "-q"])
                .current_dir(copy.path())
                .stdin(pack)
                .status()
                .unwrap();
            assert!(status.success());
        }
    }
    // The same refs (branches and tags).
    let refs = std::process::Command::new("git")
        .args(["for-each-ref", "--format=%(refname) %(objectname)"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    for line in String::from_utf8(refs.stdout).unwrap().lines() {
        let (name, id) = line.split_once(' ').unwrap();
        run(&["update-ref", name, id], copy.path());
    }
    run(&["symbolic-ref", "HEAD", "refs/heads/main"], copy.path());
    copy
}

#[test]
fn a_packed_history_and_the_same_history_in_loose_objects_give_the_same_report() {
    let repo = evolving_history();
    repo.git(&["tag", "-a", "v1", "-m", "release"]);
    pack(&repo, false);
    let loose = loose_copy(&repo);
    let (packed_code, packed) = scan(repo.path(), &[]);
    let (loose_code, unpacked) = scan(loose.path(), &[]);
    assert_eq!((packed_code, loose_code), (1, 1));
    assert_eq!(findings(&packed), findings(&unpacked));
    let rules: Vec<&str> =
        packed["findings"].as_array().unwrap().iter().map(|f| f["rule_id"].as_str().unwrap()).collect();
    assert!(rules.contains(&"deepseek-api-key") && rules.contains(&"github-pat"), "{rules:?}");
    let in_message = packed["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().starts_with("COMMIT_MSG@"))
        .expect("the token in a commit message");
    assert_eq!(in_message["author"], "Zoë Q. Public");
    assert_eq!(in_message["date"], "2024-02-03T04:05:06-07:30");
    assert_eq!(in_message["message"], "  Rotate the   staging\ttoken");
    for field in ["files_scanned", "bytes_scanned", "commits_scanned"] {
        assert_eq!(packed["stats"][field], unpacked["stats"][field], "{field}");
    }
    // The secret is attributed to the first version of the config, at its first path.
    let config = repo.git(&["rev-list", "--reverse", "main", "--", "app/config.ini"]);
    let first = packed["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "app/config.ini")
        .expect("the config finding");
    assert_eq!(first["commit"].as_str().unwrap(), config.lines().next().unwrap());
    assert_eq!(first["line"], 41);
}

#[test]
fn commits_made_after_the_last_pack_are_read_as_loose_objects() {
    let repo = evolving_history();
    pack(&repo, false);
    let loose = loose_copy(&repo);
    repo.commit_file("late/.env", format!("DEEPSEEK_API_KEY={DEEPSEEK_KEY}x\n"), "after the pack");
    let late = repo.git(&["rev-parse", "HEAD"]);
    let (_, packed) = scan(repo.path(), &[]);
    let found = packed["findings"].as_array().unwrap();
    assert!(found.iter().any(|f| f["path"] == "late/.env" && f["commit"] == late.as_str()), "{packed:#}");
    // The loose copy was made before the late commit: that commit is the difference.
    let (_, unpacked) = scan(loose.path(), &[]);
    assert_eq!(found.len(), unpacked["findings"].as_array().unwrap().len() + 1);
}

#[test]
fn a_packed_blob_over_the_size_limit_is_skipped_and_named() {
    let repo = GitRepo::new();
    repo.commit_file("big.txt", format!("{}\nDEEPSEEK_API_KEY={DEEPSEEK_KEY}\n", "x".repeat(200_000)), "big");
    repo.commit_file("small.env", format!("DEEPSEEK_API_KEY={DEEPSEEK_KEY}\n"), "small");
    pack(&repo, false);
    let (code, report) = scan(repo.path(), &["--max-file-size", "100000", "--verbose"]);
    assert_eq!(code, 1);
    let paths: Vec<&str> = report["findings"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["small.env"]);
    assert_eq!(report["stats"]["skipped"]["too_large"], 1, "{:#}", report["stats"]);
}

#[test]
fn binary_blobs_skipped_by_request_are_named_as_in_a_loose_history() {
    let repo = evolving_history();
    pack(&repo, false);
    let loose = loose_copy(&repo);
    let (packed_code, packed) = scan(repo.path(), &["--skip-binary", "--verbose"]);
    let (loose_code, unpacked) = scan(loose.path(), &["--skip-binary", "--verbose"]);
    assert_eq!((packed_code, loose_code), (1, 1));
    assert_eq!(findings(&packed), findings(&unpacked));
    assert_eq!(packed["stats"]["skipped"]["binary"], 1, "{:#}", packed["stats"]);
    assert_eq!(packed["stats"]["skipped_files"], unpacked["stats"]["skipped_files"]);
    assert_eq!(packed["stats"]["files_scanned"], unpacked["stats"]["files_scanned"]);
}

#[test]
fn packed_blobs_that_no_commit_reaches_are_not_reported() {
    let repo = evolving_history();
    let outside = tempfile::tempdir().unwrap();
    let dangling = outside.path().join("dangling.env");
    std::fs::write(&dangling, "DEEPSEEK_API_KEY=sk-9c2e7b4f1a8d3e6b0c5f2a9d7e4b1c83\n").unwrap();
    let as_file = keyhound().args(["scan", "--format", "json", "--no-config"]).arg(&dangling).output().unwrap();
    assert_eq!(as_file.status.code(), Some(1), "the content alone is a leak");
    repo.git(&["hash-object", "-w", dangling.to_str().unwrap()]);
    // Loose, the walk never reaches it.
    let (_, before) = scan(repo.path(), &[]);
    // In an ordinary pack, then in a cruft pack (git's store of unreachable objects).
    repo.git(&["repack", "-a", "-d", "-q", "--keep-unreachable"]);
    let (_, in_pack) = scan(repo.path(), &[]);
    repo.git(&["repack", "--cruft", "-d", "-q"]);
    let packs = std::fs::read_dir(repo.path().join(".git/objects/pack")).unwrap();
    assert!(packs.flatten().any(|entry| entry.path().extension().is_some_and(|ext| ext == "mtimes")));
    let (_, in_cruft) = scan(repo.path(), &[]);
    for (report, how) in [(&in_pack, "in a pack"), (&in_cruft, "in a cruft pack")] {
        assert_eq!(findings(report), findings(&before), "{how}");
        assert_eq!(report["stats"]["files_scanned"], before["stats"]["files_scanned"], "{how}");
    }
}
