//! `keyhound image`: scan a container image (`docker save` tarball, OCI
//! layout, or a registry reference pulled through the distribution API):
//! every layer's files and the config's environment and history.
//! With `--datastore` the scan is recorded under the image's name and a rescan
//! reports only new findings. Findings below medium confidence (installed packages' documentation and
//! test data, publicly known keys) are left out unless `--min-confidence low`.

use crate::cli::ImageArgs;
use crate::finding::Confidence;
use crate::source::image::{scan_image, ImageError};
use anyhow::Context as _;

use crate::source::registry::{pull, Reference};
use crate::source::ContentOptions;
use crate::store::{ScanRecord, Store};

use super::common::{Hint, Session};
use super::CmdError;

/// Scans the image and returns the exit code.
pub fn run(mut args: ImageArgs) -> Result<u8, CmdError> {
    args.common.min_confidence.get_or_insert(Confidence::Medium);
    let common = &args.common;
    let session = Session::start(common, std::slice::from_ref(&args.image))?;
    let content = ContentOptions::from(common);
    let label = args.image.display().to_string();
    let mut store = match &args.datastore {
        Some(spec) => Some(Store::open(spec).map_err(|err| CmdError::Usage(format!("--datastore: {err:#}")))?),
        None => None,
    };
    let scan = if args.image.exists() {
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
    let mut results = scan.results;
    if let Some(store) = &mut store {
        let ruleset = session.scanner.rules().version_hash();
        let tips: Vec<String> = scan.image_id.into_iter().collect();
        let record = ScanRecord {
            repo: &label,
            ruleset: &ruleset,
            tips: &tips,
            blobs: &scan.layers,
            findings: &results.findings,
        };
        let new = store.record(&record).with_context(|| format!("recording {label} in the datastore"))?;
        if !args.all {
            results.findings.retain(|finding| new.contains(finding.fingerprint.as_str()));
        }
    }
    session.finish(common, results, Hint::Image)
}
