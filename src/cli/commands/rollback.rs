//! `ctx rollback`

use crate::cli::{CliError, Ui};
use crate::env::Env;

/// Arguments of `ctx rollback`.
#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// The state to restore: a commit id from `ctx log`, HEAD~N. Optional with --before.
    #[arg(required_unless_present = "before")]
    pub rev: Option<String>,
    /// Restore only these paths.
    pub paths: Vec<String>,
    /// Restore the state as of this time: "2026-11-20 14:00", "2 hours ago", an RFC 3339 time.
    #[arg(long, value_name = "TIME")]
    pub before: Option<String>,
    /// Show what would change; commit and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Overwrite live files holding uncommitted changes (saved to a backup ref first).
    #[arg(long)]
    pub force: bool,
}

/// Runs `ctx rollback`.
pub fn run(args: RollbackArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    let mut o = crate::cli::open(env, Some("rollback"))?;
    let t = crate::rollback::target(
        &o.ws,
        args.rev.as_deref(),
        args.before.as_deref(),
        &args.paths,
    )?;
    let short = t.rev.to_string()[..10].to_string();
    if t.paths.is_empty() {
        ui.line("ctx.yaml and machines/ stay as they are now (who can read the secrets does not change); name them to restore them too.");
    }
    if args.dry_run {
        ui.line(&format!("would restore {short} as a new commit"));
        let preview = crate::rollback::preview(&o.ws, &t)?;
        super::apply::print(&o.ws, &preview, true, false, ui);
        return Ok(0);
    }
    let done = crate::rollback::rollback(&mut o.ws, &t, args.force)?;
    match done.commit {
        Some(id) => ui.line(&format!("[{}] {}", &id.to_string()[..10], done.subject)),
        None => ui.line("The store already holds that state; no commit made."),
    }
    super::apply::print(&o.ws, &done.applied, false, false, ui);
    Ok(0)
}
