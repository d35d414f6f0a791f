//! Connecting a store to its remote (`ctx init --remote`), and where it stands against the
//! remote as of the last fetch.

use serde::Serialize;

use super::SyncError;
use crate::remote::{self, Remote, TRACKING};
use crate::store::Store;
use crate::workspace::Workspace;

type Result<T, E = SyncError> = std::result::Result<T, E>;

/// Where this store stands against its remote, from the last fetch (no network).
#[derive(Debug, Serialize)]
pub struct RemoteStatus {
    /// The remote.
    pub url: String,
    /// Local commits the remote does not have.
    pub ahead: usize,
    /// Remote commits not merged here.
    pub behind: usize,
}

/// Ahead/behind against the last fetched state of the remote.
pub fn remote_status(ws: &Workspace) -> Result<Option<RemoteStatus>> {
    let store = &ws.repo.store;
    let Some(url) = remote::configured_url(store) else {
        return Ok(None);
    };
    let tracking = store.ref_target(TRACKING)?;
    let history = store.history();
    let (ahead, behind) = match (ws.repo.head, tracking) {
        (Some(h), Some(t)) => (
            history.count_exclusive(h, t)?,
            history.count_exclusive(t, h)?,
        ),
        (Some(h), None) => (history.count_exclusive(h, h)?, 0),
        _ => (0, 0),
    };
    Ok(Some(RemoteStatus { url, ahead, behind }))
}

/// Joins or connects a store to a remote: an empty remote receives this store; a remote
/// holding a store is fetched and becomes this store's main (when this store has no history
/// of its own). Returns whether the remote already held a store.
pub fn connect(store_dir: &std::path::Path, store: &Store, url: &str) -> Result<bool> {
    let remote = Remote::new(store_dir, url);
    let configure = || -> Result<()> {
        store.config().set(&[
            ("remote.origin.url", url),
            (
                "remote.origin.fetch",
                "+refs/heads/main:refs/remotes/origin/main",
            ),
        ])?;
        Ok(())
    };
    // The remote is written into the store's config only once it proved acceptable.
    if !remote.fetch()? {
        configure()?;
        return Ok(false);
    }
    let opened = Store::open(store_dir, "ctx")?;
    let Some(theirs) = opened.ref_target(TRACKING)? else {
        configure()?;
        return Ok(false);
    };
    let refused = |e: SyncError| {
        let _ = opened.delete_ref(TRACKING);
        Err(e)
    };
    if opened
        .read(Some(theirs), crate::layout::MANIFEST)?
        .is_none()
    {
        return refused(SyncError::NotAStore {
            url: url.to_string(),
        });
    }
    match opened.head()? {
        None => crate::repo::move_main(&opened, None, theirs, "ctx: join")?,
        Some(ours) => {
            if opened.history().merge_base(ours, theirs)?.is_none() {
                return refused(SyncError::Unrelated {
                    url: url.to_string(),
                });
            }
        }
    }
    configure()?;
    Ok(true)
}
