//! `keyhound image`: scan a container image (`docker save` tarball, OCI
//! layout, or a registry reference pulled through the distribution API):
//! every layer's files and the config's environment and history.
//! Findings below medium confidence (installed packages' documentation and
//! test data, publicly known keys) are left out unless `--min-confidence low`.

use crate::cli::ImageArgs;
use crate::finding::Confidence;
use crate::source::image::{scan_image, ImageError};
use crate::source::registry::{pull, Reference};
use crate::source::ContentOptions;

use super::common::{Hint, Session};
use super::CmdError;

/// Scans the image and returns the exit code.
pub fn run(mut args: ImageArgs) -> Result<u8, CmdError> {
    args.common.min_confidence.get_or_insert(Confidence::Medium);
    let common = &args.common;
    let session = Session::start(common, std::slice::from_ref(&args.image))?;
    let content = ContentOptions::from(common);
    let results = if args.image.exists() {
        let label = args.image.display().to_string();
        scan_image(&args.image, &label, &session.scanner, content, common.threads)
            .map_err(|err: ImageError| CmdError::Usage(err.to_string()))?
    } else {
        // Not a file or directory: a registry reference, pulled into a temporary OCI layout.
        let text = args.image.to_string_lossy().into_owned();
        let reference = Reference::parse(&text)
            .map_err(|err| CmdError::Usage(format!("{err}; and no file or directory {text} exists")))?;
        let layout = tempfile::tempdir().map_err(|err| CmdError::Failed(err.into()))?;
        let timeout = std::time::Duration::from_secs(common.verify.provider.request_timeout.max(1) * 6);
        pull(&reference, layout.path(), timeout)
            .map_err(|err| CmdError::Failed(anyhow::anyhow!("pulling {text}: {err}")))?;
        scan_image(layout.path(), &text, &session.scanner, content, common.threads)
            .map_err(|err: ImageError| CmdError::Failed(anyhow::anyhow!("{text}: {err}")))?
    };
    session.finish(common, results, Hint::Image)
}
