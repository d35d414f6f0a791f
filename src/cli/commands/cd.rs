//! `ctx cd`

use std::io::IsTerminal;

use crate::cli::{CliError, Ui};
use crate::env::Env;

/// Arguments of `ctx cd`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  ctx cd            (a shell in the store; `exit` returns)\n  \
cd \"$(ctx cd)\"    (prints the path when its output is not a terminal)\n\n\
The store is a bare git repository: it holds git's own files, not a checkout of yours. \
Use `ctx git ARGS` to run git on it, `ctx cat PATH` to read a stored file."
)]
pub struct CdArgs {}

/// Runs `ctx cd`: the path on a pipe, `$SHELL` in the store on a terminal.
pub fn run(_args: CdArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    let dir = crate::store_shell::store_dir(&env.store_dir)?;
    if !std::io::stdout().is_terminal() {
        ui.raw(&format!("{}\n", dir.display()));
        return Ok(0);
    }
    ui.line(&format!(
        "A shell in the store {} (a bare git repository); `exit` returns.",
        env.display(dir)
    ));
    Ok(crate::store_shell::shell(
        dir,
        &crate::store_shell::default_shell(),
    )?)
}
