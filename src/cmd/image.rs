//! `keyhound image`: scan a container image (`docker save` tarball or OCI
//! layout): every layer's files and the config's environment and history.
//! Findings below medium confidence (installed packages' documentation and
//! test data, publicly known keys) are left out unless `--min-confidence low`.

use crate::cli::ImageArgs;
use crate::finding::Confidence;
use crate::source::image::{scan_image, ImageError};
use crate::source::ContentOptions;

use super::common::{Hint, Session};
use super::CmdError;

/// Scans the image and returns the exit code.
pub fn run(mut args: ImageArgs) -> Result<u8, CmdError> {
    args.common.min_confidence.get_or_insert(Confidence::Medium);
    let common = &args.common;
    let session = Session::start(common, std::slice::from_ref(&args.image))?;
    let results = scan_image(&args.image, &session.scanner, ContentOptions::from(common), common.threads)
        .map_err(|err: ImageError| CmdError::Usage(err.to_string()))?;
    session.finish(common, results, Hint::Image)
}
