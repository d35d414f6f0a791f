//! `ctx apply`

use super::{CliError, Ui};
use crate::env::Env;
use crate::session::{Plan, Session, SessionError};

/// Arguments of `ctx apply`.
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// Show what would be written; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Overwrite live files holding uncommitted changes (saved to a backup ref first).
    #[arg(long)]
    pub force: bool,
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
    /// Only these paths (store paths like settings.json, or live paths).
    pub paths: Vec<String>,
}

/// Runs `ctx apply`.
pub fn run(args: ApplyArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    let _lock = super::lock(env, "apply")?;
    let session = Session::open(env.clone())?;
    let only = session.store_paths_for(&args.paths)?;
    let snap = session.snapshot(true)?;
    let plan = session.plan_apply(&session.head_files, &only, &snap)?;
    perform(
        &session,
        &plan,
        &snap,
        args.dry_run,
        args.force,
        args.json,
        ui,
    )
}

/// Prints, checks and performs a plan; shared with `rollback`.
pub fn perform(
    session: &Session,
    plan: &Plan,
    snap: &crate::session::Snapshot,
    dry_run: bool,
    force: bool,
    json: bool,
    ui: &Ui,
) -> Result<i32, CliError> {
    if json {
        ui.json(plan);
    }
    if dry_run {
        if !json {
            if plan.actions.is_empty() {
                ui.line("Nothing to apply: live files match the store.");
            }
            for a in &plan.actions {
                ui.line(&format!("would {} {}", a.op, session.env.display(&a.live)));
            }
            for d in &plan.dirty {
                ui.line(&format!("holds uncommitted changes: {d}"));
            }
        }
        return Ok(0);
    }
    session.check_key()?;
    if !plan.dirty.is_empty() {
        if !force {
            return Err(SessionError::Dirty {
                files: plan.dirty.clone(),
            }
            .into());
        }
        if let Some((name, id)) = session.backup(plan, snap)? {
            ui.warn(&format!(
                "saved the live contents of {} file(s) to {name} ({}); `ctx rollback {}` brings them back",
                plan.dirty.len(),
                &id.to_string()[..10],
                &id.to_string()[..10]
            ));
        }
    }
    session.execute(plan)?;
    if !json {
        if plan.actions.is_empty() {
            ui.line("Nothing to apply: live files match the store.");
        }
        for a in &plan.actions {
            let verb = if a.op == "write" { "wrote" } else { "deleted" };
            ui.line(&format!("{verb} {}", session.env.display(&a.live)));
        }
        if !plan.unreadable.is_empty() {
            ui.warn(&format!(
                "this machine cannot read {} secret(s) ({}); their live values were kept (or left out). An approved machine can run `ctx machine approve {}`",
                plan.unreadable.len(),
                plan.unreadable.join(", "),
                session.machine
            ));
        }
    }
    Ok(0)
}
