//! `ctx commit` as every caller runs it (the command, `ctx watch`, the SessionEnd hook, sync):
//! record the live files, then bring the files merged on the way up to the new `main`.

use crate::apply::{self, OnDirty, Scope};
use crate::capture::{self, CommitOutcome, RecordOptions};
use crate::error::Result;
use crate::workspace::Workspace;

/// Captures and commits the live files; live files merged with a newer store version are
/// rewritten to the merge (those holding new edits since are left alone).
pub fn commit(ws: &mut Workspace, opts: RecordOptions) -> Result<CommitOutcome> {
    ws.keys.identity()?;
    let deferred = crate::project::catch_up(ws, crate::clock::now());
    let mut outcome = capture::record(ws, opts)?;
    outcome.notes.splice(0..0, deferred);
    if !outcome.merged.is_empty() {
        apply::to_head(ws, Scope::Paths(outcome.merged.clone()), OnDirty::Skip)?;
    }
    // Transcripts never block a commit of the files: what fails now is captured next time.
    match crate::sessions::capture(ws) {
        Ok(s) => outcome.sessions = s,
        Err(e) => outcome.notes.push(format!(
            "sessions not captured: {}",
            crate::error::chain(&e)
        )),
    }
    Ok(outcome)
}
