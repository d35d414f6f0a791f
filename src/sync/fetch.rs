//! The fetch of the remote's main: the first one beside the commit of the live files, later
//! ones (after a push lost a race) alone.

use super::{Applied, Result, SyncError, SyncOptions, SyncReport};
use crate::remote::{Remote, RemoteError, TRACKING};
use crate::store::ObjectId;
use crate::workspace::Workspace;

/// The commit of the live files, with the first fetch running beside it: the fetch is a git
/// process and a round trip that the scan of the live files need not wait for. They touch
/// different refs (the tracking ref, `main`), and the object store takes concurrent writers.
/// The fetch's result is returned unlooked-at: an offline remote still leaves the commit made.
pub(super) fn commit_beside_fetch(
    ws: &mut Workspace,
    remote: &Remote,
    report: &mut SyncReport,
    opts: SyncOptions,
) -> Result<(Applied, Option<std::result::Result<bool, RemoteError>>)> {
    let record = crate::capture::RecordOptions {
        message: None,
        allow_mass_delete: opts.allow_mass_delete,
        only: &[],
    };
    if let Some(p) = opts.progress {
        p(&format!("fetching from {}", report.remote));
    }
    let (fetched, c) = crate::remote::alongside(
        "fetch",
        || remote.fetch(),
        || crate::commit::commit(ws, record),
    );
    let c = c?;
    report.committed = c.committed;
    report
        .notes
        .extend(c.held_back.iter().map(|h| format!("{h} ({})", h.hint())));
    report.notes.extend(c.notes);
    report.held_back = !c.held_back.is_empty();
    report.live_conflicts = c.conflicts;
    // The commit left the live files equal to `main`: an apply only has the merged-in changes
    // to write (unless the commit saw store files missing here).
    let live = Applied {
        at: ws.repo.head,
        pending: c.pending_apply,
    };
    Ok((live, Some(fetched)))
}

/// An unreachable remote as an offline error naming the local commit kept.
pub(super) fn offline(report: &SyncReport, e: RemoteError) -> SyncError {
    match e {
        RemoteError::Unreachable { url, detail } => SyncError::Offline {
            committed: report.committed.as_ref().map(|c| c.id[..10].to_string()),
            url,
            detail,
        },
        other => other.into(),
    }
}

/// Fetches the remote's main; returns its commit, if it has one.
pub(super) fn fetch(
    ws: &Workspace,
    remote: &Remote,
    report: &SyncReport,
    opts: SyncOptions,
) -> Result<Option<ObjectId>> {
    if let Some(p) = opts.progress {
        p(&format!("fetching from {}", report.remote));
    }
    fetched(ws, report, remote.fetch())
}

/// The remote's main after a fetch that returned `result`.
pub(super) fn fetched(
    ws: &Workspace,
    report: &SyncReport,
    result: std::result::Result<bool, RemoteError>,
) -> Result<Option<ObjectId>> {
    // git writes new objects behind gix's back; gix looks for new packs when an object is
    // missing, and refs are read from disk each time, so the open store still serves.
    match result.map_err(|e| offline(report, e))? {
        true => Ok(ws.repo.store.ref_target(TRACKING)?),
        false => Ok(None),
    }
}
