//! Where a finding sits says how likely it is to be a fresh leak. Most of
//! the bytes of a container image or a disk are installed packages: their
//! documentation, vendored copies, test data and compiled libraries are full
//! of example keys. Findings there are not hidden; they get a lower
//! confidence and a `context` tag saying why, and `--min-confidence` decides
//! what is shown.
//!
//! A key of a specific, high-confidence rule (an AWS key, a GitHub token)
//! stays `medium` inside a package tree: a real key in a `.env` under
//! `node_modules` must still come out. Everything else there is `low`, and so
//! is everything in a package's own test data.
//!
//! Publicly known secrets ([`known`]) are `low` and grouped by published set;
//! copies of a scanned source ([`copies`]) are reported once.

pub mod copies;
pub mod known;

pub use known::{group_publicly_known, is_publicly_known, known_hash, publicly_known_source};

use crate::finding::{Confidence, Finding};

/// Path segments that mark an installed or vendored package tree, and the
/// context tag each gives. The first that a path holds wins.
const PACKAGE_TREES: [(&str, &str); 19] = [
    ("/site-packages/", "installed package (site-packages)"),
    ("/dist-packages/", "installed package (dist-packages)"),
    ("/node_modules/", "installed package (node_modules)"),
    ("/bower_components/", "installed package (bower_components)"),
    ("/.cargo/registry/", "installed package (cargo registry)"),
    ("/.cargo/git/checkouts/", "installed package (cargo git checkout)"),
    ("/go/pkg/mod/", "installed package (Go module cache)"),
    ("/.m2/repository/", "installed package (Maven repository)"),
    ("/.nuget/packages/", "installed package (NuGet packages)"),
    ("/gems/", "installed package (Ruby gems)"),
    ("/usr/share/doc/", "package documentation (/usr/share/doc)"),
    ("/usr/share/man/", "package documentation (/usr/share/man)"),
    ("/usr/share/info/", "package documentation (/usr/share/info)"),
    ("/usr/share/python-wheels/", "installed package (python-wheels)"),
    ("/lib/python3.", "installed package (Python library)"),
    ("/lib/python2.", "installed package (Python library)"),
    ("/third_party/", "vendored code (third_party)"),
    ("/vendored/", "vendored code (vendored)"),
    ("/vendor/", "vendored code (vendor)"),
];

/// Directory names that hold a package's own tests and their data.
const TEST_DIRECTORIES: [&str; 6] = ["/tests/", "/test/", "/testdata/", "/test_data/", "/testing/", "/fixtures/"];

/// Directories the system's shared and static libraries are installed in,
/// anywhere in a path (an unpacked root file system) ...
const LIBRARY_DIRECTORIES: [&str; 3] = ["/usr/lib/", "/usr/lib64/", "/usr/local/lib/"];
/// ... or at the root of a file system or an image layer.
const ROOT_LIBRARY_DIRECTORIES: [&str; 2] = ["/lib/", "/lib64/"];

/// Why a place is not where fresh leaks usually are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// The context tag: what the place is.
    pub tag: String,
    /// A package's own test data (every finding there is `low`).
    pub test_data: bool,
}

/// Why a path is not where fresh leaks usually are, if it is such a place.
/// Archive and image members (`archive!member`) are matched inside too.
pub fn context_of(path: &str) -> Option<Provenance> {
    let path = format!("/{}", path.trim_start_matches('/').replace('!', "/"));
    let (tree, at) = PACKAGE_TREES.iter().find_map(|tree| Some((tree, tree_start(&path, tree.0)?)))?;
    let after_tree = &path[at + tree.0.len() - 1..];
    Some(match TEST_DIRECTORIES.iter().find(|dir| after_tree.contains(*dir)) {
        Some(dir) => Provenance { tag: format!("{}; test data ({})", tree.1, dir.trim_matches('/')), test_data: true },
        None => Provenance { tag: tree.1.to_string(), test_data: false },
    })
}

/// Where `segment` starts in `path`, if it marks a package tree there. Ruby's
/// `gems/` counts only before an installed gem's versioned directory
/// (`gems/rack-3.0.8/`): a monorepo's own `gems/` directory is not installed.
fn tree_start(path: &str, segment: &str) -> Option<usize> {
    path.match_indices(segment).map(|(at, _)| at).find(|&at| {
        segment != "/gems/" || {
            let gem = path[at + segment.len()..].split('/').next().unwrap_or("");
            gem.rsplit_once('-')
                .is_some_and(|(name, version)| !name.is_empty() && version.starts_with(|c: char| c.is_ascii_digit()))
        }
    })
}

/// Whether `path` is a shared or static library in a system library directory
/// (`/usr/lib/x86_64-linux-gnu/libgnutls.so.30`, `/usr/lib/libfoo.a`).
fn is_installed_library(path: &str) -> bool {
    // The root of a file system is the disk's, or an image layer's (`IMAGE!sha256:...!lib/...`);
    // `lib/` inside an archive (an Android `.apk`) or a scanned project is the project's own.
    let (root, path) = match path.rsplit_once('!') {
        Some((outer, member)) if outer.rsplit('!').next().is_some_and(|layer| layer.starts_with("sha256:")) => {
            (true, format!("/{}", member.trim_start_matches('/')))
        }
        Some((_, member)) => (false, member.to_string()),
        None => (path.starts_with('/'), path.to_string()),
    };
    let Some(name) = path.rsplit('/').next() else { return false };
    let shared = match name.find(".so") {
        Some(at) => name[at + 3..].bytes().all(|byte| byte.is_ascii_digit() || byte == b'.'),
        None => false,
    };
    (shared || name.ends_with(".a"))
        && (LIBRARY_DIRECTORIES.iter().any(|dir| path.contains(dir))
            || root && ROOT_LIBRARY_DIRECTORIES.iter().any(|dir| path.starts_with(dir)))
}

