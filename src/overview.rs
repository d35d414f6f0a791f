//! Everything `ctx status` reports about this machine and its store, in one value (the CLI
//! prints it; scripts read it as JSON).

use serde::Serialize;

use crate::capture::{snapshot, status, FileStatus};
use crate::sync::{open_merge, remote_status, FileConflict, RemoteStatus, SyncError};
use crate::workspace::Workspace;

/// Live vs store, open conflicts, the remote, and who cannot read the secrets.
#[derive(Debug, Serialize)]
pub struct Overview {
    /// This machine's name.
    pub machine: String,
    /// Where the store is.
    pub store: String,
    /// `main`'s commit.
    pub head: Option<String>,
    /// Files that differ, each with where it lives here.
    pub files: Vec<StatusLine>,
    /// Live files that cannot be read or understood, with why.
    pub problems: Vec<String>,
    /// Entries of the Claude home on no list.
    pub untracked: Vec<String>,
    /// Conflicts a sync left open.
    pub conflicts: Vec<FileConflict>,
    /// Ahead/behind against the remote as of the last fetch.
    pub remote: Option<RemoteStatus>,
    /// Machines that joined but cannot read the secrets.
    pub cannot_read_secrets: Vec<String>,
    /// Executable config from other machines held for `ctx review`.
    pub held_for_review: Vec<crate::state::HeldChange>,
    /// Whether the live files match the store.
    pub clean: bool,
    /// Session transcripts with lines not in the store yet (counts only, never their words).
    pub sessions: crate::sessions::Pending,
    /// Plugins settings.json enables that are not installed here: Claude Code installs them at
    /// its next start.
    pub plugins_to_install: Vec<String>,
    /// Files a running `ctx watch` vouched for, neither read nor stat'ed (0: no watch answered).
    pub watch_vouched: usize,
}

/// One file that differs: its status and its absolute live path (`None`: no place here).
#[derive(Debug, Serialize)]
pub struct StatusLine {
    /// Store path, state and changed fields.
    #[serde(flatten)]
    pub status: FileStatus,
    /// Where it lives on this machine (absolute).
    pub live_path: Option<String>,
}

/// Computes the overview (no network).
pub fn overview(ws: &Workspace) -> Result<Overview, SyncError> {
    let env = &ws.env;
    let snap = snapshot(ws, true)?;
    let files: Vec<StatusLine> = status(ws, &snap)?
        .into_iter()
        .map(|s| StatusLine {
            live_path: crate::layout::live_location(env, &s.path)
                .map(|(p, _)| p.to_string_lossy().to_string()),
            status: s,
        })
        .collect();
    let home = env.display(&env.claude_dir);
    let unapproved = crate::machines::unapproved(ws)?;
    let mut conflicts: Vec<FileConflict> = open_merge(ws)
        .map(|m| m.open().cloned().collect())
        .unwrap_or_default();
    conflicts.extend(crate::conflict::live_conflicts(&ws.state));
    let conflicted = !conflicts.is_empty();
    Ok(Overview {
        machine: ws.machine().to_string(),
        store: env.display(&env.store_dir),
        head: ws.repo.head.map(|h| h.to_string()),
        clean: files.is_empty() && snap.problems.is_empty() && !conflicted,
        files,
        problems: snap
            .problems
            .iter()
            .filter(|(path, _)| !snap.reported_with_its_file(path))
            .map(|(_, p)| p.message.clone())
            .collect(),
        untracked: snap
            .untracked
            .iter()
            .map(|u| format!("{home}/{u}"))
            .collect(),
        conflicts,
        remote: remote_status(ws)?,
        cannot_read_secrets: unapproved,
        held_for_review: crate::review::pending(ws),
        sessions: crate::sessions::pending(ws),
        plugins_to_install: crate::plugins::not_installed(env),
        watch_vouched: snap.vouched,
    })
}
