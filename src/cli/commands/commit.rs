//! `ctx commit`

use crate::cli::{CliError, Ui};
use crate::env::Env;

/// Arguments of `ctx commit`.
#[derive(Debug, clap::Args)]
pub struct CommitArgs {
    /// The commit's first line (default: the machine and a field-level summary).
    #[arg(short, long, value_name = "MSG")]
    pub message: Option<String>,
    /// Commit even when it deletes more than 20 tracked files, or over half of them, at once.
    #[arg(long)]
    pub allow_mass_delete: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `ctx commit`.
pub fn run(args: CommitArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    let mut o = crate::cli::open(env, Some("commit"))?;
    ui.verbose("capturing the live files (read, checked, home paths mapped, secrets sealed)");
    let outcome = crate::commit::commit(
        &mut o.ws,
        crate::capture::RecordOptions {
            message: args.message.as_deref(),
            allow_mass_delete: args.allow_mass_delete,
            only: &[],
        },
    )?;
    for n in &outcome.notes {
        ui.warn(n);
    }
    for h in &outcome.held_back {
        ui.warn_hint(&h.to_string(), &h.hint());
    }
    // Something was left out: a script or hook must see that not everything went in.
    let code = match (outcome.conflicts.is_empty(), outcome.held_back.is_empty()) {
        (false, _) => 1,
        (true, false) => 2,
        (true, true) => 0,
    };
    if args.json {
        ui.json(&serde_json::json!({
            "committed": outcome.committed,
            "held_back": outcome.held_back,
        }));
        return Ok(code);
    }
    match &outcome.committed {
        Some(i) => ui.line(&format!("[{}] {}", &i.id[..10], i.summary)),
        None if code == 0 => ui.line("Nothing to commit: live files match the store."),
        None => ui.line("Nothing else to commit: the other live files match the store."),
    }
    Ok(code)
}
