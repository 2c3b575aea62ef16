//! `keyhound verify REPORT.json`: verify the findings of a saved JSON report
//! (written with `--show-secrets`, since redacted secrets cannot be checked).

use std::path::PathBuf;

use crate::cli::VerifyReportArgs;
use crate::report::read::read_report;
use crate::source::ScanResults;

use super::common::{Hint, Session};
use super::CmdError;

/// Verifies a saved report's findings and writes a new report.
pub fn run(args: &VerifyReportArgs) -> Result<u8, CmdError> {
    let mut findings = read_report(&args.report).map_err(CmdError::Usage)?;
    for finding in &mut findings {
        // Verify again what the report already judged; only redacted secrets keep their note.
        if !finding.secret.is_redacted() {
            finding.verification = None;
        }
    }
    let mut session = Session::start(&args.common, &[PathBuf::from(".")])?;
    session.always_verify = true;
    let results = ScanResults { findings, ..ScanResults::default() };
    session.finish(&args.common, results, Hint::History)
}
