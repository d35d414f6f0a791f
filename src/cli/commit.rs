//! `ctx commit`

use super::{CliError, Ui};
use crate::env::Env;
use crate::session::Session;

/// Arguments of `ctx commit`.
#[derive(Debug, clap::Args)]
pub struct CommitArgs {
    /// The commit's first line (default: the machine and a field-level summary).
    #[arg(short, long, value_name = "MSG")]
    pub message: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `ctx commit`.
pub fn run(args: CommitArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    let _lock = super::lock(env, "commit")?;
    let mut session = Session::open(env.clone())?;
    session.identity()?;
    let info = session.commit(args.message.as_deref())?;
    for n in &session.notes {
        ui.warn(n);
    }
    if !session.merged.is_empty() {
        // The live files were merged into newer store versions: bring them up to those.
        let snap = session.snapshot(true)?;
        let target = session.head_files.clone();
        let mut plan = session.plan_apply(&target, &session.merged.clone(), &snap)?;
        plan.skip_dirty();
        session.execute(&plan)?;
    }
    if args.json {
        ui.json(&serde_json::json!({ "committed": info }));
        return Ok(0);
    }
    match info {
        Some(i) => ui.line(&format!("[{}] {}", &i.id[..10], i.summary)),
        None => ui.line("Nothing to commit: live files match the store."),
    }
    Ok(0)
}
