//! What the installed hooks do on each event (`ctx hook EVENT`): git's post-checkout,
//! post-commit and post-merge record the project and its personal files; Claude Code's
//! SessionStart brings the live files up to date (syncing first when there is a remote),
//! SessionEnd commits. Nothing here touches the network but the SessionStart sync.

use std::path::Path;
use std::time::Duration;

use crate::apply::{self, OnDirty, Scope};
use crate::env::Env;
use crate::lock::{Lock, LockError};
use crate::project::{self, Direction, GitProject, PersonalOutcome, ProjectError};
use crate::sync::SyncError;
use crate::workspace::Workspace;

/// How long a hook waits for another ctx process to let go of the store before giving up.
pub const LOCK_WAIT: Duration = Duration::from_millis(500);

/// Errors of a hook event.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// An event this version does not know.
    #[error("unknown hook event `{0}`")]
    Unknown(String),
    /// The store's lock.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The project.
    #[error(transparent)]
    Project(#[from] ProjectError),
    /// The store and live files.
    #[error(transparent)]
    Workspace(#[from] crate::error::Error),
    /// The SessionStart sync.
    #[error(transparent)]
    Sync(#[from] SyncError),
}

/// What a hook event did: notes worth a log line even though nothing failed, and the lines
/// a Claude session should hear (SessionStart's output joins the conversation).
#[derive(Debug, Default)]
pub struct Handled {
    /// For the hook log.
    pub notes: Vec<String>,
    /// For the session, printed on stdout.
    pub banner: Vec<String>,
}

/// Does the event's work.
pub fn handle(env: &Env, event: &str, args: &[String], cwd: &Path) -> Result<Handled, EventError> {
    let notes = |notes: Vec<String>| Handled {
        notes,
        banner: Vec::new(),
    };
    match event {
        // The third argument is 0 for a checkout of files, which moves no branch.
        "post-checkout" if args.get(2).map(String::as_str) == Some("0") => Ok(Handled::default()),
        "post-checkout" | "post-merge" => git_event(env, cwd, Direction::Restore).map(notes),
        "post-commit" => git_event(env, cwd, Direction::Capture).map(notes),
        "session-start" => session_start(env).map(|(n, banner)| Handled { notes: n, banner }),
        "session-end" => session_end(env).map(notes),
        other => Err(EventError::Unknown(other.to_string())),
    }
}

fn lock(env: &Env, what: &str) -> Result<Lock, LockError> {
    Lock::acquire(&env.state_dir(), what, LOCK_WAIT)
}

fn git_event(env: &Env, cwd: &Path, dir: Direction) -> Result<Vec<String>, EventError> {
    let capture = dir == Direction::Capture;
    if capture && crate::hook_stamp::fresh(env, cwd) {
        return Ok(Vec::new());
    }
    let p = GitProject::inspect(cwd)?;
    let _lock = match lock(env, "hook") {
        Err(LockError::Busy { holder }) => {
            // Not lost: the next command that commits records this worktree.
            let state = crate::state::StatePaths::new(&env.state_dir());
            project::defer(&state, &p.worktree, dir);
            return Ok(vec![format!(
                "the store was busy ({holder}); {} is recorded by the next ctx commit or sync",
                p.worktree.display()
            )]);
        }
        other => other?,
    };
    let mut ws = Workspace::open(env.clone())?;
    let outcomes = project::record(&mut ws, &p, dir, crate::clock::now())?;
    let notes = kept_notes(&p, &outcomes);
    if capture && notes.is_empty() {
        crate::hook_stamp::write(env, cwd);
    }
    Ok(notes)
}

/// Log lines for personal files left alone: they differ from the store's, or were refused.
pub fn kept_notes(p: &GitProject, outcomes: &[(String, PersonalOutcome)]) -> Vec<String> {
    outcomes
        .iter()
        .filter_map(|(rel, o)| match o {
            PersonalOutcome::KeptLocal => Some(format!(
                "kept {} as it is: it differs from the store's {} (commit in that worktree to capture it)",
                p.worktree.join(rel).display(),
                p.personal_store_path(rel)
            )),
            PersonalOutcome::Refused(why) => Some(format!(
                "{} not stored: {why}",
                p.worktree.join(rel).display()
            )),
            _ => None,
        })
        .collect()
}

/// Claude Code ends a session: commit, and say what was held back.
fn session_end(env: &Env) -> Result<Vec<String>, EventError> {
    let _lock = lock(env, "hook session-end")?;
    let mut ws = Workspace::open(env.clone())?;
    let outcome = crate::commit::commit(&mut ws, Default::default())?;
    let held = outcome.held_back.iter();
    let held = held.map(|h| format!("session-end: {h} ({})", h.hint()));
    Ok(outcome.notes.into_iter().chain(held).collect())
}

/// Claude Code starts a session: bring the live files up to date with the store, leaving alone
/// any file holding changes not yet committed. Prints nothing itself: Claude adds a SessionStart
/// hook's output to the conversation, so what the session should hear is returned as a banner.
/// One workspace serves the sync, the apply and the banner.
fn session_start(env: &Env) -> Result<(Vec<String>, Vec<String>), EventError> {
    let _lock = lock(env, "hook session-start")?;
    let mut ws = Workspace::open(env.clone())?;
    let mut notes = sync_before_session(&mut ws)?;
    let done = apply::to_head(&ws, Scope::All, OnDirty::Skip)?;
    notes.extend(
        done.skipped
            .into_iter()
            .map(|f| format!("session-start left {f} alone: it holds changes not committed")),
    );
    Ok((notes, session_banner(&ws)))
}

/// What a Claude session should be told as it starts (the hook's output joins the
/// conversation): the config from other machines held for review here.
fn session_banner(ws: &Workspace) -> Vec<String> {
    crate::review::pending(ws)
        .into_iter()
        .map(|h| {
            let who = h.machine.unwrap_or_else(|| "another machine".into());
            format!(
                "ctx: {} from {who} changes what runs ({}) and is held for review; it is not applied here until the user runs `ctx review --accept`",
                h.path,
                h.fields.join(", ")
            )
        })
        .collect()
}

/// How long a SessionStart sync may wait on the network in all: 5 s, or
/// `CTX_SESSION_START_NETWORK_MS` (a slow link). Past it the session starts from the local store.
fn session_start_bound() -> std::time::Duration {
    let ms = std::env::var("CTX_SESSION_START_NETWORK_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    std::time::Duration::from_millis(ms)
}

/// Before a Claude session: a full `ctx sync` when the store has a remote, so the session starts
/// from what the other machines did. Offline is not an error here: the session starts from the
/// local store, and the reason goes to the hook log.
fn sync_before_session(ws: &mut Workspace) -> Result<Vec<String>, EventError> {
    if crate::remote::configured_url(&ws.repo.store).is_none() {
        return Ok(Vec::new());
    }
    let opts = crate::sync::SyncOptions {
        network_deadline: Some(std::time::Instant::now() + session_start_bound()),
        ..Default::default()
    };
    match crate::sync::sync_in(ws, opts) {
        Ok(r) => {
            let mut notes = r.notes;
            if !r.conflicts.is_empty() {
                notes.push(format!(
                    "session-start sync left {} file(s) in conflict; run `ctx status`",
                    r.conflicts.len()
                ));
            }
            Ok(notes)
        }
        Err(SyncError::Offline { url, detail, .. }) => Ok(vec![format!(
            "session-start could not reach {url} ({detail}); started from the local store"
        )]),
        Err(e) => Err(e.into()),
    }
}