/// The provenance of one finding: its path's, or a library's for a secret in
/// the compiled strings of an installed library.
fn provenance_of(finding: &Finding) -> Option<Provenance> {
    let path = finding.origin.display_path();
    context_of(&path).or_else(|| {
        (finding.location.in_binary && is_installed_library(&path))
            .then(|| Provenance { tag: "compiled into an installed library".to_string(), test_data: false })
    })
}

/// Lowers the confidence of findings in package trees and installed libraries
/// (tagging why), labels publicly known secrets, and drops the copies that
/// repeat a scanned source ([`copies::drop_repeated`]).
pub fn apply(findings: &mut Vec<Finding>) -> copies::Dropped {
    let dropped = copies::drop_repeated(findings);
    for finding in findings.iter_mut() {
        if let Some(source) = publicly_known_source(&finding.rule_id, finding.secret.expose()) {
            finding.confidence = Confidence::Low;
            finding.context.push(format!("{}{source}", known::PUBLICLY_KNOWN_TAG));
            continue;
        }
        let Some(provenance) = provenance_of(finding) else { continue };
        let specific = !finding.tags.iter().any(|tag| tag == "generic");
        finding.confidence = match (specific && !provenance.test_data, finding.confidence) {
            (true, Confidence::High) => Confidence::Medium,
            _ => Confidence::Low,
        };
        finding.context.push(provenance.tag);
    }
    dropped
}

/// Removes the findings whose mark is set (marks are by position); returns how many.
fn remove_marked(findings: &mut Vec<Finding>, marked: &[bool]) -> u64 {
    let mut position = 0;
    findings.retain(|_| {
        position += 1;
        !marked[position - 1]
    });
    marked.iter().filter(|&&set| set).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(path: &str) -> Option<String> {
        context_of(path).map(|provenance| provenance.tag)
    }

    #[test]
    fn package_trees_documentation_and_their_test_data_are_recognised() {
        let site = tag("/usr/lib/python3/dist-packages/oauthlib/oauth1/rfc5849/parameters.py").unwrap();
        assert_eq!(site, "installed package (dist-packages)");
        let tests = context_of("venv/lib/python3.12/site-packages/requests/tests/certs/server.key").unwrap();
        assert_eq!(tests.tag, "installed package (site-packages); test data (tests)");
        assert!(tests.test_data);
        assert!(tag("/usr/share/doc/git/contrib/credential/netrc/test.netrc").unwrap().contains("documentation"));
        assert!(tag("app/node_modules/left-pad/.env").unwrap().contains("node_modules"));
        assert_eq!(tag("src/config/prod.env"), None);
        assert_eq!(tag("tests/fixtures/keys.pem"), None, "a project's own tests are not a package's");
    }

    #[test]
    fn other_ecosystems_package_caches_and_the_python_library_are_package_trees() {
        let cargo = "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/pem-4.0.0/src/lib.rs";
        assert_eq!(tag(cargo).unwrap(), "installed package (cargo registry)");
        assert!(tag("/home/dev/go/pkg/mod/github.com/acme/sdk@v1.2.0/client.go").unwrap().contains("Go module"));
        assert!(tag("/home/dev/.m2/repository/org/acme/sdk/1.0/sdk-1.0.jar!org/acme/App.class")
            .unwrap()
            .contains("Maven"));
        assert!(tag("/usr/local/bundle/gems/rack-3.0.8/lib/rack/session.rb").unwrap().contains("gems"));
        assert_eq!(tag("monorepo/gems/billing/lib/billing/client.rb"), None, "a monorepo's own gems are not installed");
        assert!(tag("/usr/lib/python3.11/distutils/command/register.py").unwrap().contains("Python library"));
        assert_eq!(tag("/usr/src/app/config/settings.py"), None, "an application in /usr/src is not a package");
    }

    #[test]
    fn members_of_archives_and_images_are_matched_inside() {
        let layer = "registry.acme.test/app:1!sha256:0c1d!usr/share/doc/libfoo/examples/server.pem";
        assert_eq!(tag(layer).unwrap(), "package documentation (/usr/share/doc)");
        let wheel = "/srv/wheels/acme-1.0-py3-none-any.whl!acme/tests/data/key.pem";
        assert_eq!(tag(wheel), None, "a wheel outside a package tree is the project's own");
    }

    #[test]
    fn system_libraries_are_recognised_by_directory_and_name() {
        assert!(is_installed_library("/usr/lib/x86_64-linux-gnu/libgnutls.so.30.34.3"));
        assert!(is_installed_library("/usr/lib/x86_64-linux-gnu/libgnutls.a"));
        assert!(is_installed_library("img!sha256:ab!lib/x86_64-linux-gnu/libssl.so.3"));
        assert!(is_installed_library("/lib/x86_64-linux-gnu/libssl.so.3"));
        assert!(!is_installed_library("app.apk!lib/arm64-v8a/libnative.so"), "an Android app's own library");
        assert!(!is_installed_library("lib/libacme.so"), "a scanned project's lib/");
        assert!(!is_installed_library("/home/dev/build/libacme.so.1"), "not a system library directory");
        assert!(!is_installed_library("/home/dev/acme/lib/libacme.so"), "a project's own lib/ is not the system's");
        assert!(!is_installed_library("/usr/lib/acme/settings.sources"), "`.so` must end the name or take a version");
    }
}
