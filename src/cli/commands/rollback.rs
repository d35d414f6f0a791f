//! `ctx rollback`

use crate::cli::{CliError, Ui};
use crate::env::Env;

/// Arguments of `ctx rollback`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  ctx rollback HEAD~1 settings.json\n  \
ctx rollback --before \"2026-11-20 14:00\" --dry-run   (local time)\n  ctx rollback HEAD~3 --yes\n\n\
Restoring the whole store asks first on a terminal; off one it needs --yes.")]
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
    /// Go ahead without asking (needed off a terminal to restore the whole store).
    #[arg(short, long)]
    pub yes: bool,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
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
    if t.paths.is_empty() && !args.json {
        ui.line("ctx.yaml and machines/ stay as they are now (who can read the secrets does not change); name them to restore them too.");
    }
    if args.dry_run {
        let preview = crate::rollback::preview(&o.ws, &t)?;
        let diffs = crate::diff::planned(&o.ws, &t.files, &preview.plan.actions)?;
        if !args.json {
            ui.line(&format!("would restore {short} as a new commit"));
        }
        super::apply::print_dry_run(&o.ws, &preview, &diffs, args.json, ui);
        return Ok(0);
    }
    if t.paths.is_empty() {
        // Refusals come before the question: nobody is asked to confirm what cannot run.
        let dirty = crate::rollback::preview(&o.ws, &t)?.plan.dirty;
        if !dirty.is_empty() && !args.force {
            return Err(crate::error::Error::Dirty { files: dirty }.into());
        }
        ui.confirm(
            &format!("restore the whole store to {short} and write it to the live files"),
            args.yes,
        )?;
    }
    let done = crate::rollback::rollback(&mut o.ws, &t, args.force)?;
    if args.json {
        ui.json(&serde_json::json!({
            "commit": done.commit.map(|c| c.to_string()),
            "subject": done.subject,
            "restored": t.rev.to_string(),
            "applied": done.applied.plan,
        }));
        return Ok(0);
    }
    match done.commit {
        Some(id) => ui.line(&format!("[{}] {}", &id.to_string()[..10], done.subject)),
        None => ui.line("The store already holds that state; no commit made."),
    }
    super::apply::print(&o.ws, &done.applied, false, false, ui);
    Ok(0)
}
