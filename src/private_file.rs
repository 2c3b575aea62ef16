//! Files keyhound writes that hold secrets or decide what rotation does
//! (rotation state, audit trail, undelivered keys, reports with
//! `--show-secrets`): created with mode 600, never opened through a symlink,
//! never inside a symlinked directory.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// How a private file is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// Create or append (audit trail).
    Append,
    /// Create or truncate (a report).
    Truncate,
    /// Create; an existing file is an error (an undelivered key).
    New,
}

/// Opens `path` for writing with mode 600, refusing a symlink at `path` itself
/// (`O_NOFOLLOW`) or at its directory. An existing file's mode is tightened to 600.
pub fn open_private(path: &Path, how: Open) -> io::Result<File> {
    refuse_symlinked_parent(path)?;
    let mut options = OpenOptions::new();
    options.write(true).mode(0o600).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
    match how {
        Open::Append => options.create(true).append(true),
        Open::Truncate => options.create(true).truncate(true),
        Open::New => options.create_new(true),
    };
    let file = options.open(path).map_err(|err| explain_symlink(path, err))?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(io::Error::other(format!("{} is not a regular file", path.display())));
    }
    if metadata.permissions().mode() & 0o077 != 0 {
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

/// Replaces `path` with `bytes` through a private temporary file in the same
/// directory (readers see the old or the new content). A symlink at `path` is
/// refused, never replaced or followed.
pub fn write_private_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = refuse_symlinked_parent(path)?;
    if is_symlink(path) {
        return Err(io::Error::other(format!("{} is a symbolic link: refusing to write through it", path.display())));
    }
    let mut temp = tempfile::NamedTempFile::new_in(&dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all().ok();
    temp.persist(path).map_err(|err| err.error)?;
    Ok(())
}

/// Creates `path`'s directory when missing; refuses when it (the last
/// component) is a symbolic link. Returns the directory.
pub fn refuse_symlinked_parent(path: &Path) -> io::Result<PathBuf> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if is_symlink(&dir) {
        return Err(io::Error::other(format!(
            "{} is a symbolic link: keyhound keeps state and keys only in a real directory",
            dir.display()
        )));
    }
    fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Whether `path` is a symbolic link (not followed).
pub fn is_symlink(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|metadata| metadata.file_type().is_symlink())
}

fn explain_symlink(path: &Path, err: io::Error) -> io::Error {
    if err.raw_os_error() == Some(libc::ELOOP) {
        io::Error::other(format!("{} is a symbolic link: refusing to write through it", path.display()))
    } else {
        err
    }
}

/// The git work tree that tracks `path` (or a file under it), if any: a
/// committed `.keyhound/` belongs to whoever can push to the repository.
pub fn committed_in(path: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(path).ok()?;
    let start = absolute.ancestors().find(|dir| dir.is_dir())?;
    let repo = git2::Repository::discover(start).ok()?;
    let workdir = repo.workdir()?.canonicalize().ok()?;
    let parent = absolute.parent()?.canonicalize().ok()?;
    let relative = parent.join(absolute.file_name()?).strip_prefix(&workdir).ok()?.to_path_buf();
    let relative = relative.to_str()?.replace('\\', "/");
    let index = repo.index().ok()?;
    let tracked = index.iter().any(|entry| {
        let name = String::from_utf8_lossy(&entry.path);
        name == relative || name.starts_with(&format!("{relative}/"))
    });
    tracked.then_some(workdir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_files_are_mode_600_and_never_written_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("victim");
        fs::write(&target, "keep me").unwrap();
        let link = dir.path().join("audit.jsonl");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = open_private(&link, Open::Append).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        let err = write_private_atomically(&link, b"x").unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(fs::read_to_string(&target).unwrap(), "keep me");

        let file = dir.path().join("report.json");
        fs::write(&file, "old").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        open_private(&file, Open::Truncate).unwrap();
        assert_eq!(fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(open_private(&file, Open::New).is_err(), "an existing file is never overwritten by New");
    }

    #[test]
    fn a_symlinked_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("elsewhere")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), dir.path().join(".keyhound")).unwrap();
        let err = open_private(&dir.path().join(".keyhound/state.json"), Open::Append).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert!(fs::read_dir(dir.path().join("elsewhere")).unwrap().next().is_none());
    }
}
