//! `keyhound install-hook`: write a plain git pre-commit or pre-push hook.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::cli::InstallHookArgs;
use crate::source::git;

use super::git::from_git;
use super::{CmdError, EXIT_CLEAN};

/// Marks hooks keyhound wrote, so they may be replaced without `--force`.
const MARKER: &str = "# installed by `keyhound install-hook`";

/// Installs the hook and returns the exit code.
pub fn run(args: &InstallHookArgs) -> Result<u8, CmdError> {
    let repo = git::open(&args.repo).map_err(from_git)?;
    let hooks_dir = hooks_dir(&repo);
    let (name, command) = if args.pre_push {
        ("pre-push", "git --pre-push --no-progress")
    } else {
        ("pre-commit", "staged --no-progress")
    };
    let hook = hooks_dir.join(name);
    if let Ok(existing) = fs::read_to_string(&hook) {
        if !existing.contains(MARKER) && !args.force {
            return Err(CmdError::Usage(format!(
                "{} already exists and was not written by keyhound; keep it, call keyhound from it, \
                 or pass --force to replace it",
                hook.display()
            )));
        }
    }
    let binary = std::env::current_exe().context("finding the keyhound binary")?;
    fs::create_dir_all(&hooks_dir).with_context(|| format!("creating {}", hooks_dir.display()))?;
    fs::write(&hook, script(&binary, command)).with_context(|| format!("writing {}", hook.display()))?;
    make_executable(&hook)?;
    eprintln!("keyhound: installed the {name} hook at {}", hook.display());
    Ok(EXIT_CLEAN)
}

/// The hooks directory: `core.hooksPath` if set, else `.git/hooks`.
fn hooks_dir(repo: &git2::Repository) -> PathBuf {
    let configured = repo.config().ok().and_then(|config| config.get_path("core.hooksPath").ok());
    match configured {
        Some(path) if path.is_absolute() => path,
        Some(path) => repo.workdir().unwrap_or_else(|| repo.path()).join(path),
        None => repo.path().join("hooks"),
    }
}

/// A POSIX sh hook that runs this keyhound binary, or the one on PATH if it moved.
fn script(binary: &Path, command: &str) -> String {
    let quoted = binary.display().to_string().replace('\'', r"'\''");
    format!(
        "#!/bin/sh\n{MARKER}\n# Blocks commits/pushes that add secrets. Bypass once (not recommended): git commit --no-verify\n\
         keyhound='{quoted}'\n[ -x \"$keyhound\" ] || keyhound=keyhound\nexec \"$keyhound\" {command}\n"
    )
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<(), CmdError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("making {} executable", path.display()))?;
    Ok(())
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> Result<(), CmdError> {
    Ok(())
}
