//! `ctx sync`: commit, fetch, merge the three trees, apply, push, with a bounded retry when the
//! remote moved in between. Under policy `stop`, any conflict stops the sync before anything is
//! committed, pushed or applied; the conflicting files with their markers are kept in a state
//! file until `ctx resolve` settles each of them.

mod conflicts;
mod decide;
mod fetch;
mod join;
mod resolve;
mod tree_merge;
mod verify;

use std::time::Duration;

use serde::Serialize;

pub use conflicts::{open_merge, ConflictKind, FileConflict, MergeState};
pub use decide::{decide, Ancestry, Decision};
pub use join::{connect, remote_status, RemoteStatus};
pub use resolve::{
    find_conflict, find_live_conflict, marked_content, resolve, Resolution, ResolveReport,
};
pub use verify::{check as verify_commits, Checked, Refused};

use crate::apply::{self, OnDirty, Scope};
use crate::capture::CommitInfo;
use crate::env::Env;
use crate::merge::{Overruled, Policy};
use crate::remote::{self, Remote, RemoteError, TRACKING};
use crate::store::{ObjectId, StoreError};
use crate::workspace::Workspace;

/// How many times a rejected push is retried (fetch, merge, push again).
pub const MAX_ATTEMPTS: u32 = 6;

/// Errors of `sync` and `resolve`.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The store's own operations.
    #[error(transparent)]
    Workspace(#[from] crate::error::Error),
    /// The remote.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// The remote could not be reached; the local commit (if any) is kept.
    #[error("{}the remote {url} is unreachable: {detail}", committed.as_ref().map(|c| format!("committed locally ({c}); ")).unwrap_or_default())]
    Offline {
        /// The local commit made before the fetch.
        committed: Option<String>,
        /// The remote.
        url: String,
        /// git's words.
        detail: String,
    },
    /// The remote holds a history that shares nothing with this store.
    #[error("the remote {url} holds a store with unrelated history")]
    Unrelated {
        /// The remote.
        url: String,
    },
    /// The remote holds a git repository that is not a ctx store.
    #[error("the remote {url} holds a git repository that is not a ctx store (no ctx.yaml)")]
    NotAStore {
        /// The remote.
        url: String,
    },
    /// The remote kept moving.
    #[error("the remote kept moving: {attempts} pushes were rejected")]
    Busy {
        /// How many were tried.
        attempts: u32,
    },
    /// Fetched commits that no trusted machine signed: nothing merged, applied or pushed.
    #[error("{} fetched commit(s) refused: {}", refused.len(), first_refusal(refused))]
    Untrusted {
        /// Each refused commit and why.
        refused: Vec<Refused>,
    },
    /// The trust file.
    #[error(transparent)]
    Trust(#[from] crate::trust::TrustError),
    /// The review gate's list.
    #[error(transparent)]
    Review(#[from] crate::review::ReviewError),
    /// `ctx resolve` without an open conflict on that path.
    #[error("no open conflict{}", path.as_ref().map(|p| format!(" on {p}")).unwrap_or_default())]
    NoConflict {
        /// The path asked for.
        path: Option<String>,
    },
    /// The store moved since the conflict was found.
    #[error("the store changed since the conflict was found")]
    Stale,
    /// A resolution that still holds conflict markers or does not parse.
    #[error("{path}: {reason}")]
    BadResolution {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

fn first_refusal(refused: &[Refused]) -> String {
    refused
        .first()
        .map(|r| {
            let by = r
                .claims
                .as_deref()
                .map(|m| format!(" (claims {m})"))
                .unwrap_or_default();
            format!("{}{by}: {}", &r.commit[..r.commit.len().min(10)], r.reason)
        })
        .unwrap_or_default()
}

impl From<StoreError> for SyncError {
    fn from(e: StoreError) -> Self {
        SyncError::Workspace(e.into())
    }
}

type Result<T, E = SyncError> = std::result::Result<T, E>;

/// How a sync ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Nothing to merge or push.
    #[default]
    UpToDate,
    /// Local commits pushed; nothing came in.
    Pushed,
    /// The remote's commits taken as they are.
    FastForward,
    /// A merge commit joined both sides.
    Merged,
    /// Conflicts left for `ctx resolve` (policy `stop`).
    Conflict,
}

/// What a sync did.
#[derive(Debug, Default, Serialize)]
pub struct SyncReport {
    /// The remote.
    pub remote: String,
    /// The local commit of live changes, if there were any.
    pub committed: Option<CommitInfo>,
    /// How it ended.
    pub outcome: Outcome,
    /// The merge commit, when one was made.
    pub merge_commit: Option<String>,
    /// `main` after the sync.
    pub head: Option<String>,
    /// Whether `main` was pushed.
    pub pushed: bool,
    /// Push attempts (more than one: the remote moved and ctx merged again).
    pub attempts: u32,
    /// Live files written or deleted.
    pub applied: Vec<String>,
    /// Live files this sync deleted on this machine (their content stays in the store's history).
    pub deleted: Vec<String>,
    /// Live files with uncommitted changes that were left alone.
    pub skipped: Vec<String>,
    /// Secrets this machine cannot open (kept as they are live).
    pub unreadable: Vec<String>,
    /// Open conflicts (policy `stop`).
    pub conflicts: Vec<FileConflict>,
    /// Values a policy decided: (file, what).
    pub overruled: Vec<(String, Overruled)>,
    /// Things the user should know.
    pub notes: Vec<String>,
    /// Whether the commit left live files out (they are named in `notes`).
    pub held_back: bool,
    /// Live files whose edits conflict with the store's version (`ctx resolve` settles them).
    pub live_conflicts: Vec<FileConflict>,
    /// Sealed values this machine is a recipient of but cannot open: tampered with, swapped or
    /// sealed without it. Their live values were kept.
    pub damaged: Vec<String>,
    /// For each damaged value, the commit that last changed its file and the machine it names.
    pub damage_origins: std::collections::BTreeMap<String, String>,
    /// Machines that asked to join (their record arrived): `ctx machine approve NAME`.
    pub join_requests: Vec<String>,
    /// Session transcripts written here (created, grown, or moved from another folder name).
    pub sessions_written: usize,
    /// Executable config from other machines held for `ctx review` (newly held by this sync).
    pub held_for_review: Vec<crate::state::HeldChange>,
}

/// Options of a sync.
#[derive(Debug, Clone, Copy)]
pub struct SyncOptions {
    /// Push the result (`--no-push` turns it off).
    pub push: bool,
    /// Capture and commit live changes first.
    pub commit: bool,
    /// Write the result to the live files.
    pub apply: bool,
    /// Told what network step starts (fetch, push), for a progress line on a terminal.
    pub progress: Option<fn(&str)>,
    /// Let the commit delete more files at once than the guard allows.
    pub allow_mass_delete: bool,
    /// Accept unsigned fetched commits (history made by a ctx that did not sign), once.
    pub accept_unsigned: bool,
    /// Give up on the network (as offline) past this instant: a session must not wait on it.
    pub network_deadline: Option<std::time::Instant>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            push: true,
            commit: true,
            apply: true,
            progress: None,
            allow_mass_delete: false,
            accept_unsigned: false,
            network_deadline: None,
        }
    }
}

/// Where the live files stand against `main` during a sync.
struct Applied {
    /// The commit the live files were last brought to (`None`: unknown, apply everything).
    at: Option<ObjectId>,
    /// Whether the store holds files the live side lacks or trails.
    pending: bool,
}

/// The whole `ctx sync`, then its webhooks (which never change its result). The caller holds
/// the store lock.
pub fn sync(env: &Env, opts: SyncOptions) -> Result<SyncReport> {
    let mut ws = Workspace::open(env.clone())?;
    sync_in(&mut ws, opts)
}

/// [`sync`] on a workspace the caller opened (and goes on using: `main` is read again as it
/// moves), webhooks told after. The caller holds the store lock.
pub fn sync_in(ws: &mut Workspace, opts: SyncOptions) -> Result<SyncReport> {
    let env = ws.env.clone();
    let before = crate::notify::head(&env);
    let result = run(ws, opts);
    crate::notify::after_sync(&env, before, &result);
    result
}

fn run(ws: &mut Workspace, opts: SyncOptions) -> Result<SyncReport> {
    ws.keys.check(&ws.repo)?;
    let url = remote::configured_url(&ws.repo.store).ok_or(RemoteError::NoRemote)?;
    let remote = Remote::new(&ws.env.store_dir, &url).with_deadline(opts.network_deadline);
    let mut report = SyncReport {
        remote: url.clone(),
        ..Default::default()
    };
    let (mut live, mut early) = match opts.commit {
        true => fetch::commit_beside_fetch(ws, &remote, &mut report, opts)?,
        false => (
            Applied {
                at: None,
                pending: true,
            },
            None,
        ),
    };
    for attempt in 1..=MAX_ATTEMPTS {
        report.attempts = attempt;
        let theirs = match early.take() {
            Some(result) => fetch::fetched(ws, &report, result)?,
            None => fetch::fetch(ws, &remote, &report, opts)?,
        };
        verify(ws, theirs, opts.accept_unsigned, &mut report)?;
        if integrate(ws, theirs, &url, &mut report)? {
            return Ok(report);
        }
        if opts.apply {
            apply_merged(ws, &mut report, &mut live)?;
        }
        report.head = ws.repo.head.map(|h| h.to_string());
        let Some(head) = ws.repo.head else {
            return Ok(report);
        };
        if !opts.push || theirs == Some(head) {
            return Ok(report);
        }
        if let Some(p) = opts.progress {
            p(&format!("pushing to {url}"));
        }
        match remote.push(head) {
            Ok(()) => {
                record_pushed(ws, head, theirs)?;
                report.pushed = true;
                if report.outcome == Outcome::UpToDate {
                    report.outcome = Outcome::Pushed;
                }
                return Ok(report);
            }
            Err(RemoteError::Rejected { .. }) if attempt < MAX_ATTEMPTS => {
                // Another machine pushed first: back off a little (jittered, so two racing
                // machines do not collide again), fetch and merge its work, push again.
                let jitter = u64::from(std::process::id() % 50);
                std::thread::sleep(Duration::from_millis(
                    (50u64 << attempt.min(5)) + jitter * 2,
                ));
            }
            Err(RemoteError::Rejected { .. }) => break,
            Err(e) => return Err(fetch::offline(&report, e)),
        }
    }
    Err(SyncError::Busy {
        attempts: MAX_ATTEMPTS,
    })
}

/// The commit that last changed each damaged value's file ("commit 1a2b3c4d5e by laptop").
fn damage_origins(
    ws: &Workspace,
    damaged: &[String],
) -> Result<std::collections::BTreeMap<String, String>> {
    let mut out = std::collections::BTreeMap::new();
    let Some(head) = ws.repo.head else {
        return Ok(out);
    };
    for d in damaged {
        let file = d.split_once(':').map_or(d.as_str(), |(f, _)| f);
        if let Some(last) = ws.repo.store.history().log(head, Some(file), 1)?.first() {
            let by = last.machine.as_deref().unwrap_or("an unnamed machine");
            out.insert(d.clone(), format!("commit {} by {by}", &last.id[..10]));
        }
    }
    Ok(out)
}

/// Refuses the fetch unless every new commit in it is trusted (see [`verify`]).
fn verify(
    ws: &Workspace,
    theirs: Option<ObjectId>,
    accept_unsigned: bool,
    report: &mut SyncReport,
) -> Result<()> {
    let Some(t) = theirs else { return Ok(()) };
    if ws.repo.head == Some(t) {
        return Ok(());
    }
    let mut trust = ws.trust()?;
    let checked = verify::check(&ws.repo.store, &mut trust, ws.repo.head, t, accept_unsigned)?;
    trust.save()?;
    for name in checked.join_requests {
        if !report.join_requests.contains(&name) {
            report.join_requests.push(name);
        }
    }
    if checked.refused.is_empty() {
        return Ok(());
    }
    Err(SyncError::Untrusted {
        refused: checked.refused,
    })
}

/// The tracking ref follows what was pushed; it is only a cache of the remote's main.
fn record_pushed(ws: &Workspace, head: ObjectId, was: Option<ObjectId>) -> Result<()> {
    let store = &ws.repo.store;
    store
        .move_ref(TRACKING, head, was, "ctx: pushed")
        .or_else(|_| {
            store.delete_ref(TRACKING)?;
            store.move_ref(TRACKING, head, None, "ctx: pushed")
        })?;
    Ok(())
}

/// Brings the remote's commit into `main`: nothing, a fast-forward, or a merge commit. Returns
/// `true` when the sync stops here (conflicts kept for `ctx resolve`).
fn integrate(
    ws: &mut Workspace,
    theirs: Option<ObjectId>,
    url: &str,
    report: &mut SyncReport,
) -> Result<bool> {
    let history = ws.repo.store.history();
    let ours = ws.repo.head;
    let ancestry = Ancestry {
        ours,
        theirs,
        theirs_in_ours: match (ours, theirs) {
            (Some(o), Some(t)) => history.is_ancestor(t, o)?,
            _ => false,
        },
        ours_in_theirs: match (ours, theirs) {
            (Some(o), Some(t)) => history.is_ancestor(o, t)?,
            _ => false,
        },
    };
    let decision = decide(ancestry);
    if !matches!(decision, Decision::Merge(..)) {
        MergeState::clear(&ws.state);
    }
    match decision {
        Decision::UpToDate | Decision::Ahead => {}
        Decision::Adopt(t) | Decision::FastForward(t) => {
            ws.repo.fast_forward(t, "ctx: sync (fast-forward)")?;
            ws.reload_keys()?;
            if report.outcome != Outcome::Merged {
                report.outcome = Outcome::FastForward;
            }
        }
        Decision::Merge(o, t) => {
            let state = merge(ws, o, t, url)?;
            if !state.conflicts.is_empty() {
                state.save(&ws.state)?;
                report.outcome = Outcome::Conflict;
                report.conflicts = state.conflicts.clone();
                report.overruled = state.overruled.clone();
                report.head = ws.repo.head.map(|h| h.to_string());
                return Ok(true);
            }
            let commit = conflicts::commit_merge(ws, &state)?;
            MergeState::clear(&ws.state);
            report.outcome = Outcome::Merged;
            report.merge_commit = Some(commit.to_string());
            report.overruled.extend(state.overruled);
        }
    }
    Ok(false)
}

/// Merges the trees of `ours` and `theirs` against their (virtual) merge base.
fn merge(ws: &Workspace, ours: ObjectId, theirs: ObjectId, url: &str) -> Result<MergeState> {
    let store = &ws.repo.store;
    let bases = store.history().merge_bases(ours, theirs)?;
    if bases.is_empty() {
        return Err(SyncError::Unrelated {
            url: url.to_string(),
        });
    }
    let base_tree = tree_merge::virtual_base(ws, &bases, 0)?;
    let message = store.history().commit_message(theirs)?;
    let theirs_machine =
        crate::store::trailer(&message, "Ctx-Machine").unwrap_or_else(|| "the remote".into());
    let policy = match ws.policy() {
        Policy::Newest { .. } => Policy::Newest {
            ours_time: store.history().commit_time(ours)?,
            theirs_time: store.history().commit_time(theirs)?,
        },
        p => p,
    };
    let merged = tree_merge::merge_trees(
        ws,
        base_tree,
        store.tree_of(ours)?,
        store.tree_of(theirs)?,
        policy,
    )?;
    Ok(MergeState {
        ours,
        theirs,
        theirs_machine,
        clean: merged.clean,
        conflicts: merged.conflicts,
        overruled: merged.overruled,
    })
}

/// Writes what came in to the live files, leaving alone any that hold uncommitted changes.
fn apply_merged(ws: &Workspace, report: &mut SyncReport, live: &mut Applied) -> Result<()> {
    let full = live.at.is_none() || live.pending;
    if full || live.at != ws.repo.head {
        let scope = match live.at {
            Some(from) if !full => Scope::ChangedSince(from),
            _ => Scope::All,
        };
        let since = live.at.filter(|_| !full);
        let held = crate::review::hold_incoming(ws, since)?;
        report.held_for_review.extend(held);
        let done = apply::to_head(ws, scope, OnDirty::Skip)?;
        report.sessions_written += done.sessions.written.len() + done.sessions.moved.len();
        if let Some(e) = &done.sessions_error {
            report.notes.push(format!("sessions were not written: {e}"));
        }
        // A file in conflict is named as such, not as merely uncommitted.
        let conflicted: Vec<String> = report
            .live_conflicts
            .iter()
            .filter_map(|c| crate::layout::live_location(&ws.env, &c.path))
            .map(|(p, _)| ws.env.display(&p))
            .collect();
        let skipped = done.skipped.into_iter().filter(|s| !conflicted.contains(s));
        for r in &done.plan.refused {
            report.notes.push(format!("not written: {r} came from the store, but ctx never writes such a path (capture would not take it)"));
        }
        for k in &done.plan.kept {
            report.notes.push(format!(
                "kept {k}: it is inside a symlinked folder, whose files ctx never deletes"
            ));
        }
        report.skipped.extend(skipped);
        for u in done.plan.unreadable {
            if !report.unreadable.contains(&u) {
                report.unreadable.push(u);
            }
        }
        for a in &done.plan.actions {
            let shown = ws.env.display(&a.live);
            if a.op == crate::apply::Op::Delete && !report.deleted.contains(&shown) {
                report.deleted.push(shown.clone());
            }
            if !report.applied.contains(&shown) {
                report.applied.push(shown);
            }
        }
        live.pending = false;
    }
    live.at = ws.repo.head;
    report.damaged = ws.keys.damaged(&ws.repo)?;
    report.damage_origins = damage_origins(ws, &report.damaged)?;
    let note = format!(
        "this machine cannot read the store's secrets (not approved); its live values are kept. On an approved machine: `ctx machine approve {}`",
        ws.machine()
    );
    // Said once: the list of unreadable fields already carries the same hint.
    if !ws.keys.approved()
        && report.unreadable.is_empty()
        && !report.notes.contains(&note)
        && !crate::keyring::sealed_docs(&ws.repo)?.is_empty()
    {
        report.notes.push(note);
    }
    Ok(())
}
