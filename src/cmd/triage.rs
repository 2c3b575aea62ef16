//! `keyhound triage FINGERPRINT --status S`: record a decision about a stored finding.

use crate::cli::TriageArgs;
use crate::store::{Store, STATUSES};

use super::{CmdError, EXIT_CLEAN};

/// Sets the status and appends it to the finding's triage history.
pub fn run(args: &TriageArgs) -> Result<u8, CmdError> {
    if !STATUSES.contains(&args.status.as_str()) {
        return Err(CmdError::Usage(format!("--status {}: use one of {}", args.status, STATUSES.join(", "))));
    }
    let mut store = Store::open(&args.datastore).map_err(|err| CmdError::Usage(format!("--datastore: {err:#}")))?;
    let who = args.by.clone().unwrap_or_else(crate::rotate::state::current_user);
    store
        .triage(&args.fingerprint, &args.status, &who, &args.comment)
        .map_err(|err| CmdError::Usage(format!("{err:#}")))?;
    eprintln!("keyhound: {} is now {} (by {who})", args.fingerprint, args.status);
    Ok(EXIT_CLEAN)
}
