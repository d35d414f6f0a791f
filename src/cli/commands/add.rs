//! `ctx add`

use crate::cli::{CliError, Ui};
use crate::env::Env;

/// Arguments of `ctx add`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example: ctx add notes todo.md   (then `ctx commit` captures them)\n\n\
Paths are relative to the Claude home (~/.claude), or absolute under it. A path already on \
ctx's built-in list is not recorded again; one ctx.yaml excluded is taken back."
)]
pub struct AddArgs {
    /// Files or folders under the Claude home.
    #[arg(required = true)]
    pub paths: Vec<String>,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// Runs `ctx add`.
pub fn run(args: AddArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    track(&args.paths, true, args.json, env, ui)
}

/// Records `paths` as tracked (`add`) or not (`forget`) in ctx.yaml and commits it.
pub fn track(paths: &[String], add: bool, json: bool, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    let mut o = crate::cli::open(env, Some(if add { "add" } else { "forget" }))?;
    let (new, change) = crate::manifest_edit::track(env, &o.ws.repo.manifest, paths, add)?;
    let done = crate::manifest_edit::commit(&mut o.ws, &new, &change)?;
    super::config::report(&done, json, ui);
    if !json && done.commit.is_some() {
        ui.line(match add {
            true => "`ctx commit` captures them now; other machines get them at their next sync.",
            false => "Their live files stay where they are, here and on every machine; `ctx commit` drops them from the store.",
        });
    }
    Ok(0)
}
