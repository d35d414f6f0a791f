//! `ctx hook EVENT [ARGS…]` (hidden): what the installed git hooks and Claude Code hooks call.
//! It fails open: any error becomes one line in the hook log and exit 0, so git and Claude Code
//! are never blocked. It never touches the network.

use std::path::Path;
use std::time::Duration;

use super::{CliError, Ui};
use crate::env::Env;
use crate::project::{self, Direction, GitProject, PersonalOutcome};
use crate::session::Session;

/// How long a hook waits for another ctx process to let go of the store before giving up.
const HOOK_LOCK_WAIT: Duration = Duration::from_millis(500);

/// Arguments of `ctx hook`.
#[derive(Debug, clap::Args)]
pub struct HookArgs {
    /// post-checkout, post-commit, post-merge, session-start or session-end.
    pub event: String,
    /// The arguments git passed to the hook.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// Runs `ctx hook`: always exit 0; failures go to the hook log.
pub fn run(args: HookArgs, env: &Env, _ui: &Ui) -> Result<i32, CliError> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| env.home.clone());
    let result = std::panic::catch_unwind(|| handle(&args, env, &cwd));
    let error = match result {
        Ok(Ok(notes)) => {
            for n in notes {
                crate::hooks::log_failure(env, &args.event, &cwd, &n);
            }
            return Ok(0);
        }
        Ok(Err(e)) => match &e.hint {
            Some(h) => format!("{} ({h})", e.message),
            None => e.message,
        },
        Err(_) => "ctx crashed (a bug: please report it)".to_string(),
    };
    crate::hooks::log_failure(env, &args.event, &cwd, &error);
    Ok(0)
}

/// Does the event's work; returns notes worth a log line even though nothing failed.
fn handle(args: &HookArgs, env: &Env, cwd: &Path) -> Result<Vec<String>, CliError> {
    match args.event.as_str() {
        // The third argument is 0 for a checkout of files, which moves no branch.
        "post-checkout" if args.args.get(2).map(String::as_str) == Some("0") => Ok(Vec::new()),
        "post-checkout" | "post-merge" => git_event(env, cwd, Direction::Restore),
        "post-commit" => git_event(env, cwd, Direction::Capture),
        "session-start" => session_start(env),
        "session-end" => {
            let _lock = lock(env, "hook session-end")?;
            let mut session = Session::open(env.clone())?;
            session.identity()?;
            session.commit(None)?;
            Ok(Vec::new())
        }
        other => Err(CliError::new(
            format!("unknown hook event `{other}`"),
            "run `ctx hooks install` again to install the current scripts",
        )),
    }
}

fn lock(env: &Env, what: &str) -> Result<crate::lock::Lock, CliError> {
    Ok(crate::lock::Lock::acquire(
        &env.state_dir(),
        what,
        HOOK_LOCK_WAIT,
    )?)
}

fn git_event(env: &Env, cwd: &Path, dir: Direction) -> Result<Vec<String>, CliError> {
    let p = GitProject::inspect(cwd)?;
    let _lock = lock(env, "hook")?;
    let mut session = Session::open(env.clone())?;
    let outcomes = project::record(&mut session, &p, dir, jiff::Timestamp::now())?;
    Ok(kept_notes(&p, &outcomes))
}

/// Log lines for personal files left alone: they differ from the store's, or were refused.
pub(crate) fn kept_notes(p: &GitProject, outcomes: &[(String, PersonalOutcome)]) -> Vec<String> {
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

/// Claude Code starts a session: bring the live files up to date with the store, leaving alone
/// any file holding changes not yet committed. Prints nothing: Claude adds a SessionStart
/// hook's output to the conversation.
fn session_start(env: &Env) -> Result<Vec<String>, CliError> {
    let _lock = lock(env, "hook session-start")?;
    let mut notes = fetch_before_session(env)?;
    let session = Session::open(env.clone())?;
    let snap = session.snapshot(true)?;
    let mut plan = session.plan_apply(&session.head_files, &[], &snap)?;
    let skipped = plan.dirty.clone();
    plan.skip_dirty();
    session.execute(&plan)?;
    notes.extend(
        skipped
            .into_iter()
            .map(|f| format!("session-start left {f} alone: it holds changes not committed")),
    );
    Ok(notes)
}

/// Before a Claude session: a full `ctx sync` when the store has a remote, so the session starts
/// from what the other machines did. Offline is not an error here: the session starts from the
/// local store, and the reason goes to the hook log.
fn fetch_before_session(env: &Env) -> Result<Vec<String>, CliError> {
    let has_remote = crate::store::Store::open(&env.store_dir, "ctx")
        .ok()
        .and_then(|s| crate::remote::configured_url(&s))
        .is_some();
    if !has_remote {
        return Ok(Vec::new());
    }
    match crate::sync::sync(env, crate::sync::SyncOptions::default()) {
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
        Err(crate::sync::SyncError::Offline { url, detail, .. }) => Ok(vec![format!(
            "session-start could not reach {url} ({detail}); started from the local store"
        )]),
        Err(e) => Err(e.into()),
    }
}
