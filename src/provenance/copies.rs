//! Copies that repeat a scanned source's findings: a compiled Python file
//! next to its `.py`, an installed package's archive whose unpacked file was
//! scanned too (a `.crate` beside the registry's extracted sources, a wheel
//! beside the installed package). Each secret is reported once, where it is
//! readable.

use std::collections::HashMap;

use crate::finding::Finding;

/// What [`drop_repeated`] left out of the report.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    /// Findings in compiled Python files whose scanned source holds the same secret.
    pub compiled: u64,
    /// Findings in archive members whose unpacked file (same relative path) holds the same secret.
    pub archived: u64,
}

/// Drops the findings that repeat a scanned source's: a `.pyc` whose `.py`
/// has the same secret for the same rule, and an archive member of an
/// installed package tree (`~/.cargo/registry/cache/x.crate!x.tar!pkg/src/lib.rs`)
/// whose unpacked file (`.../pkg/src/lib.rs`, outside any archive) does.
pub fn drop_repeated(findings: &mut Vec<Finding>) -> Dropped {
    let paths: Vec<String> = findings.iter().map(|finding| finding.origin.display_path()).collect();
    // Where each (rule, secret) was found.
    let mut places: HashMap<(&str, &str), Vec<&str>> = HashMap::new();
    for (finding, path) in findings.iter().zip(&paths) {
        places.entry((&finding.rule_id, finding.secret.expose())).or_default().push(path);
    }
    let mut compiled = vec![false; findings.len()];
    let mut archived = vec![false; findings.len()];
    for (index, (finding, path)) in findings.iter().zip(&paths).enumerate() {
        let same_secret = &places[&(finding.rule_id.as_str(), finding.secret.expose())];
        if let Some(source) = python_source_of(path) {
            compiled[index] = same_secret.contains(&source.as_str());
        } else if let Some(member) = installed_archive_member(path) {
            let suffix = format!("/{member}");
            archived[index] =
                same_secret.iter().any(|other| !other.contains('!') && (*other == member || other.ends_with(&suffix)));
        }
    }
    let marked: Vec<bool> = compiled.iter().zip(&archived).map(|(a, b)| *a || *b).collect();
    super::remove_marked(findings, &marked);
    Dropped {
        compiled: compiled.iter().filter(|&&set| set).count() as u64,
        archived: archived.iter().filter(|&&set| set).count() as u64,
    }
}

/// The member path of an archive in an installed package tree
/// (`pkg-1.0/src/lib.rs` of `.../registry/cache/pkg-1.0.crate!pkg-1.0.tar!pkg-1.0/src/lib.rs`).
/// A project's own archive (`dist/app.zip!config/.env`) is another place its
/// key leaked, to be cleaned up too: none.
fn installed_archive_member(path: &str) -> Option<&str> {
    let member = path.rsplit_once('!')?.1.trim_start_matches('/');
    (!member.is_empty() && super::context_of(path).is_some()).then_some(member)
}

/// The source file a compiled Python file was made from: `dir/__pycache__/name.TAG.pyc`
/// or `dir/name.pyc` -> `dir/name.py`.
fn python_source_of(path: &str) -> Option<String> {
    let stem = path.strip_suffix(".pyc")?;
    match stem.rsplit_once("/__pycache__/") {
        Some((dir, file)) => {
            let name = file.split('.').next().filter(|name| !name.is_empty())?;
            Some(format!("{dir}/{name}.py"))
        }
        None => Some(format!("{stem}.py")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_python_files_name_their_source() {
        assert_eq!(python_source_of("lib/pkg/__pycache__/auth.cpython-311.pyc").as_deref(), Some("lib/pkg/auth.py"));
        assert_eq!(python_source_of("lib/pkg/auth.pyc").as_deref(), Some("lib/pkg/auth.py"));
        assert_eq!(python_source_of("lib/pkg/auth.py"), None);
    }

    fn at(path: &str, secret: &str) -> Finding {
        Finding::sample("github-pat", secret, crate::finding::Origin::File(path.into()), 1)
    }

    #[test]
    fn an_archive_member_repeating_its_unpacked_file_is_dropped_and_a_different_one_kept() {
        let cache = "/root/.cargo/registry/cache/pem-4.0.0.crate!pem-4.0.0.tar!pem-4.0.0/src/lib.rs";
        let mut findings = vec![
            at("/root/.cargo/registry/src/index/pem-4.0.0/src/lib.rs", "ghp_one"),
            at(cache, "ghp_one"),
            at(cache, "ghp_two"),
            at("other.zip!pem-4.0.0/README.md", "ghp_one"),
            at("pkg/__pycache__/auth.cpython-312.pyc", "ghp_three"),
            at("pkg/auth.py", "ghp_three"),
            at("config/.env", "ghp_four"),
            at("dist/release.zip!config/.env", "ghp_four"),
        ];
        let dropped = drop_repeated(&mut findings);
        assert_eq!(dropped, Dropped { compiled: 1, archived: 1 });
        let left: Vec<(String, &str)> =
            findings.iter().map(|finding| (finding.origin.display_path(), finding.secret.expose())).collect();
        assert_eq!(
            left,
            [
                ("/root/.cargo/registry/src/index/pem-4.0.0/src/lib.rs".to_string(), "ghp_one"),
                (cache.to_string(), "ghp_two"),
                ("other.zip!pem-4.0.0/README.md".to_string(), "ghp_one"),
                ("pkg/auth.py".to_string(), "ghp_three"),
                ("config/.env".to_string(), "ghp_four"),
                ("dist/release.zip!config/.env".to_string(), "ghp_four"),
            ],
            "a secret the unpacked file lacks, another file's, or one in a project's own archive stays"
        );
    }
}
